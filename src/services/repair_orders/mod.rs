//! Repair orders (维修委托书), steps 3 to 7 of the service process: reception
//! and the order (`open`), its jobs (`jobs`), the estimate and signature
//! (`estimate`), and the journal every change is written to (`journal`).
//! The rules are pure, in `domain::repair_order`; this module reads and
//! writes them.

pub mod documents;
pub mod estimate;
pub mod extra_work;
pub mod handover;
pub mod inspection;
pub mod jobs;
pub mod journal;
pub mod open;
pub mod photos;
pub mod settings;
pub mod workshop;

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::privacy::Sight;
use crate::domain::repair_order::OrderState;
use crate::domain::repair_order::PayType;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::totals::{self, Sums, Totals};
use crate::entities::{customer, repair_order, repair_order_job, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::appointments::{CustomerRef, VehicleRef};
use jobs::Job;

/// Reads an order the actor may see: staff of its dealer (network admins of
/// any), the customer it belongs to; 404 for anyone else.
pub async fn load(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<repair_order::Model> {
    let m = repair_order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    actor.can_see_customer(m.dealer_id, m.customer_id)?;
    Ok(m)
}

/// An amount on the wire: CNY with two decimals.
pub fn money(m: crate::domain::Money) -> Decimal {
    m.to_decimal()
}

/// Sums on the wire.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SumsView {
    #[schema(value_type = String, format = "decimal")]
    pub labour: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts: Decimal,
    /// Before VAT.
    #[schema(value_type = String, format = "decimal")]
    pub net: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub vat: Decimal,
    /// What is paid.
    #[schema(value_type = String, format = "decimal")]
    pub gross: Decimal,
}

impl From<Sums> for SumsView {
    fn from(s: Sums) -> Self {
        SumsView {
            labour: money(s.labour),
            parts: money(s.parts),
            net: money(s.net),
            vat: money(s.vat),
            gross: money(s.gross),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayTypeSums {
    pub pay_type: PayType,
    #[serde(flatten)]
    pub sums: SumsView,
}

/// Totals per pay type and over all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TotalsView {
    pub by_pay_type: Vec<PayTypeSums>,
    pub total: SumsView,
}

impl From<&Totals> for TotalsView {
    fn from(t: &Totals) -> Self {
        TotalsView {
            by_pay_type: t
                .by_pay_type
                .iter()
                .map(|(p, s)| PayTypeSums {
                    pay_type: *p,
                    sums: (*s).into(),
                })
                .collect(),
            total: t.all.into(),
        }
    }
}

/// The repair order as the tablet and the app read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepairOrder {
    pub id: Uuid,
    pub dealer_id: Uuid,
    /// `RO` + local date + daily sequence.
    #[schema(example = "RO202703010007")]
    pub number: String,
    pub state: OrderState,
    pub customer: CustomerRef,
    pub vehicle: VehicleRef,
    pub appointment_id: Option<Uuid>,
    pub advisor_id: Option<Uuid>,
    pub odometer_km: Option<i64>,
    /// Percent, 0–100.
    pub fuel_level: Option<i32>,
    pub concerns: Vec<String>,
    pub notes: Option<String>,
    /// In the dealer's zone, with offset.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = String, format = DateTime)]
    pub arrived_at: DateTime<FixedOffset>,
    #[schema(value_type = String, format = DateTime)]
    pub reception_started_at: DateTime<FixedOffset>,
    /// Whether reception started within 5 minutes of arrival (the standard).
    pub received_within_5_minutes: bool,
    pub walkaround_done: bool,
    pub health_check_done: bool,
    /// The last estimate version frozen (0: none yet).
    pub estimate_version: i32,
    /// The estimate version the customer accepted last.
    pub accepted_estimate_version: Option<i32>,
    pub jobs: Vec<Job>,
    /// Over the jobs that are to be done (not declined, not awaiting approval).
    pub totals: TotalsView,
    pub qc_round: i32,
    pub qc_reworks: i32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub washed_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// The ETag of this order.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepairOrderPage {
    pub items: Vec<RepairOrderSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A line of the order list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RepairOrderSummary {
    pub id: Uuid,
    pub number: String,
    pub state: OrderState,
    pub customer: CustomerRef,
    pub vehicle: VehicleRef,
    pub advisor_id: Option<Uuid>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<DateTime<FixedOffset>>,
    #[schema(value_type = String, format = DateTime)]
    pub arrived_at: DateTime<FixedOffset>,
    pub version: i32,
}

pub fn local(tz: Tz, t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&tz).fixed_offset()
}

/// The lines that count towards the totals (`Approval::counts`).
pub fn counted(jobs: &[repair_order_job::Model]) -> impl Iterator<Item = &repair_order_job::Model> {
    jobs.iter().filter(|j| j.approval.counts())
}

/// The VAT rule of an order: the dealer's when it was opened.
pub fn vat_of(m: &repair_order::Model) -> totals::VatRule {
    totals::VatRule {
        basis_points: u32::try_from(m.vat_basis_points).unwrap_or(0),
        prices_include_vat: m.prices_include_vat,
    }
}

/// The totals of the counted lines.
pub fn totals_of(jobs: &[repair_order_job::Model], vat: totals::VatRule) -> AppResult<Totals> {
    let lines = counted(jobs)
        .map(jobs::priced)
        .collect::<AppResult<Vec<_>>>()?;
    totals::totals(&lines, vat).map_err(|e| AppError::field("jobs", e.to_string()))
}

async fn parties(
    db: &impl ConnectionTrait,
    rows: &[repair_order::Model],
) -> AppResult<(
    HashMap<Uuid, customer::Model>,
    HashMap<Uuid, vehicle::Model>,
)> {
    let cids: Vec<Uuid> = rows.iter().map(|r| r.customer_id).collect();
    let vids: Vec<Uuid> = rows.iter().map(|r| r.vehicle_id).collect();
    let customers = customer::Entity::find()
        .filter(customer::Column::Id.is_in(cids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let vehicles = vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(vids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    Ok((customers, vehicles))
}

fn refs(
    m: &repair_order::Model,
    customers: &HashMap<Uuid, customer::Model>,
    vehicles: &HashMap<Uuid, vehicle::Model>,
) -> AppResult<(CustomerRef, VehicleRef)> {
    let c = customers.get(&m.customer_id).ok_or(AppError::NotFound)?;
    let v = vehicles.get(&m.vehicle_id).ok_or(AppError::NotFound)?;
    Ok((
        CustomerRef {
            id: c.id,
            name: c.name.clone(),
            phone: c.phone.clone(),
        },
        VehicleRef {
            id: v.id,
            plate: v.plate.clone(),
            vin: v.vin.clone(),
            make: v.make.clone(),
            model: v.model.clone(),
        },
    ))
}

/// The jobs of an order, in the order they were added.
pub async fn jobs_of(
    db: &impl ConnectionTrait,
    order_id: Uuid,
) -> AppResult<Vec<repair_order_job::Model>> {
    Ok(repair_order_job::Entity::find()
        .filter(repair_order_job::Column::OrderId.eq(order_id))
        .order_by_asc(repair_order_job::Column::Id)
        .all(db)
        .await?)
}

/// The full view of one order.
pub async fn view(db: &impl ConnectionTrait, m: repair_order::Model) -> AppResult<RepairOrder> {
    let (_, tz) = crate::services::appointments::dealer_zone(db, m.dealer_id).await?;
    let rows = jobs_of(db, m.id).await?;
    let totals = totals_of(&rows, vat_of(&m))?;
    let minutes = jobs::clocked_minutes(db, m.id).await?;
    let jobs = rows
        .iter()
        .map(|j| jobs::view(j, minutes.get(&j.id).copied().unwrap_or(0)))
        .collect::<AppResult<Vec<_>>>()?;
    let (customers, vehicles) = parties(db, std::slice::from_ref(&m)).await?;
    let (customer, vehicle) = refs(&m, &customers, &vehicles)?;
    let concerns: Vec<String> = crate::services::from_stored(&m.concerns, "concerns")?;
    Ok(RepairOrder {
        id: m.id,
        dealer_id: m.dealer_id,
        number: m.number,
        state: m.state,
        customer,
        vehicle,
        appointment_id: m.appointment_id,
        advisor_id: m.advisor_id,
        odometer_km: m.odometer_km,
        fuel_level: m.fuel_level,
        concerns,
        notes: m.notes,
        promised_at: m.promised_at.map(|t| local(tz, t)),
        arrived_at: local(tz, m.arrived_at),
        reception_started_at: local(tz, m.reception_started_at),
        received_within_5_minutes: m.reception_started_at - m.arrived_at
            <= chrono::Duration::minutes(5),
        walkaround_done: m.walkaround.is_some(),
        health_check_done: m.health_check.is_some(),
        estimate_version: m.estimate_versions,
        accepted_estimate_version: m.accepted_estimate,
        jobs,
        totals: (&totals).into(),
        qc_round: m.qc_round,
        qc_reworks: m.qc_reworks,
        washed_at: m.washed_at.map(|t| local(tz, t)),
        delivered_at: m.delivered_at.map(|t| local(tz, t)),
        closed_at: m.closed_at.map(|t| local(tz, t)),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// One order, as the actor may see it.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<RepairOrder> {
    let m = load(db, actor, id).await?;
    journal::allow(actor, Act::Read)?;
    Ok(view(db, m).await?.seen_by(actor.sight()))
}

impl RepairOrder {
    /// As `sight` shows it: the customer masked for the roles that work on
    /// cars, parts or money (`domain::privacy`).
    pub fn seen_by(self, sight: Sight) -> RepairOrder {
        RepairOrder {
            customer: self.customer.seen_by(sight),
            ..self
        }
    }
}

impl RepairOrderSummary {
    pub fn seen_by(self, sight: Sight) -> RepairOrderSummary {
        RepairOrderSummary {
            customer: self.customer.seen_by(sight),
            ..self
        }
    }
}

/// Summaries of `rows`, loading their customers and vehicles in two queries.
pub async fn summaries(
    db: &impl ConnectionTrait,
    tz: Tz,
    rows: Vec<repair_order::Model>,
) -> AppResult<Vec<RepairOrderSummary>> {
    let (customers, vehicles) = parties(db, &rows).await?;
    rows.into_iter()
        .map(|m| {
            let (customer, vehicle) = refs(&m, &customers, &vehicles)?;
            Ok(RepairOrderSummary {
                id: m.id,
                number: m.number,
                state: m.state,
                customer,
                vehicle,
                advisor_id: m.advisor_id,
                promised_at: m.promised_at.map(|t| local(tz, t)),
                arrived_at: local(tz, m.arrived_at),
                version: m.version,
            })
        })
        .collect()
}
