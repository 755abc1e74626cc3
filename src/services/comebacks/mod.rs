//! Comeback records (返修车处理记录, issue 18): found when a vehicle's new
//! order repeats a job of an order delivered within the window
//! ([`on_job`], in the job's transaction), when the final quality check
//! sends work back ([`on_final_qc_failed`]), or marked by an advisor
//! ([`mark`]); then analysed, acted on and closed (`domain::comeback::step`).
//! A comeback raises its order's jobs to high priority (优先派工).

pub mod stats;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::comeback::{self, ComebackCause, ComebackKind, ComebackState, Filled, Refusal};
use crate::domain::kpi::job_key;
use crate::domain::money::Money;
use crate::domain::repair_order::{OrderState, Priority};
use crate::domain::validation::{self, nullable};
use crate::entities::{comeback as record, repair_order, repair_order_job, user, vehicle};
use crate::error::{AppError, AppResult};
use crate::services::repair_orders::journal::Write;
use crate::services::repair_orders::settings;
use crate::services::{Version, col_plus};

/// The most records one list answers.
pub const LIST_LIMIT: u64 = 200;

/// A comeback as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComebackView {
    pub id: Uuid,
    pub kind: ComebackKind,
    pub state: ComebackState,
    /// The order the job is done again in, and its number.
    pub order_id: Uuid,
    pub order_number: String,
    /// The order that did it first (the same order for a QC rework).
    pub first_order_id: Option<Uuid>,
    pub first_order_number: Option<String>,
    pub vehicle_id: Uuid,
    pub plate: Option<String>,
    pub model: String,
    pub customer_id: Uuid,
    pub first_technician_id: Option<Uuid>,
    pub first_technician_name: Option<String>,
    pub first_advisor_id: Option<Uuid>,
    pub first_advisor_name: Option<String>,
    /// The job done again.
    pub job_description: Option<String>,
    pub note: Option<String>,
    pub cause: Option<ComebackCause>,
    pub analysis: Option<String>,
    pub corrective_action: Option<String>,
    pub action_owner_id: Option<Uuid>,
    pub action_owner_name: Option<String>,
    /// What doing it again cost the dealer, CNY.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub redo_cost: Option<Decimal>,
    pub analysed_by: Option<Uuid>,
    pub analysed_at: Option<DateTime<Utc>>,
    pub action_done_by: Option<Uuid>,
    pub action_done_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
    pub closed_at: Option<DateTime<Utc>>,
    /// None: found by the system.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The ETag to send back in `If-Match`.
    pub version: i32,
}

/// An advisor marks an order as a comeback.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComeback {
    /// The order the car is back in (not cancelled).
    pub order_id: Uuid,
    /// The earlier order of the same vehicle, delivered before this one arrived.
    #[serde(default)]
    pub first_order_id: Option<Uuid>,
    /// Why it is a comeback (1–500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub note: String,
}

/// A change to a record: only the fields sent change (`null` clears one);
/// `state` moves it on (`analysed`, `action_done`, `closed`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComebackPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<ComebackCause>)]
    pub cause: Option<Option<ComebackCause>>,
    /// 1–2000 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub analysis: Option<Option<String>>,
    /// 1–2000 characters.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub corrective_action: Option<Option<String>>,
    /// A user of the dealer.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub action_owner_id: Option<Option<Uuid>>,
    /// CNY, 0 to 10,000,000, at most two places.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub redo_cost: Option<Option<Decimal>>,
    #[serde(default)]
    pub state: Option<ComebackState>,
}

/// Which records a list answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub state: Option<ComebackState>,
    pub kind: Option<ComebackKind>,
    pub order_id: Option<Uuid>,
}

fn new_record(
    o: &repair_order::Model,
    kind: ComebackKind,
    source_key: String,
    now: DateTime<Utc>,
) -> record::ActiveModel {
    record::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(o.dealer_id),
        kind: Set(kind),
        source_key: Set(source_key),
        order_id: Set(o.id),
        first_order_id: Set(None),
        vehicle_id: Set(o.vehicle_id),
        customer_id: Set(o.customer_id),
        first_technician_id: Set(None),
        first_advisor_id: Set(None),
        job_key: Set(None),
        job_description: Set(None),
        note: Set(None),
        cause: Set(None),
        analysis: Set(None),
        corrective_action: Set(None),
        action_owner_id: Set(None),
        redo_cost_cents: Set(None),
        state: Set(ComebackState::Open),
        analysed_by: Set(None),
        analysed_at: Set(None),
        action_done_by: Set(None),
        action_done_at: Set(None),
        closed_by: Set(None),
        closed_at: Set(None),
        version: Set(1),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Writes a record once per (dealer, source); answers whether it is new.
async fn put(db: &impl ConnectionTrait, row: record::ActiveModel) -> AppResult<bool> {
    let n = record::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([record::Column::DealerId, record::Column::SourceKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(n > 0)
}

/// Raises every job of an order with a comeback to high priority (优先派工);
/// each job raised gets a new version, so a tablet holding the old one
/// reads it again before it writes.
async fn prioritise(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    repair_order_job::Entity::update_many()
        .col_expr(
            repair_order_job::Column::Priority,
            Expr::value(Priority::High),
        )
        .col_expr(
            repair_order_job::Column::Version,
            col_plus(repair_order_job::Column::Version, 1),
        )
        .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(now))
        .filter(repair_order_job::Column::OrderId.eq(order_id))
        .filter(repair_order_job::Column::Priority.ne(Priority::High))
        .exec(db)
        .await?;
    Ok(())
}

/// The source of an order's comeback from outside (repeated or marked):
/// one per order, whichever way it was found first.
fn outside_key(order_id: Uuid) -> String {
    format!("order:{order_id}")
}

/// The order's comeback from outside (repeated or marked), if any.
async fn outside_of(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    order_id: Uuid,
) -> AppResult<Option<record::Model>> {
    Ok(record::Entity::find()
        .filter(record::Column::DealerId.eq(dealer_id))
        .filter(record::Column::SourceKey.eq(outside_key(order_id)))
        .one(db)
        .await?)
}

/// A job was added to the order of `w`: when the vehicle had the same job
/// (`domain::kpi::job_key`) in an order delivered at most the dealer's
/// window before this one arrived, the comeback is recorded (once per
/// order, naming the latest such earlier order) and the order's jobs raised.
pub async fn on_job(w: &Write, job: &repair_order_job::Model) -> AppResult<()> {
    let o = &w.order;
    // an order known as a comeback already: the new job is raised with the rest
    if outside_of(&w.txn, o.dealer_id, o.id).await?.is_some() {
        return prioritise(&w.txn, o.id, w.now).await;
    }
    let window = settings::of_dealer(&w.txn, o.dealer_id)
        .await?
        .comeback_window_days;
    let key = job_key(job.menu_code.as_deref(), &job.description);
    let earlier = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(o.dealer_id))
        .filter(repair_order::Column::VehicleId.eq(o.vehicle_id))
        .filter(repair_order::Column::Id.ne(o.id))
        .filter(repair_order::Column::DeliveredAt.gte(o.arrived_at - Duration::days(window.into())))
        .filter(repair_order::Column::DeliveredAt.lte(o.arrived_at))
        .order_by_desc(repair_order::Column::DeliveredAt)
        .all(&w.txn)
        .await?;
    let mut found = None;
    for first in &earlier {
        let jobs = repair_order_job::Entity::find()
            .filter(repair_order_job::Column::OrderId.eq(first.id))
            .order_by_asc(repair_order_job::Column::CreatedAt)
            .all(&w.txn)
            .await?;
        if let Some(j) = jobs
            .iter()
            .filter(|j| j.approval.counts())
            .find(|j| job_key(j.menu_code.as_deref(), &j.description) == key)
        {
            found = Some((first, j.clone()));
            break;
        }
    }
    let Some((first, j)) = found else {
        return Ok(());
    };
    let mut row = new_record(o, ComebackKind::Repeat, outside_key(o.id), w.now);
    row.first_order_id = Set(Some(first.id));
    row.first_technician_id = Set(j.technician_id);
    row.first_advisor_id = Set(first.advisor_id);
    row.job_key = Set(Some(key));
    row.job_description = Set(Some(j.description.clone()));
    put(&w.txn, row).await?;
    prioritise(&w.txn, o.id, w.now).await
}

/// A job was taken off the order of `w` before the estimate was accepted:
/// the order's comeback found by that job goes with it, while it is still
/// open and no other job of the order is the same job.
pub async fn on_job_removed(w: &Write, job: &repair_order_job::Model) -> AppResult<()> {
    let key = job_key(job.menu_code.as_deref(), &job.description);
    let Some(r) = outside_of(&w.txn, w.order.dealer_id, w.order.id).await? else {
        return Ok(());
    };
    if r.kind != ComebackKind::Repeat
        || r.state != ComebackState::Open
        || r.job_key.as_deref() != Some(key.as_str())
    {
        return Ok(());
    }
    let rest = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::OrderId.eq(w.order.id))
        .filter(repair_order_job::Column::Id.ne(job.id))
        .all(&w.txn)
        .await?;
    if rest
        .iter()
        .any(|j| job_key(j.menu_code.as_deref(), &j.description) == key)
    {
        return Ok(());
    }
    record::Entity::delete_by_id(r.id).exec(&w.txn).await?;
    Ok(())
}

/// The final quality check sent jobs back (an internal comeback): one record
/// per order and QC round, naming the first job sent back.
pub async fn on_final_qc_failed(
    db: &impl ConnectionTrait,
    o: &repair_order::Model,
    round: i32,
    rework: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(first) = rework.first() else {
        return Ok(());
    };
    let j = repair_order_job::Entity::find_by_id(*first).one(db).await?;
    let mut row = new_record(
        o,
        ComebackKind::QcRework,
        format!("qc:{}:{round}", o.id),
        now,
    );
    row.first_order_id = Set(Some(o.id));
    row.first_advisor_id = Set(o.advisor_id);
    if let Some(j) = j {
        row.first_technician_id = Set(j.technician_id);
        row.job_key = Set(Some(job_key(j.menu_code.as_deref(), &j.description)));
        row.job_description = Set(Some(j.description));
    }
    put(db, row).await?;
    Ok(())
}

/// An advisor marks an order as a comeback: answers the record and whether
/// it is new (an order has one comeback from outside: a second mark, or a
/// mark of an order found by its job, answers the one it has).
pub async fn mark(
    db: &DatabaseConnection,
    actor: &Actor,
    input: NewComeback,
    now: DateTime<Utc>,
) -> AppResult<(ComebackView, bool)> {
    actor.require(comeback::MARKERS)?;
    let note = validation::text(&input.note, 500).map_err(|m| AppError::field("note", m))?;
    let txn = db.begin().await?;
    let o = crate::services::lock_row::<repair_order::Entity>(
        &txn,
        repair_order::Column::Id,
        repair_order::Column::Version,
        input.order_id,
    )
    .await?
    .filter(|o| o.dealer_id == actor.dealer_id)
    .ok_or_else(|| AppError::field("order_id", "is not a repair order of this dealer"))?;
    if o.state == OrderState::Cancelled {
        return Err(AppError::field("order_id", "is cancelled"));
    }
    let first = match input.first_order_id {
        None => None,
        Some(id) => Some(
            repair_order::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .filter(|f| {
                    f.dealer_id == o.dealer_id
                        && f.vehicle_id == o.vehicle_id
                        && f.id != o.id
                        && f.delivered_at.is_some_and(|t| t <= o.arrived_at)
                })
                .ok_or_else(|| {
                    AppError::field(
                        "first_order_id",
                        "is not an order of the same vehicle delivered before this one arrived",
                    )
                })?,
        ),
    };
    let mut row = new_record(&o, ComebackKind::Marked, outside_key(o.id), now);
    row.note = Set(Some(note));
    row.created_by = Set(Some(actor.id));
    if let Some(f) = &first {
        row.first_order_id = Set(Some(f.id));
        row.first_advisor_id = Set(f.advisor_id);
        let jobs = repair_order_job::Entity::find()
            .filter(repair_order_job::Column::OrderId.eq(f.id))
            .filter(repair_order_job::Column::TechnicianId.is_not_null())
            .order_by_asc(repair_order_job::Column::CreatedAt)
            .limit(1)
            .all(&txn)
            .await?;
        row.first_technician_id = Set(jobs.first().and_then(|j| j.technician_id));
    }
    let new = put(&txn, row).await?;
    prioritise(&txn, o.id, now).await?;
    // new, or the one the order has already (found by its job, or marked before)
    let r = outside_of(&txn, o.dealer_id, o.id)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    let v = view_all(db, vec![r])
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok((v, new))
}

/// The dealer's records, newest first (at most 200).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    f: Filter,
) -> AppResult<Vec<ComebackView>> {
    actor.require(comeback::READERS)?;
    let mut q = record::Entity::find().filter(record::Column::DealerId.eq(actor.dealer_id));
    if let Some(s) = f.state {
        q = q.filter(record::Column::State.eq(s));
    }
    if let Some(k) = f.kind {
        q = q.filter(record::Column::Kind.eq(k));
    }
    if let Some(o) = f.order_id {
        q = q.filter(record::Column::OrderId.eq(o));
    }
    let rows = q
        .order_by_desc(record::Column::CreatedAt)
        .order_by_desc(record::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    view_all(db, rows).await
}

/// One record of the dealer (its readers, and the owner of its action).
pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<ComebackView> {
    let r = record::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|r| r.dealer_id == actor.dealer_id);
    // the readers, and the owner of the action whatever their role
    if r.as_ref().and_then(|r| r.action_owner_id) != Some(actor.id) {
        actor.require(comeback::READERS)?;
    }
    let r = r.ok_or(AppError::NotFound)?;
    view_all(db, vec![r]).await?.pop().ok_or(AppError::NotFound)
}

/// Changes a record (`If-Match`): the analysis, the action and its owner,
/// the cost, and the state (`domain::comeback::step` says who and when).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    expected: Version,
    p: ComebackPatch,
    now: DateTime<Utc>,
) -> AppResult<ComebackView> {
    let txn = db.begin().await?;
    let r = crate::services::lock_row::<record::Entity>(
        &txn,
        record::Column::Id,
        record::Column::Version,
        id,
    )
    .await?
    .filter(|r| r.dealer_id == actor.dealer_id)
    .ok_or(AppError::NotFound)?;
    // the readers, and the owner of the action whatever their role
    if r.action_owner_id != Some(actor.id) {
        actor.require(comeback::READERS)?;
    }
    if r.version != expected.0 {
        return Err(AppError::PreconditionFailed);
    }
    let mut e = crate::domain::FieldErrors::new();
    let text = |e: &mut crate::domain::FieldErrors, field: &str, v: &Option<Option<String>>| match v
    {
        None => None,
        Some(None) => Some(None),
        Some(Some(t)) => e.check(field, validation::multiline(t, 2000)).map(Some),
    };
    let analysis = text(&mut e, "analysis", &p.analysis);
    let action = text(&mut e, "corrective_action", &p.corrective_action);
    let cost = match p.redo_cost {
        None => None,
        Some(None) => Some(None),
        Some(Some(c)) => {
            if c < Decimal::ZERO || c > comeback::max_cost() {
                e.add("redo_cost", "must be 0 to 10000000");
                None
            } else {
                e.check("redo_cost", Money::parse(c))
                    .map(|m| Some(m.cents()))
            }
        }
    };
    if let Some(Some(owner)) = p.action_owner_id {
        let ok = user::Entity::find_by_id(owner)
            .one(&txn)
            .await?
            .is_some_and(|u| u.dealer_id == r.dealer_id && u.active);
        if !ok {
            e.add("action_owner_id", "is not an active user of this dealer");
        }
    }
    e.into_result()?;
    // every edit needs an analyst; the owner of the action may only mark it done
    let to = p.state.unwrap_or(r.state);
    let owner_after = p.action_owner_id.unwrap_or(r.action_owner_id);
    let analyst = actor.roles.iter().any(|x| comeback::ANALYSTS.contains(x));
    let edits = p.cause.is_some()
        || p.analysis.is_some()
        || p.corrective_action.is_some()
        || p.action_owner_id.is_some()
        || p.redo_cost.is_some();
    let is_owner = r.action_owner_id == Some(actor.id);
    // an analyst changes anything; the action's owner only moves its state
    let may = analyst || (is_owner && !edits && p.state.is_some());
    if !may {
        return Err(AppError::Forbidden(
            "only the workshop's leads and managers analyse a comeback",
        ));
    }
    let filled = Filled {
        cause: p.cause.unwrap_or(r.cause).is_some(),
        analysis: analysis.clone().unwrap_or(r.analysis.clone()).is_some(),
        corrective_action: action
            .clone()
            .unwrap_or(r.corrective_action.clone())
            .is_some(),
        action_owner: owner_after.is_some(),
    };
    comeback::step(r.state, to, filled, &actor.roles, is_owner).map_err(|x| match x {
        Refusal::OutOfOrder(m) => AppError::Conflict(m),
        Refusal::Missing(f) => AppError::field(f, "is needed for this step"),
        Refusal::NotAllowed(m) => AppError::Forbidden(m),
    })?;
    if !edits && to == r.state {
        txn.commit().await?;
        return view_all(db, vec![r]).await?.pop().ok_or(AppError::NotFound);
    }
    let mut u = record::Entity::update_many()
        .col_expr(
            record::Column::Version,
            col_plus(record::Column::Version, 1),
        )
        .col_expr(record::Column::UpdatedAt, Expr::value(now));
    if let Some(c) = p.cause {
        u = u.col_expr(record::Column::Cause, Expr::value(c));
    }
    if let Some(a) = analysis {
        u = u.col_expr(record::Column::Analysis, Expr::value(a));
    }
    if let Some(a) = action {
        u = u.col_expr(record::Column::CorrectiveAction, Expr::value(a));
    }
    if let Some(o) = p.action_owner_id {
        u = u.col_expr(record::Column::ActionOwnerId, Expr::value(o));
    }
    if let Some(c) = cost {
        u = u.col_expr(record::Column::RedoCostCents, Expr::value(c));
    }
    if to != r.state {
        u = u.col_expr(record::Column::State, Expr::value(to));
        // who took the step and when (`step` lets nothing go back to open)
        let stamp = match to {
            ComebackState::Analysed => {
                Some((record::Column::AnalysedBy, record::Column::AnalysedAt))
            }
            ComebackState::ActionDone => {
                Some((record::Column::ActionDoneBy, record::Column::ActionDoneAt))
            }
            ComebackState::Closed => Some((record::Column::ClosedBy, record::Column::ClosedAt)),
            ComebackState::Open => None,
        };
        if let Some((by, at)) = stamp {
            u = u
                .col_expr(by, Expr::value(actor.id))
                .col_expr(at, Expr::value(now));
        }
    }
    let res = u
        .filter(record::Column::Id.eq(r.id))
        .filter(record::Column::Version.eq(r.version))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::PreconditionFailed);
    }
    txn.commit().await?;
    let r = record::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    view_all(db, vec![r]).await?.pop().ok_or(AppError::NotFound)
}

/// The records with their orders, vehicles and people by name.
pub async fn view_all(
    db: &impl ConnectionTrait,
    rows: Vec<record::Model>,
) -> AppResult<Vec<ComebackView>> {
    let mut order_ids: Vec<Uuid> = rows.iter().map(|r| r.order_id).collect();
    order_ids.extend(rows.iter().filter_map(|r| r.first_order_id));
    let numbers: HashMap<Uuid, String> = repair_order::Entity::find()
        .select_only()
        .column(repair_order::Column::Id)
        .column(repair_order::Column::Number)
        .filter(repair_order::Column::Id.is_in(order_ids))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let vehicles: HashMap<Uuid, vehicle::Model> = vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(rows.iter().map(|r| r.vehicle_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let people: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| [r.first_technician_id, r.first_advisor_id, r.action_owner_id])
        .flatten()
        .collect();
    let names = crate::services::dealers::staff_names(db, people).await?;
    let name = |id: Option<Uuid>| id.and_then(|i| names.get(&i).cloned());
    Ok(rows
        .into_iter()
        .map(|r| {
            let v = vehicles.get(&r.vehicle_id);
            ComebackView {
                id: r.id,
                kind: r.kind,
                state: r.state,
                order_id: r.order_id,
                order_number: numbers.get(&r.order_id).cloned().unwrap_or_default(),
                first_order_id: r.first_order_id,
                first_order_number: r.first_order_id.and_then(|f| numbers.get(&f).cloned()),
                vehicle_id: r.vehicle_id,
                plate: v.and_then(|v| v.plate.clone()),
                model: v.map(|v| v.model.clone()).unwrap_or_default(),
                customer_id: r.customer_id,
                first_technician_id: r.first_technician_id,
                first_technician_name: name(r.first_technician_id),
                first_advisor_id: r.first_advisor_id,
                first_advisor_name: name(r.first_advisor_id),
                job_description: r.job_description,
                note: r.note,
                cause: r.cause,
                analysis: r.analysis,
                corrective_action: r.corrective_action,
                action_owner_id: r.action_owner_id,
                action_owner_name: name(r.action_owner_id),
                redo_cost: r.redo_cost_cents.map(|c| Money::from_cents(c).to_decimal()),
                analysed_by: r.analysed_by,
                analysed_at: r.analysed_at,
                action_done_by: r.action_done_by,
                action_done_at: r.action_done_at,
                closed_by: r.closed_by,
                closed_at: r.closed_at,
                created_by: r.created_by,
                created_at: r.created_at,
                updated_at: r.updated_at,
                version: r.version,
            }
        })
        .collect())
}
