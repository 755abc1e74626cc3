//! How long a dealer keeps the saved answers of idempotent requests
//! (`idempotency_keys.response`, which repeat what the write answered: a
//! customer's record, a booking). A retry comes within minutes; the
//! default is 7 days.
use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum RetentionSettings {
    Table,
    IdempotentAnswerDays,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(RetentionSettings::Table)
                .add_column(
                    ColumnDef::new(RetentionSettings::IdempotentAnswerDays)
                        .integer()
                        .not_null()
                        .default(7),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(RetentionSettings::Table)
                .drop_column(RetentionSettings::IdempotentAnswerDays)
                .to_owned(),
        )
        .await
    }
}
