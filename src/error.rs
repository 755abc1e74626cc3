//! `AppError`: what a use case can answer, mapped once to
//! `application/problem+json` (RFC 9457). The internal cause of a 500 is
//! logged, never sent.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;

use crate::domain::schedule::SlotView;
use crate::domain::{FieldError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body or query could not be read (malformed JSON, wrong type…).
    #[error("{detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// Well-formed but invalid fields.
    #[error("invalid fields: {0}")]
    Validation(FieldErrors),
    #[error("authentication required")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// No route serves the path.
    #[error("no such route")]
    NoRoute,
    /// The path is served, but not for this method (the answer carries `Allow`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body (or, with `field`, one part of a form) is over the limit.
    #[error("body too large")]
    PayloadTooLarge {
        limit: usize,
        field: Option<&'static str>,
    },
    /// A form's `field` holds content of a type not taken here; `message`
    /// says what is wrong with it ("is not a … image").
    #[error("{field} {message}")]
    UnsupportedMediaType {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// Lost a race with a concurrent change; the same request may succeed
    /// if sent again (never kept as an Idempotency-Key's answer).
    #[error("{0}")]
    ChangedMeanwhile(String),
    /// The slot asked for is full; the answer offers the next free ones.
    #[error("{detail}")]
    SlotFull {
        detail: String,
        next_free_slots: Vec<SlotView>,
    },
    #[error("the record changed since it was read")]
    PreconditionFailed,
    #[error("If-Match header required")]
    PreconditionRequired,
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: i64 },
    /// The server is at its bound for costly work (password hashing); the
    /// request was not started and may be repeated.
    #[error("busy")]
    Busy { retry_after_secs: i64 },
    /// A request with the same Idempotency-Key is still being processed.
    #[error("a request with this Idempotency-Key is in progress")]
    InProgress { retry_after_secs: i64 },
    /// The thing was here and is gone for good (an expired download).
    #[error("{0}")]
    Gone(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AppError {
    /// Ours, unless it is the database's contention carried up as an
    /// `anyhow::Error` (a 503 as [`From<DbErr>`] answers it).
    fn from(e: anyhow::Error) -> Self {
        match e.downcast_ref::<DbErr>() {
            Some(db) if contended(db) => busy(db),
            _ => AppError::Internal(e),
        }
    }
}

/// Whether an error carried up as `anyhow::Error` is the database's
/// contention (see [`contended`]): the same work may succeed in a moment.
pub fn is_contention(e: &anyhow::Error) -> bool {
    e.downcast_ref::<DbErr>().is_some_and(contended)
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(FieldErrors::single(field, message))
    }
}

impl AppError {
    /// A validation problem of a nested object, named from its parent.
    pub fn within(self, prefix: &str) -> Self {
        match self {
            AppError::Validation(f) => AppError::Validation(f.within(prefix)),
            e => e,
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Validation(e)
    }
}

impl From<DbErr> for AppError {
    /// Unique clashes are the client's business (409), contention is
    /// temporary (503 with Retry-After); everything else is ours.
    fn from(e: DbErr) -> Self {
        match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict("a record with the same unique value already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                AppError::field("reference", "refers to a record that does not exist")
            }
            _ if contended(&e) => busy(&e),
            _ => AppError::Internal(anyhow::Error::new(e)),
        }
    }
}

/// A statement that met another's lock past its wait, or found no free
/// connection in time: the transaction was rolled back, and the client's
/// retry will likely find the lock or a connection free.
fn busy(e: &DbErr) -> AppError {
    tracing::warn!(error = %e, "database contended: answered 503");
    AppError::Busy {
        retry_after_secs: 1,
    }
}

/// Whether the database refused for contention, not for the request: SQLite
/// busy past `busy_timeout_ms` (SQLITE_BUSY, SQLITE_LOCKED and their
/// extended codes), a PostgreSQL lock wait past `lock_timeout_ms` (55P03), a
/// deadlock (40P01) or a serialization failure (40001); or no pooled
/// connection free within `acquire_timeout_secs`. The transaction was
/// rolled back; the same request may succeed. By the error's code where the
/// driver gives one (the text is translated on a server with another
/// `lc_messages`), else by its English text.
fn contended(e: &DbErr) -> bool {
    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
    // every pooled connection busy past `acquire_timeout_secs`: overload,
    // not our fault, and gone when the load is
    if matches!(e, DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)) {
        return true;
    }
    let driver = match e {
        DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s))
        | DbErr::Conn(RuntimeErr::SqlxError(s)) => Some(s.as_ref()),
        _ => None,
    };
    if let Some(sqlx::Error::Database(d)) = driver
        && let Some(code) = d.code()
    {
        return if d
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            matches!(code.as_ref(), "55P03" | "40P01" | "40001")
        } else {
            // SQLite's primary code is the low byte of the extended one
            code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
        };
    }
    let text = e.to_string();
    [
        "database is locked",
        "database table is locked",
        "deadlock detected",
        "could not serialize access",
        "canceling statement due to lock timeout",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// The RFC 9457 body. `errors` lists field problems when there are any.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With a 409 for a full slot: the next slots that have room.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_free_slots: Vec<SlotView>,
}

impl AppError {
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            AppError::BadRequest { .. } => ("bad-request", "Malformed request"),
            AppError::Validation(_) => ("validation", "Invalid fields"),
            AppError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            AppError::Forbidden(_) => ("forbidden", "Not allowed for your role"),
            AppError::NotFound => ("not-found", "Not found"),
            AppError::NoRoute => ("no-route", "No such route"),
            AppError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            AppError::PayloadTooLarge { .. } => ("payload-too-large", "Body too large"),
            AppError::UnsupportedMediaType { .. } => {
                ("unsupported-media-type", "Unsupported media type")
            }
            AppError::Conflict(_) => ("conflict", "Conflict"),
            AppError::ChangedMeanwhile(_) => ("changed-meanwhile", "Changed meanwhile"),
            AppError::SlotFull { .. } => ("slot-full", "Slot full"),
            AppError::PreconditionFailed => ("stale-write", "Changed by someone else"),
            AppError::PreconditionRequired => ("precondition-required", "If-Match required"),
            AppError::TooManyRequests { .. } => ("too-many-requests", "Too many attempts"),
            AppError::Busy { .. } => ("busy", "Busy"),
            AppError::InProgress { .. } => ("in-progress", "Request in progress"),
            AppError::Gone(_) => ("gone", "Gone"),
            AppError::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        let next_free_slots = match self {
            AppError::SlotFull {
                next_free_slots, ..
            } => next_free_slots.clone(),
            _ => vec![],
        };
        let (detail, errors) = match self {
            AppError::BadRequest { detail, errors } => (detail.clone(), errors.clone()),
            AppError::Validation(e) => (e.to_string(), e.0.clone()),
            AppError::Unauthorized(d) | AppError::Forbidden(d) => ((*d).to_string(), vec![]),
            AppError::NotFound => ("no such record".to_string(), vec![]),
            AppError::NoRoute => ("no operation is served at this path".into(), vec![]),
            AppError::MethodNotAllowed => (
                "this path is served, but not for this method; see Allow".into(),
                vec![],
            ),
            AppError::PayloadTooLarge { limit, field } => (
                format!("the body may be at most {limit} bytes"),
                field
                    .map(|f| FieldError {
                        field: f.into(),
                        message: format!("must be at most {limit} bytes"),
                    })
                    .into_iter()
                    .collect(),
            ),
            AppError::UnsupportedMediaType { field, message } => (
                format!("{field} {message}"),
                vec![FieldError {
                    field: (*field).into(),
                    message: message.clone(),
                }],
            ),
            AppError::Conflict(d)
            | AppError::ChangedMeanwhile(d)
            | AppError::SlotFull { detail: d, .. }
            | AppError::Gone(d) => (d.clone(), vec![]),
            AppError::PreconditionFailed => (
                "the record was changed since you read it; read it again and repeat your change"
                    .into(),
                vec![],
            ),
            AppError::PreconditionRequired => (
                "send If-Match with the ETag you read, so that no other edit is overwritten".into(),
                vec![],
            ),
            AppError::TooManyRequests { retry_after_secs } => (
                format!("too many attempts; try again in {retry_after_secs} seconds"),
                vec![],
            ),
            AppError::Busy { retry_after_secs } => (
                format!("the server is busy; try again in {retry_after_secs} seconds"),
                vec![],
            ),
            AppError::InProgress { retry_after_secs } => (
                format!(
                    "a request with this Idempotency-Key is still being processed; retry in {retry_after_secs} seconds to get its answer"
                ),
                vec![],
            ),
            AppError::Internal(_) => ("something went wrong on our side".into(), vec![]),
        };
        Problem {
            kind: format!("https://servicelane.dev/problems/{slug}"),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            next_free_slots,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound | AppError::NoRoute => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Conflict(_)
            | AppError::ChangedMeanwhile(_)
            | AppError::SlotFull { .. }
            | AppError::InProgress { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let AppError::Unauthorized(_) = self {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let AppError::TooManyRequests { retry_after_secs }
        | AppError::Busy { retry_after_secs }
        | AppError::InProgress { retry_after_secs } = self
        {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        res.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contention_is_a_503_with_retry_after_and_other_database_errors_are_ours() {
        for text in [
            "Execution Error: error returned from database: (code: 5) database is locked",
            "Query Error: error returned from database: deadlock detected",
            "could not serialize access due to concurrent update",
        ] {
            let e = AppError::from(DbErr::Custom(text.into()));
            assert!(
                matches!(
                    e,
                    AppError::Busy {
                        retry_after_secs: 1
                    }
                ),
                "{text}: {e:?}"
            );
            let res = e.error_response();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
        }
        let overloaded = AppError::from(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert!(
            matches!(overloaded, AppError::Busy { .. }),
            "{overloaded:?}"
        );
        let other = AppError::from(DbErr::Custom("no such table: customers".into()));
        assert!(matches!(other, AppError::Internal(_)), "{other:?}");
        // carried up through anyhow (a worker's error, a `?` on anyhow::Result)
        let carried = anyhow::Error::new(DbErr::Custom("database is locked".into()))
            .context("writing the report");
        assert!(matches!(AppError::from(carried), AppError::Busy { .. }));
        let ours = AppError::from(anyhow::anyhow!("a template did not render"));
        assert!(matches!(ours, AppError::Internal(_)));
    }
}
