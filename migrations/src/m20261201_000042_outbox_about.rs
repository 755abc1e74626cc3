//! The customer a message to staff is about (a rescue alert, a case
//! escalation): such a message holds their name, phone or location though
//! it is not to them, so an erasure must find it as it finds the messages
//! to them (`customer_id`).
use sea_orm_migration::prelude::*;

use crate::col::*;

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    AboutCustomerId,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .add_column(uuid_null(OutboxMessages::AboutCustomerId))
                .to_owned(),
        )
        .await?;
        // the same statement on both databases: most messages are about
        // nobody else, so the index holds only those that are
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_outbox_messages_about ON outbox_messages (about_customer_id) \
                 WHERE about_customer_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX ix_outbox_messages_about")
            .await?;
        m.alter_table(
            Table::alter()
                .table(OutboxMessages::Table)
                .drop_column(OutboxMessages::AboutCustomerId)
                .to_owned(),
        )
        .await
    }
}
