//! The outbox dispatcher: claims due messages, hands each to its channel, and
//! records what became of it.
//!
//! A message is never sent twice on a guess. Each one goes through:
//! 1. **claim** (one statement): a batch of due `queued` rows gets a lease
//!    (owner, end) and a raised fence. PostgreSQL skips rows another
//!    dispatcher holds (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, so
//!    the statement is the claim.
//! 2. **begin** (its own transaction, committed before the call): consent is
//!    checked again (an opt-out since enqueue suppresses it), then the row
//!    moves to `submitting` if the fence is still ours, and an attempt row
//!    is written.
//! 3. **call** the provider with the message id as its idempotency key.
//! 4. **settle**: the outcome is written only while the fence is still ours.
//!
//! A row left `submitting` after its lease (a crash or a stop mid-call) may
//! or may not have reached the provider: [`sweep`] marks it `unknown`
//! (raising the fence, so a late writer is fenced off), for a receipt or a
//! person to settle. A claimed row that never reached `submitting` is simply
//! claimed again when its lease ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{FutureExt, StreamExt, stream};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QuerySelect, Set, Statement, TransactionTrait,
};
use tokio::sync::{Semaphore, SemaphorePermit};
use uuid::Uuid;

use crate::care::outbox::{self, Params, REDACTED, redact};
use crate::care::webhook::{Outcome, WebhookMessage};
use crate::domain::care::cap_release;
use crate::domain::customer::{Channel, Consent, Purpose, may_contact};
use crate::domain::message::MessageKind;
use crate::domain::outbox::{AttemptOutcome, Event, MessageState, backoff, next};
use crate::entities::{customer, outbox_attempt, outbox_message, suppression};
use crate::services::{col_plus, lock_row};
use crate::state::AppState;

/// A claimed message, ready to be begun.
pub type Claimed = outbox_message::Model;

/// What [`begin`] did with a claimed message.
#[derive(Debug)]
pub enum Begun {
    /// Committed as `submitting`: call the provider, then settle.
    Submitting {
        message: Box<outbox_message::Model>,
        attempt_id: Uuid,
    },
    /// The customer withdrew consent, or the address is suppressed: nothing
    /// is sent on this channel (the next one in the chain is written).
    Suppressed,
    /// Outside the sending window, or held by the marketing cap: queued
    /// again for this time.
    Deferred(chrono::DateTime<Utc>),
    /// Another dispatcher holds it now.
    Fenced,
}

/// Whether a settlement was written.
#[derive(Debug, PartialEq, Eq)]
pub enum Settled {
    Written(MessageState),
    /// The lease ended and the row moved on without us: nothing written.
    Fenced,
}

/// Marks `unknown` every message left `submitting` past its lease.
pub async fn sweep(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now();
    let res = outbox_message::Entity::update_many()
        .col_expr(
            outbox_message::Column::State,
            Expr::value(MessageState::Unknown.as_str()),
        )
        .col_expr(
            outbox_message::Column::Fence,
            col_plus(outbox_message::Column::Fence, 1),
        )
        .col_expr(
            outbox_message::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            outbox_message::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(
            outbox_message::Column::LastError,
            Expr::value(
                "the dispatcher stopped during the provider call; it may have been delivered",
            ),
        )
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
        .filter(outbox_message::Column::State.eq(MessageState::Submitting))
        .filter(outbox_message::Column::LeaseUntil.lt(now))
        .exec(&state.db)
        .await?;
    if res.rows_affected > 0 {
        // an unknown login code is never sent again: its text goes now
        let codes = outbox_message::Entity::find()
            .filter(outbox_message::Column::Kind.eq(MessageKind::Otp))
            .filter(outbox_message::Column::State.eq(MessageState::Unknown))
            .filter(outbox_message::Column::Body.ne(REDACTED))
            .all(&state.db)
            .await?;
        for m in codes {
            redact(outbox_message::Entity::update_many(), &m)
                .filter(outbox_message::Column::Id.eq(m.id))
                .exec(&state.db)
                .await?;
        }
    }
    Ok(res.rows_affected)
}

/// Takes up to `limit` due messages for `worker`, in due order.
pub async fn claim(state: &AppState, worker: Uuid, limit: u64) -> anyhow::Result<Vec<Claimed>> {
    let now = state.clock.now();
    let until = now + chrono::Duration::seconds(state.settings.care.lease_secs);
    let backend = state.db.get_database_backend();
    let sql = match backend {
        // SKIP LOCKED: two dispatchers take disjoint batches instead of waiting
        DatabaseBackend::Postgres => {
            "UPDATE outbox_messages SET lease_owner = $1, lease_until = $2, fence = fence + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM outbox_messages \
               WHERE state = 'queued' AND due_at <= $4 AND (lease_until IS NULL OR lease_until < $5) \
               ORDER BY due_at LIMIT $6 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
        }
        // one writer at a time: the statement itself is the claim
        _ => {
            "UPDATE outbox_messages SET lease_owner = ?, lease_until = ?, fence = fence + 1, updated_at = ? \
             WHERE id IN (SELECT id FROM outbox_messages \
               WHERE state = 'queued' AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
               ORDER BY due_at LIMIT ?) \
             RETURNING *"
        }
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [
            worker.into(),
            until.into(),
            now.into(),
            now.into(),
            now.into(),
            (limit.min(i64::MAX as u64) as i64).into(),
        ],
    );
    let mut rows = outbox_message::Entity::find()
        .from_raw_sql(stmt)
        .all(&state.db)
        .await?;
    rows.sort_by_key(|m| (m.due_at, m.id));
    Ok(rows)
}

/// Applies the sending rules again (consent, the suppression list, the
/// sending window, the marketing cap) and commits the message as
/// `submitting` with an attempt row, while the fence is still ours.
pub async fn begin(state: &AppState, worker: Uuid, m: &Claimed) -> anyhow::Result<Begun> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    if txn.get_database_backend() != DatabaseBackend::Postgres {
        // SQLite: take the write lock before the reads below, so the writes
        // that follow never have to upgrade a read (see `services::lock_row`)
        lock_row::<outbox_message::Entity>(
            &txn,
            outbox_message::Column::Id,
            outbox_message::Column::Fence,
            m.id,
        )
        .await?;
    }
    let refusal = match refused(&txn, m).await? {
        Some(r) => Some(r),
        None => suppressed(&txn, m).await?,
    };
    if let Some(refusal) = refusal {
        let res = mine(outbox_message::Entity::update_many(), m, worker)
            .col_expr(
                outbox_message::Column::State,
                Expr::value(MessageState::Suppressed.as_str()),
            )
            .col_expr(outbox_message::Column::LastError, Expr::value(refusal))
            .col_expr(
                outbox_message::Column::LeaseOwner,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                outbox_message::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
            .col_expr(outbox_message::Column::SettledAt, Expr::value(now))
            .filter(outbox_message::Column::State.eq(MessageState::Queued))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(Begun::Fenced);
        }
        outbox::forget_if_erased(&txn, m, now).await?;
        let child = crate::care::route::fall_back(&txn, m, now).await?;
        txn.commit().await?;
        count(state, m, "suppressed");
        if child.is_some() {
            state.care_wakeup.notify_one();
        }
        return Ok(Begun::Suppressed);
    }
    if let Some(until) = held_until(&txn, m, now).await? {
        let res = mine(outbox_message::Entity::update_many(), m, worker)
            .col_expr(outbox_message::Column::DueAt, Expr::value(until))
            .col_expr(
                outbox_message::Column::LeaseOwner,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                outbox_message::Column::LeaseUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
            .filter(outbox_message::Column::State.eq(MessageState::Queued))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        if res.rows_affected == 0 {
            return Ok(Begun::Fenced);
        }
        count(state, m, "deferred");
        return Ok(Begun::Deferred(until));
    }
    debug_assert_eq!(next(m.state, Event::Submit), Some(MessageState::Submitting));
    // the lease is renewed: it now covers the provider call
    let until = now + chrono::Duration::seconds(state.settings.care.lease_secs);
    let res = mine(outbox_message::Entity::update_many(), m, worker)
        .col_expr(
            outbox_message::Column::State,
            Expr::value(MessageState::Submitting.as_str()),
        )
        .col_expr(
            outbox_message::Column::Attempts,
            col_plus(outbox_message::Column::Attempts, 1),
        )
        .col_expr(outbox_message::Column::LeaseUntil, Expr::value(until))
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
        .filter(outbox_message::Column::State.eq(MessageState::Queued))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(Begun::Fenced);
    }
    let attempt_id = Uuid::now_v7();
    outbox_attempt::ActiveModel {
        id: Set(attempt_id),
        message_id: Set(m.id),
        attempt: Set(m.attempts + 1),
        fence: Set(m.fence),
        worker: Set(worker),
        started_at: Set(now),
        finished_at: Set(None),
        outcome: Set(AttemptOutcome::Pending),
        status_code: Set(None),
        error: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let mut message = m.clone();
    message.state = MessageState::Submitting;
    message.attempts += 1;
    message.lease_until = Some(until);
    Ok(Begun::Submitting {
        message: Box::new(message),
        attempt_id,
    })
}

/// Restricts an update to the row as `worker` claimed it.
fn mine(
    u: sea_orm::UpdateMany<outbox_message::Entity>,
    m: &Claimed,
    worker: Uuid,
) -> sea_orm::UpdateMany<outbox_message::Entity> {
    u.filter(outbox_message::Column::Id.eq(m.id))
        .filter(outbox_message::Column::Fence.eq(m.fence))
        .filter(outbox_message::Column::LeaseOwner.eq(worker))
}

/// Why the customer may not be sent this now, if they may not.
async fn refused(db: &impl ConnectionTrait, m: &Claimed) -> anyhow::Result<Option<String>> {
    // an alert to staff about a customer erased since it was written (by a
    // writer that read them just before) would tell what was erased
    if outbox::any_erased(db, [m.about_customer_id]).await? {
        return Ok(Some("the customer it is about was erased".into()));
    }
    let Some(customer_id) = m.customer_id else {
        return Ok(None);
    };
    let Some(purpose) = m.kind.purpose() else {
        // no consent governs it, but an erased customer is sent nothing
        let erased = outbox::any_erased(db, [Some(customer_id)]).await?;
        return Ok(erased.then(|| "the customer was erased".to_string()));
    };
    let mut q = customer::Entity::find_by_id(customer_id)
        .filter(customer::Column::DealerId.eq(m.dealer_id));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // an opt-out being written now is waited for and read, not overtaken
        // (SQLite's begin already holds the write lock). Marketing takes the
        // row exclusively at once: the cap locks it so later, and two shares
        // both upgrading would deadlock
        q = if purpose == Purpose::Marketing {
            q.lock_exclusive()
        } else {
            q.lock_shared()
        };
    }
    let Some(c) = q.one(db).await? else {
        return Ok(Some("the customer no longer exists".into()));
    };
    if c.erased_at.is_some() {
        return Ok(Some("the customer was erased".into()));
    }
    // unreadable consents are no consent: nothing is sent, and the reason says why
    let consents: Vec<Consent> = match serde_json::from_value(c.consents.clone()) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(customer = %c.id, error = %e, "outbox: stored consents do not parse");
            return Ok(Some(format!(
                "the customer's stored consents do not parse: {e}"
            )));
        }
    };
    Ok((!may_contact(&consents, m.channel, purpose)).then(|| {
        format!(
            "the customer refused {} messages by {}",
            purpose.as_str(),
            m.channel.as_str()
        )
    }))
}

/// Why the address may not be sent to, if it is on the dealer's suppression list.
async fn suppressed(db: &impl ConnectionTrait, m: &Claimed) -> anyhow::Result<Option<String>> {
    if m.kind.carries_secret() {
        // a login code asked for now goes even to a number a receipt once gave up on
        return Ok(None);
    }
    let hit = suppression::Entity::find()
        .filter(suppression::Column::DealerId.eq(m.dealer_id))
        .filter(suppression::Column::Channel.eq(m.channel))
        .filter(suppression::Column::Address.eq(m.recipient.as_str()))
        .one(db)
        .await?;
    Ok(hit.map(|s| {
        format!(
            "the address is on the suppression list: {}",
            s.reason.as_deref().unwrap_or("a receipt reported it dead")
        )
    }))
}

/// Until when the message must wait, if it may not leave now: outside the
/// dealer's sending window (unless transactional), or over the marketing cap.
async fn held_until(
    txn: &impl ConnectionTrait,
    m: &Claimed,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
    if m.kind.transactional() {
        return Ok(None);
    }
    let (rules, tz) = crate::care::settings::rules(txn, m.dealer_id)
        .await
        .map_err(|e| anyhow::anyhow!("care settings: {e}"))?;
    if let Some(open) = rules.window().next_opening(now, tz) {
        return Ok(Some(open));
    }
    let (Some(Purpose::Marketing), Some(customer_id)) = (m.kind.purpose(), m.customer_id) else {
        return Ok(None);
    };
    // the customer's row is the cap's lock: two dispatchers sending this
    // customer marketing at once count one after the other
    lock_row::<customer::Entity>(
        txn,
        customer::Column::Id,
        customer::Column::Version,
        customer_id,
    )
    .await?;
    let since = now - chrono::Duration::days(i64::from(rules.marketing_cap_days));
    let marketing: Vec<MessageKind> = MessageKind::ALL
        .iter()
        .copied()
        .filter(|k| k.purpose() == Some(Purpose::Marketing))
        .collect();
    let recent = outbox_message::Entity::find()
        .filter(outbox_message::Column::CustomerId.eq(customer_id))
        .filter(outbox_message::Column::DealerId.eq(m.dealer_id))
        .filter(outbox_message::Column::Kind.is_in(marketing))
        .filter(outbox_message::Column::Id.ne(m.id))
        .filter(
            sea_orm::Condition::any()
                .add(
                    outbox_message::Column::State
                        .is_in([MessageState::Submitting, MessageState::Unknown]),
                )
                .add(
                    sea_orm::Condition::all()
                        .add(
                            outbox_message::Column::State
                                .is_in([MessageState::Sent, MessageState::Delivered]),
                        )
                        .add(outbox_message::Column::SentAt.gte(since)),
                ),
        )
        .all(txn)
        .await?;
    let times: Vec<_> = recent.iter().map(|r| r.sent_at.unwrap_or(now)).collect();
    Ok(cap_release(
        &times,
        rules.marketing_cap,
        rules.marketing_cap_days,
        now,
    ))
}

/// Hands the message to its channel, our id as the idempotency key.
pub async fn call(state: &AppState, m: &outbox_message::Model) -> Outcome {
    let params = match Params::from_stored(m.kind, &m.params) {
        Ok(p) => p,
        Err(e) => {
            return Outcome::Rejected {
                status: None,
                error: e.to_string(),
            };
        }
    };
    let message = |title: Option<String>| WebhookMessage {
        message_id: m.id,
        to: m.recipient.clone(),
        title,
        text: m.body.clone(),
        template: m.kind.as_str().into(),
        params: params.to_json(),
    };
    match m.channel {
        Channel::Sms => match &state.sms_provider {
            Some(p) => crate::care::templated::send(state, p, m, &params).await,
            None => state.sms.send(&message(None)).await,
        },
        Channel::App => state.push.send(&message(m.subject.clone())).await,
        Channel::Email => crate::care::email::deliver(state, m, &params).await,
        Channel::Wechat => crate::care::wechat::deliver(state, m, &params).await,
    }
}

/// How often [`settle`] tries to write an outcome the database's contention
/// refused, and the pause before the first retry (doubled each time).
const SETTLE_TRIES: u32 = 5;
const SETTLE_PAUSE: Duration = Duration::from_millis(200);

/// Writes the call's outcome, while the fence is still ours. The provider has
/// answered, so what it said is not given up to a lock wait or a full pool:
/// a try the database refused for contention (rolled back whole) is made
/// again after a pause, up to [`SETTLE_TRIES`] times, while the lease lasts
/// (past it, the sweep may have moved the row on). Once the row has moved on
/// (swept to `unknown`, settled by a receipt) a try writes nothing
/// (`Fenced`); a row left `submitting` becomes `unknown`, never sent again
/// on a guess.
pub async fn settle(
    state: &AppState,
    worker: Uuid,
    m: &outbox_message::Model,
    attempt_id: Uuid,
    outcome: &Outcome,
) -> anyhow::Result<Settled> {
    settle_in_turn(state, worker, m, attempt_id, outcome, None).await
}

/// [`settle`], each try waiting for a permit of `steps` when given (none is
/// held during the pauses).
async fn settle_in_turn(
    state: &AppState,
    worker: Uuid,
    m: &outbox_message::Model,
    attempt_id: Uuid,
    outcome: &Outcome,
    steps: Option<&Semaphore>,
) -> anyhow::Result<Settled> {
    let mut pause = SETTLE_PAUSE;
    let mut tries = 1;
    loop {
        let tried = {
            let _turn = turn(steps).await?;
            settle_once(state, worker, m, attempt_id, outcome).await
        };
        let lease_left = m
            .lease_until
            .is_some_and(|until| state.clock.now() + pause < until);
        match tried {
            Err(e) if tries < SETTLE_TRIES && lease_left && crate::error::is_contention(&e) => {
                tracing::warn!(message_id = %m.id, error = %e, "outbox: settlement contended, trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            settled => return settled,
        }
    }
}

async fn settle_once(
    state: &AppState,
    worker: Uuid,
    m: &outbox_message::Model,
    attempt_id: Uuid,
    outcome: &Outcome,
) -> anyhow::Result<Settled> {
    let now = state.clock.now();
    let care = &state.settings.care;
    let (event, attempt_outcome, error) = match outcome {
        Outcome::Sent { .. } => (Event::Accepted, AttemptOutcome::Sent, None),
        Outcome::Retry { error, .. } => (
            Event::Retry {
                exhausted: m.attempts >= care.max_attempts,
            },
            AttemptOutcome::Retry,
            Some(error.clone()),
        ),
        Outcome::Rejected { error, .. } => {
            (Event::Rejected, AttemptOutcome::Failed, Some(error.clone()))
        }
        Outcome::Lost { error } => (Event::Lost, AttemptOutcome::Unknown, Some(error.clone())),
    };
    let to = next(MessageState::Submitting, event)
        .ok_or_else(|| anyhow::anyhow!("no transition from submitting on {event:?}"))?;
    let txn = state.db.begin().await?;
    let mut u = mine(outbox_message::Entity::update_many(), m, worker)
        .filter(outbox_message::Column::State.eq(MessageState::Submitting))
        .col_expr(outbox_message::Column::State, Expr::value(to.as_str()))
        .col_expr(
            outbox_message::Column::LastError,
            Expr::value(error.clone()),
        )
        .col_expr(
            outbox_message::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            outbox_message::Column::LeaseUntil,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now));
    match (to, outcome) {
        (MessageState::Sent, Outcome::Sent { provider_id, .. }) => {
            u = u
                .col_expr(outbox_message::Column::SentAt, Expr::value(now))
                .col_expr(
                    outbox_message::Column::ProviderId,
                    Expr::value(provider_id.clone()),
                );
        }
        (MessageState::Queued, Outcome::Retry { retry_after, .. }) => {
            let max = Duration::from_secs(care.backoff_max_secs);
            let wait = backoff(
                m.attempts,
                Duration::from_secs(care.backoff_base_secs),
                max,
                rand::rng().random_range(0.0..1.0),
                retry_after.map(|r| r.min(max)),
            );
            let due = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            u = u.col_expr(outbox_message::Column::DueAt, Expr::value(due));
        }
        (MessageState::Queued, _) => {}
        _ => u = u.col_expr(outbox_message::Column::SettledAt, Expr::value(now)),
    }
    if matches!(
        to,
        MessageState::Sent | MessageState::Failed | MessageState::Dead
    ) {
        u = redact(u, m);
    }
    let res = u.exec(&txn).await?;
    let fenced = res.rows_affected == 0;
    if !fenced && to != MessageState::Queued {
        // one written for (or about) a customer just as they were erased can
        // have been claimed before the erasure saw it: it goes blank now
        outbox::forget_if_erased(&txn, m, now).await?;
    }
    // failed for good here: the next channel of the chain carries it
    let child = if !fenced && matches!(to, MessageState::Failed | MessageState::Dead) {
        crate::care::route::fall_back(&txn, m, now).await?
    } else {
        None
    };
    // the attempt is a fact either way: what the provider answered
    outbox_attempt::Entity::update_many()
        .col_expr(outbox_attempt::Column::FinishedAt, Expr::value(now))
        .col_expr(
            outbox_attempt::Column::Outcome,
            Expr::value(attempt_outcome.as_str()),
        )
        .col_expr(
            outbox_attempt::Column::StatusCode,
            Expr::value(outcome.status().map(i32::from)),
        )
        .col_expr(
            outbox_attempt::Column::Error,
            Expr::value(if fenced {
                Some(format!(
                    "{}; not recorded on the message: its lease had ended",
                    error.as_deref().unwrap_or("accepted")
                ))
            } else {
                error
            }),
        )
        .filter(outbox_attempt::Column::Id.eq(attempt_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    count(state, m, attempt_outcome.as_str());
    if child.is_some() {
        state.care_wakeup.notify_one();
    }
    if fenced {
        tracing::warn!(message_id = %m.id, "outbox: settlement fenced off, the lease had ended");
        return Ok(Settled::Fenced);
    }
    if to == MessageState::Sent {
        let lag = (now - m.due_at).to_std().unwrap_or_default();
        state.metrics.outbox_lag.observe(lag.as_secs_f64());
    }
    Ok(Settled::Written(to))
}

fn count(state: &AppState, m: &outbox_message::Model, outcome: &str) {
    state
        .metrics
        .outbox_attempts
        .with_label_values(&[m.kind.as_str(), m.channel.as_str(), outcome])
        .inc();
}

/// One message, claimed by `worker`, to its end.
pub async fn deliver(state: &AppState, worker: Uuid, m: &Claimed) -> anyhow::Result<()> {
    deliver_in_turn(state, worker, m, None).await
}

/// [`deliver`], its database steps ([`begin`], [`settle`]) each waiting for
/// a permit of `steps` when given; the provider call takes none.
async fn deliver_in_turn(
    state: &AppState,
    worker: Uuid,
    m: &Claimed,
    steps: Option<&Semaphore>,
) -> anyhow::Result<()> {
    let begun = {
        let _turn = turn(steps).await?;
        begin(state, worker, m).await?
    };
    if let Begun::Submitting {
        message,
        attempt_id,
    } = begun
    {
        let outcome = call(state, &message).await;
        settle_in_turn(state, worker, &message, attempt_id, &outcome, steps).await?;
    }
    Ok(())
}

async fn turn(steps: Option<&Semaphore>) -> anyhow::Result<Option<SemaphorePermit<'_>>> {
    Ok(match steps {
        Some(s) => Some(s.acquire().await?),
        None => None,
    })
}

/// How many database steps (claim, begin, settle) one drain takes at once:
/// SQLite has one writer, and a transaction that reads before it writes
/// fails rather than waits when another wrote meanwhile, so one; PostgreSQL,
/// half the pool, so the API keeps the other half.
fn database_steps(state: &AppState) -> usize {
    match state.db.get_database_backend() {
        DatabaseBackend::Sqlite => 1,
        _ => (state.settings.database.max_connections as usize / 2).max(1),
    }
}

/// Sweeps, then claims and delivers batches until nothing is due; answers
/// how many messages were taken. What tests call instead of waiting.
pub async fn drain(state: &AppState, worker: Uuid) -> anyhow::Result<usize> {
    drain_while(state, worker, || true).await
}

/// [`drain`], starting no further message once `go_on` says so (those in
/// hand are finished; a stopping worker's claimed rows are claimed again by
/// another when their lease ends).
///
/// Up to `care.concurrency` messages are in hand at once, each through
/// begin, call, settle as [`deliver`] takes it; the next batch is claimed as
/// soon as the last of the previous one has begun, so the provider calls
/// never wait for a batch's slowest.
pub async fn drain_while(
    state: &AppState,
    worker: Uuid,
    go_on: impl Fn() -> bool + Sync,
) -> anyhow::Result<usize> {
    sweep(state).await?;
    // a pass ends when a claim finds nothing while the last messages are
    // still in hand; what they wrote (a fallback, a retry due now) is taken
    // by the next pass
    let mut taken = 0;
    loop {
        let n = pass(state, worker, &go_on).await?;
        taken += n;
        if n == 0 || !go_on() {
            return Ok(taken);
        }
    }
}

/// Claims and delivers batches, up to `care.concurrency` messages in hand,
/// until a claim finds nothing due; answers how many were taken.
async fn pass(
    state: &AppState,
    worker: Uuid,
    go_on: &(impl Fn() -> bool + Sync),
) -> anyhow::Result<usize> {
    let care = &state.settings.care;
    let size = care.batch.max(1);
    let steps = Semaphore::new(database_steps(state));
    let taken = AtomicUsize::new(0);
    // a failed claim ends the drain once the messages in hand are settled
    let failed = std::sync::Mutex::new(None);
    let (steps, taken, failed) = (&steps, &taken, &failed);
    stream::unfold((), move |()| {
        next_batch(state, worker, size, go_on, steps, taken, failed)
    })
    .flatten()
    .for_each_concurrent(care.concurrency.max(1), move |m| {
        in_hand(state, worker, m, go_on, steps)
    })
    // boxed: without it the compiler cannot see the spawned dispatcher's
    // future is Send (the closures' lifetimes are erased here)
    .boxed()
    .await;
    if let Some(e) = failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    Ok(taken.load(Ordering::Relaxed))
}

/// The next claimed batch as a stream, or `None` once nothing is due, `go_on`
/// says stop, or the claim failed (kept in `failed`).
async fn next_batch(
    state: &AppState,
    worker: Uuid,
    size: u64,
    go_on: &(impl Fn() -> bool + Sync),
    steps: &Semaphore,
    taken: &AtomicUsize,
    failed: &std::sync::Mutex<Option<anyhow::Error>>,
) -> Option<(stream::Iter<std::vec::IntoIter<Claimed>>, ())> {
    if !go_on() {
        return None;
    }
    // a database step too: on SQLite it must not write between a begin's read and write
    let claimed = async {
        let _turn = steps.acquire().await?;
        claim(state, worker, size).await
    }
    .await;
    match claimed {
        Ok(batch) if batch.is_empty() => None,
        Ok(batch) => {
            taken.fetch_add(batch.len(), Ordering::Relaxed);
            Some((stream::iter(batch), ()))
        }
        Err(e) => {
            *failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            None
        }
    }
}

/// One claimed message to its end, unless `go_on` says stop before it begins.
async fn in_hand(
    state: &AppState,
    worker: Uuid,
    m: Claimed,
    go_on: &(impl Fn() -> bool + Sync),
    steps: &Semaphore,
) {
    if !go_on() {
        return;
    }
    if let Err(e) = deliver_in_turn(state, worker, &m, Some(steps)).await {
        tracing::error!(error = ?e, message_id = %m.id, "outbox: delivery not recorded");
    }
}

/// Counts the outbox by kind, channel and state for the metrics.
pub async fn refresh_metrics(state: &AppState) -> anyhow::Result<()> {
    let rows: Vec<(String, String, String, i64)> = outbox_message::Entity::find()
        .select_only()
        .column(outbox_message::Column::Kind)
        .column(outbox_message::Column::Channel)
        .column(outbox_message::Column::State)
        .column_as(outbox_message::Column::Id.count(), "n")
        .group_by(outbox_message::Column::Kind)
        .group_by(outbox_message::Column::Channel)
        .group_by(outbox_message::Column::State)
        .into_tuple()
        .all(&state.db)
        .await?;
    let m = &state.metrics;
    m.outbox_messages.reset();
    let mut depth = 0;
    for (kind, channel, st, n) in rows {
        m.outbox_messages
            .with_label_values(&[kind.as_str(), channel.as_str(), st.as_str()])
            .set(n);
        if st == MessageState::Queued.as_str() || st == MessageState::Submitting.as_str() {
            depth += n;
        }
    }
    m.outbox_depth.set(depth);
    Ok(())
}

/// The dispatcher as a task: drains when woken by a local enqueue, and every
/// `poll_ms` in any case (other instances enqueue too); ends when `stop` says so.
pub fn spawn(
    state: actix_web::web::Data<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let poll = Duration::from_millis(state.settings.care.poll_ms.max(10));
    tokio::spawn(async move {
        let worker = Uuid::now_v7();
        let mut counted: Option<Instant> = None;
        tracing::info!(%worker, "outbox dispatcher started");
        while !*stop.borrow() {
            let going = stop.clone();
            if let Err(e) = drain_while(&state, worker, || !*going.borrow()).await {
                tracing::error!(error = ?e, "outbox dispatcher");
            }
            if counted.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                if let Err(e) = refresh_metrics(&state).await {
                    tracing::warn!(error = ?e, "outbox metrics");
                }
                counted = Some(Instant::now());
            }
            tokio::select! {
                _ = state.care_wakeup.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!(%worker, "outbox dispatcher stopped");
    })
}
