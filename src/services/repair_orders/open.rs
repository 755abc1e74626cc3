//! Reception (接车/制单): opening an order from a checked-in appointment or
//! for a walk-in, with its human number, and the order list.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::journal::{self, Write, answer, keep};
use super::{RepairOrder, RepairOrderPage, jobs, view};
use crate::auth::Actor;
use crate::domain::appointment::{Action, AppointmentState};
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::{EventKind, OrderState, order_number};
use crate::domain::vehicle::MileageSource;
use crate::domain::{FieldErrors, Role, validation};
use crate::entities::{
    appointment, appointment_event, customer, repair_order, repair_order_event, user, vehicle,
};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation};
use crate::services::vehicles::{self, NewMileage};
use crate::services::{appointments, deputies, lifecycle, to_stored};
use crate::state::AppState;

/// Concerns an order may list, and their length.
const MAX_CONCERNS: usize = 20;
const CONCERN_CHARS: usize = 500;

/// The body of `POST /repair-orders`: from an appointment, or a walk-in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRepairOrder {
    /// A checked-in appointment: its vehicle, customer, advisor and services carry over.
    pub appointment_id: Option<Uuid>,
    /// A walk-in: the vehicle (required without `appointment_id`).
    pub vehicle_id: Option<Uuid>,
    /// A walk-in: the customer (the vehicle's owner by default).
    pub customer_id: Option<Uuid>,
    /// The advisor (default: the appointment's, else the caller if an advisor).
    pub advisor_id: Option<Uuid>,
    /// The odometer at reception; recorded as a mileage reading (a lower one is refused).
    #[schema(minimum = 0, maximum = 2_000_000)]
    pub odometer_km: Option<i64>,
    /// When the car will be ready, ISO 8601 with offset.
    #[schema(value_type = Option<String>, format = DateTime, example = "2027-03-01T17:00:00+08:00")]
    pub promised_at: Option<DateTime<FixedOffset>>,
    /// The customer's words (客户描述), one per line item.
    #[serde(default)]
    pub concerns: Vec<String>,
    /// Percent, 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub fuel_level: Option<i32>,
    pub notes: Option<String>,
    /// When the car arrived (default: the appointment's check-in, else now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<DateTime<FixedOffset>>,
    /// When the advisor began reception (default: now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reception_started_at: Option<DateTime<FixedOffset>>,
}

/// The header fields a tablet may change (`PATCH` with `If-Match`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairOrderPatch {
    #[serde(default, deserialize_with = "validation::nullable")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<Option<DateTime<FixedOffset>>>,
    pub concerns: Option<Vec<String>>,
    #[serde(default, deserialize_with = "validation::nullable")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100)]
    pub fuel_level: Option<Option<i32>>,
    #[serde(default, deserialize_with = "validation::nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// The local day the cars arrived (dealer's zone), `YYYY-MM-DD`.
    pub date: Option<NaiveDate>,
    pub state: Option<OrderState>,
    pub advisor_id: Option<Uuid>,
    /// Only the caller's orders (as advisor) and those of whom they stand
    /// in for now (a deputy, 职务代理); not with `advisor_id`.
    pub mine: Option<bool>,
    pub vehicle_id: Option<Uuid>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// A time the tablet sends: within a day of now either way (a clock a
/// little off is fine; a year is a typo).
fn near_now(
    t: DateTime<FixedOffset>,
    now: DateTime<Utc>,
    field: &str,
    e: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let t = t.with_timezone(&Utc);
    if (t - now).num_hours().abs() > 24 {
        e.add(field, "must be within a day of now");
        None
    } else {
        Some(t)
    }
}

pub fn promise(t: DateTime<FixedOffset>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = t.with_timezone(&Utc);
    if t < now - chrono::Duration::days(1) || t > now + chrono::Duration::days(366) {
        return Err("must be from yesterday to a year ahead".into());
    }
    Ok(t)
}

pub fn concerns(list: &[String], e: &mut FieldErrors) -> Vec<String> {
    if list.len() > MAX_CONCERNS {
        e.add("concerns", format!("must list at most {MAX_CONCERNS}"));
        return Vec::new();
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, c)| {
            e.check(
                &format!("concerns[{i}]"),
                validation::multiline(c, CONCERN_CHARS),
            )
        })
        .collect()
}

pub fn fuel(level: i32) -> Result<i32, String> {
    if (0..=100).contains(&level) {
        Ok(level)
    } else {
        Err("must be 0 to 100 (percent)".into())
    }
}

/// The next number of the dealer's day. The counter row is upserted inside
/// the order's transaction and stays taken until it commits: concurrent
/// opens queue on it, and a rolled-back open gives its number back, so the
/// numbers of a day have neither gaps nor duplicates.
async fn next_number(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    day: NaiveDate,
) -> AppResult<i32> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => {
            "INSERT INTO repair_order_counters (dealer_id, day, last) VALUES ($1, $2, 1) \
             ON CONFLICT (dealer_id, day) DO UPDATE SET last = repair_order_counters.last + 1 \
             RETURNING last"
        }
        _ => {
            "INSERT INTO repair_order_counters (dealer_id, day, last) VALUES (?, ?, 1) \
             ON CONFLICT (dealer_id, day) DO UPDATE SET last = repair_order_counters.last + 1 \
             RETURNING last"
        }
    };
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [dealer_id.into(), day.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the order counter returned no row")))?;
    Ok(row.try_get::<i32>("", "last")?)
}

/// Opens an order. With `Idempotency-Key`, a retried request answers the
/// first order instead of opening a second.
pub async fn open(
    state: &AppState,
    actor: &Actor,
    input: NewRepairOrder,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<RepairOrder>>> {
    idempotency::once(
        &state.db,
        actor,
        key,
        &input,
        state.clock.now(),
        async |r| {
            open_now(
                state,
                actor,
                &input,
                r,
                state.clock.now(),
                None::<&Unclaimed>,
            )
            .await
        },
    )
    .await
}

/// What an order is opened for and claims first in its transaction, so that
/// it opens one order however often it is asked (a towed rescue's car:
/// `services::rescues`).
pub trait Claim {
    /// Takes the thing for order `order_id` inside `txn`; false when it has
    /// its order already or is not ready for one.
    fn claim(
        &self,
        txn: &DatabaseTransaction,
        order_id: Uuid,
        now: DateTime<Utc>,
    ) -> impl std::future::Future<Output = AppResult<bool>>;
}

/// An order opened for nothing to claim.
struct Unclaimed;

impl Claim for Unclaimed {
    async fn claim(&self, _: &DatabaseTransaction, _: Uuid, _: DateTime<Utc>) -> AppResult<bool> {
        Ok(true)
    }
}

/// Opens an order for `what`, claimed first in the order's transaction; a
/// lost claim is 409.
pub async fn open_for(
    state: &AppState,
    actor: &Actor,
    input: &NewRepairOrder,
    what: &impl Claim,
) -> AppResult<Box<RepairOrder>> {
    open_now(state, actor, input, None, state.clock.now(), Some(what)).await
}

/// What the order starts from.
struct Origin {
    appointment: Option<appointment::Model>,
    vehicle: vehicle::Model,
    customer_id: Uuid,
    advisor_id: Option<Uuid>,
    arrived_at: DateTime<Utc>,
}

async fn origin(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &NewRepairOrder,
    now: DateTime<Utc>,
) -> AppResult<Origin> {
    if let Some(aid) = input.appointment_id {
        if input.vehicle_id.is_some() || input.customer_id.is_some() {
            return Err(AppError::field(
                "appointment_id",
                "comes with its own vehicle and customer: send either appointment_id or vehicle_id",
            ));
        }
        let a = appointment::Entity::find_by_id(aid)
            .one(db)
            .await?
            .filter(|a| a.dealer_id == actor.dealer_id)
            .ok_or_else(|| AppError::field("appointment_id", "no such appointment"))?;
        if a.state != AppointmentState::CheckedIn {
            return Err(AppError::Conflict(format!(
                "the appointment is {}: only a checked-in appointment becomes a repair order",
                a.state
            )));
        }
        let checked_in = appointment_event::Entity::find()
            .filter(appointment_event::Column::AppointmentId.eq(aid))
            .filter(appointment_event::Column::ToState.eq(AppointmentState::CheckedIn))
            .order_by_desc(appointment_event::Column::At)
            .one(db)
            .await?
            .map(|e| e.at);
        let v = vehicle::Entity::find_by_id(a.vehicle_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(Origin {
            customer_id: a.customer_id,
            advisor_id: a.advisor_id,
            arrived_at: checked_in.unwrap_or(now),
            vehicle: v,
            appointment: Some(a),
        });
    }
    let vid = input.vehicle_id.ok_or_else(|| {
        AppError::field(
            "vehicle_id",
            "is required for a walk-in (or send appointment_id)",
        )
    })?;
    let v = vehicle::Entity::find_by_id(vid)
        .one(db)
        .await?
        .filter(|v| v.dealer_id == actor.dealer_id)
        .ok_or_else(|| AppError::field("vehicle_id", "no such vehicle"))?;
    let customer_id = input.customer_id.unwrap_or(v.customer_id);
    let c = customer::Entity::find_by_id(customer_id).one(db).await?;
    if c.is_none_or(|c| c.dealer_id != actor.dealer_id) {
        return Err(AppError::field("customer_id", "no such customer"));
    }
    Ok(Origin {
        appointment: None,
        vehicle: v,
        customer_id,
        advisor_id: None,
        arrived_at: now,
    })
}

async fn check_advisor(db: &impl ConnectionTrait, dealer_id: Uuid, id: Uuid) -> AppResult<()> {
    let ok = match user::Entity::find_by_id(id).one(db).await? {
        Some(u) if u.dealer_id == dealer_id && u.active => {
            crate::services::auth::roles_of(&u)?.contains(&Role::ServiceAdvisor)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "advisor_id",
            "is not an active service advisor of this dealer",
        ))
    }
}

/// Lock order: the appointment's row, the vehicle's (the mileage), then the
/// day's counter last, so the counter (the one row all tablets share) is
/// held only for the moments before the commit.
async fn open_now(
    state: &AppState,
    actor: &Actor,
    input: &NewRepairOrder,
    reservation: Option<&Reservation>,
    now: DateTime<Utc>,
    what: Option<&impl Claim>,
) -> AppResult<Box<RepairOrder>> {
    journal::allow(actor, Act::Open)?;
    let db = &state.db;
    let mut e = FieldErrors::new();
    let concerns = concerns(&input.concerns, &mut e);
    let promised = input
        .promised_at
        .and_then(|t| e.check("promised_at", promise(t, now)));
    let fuel = input
        .fuel_level
        .and_then(|f| e.check("fuel_level", fuel(f)));
    let notes = e
        .check(
            "notes",
            validation::optional_multiline(input.notes.as_deref(), 2000),
        )
        .flatten();
    let arrived = input
        .arrived_at
        .and_then(|t| near_now(t, now, "arrived_at", &mut e));
    let reception = input
        .reception_started_at
        .and_then(|t| near_now(t, now, "reception_started_at", &mut e));
    if let Some(km) = input.odometer_km
        && !(0..=2_000_000).contains(&km)
    {
        e.add("odometer_km", "must be 0 to 2000000");
    }
    e.into_result()?;
    let o = origin(db, actor, input, now).await?;
    let advisor_id = match input.advisor_id.or(o.advisor_id) {
        Some(id) => {
            check_advisor(db, actor.dealer_id, id).await?;
            Some(id)
        }
        None => actor.has(Role::ServiceAdvisor).then_some(actor.id),
    };
    if let Some(km) = input.odometer_km {
        crate::domain::vehicle::check_reading(o.vehicle.odometer_km, km, false)
            .map_err(|e| AppError::field("odometer_km", e.to_string()))?;
    }
    let (_, tz) = appointments::dealer_zone(db, actor.dealer_id).await?;
    let arrived_at = arrived.unwrap_or(o.arrived_at);
    let reception_started_at = reception.unwrap_or(now).max(arrived_at);
    let day = arrived_at.with_timezone(&tz).date_naive();
    let ws = super::settings::of_dealer(db, actor.dealer_id).await?;
    let menu_jobs = match &o.appointment {
        Some(a) => jobs::from_appointment(a, &ws)?,
        None => Vec::new(),
    };

    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    // 0. what the order is opened for (a towed rescue's row): it opens this order, once
    if let Some(w) = what
        && !w.claim(&txn, id, now).await?
    {
        return Err(AppError::Conflict(
            "it already has its repair order, or is not ready for one".into(),
        ));
    }
    // 1. the appointment's row: it becomes this order, once
    if let Some(a) = &o.appointment {
        let a = lifecycle::lock::<appointment::Entity>(&txn, a.id).await?;
        let to = a
            .state
            .apply(Action::StartService)
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        lifecycle::advance::<appointment::Entity>(
            &txn,
            a.id,
            a.state,
            a.version,
            to,
            now,
            Vec::new(),
        )
        .await?;
        let on_behalf_of = deputies::acting_for(&txn, actor, a.advisor_id, now).await?;
        lifecycle::record::<appointment::Entity>(
            &txn,
            lifecycle::by(
                actor,
                a.dealer_id,
                a.id,
                Some(a.state),
                to,
                Some("repair order opened".into()),
                now,
            )
            .on_behalf_of(on_behalf_of),
        )
        .await?;
    }
    // 2. the vehicle's odometer
    if let Some(km) = input.odometer_km {
        vehicles::record_mileage_in(
            &txn,
            actor,
            &o.vehicle,
            &NewMileage {
                mileage_km: km,
                read_on: None,
                source: MileageSource::Reception,
                correction: false,
            },
            arrived_at.with_timezone(&tz).date_naive(),
            now,
        )
        .await
        .map_err(|e| match e {
            AppError::Validation(_) => {
                AppError::field("odometer_km", "is lower than the vehicle's last reading")
            }
            other => other,
        })?;
    }
    // 3. the order, under a provisional number unique to it (the real one is
    //    allocated last, see below)
    let provisional = format!("~{}", &id.simple().to_string()[13..]);
    let m = repair_order::ActiveModel {
        id: Set(id),
        dealer_id: Set(actor.dealer_id),
        number: Set(provisional),
        customer_id: Set(o.customer_id),
        vehicle_id: Set(o.vehicle.id),
        appointment_id: Set(o.appointment.as_ref().map(|a| a.id)),
        advisor_id: Set(advisor_id),
        state: Set(OrderState::Open),
        odometer_km: Set(input.odometer_km),
        fuel_level: Set(fuel),
        concerns: Set(to_stored(&concerns, "concerns")?),
        notes: Set(notes),
        promised_at: Set(promised),
        arrived_at: Set(arrived_at),
        reception_started_at: Set(reception_started_at),
        walkaround: Set(None),
        health_check: Set(None),
        accepted_estimate: Set(None),
        estimate_versions: Set(0),
        qc_round: Set(1),
        qc_reworks: Set(0),
        qc_passed_level: Set(None),
        vat_basis_points: Set(i32::try_from(ws.vat().basis_points).unwrap_or(0)),
        prices_include_vat: Set(ws.vat().prices_include_vat),
        washed_at: Set(None),
        delivered_at: Set(None),
        closed_at: Set(None),
        event_seq: Set(0),
        version: Set(1),
        created_by: Set(actor.id),
        created_at: Set(now),
        updated_at: Set(now),
    };
    repair_order::Entity::insert(m)
        .exec_without_returning(&txn)
        .await?;
    if let Some(a) = &o.appointment {
        appointment::Entity::update_many()
            .col_expr(appointment::Column::RepairOrderId, Expr::value(id))
            .filter(appointment::Column::Id.eq(a.id))
            .exec(&txn)
            .await?;
    }
    let order = repair_order::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut w = Write::created(txn, order, actor, now);
    // a deputy opening the absent advisor's booked car
    w.on_behalf_of = deputies::acting_for(&w.txn, actor, advisor_id, now).await?;
    let opened = w.event(EventKind::Opened, serde_json::json!({})).await?;
    for j in menu_jobs {
        jobs::insert(&mut w, j, &o.vehicle).await?;
    }
    let mut v = answer(&w).await?;
    // 4. the day's number, last: the counter row is the one row every tablet
    //    of the dealer shares, so it is held only from here to the commit
    let number = order_number(day, next_number(&w.txn, actor.dealer_id, day).await?);
    repair_order::Entity::update_many()
        .col_expr(repair_order::Column::Number, Expr::value(number.clone()))
        .filter(repair_order::Column::Id.eq(id))
        .exec(&w.txn)
        .await?;
    repair_order_event::Entity::update_many()
        .col_expr(
            repair_order_event::Column::Data,
            Expr::value(serde_json::json!({"number": number, "appointment_id": v.appointment_id})),
        )
        .filter(repair_order_event::Column::OrderId.eq(id))
        .filter(repair_order_event::Column::Seq.eq(opened))
        .exec(&w.txn)
        .await?;
    w.order.number = number.clone();
    v.number = number;
    keep(&w, reservation, 201, &v).await?;
    w.commit(state).await?;
    Ok(Box::new(v))
}

/// The order list, newest first: by local arrival day, state, advisor, vehicle.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    q: ListQuery,
    now: DateTime<Utc>,
) -> AppResult<RepairOrderPage> {
    journal::allow(actor, Act::Read)?;
    let limit = crate::services::page_limit(q.limit)?;
    let (_, tz) = appointments::dealer_zone(db, actor.dealer_id).await?;
    let mut s =
        repair_order::Entity::find().filter(repair_order::Column::DealerId.eq(actor.dealer_id));
    if let Some(cid) = actor.customer_id {
        s = s.filter(repair_order::Column::CustomerId.eq(cid));
    }
    if let Some(d) = q.date {
        let d = crate::domain::dates::in_range(d).map_err(|m| AppError::field("date", m))?;
        let (from, to) = appointments::day_bounds(tz, d, d);
        s = s
            .filter(repair_order::Column::ArrivedAt.gte(from))
            .filter(repair_order::Column::ArrivedAt.lt(to));
    }
    if let Some(st) = q.state {
        s = s.filter(repair_order::Column::State.eq(st));
    }
    if let Some(ids) = deputies::whose(db, actor, q.mine, ("advisor_id", q.advisor_id), now).await?
    {
        s = s.filter(repair_order::Column::AdvisorId.is_in(ids));
    }
    if let Some(v) = q.vehicle_id {
        s = s.filter(repair_order::Column::VehicleId.eq(v));
    }
    if let Some(c) = q.cursor.as_deref() {
        s = s.filter(repair_order::Column::Id.lt(crate::services::decode_cursor(c)?));
    }
    let mut rows = s
        .order_by_desc(repair_order::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = crate::services::next_page(&mut rows, limit, |r| r.id);
    Ok(RepairOrderPage {
        items: super::summaries(db, tz, rows)
            .await?
            .into_iter()
            .map(|o| o.seen_by(actor.sight()))
            .collect(),
        next_cursor,
    })
}

/// Changes the header (`If-Match` required).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    version: crate::services::Version,
    patch: RepairOrderPatch,
) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, id, Act::Edit).await?;
    w.expect_version(version)?;
    if w.order.state.is_final() {
        return Err(AppError::Conflict(format!(
            "a repair order that is {} cannot be changed",
            w.order.state
        )));
    }
    let mut e = FieldErrors::new();
    let mut changed = serde_json::Map::new();
    if let Some(p) = patch.promised_at {
        let t = match p {
            Some(t) => e.check("promised_at", promise(t, w.now)),
            None => None,
        };
        w.set(repair_order::Column::PromisedAt, Expr::value(t));
        changed.insert("promised_at".into(), serde_json::json!(t));
    }
    if let Some(c) = &patch.concerns {
        let list = concerns(c, &mut e);
        w.set(
            repair_order::Column::Concerns,
            Expr::value(to_stored(&list, "concerns")?),
        );
        changed.insert("concerns".into(), serde_json::json!(list));
    }
    if let Some(f) = patch.fuel_level {
        let f = f.and_then(|f| e.check("fuel_level", fuel(f)));
        w.set(repair_order::Column::FuelLevel, Expr::value(f));
        changed.insert("fuel_level".into(), serde_json::json!(f));
    }
    if let Some(n) = &patch.notes {
        let n = e
            .check("notes", validation::optional_multiline(n.as_deref(), 2000))
            .flatten();
        w.set(repair_order::Column::Notes, Expr::value(n.clone()));
        changed.insert("notes".into(), serde_json::json!(n));
    }
    e.into_result()?;
    w.event(EventKind::Updated, serde_json::Value::Object(changed))
        .await?;
    let order = w.commit(state).await?;
    let fresh = repair_order::Entity::find_by_id(order.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    view(&state.db, fresh).await
}
