//! The customer a message to staff is about (a rescue alert, a case
//! escalation): such a message holds their name, phone or location though
//! it is not to them, so an erasure must find it as it finds the messages
//! to them (`customer_id`). The alerts and escalations written before this
//! migration get it from the rescue or case their occurrence key names.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

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
        backfill(m.get_connection()).await
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

/// Sets `about_customer_id` on the rescue alerts (`rescue:{id}:alert:…`)
/// and case escalations (`case_escalated:{id}:…`) that lack it, from the
/// rescue's or case's customer. Safe to run again: it touches only rows
/// still without it. Ids are compared as text on PostgreSQL and as the
/// 16 bytes SQLite keeps them in.
pub async fn backfill(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let id_is = |key_at: usize| match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            format!("x.id::text = substr(outbox_messages.occurrence_key, {key_at}, 36)")
        }
        _ => format!(
            "lower(hex(x.id)) = replace(substr(outbox_messages.occurrence_key, {key_at}, 36), '-', '')"
        ),
    };
    for (kind, prefix, table) in [
        ("rescue_alert", "rescue:", "rescues"),
        ("case_escalated", "case_escalated:", "cases"),
    ] {
        db.execute_unprepared(&format!(
            "UPDATE outbox_messages SET about_customer_id = \
               (SELECT x.customer_id FROM {table} x WHERE {}) \
             WHERE kind = '{kind}' AND about_customer_id IS NULL \
               AND occurrence_key LIKE '{prefix}%'",
            id_is(prefix.len() + 1)
        ))
        .await?;
    }
    Ok(())
}
