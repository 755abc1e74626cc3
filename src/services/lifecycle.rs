//! State changes with an audit, shared by every resource that has a life
//! (appointments now; repair orders, cases and payments next). A resource
//! names its columns and how one audit row is written ([`Lifecycle`]); this
//! module takes its row, moves it from a known (state, version), and records
//! who moved it, when, from what, to what and why.
//!
//! Lock order, for every transaction that touches a resource row and
//! counters (slots, stock): the resource's row first ([`lock`]), then the
//! counters in key order (`appointments::capacity_ledger` sorts its slots).
//! A write that places a booking on the slot grid (booking, rescheduling)
//! takes the dealer's row shared before that, and a capacity change takes it
//! exclusively, then the appointment rows, then the counters
//! (`services::capacity::put`). Transactions that all follow this order can
//! wait on each other only in a line, never in a circle, so PostgreSQL never
//! has a deadlock to break.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ActiveModelBehavior, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{AppError, AppResult};
use crate::services::col_plus;

/// One change of state, as the audit keeps it.
#[derive(Debug, Clone)]
pub struct Transition<S> {
    pub dealer_id: Uuid,
    /// The row that moved.
    pub subject_id: Uuid,
    pub actor_id: Uuid,
    /// The person the actor stood in for (a deputy's act).
    pub on_behalf_of: Option<Uuid>,
    /// None when the row is created.
    pub from: Option<S>,
    pub to: S,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A table whose rows move through the states of `State`, with a version that
/// moves with every change, and an audit table (`Events`).
pub trait Lifecycle: EntityTrait {
    type State: Copy + PartialEq + Into<sea_orm::Value> + Send + Sync + 'static;
    /// The audit table.
    type Events: EntityTrait;

    fn id_column() -> Self::Column;
    fn state_column() -> Self::Column;
    fn version_column() -> Self::Column;
    fn updated_at_column() -> Self::Column;
    /// The audit row of one transition.
    fn event(t: &Transition<Self::State>) -> <Self::Events as EntityTrait>::ActiveModel;
}

/// Takes the row for the rest of the transaction and reads it as it is now
/// (404 if it is gone). PostgreSQL: `SELECT … FOR UPDATE`. SQLite has no row
/// locks: a write that changes nothing takes the database's write lock at
/// once, so the transaction never has to upgrade a read lock later (which
/// SQLite answers with "database is locked" instead of waiting).
pub async fn lock<E: Lifecycle>(txn: &impl ConnectionTrait, id: Uuid) -> AppResult<E::Model> {
    crate::services::lock_row::<E>(txn, E::id_column(), E::version_column(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Moves the row from (`from`, `version`) to `to`, raising its version and
/// setting `extra` columns too; 409 when the row is no longer in that state
/// and version (taken with [`lock`] first, it always is).
pub async fn advance<E: Lifecycle>(
    txn: &impl ConnectionTrait,
    id: Uuid,
    from: E::State,
    version: i32,
    to: E::State,
    now: DateTime<Utc>,
    extra: Vec<(E::Column, SimpleExpr)>,
) -> AppResult<()> {
    let mut update = E::update_many()
        .col_expr(E::state_column(), Expr::value(to.into()))
        .col_expr(E::version_column(), col_plus(E::version_column(), 1))
        .col_expr(E::updated_at_column(), Expr::value(now));
    for (col, value) in extra {
        update = update.col_expr(col, value);
    }
    let res = update
        .filter(E::id_column().eq(id))
        .filter(E::state_column().eq(from.into()))
        .filter(E::version_column().eq(version))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::ChangedMeanwhile(
            "the record changed meanwhile; read it again".into(),
        ));
    }
    Ok(())
}

/// Writes the audit row of a transition: who, when, from, to, why.
pub async fn record<E: Lifecycle>(
    txn: &impl ConnectionTrait,
    t: Transition<E::State>,
) -> AppResult<()>
where
    <E::Events as EntityTrait>::ActiveModel: ActiveModelBehavior + Send,
{
    <E::Events as EntityTrait>::insert(E::event(&t))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// A transition by `actor` on a row of `dealer_id`.
pub fn by<S>(
    actor: &Actor,
    dealer_id: Uuid,
    subject_id: Uuid,
    from: Option<S>,
    to: S,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> Transition<S> {
    Transition {
        dealer_id,
        subject_id,
        actor_id: actor.id,
        on_behalf_of: None,
        from,
        to,
        reason,
        at,
    }
}

impl<S> Transition<S> {
    /// The same transition done standing in for `principal` (see
    /// `services::deputies::acting_for`).
    pub fn on_behalf_of(mut self, principal: Option<Uuid>) -> Self {
        self.on_behalf_of = principal;
        self
    }
}
