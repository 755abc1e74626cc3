//! The life of a booking after it is made. Each change is a conditional
//! update on (state, version), audited, and told to the customer where it
//! concerns them. Cancelling and rescheduling give the slot back.

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::book::audit;
use super::capacity_ledger::{self, Hold};
use super::notify::{self, Kind};
use super::{Appointment, BOOKERS, Capacity, dealer_zone, load, view_of};
use crate::auth::Actor;
use crate::domain::appointment::{Action, AppointmentState};
use crate::domain::validation;
use crate::entities::{appointment, customer, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::capacity;
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
    #[schema(value_type = String, example = "2027-01-05T10:00:00+08:00")]
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

/// Moves the row from its current (state, version), or answers 409.
async fn move_row(
    txn: &impl ConnectionTrait,
    m: &appointment::Model,
    to: AppointmentState,
    rescheduled_to: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<appointment::Model> {
    let mut am: appointment::ActiveModel = m.clone().into();
    am.state = Set(to);
    am.version = Set(m.version + 1);
    am.updated_at = Set(now);
    if rescheduled_to.is_some() {
        am.rescheduled_to = Set(rescheduled_to);
    }
    let res = appointment::Entity::update_many()
        .set(am)
        .filter(appointment::Column::Id.eq(m.id))
        .filter(appointment::Column::State.eq(m.state))
        .filter(appointment::Column::Version.eq(m.version))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict(
            "the appointment changed meanwhile; read it again".into(),
        ));
    }
    appointment::Entity::find_by_id(m.id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)
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

/// Confirm, check in, cancel or mark no-show.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: Action,
    reason: Option<&str>,
) -> AppResult<Appointment> {
    let db = &state.db;
    let now = state.clock.now();
    let m = load(db, actor, id).await?;
    allowed(actor, action)?;
    let reason = reason_text(reason)?;
    let to = m
        .state
        .apply(action)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    if action == Action::NoShow && m.slot_start > now {
        return Err(AppError::Conflict(
            "a customer cannot miss an appointment that has not started".into(),
        ));
    }
    let (dealer, tz) = dealer_zone(db, m.dealer_id).await?;
    let (schedule, _) = capacity::schedule(db, m.dealer_id).await?;
    let (c, v) = parties(db, &m).await?;
    let txn = db.begin().await?;
    let moved = move_row(&txn, &m, to, None, now).await?;
    if action == Action::Cancel {
        let hold = Hold::from_json(m.slot_start, &m.held_slots)?;
        capacity_ledger::apply(&txn, m.dealer_id, &schedule, None, Some(&hold)).await?;
    }
    audit(&txn, &moved, actor, Some(m.state), to, reason, now).await?;
    let kind = match action {
        Action::Confirm => Some(Kind::Confirmed),
        Action::Cancel => Some(Kind::Cancelled),
        _ => None,
    };
    let sms = match kind {
        Some(k) => {
            notify::record(
                &txn,
                state,
                &notify::Parties {
                    dealer: &dealer,
                    tz,
                    customer: &c,
                    vehicle: &v,
                },
                &moved,
                k,
                now,
            )
            .await?
        }
        None => None,
    };
    let view = view_of(moved, &v, &c, tz)?;
    txn.commit().await?;
    notify::send_after_commit(state, sms.into_iter().collect());
    Ok(view)
}

/// Moves a booking to another slot in one transaction: the new slot is taken
/// before the old one is given back, so a full new slot leaves the booking
/// exactly as it was, and the booking never holds two slots once committed.
pub async fn reschedule(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: Reschedule,
) -> AppResult<Appointment> {
    let db = &state.db;
    let now = state.clock.now();
    let old = load(db, actor, id).await?;
    allowed(actor, Action::Reschedule)?;
    let reason = reason_text(input.reason.as_deref())?;
    old.state
        .apply(Action::Reschedule)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let (dealer, tz) = dealer_zone(db, old.dealer_id).await?;
    let (schedule, _) = capacity::schedule(db, old.dealer_id).await?;
    let start = input.slot_start.with_timezone(&Utc);
    if start == old.slot_start {
        return Err(AppError::field(
            "slot_start",
            "is the slot the appointment already has",
        ));
    }
    let minutes = old.duration_minutes.max(1) as u32;
    schedule
        .bookable(start, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let closed =
        capacity::is_closed(db, old.dealer_id, start.with_timezone(&tz).date_naive()).await?;
    let bays = schedule
        .check(tz, closed, start, minutes, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let new_hold = Hold {
        arrival: start,
        bays,
    };
    let old_hold = Hold::from_json(old.slot_start, &old.held_slots)?;
    let (c, v) = parties(db, &old).await?;

    let txn = db.begin().await?;
    if !capacity_ledger::apply(
        &txn,
        old.dealer_id,
        &schedule,
        Some(&new_hold),
        Some(&old_hold),
    )
    .await?
    {
        txn.rollback().await?;
        let cap = Capacity {
            dealer_id: old.dealer_id,
            schedule,
            tz,
        };
        let next = cap.next_free(db, start, minutes, now).await?;
        return Err(AppError::SlotFull {
            detail: "that slot is full; the booking is unchanged".into(),
            next_free_slots: next,
        });
    }
    let new_id = Uuid::now_v7();
    let moved = move_row(&txn, &old, AppointmentState::Rescheduled, Some(new_id), now).await?;
    audit(
        &txn,
        &moved,
        actor,
        Some(old.state),
        AppointmentState::Rescheduled,
        reason.clone(),
        now,
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
        version: Set(1),
        created_by: Set(actor.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..appointment::ActiveModel::from(old.clone())
    }
    .insert(&txn)
    .await?;
    audit(&txn, &fresh, actor, None, fresh.state, reason, now).await?;
    let sms = notify::record(
        &txn,
        state,
        &notify::Parties {
            dealer: &dealer,
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
    notify::send_after_commit(state, sms.into_iter().collect());
    Ok(view)
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Event {
    pub from_state: Option<AppointmentState>,
    pub to_state: AppointmentState,
    pub actor_id: Uuid,
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
            reason: r.reason,
            at: r.at,
        })
        .collect())
}
