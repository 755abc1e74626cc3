//! The jobs of an order: added, changed and removed while the estimate is
//! being made; after acceptance the list changes only through extra work.
//! A job with `pay_type: warranty` opens a warranty-case stub for the
//! warranty clerk.

use std::collections::HashMap;

use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::Write;
use super::journal::finish;
use super::settings::WorkshopSettings;
use super::{RepairOrder, money};
use crate::auth::Actor;
use crate::domain::money::{self as money_rules, Money};
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::totals::{PricedLine, PricedPart, line_amounts};
use crate::domain::repair_order::{
    Approval, ApprovalChannel, EventKind, JobOrigin, PayType, Priority, RepairJobState, Skill,
};
use crate::domain::{FieldErrors, validation};
use crate::entities::{appointment, clock_interval, repair_order_job, vehicle, warranty_case};
use crate::error::{AppError, AppResult};
use crate::services::idempotency::{self, IdempotencyKey, Outcome, Reservation};
use crate::services::{Version, from_stored, menu, to_stored};
use crate::state::AppState;

/// Part lines one job may carry.
pub const MAX_PARTS: usize = 50;
/// The most sold hours one job may carry.
const MAX_CENTIHOURS: i64 = 100_000;

/// A part on a job as the client writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    #[schema(example = "06L115562B")]
    pub part_number: String,
    #[schema(example = "机油滤清器")]
    pub name: String,
    #[schema(value_type = String, format = "decimal", example = "1")]
    pub quantity: Decimal,
    /// CNY, 2 decimals.
    #[schema(value_type = String, format = "decimal", example = "68.00")]
    pub unit_price: Decimal,
}

/// A part as stored with the job, and as a frozen estimate shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = EstimatePart)]
pub struct StoredPart {
    #[schema(example = "06L115562B")]
    pub part_number: String,
    #[schema(example = "机油滤清器")]
    pub name: String,
    #[schema(value_type = String, format = "decimal", example = "1")]
    pub quantity: Decimal,
    /// The unit price in fen (CNY cents), as frozen with the estimate.
    #[schema(example = 6800)]
    pub unit_price_cents: i64,
}

/// A part on the wire, with its amount.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartView {
    pub part_number: String,
    pub name: String,
    #[schema(value_type = String, format = "decimal")]
    pub quantity: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub unit_price: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub amount: Decimal,
}

/// `POST /repair-orders/{id}/jobs`: a menu item by code, or a described job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// A maintenance-menu code: description, hours, parts and package price come from the menu.
    pub menu_code: Option<String>,
    /// Required without `menu_code`.
    pub description: Option<String>,
    /// Sold (flat-rate) hours, more than 0, at most 2 decimals; required without `menu_code`.
    #[schema(value_type = Option<String>, format = "decimal", example = "1.5")]
    pub labour_hours: Option<Decimal>,
    /// CNY per hour; default: the dealer's rate for the skill.
    #[schema(value_type = Option<String>, format = "decimal", example = "300.00")]
    pub labour_rate: Option<Decimal>,
    #[serde(default = "mechanical")]
    pub skill: Skill,
    #[serde(default = "customer_pays")]
    pub pay_type: PayType,
    /// Parts beyond a menu item's own.
    #[serde(default)]
    pub parts: Vec<PartInput>,
}

fn mechanical() -> Skill {
    Skill::Mechanical
}
fn customer_pays() -> PayType {
    PayType::Customer
}

/// `PATCH …/jobs/{job_id}` (`If-Match`: the job's version), before acceptance.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    pub description: Option<String>,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub labour_hours: Option<Decimal>,
    #[schema(value_type = Option<String>, format = "decimal")]
    pub labour_rate: Option<Decimal>,
    pub skill: Option<Skill>,
    pub pay_type: Option<PayType>,
    pub parts: Option<Vec<PartInput>>,
}

/// A job as the tablet reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub menu_code: Option<String>,
    pub description: String,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub labour_rate: Decimal,
    /// A menu package's price, when the labour is charged at it.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub package_price: Option<Decimal>,
    pub skill: Skill,
    pub pay_type: PayType,
    pub parts: Vec<PartView>,
    #[schema(value_type = String, format = "decimal")]
    pub labour_amount: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts_amount: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub total: Decimal,
    pub origin: JobOrigin,
    pub approval: Approval,
    pub approval_channel: Option<ApprovalChannel>,
    pub approval_at: Option<chrono::DateTime<Utc>>,
    /// Who recorded the answer: the customer in the app, or the advisor (phone, tablet).
    pub approval_by: Option<Uuid>,
    /// What the customer said (a phone answer always has one).
    pub approval_note: Option<String>,
    pub health_item_code: Option<String>,
    pub state: RepairJobState,
    pub technician_id: Option<Uuid>,
    pub priority: Priority,
    pub dispatched_at: Option<chrono::DateTime<Utc>>,
    /// Minutes clocked on the job so far (closed intervals).
    pub clocked_minutes: i64,
    pub diagnosis: Option<String>,
    /// The ETag of this job, for `If-Match`.
    pub version: i32,
}

pub fn parts_of(j: &repair_order_job::Model) -> AppResult<Vec<StoredPart>> {
    from_stored(&j.parts, "job parts")
}

/// The job as the totals see it.
pub fn priced(j: &repair_order_job::Model) -> AppResult<PricedLine> {
    Ok(PricedLine {
        pay_type: j.pay_type,
        labour_centihours: j.labour_centihours,
        labour_rate: Money::from_cents(j.labour_rate_cents),
        package_price: j.package_price_cents.map(Money::from_cents),
        parts: parts_of(j)?
            .into_iter()
            .map(|p| PricedPart {
                quantity: p.quantity,
                unit_price: Money::from_cents(p.unit_price_cents),
            })
            .collect(),
    })
}

pub fn hours(centihours: i32) -> Decimal {
    Decimal::new(i64::from(centihours), 2).normalize()
}

pub fn view(j: &repair_order_job::Model, clocked_minutes: i64) -> AppResult<Job> {
    let line = priced(j)?;
    let amounts = line_amounts(&line).map_err(|e| AppError::field("jobs", e.to_string()))?;
    let parts = parts_of(j)?
        .into_iter()
        .map(|p| {
            let amount = line_amounts(&PricedLine {
                pay_type: j.pay_type,
                labour_centihours: 0,
                labour_rate: Money::ZERO,
                package_price: None,
                parts: vec![PricedPart {
                    quantity: p.quantity,
                    unit_price: Money::from_cents(p.unit_price_cents),
                }],
            })
            .map(|a| a.parts)
            .unwrap_or(Money::ZERO);
            PartView {
                part_number: p.part_number,
                name: p.name,
                quantity: p.quantity.normalize(),
                unit_price: money(Money::from_cents(p.unit_price_cents)),
                amount: money(amount),
            }
        })
        .collect();
    Ok(Job {
        id: j.id,
        menu_code: j.menu_code.clone(),
        description: j.description.clone(),
        labour_hours: hours(j.labour_centihours),
        labour_rate: money(Money::from_cents(j.labour_rate_cents)),
        package_price: j.package_price_cents.map(|c| money(Money::from_cents(c))),
        skill: j.skill,
        pay_type: j.pay_type,
        parts,
        labour_amount: money(amounts.labour),
        parts_amount: money(amounts.parts),
        total: money(amounts.total),
        origin: j.origin,
        approval: j.approval,
        approval_channel: j.approval_channel,
        approval_at: j.approval_at,
        approval_by: j.approval_by,
        approval_note: j.approval_note.clone(),
        health_item_code: j.health_item_code.clone(),
        state: j.state,
        technician_id: j.technician_id,
        priority: j.priority,
        dispatched_at: j.dispatched_at,
        clocked_minutes,
        diagnosis: j.diagnosis.clone(),
        version: j.version,
    })
}

/// Minutes clocked per job of an order (closed intervals).
pub async fn clocked_minutes(
    db: &impl ConnectionTrait,
    order_id: Uuid,
) -> AppResult<HashMap<Uuid, i64>> {
    let rows = clock_interval::Entity::find()
        .filter(clock_interval::Column::OrderId.eq(order_id))
        .all(db)
        .await?;
    let mut m = HashMap::new();
    for r in rows {
        if let Some(end) = r.ended_at {
            *m.entry(r.job_id).or_insert(0) += (end - r.started_at).num_minutes();
        }
    }
    Ok(m)
}

/// Hours as the client writes them: more than 0, at most 1000, 2 decimals.
pub fn centihours(h: Decimal) -> Result<i32, String> {
    if h <= Decimal::ZERO || h.normalize().scale() > 2 {
        return Err("must be more than 0 with at most 2 decimals".into());
    }
    // checked: 79228162514264337593543950335 × 100 panics
    h.checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|c| c.to_i64())
        .filter(|c| *c <= MAX_CENTIHOURS)
        .and_then(|c| i32::try_from(c).ok())
        .ok_or_else(|| "must be at most 1000".into())
}

pub fn parts(list: &[PartInput], field: &str, e: &mut FieldErrors) -> Vec<StoredPart> {
    if list.len() > MAX_PARTS {
        e.add(field, format!("must list at most {MAX_PARTS}"));
        return Vec::new();
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let f = |n: &str| format!("{field}[{i}].{n}");
            let number = e.check(&f("part_number"), validation::text(&p.part_number, 40));
            let name = e.check(&f("name"), validation::text(&p.name, 200));
            let qty = e.check(&f("quantity"), money_rules::quantity(p.quantity));
            let price = e.check(&f("unit_price"), Money::parse(p.unit_price));
            Some(StoredPart {
                part_number: number?,
                name: name?,
                quantity: qty?.normalize(),
                unit_price_cents: price?.cents(),
            })
        })
        .collect()
}

/// A job ready to be inserted.
#[derive(Debug, Clone)]
pub struct Draft {
    pub menu_code: Option<String>,
    pub description: String,
    pub labour_centihours: i32,
    pub labour_rate_cents: i64,
    pub package_price_cents: Option<i64>,
    pub skill: Skill,
    pub pay_type: PayType,
    pub parts: Vec<StoredPart>,
    pub origin: JobOrigin,
    pub approval: Approval,
    pub health_item_code: Option<String>,
}

/// A menu item's job: its hours, its parts (included in the package price).
fn from_menu(m: &crate::entities::menu_item::Model, ws: &WorkshopSettings) -> AppResult<Draft> {
    Ok(Draft {
        menu_code: Some(m.code.clone()),
        description: m.name_zh.clone(),
        labour_centihours: i32::try_from((i64::from(m.labour_minutes) * 100 + 30) / 60)
            .unwrap_or(i32::MAX),
        labour_rate_cents: ws.rate(Skill::Mechanical).cents(),
        package_price_cents: Some(m.price_cents),
        skill: Skill::Mechanical,
        pay_type: PayType::Customer,
        parts: menu::parts_of(m)?
            .into_iter()
            .map(|p| StoredPart {
                part_number: p.part_number,
                name: p.name,
                quantity: p.quantity,
                unit_price_cents: 0,
            })
            .collect(),
        origin: JobOrigin::Estimate,
        approval: Approval::Estimate,
        health_item_code: None,
    })
}

/// The booked services of an appointment, as jobs (the snapshot taken at booking).
pub fn from_appointment(a: &appointment::Model, ws: &WorkshopSettings) -> AppResult<Vec<Draft>> {
    let lines = crate::services::appointments::services_of(a)?;
    Ok(lines
        .into_iter()
        .map(|l| Draft {
            menu_code: Some(l.code),
            description: l.name_zh,
            labour_centihours: i32::try_from((i64::from(l.labour_minutes) * 100 + 30) / 60)
                .unwrap_or(i32::MAX),
            labour_rate_cents: ws.rate(Skill::Mechanical).cents(),
            package_price_cents: Some(l.price_cents),
            skill: Skill::Mechanical,
            pay_type: PayType::Customer,
            parts: l
                .parts
                .into_iter()
                .map(|p| StoredPart {
                    part_number: p.part_number,
                    name: p.name,
                    quantity: p.quantity,
                    unit_price_cents: 0,
                })
                .collect(),
            origin: JobOrigin::Estimate,
            approval: Approval::Estimate,
            health_item_code: None,
        })
        .collect())
}

/// Checks a new job and prices it from the menu and the settings.
pub async fn draft(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    input: &NewJob,
    ws: &WorkshopSettings,
) -> AppResult<Draft> {
    let mut e = FieldErrors::new();
    let extra = parts(&input.parts, "parts", &mut e);
    let rate = input
        .labour_rate
        .and_then(|r| e.check("labour_rate", Money::parse(r)));
    let hours = input
        .labour_hours
        .and_then(|h| e.check("labour_hours", centihours(h)));
    let description = input
        .description
        .as_deref()
        .and_then(|d| e.check("description", validation::text(d, 500)));
    e.into_result()?;
    let rate = rate.unwrap_or_else(|| ws.rate(input.skill)).cents();
    if let Some(code) = &input.menu_code {
        let code = validation::code(code).map_err(|m| AppError::field("menu_code", m))?;
        let item = menu::by_codes(db, dealer_id, std::slice::from_ref(&code))
            .await?
            .pop()
            .flatten()
            .ok_or_else(|| AppError::field("menu_code", "is not an active menu item"))?;
        let mut d = from_menu(&item, ws)?;
        d.skill = input.skill;
        d.pay_type = input.pay_type;
        d.labour_rate_cents = rate;
        if let Some(desc) = description {
            d.description = desc;
        }
        if let Some(h) = hours {
            d.labour_centihours = h;
        }
        d.parts.extend(extra);
        return Ok(d);
    }
    let mut e = FieldErrors::new();
    if description.is_none() {
        e.add("description", "is required without menu_code");
    }
    if hours.is_none() {
        e.add("labour_hours", "is required without menu_code");
    }
    e.into_result()?;
    Ok(Draft {
        menu_code: None,
        description: description.unwrap_or_default(),
        labour_centihours: hours.unwrap_or(0),
        labour_rate_cents: rate,
        package_price_cents: None,
        skill: input.skill,
        pay_type: input.pay_type,
        parts: extra,
        origin: JobOrigin::Estimate,
        approval: Approval::Estimate,
        health_item_code: None,
    })
}

/// Inserts a job into the order of `w` and journals it; a warranty job opens its case stub.
pub async fn insert(
    w: &mut Write,
    d: Draft,
    v: &vehicle::Model,
) -> AppResult<repair_order_job::Model> {
    let id = Uuid::now_v7();
    let m = repair_order_job::Model {
        id,
        dealer_id: w.order.dealer_id,
        order_id: w.order.id,
        menu_code: d.menu_code,
        description: d.description,
        labour_centihours: d.labour_centihours,
        labour_rate_cents: d.labour_rate_cents,
        package_price_cents: d.package_price_cents,
        skill: d.skill,
        pay_type: d.pay_type,
        parts: to_stored(&d.parts, "job parts")?,
        origin: d.origin,
        approval: d.approval,
        approval_by: None,
        approval_at: None,
        approval_channel: None,
        approval_note: None,
        health_item_code: d.health_item_code,
        state: RepairJobState::Pending,
        technician_id: None,
        priority: Priority::Normal,
        dispatched_at: None,
        diagnosis: None,
        version: 1,
        created_at: w.now,
        updated_at: w.now,
    };
    // the amounts must add up before anything is written
    line_amounts(&priced(&m)?).map_err(|e| AppError::field("parts", e.to_string()))?;
    repair_order_job::Entity::insert(repair_order_job::ActiveModel::from(m.clone()))
        .exec_without_returning(&w.txn)
        .await?;
    if m.pay_type == PayType::Warranty {
        open_warranty_case(w, &m, v).await?;
    }
    // the same job again within the window: a comeback (返修), dispatched first
    crate::services::comebacks::on_job(w, &m).await?;
    let kind = match m.origin {
        JobOrigin::Estimate => EventKind::JobAdded,
        JobOrigin::ExtraWork => EventKind::ExtraWorkProposed,
    };
    w.event(
        kind,
        serde_json::json!({"job_id": m.id, "description": m.description, "pay_type": m.pay_type}),
    )
    .await?;
    Ok(m)
}

/// The warranty clerk's case: VIN, mileage, the failed part, a claim
/// number, the in-service date of the vehicle (see `services::warranty`).
async fn open_warranty_case(
    w: &mut Write,
    j: &repair_order_job::Model,
    v: &vehicle::Model,
) -> AppResult<()> {
    let failed_part = parts_of(j)?
        .first()
        .map(|p| format!("{} {}", p.part_number, p.name));
    crate::services::warranty::cases::open_in(
        &w.txn,
        crate::services::warranty::cases::Opening {
            dealer_id: w.order.dealer_id,
            order: &w.order,
            job_id: j.id,
            vehicle: v,
            failed_part,
            actor_id: Some(w.actor_id),
            now: w.now,
        },
        &[],
        &[],
        None,
    )
    .await?;
    Ok(())
}

async fn vehicle_of(db: &impl ConnectionTrait, w: &Write) -> AppResult<vehicle::Model> {
    vehicle::Entity::find_by_id(w.order.vehicle_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

fn estimating(w: &Write) -> AppResult<()> {
    if w.order.state.is_estimating() {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "the estimate of this repair order is accepted (it is {}): jobs change only through extra work",
            w.order.state
        )))
    }
}

/// Adds a job while the estimate is being made.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: NewJob,
    key: Option<&IdempotencyKey>,
) -> AppResult<Outcome<Box<RepairOrder>>> {
    idempotency::once(
        &state.db,
        actor,
        key,
        &(order_id, &input),
        state.clock.now(),
        async |r| add_now(state, actor, order_id, &input, r).await,
    )
    .await
}

async fn add_now(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    input: &NewJob,
    r: Option<&Reservation>,
) -> AppResult<Box<RepairOrder>> {
    let ws = super::settings::of_dealer(&state.db, actor.dealer_id).await?;
    let d = draft(&state.db, actor.dealer_id, input, &ws).await?;
    let mut w = Write::begin(state, actor, order_id, Act::Edit).await?;
    estimating(&w)?;
    let v = vehicle_of(&w.txn, &w).await?;
    insert(&mut w, d, &v).await?;
    Ok(Box::new(finish(w, state, r, 201).await?))
}

async fn lock_job(w: &Write, job_id: Uuid) -> AppResult<repair_order_job::Model> {
    crate::services::lock_row::<repair_order_job::Entity>(
        &w.txn,
        repair_order_job::Column::Id,
        repair_order_job::Column::Version,
        job_id,
    )
    .await?
    .filter(|j| j.order_id == w.order.id)
    .ok_or(AppError::NotFound)
}

/// Changes a job before acceptance (`If-Match`: the job's version).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    job_id: Uuid,
    version: Version,
    patch: JobPatch,
) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, order_id, Act::Edit).await?;
    let j = lock_job(&w, job_id).await?;
    if j.version != version.0 {
        return Err(AppError::PreconditionFailed);
    }
    estimating(&w)?;
    let mut e = FieldErrors::new();
    let mut q = repair_order_job::Entity::update_many();
    if let Some(d) = &patch.description
        && let Some(d) = e.check("description", validation::text(d, 500))
    {
        q = q.col_expr(repair_order_job::Column::Description, Expr::value(d));
    }
    if let Some(h) = patch.labour_hours
        && let Some(h) = e.check("labour_hours", centihours(h))
    {
        q = q.col_expr(repair_order_job::Column::LabourCentihours, Expr::value(h));
    }
    if let Some(r) = patch.labour_rate
        && let Some(r) = e.check("labour_rate", Money::parse(r))
    {
        q = q.col_expr(
            repair_order_job::Column::LabourRateCents,
            Expr::value(r.cents()),
        );
    }
    if let Some(s) = patch.skill {
        q = q.col_expr(repair_order_job::Column::Skill, Expr::value(s));
    }
    if let Some(p) = patch.pay_type {
        if p != j.pay_type && (p == PayType::Warranty || j.pay_type == PayType::Warranty) {
            e.add(
                "pay_type",
                "a warranty job cannot change to or from warranty: remove it and add it again",
            );
        }
        q = q.col_expr(repair_order_job::Column::PayType, Expr::value(p));
    }
    if let Some(list) = &patch.parts {
        let stored = parts(list, "parts", &mut e);
        q = q.col_expr(
            repair_order_job::Column::Parts,
            Expr::value(to_stored(&stored, "job parts")?),
        );
    }
    e.into_result()?;
    q.col_expr(
        repair_order_job::Column::Version,
        Expr::value(j.version + 1),
    )
    .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(w.now))
    .filter(repair_order_job::Column::Id.eq(j.id))
    .exec(&w.txn)
    .await?;
    let fresh = repair_order_job::Entity::find_by_id(j.id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound)?;
    line_amounts(&priced(&fresh)?).map_err(|e| AppError::field("parts", e.to_string()))?;
    w.event(EventKind::JobUpdated, serde_json::json!({"job_id": j.id}))
        .await?;
    finish(w, state, None, 200).await
}

/// Removes a job before acceptance (`If-Match`: the job's version).
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    job_id: Uuid,
    version: Version,
) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, order_id, Act::Edit).await?;
    let j = lock_job(&w, job_id).await?;
    if j.version != version.0 {
        return Err(AppError::PreconditionFailed);
    }
    estimating(&w)?;
    // a draft claim goes with its job; one the clerk or manager has decided
    // on stays. The delete itself is conditional on the draft state: on
    // PostgreSQL it waits for a decision being made on the case right now
    // and then finds it decided, so the job stays (409) rather than taking
    // a claim the clerk was just told is decided.
    warranty_case::Entity::delete_many()
        .filter(warranty_case::Column::JobId.eq(j.id))
        .filter(warranty_case::Column::State.eq(crate::domain::warranty::WarrantyState::Draft))
        .exec(&w.txn)
        .await?;
    if let Some(c) = warranty_case::Entity::find()
        .filter(warranty_case::Column::JobId.eq(j.id))
        .one(&w.txn)
        .await?
    {
        return Err(AppError::Conflict(format!(
            "the job's warranty case is {}: it cannot be removed",
            c.state
        )));
    }
    repair_order_job::Entity::delete_by_id(j.id)
        .exec(&w.txn)
        .await?;
    crate::services::comebacks::on_job_removed(&w, &j).await?;
    w.event(
        EventKind::JobRemoved,
        serde_json::json!({"job_id": j.id, "description": j.description}),
    )
    .await?;
    finish(w, state, None, 200).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centihours_refuse_the_largest_decimal_instead_of_panicking() {
        assert_eq!(centihours(Decimal::MAX), Err("must be at most 1000".into()));
        assert!(centihours(Decimal::new(100_001, 2)).is_err());
        assert_eq!(centihours(Decimal::new(100_000, 2)), Ok(100_000));
    }
}
