//! Every change of an order goes through a [`Write`]: the order's row is
//! taken first (lock order: the order, then its jobs, then anything else),
//! the change is made, each step is appended to the order's event journal
//! with the next sequence number, and at commit the order's version and
//! event counter move in one conditional update on (state, version). The
//! journal is the timeline, the audit and the live stream at once: a change
//! that is not in it did not happen.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{RepairOrder, load, view};
use crate::auth::Actor;
use crate::domain::repair_order::access::{self, Act};
use crate::domain::repair_order::{EventKind, OrderAction, OrderState};
use crate::entities::{repair_order, repair_order_event};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, Reservation, Saved};
use crate::state::AppState;

/// An open write on one order.
pub struct Write {
    pub txn: DatabaseTransaction,
    /// The order as it is under the lock (state and seq move as events are added).
    pub order: repair_order::Model,
    pub now: DateTime<Utc>,
    pub actor_id: Uuid,
    /// The advisor the actor stands in for (a deputy's act), for the journal.
    pub on_behalf_of: Option<Uuid>,
    from: (OrderState, i32),
    extra: Vec<(repair_order::Column, SimpleExpr)>,
}

/// Checks that `actor` may do `act` at all (403).
pub fn allow(actor: &Actor, act: Act) -> AppResult<()> {
    if access::may(&actor.roles, act) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "your role may not do this to a repair order",
        ))
    }
}

impl Write {
    /// Reads the order as `actor` may see it (404 otherwise), checks the act
    /// (403), then takes the row for the rest of the transaction.
    pub async fn begin(state: &AppState, actor: &Actor, id: Uuid, act: Act) -> AppResult<Write> {
        let seen = load(&state.db, actor, id).await?;
        allow(actor, act)?;
        actor.can_write_dealer(seen.dealer_id)?;
        let txn = state.db.begin().await?;
        let order = crate::services::lock_row::<repair_order::Entity>(
            &txn,
            repair_order::Column::Id,
            repair_order::Column::Version,
            id,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        let now = state.clock.now();
        let on_behalf_of =
            crate::services::deputies::acting_for(&txn, actor, order.advisor_id, now).await?;
        Ok(Write {
            txn,
            from: (order.state, order.version),
            order,
            now,
            actor_id: actor.id,
            on_behalf_of,
            extra: Vec::new(),
        })
    }

    /// A write on an order just inserted in `txn`.
    pub fn created(
        txn: DatabaseTransaction,
        order: repair_order::Model,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Write {
        Write {
            txn,
            from: (order.state, order.version),
            order,
            now,
            actor_id: actor.id,
            on_behalf_of: None,
            extra: Vec::new(),
        }
    }

    /// Refuses unless the order is in one of `states` (409 naming the state).
    pub fn require(&self, states: &[OrderState], doing: &str) -> AppResult<()> {
        if states.contains(&self.order.state) {
            Ok(())
        } else {
            Err(AppError::Conflict(format!(
                "a repair order that is {} cannot {doing}",
                self.order.state
            )))
        }
    }

    /// `If-Match`: the version the client read must be the current one (412).
    pub fn expect_version(&self, version: crate::services::Version) -> AppResult<()> {
        if self.order.version == version.0 {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed)
        }
    }

    /// Sets a column of the order in the final update.
    pub fn set(&mut self, col: repair_order::Column, value: impl Into<SimpleExpr>) {
        self.extra.push((col, value.into()));
    }

    /// Appends one event to the journal.
    pub async fn event(&mut self, kind: EventKind, data: serde_json::Value) -> AppResult<i64> {
        self.append(kind, None, None, data).await
    }

    async fn append(
        &mut self,
        kind: EventKind,
        from: Option<OrderState>,
        to: Option<OrderState>,
        data: serde_json::Value,
    ) -> AppResult<i64> {
        let seq = self.order.event_seq + 1;
        repair_order_event::Entity::insert(repair_order_event::ActiveModel {
            order_id: Set(self.order.id),
            seq: Set(seq),
            dealer_id: Set(self.order.dealer_id),
            kind: Set(kind),
            actor_id: Set(Some(self.actor_id)),
            on_behalf_of: Set(self.on_behalf_of),
            from_state: Set(from),
            to_state: Set(to),
            data: Set(data),
            at: Set(self.now),
        })
        .exec_without_returning(&self.txn)
        .await?;
        self.order.event_seq = seq;
        Ok(seq)
    }

    /// Moves the order through its state machine (409 naming the state if
    /// the move is not allowed), recorded as a `state_changed` event.
    pub async fn transition(
        &mut self,
        action: OrderAction,
        data: serde_json::Value,
    ) -> AppResult<OrderState> {
        let from = self.order.state;
        let to = from
            .apply(action)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        self.order.state = to;
        self.append(EventKind::StateChanged, Some(from), Some(to), data)
            .await?;
        Ok(to)
    }

    /// Writes the order's new state, version and event counter, conditional
    /// on the (state, version) it was taken at, and commits. Every instance
    /// following the order is told (see `services::feed`).
    pub async fn commit(self, state: &AppState) -> AppResult<repair_order::Model> {
        let Write {
            txn,
            mut order,
            now,
            from,
            extra,
            ..
        } = self;
        let mut update = repair_order::Entity::update_many()
            .col_expr(repair_order::Column::State, Expr::value(order.state))
            .col_expr(repair_order::Column::EventSeq, Expr::value(order.event_seq))
            .col_expr(
                repair_order::Column::Version,
                Expr::value(order.version + 1),
            )
            .col_expr(repair_order::Column::UpdatedAt, Expr::value(now));
        for (col, value) in extra {
            update = update.col_expr(col, value);
        }
        let res = update
            .filter(repair_order::Column::Id.eq(order.id))
            .filter(repair_order::Column::State.eq(from.0))
            .filter(repair_order::Column::Version.eq(from.1))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::ChangedMeanwhile(
                "the repair order changed meanwhile; read it again".into(),
            ));
        }
        crate::services::feed::announce(&txn, order.id).await?;
        txn.commit().await?;
        state.feed.committed(order.id);
        order.version += 1;
        order.updated_at = now;
        // the extra columns are read back by the caller when it needs them
        Ok(order)
    }
}

/// One entry of the timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEvent {
    /// 1, 2, 3 … per order; the SSE `id`.
    pub seq: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// The staff user or customer who did it.
    pub actor_id: Option<Uuid>,
    /// The advisor `actor_id` stood in for (a deputy's act, 职务代理).
    pub on_behalf_of: Option<Uuid>,
    pub from_state: Option<OrderState>,
    pub to_state: Option<OrderState>,
    /// What changed (depends on `kind`).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<repair_order_event::Model> for TimelineEvent {
    fn from(e: repair_order_event::Model) -> Self {
        TimelineEvent {
            seq: e.seq,
            kind: e.kind,
            at: e.at,
            actor_id: e.actor_id,
            on_behalf_of: e.on_behalf_of,
            from_state: e.from_state,
            to_state: e.to_state,
            data: e.data,
        }
    }
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn after(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    after: i64,
    limit: u64,
) -> AppResult<Vec<TimelineEvent>> {
    Ok(repair_order_event::Entity::find()
        .filter(repair_order_event::Column::OrderId.eq(order_id))
        .filter(repair_order_event::Column::Seq.gt(after))
        .order_by_asc(repair_order_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The whole timeline of an order the actor may read.
pub async fn timeline(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<Vec<TimelineEvent>> {
    load(db, actor, id).await?;
    allow(actor, Act::Read)?;
    after(db, id, 0, 10_000).await
}

/// The page size of the live stream's reads.
const STREAM_PAGE: u64 = 500;

/// The live stream of an order (`text/event-stream`): everything after
/// `after` (the client's `Last-Event-ID`), then each new event as it is
/// written, on whichever instance; it ends once a closed or cancelled order
/// has sent its last event.
pub async fn stream(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    after: i64,
) -> AppResult<
    impl futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::Error>> + 'static,
> {
    load(&state.db, actor, id).await?;
    allow(actor, Act::Read)?;
    let db = state.db.clone();
    Ok(crate::services::feed::sse_stream(
        state.feed.clone(),
        id,
        after,
        move |after| {
            let db = db.clone();
            async move {
                let events = self::after(&db, id, after, STREAM_PAGE).await?;
                let order = repair_order::Entity::find_by_id(id)
                    .one(&db)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let last_page = (events.len() as u64) < STREAM_PAGE;
                Ok(crate::services::feed::Batch {
                    finished: order.state.is_final() && last_page,
                    events: events
                        .into_iter()
                        .map(|e| crate::services::feed::SseEvent {
                            id: e.seq,
                            event: e.kind.as_str().to_string(),
                            data: serde_json::to_value(&e).unwrap_or_default(),
                        })
                        .collect(),
                })
            }
        },
    ))
}

/// The order's view as the write will leave it (its version moved by one).
pub async fn answer(w: &Write) -> AppResult<RepairOrder> {
    let mut expected = w.order.clone();
    expected.version += 1;
    expected.updated_at = w.now;
    view(&w.txn, expected).await
}

/// Keeps `v` as the answer to the request's Idempotency-Key, in the write's
/// transaction.
pub async fn keep(
    w: &Write,
    reservation: Option<&Reservation>,
    status: u16,
    v: &RepairOrder,
) -> AppResult<()> {
    if let Some(r) = reservation {
        let answer = Saved {
            status,
            body: serde_json::to_string(v).map_err(anyhow::Error::from)?,
        };
        if !idempotency::complete(&w.txn, r, &answer).await? {
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    Ok(())
}

/// Commits a write and answers the order's view; with a reservation, the
/// answer is kept under the key in the same transaction.
pub async fn finish(
    w: Write,
    state: &AppState,
    reservation: Option<&Reservation>,
    status: u16,
) -> AppResult<RepairOrder> {
    let v = answer(&w).await?;
    keep(&w, reservation, status, &v).await?;
    w.commit(state).await?;
    Ok(v)
}
