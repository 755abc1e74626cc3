//! Booking: 被动预约 by the customer in the app, 主动预约 by an advisor on the
//! customer's behalf. Capacity is taken inside the transaction that writes the
//! appointment; a retry with the same Idempotency-Key replays the first answer.

use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::capacity_ledger::{self, Hold};
use super::notify::{self, Kind};
use super::{Appointment, BOOKERS, Capacity, ServiceLine, duration_minutes, view_of};
use crate::auth::Actor;
use crate::domain::appointment::{AppointmentState, Source};
use crate::domain::schedule::Schedule;
use crate::domain::{FieldErrors, Phone, Role, validation};
use crate::entities::{appointment, customer, user, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::auth::roles_of;
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation, Saved};
use crate::services::{capacity, lifecycle, menu};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppointment {
    pub vehicle_id: Uuid,
    /// A slot start from /appointment-slots, ISO 8601 with offset.
    #[schema(value_type = String, format = DateTime, example = "2027-01-04T09:00:00+08:00")]
    pub slot_start: DateTime<FixedOffset>,
    /// Menu codes.
    #[serde(default)]
    pub services: Vec<String>,
    /// What the customer says is wrong, in their words.
    pub concern: Option<String>,
    /// Defaults to the customer's phone.
    pub contact_phone: Option<String>,
    /// Staff only: the customer booked for (must own the vehicle).
    pub customer_id: Option<Uuid>,
    /// Staff only: an advisor's estimate, overriding the menu's labour.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub duration_hours: Option<Decimal>,
    /// Staff only: phone, advisor or walk_in (default advisor). Customers book as app.
    pub source: Option<Source>,
    /// Staff only: the advisor who will receive the customer.
    pub advisor_id: Option<Uuid>,
}

pub const MAX_CONCERN: usize = 1000;
/// Menu items one booking may name.
pub const MAX_SERVICES: usize = 20;

/// Everything checked before the transaction: who, which vehicle, which
/// services, which slot. Reads only, so the transaction starts with a write.
struct Plan {
    customer: customer::Model,
    vehicle: vehicle::Model,
    lines: Vec<ServiceLine>,
    minutes: u32,
    hold: Hold,
    phone: String,
    source: Source,
}

async fn plan(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: &NewAppointment,
    schedule: &Schedule,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> AppResult<Plan> {
    let staff = !actor.is_customer();
    if staff {
        actor.require(BOOKERS)?;
    } else {
        actor.require(&[Role::Customer])?;
    }
    let mut e = FieldErrors::new();
    let vehicle = vehicle::Entity::find_by_id(input.vehicle_id)
        .one(db)
        .await?
        .filter(|v| v.dealer_id == actor.dealer_id);
    let vehicle = match (vehicle, actor.customer_id) {
        (Some(v), Some(own)) if v.customer_id != own => None,
        (v, _) => v,
    };
    let Some(vehicle) = vehicle else {
        return Err(AppError::field(
            "vehicle_id",
            "is not one of the customer's vehicles",
        ));
    };
    if let Some(cid) = input.customer_id {
        if !staff && Some(cid) != actor.customer_id {
            e.add("customer_id", "customers book for themselves");
        } else if cid != vehicle.customer_id {
            e.add("vehicle_id", "belongs to another customer");
        }
    }
    let customer = customer::Entity::find_by_id(vehicle.customer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !staff {
        // each field the customer may not set is named, so the app can say which
        for (field, sent) in [
            ("duration_hours", input.duration_hours.is_some()),
            ("source", input.source.is_some()),
            ("advisor_id", input.advisor_id.is_some()),
        ] {
            if sent {
                e.add(field, "is set by the dealer's staff, not by customers");
            }
        }
    }
    if let Some(a) = input.advisor_id {
        let advisor = match user::Entity::find_by_id(a).one(db).await? {
            Some(u) if u.dealer_id == actor.dealer_id && u.active => {
                roles_of(&u)?.iter().any(|r| {
                    matches!(
                        r,
                        Role::ServiceAdvisor | Role::ServiceSupervisor | Role::ServiceManager
                    )
                })
            }
            _ => false,
        };
        if !advisor {
            e.add("advisor_id", "is not a service advisor of this dealer");
        }
    }
    if input.services.len() > MAX_SERVICES {
        return Err(AppError::field(
            "services",
            format!("at most {MAX_SERVICES} menu items"),
        ));
    }
    let found = menu::by_codes(db, actor.dealer_id, &input.services).await?;
    let mut lines = Vec::new();
    for (i, (code, item)) in input.services.iter().zip(found).enumerate() {
        match item {
            Some(m) => lines.push(ServiceLine {
                parts: menu::parts_of(&m)?,
                code: m.code,
                name_zh: m.name_zh,
                name_en: m.name_en,
                labour_minutes: m.labour_minutes,
                price_cents: m.price_cents,
            }),
            None => e.add(
                format!("services[{i}]"),
                format!("'{code}' is not on the menu"),
            ),
        }
    }
    let concern = e
        .check(
            "concern",
            validation::optional_multiline(input.concern.as_deref(), MAX_CONCERN),
        )
        .flatten();
    if input.services.is_empty() && concern.is_none() {
        e.add(
            "services",
            "name at least one menu item, or describe the concern",
        );
    }
    let phone = match &input.contact_phone {
        Some(p) => e
            .check("contact_phone", Phone::parse(p))
            .map(|p| p.as_str().to_string()),
        None => Some(customer.phone.clone()),
    };
    let minutes = match input.duration_hours {
        Some(h) => match duration_minutes(h, "duration_hours") {
            Ok(m) => m,
            Err(_) => {
                e.add("duration_hours", "must be more than 0 and at most 24 hours");
                0
            }
        },
        None => (lines
            .iter()
            .map(|l| l.labour_minutes.max(0) as u32)
            .sum::<u32>())
        .max(schedule.slot_minutes),
    };
    e.clone().into_result()?;
    let start = input.slot_start.with_timezone(&Utc);
    schedule
        .bookable(start, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let closed =
        capacity::is_closed(db, actor.dealer_id, start.with_timezone(&tz).date_naive()).await?;
    let bays = schedule
        .check(tz, closed, start, minutes, now)
        .map_err(|p| AppError::field("slot_start", p.to_string()))?;
    let source = match (staff, input.source) {
        (false, _) => Source::App,
        (true, Some(s)) if s != Source::App => s,
        (true, Some(_)) => {
            return Err(AppError::field(
                "source",
                "app is for bookings made in the app",
            ));
        }
        (true, None) => Source::Advisor,
    };
    Ok(Plan {
        customer,
        vehicle,
        lines,
        minutes,
        hold: Hold {
            arrival: start,
            bays,
        },
        phone: phone.unwrap_or_default(),
        source,
    })
}

/// Books, or replays the answer already given to `key`. With a key, the key
/// is reserved first (`services::idempotency`), so of several requests with
/// one key exactly one books and the others get its answer.
pub async fn book(
    state: &AppState,
    actor: &Actor,
    input: NewAppointment,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<Appointment>>> {
    let db = &state.db;
    let now = state.clock.now();
    let Some(key) = key else {
        return book_now(state, actor, &input, None, now)
            .await
            .map(Outcome::Fresh);
    };
    let hash = idempotency::fingerprint(&input)?;
    let reservation = match idempotency::begin(db, actor, key, &hash, now).await? {
        Outcome::Replayed(saved) => return Ok(Outcome::Replayed(saved)),
        Outcome::Fresh(r) => r,
    };
    match book_now(state, actor, &input, Some(&reservation), now).await {
        Ok(view) => Ok(Outcome::Fresh(view)),
        Err(e) => {
            idempotency::fail(db, &reservation, &e).await?;
            Err(e)
        }
    }
}

/// Lock order (see `services::lifecycle`): the vehicle's row, the dealer's
/// row (shared), then the new appointment, then the slot counters in time
/// order, last, so their row locks are held only for the moments before the
/// commit.
async fn book_now(
    state: &AppState,
    actor: &Actor,
    input: &NewAppointment,
    reservation: Option<&Reservation>,
    now: DateTime<Utc>,
) -> AppResult<Box<Appointment>> {
    let db = &state.db;
    let cap = Capacity::of(db, actor.dealer_id).await?;
    let tz = cap.tz;
    let p = plan(db, actor, input, &cap.schedule, tz, now).await?;

    let txn = db.begin().await?;
    // a write on the vehicle's row first: bookings of one vehicle queue here
    // (row lock on PostgreSQL, the one writer on SQLite), so the check below
    // sees any booking of it that committed meanwhile
    vehicle::Entity::update_many()
        .col_expr(
            vehicle::Column::Version,
            Expr::col(vehicle::Column::Version),
        )
        .filter(vehicle::Column::Id.eq(p.vehicle.id))
        .exec(&txn)
        .await?;
    // the dealer's row, shared: the grid this booking was placed on stays
    capacity::still_on(&txn, actor.dealer_id, cap.version).await?;
    refuse_second_booking(&txn, p.vehicle.id, tz, now).await?;
    let m = appointment::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(actor.dealer_id),
        customer_id: Set(p.customer.id),
        vehicle_id: Set(p.vehicle.id),
        slot_start: Set(p.hold.arrival),
        duration_minutes: Set(p.minutes as i32),
        held_slots: Set(p.hold.to_json()),
        services: Set(crate::services::to_stored(&p.lines, "services")?),
        concern: Set(input
            .concern
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)),
        contact_phone: Set(p.phone.clone()),
        source: Set(p.source),
        state: Set(AppointmentState::Booked),
        advisor_id: Set(input.advisor_id),
        rescheduled_from: Set(None),
        rescheduled_to: Set(None),
        repair_order_id: Set(None),
        created_by: Set(actor.id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    lifecycle::record::<appointment::Entity>(
        &txn,
        lifecycle::by(
            actor,
            m.dealer_id,
            m.id,
            None,
            AppointmentState::Booked,
            None,
            now,
        ),
    )
    .await?;
    notify::record(
        &txn,
        state,
        &notify::Parties {
            dealer: &cap.dealer,
            tz,
            customer: &p.customer,
            vehicle: &p.vehicle,
        },
        &m,
        Kind::Booked,
        now,
    )
    .await?;
    let view = view_of(m, &p.vehicle, &p.customer, tz)?;
    if !capacity_ledger::apply(&txn, actor.dealer_id, &cap.schedule, Some(&p.hold), None).await? {
        txn.rollback().await?;
        let next = cap.next_free(db, p.hold.arrival, p.minutes, now).await?;
        return Err(AppError::SlotFull {
            detail: "that slot is full; the next free slots are listed".into(),
            next_free_slots: next,
        });
    }
    if let Some(r) = reservation {
        let answer = Saved {
            status: 201,
            body: serde_json::to_string(&view).map_err(anyhow::Error::from)?,
        };
        // kept in the booking's own transaction: the answer exists exactly
        // when the booking does
        if !idempotency::complete(&txn, r, &answer).await? {
            txn.rollback().await?;
            return Err(AppError::InProgress {
                retry_after_secs: 1,
            });
        }
    }
    txn.commit().await?;
    crate::care::outbox::wake(state);
    Ok(Box::new(view))
}

/// A vehicle holds one open booking at a time: a second is a reschedule.
async fn refuse_second_booking(
    db: &impl ConnectionTrait,
    vehicle_id: Uuid,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let open = appointment::Entity::find()
        .filter(appointment::Column::VehicleId.eq(vehicle_id))
        .filter(
            appointment::Column::State
                .is_in([AppointmentState::Booked, AppointmentState::Confirmed]),
        )
        .filter(appointment::Column::SlotStart.gte(now))
        .one(db)
        .await?;
    match open {
        Some(open) => Err(AppError::Conflict(format!(
            "this vehicle is already booked for {}; reschedule that appointment ({}) instead",
            open.slot_start.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            open.id
        ))),
        None => Ok(()),
    }
}
