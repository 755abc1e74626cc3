//! Import jobs: a file uploaded through the API is imported in the background;
//! the job row carries its progress, the file waits in `import_files` until the
//! job ends, and every rejected row is a row of `import_rejections`.
use sea_orm_migration::prelude::*;

use crate::col::*;
use crate::m20261128_000001_dealers_and_users::Dealers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportJobs {
    Table,
    Id,
    DealerId,
    CreatedBy,
    State,
    DryRun,
    FileName,
    Encoding,
    Sheet,
    RowsTotal,
    RowsDone,
    CustomersCreated,
    CustomersExisting,
    VehiclesCreated,
    VehiclesExisting,
    Rejected,
    Error,
    Attempts,
    HeartbeatAt,
    CreatedAt,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ImportFiles {
    Table,
    JobId,
    Data,
}

#[derive(DeriveIden)]
enum ImportRejections {
    Table,
    JobId,
    Line,
    Values,
    Reasons,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportJobs::Table)
                .col(uuid_pk(ImportJobs::Id))
                .col(uuid(ImportJobs::DealerId))
                .col(uuid(ImportJobs::CreatedBy))
                .col(string(ImportJobs::State, 16))
                .col(boolean(ImportJobs::DryRun))
                .col(string_null(ImportJobs::FileName, 255))
                .col(string(ImportJobs::Encoding, 32))
                .col(string_null(ImportJobs::Sheet, 100))
                .col(int(ImportJobs::RowsTotal))
                .col(int(ImportJobs::RowsDone))
                .col(int(ImportJobs::CustomersCreated))
                .col(int(ImportJobs::CustomersExisting))
                .col(int(ImportJobs::VehiclesCreated))
                .col(int(ImportJobs::VehiclesExisting))
                .col(int(ImportJobs::Rejected))
                .col(text_null(ImportJobs::Error))
                .col(int(ImportJobs::Attempts))
                .col(ts_null(ImportJobs::HeartbeatAt))
                .col(ts(ImportJobs::CreatedAt))
                .col(ts_null(ImportJobs::StartedAt))
                .col(ts_null(ImportJobs::FinishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ImportJobs::Table, ImportJobs::DealerId)
                        .to(Dealers::Table, Dealers::Id),
                )
                .to_owned(),
        )
        .await?;
        // the worker looks for queued jobs and for running ones whose heartbeat stopped
        m.create_index(
            Index::create()
                .name("ix_import_jobs_state")
                .table(ImportJobs::Table)
                .col(ImportJobs::State)
                .col(ImportJobs::CreatedAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportFiles::Table)
                .col(uuid(ImportFiles::JobId).primary_key())
                .col(ColumnDef::new(ImportFiles::Data).blob().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(ImportFiles::Table, ImportFiles::JobId)
                        .to(ImportJobs::Table, ImportJobs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ImportRejections::Table)
                .col(uuid(ImportRejections::JobId))
                .col(
                    ColumnDef::new(ImportRejections::Line)
                        .big_integer()
                        .not_null(),
                )
                .col(json(ImportRejections::Values))
                .col(json(ImportRejections::Reasons))
                .primary_key(
                    Index::create()
                        .col(ImportRejections::JobId)
                        .col(ImportRejections::Line),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(ImportRejections::Table, ImportRejections::JobId)
                        .to(ImportJobs::Table, ImportJobs::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ImportRejections::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ImportFiles::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(ImportJobs::Table).to_owned())
            .await
    }
}
