//! `Idempotency-Key` for any write a tablet or phone may retry (bookings now;
//! repair orders and payments next). The key is reserved before the work
//! starts, in its own short transaction, so of several requests with one key
//! exactly one does the work; the others wait for its answer and replay it,
//! or, if it takes too long, are told 409 "in progress" with `Retry-After`
//! (as the IETF idempotency-key draft does). A retry never gets a different
//! answer than the original: errors the client caused are kept and replayed
//! too; only our own failures (500) and lost races ("changed meanwhile",
//! which a second try may win) free the key for another try.
//!
//! A reservation whose request died (a crash between reserve and complete)
//! expires after [`RESERVATION_TTL_SECS`], and the next request with the key
//! takes it over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::tokens::sha256_hex;
use crate::entities::idempotency_key;
use crate::error::{AppError, AppResult};

/// A client's key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<IdempotencyKey, String> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(IdempotencyKey(raw.to_string()))
        } else {
            Err("must be 1 to 255 visible ASCII characters".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An answer as first given, replayed to a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub status: u16,
    /// JSON: the resource, or the problem for a status of 400 and up.
    pub body: String,
}

/// What a use case that honours a key answers.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Done now.
    Fresh(T),
    /// Done before, under the same key and request.
    Replayed(Saved),
}

/// The right to do the work under a key; written back with [`complete`].
#[derive(Debug, Clone)]
pub struct Reservation {
    dealer_id: Uuid,
    actor_id: Uuid,
    key: String,
    /// Marks the row as ours while in progress (kept in `response`).
    token: String,
}

/// How long a reservation holds before another request may take it over.
pub const RESERVATION_TTL_SECS: i64 = 60;
/// How long a concurrent duplicate waits for the first answer.
const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);
/// `status` of a row whose request is still running.
const IN_PROGRESS: i32 = 0;

/// A fingerprint of the request, so a key reused for another request is refused.
pub fn fingerprint(request: &impl serde::Serialize) -> AppResult<String> {
    Ok(sha256_hex(
        &serde_json::to_string(request).map_err(anyhow::Error::from)?,
    ))
}

fn in_progress_token() -> String {
    format!("in-progress:{}", Uuid::now_v7())
}

/// Reserves `key` for this request, or answers what the first request with
/// it answered. `now` is the injected clock (expiry); the waiting is real time.
pub async fn begin(
    db: &impl ConnectionTrait,
    actor: &Actor,
    key: &IdempotencyKey,
    request_hash: &str,
    now: DateTime<Utc>,
) -> AppResult<Outcome<Reservation>> {
    let started = std::time::Instant::now();
    loop {
        let token = in_progress_token();
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            dealer_id: Set(actor.dealer_id),
            actor_id: Set(actor.id),
            key: Set(key.0.clone()),
            request_hash: Set(request_hash.to_string()),
            status: Set(IN_PROGRESS),
            response: Set(token.clone()),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                idempotency_key::Column::DealerId,
                idempotency_key::Column::ActorId,
                idempotency_key::Column::Key,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        let mine = Reservation {
            dealer_id: actor.dealer_id,
            actor_id: actor.id,
            key: key.0.clone(),
            token,
        };
        if inserted == 1 {
            return Ok(Outcome::Fresh(mine));
        }
        let Some(row) =
            idempotency_key::Entity::find_by_id((actor.dealer_id, actor.id, key.0.clone()))
                .one(db)
                .await?
        else {
            // freed meanwhile (the first request failed on our side): try again
            continue;
        };
        if row.request_hash != request_hash {
            return Err(AppError::field(
                "Idempotency-Key",
                "was already used with a different request",
            ));
        }
        if row.status != IN_PROGRESS {
            return Ok(Outcome::Replayed(Saved {
                status: u16::try_from(row.status).unwrap_or(500),
                body: row.response,
            }));
        }
        if now - row.created_at > chrono::Duration::seconds(RESERVATION_TTL_SECS) {
            // the request holding it died: take the reservation over
            let taken = idempotency_key::Entity::update_many()
                .col_expr(
                    idempotency_key::Column::Response,
                    sea_orm::sea_query::Expr::value(mine.token.clone()),
                )
                .col_expr(
                    idempotency_key::Column::CreatedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(row_of(&mine))
                .filter(idempotency_key::Column::Status.eq(IN_PROGRESS))
                .filter(idempotency_key::Column::Response.eq(row.response))
                .exec(db)
                .await?;
            if taken.rows_affected == 1 {
                return Ok(Outcome::Fresh(mine));
            }
            continue;
        }
        if started.elapsed() >= WAIT {
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn row_of(r: &Reservation) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(idempotency_key::Column::DealerId.eq(r.dealer_id))
        .add(idempotency_key::Column::ActorId.eq(r.actor_id))
        .add(idempotency_key::Column::Key.eq(r.key.clone()))
}

/// Saves the answer. Call it in the transaction that does the work, so the
/// answer is kept exactly when the work is. False when the reservation was
/// taken over meanwhile (the caller must roll back).
pub async fn complete(
    txn: &impl ConnectionTrait,
    r: &Reservation,
    answer: &Saved,
) -> AppResult<bool> {
    let res = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            sea_orm::sea_query::Expr::value(i32::from(answer.status)),
        )
        .col_expr(
            idempotency_key::Column::Response,
            sea_orm::sea_query::Expr::value(answer.body.clone()),
        )
        .filter(row_of(r))
        .filter(idempotency_key::Column::Status.eq(IN_PROGRESS))
        .filter(idempotency_key::Column::Response.eq(r.token.clone()))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Does `work` at most once per key: with no key it simply runs; with one,
/// the key is reserved first ([`begin`]), a repeat answers what the first
/// request answered, and a failure is kept or frees the key ([`fail`]).
/// `work` receives the reservation and must [`complete`] it in the
/// transaction that does the work.
pub async fn once<T, W>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    key: Option<&IdempotencyKey>,
    request: &impl serde::Serialize,
    now: DateTime<Utc>,
    work: W,
) -> AppResult<Outcome<T>>
where
    W: AsyncFnOnce(Option<&Reservation>) -> AppResult<T>,
{
    let Some(key) = key else {
        return work(None).await.map(Outcome::Fresh);
    };
    let reservation = match begin(db, actor, key, &fingerprint(request)?, now).await? {
        Outcome::Replayed(saved) => return Ok(Outcome::Replayed(saved)),
        Outcome::Fresh(r) => r,
    };
    match work(Some(&reservation)).await {
        Ok(v) => Ok(Outcome::Fresh(v)),
        Err(e) => {
            fail(db, &reservation, &e).await?;
            Err(e)
        }
    }
}

/// Whether an error frees the key rather than being kept as the answer: our
/// own failures (5xx) and the answers that say "try again" (a lost race, in
/// progress, too many requests). Kept and replayed, a 503 or 429 with
/// `Retry-After` would answer every retry the same, for good.
fn frees_key(error: &AppError) -> bool {
    matches!(
        error,
        AppError::InProgress { .. }
            | AppError::ChangedMeanwhile(_)
            | AppError::TooManyRequests { .. }
    ) || actix_web::ResponseError::status_code(error).is_server_error()
}

/// After the work failed: an error the client caused is kept as the answer
/// (a retry gets it again); see [`frees_key`] for the others.
pub async fn fail(db: &impl ConnectionTrait, r: &Reservation, error: &AppError) -> AppResult<()> {
    if frees_key(error) {
        idempotency_key::Entity::delete_many()
            .filter(row_of(r))
            .filter(idempotency_key::Column::Status.eq(IN_PROGRESS))
            .filter(idempotency_key::Column::Response.eq(r.token.clone()))
            .exec(db)
            .await?;
        return Ok(());
    }
    let problem = error.problem();
    let body = serde_json::to_string(&problem).map_err(anyhow::Error::from)?;
    complete(
        db,
        r,
        &Saved {
            status: problem.status,
            body,
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_that_say_try_again_free_the_key_and_client_errors_are_kept() {
        assert!(frees_key(&AppError::Internal(anyhow::anyhow!("db down"))));
        assert!(frees_key(&AppError::Busy {
            retry_after_secs: 1
        }));
        assert!(frees_key(&AppError::TooManyRequests {
            retry_after_secs: 1
        }));
        assert!(frees_key(&AppError::InProgress {
            retry_after_secs: 1
        }));
        assert!(frees_key(&AppError::ChangedMeanwhile("x".into())));
        assert!(!frees_key(&AppError::NotFound));
        assert!(!frees_key(&AppError::Conflict("slot taken".into())));
        assert!(!frees_key(&AppError::field("vehicle_id", "unknown")));
    }

    #[test]
    fn a_key_is_1_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("with space").is_err());
        assert!(IdempotencyKey::parse("nul\0").is_err());
        assert!(IdempotencyKey::parse("钥匙").is_err());
    }
}
