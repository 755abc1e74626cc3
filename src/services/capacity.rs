//! The dealer's capacity settings and closed dates (managers edit them).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::schedule::Schedule;
use crate::domain::{FieldErrors, Role, dates, validation};
use crate::entities::{closed_date, dealer_schedule};
use crate::error::{AppError, AppResult};

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
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    s: Schedule,
    expected: Option<i32>,
    now: DateTime<Utc>,
) -> AppResult<ScheduleView> {
    actor.require(MANAGERS)?;
    s.validate()?;
    let (_, current) = schedule(db, actor.dealer_id).await?;
    if expected.is_some_and(|v| v != current) {
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
            .exec_without_returning(db)
            .await?;
    } else {
        let res = dealer_schedule::Entity::update_many()
            .set(am)
            .filter(dealer_schedule::Column::DealerId.eq(actor.dealer_id))
            .filter(dealer_schedule::Column::Version.eq(current))
            .exec(db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::PreconditionFailed);
        }
    }
    Ok(ScheduleView {
        schedule: s,
        version: current + 1,
    })
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
