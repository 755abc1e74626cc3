//! The access log takes a row for every look, thousands a second on a busy
//! day, and is read by time rarely (a range of days, the retention cutoff).
//! On PostgreSQL the (dealer, at) b-tree becomes a BRIN index on `at`: the
//! rows come in time order, so block ranges summarise them in a few pages
//! and an insert does almost no index work. SQLite keeps its b-tree.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            let db = m.get_connection();
            db.execute_unprepared("DROP INDEX IF EXISTS ix_personal_data_access_at")
                .await?;
            db.execute_unprepared(
                "CREATE INDEX ix_personal_data_access_at_brin ON personal_data_access USING brin (at)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DatabaseBackend::Postgres {
            let db = m.get_connection();
            db.execute_unprepared("DROP INDEX IF EXISTS ix_personal_data_access_at_brin")
                .await?;
            db.execute_unprepared(
                "CREATE INDEX ix_personal_data_access_at ON personal_data_access (dealer_id, at)",
            )
            .await?;
        }
        Ok(())
    }
}
