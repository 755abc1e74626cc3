//! Connecting to the database (SQLite embedded, PostgreSQL in production) and migrating it.

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Settings;

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let mut opts = ConnectOptions::new(url.clone());
    let db = &settings.database;
    opts.max_connections(db.max_connections)
        .min_connections(db.min_connections)
        .acquire_timeout(Duration::from_secs(db.acquire_timeout_secs))
        // a pooled connection is not pinged before every use: a dead one fails
        // its query and is replaced, and the round trip is saved on every request
        .test_before_acquire(false)
        .sqlx_logging(false);
    if settings.is_sqlite() {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .and_then(|p| p.split('?').next())
            && let Some(parent) = std::path::Path::new(path).parent()
        {
            std::fs::create_dir_all(parent)?;
        }
        let busy = Duration::from_millis(db.busy_timeout_ms);
        opts.map_sqlx_sqlite_opts(move |o: SqliteConnectOptions| {
            o.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true)
        });
    }
    // fail early with the URL's problem rather than the pool's
    if settings.is_sqlite() {
        SqliteConnectOptions::from_str(&url)
            .map_err(|e| anyhow::anyhow!("SERVICELANE__DATABASE__URL: {e}"))?;
    }
    Database::connect(opts)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to the database ({}): {e}", redact(&url)))
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await?;
    Ok(())
}

/// Whether every migration this binary knows has been applied.
pub async fn migrations_applied(db: &DatabaseConnection) -> bool {
    matches!(Migrator::get_pending_migrations(db).await, Ok(p) if p.is_empty())
}

/// Hides a password in a URL before it is printed.
fn redact(url: &str) -> String {
    match url
        .split_once("://")
        .and_then(|(s, rest)| rest.split_once('@').map(|(cred, host)| (s, cred, host)))
    {
        Some((scheme, cred, host)) if cred.contains(':') => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
}
