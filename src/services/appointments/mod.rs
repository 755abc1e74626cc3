//! Appointments (预约) and preparation (准备): slots, booking without ever
//! overbooking, the life of a booking, the register, the invitation and
//! preparation lists, and the messages and calendar file that go with them.

pub mod book;
pub mod capacity_ledger;
pub mod ics;
pub mod notify;
pub mod planning;
pub mod transitions;

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::appointment::{AppointmentState, Source};
use crate::domain::privacy::Sight;
use crate::domain::schedule::{SlotView, Usage};
use crate::domain::{Money, Role};
use crate::entities::{appointment, appointment_event, customer, dealer, slot_usage, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::lifecycle::Transition;
use crate::services::menu::{PartLine, cents_to_money, minutes_to_hours};
use crate::services::{capacity, deputies};

pub use crate::domain::dates::day_bounds;
pub use crate::services::dealers::dealer_zone;

/// Who books and manages appointments for customers.
pub const BOOKERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::DealerAdmin,
];

/// Who reads the register: also the workshop, the parts desk and the customer (their own).
pub const REGISTER_READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::DealerAdmin,
    Role::WorkshopForeman,
    Role::Parts,
    Role::Customer,
];

/// Who reads the preparation list: the register's staff readers, not customers.
pub const PREPARATION_READERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::ServiceAdvisor,
    Role::CustomerCare,
    Role::DealerAdmin,
    Role::WorkshopForeman,
    Role::Parts,
];

/// Appointments move through `AppointmentState`, audited in `appointment_events`.
impl crate::services::lifecycle::Lifecycle for appointment::Entity {
    type State = AppointmentState;
    type Events = appointment_event::Entity;

    fn id_column() -> appointment::Column {
        appointment::Column::Id
    }
    fn state_column() -> appointment::Column {
        appointment::Column::State
    }
    fn version_column() -> appointment::Column {
        appointment::Column::Version
    }
    fn updated_at_column() -> appointment::Column {
        appointment::Column::UpdatedAt
    }
    fn event(t: &Transition<AppointmentState>) -> appointment_event::ActiveModel {
        appointment_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(t.dealer_id),
            appointment_id: Set(t.subject_id),
            actor_id: Set(t.actor_id),
            on_behalf_of: Set(t.on_behalf_of),
            from_state: Set(t.from),
            to_state: Set(t.to),
            reason: Set(t.reason.clone()),
            at: Set(t.at),
        }
    }
}

/// One booked menu item, as it was when booked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceLine {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub labour_minutes: i32,
    pub price_cents: i64,
    pub parts: Vec<PartLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceView {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub price_estimate: Decimal,
    pub parts: Vec<PartLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VehicleRef {
    pub id: Uuid,
    pub plate: Option<String>,
    pub vin: String,
    pub make: String,
    pub model: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerRef {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
}

impl CustomerRef {
    /// As `sight` shows it (`domain::privacy`).
    pub fn seen_by(self, sight: Sight) -> CustomerRef {
        CustomerRef {
            name: sight.name(&self.name),
            phone: sight.phone(&self.phone),
            ..self
        }
    }
}

impl Appointment {
    /// As `sight` shows it: the customer and the contact phone masked for
    /// the roles that work on cars, not with people.
    pub fn seen_by(self, sight: Sight) -> Appointment {
        Appointment {
            customer: self.customer.seen_by(sight),
            contact_phone: sight.phone(&self.contact_phone),
            ..self
        }
    }
}

/// A line of the appointment register (《预约登记表》).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Appointment {
    pub id: Uuid,
    pub dealer_id: Uuid,
    pub state: AppointmentState,
    /// In the dealer's zone, with offset.
    #[schema(value_type = String, format = DateTime)]
    pub slot_start: DateTime<FixedOffset>,
    #[schema(value_type = String, format = "decimal")]
    pub expected_hours: Decimal,
    pub vehicle: VehicleRef,
    pub customer: CustomerRef,
    pub services: Vec<ServiceView>,
    /// Sum of the services' estimates, CNY.
    #[schema(value_type = String, format = "decimal")]
    pub price_estimate: Decimal,
    pub concern: Option<String>,
    pub contact_phone: String,
    pub source: Source,
    pub advisor_id: Option<Uuid>,
    pub rescheduled_from: Option<Uuid>,
    pub rescheduled_to: Option<Uuid>,
    /// The repair order the visit became (state `in_service`).
    pub repair_order_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The booked menu items, as stored with the booking.
pub fn services_of(m: &appointment::Model) -> AppResult<Vec<ServiceLine>> {
    crate::services::from_stored(&m.services, "appointment services")
}

/// Turns rows into register lines, loading vehicles and customers in two queries.
pub async fn views(
    db: &impl ConnectionTrait,
    tz: Tz,
    rows: Vec<appointment::Model>,
) -> AppResult<Vec<Appointment>> {
    let vids: Vec<Uuid> = rows.iter().map(|r| r.vehicle_id).collect();
    let cids: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
    let vehicles: HashMap<Uuid, vehicle::Model> = vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(vids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let customers: HashMap<Uuid, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(cids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    rows.into_iter()
        .map(|m| {
            let v = vehicles.get(&m.vehicle_id).ok_or(AppError::NotFound)?;
            let c = customers.get(&m.customer_id).ok_or(AppError::NotFound)?;
            view_of(m, v, c, tz)
        })
        .collect()
}

/// A register line from a row and the vehicle and customer it names.
pub fn view_of(
    m: appointment::Model,
    v: &vehicle::Model,
    c: &customer::Model,
    tz: Tz,
) -> AppResult<Appointment> {
    let lines = services_of(&m)?;
    // each price is bounded when the menu is written, but rows written
    // before that may hold anything: a sum that does not fit is an error, not a wrap
    let price =
        Money::sum(lines.iter().map(|l| Money::from_cents(l.price_cents))).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("price estimate of {} overflows", m.id))
        })?;
    Ok(Appointment {
        id: m.id,
        dealer_id: m.dealer_id,
        state: m.state,
        slot_start: m.slot_start.with_timezone(&tz).fixed_offset(),
        expected_hours: minutes_to_hours(m.duration_minutes),
        vehicle: VehicleRef {
            id: v.id,
            plate: v.plate.clone(),
            vin: v.vin.clone(),
            make: v.make.clone(),
            model: v.model.clone(),
        },
        customer: CustomerRef {
            id: c.id,
            name: c.name.clone(),
            phone: c.phone.clone(),
        },
        services: lines
            .into_iter()
            .map(|l| ServiceView {
                code: l.code,
                name_zh: l.name_zh,
                name_en: l.name_en,
                labour_hours: minutes_to_hours(l.labour_minutes),
                price_estimate: cents_to_money(l.price_cents),
                parts: l.parts,
            })
            .collect(),
        price_estimate: price.to_decimal(),
        concern: m.concern,
        contact_phone: m.contact_phone,
        source: m.source,
        advisor_id: m.advisor_id,
        rescheduled_from: m.rescheduled_from,
        rescheduled_to: m.rescheduled_to,
        repair_order_id: m.repair_order_id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Loads an appointment the actor may see (a customer: only their own), or 404.
pub async fn load(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<appointment::Model> {
    actor.require(REGISTER_READERS)?;
    let m = appointment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    actor.can_see_customer(m.dealer_id, m.customer_id)?;
    if !actor.is_customer() {
        actor.can_write_dealer(m.dealer_id)?;
    }
    Ok(m)
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<Appointment> {
    let m = load(db, actor, id).await?;
    let (_, tz) = dealer_zone(db, m.dealer_id).await?;
    Ok(views(db, tz, vec![m])
        .await?
        .remove(0)
        .seen_by(actor.sight()))
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// A day in the dealer's zone; or give `from` and `to`.
    pub date: Option<NaiveDate>,
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
    pub advisor_id: Option<Uuid>,
    /// Only the caller's bookings and those of whom they stand in for now
    /// (a deputy, 职务代理); not with `advisor_id`.
    pub mine: Option<bool>,
    pub state: Option<AppointmentState>,
}

/// Dates a query names must be between 1900 and 2200: `+262142-12-31`
/// overflows the day arithmetic below, `-5000-01-01` PostgreSQL's timestamps.
pub fn check_dates(dates: &[(&str, Option<NaiveDate>)]) -> AppResult<()> {
    let mut e = crate::domain::FieldErrors::new();
    for (field, d) in dates {
        e.check(field, d.map(crate::domain::dates::in_range).transpose());
    }
    Ok(e.into_result()?)
}

/// The register (《预约登记表》): appointments of a day or range, by slot.
pub async fn register(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: RegisterQuery,
    now: DateTime<Utc>,
) -> AppResult<Vec<Appointment>> {
    actor.require(REGISTER_READERS)?;
    check_dates(&[("date", q.date), ("from", q.from), ("to", q.to)])?;
    let (from, to) = match (q.date, q.from, q.to) {
        (Some(d), None, None) => (d, d),
        (None, Some(f), Some(t)) if t >= f && (t - f).num_days() <= 92 => (f, t),
        (None, Some(_), Some(_)) => {
            return Err(AppError::field(
                "to",
                "must be on or after from, at most 92 days later",
            ));
        }
        _ => return Err(AppError::field("date", "give date, or from and to")),
    };
    let (_, tz) = dealer_zone(db, actor.dealer_id).await?;
    let (start, end) = day_bounds(tz, from, to);
    let mut query = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(actor.dealer_id))
        .filter(appointment::Column::SlotStart.gte(start))
        .filter(appointment::Column::SlotStart.lt(end));
    if let Some(own) = actor.customer_id {
        query = query.filter(appointment::Column::CustomerId.eq(own));
    }
    let whose = deputies::whose(db, actor, q.mine, ("advisor_id", q.advisor_id), now).await?;
    if let Some(ids) = whose {
        query = query.filter(appointment::Column::AdvisorId.is_in(ids));
    }
    if let Some(s) = q.state {
        query = query.filter(appointment::Column::State.eq(s));
    }
    let rows = query
        .order_by_asc(appointment::Column::SlotStart)
        .order_by_asc(appointment::Column::Id)
        .all(db)
        .await?;
    let sight = actor.sight();
    Ok(views(db, tz, rows)
        .await?
        .into_iter()
        .map(|a| a.seen_by(sight))
        .collect())
}

/// Usage of the given slots.
pub async fn usage(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<HashMap<DateTime<Utc>, Usage>> {
    let rows = slot_usage::Entity::find()
        .filter(slot_usage::Column::DealerId.eq(dealer_id))
        .filter(slot_usage::Column::SlotStart.gte(from))
        .filter(slot_usage::Column::SlotStart.lt(to))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.slot_start,
                Usage {
                    reception_used: r.reception_used.max(0) as u32,
                    bays_used: r.bays_used.max(0) as u32,
                },
            )
        })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SlotQuery {
    /// A day in the dealer's zone.
    pub date: NaiveDate,
    /// Expected workshop time; default one slot.
    #[param(value_type = Option<String>, format = "decimal")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub duration_hours: Option<Decimal>,
}

pub fn duration_minutes(hours: Decimal, field: &str) -> AppResult<u32> {
    if hours <= Decimal::ZERO || hours > Decimal::from(24) {
        return Err(AppError::field(
            field,
            "must be more than 0 and at most 24 hours",
        ));
    }
    let m = (hours * Decimal::from(60)).round();
    u32::try_from(m.mantissa() / 10i128.pow(m.scale()))
        .map_err(|_| AppError::field(field, "is too large"))
}

/// The slots of a day with what each has left for a job of the given length.
pub async fn slots(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: SlotQuery,
    now: DateTime<Utc>,
) -> AppResult<Vec<SlotView>> {
    actor.require(REGISTER_READERS)?;
    check_dates(&[("date", Some(q.date))])?;
    let cap = Capacity::of(db, actor.dealer_id).await?;
    let minutes = match q.duration_hours {
        Some(h) => duration_minutes(h, "duration_hours")?,
        None => cap.schedule.slot_minutes,
    };
    cap.day(db, q.date, minutes, now).await
}

/// A dealer's capacity as one value: the dealer, its schedule and the zone
/// the schedule is read in. Built only by [`Capacity::of`].
pub struct Capacity {
    pub dealer_id: Uuid,
    pub dealer: dealer::Model,
    pub schedule: crate::domain::schedule::Schedule,
    /// The schedule's version, for `capacity::still_on` inside a write.
    pub version: i32,
    pub tz: Tz,
}

impl Capacity {
    pub async fn of(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<Capacity> {
        let (schedule, version) = capacity::schedule(db, dealer_id).await?;
        let (dealer, tz) = dealer_zone(db, dealer_id).await?;
        Ok(Capacity {
            dealer_id,
            dealer,
            schedule,
            version,
            tz,
        })
    }

    /// Every slot of a local day with what it has left for a job of `minutes`.
    pub async fn day(
        &self,
        db: &impl ConnectionTrait,
        date: NaiveDate,
        minutes: u32,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<SlotView>> {
        let closed = capacity::is_closed(db, self.dealer_id, date).await?;
        let (start, end) = day_bounds(self.tz, date, date);
        let used = usage(db, self.dealer_id, start, end).await?;
        Ok(self
            .schedule
            .day(date, self.tz, closed, &used, minutes, now))
    }

    /// The next free slots from `from` on (up to two weeks ahead), for a 409 to offer.
    pub async fn next_free(
        &self,
        db: &impl ConnectionTrait,
        from: DateTime<Utc>,
        minutes: u32,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<SlotView>> {
        const OFFER: usize = 5;
        let mut out = Vec::new();
        let first = from.with_timezone(&self.tz).date_naive();
        for d in 0..14 {
            for s in self
                .day(db, first + Duration::days(d), minutes, now)
                .await?
            {
                if s.available && s.start.with_timezone(&Utc) >= from {
                    out.push(s);
                    if out.len() == OFFER {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The appointment as an .ics file.
pub async fn calendar(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let m = load(db, actor, id).await?;
    let (d, tz) = dealer_zone(db, m.dealer_id).await?;
    let v = vehicle::Entity::find_by_id(m.vehicle_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let names: Vec<String> = services_of(&m)?.into_iter().map(|s| s.name_zh).collect();
    let summary = if names.is_empty() {
        format!("{} 预约", d.name)
    } else {
        format!("{} 预约：{}", d.name, names.join("、"))
    };
    Ok(ics::render(&m, &d, tz, &v, &summary, now))
}
