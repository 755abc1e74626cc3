//! The unhappy-customer table (《不满意客户处理跟踪表》, issue 10): cases
//! opened by the rules from responses (`domain::case::opens`) or by staff,
//! and moved through their states, each step logged with who, when and a note.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::outbox::{self, EscalationParams, NewMessage, Params};
use crate::care::render::Templates;
use crate::domain::Role;
use crate::domain::case::{
    CaseAction, CaseCategory, CaseRules, CaseSource, CaseState, Late, Response, Severity,
    WAITING_FOR_CONTACT, WAITING_FOR_RESOLUTION, due_times, late, next, opens, overdue,
};
use crate::domain::message::MessageKind;
use crate::domain::validation::nullable;
use crate::entities::{
    case, case_event, case_setting, csi_response, customer, dealer, repair_order, user,
};
use crate::error::{AppError, AppResult};
use crate::services::callbacks::entries as callbacks;
use crate::services::{Version, col_plus};

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
    let (id, row) = Opening {
        dealer_id: r.dealer_id,
        customer_id: r.customer_id,
        vehicle_id,
        order_id: Some(r.order_id),
        response_id: Some(r.id),
        enquiry_id: None,
        source,
        category,
        severity,
        owner_id: None,
        summary: what.words.map(str::to_string).filter(|w| !w.is_empty()),
    }
    .row(&rules, now);
    let new = case::Entity::insert(row)
        .on_conflict(
            OnConflict::column(case::Column::ResponseId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if new == 1 {
        event(
            db,
            id,
            "opened",
            None,
            CaseState::Open,
            None,
            By::default(),
            now,
        )
        .await?;
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

/// Opens the unhappy-customer case a complaint sent as an enquiry calls
/// for, once: `cases.enquiry_id` is unique, so a second call for the same
/// enquiry (two instances, a retry after a lost answer) finds the first.
/// Written in the enquiry's transaction; answers the case's id.
pub async fn open_for_enquiry(
    db: &impl ConnectionTrait,
    e: &crate::entities::enquiry::Model,
    category: CaseCategory,
    severity: Severity,
    now: DateTime<Utc>,
) -> AppResult<Uuid> {
    let rules = rules(db, e.dealer_id).await?;
    let (id, row) = Opening {
        dealer_id: e.dealer_id,
        customer_id: e.customer_id,
        vehicle_id: e.vehicle_id,
        order_id: e.order_id,
        response_id: None,
        enquiry_id: Some(e.id),
        source: CaseSource::Enquiry,
        category,
        severity,
        owner_id: None,
        summary: Some(e.text.clone()),
    }
    .row(&rules, now);
    let new = case::Entity::insert(row)
        .on_conflict(
            OnConflict::column(case::Column::EnquiryId)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if new == 1 {
        event(
            db,
            id,
            "opened",
            None,
            CaseState::Open,
            None,
            By::default(),
            now,
        )
        .await?;
    }
    let c = case::Entity::find()
        .filter(case::Column::EnquiryId.eq(e.id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the enquiry's case was not written")))?;
    callbacks::on_case_opened(db, &c).await?;
    Ok(c.id)
}

/// A new case, however it opens: due times by the dealer's rules, state
/// `open`, version 1.
struct Opening {
    dealer_id: Uuid,
    customer_id: Uuid,
    vehicle_id: Option<Uuid>,
    order_id: Option<Uuid>,
    response_id: Option<Uuid>,
    enquiry_id: Option<Uuid>,
    source: CaseSource,
    category: CaseCategory,
    severity: Severity,
    owner_id: Option<Uuid>,
    summary: Option<String>,
}

impl Opening {
    /// The case's id and its row.
    fn row(self, rules: &CaseRules, now: DateTime<Utc>) -> (Uuid, case::ActiveModel) {
        let (contact_due, resolve_due) = due_times(now, rules);
        let id = Uuid::now_v7();
        let row = case::ActiveModel {
            id: Set(id),
            dealer_id: Set(self.dealer_id),
            customer_id: Set(self.customer_id),
            vehicle_id: Set(self.vehicle_id),
            order_id: Set(self.order_id),
            response_id: Set(self.response_id),
            enquiry_id: Set(self.enquiry_id),
            source: Set(self.source),
            category: Set(self.category),
            severity: Set(self.severity),
            owner_id: Set(self.owner_id),
            state: Set(CaseState::Open),
            summary: Set(self.summary),
            contact_due_at: Set(contact_due),
            resolve_due_at: Set(resolve_due),
            escalated_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        (id, row)
    }
}

/// Who took a step: nobody (the rules, the sweep), or a user, maybe
/// standing in for the case's owner (a deputy, 职务代理).
#[derive(Debug, Clone, Copy, Default)]
struct By {
    actor: Option<Uuid>,
    on_behalf_of: Option<Uuid>,
}

impl By {
    /// `actor` on case `c`: for its owner when standing in for them.
    async fn on(
        db: &impl ConnectionTrait,
        actor: &Actor,
        c: &case::Model,
        now: DateTime<Utc>,
    ) -> AppResult<By> {
        Ok(By {
            actor: Some(actor.id),
            on_behalf_of: crate::services::deputies::acting_for(db, actor, c.owner_id, now).await?,
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn event(
    db: &impl ConnectionTrait,
    case_id: Uuid,
    action: &str,
    from: Option<CaseState>,
    to: CaseState,
    note: Option<String>,
    by: By,
    at: DateTime<Utc>,
) -> AppResult<()> {
    case_event::Entity::insert(case_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        case_id: Set(case_id),
        action: Set(action.into()),
        from_state: Set(from),
        to_state: Set(to),
        note: Set(note),
        actor_id: Set(by.actor),
        on_behalf_of: Set(by.on_behalf_of),
        at: Set(at),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// One step of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEventView {
    /// `opened`, `contact`, `agree`, `resolve`, `verify`, `close`; `edit`
    /// (the note names each change); `escalated` (by nobody: the sweep).
    pub action: String,
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    pub note: Option<String>,
    /// None for a case the rules opened, and for an escalation.
    pub actor_id: Option<Uuid>,
    /// The owner `actor_id` stood in for (a deputy's act, 职务代理).
    pub on_behalf_of: Option<Uuid>,
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
    /// The enquiry (a complaint) that opened it.
    pub enquiry_id: Option<Uuid>,
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
    /// When the case escalated to the dealer's `escalate_to` contacts: once
    /// a case, at the first due time it missed.
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
        enquiry_id: c.enquiry_id,
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
                on_behalf_of: e.on_behalf_of,
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
    /// Only the caller's cases and those of whom they stand in for now.
    pub mine: Option<bool>,
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
    if let Some(ids) =
        crate::services::deputies::whose(db, actor, f.mine, ("owner_id", f.owner_id), now).await?
    {
        q = q.filter(case::Column::OwnerId.is_in(ids));
    }
    match f.overdue {
        Some(true) => q = q.filter(overdue_at(now)),
        Some(false) => q = q.filter(overdue_at(now).not()),
        None => {}
    }
    let first = |cond: Condition| -> sea_orm::sea_query::SimpleExpr {
        Expr::case(cond, Expr::val(0)).finally(Expr::val(1)).into()
    };
    let finished = Condition::all().add(case::Column::State.is_in([
        CaseState::Verified.as_str(),
        CaseState::ClosedUnresolved.as_str(),
    ]));
    Ok(q.order_by(first(overdue_at(now)), Order::Asc)
        .order_by(first(finished.not()), Order::Asc)
        .order_by_asc(case::Column::ContactDueAt)
        .order_by_asc(case::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?
        .into_iter()
        .map(|c| view(c, vec![], now))
        .collect())
}

/// `domain::case::late(..).is_some()` in SQL: an open case past its contact
/// time, or a contacted one (or one with an agreed action) past its
/// resolution time.
fn overdue_at(now: DateTime<Utc>) -> Condition {
    let states = |s: &[CaseState]| s.iter().map(|s| s.as_str()).collect::<Vec<_>>();
    Condition::any()
        .add(
            Condition::all()
                .add(case::Column::State.is_in(states(WAITING_FOR_CONTACT)))
                .add(case::Column::ContactDueAt.lt(now)),
        )
        .add(
            Condition::all()
                .add(case::Column::State.is_in(states(WAITING_FOR_RESOLUTION)))
                .add(case::Column::ResolveDueAt.lt(now)),
        )
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
    let by = By::on(txn, actor, &c, now).await?;
    event(
        txn,
        c.id,
        action.as_str(),
        Some(c.state),
        to,
        Some(note),
        by,
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
    let (id, row) = Opening {
        dealer_id: actor.dealer_id,
        customer_id: n.customer_id,
        vehicle_id: n.vehicle_id,
        order_id: n.repair_order_id,
        response_id: None,
        enquiry_id: None,
        source: CaseSource::Manual,
        category: n.category,
        severity: n.severity,
        owner_id: Some(actor.id),
        summary: Some(summary.clone()),
    }
    .row(&rules, now);
    let txn = db.begin().await?;
    case::Entity::insert(row)
        .exec_without_returning(&txn)
        .await?;
    event(
        &txn,
        id,
        "opened",
        None,
        CaseState::Open,
        Some(summary),
        By {
            actor: Some(actor.id),
            on_behalf_of: None,
        },
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

/// An edit of a case: only the fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    /// A user of the dealer who works the table (`null`: nobody).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub owner_id: Option<Option<Uuid>>,
    pub category: Option<CaseCategory>,
    pub severity: Option<Severity>,
}

/// A user's name for a note: the display name, else the username.
async fn user_name(db: &impl ConnectionTrait, id: Option<Uuid>) -> AppResult<String> {
    let Some(id) = id else {
        return Ok("—".into());
    };
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|u| {
            if u.display_name.trim().is_empty() {
                u.username
            } else {
                u.display_name
            }
        })
        .unwrap_or_else(|| id.to_string()))
}

/// Checks a new owner: an active user of the dealer holding one of [`HANDLERS`]' roles.
async fn check_owner(db: &impl ConnectionTrait, dealer_id: Uuid, id: Uuid) -> AppResult<()> {
    let ok = match user::Entity::find_by_id(id).one(db).await? {
        Some(u) if u.dealer_id == dealer_id && u.active => crate::services::auth::roles_of(&u)?
            .iter()
            .any(|r| HANDLERS.contains(r)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::field(
            "owner_id",
            "is not a user of this dealer who works the unhappy-customer table",
        ))
    }
}

/// Changes the owner, category or severity of a case at `expected`
/// (412 when it moved on), logging an `edit` step that names each change.
/// An edit that changes nothing answers the case as it is.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    expected: Version,
    p: CasePatch,
    now: DateTime<Utc>,
) -> AppResult<CaseView> {
    actor.require(HANDLERS)?;
    let txn = db.begin().await?;
    let c = crate::services::lock_row::<case::Entity>(
        &txn,
        case::Column::Id,
        case::Column::Version,
        id,
    )
    .await?
    .filter(|c| c.dealer_id == actor.dealer_id)
    .ok_or(AppError::NotFound)?;
    if c.version != expected.0 {
        return Err(AppError::PreconditionFailed);
    }
    let mut changes = Vec::new();
    let mut u = case::Entity::update_many();
    if let Some(owner) = p.owner_id
        && owner != c.owner_id
    {
        if let Some(o) = owner {
            check_owner(&txn, c.dealer_id, o).await?;
        }
        changes.push(format!(
            "owner: {} → {}",
            user_name(&txn, c.owner_id).await?,
            user_name(&txn, owner).await?
        ));
        u = u.col_expr(case::Column::OwnerId, Expr::value(owner));
    }
    if let Some(cat) = p.category
        && cat != c.category
    {
        changes.push(format!("category: {} → {cat}", c.category));
        u = u.col_expr(case::Column::Category, Expr::value(cat.as_str()));
    }
    if let Some(sev) = p.severity
        && sev != c.severity
    {
        changes.push(format!("severity: {} → {sev}", c.severity));
        u = u.col_expr(case::Column::Severity, Expr::value(sev.as_str()));
        // the case's call waiting on the callback list moves with it
        callbacks::on_case_severity(&txn, c.dealer_id, c.id, sev, now).await?;
    }
    if !changes.is_empty() {
        let res = u
            .col_expr(case::Column::Version, col_plus(case::Column::Version, 1))
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(c.id))
            .filter(case::Column::Version.eq(c.version))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::PreconditionFailed);
        }
        let by = By::on(&txn, actor, &c, now).await?;
        event(
            &txn,
            c.id,
            "edit",
            Some(c.state),
            c.state,
            Some(changes.join("; ")),
            by,
            now,
        )
        .await?;
    }
    let c = case::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = with_events(&txn, c, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// The dealer's case rules (those who work the table).
pub async fn get_rules(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<CaseRules> {
    actor.require(HANDLERS)?;
    rules(db, actor.dealer_id).await
}

/// Replaces the dealer's case rules (managers): 422 naming each bad field.
/// Cases already open keep their due times; the new ones apply to the
/// cases opened from now on, and `escalate_to` to the next escalation.
pub async fn put_rules(
    db: &impl ConnectionTrait,
    actor: &Actor,
    body: CaseRules,
    now: DateTime<Utc>,
) -> AppResult<CaseRules> {
    actor.require(crate::services::capacity::MANAGERS)?;
    let r = body.validated()?;
    case_setting::Entity::insert(case_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        rules: Set(crate::services::to_stored(&r, "case rules")?),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(case_setting::Column::DealerId)
            .update_columns([case_setting::Column::Rules, case_setting::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(r)
}

/// The most cases one sweep escalates; the next sweep takes the rest.
pub const ESCALATION_BATCH: u64 = 200;

/// Escalates every case past a due time at `now` that has not escalated:
/// once per case, whichever due time it missed first (a case escalated for
/// a late contact does not escalate again for a late resolution). Each case
/// is claimed by one conditional update (`escalated_at IS NULL` and still
/// late), so two sweeps, in one instance or two, never escalate a case
/// twice; in the claim's transaction an `escalated` step is logged and one
/// message written to the outbox per contact of the dealer's `escalate_to`.
/// Answers how many cases this sweep escalated; call `outbox::wake` after.
pub async fn escalate_due(
    db: &DatabaseConnection,
    templates: &Templates,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let due = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::EscalatedAt.is_null())
        .filter(overdue_at(now))
        .order_by_asc(case::Column::ContactDueAt)
        .order_by_asc(case::Column::Id)
        .limit(ESCALATION_BATCH)
        .into_tuple::<Uuid>()
        .all(db)
        .await?;
    let mut escalated = 0;
    for id in due {
        match escalate(db, templates, id, now).await {
            Ok(true) => escalated += 1,
            Ok(false) => {} // another sweep had it, or it moved on meanwhile
            // the case stays unclaimed: the next sweep tries again
            Err(e) => tracing::error!(case = %id, error = ?e, "case escalation"),
        }
    }
    Ok(escalated)
}

async fn escalate(
    db: &DatabaseConnection,
    templates: &Templates,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let txn = db.begin().await?;
    // the claim: first in the transaction, so SQLite takes its write lock at once
    let claimed = case::Entity::update_many()
        .col_expr(case::Column::EscalatedAt, Expr::value(now))
        .col_expr(case::Column::Version, col_plus(case::Column::Version, 1))
        .col_expr(case::Column::UpdatedAt, Expr::value(now))
        .filter(case::Column::Id.eq(id))
        .filter(case::Column::EscalatedAt.is_null())
        .filter(overdue_at(now))
        .exec(&txn)
        .await?;
    if claimed.rows_affected == 0 {
        return Ok(false);
    }
    let c = case::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let what = late(c.state, c.contact_due_at, c.resolve_due_at, now)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("case {id} claimed but not late")))?;
    let due = match what {
        Late::Contact => c.contact_due_at,
        Late::Resolution => c.resolve_due_at,
    };
    let d = dealer::Entity::find_by_id(c.dealer_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let due_local = due
        .with_timezone(&crate::services::dealers::zone(&d))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let note = match what {
        Late::Contact => format!("not contacted by {due_local}"),
        Late::Resolution => format!("not resolved by {due_local}"),
    };
    event(
        &txn,
        c.id,
        "escalated",
        Some(c.state),
        c.state,
        Some(note),
        By::default(),
        now,
    )
    .await?;
    let contacts = rules(&txn, c.dealer_id).await?.escalate_to;
    if !contacts.is_empty() {
        let customer_name = customer::Entity::find_by_id(c.customer_id)
            .one(&txn)
            .await?
            .map(|x| x.name)
            .unwrap_or_default();
        let kind = MessageKind::CaseEscalated;
        for to in contacts {
            // each contact in their own language
            let locale = to.locale;
            let params = EscalationParams {
                dealer_name: d.name.clone(),
                customer_name: customer_name.clone(),
                category: label::category(c.category, locale).into(),
                severity: label::severity(c.severity, locale).into(),
                due: due_local.clone(),
                late: label::late(what, locale).into(),
            };
            let title = templates.render(locale, kind.as_str(), "title.txt", &params)?;
            let text = templates.render(locale, kind.as_str(), "sms.txt", &params)?;
            outbox::enqueue(
                &txn,
                NewMessage {
                    dealer_id: c.dealer_id,
                    customer_id: None,
                    about_customer_id: Some(c.customer_id),
                    kind,
                    occurrence_key: format!("case_escalated:{}:{}", c.id, to.address),
                    channel: to.channel.channel(),
                    recipient: to.address,
                    locale,
                    params: Params::Escalation(params),
                    subject: Some(title),
                    body: text,
                    due_at: now,
                    parent_id: None,
                },
                now,
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}

/// The words an escalation uses, in the message's language.
mod label {
    use crate::domain::case::{CaseCategory, Late, Severity};
    use crate::domain::customer::Locale;

    pub fn category(c: CaseCategory, l: Locale) -> &'static str {
        use CaseCategory::*;
        match (l, c) {
            (Locale::ZhCn, Quality) => "维修质量",
            (Locale::ZhCn, Price) => "价格",
            (Locale::ZhCn, Attitude) => "服务态度",
            (Locale::ZhCn, Time) => "等待时间",
            (Locale::ZhCn, Facilities) => "环境设施",
            (Locale::ZhCn, Other) => "其他",
            (Locale::En, Quality) => "quality",
            (Locale::En, Price) => "price",
            (Locale::En, Attitude) => "attitude",
            (Locale::En, Time) => "waiting time",
            (Locale::En, Facilities) => "facilities",
            (Locale::En, Other) => "other",
        }
    }

    pub fn severity(s: Severity, l: Locale) -> &'static str {
        match (l, s) {
            (Locale::ZhCn, Severity::Low) => "轻微",
            (Locale::ZhCn, Severity::Medium) => "一般",
            (Locale::ZhCn, Severity::High) => "严重",
            (Locale::En, Severity::Low) => "low",
            (Locale::En, Severity::Medium) => "medium",
            (Locale::En, Severity::High) => "high",
        }
    }

    pub fn late(w: Late, l: Locale) -> &'static str {
        match (l, w) {
            (Locale::ZhCn, Late::Contact) => "首次联系",
            (Locale::ZhCn, Late::Resolution) => "问题解决",
            (Locale::En, Late::Contact) => "the first contact",
            (Locale::En, Late::Resolution) => "the resolution",
        }
    }
}

/// The names of the cases' customers, for a table of cases.
pub async fn customer_names(
    db: &impl ConnectionTrait,
    actor: &Actor,
    cases: &[CaseView],
) -> AppResult<std::collections::HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = cases.iter().map(|c| c.customer_id).collect();
    Ok(customer::Entity::find()
        .filter(customer::Column::DealerId.eq(actor.dealer_id))
        .filter(customer::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// The dealer's cases still someone's work, and of those the overdue ones
/// (the board's figures).
pub async fn open_counts(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<(u64, u64)> {
    use sea_orm::PaginatorTrait;
    let open = CaseState::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| s.as_str());
    let base = || {
        case::Entity::find()
            .filter(case::Column::DealerId.eq(dealer_id))
            .filter(case::Column::State.is_in(open.clone()))
    };
    let all = base().count(db).await?;
    let late = base().filter(overdue_at(now)).count(db).await?;
    Ok((all, late))
}

/// The dealer's overdue cases (as the list's `overdue` filter), the one
/// missed longest ago first: by the due time it missed (the contact's of
/// an open case, else the resolution's), at most `limit`.
pub async fn overdue_cases(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<case::Model>> {
    let missed: sea_orm::sea_query::SimpleExpr = Expr::case(
        case::Column::State.is_in(WAITING_FOR_CONTACT.iter().map(|s| s.as_str())),
        Expr::col(case::Column::ContactDueAt),
    )
    .finally(Expr::col(case::Column::ResolveDueAt))
    .into();
    Ok(case::Entity::find()
        .filter(case::Column::DealerId.eq(dealer_id))
        .filter(overdue_at(now))
        .order_by(missed, Order::Asc)
        .order_by_asc(case::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
