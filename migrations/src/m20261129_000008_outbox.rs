//! The durable outbox: one row per message to deliver, written in the
//! transaction that caused it, and one row per attempt to hand it to a provider.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Id,
    DealerId,
    CustomerId,
    Kind,
    OccurrenceKey,
    Channel,
    Recipient,
    Locale,
    Params,
    Subject,
    Body,
    DueAt,
    State,
    Attempts,
    LastError,
    LeaseOwner,
    LeaseUntil,
    Fence,
    ProviderId,
    CreatedAt,
    UpdatedAt,
    SentAt,
    SettledAt,
}

#[derive(DeriveIden)]
enum OutboxAttempts {
    Table,
    Id,
    MessageId,
    Attempt,
    Fence,
    Worker,
    StartedAt,
    FinishedAt,
    Outcome,
    StatusCode,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OutboxMessages::Table)
                .col(uuid_pk(OutboxMessages::Id))
                .col(uuid(OutboxMessages::DealerId))
                .col(uuid_null(OutboxMessages::CustomerId))
                .col(string(OutboxMessages::Kind, 40))
                .col(string(OutboxMessages::OccurrenceKey, 120))
                .col(string(OutboxMessages::Channel, 16))
                .col(string(OutboxMessages::Recipient, 255))
                .col(string(OutboxMessages::Locale, 8))
                .col(json(OutboxMessages::Params))
                .col(text_null(OutboxMessages::Subject))
                .col(ColumnDef::new(OutboxMessages::Body).text().not_null())
                .col(ts(OutboxMessages::DueAt))
                .col(string(OutboxMessages::State, 16))
                .col(int(OutboxMessages::Attempts))
                .col(text_null(OutboxMessages::LastError))
                .col(uuid_null(OutboxMessages::LeaseOwner))
                .col(ts_null(OutboxMessages::LeaseUntil))
                .col(
                    ColumnDef::new(OutboxMessages::Fence)
                        .big_integer()
                        .not_null(),
                )
                .col(string_null(OutboxMessages::ProviderId, 255))
                .col(ts(OutboxMessages::CreatedAt))
                .col(ts(OutboxMessages::UpdatedAt))
                .col(ts_null(OutboxMessages::SentAt))
                .col(ts_null(OutboxMessages::SettledAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(OutboxMessages::Table, OutboxMessages::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // one occurrence of a message on a channel is one row, however often written
        m.create_index(
            Index::create()
                .name("ux_outbox_occurrence")
                .table(OutboxMessages::Table)
                .col(OutboxMessages::DealerId)
                .col(OutboxMessages::Kind)
                .col(OutboxMessages::OccurrenceKey)
                .col(OutboxMessages::Channel)
                .unique()
                .to_owned(),
        )
        .await?;
        // the dispatcher's claim: due queued rows, and submitting ones whose lease ended
        m.create_index(
            Index::create()
                .name("ix_outbox_state_due")
                .table(OutboxMessages::Table)
                .col(OutboxMessages::State)
                .col(OutboxMessages::DueAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_outbox_dealer_created")
                .table(OutboxMessages::Table)
                .col(OutboxMessages::DealerId)
                .col(OutboxMessages::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OutboxAttempts::Table)
                .col(uuid_pk(OutboxAttempts::Id))
                .col(uuid(OutboxAttempts::MessageId))
                .col(int(OutboxAttempts::Attempt))
                .col(
                    ColumnDef::new(OutboxAttempts::Fence)
                        .big_integer()
                        .not_null(),
                )
                .col(uuid(OutboxAttempts::Worker))
                .col(ts(OutboxAttempts::StartedAt))
                .col(ts_null(OutboxAttempts::FinishedAt))
                .col(string(OutboxAttempts::Outcome, 16))
                .col(int_null(OutboxAttempts::StatusCode))
                .col(text_null(OutboxAttempts::Error))
                .foreign_key(
                    ForeignKey::create()
                        .from(OutboxAttempts::Table, OutboxAttempts::MessageId)
                        .to(OutboxMessages::Table, OutboxMessages::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_outbox_attempts_message")
                .table(OutboxAttempts::Table)
                .col(OutboxAttempts::MessageId)
                .col(OutboxAttempts::Attempt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(OutboxAttempts::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(OutboxMessages::Table).to_owned())
            .await
    }
}
