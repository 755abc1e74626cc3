//! Connecting to the database (SQLite embedded, PostgreSQL in production) and migrating it.

use std::str::FromStr;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnectOptions;
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
    if !settings.is_sqlite() && db.lock_timeout_ms > 0 {
        // a statement waits for a lock this long, then fails (answered 503,
        // `error::contended`) instead of holding its request and connection
        // without end behind a stuck transaction
        let wait = format!("{}ms", db.lock_timeout_ms);
        opts.map_sqlx_postgres_opts(move |o: PgConnectOptions| {
            o.options([("lock_timeout", wait.as_str())])
        });
    }
    // fail early with the URL's problem rather than the pool's
    if settings.is_sqlite() {
        SqliteConnectOptions::from_str(&url)
            .map_err(|e| anyhow::anyhow!("SERVICELANE__DATABASE__URL: {e}"))?;
    }
    match Database::connect(opts).await {
        Ok(db) => Ok(db),
        Err(e) => {
            let context = format!("cannot connect to the database ({})", redact(&url));
            // the pool reports only that it timed out; one direct attempt
            // tells why ("Connection refused", a wrong password, no such
            // database), and that cause is kept in the chain main prints
            match probe(&url, settings.is_sqlite()).await {
                Some(cause) => Err(cause.context(format!("{context}: {e}"))),
                None => Err(anyhow::Error::new(e).context(context)),
            }
        }
    }
}

/// One direct connection, outside the pool, for its error.
async fn probe(url: &str, sqlite: bool) -> Option<anyhow::Error> {
    use sea_orm::sqlx::Connection;
    if sqlite {
        return None;
    }
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        sea_orm::sqlx::PgConnection::connect(url),
    )
    .await;
    match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            None
        }
        Ok(Err(e)) => Some(anyhow::Error::new(e)),
        Err(_) => Some(anyhow::anyhow!("no answer within 10 seconds")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_database_is_reported_with_its_cause() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
        let settings = Settings::load_from(
            &dir,
            [
                ("SERVICELANE__PROFILE", "test"),
                // nothing listens on port 1
                (
                    "SERVICELANE__DATABASE__URL",
                    "postgres://app:secret@127.0.0.1:1/x",
                ),
                ("SERVICELANE__DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        let e = connect(&settings).await.unwrap_err();
        let shown = format!("{e:#}");
        assert!(
            shown.to_lowercase().contains("connection refused"),
            "{shown}"
        );
        assert!(shown.contains("app:***@127.0.0.1:1"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
