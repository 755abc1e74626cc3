//! The unhappy-customer table (《不满意客户处理跟踪表》, issue 10): cases
//! opened by the rules from responses (`domain::case::opens`) or by staff,
//! and moved through their states, each step logged with who, when and a note.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::domain::case::{
    CaseAction, CaseCategory, CaseRules, CaseSource, CaseState, Response, Severity, due_times,
    next, opens, overdue,
};
use crate::entities::{case, case_event, case_setting, csi_response, customer, repair_order};
use crate::error::{AppError, AppResult};
use crate::services::{callbacks, col_plus};

/// Who works the table: the customer centre, the advisors, the managers.
pub const HANDLERS: &[Role] = &[
    Role::ServiceManager,
    Role::ServiceSupervisor,
    Role::CustomerCare,
    Role::ServiceAdvisor,
    Role::DealerAdmin,
];

/// The most cases one list answers.
pub const LIST_LIMIT: u64 = 200;

/// The dealer's rules for opening cases (the defaults without a row).
pub async fn rules(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<CaseRules> {
    match case_setting::Entity::find_by_id(dealer_id).one(db).await? {
        None => Ok(CaseRules::default()),
        Some(r) => crate::services::from_stored(&r.rules, "case rules"),
    }
}

/// Opens the case response `r` calls for, once: a second call for the same
/// response (another rule, a retried webhook) finds the first. Answers the
/// case's id when the response calls for one.
pub async fn open_for(
    db: &impl ConnectionTrait,
    r: &csi_response::Model,
    what: &Response<'_>,
    now: DateTime<Utc>,
) -> AppResult<Option<Uuid>> {
    let rules = rules(db, r.dealer_id).await?;
    let Some((source, category, severity)) = opens(what, &rules) else {
        return Ok(None);
    };
    let vehicle_id = repair_order::Entity::find_by_id(r.order_id)
        .one(db)
        .await?
        .map(|o| o.vehicle_id);
    let (contact_due, resolve_due) = due_times(now, &rules);
    let id = Uuid::now_v7();
    let new = case::Entity::insert(case::ActiveModel {
        id: Set(id),
        dealer_id: Set(r.dealer_id),
        customer_id: Set(r.customer_id),
        vehicle_id: Set(vehicle_id),
        order_id: Set(Some(r.order_id)),
        response_id: Set(Some(r.id)),
        source: Set(source),
        category: Set(category),
        severity: Set(severity),
        owner_id: Set(None),
        state: Set(CaseState::Open),
        summary: Set(what.words.map(str::to_string).filter(|w| !w.is_empty())),
        contact_due_at: Set(contact_due),
        resolve_due_at: Set(resolve_due),
        escalated_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(case::Column::ResponseId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if new == 1 {
        event(db, id, "opened", None, CaseState::Open, None, None, now).await?;
    }
    // the case found again (a retried webhook) gets its call if a crash lost it
    let Some(c) = case::Entity::find()
        .filter(case::Column::ResponseId.eq(r.id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    callbacks::on_case_opened(db, &c).await?;
    Ok(Some(c.id))
}

#[allow(clippy::too_many_arguments)]
async fn event(
    db: &impl ConnectionTrait,
    case_id: Uuid,
    action: &str,
    from: Option<CaseState>,
    to: CaseState,
    note: Option<String>,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    case_event::Entity::insert(case_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        action: Set(action.into()),
        from_state: Set(from),
        to_state: Set(to),
        note: Set(note),
        actor_id: Set(actor),
        at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// One step of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventView {
    /// `opened`, `contact`, `agree`, `resolve`, `verify` or `close`.
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub note: Option<String>,
    /// None for a case the rules opened.
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A case as staff see it (`ETag` = `version`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub repair_order_id: Option<Uuid>,
    /// The response that opened it.
    pub response_id: Option<Uuid>,
    pub source: CaseSource,
    pub category: CaseCategory,
    pub severity: Severity,
    pub owner_id: Option<Uuid>,
    pub state: CaseState,
    pub summary: Option<String>,
    /// First contact by then.
    pub contact_due_at: DateTime<Utc>,
    /// Resolved by then.
    pub resolve_due_at: DateTime<Utc>,
    /// Past a due time now.
    pub overdue: bool,
    pub escalated_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every step, oldest first (left out of lists).
    pub events: Vec<CaseEventView>,
}

fn view(c: case::Model, events: Vec<case_event::Model>, now: DateTime<Utc>) -> CaseView {
    CaseView {
        overdue: overdue(c.state, c.contact_due_at, c.resolve_due_at, now),
        id: c.id,
        customer_id: c.customer_id,
        vehicle_id: c.vehicle_id,
        repair_order_id: c.order_id,
        response_id: c.response_id,
        source: c.source,
        category: c.category,
        severity: c.severity,
        owner_id: c.owner_id,
        state: c.state,
        summary: c.summary,
        contact_due_at: c.contact_due_at,
        resolve_due_at: c.resolve_due_at,
        escalated_at: c.escalated_at,
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
        events: events
            .into_iter()
            .map(|e| CaseEventView {
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                note: e.note,
                actor_id: e.actor_id,
                at: e.at,
            })
            .collect(),
    }
}

async fn with_events(
    db: &impl ConnectionTrait,
    c: case::Model,
    now: DateTime<Utc>,
) -> AppResult<CaseView> {
    let events = case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(c.id))
        .order_by_asc(case_event::Column::At)
        .order_by_asc(case_event::Column::Id)
        .all(db)
        .await?;
    Ok(view(c, events, now))
}

/// Filters of the list.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<CaseState>,
    pub owner_id: Option<Uuid>,
    /// Only cases past a due time (true) or not (false).
    pub overdue: Option<bool>,
}

/// The dealer's cases, most urgent first: overdue ones, then by the next
/// due time (at most [`LIST_LIMIT`]).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    f: Filter,
    now: DateTime<Utc>,
) -> AppResult<Vec<CaseView>> {
    actor.require(HANDLERS)?;
    let mut q = case::Entity::find().filter(case::Column::DealerId.eq(actor.dealer_id));
    if let Some(s) = f.state {
        q = q.filter(case::Column::State.eq(s));
    }
    if let Some(o) = f.owner_id {
        q = q.filter(case::Column::OwnerId.eq(o));
    }
    let mut all: Vec<CaseView> = q
        .order_by_asc(case::Column::ContactDueAt)
        .order_by_asc(case::Column::Id)
        .limit(LIST_LIMIT * 5)
        .all(db)
        .await?
        .into_iter()
        .map(|c| view(c, vec![], now))
        .filter(|c| f.overdue.is_none_or(|o| c.overdue == o))
        .collect();
    all.sort_by_key(|c| (!c.overdue, !c.state.is_open(), c.contact_due_at));
    all.truncate(LIST_LIMIT as usize);
    Ok(all)
}

/// One case with every step (404 for another dealer's).
pub async fn get(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<CaseView> {
    actor.require(HANDLERS)?;
    let c = case::Entity::find_by_id(id)
        .filter(case::Column::DealerId.eq(actor.dealer_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    with_events(db, c, now).await
}

/// A step on a case, with a note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseStep {
    /// What was said or done (1–2,000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Moves the case by `action` (409 naming its state when out of order),
/// logging who, when and the note.
pub async fn act(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    action: CaseAction,
    step: CaseStep,
    now: DateTime<Utc>,
) -> AppResult<CaseView> {
    actor.require(HANDLERS)?;
    let note = crate::domain::validation::multiline(&step.note, 2000)
        .map_err(|m| AppError::field("note", m))?;
    if note.is_empty() {
        return Err(AppError::field("note", "say what was said or done"));
    }
    let txn = db.begin().await?;
    self::step(&txn, actor, id, action, note, now).await?;
    let c = case::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = with_events(&txn, c, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// One step of a case inside the caller's transaction (a case action, a
/// call on the callback list): the row locked, the move checked, the step
/// logged, and the case's queued call done once it is no longer open.
pub async fn step(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    action: CaseAction,
    note: String,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let c =
        crate::services::lock_row::<case::Entity>(txn, case::Column::Id, case::Column::Version, id)
            .await?
            .filter(|c| c.dealer_id == actor.dealer_id)
            .ok_or(AppError::NotFound)?;
    let to = next(c.state, action).ok_or_else(|| {
        AppError::Conflict(format!("a case that is {} cannot take {action}", c.state))
    })?;
    let res = case::Entity::update_many()
        .col_expr(case::Column::State, Expr::value(to.as_str()))
        .col_expr(case::Column::Version, col_plus(case::Column::Version, 1))
        .col_expr(case::Column::UpdatedAt, Expr::value(now))
        .filter(case::Column::Id.eq(c.id))
        .filter(case::Column::Version.eq(c.version))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::ChangedMeanwhile(
            "the case changed meanwhile; read it again".into(),
        ));
    }
    event(
        txn,
        c.id,
        action.as_str(),
        Some(c.state),
        to,
        Some(note),
        Some(actor.id),
        now,
    )
    .await?;
    callbacks::on_case_moved(txn, c.dealer_id, c.id, to, now).await
}

/// A case staff open by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub customer_id: Uuid,
    pub vehicle_id: Option<Uuid>,
    pub repair_order_id: Option<Uuid>,
    pub category: CaseCategory,
    pub severity: Severity,
    /// What the customer is unhappy about (1–2,000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub summary: String,
}

/// Opens a case by hand (source `manual`), owned by whoever opens it.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    n: NewCase,
    now: DateTime<Utc>,
) -> AppResult<CaseView> {
    actor.require(HANDLERS)?;
    let summary = crate::domain::validation::multiline(&n.summary, 2000)
        .map_err(|m| AppError::field("summary", m))?;
    if summary.is_empty() {
        return Err(AppError::field(
            "summary",
            "say what the customer is unhappy about",
        ));
    }
    customer::Entity::find_by_id(n.customer_id)
        .filter(customer::Column::DealerId.eq(actor.dealer_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::field("customer_id", "no such customer of this dealer"))?;
    if let Some(o) = n.repair_order_id {
        repair_order::Entity::find_by_id(o)
            .filter(repair_order::Column::DealerId.eq(actor.dealer_id))
            .filter(repair_order::Column::CustomerId.eq(n.customer_id))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("repair_order_id", "no such order of this customer"))?;
    }
    if let Some(v) = n.vehicle_id {
        crate::entities::vehicle::Entity::find_by_id(v)
            .filter(crate::entities::vehicle::Column::CustomerId.eq(n.customer_id))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("vehicle_id", "no such vehicle of this customer"))?;
    }
    let rules = rules(db, actor.dealer_id).await?;
    let (contact_due, resolve_due) = due_times(now, &rules);
    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    case::Entity::insert(case::ActiveModel {
        id: Set(id),
        dealer_id: Set(actor.dealer_id),
        customer_id: Set(n.customer_id),
        vehicle_id: Set(n.vehicle_id),
        order_id: Set(n.repair_order_id),
        response_id: Set(None),
        source: Set(CaseSource::Manual),
        category: Set(n.category),
        severity: Set(n.severity),
        owner_id: Set(Some(actor.id)),
        state: Set(CaseState::Open),
        summary: Set(Some(summary.clone())),
        contact_due_at: Set(contact_due),
        resolve_due_at: Set(resolve_due),
        escalated_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    event(
        &txn,
        id,
        "opened",
        None,
        CaseState::Open,
        Some(summary),
        Some(actor.id),
        now,
    )
    .await?;
    let c = case::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    callbacks::on_case_opened(&txn, &c).await?;
    let v = with_events(&txn, c, now).await?;
    txn.commit().await?;
    Ok(v)
}
