//! The dealer's capacity settings and closed dates (managers edit them).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::appointment::AppointmentState;
use crate::domain::schedule::Schedule;
use crate::domain::{FieldErrors, Role, dates, validation};
use crate::entities::{appointment, closed_date, dealer, dealer_schedule, slot_usage};
use crate::error::{AppError, AppResult};
use crate::services::Version;

/// Who may change capacity, the menu and closed dates.
pub const MANAGERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::DealerAdmin,
];

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    #[serde(flatten)]
    pub schedule: Schedule,
    pub version: i32,
}

/// The dealer's schedule; the default one until a manager sets it.
pub async fn schedule(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<(Schedule, i32)> {
    let row = dealer_schedule::Entity::find_by_id(dealer_id)
        .one(db)
        .await?;
    Ok(match row {
        Some(r) => (
            Schedule {
                slot_minutes: r.slot_minutes as u32,
                reception_per_slot: r.reception_per_slot as u32,
                workshop_bays: r.workshop_bays as u32,
                opening_hours: serde_json::from_value(r.opening_hours)
                    .map_err(|e| anyhow::anyhow!("stored opening hours: {e}"))?,
                booking_horizon_days: r.booking_horizon_days.max(1) as u32,
            },
            r.version,
        ),
        None => (Schedule::default(), 0),
    })
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<ScheduleView> {
    let (schedule, version) = schedule(db, actor.dealer_id).await?;
    Ok(ScheduleView { schedule, version })
}

/// Replaces the schedule. With `expected` (from If-Match) a stale write is 412.
///
/// The slot counters are re-derived from the bookings in the same
/// transaction: every booking that still holds a place (booked, confirmed,
/// checked in) and starts from now on is placed on the new grid, its held
/// slots rewritten and the counters of every slot from now on recomputed. A
/// booking the new grid cannot hold (its start is no longer a slot, or it no
/// longer fits before closing) makes the change a 409 naming it; move or
/// cancel it first. Lock order: the dealer's row (which booking and
/// rescheduling take shared, so none of them runs on the old grid meanwhile),
/// then the appointment rows, then the slot counters in time order.
pub async fn put<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    s: Schedule,
    expected: Option<Version>,
    now: DateTime<Utc>,
) -> AppResult<ScheduleView> {
    actor.require(MANAGERS)?;
    s.validate()?;
    let txn = db.begin().await?;
    lock_dealer(&txn, actor.dealer_id, LockType::NoKeyUpdate).await?;
    let (_, current) = schedule(&txn, actor.dealer_id).await?;
    if expected.is_some_and(|v| v.0 != current) {
        return Err(AppError::PreconditionFailed);
    }
    let am = dealer_schedule::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        slot_minutes: Set(s.slot_minutes as i32),
        reception_per_slot: Set(s.reception_per_slot as i32),
        workshop_bays: Set(s.workshop_bays as i32),
        opening_hours: Set(crate::services::to_stored(
            &s.opening_hours,
            "opening hours",
        )?),
        booking_horizon_days: Set(s.booking_horizon_days as i32),
        version: Set(current + 1),
        updated_at: Set(now),
    };
    if current == 0 {
        dealer_schedule::Entity::insert(am)
            .exec_without_returning(&txn)
            .await?;
    } else {
        let res = dealer_schedule::Entity::update_many()
            .set(am)
            .filter(dealer_schedule::Column::DealerId.eq(actor.dealer_id))
            .filter(dealer_schedule::Column::Version.eq(current))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::PreconditionFailed);
        }
    }
    rederive_counters(&txn, actor.dealer_id, &s, now).await?;
    txn.commit().await?;
    Ok(ScheduleView {
        schedule: s,
        version: current + 1,
    })
}

/// Takes the dealer's row: shared by the writes that place bookings on the
/// slot grid, exclusive (no key update, so rows referring to the dealer can
/// still be written) by a capacity change. SQLite has one writer and no row
/// locks: a write that changes nothing takes the write lock at once, so the
/// transaction never has to upgrade a read lock (which SQLite refuses with
/// "database is locked" instead of waiting).
async fn lock_dealer(txn: &impl ConnectionTrait, dealer_id: Uuid, how: LockType) -> AppResult<()> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        dealer::Entity::find_by_id(dealer_id)
            .lock(how)
            .one(txn)
            .await?
            .ok_or(AppError::NotFound)?;
    } else {
        dealer::Entity::update_many()
            .col_expr(dealer::Column::Name, Expr::col(dealer::Column::Name))
            .filter(dealer::Column::Id.eq(dealer_id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// For a write that placed a booking on the grid of schedule `version` (read
/// before its transaction): takes the dealer's row shared and checks the
/// schedule is still that one, so no booking lands on a grid a concurrent
/// capacity change has just replaced.
pub async fn still_on(txn: &impl ConnectionTrait, dealer_id: Uuid, version: i32) -> AppResult<()> {
    lock_dealer(txn, dealer_id, LockType::Share).await?;
    let (_, now_version) = schedule(txn, dealer_id).await?;
    if now_version != version {
        return Err(AppError::ChangedMeanwhile(
            "the dealer's capacity settings changed meanwhile; read the slots again and retry"
                .into(),
        ));
    }
    Ok(())
}

async fn rederive_counters(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    s: &Schedule,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let d = dealer::Entity::find_by_id(dealer_id)
        .one(txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let tz = crate::services::dealers::zone(&d);
    let holding = [
        AppointmentState::Booked,
        AppointmentState::Confirmed,
        AppointmentState::CheckedIn,
        AppointmentState::InService,
    ];
    // the bookings that hold places from now on, rows taken in id order
    let mut q = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(dealer_id))
        .filter(appointment::Column::State.is_in(holding))
        .filter(appointment::Column::SlotStart.gte(now - chrono::Duration::days(1)))
        .order_by_asc(appointment::Column::Id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        q = q.lock(LockType::Update);
    }
    let rows = q.all(txn).await?;
    let (future, started): (Vec<_>, Vec<_>) = rows.into_iter().partition(|m| m.slot_start >= now);
    let bookings: Vec<(Uuid, DateTime<Utc>, u32)> = future
        .iter()
        .map(|m| (m.id, m.slot_start, m.duration_minutes.max(1) as u32))
        .collect();
    let mut placed = s.rederive(tz, &bookings, now).map_err(|blocked| {
        let names: Vec<String> = blocked
            .iter()
            .filter_map(|(id, p)| {
                let m = future.iter().find(|m| m.id == *id)?;
                Some(format!(
                    "{} at {} ({p})",
                    m.id,
                    m.slot_start.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ))
            })
            .collect();
        AppError::Conflict(format!(
            "these bookings would not fit the new settings; move or cancel them first: {}",
            names.join("; ")
        ))
    })?;
    // jobs already under way keep the bays they hold from now on
    for m in &started {
        let held: Vec<DateTime<Utc>> = crate::services::from_stored(&m.held_slots, "held slots")?;
        for b in held.into_iter().filter(|b| *b >= now) {
            placed.usage.entry(b).or_default().bays_used += 1;
        }
    }
    for (id, bays) in &placed.holds {
        appointment::Entity::update_many()
            .col_expr(
                appointment::Column::HeldSlots,
                Expr::value(crate::services::to_stored(bays, "held slots")?),
            )
            .filter(appointment::Column::Id.eq(*id))
            .exec(txn)
            .await?;
    }
    slot_usage::Entity::delete_many()
        .filter(slot_usage::Column::DealerId.eq(dealer_id))
        .filter(slot_usage::Column::SlotStart.gte(now))
        .exec(txn)
        .await?;
    // in time order, as every writer of the counters takes them
    for (slot, u) in placed.usage {
        slot_usage::Entity::insert(slot_usage::ActiveModel {
            dealer_id: Set(dealer_id),
            slot_start: Set(slot),
            reception_used: Set(u.reception_used as i32),
            bays_used: Set(u.bays_used as i32),
        })
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosedDate {
    pub date: NaiveDate,
    /// e.g. 春节, 国庆节, 盘点
    pub reason: String,
}

pub async fn is_closed(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    date: NaiveDate,
) -> AppResult<bool> {
    Ok(closed_date::Entity::find_by_id((dealer_id, date))
        .one(db)
        .await?
        .is_some())
}

pub async fn closed_dates(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<ClosedDate>> {
    let rows = closed_date::Entity::find()
        .filter(closed_date::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(closed_date::Column::Date)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ClosedDate {
            date: r.date,
            reason: r.reason,
        })
        .collect())
}

/// Adds (or re-words) a closed date; adding it twice is harmless.
pub async fn close_date(
    db: &impl ConnectionTrait,
    actor: &Actor,
    c: ClosedDate,
) -> AppResult<ClosedDate> {
    actor.require(MANAGERS)?;
    let mut e = FieldErrors::new();
    e.check("date", dates::in_range(c.date));
    let reason = e.check("reason", validation::text(&c.reason, 100));
    e.into_result()?;
    let reason = reason.unwrap_or_default();
    closed_date::Entity::insert(closed_date::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        date: Set(c.date),
        reason: Set(reason.clone()),
    })
    .on_conflict(
        OnConflict::columns([closed_date::Column::DealerId, closed_date::Column::Date])
            .update_column(closed_date::Column::Reason)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(ClosedDate {
        date: c.date,
        reason,
    })
}

pub async fn reopen_date(
    db: &impl ConnectionTrait,
    actor: &Actor,
    date: NaiveDate,
) -> AppResult<()> {
    actor.require(MANAGERS)?;
    dates::in_range(date).map_err(|m| AppError::field("date", m))?;
    closed_date::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        date: Set(date),
        reason: Set(String::new()),
    }
    .delete(db)
    .await?;
    Ok(())
}
