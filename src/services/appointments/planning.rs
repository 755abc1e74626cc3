//! The advisor's invitation list (主动预约名单) and tomorrow's preparation list (准备).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    Appointment, BOOKERS, Capacity, CustomerRef, PREPARATION_READERS, VehicleRef, day_bounds,
    register, usage,
};
use crate::auth::Actor;
use crate::domain::appointment::{AppointmentState, WarningKind};
use crate::domain::maintenance::{DueReason, Interval};
use crate::entities::{appointment, customer, menu_item, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::menu::PartLine;
use crate::services::vehicles::{reading_spans, use_history};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

/// What to propose. For `declined_work` the names are the declined line's
/// description, `code` its menu or health-check item code (else
/// `EXTRA_WORK`), `due_on` the local day it was declined, and the order and
/// line are named.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub due_on: NaiveDate,
    pub reason: DueReason,
    /// `declined_work`: the repair order the line was declined on.
    pub repair_order_id: Option<Uuid>,
    /// `declined_work`: the declined line (a job of that order).
    pub job_id: Option<Uuid>,
}

/// A vehicle to invite, with what to propose and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub vehicle: VehicleRef,
    pub customer: CustomerRef,
    /// The earliest due date among the suggestions (may be before `from`: overdue).
    pub due_on: NaiveDate,
    pub suggested: Vec<Suggestion>,
    /// Estimated from the odometer history.
    pub daily_km: Option<i64>,
    pub projected_km: Option<i64>,
}

/// Vehicles falling due between `from` and `to` (and those already overdue),
/// and vehicles with extra work declined on an order of the last 12 months
/// (reason `declined_work`), without an open appointment.
pub async fn invitations(
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: Range,
    now: DateTime<Utc>,
) -> AppResult<Vec<Invitation>> {
    actor.require(BOOKERS)?;
    super::check_dates(&[("from", Some(r.from)), ("to", Some(r.to))])?;
    if r.to < r.from || (r.to - r.from).num_days() > 366 {
        return Err(AppError::field(
            "to",
            "must be on or after from, at most a year later",
        ));
    }
    let items: Vec<menu_item::Model> = menu_item::Entity::find()
        .filter(menu_item::Column::DealerId.eq(actor.dealer_id))
        .filter(menu_item::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|m| m.interval_km.is_some() || m.interval_months.is_some())
        .collect();
    let declined = declined_work(db, actor.dealer_id, now).await?;
    if items.is_empty() && declined.is_empty() {
        return Ok(vec![]);
    }
    let spans = reading_spans(db, actor.dealer_id, None).await?;
    let booked: HashSet<Uuid> = appointment::Entity::find()
        .filter(appointment::Column::DealerId.eq(actor.dealer_id))
        .filter(
            appointment::Column::State
                .is_in([AppointmentState::Booked, AppointmentState::Confirmed]),
        )
        .filter(appointment::Column::SlotStart.gte(now))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.vehicle_id)
        .collect();
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::DealerId.eq(actor.dealer_id))
        .all(db)
        .await?;
    let mut out = Vec::new();
    let mut owners = Vec::new();
    for v in vehicles {
        if booked.contains(&v.id) {
            continue;
        }
        let h = use_history(&v, spans.get(&v.id), None);
        let mut suggested: Vec<Suggestion> = items
            .iter()
            .filter_map(|m| {
                let interval = Interval {
                    km: m.interval_km,
                    months: m.interval_months,
                    first_service: m.first_service,
                };
                let (due_on, reason) = h.due(interval)?;
                (due_on <= r.to).then(|| Suggestion {
                    code: m.code.clone(),
                    name_zh: m.name_zh.clone(),
                    name_en: m.name_en.clone(),
                    due_on,
                    reason,
                    repair_order_id: None,
                    job_id: None,
                })
            })
            .collect();
        if let Some(lines) = declined.get(&v.id) {
            suggested.extend(
                lines
                    .iter()
                    .filter(|s| s.due_on <= r.to)
                    .map(|s| Suggestion {
                        code: s.code.clone(),
                        name_zh: s.name_zh.clone(),
                        name_en: s.name_en.clone(),
                        due_on: s.due_on,
                        reason: s.reason,
                        repair_order_id: s.repair_order_id,
                        job_id: s.job_id,
                    }),
            );
        }
        if suggested.is_empty() {
            continue;
        }
        suggested.sort_by_key(|s| s.due_on);
        let due_on = suggested[0].due_on;
        owners.push(v.customer_id);
        out.push((
            v.customer_id,
            Invitation {
                vehicle: VehicleRef {
                    id: v.id,
                    plate: v.plate,
                    vin: v.vin,
                    make: v.make,
                    model: v.model,
                },
                customer: CustomerRef {
                    id: v.customer_id,
                    name: String::new(),
                    phone: String::new(),
                },
                due_on,
                projected_km: h.projected_km(due_on.max(r.from)),
                daily_km: h.daily_km().map(|d| d.round() as i64),
                suggested,
            },
        ));
    }
    let customers: HashMap<Uuid, customer::Model> = customer::Entity::find()
        .filter(customer::Column::Id.is_in(owners))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut list: Vec<Invitation> = out
        .into_iter()
        .filter_map(|(cid, mut inv)| {
            let c = customers.get(&cid)?;
            inv.customer = CustomerRef {
                id: c.id,
                name: c.name.clone(),
                phone: c.phone.clone(),
            };
            Some(inv)
        })
        .collect();
    list.sort_by(|a, b| {
        a.due_on
            .cmp(&b.due_on)
            .then(a.vehicle.id.cmp(&b.vehicle.id))
    });
    Ok(list)
}

/// Declined extra work per vehicle, from orders that arrived in the last 12
/// months, as suggestions dated the local day of the decline.
async fn declined_work(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<HashMap<Uuid, Vec<Suggestion>>> {
    let since = now
        .checked_sub_months(chrono::Months::new(12))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let lines =
        crate::services::repair_orders::extra_work::declined_since(db, dealer_id, since).await?;
    if lines.is_empty() {
        return Ok(HashMap::new());
    }
    let (_, tz) = super::dealer_zone(db, dealer_id).await?;
    let mut out: HashMap<Uuid, Vec<Suggestion>> = HashMap::new();
    for (order, job) in lines {
        let at = job.approval_at.unwrap_or(job.updated_at);
        out.entry(order.vehicle_id).or_default().push(Suggestion {
            code: job
                .menu_code
                .or(job.health_item_code)
                .unwrap_or_else(|| "EXTRA_WORK".into()),
            name_zh: job.description.clone(),
            name_en: job.description,
            due_on: at.with_timezone(&tz).date_naive(),
            reason: DueReason::DeclinedWork,
            repair_order_id: Some(order.id),
            job_id: Some(job.id),
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Day {
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartTotal {
    pub part_number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal")]
    pub quantity: Decimal,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    pub appointment_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preparation {
    pub date: NaiveDate,
    pub appointments: Vec<Appointment>,
    /// Parts to pick, summed by part number across the day, for the parts desk.
    pub parts: Vec<PartTotal>,
    #[schema(value_type = String, format = "decimal")]
    pub expected_workshop_hours: Decimal,
    /// Share of the day's capacity booked (reception or bays, the larger), 0 to 1.
    pub capacity_used: f64,
    pub warnings: Vec<Warning>,
    /// Stocked parts the day's bookings need more of than is available
    /// (on hand − reserved); parts not stocked are not listed.
    pub shortages: Vec<crate::services::parts::StockShortfall>,
}

fn overflow() -> AppError {
    AppError::Internal(anyhow::anyhow!("preparation list totals overflow"))
}

/// The preparation list of a day: what to pick, who receives, what is at risk.
pub async fn preparation(
    db: &impl ConnectionTrait,
    actor: &Actor,
    day: Day,
    now: DateTime<Utc>,
) -> AppResult<Preparation> {
    actor.require(PREPARATION_READERS)?;
    super::check_dates(&[("date", Some(day.date))])?;
    let q = super::RegisterQuery {
        date: Some(day.date),
        from: None,
        to: None,
        advisor_id: None,
        mine: None,
        state: None,
    };
    let appointments: Vec<Appointment> = register(db, actor, q, now)
        .await?
        .into_iter()
        .filter(|a| a.state.is_open())
        .collect();
    let Capacity { schedule, tz, .. } = Capacity::of(db, actor.dealer_id).await?;
    let starts = schedule.slot_starts(day.date, tz);
    let (from, to) = day_bounds(tz, day.date, day.date);
    let used = usage(db, actor.dealer_id, from, to).await?;
    let capacity_used = schedule.load(&starts, &used);

    let mut parts: BTreeMap<String, PartTotal> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut hours = Decimal::ZERO;
    for a in &appointments {
        hours = hours.checked_add(a.expected_hours).ok_or_else(overflow)?;
        let lines: Vec<&PartLine> = a.services.iter().flat_map(|s| s.parts.iter()).collect();
        if a.services.is_empty() || a.services.iter().any(|s| s.parts.is_empty()) {
            warnings.push(Warning {
                kind: WarningKind::PartsMissing,
                message: format!(
                    "{} at {}: no parts list for {}",
                    a.vehicle
                        .plate
                        .clone()
                        .unwrap_or_else(|| a.vehicle.vin.clone()),
                    a.slot_start.format("%H:%M"),
                    if a.services.is_empty() {
                        "the concern".to_string()
                    } else {
                        "some services".to_string()
                    }
                ),
                appointment_id: Some(a.id),
            });
        }
        if a.advisor_id.is_none() {
            warnings.push(Warning {
                kind: WarningKind::NoAdvisor,
                message: "no advisor assigned".into(),
                appointment_id: Some(a.id),
            });
        }
        for p in lines {
            let t = parts
                .entry(p.part_number.clone())
                .or_insert_with(|| PartTotal {
                    part_number: p.part_number.clone(),
                    name: p.name.clone(),
                    quantity: Decimal::ZERO,
                });
            // quantities are bounded when the menu is written; rows from
            // before may hold anything, and Decimal's += panics on overflow
            t.quantity = t.quantity.checked_add(p.quantity).ok_or_else(overflow)?;
        }
    }
    if capacity_used > 0.9 {
        warnings.insert(
            0,
            Warning {
                kind: WarningKind::Capacity,
                message: format!(
                    "{:.0}% of the day's capacity is booked",
                    capacity_used * 100.0
                ),
                appointment_id: None,
            },
        );
    }
    let wanted: Vec<(String, Decimal)> = parts
        .values()
        .map(|p| (p.part_number.clone(), p.quantity))
        .collect();
    let shortages = crate::services::parts::shortfalls(db, actor.dealer_id, &wanted).await?;
    Ok(Preparation {
        shortages,
        date: day.date,
        appointments,
        parts: parts
            .into_values()
            .map(|mut p| {
                p.quantity = p.quantity.normalize();
                p
            })
            .collect(),
        expected_workshop_hours: hours.normalize(),
        capacity_used,
        warnings,
    })
}
