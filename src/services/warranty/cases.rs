//! Warranty cases: opened by a job with `pay_type: warranty` (see
//! `repair_orders::jobs::insert`, exactly once per job by the unique index
//! on `job_id`) or by hand for a job of an order; their facts edited under
//! `If-Match`; moved through `domain::warranty::step` by the roles of
//! `domain::warranty::roles_for`, each step audited.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ClaimedPart, LabourOp, amount, check_ops, check_parts, event, next_claim_number};
use crate::auth::Actor;
use crate::config::WarrantySettings;
use crate::domain::validation::{optional_multiline, optional_text};
use crate::domain::warranty::{
    self as rules, WarrantyAction, WarrantyDecision, WarrantyPartState, WarrantyState,
};
use crate::domain::{FieldErrors, Money};
use crate::entities::{
    repair_order, repair_order_job, repair_order_photo, vehicle, warranty_case,
    warranty_case_event, warranty_part,
};
use crate::error::{AppError, AppResult};
use crate::services::{Version, col_plus, decode_cursor, lock_row, page_limit};
use crate::state::AppState;

pub use crate::domain::warranty::READERS;
use crate::domain::warranty::{CASE_READERS, editable};

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyListQuery {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Only cases in this state.
    pub state: Option<WarrantyState>,
}

/// One step of a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarrantyEvent {
    /// `opened`, `edited`, `remittance` or an action's name.
    pub action: String,
    pub from_state: Option<WarrantyState>,
    pub to_state: WarrantyState,
    /// None when a warranty job opened the case.
    pub actor_id: Option<Uuid>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A warranty case (索赔): the claim's facts, decision, amounts and steps.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarrantyCase {
    pub id: Uuid,
    pub state: WarrantyState,
    /// Unique per dealer; the brand's remittance names it.
    #[schema(example = "WC000042")]
    pub claim_number: Option<String>,
    pub order_id: Uuid,
    #[schema(example = "RO202703010007")]
    pub order_number: String,
    pub job_id: Uuid,
    pub vin: String,
    /// The odometer when the car came in.
    pub mileage_km: Option<i32>,
    /// When the car went into service (its purchase, else first registration, unless edited).
    pub in_service_date: Option<NaiveDate>,
    /// The job's first part (`part_number name`) unless edited.
    pub failed_part: Option<String>,
    /// The part that caused the failure (the technician's or foreman's finding).
    pub causal_part: Option<String>,
    /// The warranty job.
    pub job_description: String,
    /// The technician's finding (the job's last clock-off note unless edited).
    pub diagnosis: Option<String>,
    /// The order's photos (`/api/v1/repair-orders/{order}/photos/{photo}`), oldest first.
    pub photo_urls: Vec<String>,
    pub labour_ops: Vec<LabourOp>,
    pub parts: Vec<ClaimedPart>,
    pub decision: Option<WarrantyDecision>,
    /// The day the time cover ends (exclusive), when decided under the terms.
    pub covered_until: Option<NaiveDate>,
    pub decision_note: Option<String>,
    /// The brand's rate per flat-rate hour: fixed at submission, else the make's current terms.
    #[schema(value_type = String, format = "decimal")]
    pub labour_rate: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub labour_amount: Decimal,
    #[schema(value_type = String, format = "decimal")]
    pub parts_amount: Decimal,
    /// Labour plus parts: fixed at submission (and re-submission).
    #[schema(value_type = String, format = "decimal")]
    pub claim_amount: Decimal,
    /// What the brand approved or paid.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub approved_amount: Option<Decimal>,
    /// Claimed minus paid, when the brand paid less.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub short_paid: Option<Decimal>,
    pub rejection_reason: Option<String>,
    pub work_done_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Every step, oldest first.
    pub events: Vec<WarrantyEvent>,
    /// Send it back in `If-Match` (also the ETag).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of warranty cases, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WarrantyCasePage {
    pub items: Vec<WarrantyCase>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A case opened by hand for a job of an order (the advisor or the clerk).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarrantyCase {
    pub order_id: Uuid,
    /// A job of the order that has no case yet.
    pub job_id: Uuid,
    pub in_service_date: Option<NaiveDate>,
    pub failed_part: Option<String>,
    #[serde(default)]
    pub labour_ops: Vec<LabourOp>,
    #[serde(default)]
    pub parts: Vec<ClaimedPart>,
}

/// Changes to a case: only the fields sent change. The advisor and the
/// clerk edit the facts (`mileage_km` and `in_service_date` only while
/// `draft`, the rest until submitted and again after a rejection); the
/// technician and the foreman `diagnosis` and `causal_part`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyCasePatch {
    pub mileage_km: Option<i32>,
    pub in_service_date: Option<NaiveDate>,
    pub failed_part: Option<String>,
    pub labour_ops: Option<Vec<LabourOp>>,
    pub parts: Option<Vec<ClaimedPart>>,
    pub diagnosis: Option<String>,
    pub causal_part: Option<String>,
}

/// A step's details.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyStep {
    /// The reason: required to `reject` and to `resubmit`; optional otherwise.
    pub note: Option<String>,
    /// `finish_work` with parts: where the claimed parts are stored.
    pub storage_location: Option<String>,
    /// `approve` / `reimburse`: what the brand approved or paid (default: the claim amount).
    #[schema(value_type = Option<String>, format = "decimal")]
    pub amount: Option<Decimal>,
}

/// The dealer's warranty cases, oldest first, in cursor pages.
pub async fn list(
    db: &impl ConnectionTrait,
    settings: &WarrantySettings,
    actor: &Actor,
    q: WarrantyListQuery,
) -> AppResult<WarrantyCasePage> {
    actor.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let mut s =
        warranty_case::Entity::find().filter(warranty_case::Column::DealerId.eq(actor.dealer_id));
    if let Some(c) = q.cursor.as_deref() {
        s = s.filter(warranty_case::Column::Id.gt(decode_cursor(c)?));
    }
    if let Some(st) = q.state {
        s = s.filter(warranty_case::Column::State.eq(st));
    }
    let mut rows = s
        .order_by_asc(warranty_case::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = crate::services::next_page(&mut rows, limit, |r| r.id);
    Ok(WarrantyCasePage {
        items: views(db, settings, rows).await?,
        next_cursor,
    })
}

/// One case of the actor's dealer (404 otherwise).
pub async fn get(
    db: &impl ConnectionTrait,
    settings: &WarrantySettings,
    actor: &Actor,
    id: Uuid,
) -> AppResult<WarrantyCase> {
    actor.require(CASE_READERS)?;
    let row = find(db, actor, id).await?;
    views(db, settings, vec![row])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

async fn find(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
) -> AppResult<warranty_case::Model> {
    warranty_case::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| c.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)
}

/// What a warranty job's case starts from.
pub(crate) struct Opening<'a> {
    pub dealer_id: Uuid,
    pub order: &'a repair_order::Model,
    pub job_id: Uuid,
    pub vehicle: &'a vehicle::Model,
    pub failed_part: Option<String>,
    pub actor_id: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// Opens a case in the caller's transaction: a claim number, the
/// in-service date from the vehicle, the `opened` step. A second case for
/// the same job fails on the unique index (409).
pub(crate) async fn open_in(
    txn: &impl ConnectionTrait,
    o: Opening<'_>,
    labour_ops: &[LabourOp],
    parts: &[ClaimedPart],
    in_service_date: Option<NaiveDate>,
) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    let number = next_claim_number(txn, o.dealer_id).await?;
    warranty_case::Entity::insert(warranty_case::ActiveModel {
        id: Set(id),
        dealer_id: Set(o.dealer_id),
        order_id: Set(o.order.id),
        job_id: Set(o.job_id),
        vin: Set(o.vehicle.vin.clone()),
        mileage_km: Set(o.order.odometer_km.and_then(|k| i32::try_from(k).ok())),
        failed_part: Set(o.failed_part),
        diagnosis: Set(None),
        state: Set(WarrantyState::Draft),
        created_at: Set(o.now),
        updated_at: Set(o.now),
        claim_number: Set(Some(number)),
        in_service_date: Set(in_service_date.or(o
            .vehicle
            .purchase_date
            .or(o.vehicle.first_registration_date))),
        causal_part: Set(None),
        labour_ops: Set(super::write_json(&labour_ops)?),
        parts: Set(super::write_json(&parts)?),
        decision: Set(None),
        covered_until: Set(None),
        decision_note: Set(None),
        labour_rate_cents: Set(None),
        claim_cents: Set(None),
        approved_cents: Set(None),
        short_paid_cents: Set(None),
        rejection_reason: Set(None),
        work_done_at: Set(None),
        submitted_at: Set(None),
        version: Set(1),
    })
    .exec_without_returning(txn)
    .await?;
    event(
        txn,
        o.dealer_id,
        id,
        "opened",
        None,
        WarrantyState::Draft,
        o.actor_id,
        None,
        o.now,
    )
    .await?;
    Ok(id)
}

/// Opens a case by hand for a job of an order.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: NewWarrantyCase,
) -> AppResult<WarrantyCase> {
    actor.require(rules::FACT_EDITORS)?;
    let mut e = FieldErrors::new();
    let ops = check_ops(&input.labour_ops, &mut e);
    let parts = check_parts(&input.parts, &mut e);
    let failed_part = e
        .check(
            "failed_part",
            optional_text(input.failed_part.as_deref(), 200),
        )
        .flatten();
    let now = state.clock.now();
    if let Some(d) = input.in_service_date {
        let today = crate::services::dealers::today(&state.db, actor.dealer_id, now).await?;
        e.check(
            "in_service_date",
            crate::domain::dates::not_future(d, today),
        );
    }
    e.into_result()?;
    let txn = state.db.begin().await?;
    let order = lock_row::<repair_order::Entity>(
        &txn,
        repair_order::Column::Id,
        repair_order::Column::Id,
        input.order_id,
    )
    .await?
    .filter(|o| o.dealer_id == actor.dealer_id)
    .ok_or_else(|| AppError::field("order_id", "no repair order of this dealer has this id"))?;
    let job = repair_order_job::Entity::find_by_id(input.job_id)
        .one(&txn)
        .await?
        .filter(|j| j.order_id == order.id)
        .ok_or_else(|| AppError::field("job_id", "the order has no job with this id"))?;
    if warranty_case::Entity::find()
        .filter(warranty_case::Column::JobId.eq(job.id))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "this job already has a warranty case".into(),
        ));
    }
    let vehicle = vehicle::Entity::find_by_id(order.vehicle_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let id = open_in(
        &txn,
        Opening {
            dealer_id: actor.dealer_id,
            order: &order,
            job_id: job.id,
            vehicle: &vehicle,
            failed_part,
            actor_id: Some(actor.id),
            now,
        },
        &ops,
        &parts,
        input.in_service_date,
    )
    .await?;
    txn.commit().await?;
    get(&state.db, &state.settings.warranty, actor, id).await
}

/// Edits a case under `If-Match`; each edit is an `edited` step naming the fields.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    expected: Version,
    p: WarrantyCasePatch,
) -> AppResult<WarrantyCase> {
    let facts = p.mileage_km.is_some()
        || p.in_service_date.is_some()
        || p.failed_part.is_some()
        || p.labour_ops.is_some()
        || p.parts.is_some();
    let findings = p.diagnosis.is_some() || p.causal_part.is_some();
    if facts {
        actor.require(rules::FACT_EDITORS)?;
    }
    if findings {
        actor.require(rules::DIAGNOSIS_EDITORS)?;
    }
    if !facts && !findings {
        actor.require(CASE_READERS)?;
    }
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let c = lock_row::<warranty_case::Entity>(
        &txn,
        warranty_case::Column::Id,
        warranty_case::Column::Version,
        id,
    )
    .await?
    .filter(|c| c.dealer_id == actor.dealer_id)
    .ok_or(AppError::NotFound)?;
    if c.version != expected.0 {
        return Err(AppError::PreconditionFailed);
    }
    if !editable(c.state) {
        return Err(AppError::Conflict(format!(
            "a {} warranty case cannot be edited",
            c.state
        )));
    }
    let mut e = FieldErrors::new();
    let mut q = warranty_case::Entity::update_many();
    let mut changed = vec![];
    if let Some(k) = p.mileage_km {
        if c.state != WarrantyState::Draft {
            e.add(
                "mileage_km",
                "changes only while the case is draft (it was decided on)",
            );
        } else if !(0..=2_000_000).contains(&k) {
            e.add("mileage_km", "must be 0 to 2000000");
        }
        q = q.col_expr(warranty_case::Column::MileageKm, Expr::value(k));
        changed.push("mileage_km");
    }
    if let Some(d) = p.in_service_date {
        if c.state != WarrantyState::Draft {
            e.add(
                "in_service_date",
                "changes only while the case is draft (it was decided on)",
            );
        }
        let today = crate::services::dealers::today(&txn, c.dealer_id, now).await?;
        e.check(
            "in_service_date",
            crate::domain::dates::not_future(d, today),
        );
        q = q.col_expr(warranty_case::Column::InServiceDate, Expr::value(d));
        changed.push("in_service_date");
    }
    if let Some(v) = &p.failed_part {
        let v = e
            .check("failed_part", optional_text(Some(v), 200))
            .flatten();
        q = q.col_expr(warranty_case::Column::FailedPart, Expr::value(v));
        changed.push("failed_part");
    }
    if let Some(v) = &p.causal_part {
        let v = e
            .check("causal_part", optional_text(Some(v), 200))
            .flatten();
        q = q.col_expr(warranty_case::Column::CausalPart, Expr::value(v));
        changed.push("causal_part");
    }
    if let Some(v) = &p.diagnosis {
        let v = e
            .check("diagnosis", optional_multiline(Some(v), 2000))
            .flatten();
        q = q.col_expr(warranty_case::Column::Diagnosis, Expr::value(v));
        changed.push("diagnosis");
    }
    if let Some(list) = &p.labour_ops {
        let ops = check_ops(list, &mut e);
        q = q.col_expr(
            warranty_case::Column::LabourOps,
            Expr::value(super::write_json(&ops)?),
        );
        changed.push("labour_ops");
    }
    if let Some(list) = &p.parts {
        let parts = check_parts(list, &mut e);
        q = q.col_expr(
            warranty_case::Column::Parts,
            Expr::value(super::write_json(&parts)?),
        );
        changed.push("parts");
    }
    e.into_result()?;
    if !changed.is_empty() {
        let n = q
            .col_expr(
                warranty_case::Column::Version,
                col_plus(warranty_case::Column::Version, 1),
            )
            .col_expr(warranty_case::Column::UpdatedAt, Expr::value(now))
            .filter(warranty_case::Column::Id.eq(c.id))
            .filter(warranty_case::Column::Version.eq(c.version))
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            return Err(AppError::PreconditionFailed);
        }
        event(
            &txn,
            c.dealer_id,
            c.id,
            "edited",
            Some(c.state),
            c.state,
            Some(actor.id),
            Some(changed.join(", ")),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    get(&state.db, &state.settings.warranty, actor, id).await
}

/// The dealer's local date of `t`.
async fn local_date(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    t: DateTime<Utc>,
) -> AppResult<NaiveDate> {
    let (_, tz) = crate::services::appointments::dealer_zone(db, dealer_id).await?;
    Ok(t.with_timezone(&tz).date_naive())
}

async fn make_of(db: &impl ConnectionTrait, order_id: Uuid) -> AppResult<String> {
    let order = repair_order::Entity::find_by_id(order_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(vehicle::Entity::find_by_id(order.vehicle_id)
        .one(db)
        .await?
        .map(|v| v.make)
        .unwrap_or_default())
}

/// Takes `action` on a case under `If-Match`: the role of the action's row
/// in `roles_for`, the state machine's next state, the action's own checks;
/// one conditional update and one audit row.
/// The brand pays at most what was claimed: more is a typo (422 naming `amount`).
fn more_than_claimed(amount: i64, claimed: i64) -> AppResult<()> {
    if amount > claimed {
        return Err(AppError::field(
            "amount",
            format!(
                "is more than the claim ({})",
                Money::from_cents(claimed).to_decimal()
            ),
        ));
    }
    Ok(())
}

pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    action: WarrantyAction,
    expected: Version,
    input: WarrantyStep,
) -> AppResult<WarrantyCase> {
    actor.require(rules::roles_for(action))?;
    let mut e = FieldErrors::new();
    let note = e
        .check("note", optional_multiline(input.note.as_deref(), 1000))
        .flatten();
    let location = e
        .check(
            "storage_location",
            optional_text(input.storage_location.as_deref(), 100),
        )
        .flatten();
    let amount_given = match input.amount {
        Some(a) => e.check("amount", Money::parse(a)),
        None => None,
    };
    if matches!(action, WarrantyAction::Reject | WarrantyAction::Resubmit) && note.is_none() {
        e.add("note", "the reason is required");
    }
    if input.amount.is_some()
        && !matches!(action, WarrantyAction::Approve | WarrantyAction::Reimburse)
    {
        e.add("amount", "only with approve or reimburse");
    }
    e.into_result()?;
    let now = state.clock.now();
    let settings = &state.settings.warranty;
    let txn = state.db.begin().await?;
    let c = lock_row::<warranty_case::Entity>(
        &txn,
        warranty_case::Column::Id,
        warranty_case::Column::Version,
        id,
    )
    .await?
    .filter(|c| c.dealer_id == actor.dealer_id)
    .ok_or(AppError::NotFound)?;
    if c.version != expected.0 {
        return Err(AppError::PreconditionFailed);
    }
    let to = rules::step(c.state, action).map_err(|r| AppError::Conflict(r.to_string()))?;
    let mut q = warranty_case::Entity::update_many()
        .col_expr(warranty_case::Column::State, Expr::value(to));
    let ops = super::read_ops(&c.labour_ops)?;
    let parts = super::read_parts(&c.parts)?;
    match action {
        WarrantyAction::Decide => {
            let terms = settings.terms(&make_of(&txn, c.order_id).await?);
            let order = repair_order::Entity::find_by_id(c.order_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            let repair_date = local_date(&txn, c.dealer_id, order.arrived_at).await?;
            let until = rules::eligibility(
                c.in_service_date,
                c.mileage_km.map(i64::from),
                repair_date,
                terms,
            )
            .map_err(|why| {
                AppError::Conflict(format!(
                    "not within the warranty terms ({} months, {} km): {why}; the service manager may cover it as goodwill",
                    terms.months, terms.km
                ))
            })?;
            q = q
                .col_expr(
                    warranty_case::Column::Decision,
                    Expr::value(WarrantyDecision::Warranty),
                )
                .col_expr(warranty_case::Column::CoveredUntil, Expr::value(until))
                .col_expr(
                    warranty_case::Column::DecisionNote,
                    Expr::value(note.clone()),
                );
        }
        WarrantyAction::Goodwill => {
            q = q
                .col_expr(
                    warranty_case::Column::Decision,
                    Expr::value(WarrantyDecision::Goodwill),
                )
                .col_expr(
                    warranty_case::Column::DecisionNote,
                    Expr::value(note.clone()),
                );
        }
        WarrantyAction::FinishWork => {
            let job = repair_order_job::Entity::find_by_id(c.job_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound)?;
            if job.state != crate::domain::repair_order::RepairJobState::Done {
                return Err(AppError::Conflict(format!(
                    "the warranty job is {}: the work is not done",
                    job.state
                )));
            }
            let number = match &c.claim_number {
                Some(n) => n.clone(),
                None => {
                    let n = next_claim_number(&txn, c.dealer_id).await?;
                    q = q.col_expr(warranty_case::Column::ClaimNumber, Expr::value(n.clone()));
                    n
                }
            };
            if !parts.is_empty() {
                let location = location.clone().ok_or_else(|| {
                    AppError::field(
                        "storage_location",
                        "where the claimed parts are kept is required",
                    )
                })?;
                let today = local_date(&txn, c.dealer_id, now).await?;
                let keep_until = today
                    .checked_add_days(chrono::Days::new(settings.parts_keep_days.into()))
                    .unwrap_or(today);
                for (i, p) in parts.iter().enumerate() {
                    let line = i as i32 + 1;
                    warranty_part::Entity::insert(warranty_part::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        dealer_id: Set(c.dealer_id),
                        case_id: Set(c.id),
                        line: Set(line),
                        tag: Set(format!("{number}-{line}")),
                        part_number: Set(p.part_number.clone()),
                        name: Set(p.name.clone()),
                        quantity: Set(p.quantity.to_string()),
                        location: Set(location.clone()),
                        keep_until: Set(keep_until),
                        state: Set(WarrantyPartState::Kept),
                        created_at: Set(now),
                    })
                    .exec_without_returning(&txn)
                    .await?;
                }
            }
            q = q.col_expr(warranty_case::Column::WorkDoneAt, Expr::value(now));
        }
        WarrantyAction::Submit | WarrantyAction::Resubmit => {
            let mut e = FieldErrors::new();
            if c.failed_part.is_none() {
                e.add("failed_part", "a claim names the failed part");
            }
            if ops.is_empty() {
                e.add("labour_ops", "a claim has at least one labour operation");
            }
            e.into_result()?;
            let terms = settings.terms(&make_of(&txn, c.order_id).await?);
            let a = amount(&ops, &parts, terms)?;
            let number = match &c.claim_number {
                Some(n) => n.clone(),
                None => next_claim_number(&txn, c.dealer_id).await?,
            };
            q = q
                .col_expr(warranty_case::Column::ClaimNumber, Expr::value(number))
                .col_expr(
                    warranty_case::Column::LabourRateCents,
                    Expr::value(terms.labour_rate.cents()),
                )
                .col_expr(
                    warranty_case::Column::ClaimCents,
                    Expr::value(a.total.cents()),
                )
                .col_expr(warranty_case::Column::SubmittedAt, Expr::value(now))
                .col_expr(
                    warranty_case::Column::RejectionReason,
                    Expr::value(None::<String>),
                );
        }
        WarrantyAction::Approve => {
            let claimed = c.claim_cents.unwrap_or_default();
            let a = amount_given.map_or(claimed, Money::cents);
            more_than_claimed(a, claimed)?;
            q = q.col_expr(warranty_case::Column::ApprovedCents, Expr::value(a));
        }
        WarrantyAction::Reject => {
            q = q.col_expr(
                warranty_case::Column::RejectionReason,
                Expr::value(note.clone()),
            );
        }
        WarrantyAction::Reimburse => {
            let claimed = c.claim_cents.unwrap_or_default();
            let paid = amount_given
                .map(Money::cents)
                .or(c.approved_cents)
                .unwrap_or(claimed);
            more_than_claimed(paid, claimed)?;
            q = q
                .col_expr(warranty_case::Column::ApprovedCents, Expr::value(paid))
                .col_expr(
                    warranty_case::Column::ShortPaidCents,
                    Expr::value((paid < claimed).then(|| claimed - paid)),
                );
        }
    }
    let n = q
        .col_expr(
            warranty_case::Column::Version,
            col_plus(warranty_case::Column::Version, 1),
        )
        .col_expr(warranty_case::Column::UpdatedAt, Expr::value(now))
        .filter(warranty_case::Column::Id.eq(c.id))
        .filter(warranty_case::Column::Version.eq(c.version))
        .exec(&txn)
        .await?
        .rows_affected;
    if n != 1 {
        return Err(AppError::PreconditionFailed);
    }
    let note = match (&location, action) {
        (Some(l), WarrantyAction::FinishWork) => Some(format!(
            "{}parts kept at {l}",
            note.map(|n| n + "; ").unwrap_or_default()
        )),
        _ => note,
    };
    event(
        &txn,
        c.dealer_id,
        c.id,
        action.as_str(),
        Some(c.state),
        to,
        Some(actor.id),
        note,
        now,
    )
    .await?;
    txn.commit().await?;
    get(&state.db, settings, actor, id).await
}

/// The cases with their orders, jobs, photos and steps, in four queries.
pub(crate) async fn views(
    db: &impl ConnectionTrait,
    settings: &WarrantySettings,
    rows: Vec<warranty_case::Model>,
) -> AppResult<Vec<WarrantyCase>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let order_ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
    let job_ids: Vec<Uuid> = rows.iter().map(|r| r.job_id).collect();
    let case_ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let orders: HashMap<Uuid, repair_order::Model> = repair_order::Entity::find()
        .filter(repair_order::Column::Id.is_in(order_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let makes: HashMap<Uuid, String> = vehicle::Entity::find()
        .filter(
            vehicle::Column::Id.is_in(orders.values().map(|o| o.vehicle_id).collect::<Vec<_>>()),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.make))
        .collect();
    let jobs: HashMap<Uuid, repair_order_job::Model> = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::Id.is_in(job_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let mut photos: HashMap<Uuid, Vec<String>> = HashMap::new();
    for p in repair_order_photo::Entity::find()
        .filter(repair_order_photo::Column::OrderId.is_in(order_ids))
        .order_by_asc(repair_order_photo::Column::Id)
        .all(db)
        .await?
    {
        photos.entry(p.order_id).or_default().push(format!(
            "/api/v1/repair-orders/{}/photos/{}",
            p.order_id, p.id
        ));
    }
    let mut events: HashMap<Uuid, Vec<WarrantyEvent>> = HashMap::new();
    for ev in warranty_case_event::Entity::find()
        .filter(warranty_case_event::Column::CaseId.is_in(case_ids))
        .order_by_asc(warranty_case_event::Column::Id)
        .all(db)
        .await?
    {
        events.entry(ev.case_id).or_default().push(WarrantyEvent {
            action: ev.action,
            from_state: ev.from_state,
            to_state: ev.to_state,
            actor_id: ev.actor_id,
            note: ev.note,
            at: ev.at,
        });
    }
    rows.into_iter()
        .map(|c| {
            let order = orders.get(&c.order_id).ok_or(AppError::NotFound)?;
            let job = jobs.get(&c.job_id);
            let ops = super::read_ops(&c.labour_ops)?;
            let parts = super::read_parts(&c.parts)?;
            let mut terms = settings.terms(makes.get(&order.vehicle_id).map_or("", |m| m.as_str()));
            if let Some(r) = c.labour_rate_cents {
                terms.labour_rate = Money::from_cents(r);
            }
            let a = amount(&ops, &parts, terms)?;
            let cents = |v: i64| Money::from_cents(v).to_decimal();
            Ok(WarrantyCase {
                id: c.id,
                state: c.state,
                claim_number: c.claim_number,
                order_id: c.order_id,
                order_number: order.number.clone(),
                job_id: c.job_id,
                vin: c.vin,
                mileage_km: c.mileage_km,
                in_service_date: c.in_service_date,
                failed_part: c.failed_part,
                causal_part: c.causal_part,
                job_description: job.map(|j| j.description.clone()).unwrap_or_default(),
                diagnosis: c
                    .diagnosis
                    .or_else(|| job.and_then(|j| j.diagnosis.clone())),
                photo_urls: photos.get(&c.order_id).cloned().unwrap_or_default(),
                labour_ops: ops,
                parts,
                decision: c.decision,
                covered_until: c.covered_until,
                decision_note: c.decision_note,
                labour_rate: terms.labour_rate.to_decimal(),
                labour_amount: a.labour.to_decimal(),
                parts_amount: a.parts.to_decimal(),
                claim_amount: c.claim_cents.map_or(a.total.to_decimal(), cents),
                approved_amount: c.approved_cents.map(cents),
                short_paid: c.short_paid_cents.map(cents),
                rejection_reason: c.rejection_reason,
                work_done_at: c.work_done_at,
                submitted_at: c.submitted_at,
                events: events.remove(&c.id).unwrap_or_default(),
                version: c.version,
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
        })
        .collect()
}
