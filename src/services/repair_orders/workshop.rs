//! In the workshop (派工/维修): technicians' skills, dispatching a job to a
//! technician who holds its skill, the technician's own job list, clocking
//! on and off (one open interval per technician, the database keeps it), and
//! the foreman's board.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::journal::finish;
use super::journal::{self, Write};
use super::{RepairOrder, counted, jobs, local};
use crate::auth::Actor;
use crate::domain::repair_order::access::Act;
use crate::domain::repair_order::workshop::promise_at_risk;
use crate::domain::repair_order::{
    Approval, ClockOff, EventKind, OrderAction, OrderState, Priority, RepairJobState, Skill,
};
use crate::domain::{Role, validation};
use crate::entities::{
    clock_interval, repair_order, repair_order_job, user, vehicle, warranty_case,
};
use crate::error::{AppError, AppResult};
use crate::services::{from_stored, to_stored};
use crate::state::AppState;

/// The rule that keeps work behind the customer's signature.
pub const NOT_ACCEPTED: &str = "an estimate must be accepted before work";
/// The rule that keeps work behind the walk-around.
pub const NO_WALKAROUND: &str = "the walk-around must be recorded before work starts";

/// Job states a technician still has work in.
const OPEN_JOB_STATES: [RepairJobState; 4] = [
    RepairJobState::Dispatched,
    RepairJobState::InProgress,
    RepairJobState::Paused,
    RepairJobState::Rework,
];

/// Order states in which the workshop holds the car.
const IN_SHOP: [OrderState; 4] = [
    OrderState::Open,
    OrderState::EstimateAccepted,
    OrderState::InWork,
    OrderState::Qc,
];

/// `PUT /users/{id}/skills`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillsInput {
    pub skills: Vec<Skill>,
}

/// A member of staff with the skills dispatch reads.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserSkills {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub skills: Vec<Skill>,
}

/// The job a technician is clocked on now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentJob {
    pub order_id: Uuid,
    pub job_id: Uuid,
    pub description: String,
    pub since: DateTime<Utc>,
}

/// A technician of the dealer, for dispatch and the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Technician {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub skills: Vec<Skill>,
    /// The job clocked on now, if any.
    pub current_job: Option<CurrentJob>,
    /// Jobs dispatched to them and not done.
    pub open_jobs: i64,
    /// The sold hours of those jobs.
    #[schema(value_type = String, format = "decimal", example = "3.5")]
    pub open_load_hours: Decimal,
}

/// `POST …/jobs/{job_id}/dispatch`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    pub technician_id: Uuid,
    /// Default: the job's own (`high` for a comeback's jobs, else `normal`); `high` is 优先派工.
    pub priority: Option<Priority>,
}

/// `POST …/jobs/{job_id}/clock-off`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockOffInput {
    pub reason: ClockOff,
    /// The technician's finding: becomes the job's `diagnosis` (and the warranty case's).
    pub note: Option<String>,
}

/// A job on the technician's own list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyJob {
    pub order_id: Uuid,
    pub order_number: String,
    pub job_id: Uuid,
    pub description: String,
    pub skill: Skill,
    pub state: RepairJobState,
    pub priority: Priority,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    pub plate: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<DateTime<FixedOffset>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    /// Including the interval open now.
    pub clocked_minutes: i64,
}

/// A job on the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardJob {
    pub order_id: Uuid,
    pub order_number: String,
    pub job_id: Uuid,
    pub description: String,
    pub skill: Skill,
    pub state: RepairJobState,
    pub priority: Priority,
    #[schema(value_type = String, format = "decimal")]
    pub labour_hours: Decimal,
    pub technician_id: Option<Uuid>,
    pub technician_name: Option<String>,
    /// Including the interval open now.
    pub clocked_minutes: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_at: Option<DateTime<FixedOffset>>,
}

/// An order whose promised time is at risk.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AtRisk {
    pub order_id: Uuid,
    pub order_number: String,
    pub state: OrderState,
    #[schema(value_type = String, format = DateTime)]
    pub promised_at: DateTime<FixedOffset>,
    /// Sold hours of the jobs not done yet.
    #[schema(value_type = String, format = "decimal")]
    pub remaining_hours: Decimal,
}

/// The foreman's board (派工看板).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    /// Approved jobs of accepted orders no one has been given yet.
    pub waiting: Vec<BoardJob>,
    /// Jobs with a technician: dispatched, in progress, paused, rework.
    pub in_work: Vec<BoardJob>,
    pub technicians: Vec<Technician>,
    pub at_risk: Vec<AtRisk>,
    /// Stocked parts the waiting and running jobs need and neither hold nor
    /// were issued (short of stock when the job was approved or started).
    pub shortages: Vec<crate::services::parts::Shortage>,
}

fn skills_of(u: &user::Model) -> AppResult<Vec<Skill>> {
    from_stored(&u.skills, "user skills")
}

fn is_technician(u: &user::Model) -> AppResult<bool> {
    Ok(crate::services::auth::roles_of(u)?.contains(&Role::Technician))
}

fn staff_only(actor: &Actor) -> AppResult<()> {
    if actor.is_customer() {
        Err(AppError::Forbidden("only the dealer's staff may read this"))
    } else {
        Ok(())
    }
}

/// Sets the skills of a member of staff (service manager, foreman, dealer admin).
pub async fn set_skills(
    state: &AppState,
    actor: &Actor,
    user_id: Uuid,
    input: SkillsInput,
) -> AppResult<UserSkills> {
    actor.require(&[
        Role::ServiceManager,
        Role::WorkshopForeman,
        Role::DealerAdmin,
    ])?;
    let u = user::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    let skills = store_skills(&state.db, u.id, &input.skills, state.clock.now()).await?;
    Ok(UserSkills {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        skills,
    })
}

/// Stores the skills of a user (each once, in the order of `Skill::ALL`).
pub async fn store_skills(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    skills: &[Skill],
    now: DateTime<Utc>,
) -> AppResult<Vec<Skill>> {
    let held: HashSet<Skill> = skills.iter().copied().collect();
    let skills: Vec<Skill> = Skill::ALL
        .iter()
        .copied()
        .filter(|s| held.contains(s))
        .collect();
    user::Entity::update_many()
        .col_expr(
            user::Column::Skills,
            Expr::value(to_stored(&skills, "user skills")?),
        )
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(skills)
}

/// Minutes per job from the intervals of `order_ids`, an open one counted up to `now`.
async fn minutes_of(
    db: &impl ConnectionTrait,
    order_ids: Vec<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<(HashMap<Uuid, i64>, Vec<clock_interval::Model>)> {
    let rows = clock_interval::Entity::find()
        .filter(clock_interval::Column::OrderId.is_in(order_ids))
        .all(db)
        .await?;
    let mut m = HashMap::new();
    for r in &rows {
        let end = r.ended_at.unwrap_or(now).max(r.started_at);
        *m.entry(r.job_id).or_insert(0) += (end - r.started_at).num_minutes();
    }
    Ok((m, rows))
}

/// The active technicians of the dealer with their skills, current job and load.
pub async fn technicians(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<Technician>> {
    staff_only(actor)?;
    let mut techs = Vec::new();
    for u in user::Entity::find()
        .filter(user::Column::DealerId.eq(actor.dealer_id))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?
    {
        if is_technician(&u)? {
            techs.push(u);
        }
    }
    let ids: Vec<Uuid> = techs.iter().map(|u| u.id).collect();
    let live: HashSet<Uuid> = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(actor.dealer_id))
        .filter(repair_order::Column::State.is_in(IN_SHOP))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    let jobs = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::TechnicianId.is_in(ids.clone()))
        .filter(repair_order_job::Column::State.is_in(OPEN_JOB_STATES))
        .all(db)
        .await?;
    let open = clock_interval::Entity::find()
        .filter(clock_interval::Column::TechnicianId.is_in(ids))
        .filter(clock_interval::Column::EndedAt.is_null())
        .all(db)
        .await?;
    let descriptions: HashMap<Uuid, &repair_order_job::Model> =
        jobs.iter().map(|j| (j.id, j)).collect();
    let mut out = Vec::new();
    for u in techs {
        let mine: Vec<&repair_order_job::Model> = jobs
            .iter()
            .filter(|j| j.technician_id == Some(u.id) && live.contains(&j.order_id))
            .collect();
        let centi: i64 = mine.iter().map(|j| i64::from(j.labour_centihours)).sum();
        let current_job = open
            .iter()
            .find(|c| c.technician_id == u.id)
            .map(|c| CurrentJob {
                order_id: c.order_id,
                job_id: c.job_id,
                description: descriptions
                    .get(&c.job_id)
                    .map(|j| j.description.clone())
                    .unwrap_or_default(),
                since: c.started_at,
            });
        out.push(Technician {
            id: u.id,
            skills: skills_of(&u)?,
            username: u.username,
            display_name: u.display_name,
            current_job,
            open_jobs: i64::try_from(mine.len()).unwrap_or(i64::MAX),
            open_load_hours: Decimal::new(centi, 2).normalize(),
        });
    }
    Ok(out)
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

/// Refuses work on an order whose estimate is not accepted yet, naming the rule.
fn accepted(w: &Write) -> AppResult<()> {
    if w.order.state == OrderState::Open {
        return Err(AppError::Conflict(format!(
            "{NOT_ACCEPTED}: the repair order is open"
        )));
    }
    Ok(())
}

/// Refuses a job the customer has not approved.
pub fn approved(j: &repair_order_job::Model) -> AppResult<()> {
    match j.approval {
        Approval::Estimate | Approval::Approved => Ok(()),
        Approval::Awaiting => Err(AppError::Conflict(
            "this extra work awaits the customer's approval: a line starts only after its approval"
                .into(),
        )),
        Approval::Declined => Err(AppError::Conflict(
            "the customer declined this extra work: it is not done".into(),
        )),
    }
}

/// Gives a job to a technician who holds its skill (派工).
pub async fn dispatch(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    job_id: Uuid,
    input: DispatchInput,
) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, order_id, Act::Dispatch).await?;
    accepted(&w)?;
    w.require(
        &[
            OrderState::EstimateAccepted,
            OrderState::InWork,
            OrderState::Qc,
        ],
        "have work dispatched",
    )?;
    let j = lock_job(&w, job_id).await?;
    approved(&j)?;
    if !matches!(
        j.state,
        RepairJobState::Pending | RepairJobState::Dispatched | RepairJobState::Rework
    ) {
        return Err(AppError::Conflict(format!(
            "a job that is {} cannot be dispatched",
            j.state
        )));
    }
    let tech = user::Entity::find_by_id(input.technician_id)
        .one(&w.txn)
        .await?
        .filter(|u| u.dealer_id == w.order.dealer_id && u.active);
    let ok = match &tech {
        Some(u) => is_technician(u)? && skills_of(u)?.contains(&j.skill),
        None => false,
    };
    if !ok {
        return Err(AppError::field(
            "technician_id",
            format!(
                "is not an active technician of this dealer holding the skill {}",
                j.skill
            ),
        ));
    }
    // unless the foreman says otherwise, a job keeps its priority (a
    // comeback's jobs are high from the start)
    let priority = input.priority.unwrap_or(j.priority);
    let next = match j.state {
        RepairJobState::Rework => RepairJobState::Rework,
        _ => RepairJobState::Dispatched,
    };
    repair_order_job::Entity::update_many()
        .col_expr(
            repair_order_job::Column::TechnicianId,
            Expr::value(input.technician_id),
        )
        .col_expr(repair_order_job::Column::Priority, Expr::value(priority))
        .col_expr(repair_order_job::Column::DispatchedAt, Expr::value(w.now))
        .col_expr(repair_order_job::Column::State, Expr::value(next))
        .col_expr(
            repair_order_job::Column::Version,
            Expr::value(j.version + 1),
        )
        .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(w.now))
        .filter(repair_order_job::Column::Id.eq(j.id))
        .exec(&w.txn)
        .await?;
    w.event(
        EventKind::JobDispatched,
        serde_json::json!({"job_id": j.id, "technician_id": input.technician_id,
                           "priority": priority, "redispatch": j.technician_id.is_some()}),
    )
    .await?;
    finish(w, state, None, 200).await
}

/// The caller's jobs with work left, high priority first.
pub async fn my_jobs(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Vec<MyJob>> {
    journal::allow(actor, Act::Clock)?;
    let rows = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::DealerId.eq(actor.dealer_id))
        .filter(repair_order_job::Column::TechnicianId.eq(actor.id))
        .filter(repair_order_job::Column::State.is_in(OPEN_JOB_STATES))
        .all(db)
        .await?;
    let order_ids: Vec<Uuid> = rows.iter().map(|j| j.order_id).collect();
    let orders: HashMap<Uuid, repair_order::Model> = repair_order::Entity::find()
        .filter(repair_order::Column::Id.is_in(order_ids.clone()))
        .filter(repair_order::Column::State.is_in(IN_SHOP))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let plates: HashMap<Uuid, Option<String>> = vehicle::Entity::find()
        .filter(vehicle::Column::Id.is_in(orders.values().map(|o| o.vehicle_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.plate))
        .collect();
    let (minutes, _) = minutes_of(db, order_ids, now).await?;
    let (_, tz) = crate::services::appointments::dealer_zone(db, actor.dealer_id).await?;
    let mut out: Vec<MyJob> = rows
        .into_iter()
        .filter_map(|j| {
            let o = orders.get(&j.order_id)?;
            Some(MyJob {
                order_id: o.id,
                order_number: o.number.clone(),
                job_id: j.id,
                description: j.description,
                skill: j.skill,
                state: j.state,
                priority: j.priority,
                labour_hours: jobs::hours(j.labour_centihours),
                plate: plates.get(&o.vehicle_id).cloned().flatten(),
                promised_at: o.promised_at.map(|t| local(tz, t)),
                dispatched_at: j.dispatched_at,
                clocked_minutes: minutes.get(&j.id).copied().unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|j| (j.priority != Priority::High, j.dispatched_at, j.job_id));
    Ok(out)
}

fn clocked_elsewhere() -> AppError {
    AppError::Conflict(
        "you are clocked on another job: clock off it before clocking on this one".into(),
    )
}

/// The dispatched technician starts (or resumes) a job.
pub async fn clock_on(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    job_id: Uuid,
) -> AppResult<RepairOrder> {
    let mut w = Write::begin(state, actor, order_id, Act::Clock).await?;
    accepted(&w)?;
    w.require(
        &[OrderState::EstimateAccepted, OrderState::InWork],
        "have work started",
    )?;
    if w.order.walkaround.is_none() {
        return Err(AppError::Conflict(NO_WALKAROUND.into()));
    }
    let j = lock_job(&w, job_id).await?;
    approved(&j)?;
    match j.technician_id {
        None => {
            return Err(AppError::Conflict(
                "the job is not dispatched to anyone yet".into(),
            ));
        }
        Some(t) if t != actor.id => {
            return Err(AppError::Forbidden(
                "only the technician the job is dispatched to clocks it",
            ));
        }
        Some(_) => {}
    }
    if !j.state.can_clock_on() {
        return Err(AppError::Conflict(format!(
            "a job that is {} cannot be clocked on",
            j.state
        )));
    }
    let busy = clock_interval::Entity::find()
        .filter(clock_interval::Column::TechnicianId.eq(actor.id))
        .filter(clock_interval::Column::EndedAt.is_null())
        .one(&w.txn)
        .await?;
    if busy.is_some() {
        return Err(clocked_elsewhere());
    }
    // the unique partial index ux_clock_open is the final guard against a
    // concurrent clock-on of the same technician on another order
    clock_interval::Entity::insert(clock_interval::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(w.order.dealer_id),
        order_id: Set(w.order.id),
        job_id: Set(j.id),
        technician_id: Set(actor.id),
        started_at: Set(w.now),
        ended_at: Set(None),
        end_reason: Set(None),
        note: Set(None),
    })
    .exec_without_returning(&w.txn)
    .await
    .map_err(|e: DbErr| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => clocked_elsewhere(),
        _ => e.into(),
    })?;
    set_job_state(&w, &j, RepairJobState::InProgress, None).await?;
    // the job's stocked parts leave the shelf (held ones first); a part
    // still short does not stop the start
    crate::services::parts::issue_job(&w.txn, w.order.dealer_id, &j, actor.id, w.now).await?;
    w.event(
        EventKind::ClockedOn,
        serde_json::json!({"job_id": j.id, "technician_id": actor.id, "from": j.state}),
    )
    .await?;
    if w.order.state == OrderState::EstimateAccepted {
        w.transition(OrderAction::StartWork, serde_json::json!({"job_id": j.id}))
            .await?;
    }
    finish(w, state, None, 200).await
}

async fn set_job_state(
    w: &Write,
    j: &repair_order_job::Model,
    next: RepairJobState,
    diagnosis: Option<&str>,
) -> AppResult<()> {
    let mut q = repair_order_job::Entity::update_many()
        .col_expr(repair_order_job::Column::State, Expr::value(next))
        .col_expr(
            repair_order_job::Column::Version,
            Expr::value(j.version + 1),
        )
        .col_expr(repair_order_job::Column::UpdatedAt, Expr::value(w.now));
    if let Some(d) = diagnosis {
        q = q.col_expr(repair_order_job::Column::Diagnosis, Expr::value(d));
    }
    q.filter(repair_order_job::Column::Id.eq(j.id))
        .exec(&w.txn)
        .await?;
    Ok(())
}

/// The technician stops: a pause, or the job done. The note is the diagnosis.
pub async fn clock_off(
    state: &AppState,
    actor: &Actor,
    order_id: Uuid,
    job_id: Uuid,
    input: ClockOffInput,
) -> AppResult<RepairOrder> {
    let note = validation::optional_multiline(input.note.as_deref(), 2000)
        .map_err(|m| AppError::field("note", m))?;
    let mut w = Write::begin(state, actor, order_id, Act::Clock).await?;
    let j = lock_job(&w, job_id).await?;
    if j.technician_id != Some(actor.id) {
        return Err(AppError::Forbidden(
            "only the technician the job is dispatched to clocks it",
        ));
    }
    let open = clock_interval::Entity::find()
        .filter(clock_interval::Column::JobId.eq(j.id))
        .filter(clock_interval::Column::TechnicianId.eq(actor.id))
        .filter(clock_interval::Column::EndedAt.is_null())
        .one(&w.txn)
        .await?;
    let Some(open) = open.filter(|_| j.state == RepairJobState::InProgress) else {
        return Err(AppError::Conflict(format!(
            "a job that is {} is not clocked on",
            j.state
        )));
    };
    clock_interval::Entity::update_many()
        .col_expr(clock_interval::Column::EndedAt, Expr::value(w.now))
        .col_expr(clock_interval::Column::EndReason, Expr::value(input.reason))
        .col_expr(clock_interval::Column::Note, Expr::value(note.clone()))
        .filter(clock_interval::Column::Id.eq(open.id))
        .exec(&w.txn)
        .await?;
    let next = match input.reason {
        ClockOff::Pause => RepairJobState::Paused,
        ClockOff::Done => RepairJobState::Done,
    };
    set_job_state(&w, &j, next, note.as_deref()).await?;
    if let Some(d) = &note {
        warranty_case::Entity::update_many()
            .col_expr(warranty_case::Column::Diagnosis, Expr::value(d.clone()))
            .col_expr(
                warranty_case::Column::Version,
                crate::services::col_plus(warranty_case::Column::Version, 1),
            )
            .col_expr(warranty_case::Column::UpdatedAt, Expr::value(w.now))
            .filter(warranty_case::Column::JobId.eq(j.id))
            // a claim with the brand keeps the diagnosis it was filed with
            .filter(warranty_case::Column::State.is_in(crate::domain::warranty::EDITABLE))
            .exec(&w.txn)
            .await?;
    }
    let minutes = (w.now - open.started_at).num_minutes().max(0);
    w.event(
        EventKind::ClockedOff,
        serde_json::json!({"job_id": j.id, "technician_id": actor.id, "reason": input.reason,
                           "minutes": minutes, "note": note}),
    )
    .await?;
    finish(w, state, None, 200).await
}

/// The board: what waits, who works on what, who carries how much, which promises are at risk.
pub async fn board(
    db: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Board> {
    staff_only(actor)?;
    journal::allow(actor, Act::Dispatch)?;
    let orders: HashMap<Uuid, repair_order::Model> = repair_order::Entity::find()
        .filter(repair_order::Column::DealerId.eq(actor.dealer_id))
        .filter(repair_order::Column::State.is_in(IN_SHOP))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let order_ids: Vec<Uuid> = orders.keys().copied().collect();
    let rows = repair_order_job::Entity::find()
        .filter(repair_order_job::Column::OrderId.is_in(order_ids.clone()))
        .all(db)
        .await?;
    let (minutes, _) = minutes_of(db, order_ids, now).await?;
    let technicians = technicians(db, actor).await?;
    let names: HashMap<Uuid, String> = technicians
        .iter()
        .map(|t| (t.id, t.display_name.clone()))
        .collect();
    let (_, tz) = crate::services::appointments::dealer_zone(db, actor.dealer_id).await?;
    let line = |j: &repair_order_job::Model, o: &repair_order::Model| BoardJob {
        order_id: o.id,
        order_number: o.number.clone(),
        job_id: j.id,
        description: j.description.clone(),
        skill: j.skill,
        state: j.state,
        priority: j.priority,
        labour_hours: jobs::hours(j.labour_centihours),
        technician_id: j.technician_id,
        technician_name: j.technician_id.and_then(|t| names.get(&t).cloned()),
        clocked_minutes: minutes.get(&j.id).copied().unwrap_or(0),
        promised_at: o.promised_at.map(|t| local(tz, t)),
    };
    let mut waiting = Vec::new();
    let mut in_work = Vec::new();
    let mut remaining: HashMap<Uuid, i64> = HashMap::new();
    for j in counted(&rows) {
        let Some(o) = orders.get(&j.order_id) else {
            continue;
        };
        if j.state != RepairJobState::Done {
            *remaining.entry(o.id).or_insert(0) += i64::from(j.labour_centihours);
        }
        if o.state == OrderState::Open {
            continue;
        }
        if j.state == RepairJobState::Pending {
            waiting.push(line(j, o));
        } else if OPEN_JOB_STATES.contains(&j.state) {
            in_work.push(line(j, o));
        }
    }
    let order_key = |b: &BoardJob| {
        (
            b.priority != Priority::High,
            b.order_number.clone(),
            b.job_id,
        )
    };
    waiting.sort_by_key(order_key);
    in_work.sort_by_key(order_key);
    let on_board: std::collections::HashSet<Uuid> =
        waiting.iter().chain(&in_work).map(|b| b.job_id).collect();
    let board_jobs: Vec<&repair_order_job::Model> =
        rows.iter().filter(|j| on_board.contains(&j.id)).collect();
    let mut shortages = crate::services::parts::shortages(db, actor.dealer_id, &board_jobs).await?;
    let numbers: HashMap<Uuid, String> = waiting
        .iter()
        .chain(&in_work)
        .map(|b| (b.job_id, b.order_number.clone()))
        .collect();
    shortages.sort_by_key(|s| {
        (
            numbers.get(&s.job_id).cloned(),
            s.job_id,
            s.part_number.clone(),
        )
    });
    let mut at_risk: Vec<AtRisk> = orders
        .values()
        .filter_map(|o| {
            let left = remaining.get(&o.id).copied().unwrap_or(0);
            let promised = o.promised_at?;
            promise_at_risk(o.state, Some(promised), left, now).then(|| AtRisk {
                order_id: o.id,
                order_number: o.number.clone(),
                state: o.state,
                promised_at: local(tz, promised),
                remaining_hours: Decimal::new(left, 2).normalize(),
            })
        })
        .collect();
    at_risk.sort_by_key(|a| (a.promised_at, a.order_number.clone()));
    Ok(Board {
        waiting,
        in_work,
        technicians,
        at_risk,
        shortages,
    })
}
