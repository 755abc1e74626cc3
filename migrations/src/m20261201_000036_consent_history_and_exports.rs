//! The customer's rights (PIPL): every change of a consent kept with its
//! source and time (`consent_history`: the archive keeps only the current
//! statement per channel and purpose), and the jobs that build a customer's
//! copy of their data as a ZIP (`data_exports`).
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum ConsentHistory {
    Table,
    Id,
    DealerId,
    CustomerId,
    Channel,
    Purpose,
    Granted,
    Source,
    /// The member of staff who recorded it; NULL for the customer's own word.
    ActorId,
    /// When the customer gave it (a paper form may be older than its entry).
    StatedAt,
    /// When it was written.
    At,
}

#[derive(DeriveIden)]
enum DataExports {
    Table,
    Id,
    DealerId,
    CustomerId,
    State,
    /// The customer's id while the job is queued or running, NULL after:
    /// its unique index makes "one pending job per customer" a rule of the
    /// database, not of a read-then-insert race.
    PendingFor,
    RequestedBy,
    Attempts,
    LeaseUntil,
    Sha256,
    Bytes,
    Error,
    CreatedAt,
    StartedAt,
    FinishedAt,
    ExpiresAt,
    PurgedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ConsentHistory::Table)
                .col(uuid_pk(ConsentHistory::Id))
                .col(uuid(ConsentHistory::DealerId))
                .col(uuid(ConsentHistory::CustomerId))
                .col(string(ConsentHistory::Channel, 16))
                .col(string(ConsentHistory::Purpose, 16))
                .col(boolean(ConsentHistory::Granted))
                .col(string(ConsentHistory::Source, 24))
                .col(uuid_null(ConsentHistory::ActorId))
                .col(ts(ConsentHistory::StatedAt))
                .col(ts(ConsentHistory::At))
                .to_owned(),
        )
        .await?;
        // a customer's history, newest first, paged by id
        m.create_index(
            Index::create()
                .name("ix_consent_history_customer")
                .table(ConsentHistory::Table)
                .col(ConsentHistory::CustomerId)
                .col(ConsentHistory::Id)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DataExports::Table)
                .col(uuid_pk(DataExports::Id))
                .col(uuid(DataExports::DealerId))
                .col(uuid(DataExports::CustomerId))
                .col(string(DataExports::State, 16))
                .col(uuid_null(DataExports::PendingFor))
                .col(uuid_null(DataExports::RequestedBy))
                .col(int(DataExports::Attempts))
                .col(ts_null(DataExports::LeaseUntil))
                .col(string_null(DataExports::Sha256, 64))
                .col(big_null(DataExports::Bytes))
                .col(text_null(DataExports::Error))
                .col(ts(DataExports::CreatedAt))
                .col(ts_null(DataExports::StartedAt))
                .col(ts_null(DataExports::FinishedAt))
                .col(ts_null(DataExports::ExpiresAt))
                .col(ts_null(DataExports::PurgedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_data_exports_pending")
                .table(DataExports::Table)
                .col(DataExports::PendingFor)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_data_exports_customer")
                .table(DataExports::Table)
                .col(DataExports::CustomerId)
                .col(DataExports::Id)
                .to_owned(),
        )
        .await?;
        // the worker's and the purge's scans
        m.create_index(
            Index::create()
                .name("ix_data_exports_state")
                .table(DataExports::Table)
                .col(DataExports::State)
                .col(DataExports::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DataExports::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ConsentHistory::Table).to_owned())
            .await
    }
}
