//! When a settled message's personal content (body, subject, values,
//! recipient) was removed: by an erasure, or by retention after its months.
//! The record that the message went (kind, channel, state, times) stays.
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    RedactedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .add_column(ts_null(OutboxMessages::RedactedAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .drop_column(OutboxMessages::RedactedAt)
                .to_owned(),
        )
        .await
    }
}
