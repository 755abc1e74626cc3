//! The life of a booking after it is made. Each change takes the booking's
//! row, moves it from its (state, version) and is audited
//! (`services::lifecycle`), and is told to the customer where it concerns
//! them. Cancelling and rescheduling give the slots back; a no-show gives
//! back the bays of the slots that have not started.

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::capacity_ledger::{self, Hold};
use super::notify::{self, Kind};
use super::{Appointment, BOOKERS, Capacity, load, view_of};
use crate::auth::Actor;
use crate::domain::appointment::{Action, AppointmentState};
use crate::domain::validation;
use crate::entities::{appointment, customer, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::{capacity, deputies, lifecycle};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, in a few words (kept in the audit).
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    #[schema(value_type = String, format = DateTime, example = "2027-01-05T10:00:00+08:00")]
    pub slot_start: DateTime<FixedOffset>,
    pub reason: Option<String>,
}

fn reason_text(r: Option<&str>) -> AppResult<Option<String>> {
    validation::optional_multiline(r, 500).map_err(|m| AppError::field("reason", m))
}

/// Who may do what: staff of the dealer do all; a customer confirms,
/// cancels and reschedules their own; check-in and no-show are staff only.
fn allowed(actor: &Actor, action: Action) -> AppResult<()> {
    if actor.is_customer() {
        return match action {
            Action::Confirm | Action::Cancel | Action::Reschedule => Ok(()),
            _ => Err(AppError::Forbidden("only the dealer's staff may do this")),
        };
    }
    actor.require(BOOKERS)
}

async fn parties(
    db: &impl ConnectionTrait,
    m: &appointment::Model,
) -> AppResult<(customer::Model, vehicle::Model)> {
    let c = customer::Entity::find_by_id(m.customer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = vehicle::Entity::find_by_id(m.vehicle_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((c, v))
}

/// What a booking still holds once it is marked no-show at `now`: the
/// arrival and the slots that have begun stay counted (they were held, and a
/// slot that has begun can no longer be booked anyway); the bays of the
/// slots that have not started yet are given back, so a 2.5-hour job that
/// did not turn up at 09:00 frees its 10:00 and 11:00 bays for walk-ins.
fn split_at(hold: &Hold, now: DateTime<Utc>) -> (Hold, Vec<DateTime<Utc>>) {
    let (later, kept): (Vec<_>, Vec<_>) = hold.bays.iter().partition(|b| **b > now);
    (
        Hold {
            arrival: hold.arrival,
            bays: kept,
        },
        later,
    )
}

/// Confirm, check in, cancel or mark no-show.
///
/// Lock order (see `services::lifecycle`): the appointment's row first,
/// then the slot counters in time order; cancel and reschedule of the same
/// booking therefore queue on its row instead of deadlocking on the slots.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
    reason: Option<&str>,
) -> AppResult<Appointment> {
    let db = &state.db;
    let now = state.clock.now();
    let seen = load(db, actor, id).await?;
    allowed(actor, action)?;
    let reason = reason_text(reason)?;
    let cap = Capacity::of(db, seen.dealer_id).await?;
    let (c, v) = parties(db, &seen).await?;

    let txn = db.begin().await?;
    // 1. the appointment's row, read again under the lock
    let m = lifecycle::lock::<appointment::Entity>(&txn, id).await?;
    let to = m
        .state
        .apply(action)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    if action == Action::NoShow && m.slot_start > now {
        return Err(AppError::Conflict(
            "a customer cannot miss an appointment that has not started".into(),
        ));
    }
    let hold = Hold::from_json(m.slot_start, &m.held_slots)?;
    let mut extra = Vec::new();
    let give_back = match action {
        Action::Cancel => Some(hold.clone()),
        Action::NoShow => {
            let (kept, later) = split_at(&hold, now);
            extra.push((appointment::Column::HeldSlots, Expr::value(kept.to_json())));
            Some(Hold {
                arrival: hold.arrival,
                bays: later,
            })
        }
        _ => None,
    };
    lifecycle::advance::<appointment::Entity>(&txn, m.id, m.state, m.version, to, now, extra)
        .await?;
    // 2. the slot counters, in time order
    match (action, give_back) {
        (Action::Cancel, Some(h)) => {
            capacity_ledger::apply(&txn, m.dealer_id, &cap.schedule, None, Some(&h)).await?;
        }
        (Action::NoShow, Some(h)) => {
            capacity_ledger::release_bays(&txn, m.dealer_id, &h.bays).await?;
        }
        _ => {}
    }
    let for_whom = deputies::acting_for(&txn, actor, m.advisor_id, now).await?;
    lifecycle::record::<appointment::Entity>(
        &txn,
        lifecycle::by(actor, m.dealer_id, m.id, Some(m.state), to, reason, now)
            .on_behalf_of(for_whom),
    )
    .await?;
    let moved = appointment::Entity::find_by_id(m.id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let kind = match action {
        Action::Confirm => Some(Kind::Confirmed),
        Action::Cancel => Some(Kind::Cancelled),
        _ => None,
    };
    if let Some(k) = kind {
        notify::record(
            &txn,
            state,
            &notify::Parties {
                dealer: &cap.dealer,
                tz: cap.tz,
                customer: &c,
                vehicle: &v,
            },
            &moved,
            k,
            now,
        )
        .await?;
    }
    let view = view_of(moved, &v, &c, cap.tz)?;
    txn.commit().await?;
    crate::care::outbox::wake(state);
    Ok(view)
}

/// Moves a booking to another slot in one transaction: the new slot is taken
/// and the old one given back together, so a full new slot leaves the
/// booking exactly as it was, and the booking never holds two slots once
/// committed. Lock order as in [`change`], after the dealer's row (shared,
/// see `capacity::put`): the appointment's row, then the counters of both
/// slots in time order.
pub async fn reschedule(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: Reschedule,
) -> AppResult<Appointment> {
    let db = &state.db;
    let now = state.clock.now();
    let seen = load(db, actor, id).await?;
    allowed(actor, Action::Reschedule)?;
    let reason = reason_text(input.reason.as_deref())?;
    seen.state
        .apply(Action::Reschedule)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let cap = Capacity::of(db, seen.dealer_id).await?;
    let tz = cap.tz;
    let start = input.slot_start.with_timezone(&Utc);
    if start == seen.slot_start {
        return Err(AppError::field(
            "slot_start",
            "is the slot the appointment already has",
        ));
    }
    let minutes = seen.duration_minutes.max(1) as u32;
    cap.schedule
        .bookable(start, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let closed =
        capacity::is_closed(db, seen.dealer_id, start.with_timezone(&tz).date_naive()).await?;
    let bays = cap
        .schedule
        .check(tz, closed, start, minutes, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let new_hold = Hold {
        arrival: start,
        bays,
    };
    let (c, v) = parties(db, &seen).await?;

    let txn = db.begin().await?;
    // 0. the dealer's row, shared: the grid the new slot was placed on stays
    capacity::still_on(&txn, seen.dealer_id, cap.version).await?;
    // 1. the appointment's row, read again under the lock
    let old = lifecycle::lock::<appointment::Entity>(&txn, id).await?;
    old.state
        .apply(Action::Reschedule)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let old_hold = Hold::from_json(old.slot_start, &old.held_slots)?;
    let new_id = Uuid::now_v7();
    lifecycle::advance::<appointment::Entity>(
        &txn,
        old.id,
        old.state,
        old.version,
        AppointmentState::Rescheduled,
        now,
        vec![(
            appointment::Column::RescheduledTo,
            Expr::value(Some(new_id)),
        )],
    )
    .await?;
    // 2. the slot counters, in time order
    if !capacity_ledger::apply(
        &txn,
        old.dealer_id,
        &cap.schedule,
        Some(&new_hold),
        Some(&old_hold),
    )
    .await?
    {
        txn.rollback().await?;
        let next = cap.next_free(db, start, minutes, now).await?;
        return Err(AppError::SlotFull {
            detail: "that slot is full; the booking is unchanged".into(),
            next_free_slots: next,
        });
    }
    let for_whom = deputies::acting_for(&txn, actor, old.advisor_id, now).await?;
    lifecycle::record::<appointment::Entity>(
        &txn,
        lifecycle::by(
            actor,
            old.dealer_id,
            old.id,
            Some(old.state),
            AppointmentState::Rescheduled,
            reason.clone(),
            now,
        )
        .on_behalf_of(for_whom),
    )
    .await?;
    let fresh = appointment::ActiveModel {
        id: Set(new_id),
        slot_start: Set(start),
        held_slots: Set(new_hold.to_json()),
        // a moved booking keeps its confirmation
        state: Set(old.state),
        rescheduled_from: Set(Some(old.id)),
        rescheduled_to: Set(None),
        repair_order_id: Set(None),
        version: Set(1),
        created_by: Set(actor.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..appointment::ActiveModel::from(old.clone())
    }
    .insert(&txn)
    .await?;
    lifecycle::record::<appointment::Entity>(
        &txn,
        lifecycle::by(
            actor,
            fresh.dealer_id,
            fresh.id,
            None,
            fresh.state,
            reason,
            now,
        )
        .on_behalf_of(for_whom),
    )
    .await?;
    notify::record(
        &txn,
        state,
        &notify::Parties {
            dealer: &cap.dealer,
            tz,
            customer: &c,
            vehicle: &v,
        },
        &fresh,
        Kind::Rescheduled,
        now,
    )
    .await?;
    let view = view_of(fresh, &v, &c, tz)?;
    txn.commit().await?;
    crate::care::outbox::wake(state);
    Ok(view)
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Event {
    pub from_state: Option<AppointmentState>,
    pub to_state: AppointmentState,
    pub actor_id: Uuid,
    /// The advisor `actor_id` stood in for (a deputy's act, 职务代理).
    pub on_behalf_of: Option<Uuid>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// The audit trail of one appointment, oldest first.
pub async fn history(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<Vec<Event>> {
    use crate::entities::appointment_event;
    use sea_orm::QueryOrder;
    let m = load(db, actor, id).await?;
    let rows = appointment_event::Entity::find()
        .filter(appointment_event::Column::AppointmentId.eq(m.id))
        .order_by_asc(appointment_event::Column::At)
        .order_by_asc(appointment_event::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Event {
            from_state: r.from_state,
            to_state: r.to_state,
            actor_id: r.actor_id,
            on_behalf_of: r.on_behalf_of,
            reason: r.reason,
            at: r.at,
        })
        .collect())
}
