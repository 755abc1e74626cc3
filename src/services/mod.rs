//! Use cases. Each takes the state (or a connection) and an `Actor`, checks
//! tenancy and roles, owns its transaction, and returns domain-shaped results.

pub mod appointments;
pub mod auth;
pub mod board;
pub mod callbacks;
pub mod capacity;
pub mod care_card;
pub mod cases;
pub mod comebacks;
pub mod consent_history;
pub mod csi;
pub mod csi_report;
pub mod customer_value;
pub mod customers;
pub mod data_export;
pub mod dealers;
pub mod deputies;
pub mod enquiries;
pub mod erasure;
pub mod export;
pub mod feed;
pub mod idempotency;
pub mod import;
pub mod import_jobs;
pub mod inbox;
pub mod insurance;
pub mod kpi;
pub mod lifecycle;
pub mod menu;
pub mod parts;
pub mod performance;
pub mod privacy;
pub mod repair_orders;
pub mod reports;
pub mod rescues;
pub mod retention;
pub mod seed;
pub mod storage;
pub mod today;
pub mod tools;
pub mod vehicles;
pub mod warranty;
pub mod wechat;

use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::AppError;

/// Cursor pagination: the cursor is the last id of the previous page (UUID v7
/// ids sort by creation time), opaque to clients.
pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid, AppError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| AppError::field("cursor", "is not a cursor this server gave out"))
}

/// Cuts a page queried as `limit + 1` rows in id order: keeps `limit` rows and
/// answers the cursor of the next page, or `None` on the last page.
pub fn next_page<T>(rows: &mut Vec<T>, limit: u64, id: impl Fn(&T) -> Uuid) -> Option<String> {
    if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(id(r)))
    } else {
        None
    }
}

/// The page size asked for, within 1..=200 (default 50).
pub fn page_limit(limit: Option<u64>) -> Result<u64, AppError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field("limit", "must be between 1 and 200")),
    }
}

/// A record's version, as its ETag carries it: what an update expects to
/// replace (`If-Match`), so two tablets never silently overwrite each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub i32);

impl Version {
    /// Reads `If-Match: "<version>"` (weak or strong).
    pub fn from_if_match(value: &str) -> Result<Version, AppError> {
        value
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .map(Version)
            .map_err(|_| AppError::field("If-Match", "is not an ETag this server gave out"))
    }

    /// An update needs one: 428 without.
    pub fn required(v: Option<Version>) -> Result<Version, AppError> {
        v.ok_or(AppError::PreconditionRequired)
    }
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `column + n` as an expression, spelled without bringing sea-query's
/// ExprTrait (whose `min`/`max` shadow std's) into every module.
/// Takes the row of `E` whose `id_col` is `id` for the rest of the
/// transaction and reads it as it is now. PostgreSQL: `SELECT … FOR UPDATE`.
/// SQLite has no row locks: a write that changes nothing (`touch` set to
/// itself) takes the database's write lock at once, so the transaction
/// never has to upgrade a read lock later (which SQLite answers with
/// "database is locked" instead of waiting).
pub async fn lock_row<E: sea_orm::EntityTrait>(
    txn: &impl sea_orm::ConnectionTrait,
    id_col: E::Column,
    touch: E::Column,
    id: impl Into<sea_orm::Value> + Clone,
) -> Result<Option<E::Model>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    match txn.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            E::find()
                .filter(id_col.eq(id.clone()))
                .lock_exclusive()
                .one(txn)
                .await
        }
        _ => {
            E::update_many()
                .col_expr(touch, sea_orm::sea_query::Expr::col(touch))
                .filter(id_col.eq(id.clone()))
                .exec(txn)
                .await?;
            E::find().filter(id_col.eq(id)).one(txn).await
        }
    }
}

pub fn col_plus(
    col: impl sea_orm::sea_query::IntoColumnRef,
    n: i64,
) -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::ExprTrait::add(sea_orm::sea_query::Expr::col(col), n)
}

/// Reads a JSON column. A value that does not parse is our fault and is
/// answered as an internal error (logged), never read as empty: consents
/// that read as "none" would mean "allowed", held slots as "none" would never
/// be given back.
pub fn from_stored<T: DeserializeOwned>(value: &serde_json::Value, what: &str) -> AppResultOf<T> {
    T::deserialize(value)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored {what} does not parse: {e}")))
}

/// Writes a JSON column.
pub fn to_stored<T: Serialize + ?Sized>(value: &T, what: &str) -> AppResultOf<serde_json::Value> {
    serde_json::to_value(value)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{what} does not serialise: {e}")))
}

type AppResultOf<T> = Result<T, AppError>;
