//! The kinds of personal data the retention run enforces, as ONE table:
//! each kind says which of a dealer's rows are due (at most a batch, by id)
//! and how those rows are removed or cleared. The run (`job`) walks the
//! table the same way for every kind, batch after batch, so a large backlog
//! is many short writes and never one long transaction.
//!
//! Every `apply` is one statement (photos: one, then the bytes no row uses
//! any more), safe to repeat: a run that stops mid-way and is finished by
//! another instance removes nothing twice and nothing that was not due.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query, ValueType};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, Value,
};
use uuid::Uuid;

use crate::domain::message::MessageKind;
use crate::domain::outbox::MessageState;
use crate::domain::repair_order::{OrderState, PhotoPurpose};
use crate::domain::retention::{Policy, RetentionKind};
use crate::entities::{
    dealer, idempotency_key, login_failure, otp_code, otp_quota, outbox_message,
    personal_data_access, refresh_token, repair_order, repair_order_photo as photo, rescue,
    rescue_event,
};
use crate::services::storage;
use crate::state::AppState;

/// What one dealer's run works with.
pub struct Scope<'a> {
    pub state: &'a AppState,
    pub dealer: &'a dealer::Model,
    /// The dealer's limits.
    pub policy: Policy,
    /// The configured limits: for what belongs to no dealer (failed logins
    /// counted per client address).
    pub defaults: Policy,
    pub now: DateTime<Utc>,
    /// Rows per statement.
    pub batch: u64,
}

impl Scope<'_> {
    fn cutoff(&self, kind: RetentionKind) -> DateTime<Utc> {
        self.policy.cutoff(kind, self.now)
    }
}

/// The primary keys of due rows.
pub type Keys = Vec<Value>;
type Found<'a> = BoxFuture<'a, Result<Keys, DbErr>>;
type Done<'a> = BoxFuture<'a, anyhow::Result<u64>>;

/// One kind of personal data: which rows are due, and what happens to them.
pub struct Kind {
    pub kind: RetentionKind,
    /// Up to `batch` keys of the dealer's rows past their limit, by key.
    pub due: for<'a> fn(&'a Scope<'a>) -> Found<'a>,
    /// Removes (or clears) those rows; answers how many it changed.
    pub apply: for<'a> fn(&'a Scope<'a>, Keys) -> Done<'a>,
}

/// Every kind the run enforces, in the order it runs them.
pub const KINDS: &[Kind] = &[
    Kind {
        kind: RetentionKind::OtpCodes,
        due: otp_due,
        apply: otp_apply,
    },
    Kind {
        kind: RetentionKind::OtpCodes,
        due: quota_due,
        apply: quota_apply,
    },
    Kind {
        kind: RetentionKind::LoginFailures,
        due: failures_due,
        apply: failures_apply,
    },
    Kind {
        kind: RetentionKind::LoginFailures,
        due: sessions_due,
        apply: sessions_apply,
    },
    Kind {
        kind: RetentionKind::MessageBodies,
        due: messages_due,
        apply: messages_apply,
    },
    Kind {
        kind: RetentionKind::Photos,
        due: photos_due,
        apply: photos_apply,
    },
    Kind {
        kind: RetentionKind::RescueLocations,
        due: rescues_due,
        apply: rescues_apply,
    },
    Kind {
        kind: RetentionKind::AuditEntries,
        due: audit_due,
        apply: audit_apply,
    },
    Kind {
        kind: RetentionKind::IdempotentAnswers,
        due: answers_due,
        apply: answers_apply,
    },
];

fn keys<T: Into<Value>>(ids: Vec<T>) -> Keys {
    ids.into_iter().map(Into::into).collect()
}

/// The shape of most kinds' `due`: up to `batch` keys of `E`'s rows that
/// match `due`, by key.
async fn first_due<E, T>(s: &Scope<'_>, key: E::Column, due: Condition) -> Result<Keys, DbErr>
where
    E: EntityTrait,
    T: sea_orm::TryGetableMany + Into<Value>,
{
    let ids: Vec<T> = E::find()
        .select_only()
        .column(key)
        .filter(due)
        .order_by_asc(key)
        .limit(s.batch)
        .into_tuple()
        .all(&s.state.db)
        .await?;
    Ok(keys(ids))
}

/// The shape of most kinds' `apply`: deletes the dealer's rows of `E`
/// whose `key` is one of `keys`.
async fn delete_keyed<E: EntityTrait>(
    s: &Scope<'_>,
    key: E::Column,
    dealer: E::Column,
    keys: Keys,
) -> anyhow::Result<u64> {
    let r = E::delete_many()
        .filter(key.is_in(keys))
        .filter(dealer.eq(s.dealer.id))
        .exec(&s.state.db)
        .await?;
    Ok(r.rows_affected)
}

// ------------------------------------------------------------ one-time codes

fn otp_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use otp_code::Column as C;
        first_due::<otp_code::Entity, Uuid>(
            s,
            C::Id,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::CreatedAt.lt(s.cutoff(RetentionKind::OtpCodes)))
                // a code still usable is never taken away
                .add(C::ExpiresAt.lt(s.now)),
        )
        .await
    })
}

fn otp_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    use otp_code::{Column as C, Entity};
    Box::pin(delete_keyed::<Entity>(s, C::Id, C::DealerId, keys))
}

// ------------------------------------------------------------ daily code counts

/// The days whose codes-sent counts (one row per phone and day) are past the
/// codes' limit, a day more so that no zone's today is cut: oldest first.
fn quota_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use otp_quota::Column as C;
        let before = (s.cutoff(RetentionKind::OtpCodes) - Duration::days(1)).date_naive();
        let days: Vec<NaiveDate> = otp_quota::Entity::find()
            .select_only()
            .column(C::Day)
            .distinct()
            .filter(C::DealerId.eq(s.dealer.id))
            .filter(C::Day.lt(before))
            .order_by_asc(C::Day)
            .limit(s.batch)
            .into_tuple()
            .all(&s.state.db)
            .await?;
        Ok(keys(days))
    })
}

fn quota_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    use otp_quota::{Column as C, Entity};
    Box::pin(delete_keyed::<Entity>(s, C::Day, C::DealerId, keys))
}

// ------------------------------------------------------------ ended sessions

/// Sign-ins (refresh tokens: who, when) that expired longer ago than the
/// limit for failed logins. One not yet expired stays, rotated or revoked:
/// it tells a stolen token's reuse.
fn sessions_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use refresh_token::Column as C;
        first_due::<refresh_token::Entity, Uuid>(
            s,
            C::Id,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::ExpiresAt.lt(s.cutoff(RetentionKind::LoginFailures))),
        )
        .await
    })
}

fn sessions_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    use refresh_token::{Column as C, Entity};
    Box::pin(delete_keyed::<Entity>(s, C::Id, C::DealerId, keys))
}

// ------------------------------------------------------------ failed logins

/// `LIKE` with `%`, `_` and `\` in `prefix` taken literally.
fn like_prefix(prefix: &str) -> LikeExpr {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    LikeExpr::new(p).escape('\\')
}

/// The dealer's accounts' counters (`account:<CODE>:<user>`) past the
/// dealer's limit, and the per-address counters (`address:<ip>`, no
/// dealer's) past the configured one; never one that still locks.
fn failures_condition(s: &Scope<'_>) -> Condition {
    use login_failure::Column as C;
    let account = format!("account:{}:", s.dealer.code.trim().to_uppercase());
    Condition::all()
        .add(
            Condition::any()
                .add(
                    Condition::all()
                        .add(Expr::col(C::Key).like(like_prefix(&account)))
                        .add(C::WindowStart.lt(s.cutoff(RetentionKind::LoginFailures))),
                )
                .add(
                    Condition::all()
                        .add(Expr::col(C::Key).like(like_prefix("address:")))
                        .add(
                            C::WindowStart
                                .lt(s.defaults.cutoff(RetentionKind::LoginFailures, s.now)),
                        ),
                ),
        )
        .add(
            Condition::any()
                .add(C::LockedUntil.is_null())
                .add(C::LockedUntil.lt(s.now)),
        )
}

fn failures_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use login_failure::Column as C;
        first_due::<login_failure::Entity, String>(
            s,
            C::Key,
            Condition::all().add(failures_condition(s)),
        )
        .await
    })
}

fn failures_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    Box::pin(async move {
        // the condition again: a counter written to since it was found stays
        let r = login_failure::Entity::delete_many()
            .filter(login_failure::Column::Key.is_in(keys))
            .filter(failures_condition(s))
            .exec(&s.state.db)
            .await?;
        Ok(r.rows_affected)
    })
}

// ------------------------------------------------------------ message bodies

fn messages_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use outbox_message::Column as C;
        first_due::<outbox_message::Entity, Uuid>(
            s,
            C::Id,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::CreatedAt.lt(s.cutoff(RetentionKind::MessageBodies)))
                .add(C::RedactedAt.is_null())
                // what strip_personal leaves alone: a message still on its way
                .add(C::State.is_not_in([MessageState::Queued, MessageState::Submitting])),
        )
        .await
    })
}

fn messages_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    Box::pin(async move {
        let which = Condition::all()
            .add(outbox_message::Column::Id.is_in(keys))
            .add(outbox_message::Column::DealerId.eq(s.dealer.id));
        Ok(crate::care::outbox::strip_personal(&s.state.db, which, s.now).await?)
    })
}

// ------------------------------------------------------------ photos

fn photos_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use repair_order::Column as O;
        let cutoff = s.cutoff(RetentionKind::Photos);
        // orders closed before the cutoff; a cancelled order has no
        // closed_at, its last write (the cancellation) stands for it
        let done = Query::select()
            .column(O::Id)
            .from(repair_order::Entity)
            .cond_where(
                Condition::all().add(O::DealerId.eq(s.dealer.id)).add(
                    Condition::any()
                        .add(
                            Condition::all()
                                .add(O::State.eq(OrderState::Closed))
                                .add(O::ClosedAt.lt(cutoff)),
                        )
                        .add(
                            Condition::all()
                                .add(O::State.eq(OrderState::Cancelled))
                                .add(O::UpdatedAt.lt(cutoff)),
                        ),
                ),
            )
            .to_owned();
        let ids: Vec<Uuid> = photo::Entity::find()
            .select_only()
            .column(photo::Column::Id)
            .filter(photo::Column::DealerId.eq(s.dealer.id))
            .filter(
                photo::Column::Purpose.is_in([PhotoPurpose::Walkaround, PhotoPurpose::HealthCheck]),
            )
            .filter(photo::Column::OrderId.in_subquery(done))
            .order_by_asc(photo::Column::Id)
            .limit(s.batch)
            .into_tuple()
            .all(&s.state.db)
            .await?;
        Ok(keys(ids))
    })
}

/// The rows go and their bytes are released in one transaction; the bytes
/// are deleted after it (by `storage::sweep`, retried until gone) unless a
/// row of any dealer uses them: the store is shared and content-addressed.
fn photos_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    Box::pin(async move {
        let txn = s.state.db.begin().await?;
        // a write first, so SQLite takes its lock now rather than failing
        // to upgrade a read later ("database is locked")
        photo::Entity::update_many()
            .col_expr(photo::Column::Sha256, Expr::col(photo::Column::Sha256))
            .filter(photo::Column::Id.is_in(keys.clone()))
            .filter(photo::Column::DealerId.eq(s.dealer.id))
            .exec(&txn)
            .await?;
        let shas: BTreeSet<String> = photo::Entity::find()
            .select_only()
            .column(photo::Column::Sha256)
            .filter(photo::Column::Id.is_in(keys.clone()))
            .filter(photo::Column::DealerId.eq(s.dealer.id))
            .into_tuple::<String>()
            .all(&txn)
            .await?
            .into_iter()
            .collect();
        let removed = photo::Entity::delete_many()
            .filter(photo::Column::Id.is_in(keys))
            .filter(photo::Column::DealerId.eq(s.dealer.id))
            .exec(&txn)
            .await?
            .rows_affected;
        storage::release(&txn, shas, s.now).await?;
        txn.commit().await?;
        // a store that fails now leaves the bytes released: the next sweep
        // retries, and the run goes on
        if let Err(e) = storage::sweep(s.state).await {
            tracing::warn!(error = ?e, "retention: photo bytes not deleted yet");
        }
        Ok(removed)
    })
}

// ------------------------------------------------------------ rescue locations

fn rescues_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use rescue::Column as C;
        let cutoff = s.cutoff(RetentionKind::RescueLocations);
        first_due::<rescue::Entity, Uuid>(
            s,
            C::Id,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::LocationRemovedAt.is_null())
                // only a rescue that ended: one under way needs to know where the car is
                .add(
                    Condition::any()
                        .add(C::ClosedAt.lt(cutoff))
                        .add(C::CancelledAt.lt(cutoff)),
                ),
        )
        .await
    })
}

/// The coordinates become 0, 0 (the columns hold a number) and the address
/// none; `location_removed_at` says they were cleared, not that the car
/// stood in the Gulf of Guinea.
fn rescues_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    Box::pin(async move {
        use rescue::Column as C;
        let ids = keys.clone();
        let txn = s.state.db.begin().await?;
        let r = rescue::Entity::update_many()
            .col_expr(C::Lat, Expr::value(0.0f64))
            .col_expr(C::Lng, Expr::value(0.0f64))
            .col_expr(C::Address, Expr::value(Option::<String>::None))
            .col_expr(C::LocationRemovedAt, Expr::value(s.now))
            .filter(C::Id.is_in(keys))
            .filter(C::DealerId.eq(s.dealer.id))
            .filter(C::LocationRemovedAt.is_null())
            .exec(&txn)
            .await?;
        // what the crew noted on the way may say where too
        rescue_event::Entity::update_many()
            .col_expr(
                rescue_event::Column::Note,
                Expr::value(Option::<String>::None),
            )
            .filter(rescue_event::Column::RescueId.is_in(ids.clone()))
            .exec(&txn)
            .await?;
        // and the alerts to staff name the place (their keys name the
        // rescue: `rescue:{id}:alert:…`)
        let named: Vec<String> = ids
            .into_iter()
            .map(|id| <Uuid as ValueType>::try_from(id).map(|u| u.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("a rescue key is not an id: {e:?}"))?;
        crate::care::outbox::strip_personal(
            &txn,
            Condition::all()
                .add(outbox_message::Column::DealerId.eq(s.dealer.id))
                .add(outbox_message::Column::Kind.eq(MessageKind::RescueAlert))
                .add(outbox_message::Column::OccurrenceKey.like(like_prefix("rescue:")))
                .add(Expr::cust("substr(occurrence_key, 8, 36)").is_in(named)),
            s.now,
        )
        .await?;
        txn.commit().await?;
        Ok(r.rows_affected)
    })
}

// ------------------------------------------------------------ the access log

fn audit_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use personal_data_access::Column as C;
        first_due::<personal_data_access::Entity, Uuid>(
            s,
            C::Id,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::At.lt(s.cutoff(RetentionKind::AuditEntries))),
        )
        .await
    })
}

fn audit_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    use personal_data_access::{Column as C, Entity};
    Box::pin(delete_keyed::<Entity>(s, C::Id, C::DealerId, keys))
}

// ------------------------------------------------------------ saved answers

/// Saved answers past their limit, by the instant they were saved (the
/// table's key is dealer, actor and key; rows saved at one instant go
/// together), oldest first.
fn answers_due<'a>(s: &'a Scope<'a>) -> Found<'a> {
    Box::pin(async move {
        use idempotency_key::Column as C;
        first_due::<idempotency_key::Entity, DateTime<Utc>>(
            s,
            C::CreatedAt,
            Condition::all()
                .add(C::DealerId.eq(s.dealer.id))
                .add(C::CreatedAt.lt(s.cutoff(RetentionKind::IdempotentAnswers))),
        )
        .await
    })
}

fn answers_apply<'a>(s: &'a Scope<'a>, keys: Keys) -> Done<'a> {
    Box::pin(async move {
        use idempotency_key::Column as C;
        let r = idempotency_key::Entity::delete_many()
            .filter(C::DealerId.eq(s.dealer.id))
            .filter(C::CreatedAt.is_in(keys))
            .filter(C::CreatedAt.lt(s.cutoff(RetentionKind::IdempotentAnswers)))
            .exec(&s.state.db)
            .await?;
        Ok(r.rows_affected)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind runs; a kind may take more than one step (codes and their
    /// daily counts), each step once.
    #[test]
    fn the_table_holds_every_kind() {
        for k in RetentionKind::ALL {
            assert!(KINDS.iter().any(|x| x.kind == *k), "{k}");
        }
        for (i, a) in KINDS.iter().enumerate() {
            for b in &KINDS[i + 1..] {
                assert!(
                    !(std::ptr::fn_addr_eq(a.due, b.due) && a.kind == b.kind),
                    "{} twice",
                    a.kind
                );
            }
        }
    }
}
