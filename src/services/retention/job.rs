//! The daily retention run: from `[privacy.retention] at` in each dealer's
//! zone, once per dealer and local day, whichever instance gets there first.
//!
//! Exactly once, without a leader (as the planner's ticks): the run is a
//! `retention_runs` row, unique per (dealer, day). The instance whose insert
//! makes the row owns it under a lease, renewed after every batch; a second
//! instance's insert finds the row and does nothing. An instance that dies
//! mid-run leaves the row unfinished with a lease that runs out; the next
//! instance to look takes it over by one conditional update (only while the
//! lease is out and the run unfinished, so one taker) and finishes it: each
//! kind's removal is repeatable, and the counts so far are in the row.
//! A finished row is never started again that day.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::kinds::{KINDS, Scope};
use super::{RetentionRun, counts, run_view};
use crate::domain::retention::{due, parse_at};
use crate::entities::{dealer, retention_run as run};
use crate::services::col_plus;
use crate::services::dealers::zone;
use crate::state::AppState;

fn lease(state: &AppState, now: DateTime<Utc>) -> DateTime<Utc> {
    let secs = i64::try_from(state.settings.privacy.retention.lease_secs).unwrap_or(i64::MAX);
    now + Duration::seconds(secs.min(86_400 * 7))
}

/// Claims the dealer's run for `day`: the new row, or one whose instance
/// stopped and whose lease ran out. `None`: finished already, or another
/// instance has it.
pub async fn claim(
    state: &AppState,
    dealer_id: Uuid,
    day: NaiveDate,
    owner: Uuid,
) -> anyhow::Result<Option<run::Model>> {
    let db = &state.db;
    let now = state.clock.now();
    let existing = run::Entity::find()
        .filter(run::Column::DealerId.eq(dealer_id))
        .filter(run::Column::Day.eq(day))
        .one(db)
        .await?;
    match existing {
        None => {
            let id = Uuid::now_v7();
            let inserted = run::Entity::insert(run::ActiveModel {
                id: Set(id),
                dealer_id: Set(dealer_id),
                day: Set(day),
                lease_owner: Set(Some(owner)),
                lease_until: Set(Some(lease(state, now))),
                attempts: Set(1),
                removed: Set(serde_json::json!({})),
                started_at: Set(now),
                finished_at: Set(None),
            })
            .on_conflict(
                OnConflict::columns([run::Column::DealerId, run::Column::Day])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
            // 0: another instance's insert came first; it runs the day
            if inserted == 0 {
                return Ok(None);
            }
            Ok(run::Entity::find_by_id(id).one(db).await?)
        }
        Some(r) if r.finished_at.is_some() => Ok(None),
        Some(r) if r.lease_until.is_some_and(|l| l > now) => Ok(None),
        Some(r) => {
            // one conditional update: of two instances taking over at once,
            // the second finds the lease renewed and changes nothing
            let taken = run::Entity::update_many()
                .col_expr(run::Column::LeaseOwner, Expr::value(owner))
                .col_expr(run::Column::LeaseUntil, Expr::value(lease(state, now)))
                .col_expr(run::Column::Attempts, col_plus(run::Column::Attempts, 1))
                .filter(run::Column::Id.eq(r.id))
                .filter(run::Column::FinishedAt.is_null())
                .filter(run::Column::LeaseUntil.lt(now))
                .exec(db)
                .await?
                .rows_affected;
            if taken == 0 {
                return Ok(None);
            }
            tracing::warn!(dealer = %dealer_id, %day, "retention: taking over a run an instance left unfinished");
            Ok(run::Entity::find_by_id(r.id).one(db).await?)
        }
    }
}

/// Writes the counts so far and renews the lease (and, with `finish`, ends
/// the run); an error when the lease was lost (another instance took the
/// run over): this one stops.
async fn save(
    state: &AppState,
    id: Uuid,
    owner: Uuid,
    removed: &BTreeMap<&'static str, u64>,
    finish: bool,
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut q = run::Entity::update_many()
        .col_expr(
            run::Column::Removed,
            Expr::value(serde_json::json!(removed)),
        )
        .filter(run::Column::Id.eq(id))
        .filter(run::Column::LeaseOwner.eq(owner))
        .filter(run::Column::FinishedAt.is_null());
    q = if finish {
        q.col_expr(run::Column::FinishedAt, Expr::value(now))
            .col_expr(run::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
            .col_expr(
                run::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
    } else {
        q.col_expr(run::Column::LeaseUntil, Expr::value(lease(state, now)))
    };
    if q.exec(&state.db).await?.rows_affected == 0 {
        anyhow::bail!("retention run {id}: the lease passed to another instance");
    }
    Ok(())
}

/// Works a claimed run through every kind, batch after batch, and finishes it.
pub async fn work(
    state: &AppState,
    d: &dealer::Model,
    r: run::Model,
    owner: Uuid,
) -> anyhow::Result<RetentionRun> {
    let cfg = &state.settings.privacy.retention;
    let (policy, _) = super::policy(&state.db, cfg, d.id).await?;
    let mut removed = counts(&r.removed);
    let scope = Scope {
        state,
        dealer: d,
        policy,
        defaults: cfg.defaults(),
        now: state.clock.now(),
        batch: cfg.batch.max(1),
    };
    for k in KINDS {
        loop {
            let keys = (k.due)(&scope).await?;
            if keys.is_empty() {
                break;
            }
            let full = keys.len() as u64 >= scope.batch;
            let n = (k.apply)(&scope, keys).await?;
            *removed.entry(k.kind.as_str()).or_default() += n;
            save(state, r.id, owner, &removed, false).await?;
            // fewer than a batch: that was the last; none changed: what is
            // left is not ours to change now (never loop on it)
            if !full || n == 0 {
                break;
            }
        }
    }
    save(state, r.id, owner, &removed, true).await?;
    let done = run::Entity::find_by_id(r.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("retention run {} just finished", r.id))?;
    Ok(run_view(done))
}

/// One look at every dealer: claims each run due now (the dealer's local
/// time past `at`, today's run not finished) and works it. Answers the
/// runs this call finished; empty when there was nothing to do here.
pub async fn tick(state: &AppState) -> anyhow::Result<Vec<RetentionRun>> {
    let at = parse_at(&state.settings.privacy.retention.at).map_err(anyhow::Error::msg)?;
    let owner = Uuid::now_v7();
    let mut done = Vec::new();
    for d in dealer::Entity::find().all(&state.db).await? {
        let local = state.clock.now().with_timezone(&zone(&d)).naive_local();
        if !due(local, at) {
            continue;
        }
        let Some(r) = claim(state, d.id, local.date(), owner).await? else {
            continue;
        };
        match work(state, &d, r, owner).await {
            Ok(v) => {
                tracing::info!(dealer = %d.code, day = %v.day, removed = ?v.removed, "retention run");
                done.push(v);
            }
            // the row stays unfinished: when its lease runs out, the next look finishes it
            Err(e) => tracing::error!(dealer = %d.code, error = ?e, "retention run"),
        }
    }
    Ok(done)
}

/// The daily run beside the server, looking every `poll_secs`, until `stop`.
pub fn spawn(
    state: actix_web::web::Data<AppState>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let poll = StdDuration::from_secs(state.settings.privacy.retention.poll_secs.max(1));
    tokio::spawn(async move {
        tracing::info!("retention runs started");
        while !*stop.borrow() {
            if let Err(e) = tick(&state).await {
                tracing::error!(error = ?e, "retention runs");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    })
}
