//! Special tools and equipment (设施管理, `domain::tools`): the tools of a
//! dealer, the lending register, the personal tool lists, the upkeep
//! records and the repair / scrap requests.
//!
//! Writes and retries:
//! - a lend is one transaction whose first statement is the conditional
//!   `UPDATE tools SET state = 'lent' … WHERE state = 'available'`: of two
//!   lends at once exactly one changes the row (on PostgreSQL the second
//!   waits on the row lock and then finds it lent; on SQLite the write lock
//!   is taken at once); the partial unique index on open loans is the
//!   backstop. The loser and a retry get 409.
//! - a return locks the tool first; a return of a tool not lent (a retry)
//!   is 409 and records nothing twice (one incident per loan, unique).
//! - an upkeep is recorded once per tool and day: the same again answers
//!   the first record (200).
//! - a tool has at most one open request (partial unique index): the same
//!   request again answers the open one (200); another is 409. A decision
//!   already taken, sent again, answers the request as it is.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::money::Money;
use crate::domain::tools::{
    self, KEEPERS, READERS, ReturnCondition, ToolIncidentKind, ToolKind, ToolRequestKind,
    ToolRequestState, ToolState,
};
use crate::domain::validation::{self, nullable};
use crate::domain::{FieldErrors, dates};
use crate::entities::{
    equipment_upkeep as upkeep, repair_order_job, tool, tool_incident as incident,
    tool_loan as loan, tool_request as request, user,
};
use crate::error::{AppError, AppResult};
use crate::services::appointments::dealer_zone;
use crate::services::dealers::{StaffRef, staff_names};
use crate::services::{Version, col_plus, lock_row};

/// The most rows one list answers.
pub const LIST_LIMIT: u64 = 500;

/// A tool as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ToolKind,
    pub location: Option<String>,
    pub state: ToolState,
    /// Whom a personal tool is issued to.
    pub holder: Option<StaffRef>,
    pub upkeep_interval_days: Option<i32>,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_upkeep_on: Option<NaiveDate>,
    /// The last upkeep plus the interval; null with an interval but no
    /// upkeep yet means due now.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_upkeep_on: Option<NaiveDate>,
    pub note: Option<String>,
    /// The open loan, when lent.
    pub loan: Option<ToolLoanView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The ETag to send back in `If-Match`.
    pub version: i32,
}

/// A line of the lending register.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolLoanView {
    pub id: Uuid,
    pub tool_id: Uuid,
    pub tool_code: String,
    pub tool_name: String,
    pub to_user: StaffRef,
    pub job_id: Option<Uuid>,
    pub lent_by: StaffRef,
    pub lent_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Not returned and past `due_at`.
    pub overdue: bool,
    pub returned_at: Option<DateTime<Utc>>,
    pub returned_to: Option<StaffRef>,
    pub condition: Option<ReturnCondition>,
    pub note: Option<String>,
}

/// A loss or damage recorded against a person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolIncidentView {
    pub id: Uuid,
    pub tool_id: Uuid,
    pub tool_code: String,
    pub tool_name: String,
    pub loan_id: Option<Uuid>,
    pub user: StaffRef,
    pub kind: ToolIncidentKind,
    /// What the person is charged under the dealer's rule, CNY; null for none.
    #[schema(value_type = Option<String>, format = "decimal")]
    pub charge: Option<Decimal>,
    pub note: Option<String>,
    pub recorded_by: StaffRef,
    pub recorded_at: DateTime<Utc>,
}

/// `POST /api/v1/tools`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTool {
    /// 1–32 letters, digits, `-` or `_`, unique at the dealer (stored upper case).
    pub code: String,
    /// 1–100 characters.
    pub name: String,
    pub kind: ToolKind,
    /// Where it is kept, 1–100 characters.
    #[serde(default)]
    pub location: Option<String>,
    /// A personal tool's holder: an active member of the dealer's staff.
    #[serde(default)]
    pub holder_user_id: Option<Uuid>,
    /// 1–1826 days: the tool is then due for upkeep.
    #[serde(default)]
    pub upkeep_interval_days: Option<i32>,
    /// The last upkeep before the tool was entered (not in the future).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub last_upkeep_on: Option<NaiveDate>,
    /// Up to 2000 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// `PATCH /api/v1/tools/{id}`: only the fields sent change; `null` clears one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// Personal tools only.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub holder_user_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i32>)]
    pub upkeep_interval_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Which tools a list answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub kind: Option<ToolKind>,
    pub state: Option<ToolState>,
    pub holder_id: Option<Uuid>,
}

/// `POST /api/v1/tools/{id}/lend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolLendInput {
    /// The borrower: an active member of the dealer's staff.
    pub to_user_id: Uuid,
    /// The job of the dealer the tool is for.
    #[serde(default)]
    pub job_id: Option<Uuid>,
    /// When it is to be back: after now, within 30 days. By default the
    /// end of the dealer's local day.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /api/v1/tools/{id}/return`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolReturnInput {
    pub condition: ReturnCondition,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: Option<String>,
    /// For `damaged` or `lost`: what the borrower is charged under the
    /// dealer's rule, CNY 0–1,000,000, two places at most; none by default.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = "decimal")]
    pub charge: Option<Decimal>,
}

/// `POST /api/v1/tools/{id}/upkeep`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolUpkeepInput {
    /// The local day it was done: not in the future; today by default.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub done_on: Option<NaiveDate>,
    /// Who did it (a member of the staff); the recorder by default.
    #[serde(default)]
    pub done_by: Option<Uuid>,
    /// What was done, 1–2000 characters.
    pub work: String,
}

/// An upkeep record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolUpkeepView {
    pub id: Uuid,
    pub tool_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub done_on: NaiveDate,
    pub done_by: StaffRef,
    pub work: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub next_due_on: Option<NaiveDate>,
    pub recorded_by: StaffRef,
    pub recorded_at: DateTime<Utc>,
}

/// A tool due for upkeep.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpkeepDueItem {
    pub tool_id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ToolKind,
    pub location: Option<String>,
    pub state: ToolState,
    pub upkeep_interval_days: i32,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_upkeep_on: Option<NaiveDate>,
    /// Null: never upkept, due now.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_due_on: Option<NaiveDate>,
    /// Due before the week starts.
    pub overdue: bool,
}

/// What is due for upkeep by the end of an ISO week.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpkeepDue {
    /// `YYYY-Www`.
    pub week: String,
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Overdue first, then by due day and code.
    pub items: Vec<UpkeepDueItem>,
}

/// A person's tools (《个人手/汽/电动工具清册》).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonalTools {
    pub user: StaffRef,
    /// The personal tools issued to them.
    pub held: Vec<ToolView>,
    /// What they have on loan now.
    pub borrowed: Vec<ToolLoanView>,
    /// Losses and damages recorded against them, newest first.
    pub incidents: Vec<ToolIncidentView>,
}

/// `POST /api/v1/tool-requests`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToolRequest {
    pub tool_id: Uuid,
    pub kind: ToolRequestKind,
    /// Why, 1–1000 characters.
    pub reason: String,
}

/// A decision or the closing of a request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolRequestDecision {
    /// Up to 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A repair or scrap request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ToolRequestView {
    pub id: Uuid,
    pub tool_id: Uuid,
    pub tool_code: String,
    pub tool_name: String,
    pub kind: ToolRequestKind,
    pub reason: String,
    pub state: ToolRequestState,
    pub requested_by: StaffRef,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<StaffRef>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub done_by: Option<StaffRef>,
    pub done_at: Option<DateTime<Utc>>,
    pub version: i32,
}

fn staff(names: &HashMap<Uuid, String>, id: Option<Uuid>) -> Option<StaffRef> {
    id.map(|i| StaffRef::of(names, i))
}

fn staff_only(actor: &Actor) -> AppResult<()> {
    if actor.is_customer() {
        Err(AppError::Forbidden("staff only"))
    } else {
        Ok(())
    }
}

async fn find_tool(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> AppResult<tool::Model> {
    tool::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| t.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)
}

async fn loan_views(
    db: &impl ConnectionTrait,
    rows: Vec<loan::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ToolLoanView>> {
    let tool_ids: Vec<Uuid> = rows.iter().map(|r| r.tool_id).collect();
    let tools: HashMap<Uuid, tool::Model> = tool::Entity::find()
        .filter(tool::Column::Id.is_in(tool_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let names = staff_names(
        db,
        rows.iter()
            .flat_map(|r| [Some(r.to_user_id), Some(r.lent_by), r.returned_to])
            .flatten(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = tools.get(&r.tool_id);
            ToolLoanView {
                id: r.id,
                tool_id: r.tool_id,
                tool_code: t.map(|t| t.code.clone()).unwrap_or_default(),
                tool_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                to_user: StaffRef::of(&names, r.to_user_id),
                job_id: r.job_id,
                lent_by: StaffRef::of(&names, r.lent_by),
                lent_at: r.lent_at,
                due_at: r.due_at,
                overdue: tools::overdue(r.due_at, r.returned_at.is_some(), now),
                returned_at: r.returned_at,
                returned_to: staff(&names, r.returned_to),
                condition: r.condition,
                note: r.note,
            }
        })
        .collect())
}

async fn tool_views(
    db: &impl ConnectionTrait,
    rows: Vec<tool::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ToolView>> {
    let lent: Vec<Uuid> = rows
        .iter()
        .filter(|t| t.state == ToolState::Lent)
        .map(|t| t.id)
        .collect();
    let open = if lent.is_empty() {
        vec![]
    } else {
        loan::Entity::find()
            .filter(loan::Column::ToolId.is_in(lent))
            .filter(loan::Column::ReturnedAt.is_null())
            .all(db)
            .await?
    };
    let mut loans: HashMap<Uuid, ToolLoanView> = loan_views(db, open, now)
        .await?
        .into_iter()
        .map(|l| (l.tool_id, l))
        .collect();
    let names = staff_names(db, rows.iter().filter_map(|t| t.holder_user_id)).await?;
    Ok(rows
        .into_iter()
        .map(|t| ToolView {
            id: t.id,
            loan: loans.remove(&t.id),
            code: t.code,
            name: t.name,
            kind: t.kind,
            location: t.location,
            state: t.state,
            holder: staff(&names, t.holder_user_id),
            upkeep_interval_days: t.upkeep_interval_days,
            last_upkeep_on: t.last_upkeep_on,
            next_upkeep_on: t
                .upkeep_interval_days
                .and_then(|i| tools::next_upkeep(t.last_upkeep_on, i)),
            note: t.note,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        })
        .collect())
}

async fn tool_view(
    db: &impl ConnectionTrait,
    t: tool::Model,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    tool_views(db, vec![t], now)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

async fn incident_views(
    db: &impl ConnectionTrait,
    rows: Vec<incident::Model>,
) -> AppResult<Vec<ToolIncidentView>> {
    let tools: HashMap<Uuid, tool::Model> = tool::Entity::find()
        .filter(tool::Column::Id.is_in(rows.iter().map(|r| r.tool_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let names = staff_names(db, rows.iter().flat_map(|r| [r.user_id, r.recorded_by])).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = tools.get(&r.tool_id);
            ToolIncidentView {
                id: r.id,
                tool_id: r.tool_id,
                tool_code: t.map(|t| t.code.clone()).unwrap_or_default(),
                tool_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                loan_id: r.loan_id,
                user: StaffRef::of(&names, r.user_id),
                kind: r.kind,
                charge: r.charge_cents.map(|c| Money::from_cents(c).to_decimal()),
                note: r.note,
                recorded_by: StaffRef::of(&names, r.recorded_by),
                recorded_at: r.recorded_at,
            }
        })
        .collect())
}

/// The dealer's tools by code (at most 500): the readers.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    f: Filter,
    now: DateTime<Utc>,
) -> AppResult<Vec<ToolView>> {
    staff_only(actor)?;
    actor.require(READERS)?;
    let mut q = tool::Entity::find().filter(tool::Column::DealerId.eq(actor.dealer_id));
    if let Some(k) = f.kind {
        q = q.filter(tool::Column::Kind.eq(k));
    }
    if let Some(s) = f.state {
        q = q.filter(tool::Column::State.eq(s));
    }
    if let Some(h) = f.holder_id {
        q = q.filter(tool::Column::HolderUserId.eq(h));
    }
    use sea_orm::QuerySelect;
    let rows = q
        .order_by_asc(tool::Column::Code)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    tool_views(db, rows, now).await
}

/// One tool: the readers, and the holder of a personal tool.
pub async fn get(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    staff_only(actor)?;
    let t = find_tool(db, actor, id).await?;
    if t.holder_user_id != Some(actor.id) {
        actor.require(READERS)?;
    }
    tool_view(db, t, now).await
}

fn opt_text(e: &mut FieldErrors, field: &str, v: Option<&str>, max: usize) -> Option<String> {
    e.check(field, validation::optional_text(v, max)).flatten()
}

fn opt_multiline(e: &mut FieldErrors, field: &str, v: Option<&str>, max: usize) -> Option<String> {
    e.check(field, validation::optional_multiline(v, max))
        .flatten()
}

/// Checks a holder: an active member of the staff, for a personal tool only.
async fn check_holder(
    db: &impl ConnectionTrait,
    e: &mut FieldErrors,
    dealer_id: Uuid,
    kind: ToolKind,
    holder: Option<Uuid>,
) -> AppResult<()> {
    let Some(h) = holder else { return Ok(()) };
    if !kind.is_personal() {
        e.add(
            "holder_user_id",
            "only a personal (hand, air, electric) tool has a holder",
        );
    } else if crate::services::dealers::staff_member(db, dealer_id, h)
        .await?
        .is_none()
    {
        e.add(
            "holder_user_id",
            "is not an active member of this dealer's staff",
        );
    }
    Ok(())
}

/// Enters a tool (the tool keeper): 409 when the code is taken.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: NewTool,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    staff_only(actor)?;
    actor.require(KEEPERS)?;
    let today = crate::services::dealers::today(db, actor.dealer_id, now).await?;
    let mut e = FieldErrors::new();
    let code = e.check("code", validation::code(&input.code));
    let name = e.check("name", validation::text(&input.name, 100));
    let location = opt_text(&mut e, "location", input.location.as_deref(), 100);
    let note = opt_multiline(&mut e, "note", input.note.as_deref(), 2000);
    if let Some(i) = input.upkeep_interval_days {
        e.check("upkeep_interval_days", tools::interval(i));
    }
    if let Some(d) = input.last_upkeep_on {
        e.check("last_upkeep_on", dates::not_future(d, today));
    }
    check_holder(
        db,
        &mut e,
        actor.dealer_id,
        input.kind,
        input.holder_user_id,
    )
    .await?;
    e.into_result()?;
    let (Some(code), Some(name)) = (code, name) else {
        return Err(AppError::field("code", "is required"));
    };
    let t = tool::Model {
        id: Uuid::now_v7(),
        dealer_id: actor.dealer_id,
        code,
        name,
        kind: input.kind,
        location,
        state: ToolState::Available,
        holder_user_id: input.holder_user_id,
        upkeep_interval_days: input.upkeep_interval_days,
        last_upkeep_on: input.last_upkeep_on,
        note,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let am: tool::ActiveModel = t.clone().into();
    match tool::Entity::insert(am).exec_without_returning(db).await {
        Ok(_) => {}
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(format!(
                "the code {} is already used at this dealer",
                t.code
            )));
        }
        Err(err) => return Err(err.into()),
    }
    tool_view(db, t, now).await
}

/// Edits a tool (the tool keeper), `If-Match` its version.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    expected: Version,
    p: ToolPatch,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    staff_only(actor)?;
    actor.require(KEEPERS)?;
    let txn = db.begin().await?;
    let t = lock_row::<tool::Entity>(&txn, tool::Column::Id, tool::Column::Version, id)
        .await?
        .filter(|t| t.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    if t.version != expected.0 {
        return Err(AppError::PreconditionFailed);
    }
    let mut e = FieldErrors::new();
    let name = p
        .name
        .as_deref()
        .and_then(|n| e.check("name", validation::text(n, 100)));
    let location = p
        .location
        .as_ref()
        .map(|l| opt_text(&mut e, "location", l.as_deref(), 100));
    let note = p
        .note
        .as_ref()
        .map(|n| opt_multiline(&mut e, "note", n.as_deref(), 2000));
    if let Some(Some(i)) = p.upkeep_interval_days {
        e.check("upkeep_interval_days", tools::interval(i));
    }
    if let Some(h) = p.holder_user_id {
        check_holder(&txn, &mut e, t.dealer_id, t.kind, h).await?;
    }
    e.into_result()?;
    let mut u = tool::Entity::update_many()
        .col_expr(tool::Column::Version, col_plus(tool::Column::Version, 1))
        .col_expr(tool::Column::UpdatedAt, Expr::value(now));
    if let Some(n) = name {
        u = u.col_expr(tool::Column::Name, Expr::value(n));
    }
    if let Some(l) = location {
        u = u.col_expr(tool::Column::Location, Expr::value(l));
    }
    if let Some(n) = note {
        u = u.col_expr(tool::Column::Note, Expr::value(n));
    }
    if let Some(i) = p.upkeep_interval_days {
        u = u.col_expr(tool::Column::UpkeepIntervalDays, Expr::value(i));
    }
    if let Some(h) = p.holder_user_id {
        u = u.col_expr(tool::Column::HolderUserId, Expr::value(h));
    }
    u.filter(tool::Column::Id.eq(id)).exec(&txn).await?;
    let t = find_tool(&txn, actor, id).await?;
    let v = tool_view(&txn, t, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// Lends a special tool or piece of equipment (the tool keeper records it
/// in the register): 409 when it is not available, e.g. lent already.
pub async fn lend(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: ToolLendInput,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    staff_only(actor)?;
    actor.require(KEEPERS)?;
    let t = find_tool(db, actor, id).await?;
    let mut e = FieldErrors::new();
    if crate::services::dealers::staff_member(db, t.dealer_id, input.to_user_id)
        .await?
        .is_none()
    {
        e.add(
            "to_user_id",
            "is not an active member of this dealer's staff",
        );
    }
    if let Some(j) = input.job_id {
        let ok = repair_order_job::Entity::find_by_id(j)
            .one(db)
            .await?
            .is_some_and(|j| j.dealer_id == t.dealer_id);
        if !ok {
            e.add("job_id", "is not a job of this dealer");
        }
    }
    let due_at = match input.due_at {
        Some(d) => e.check("due_at", tools::due(d, now)),
        None => {
            let (_, tz) = dealer_zone(db, t.dealer_id).await?;
            Some(tools::default_due(now, tz))
        }
    };
    let note = opt_multiline(&mut e, "note", input.note.as_deref(), 500);
    e.into_result()?;
    let due_at = due_at.ok_or_else(|| AppError::field("due_at", "is required"))?;
    tools::lend(t.kind, t.state).map_err(|m| AppError::Conflict(m.into()))?;
    let txn = db.begin().await?;
    // the first statement is the write that decides between two lends
    let res = tool::Entity::update_many()
        .col_expr(tool::Column::State, Expr::value(ToolState::Lent))
        .col_expr(tool::Column::Version, col_plus(tool::Column::Version, 1))
        .col_expr(tool::Column::UpdatedAt, Expr::value(now))
        .filter(tool::Column::Id.eq(id))
        .filter(tool::Column::DealerId.eq(actor.dealer_id))
        .filter(tool::Column::State.eq(ToolState::Available))
        .filter(tool::Column::Kind.is_in([ToolKind::Special, ToolKind::Equipment]))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        txn.rollback().await?;
        return Err(AppError::Conflict(
            "the tool is not available: lent to someone else, in repair, scrapped or lost".into(),
        ));
    }
    let l = loan::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(t.dealer_id),
        tool_id: Set(id),
        to_user_id: Set(input.to_user_id),
        job_id: Set(input.job_id),
        lent_by: Set(actor.id),
        lent_at: Set(now),
        due_at: Set(due_at),
        returned_at: Set(None),
        returned_to: Set(None),
        condition: Set(None),
        note: Set(note),
    };
    match loan::Entity::insert(l).exec_without_returning(&txn).await {
        Ok(_) => {}
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(
                "the tool is lent to someone else; it must be returned first".into(),
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let t = find_tool(&txn, actor, id).await?;
    let v = tool_view(&txn, t, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// Takes a lent tool back (the tool keeper) in the condition it comes back
/// in: good → available; damaged → in_repair, lost → lost, each recorded
/// against the borrower with the charge given (none by default). 409 when
/// the tool is not lent (a retry of a return).
pub async fn give_back(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: ToolReturnInput,
    now: DateTime<Utc>,
) -> AppResult<ToolView> {
    staff_only(actor)?;
    actor.require(KEEPERS)?;
    let mut e = FieldErrors::new();
    let note = opt_multiline(&mut e, "note", input.note.as_deref(), 500);
    let charge = match input.charge {
        None => None,
        Some(_) if input.condition == ReturnCondition::Good => {
            e.add("charge", "only a damaged or lost tool is charged");
            None
        }
        Some(c) if c < Decimal::ZERO || c > Decimal::from(tools::MAX_CHARGE) => {
            e.add("charge", format!("must be 0 to {}", tools::MAX_CHARGE));
            None
        }
        Some(c) => e.check("charge", Money::parse(c)).map(|m| m.cents()),
    };
    e.into_result()?;
    let txn = db.begin().await?;
    let t = lock_row::<tool::Entity>(&txn, tool::Column::Id, tool::Column::Version, id)
        .await?
        .filter(|t| t.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    let (to, incident_kind) =
        tools::give_back(t.state, input.condition).map_err(|m| AppError::Conflict(m.into()))?;
    let open = loan::Entity::find()
        .filter(loan::Column::ToolId.eq(id))
        .filter(loan::Column::ReturnedAt.is_null())
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::Conflict("the tool is not lent".into()))?;
    let res = loan::Entity::update_many()
        .col_expr(loan::Column::ReturnedAt, Expr::value(now))
        .col_expr(loan::Column::ReturnedTo, Expr::value(actor.id))
        .col_expr(loan::Column::Condition, Expr::value(input.condition))
        .col_expr(
            loan::Column::Note,
            Expr::value(note.clone().or(open.note.clone())),
        )
        .filter(loan::Column::Id.eq(open.id))
        .filter(loan::Column::ReturnedAt.is_null())
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::Conflict("the tool is not lent".into()));
    }
    tool::Entity::update_many()
        .col_expr(tool::Column::State, Expr::value(to))
        .col_expr(tool::Column::Version, col_plus(tool::Column::Version, 1))
        .col_expr(tool::Column::UpdatedAt, Expr::value(now))
        .filter(tool::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    if let Some(kind) = incident_kind {
        incident::Entity::insert(incident::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(t.dealer_id),
            tool_id: Set(id),
            loan_id: Set(Some(open.id)),
            user_id: Set(open.to_user_id),
            kind: Set(kind),
            charge_cents: Set(charge),
            note: Set(note),
            recorded_by: Set(actor.id),
            recorded_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    let t = find_tool(&txn, actor, id).await?;
    let v = tool_view(&txn, t, now).await?;
    txn.commit().await?;
    Ok(v)
}

/// The loans out now, overdue first then by due time (the readers);
/// `overdue_only` keeps those past due.
pub async fn loans(
    db: &impl ConnectionTrait,
    actor: &Actor,
    overdue_only: bool,
    now: DateTime<Utc>,
) -> AppResult<Vec<ToolLoanView>> {
    staff_only(actor)?;
    actor.require(READERS)?;
    use sea_orm::QuerySelect;
    let mut q = loan::Entity::find()
        .filter(loan::Column::DealerId.eq(actor.dealer_id))
        .filter(loan::Column::ReturnedAt.is_null());
    if overdue_only {
        q = q.filter(loan::Column::DueAt.lte(now));
    }
    let rows = q
        .order_by_asc(loan::Column::DueAt)
        .order_by_asc(loan::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    loan_views(db, rows, now).await
}

/// A person's tool list: their personal tools, their loans out and the
/// losses and damages recorded against them. The person themself and the
/// readers.
pub async fn personal(
    db: &impl ConnectionTrait,
    actor: &Actor,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<PersonalTools> {
    staff_only(actor)?;
    if actor.id != user_id {
        actor.require(READERS)?;
    }
    let u = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .filter(|u| u.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    let held = tool::Entity::find()
        .filter(tool::Column::DealerId.eq(u.dealer_id))
        .filter(tool::Column::HolderUserId.eq(u.id))
        .order_by_asc(tool::Column::Code)
        .all(db)
        .await?;
    let borrowed = loan::Entity::find()
        .filter(loan::Column::ToUserId.eq(u.id))
        .filter(loan::Column::ReturnedAt.is_null())
        .order_by_asc(loan::Column::DueAt)
        .all(db)
        .await?;
    let incidents = incident::Entity::find()
        .filter(incident::Column::UserId.eq(u.id))
        .order_by_desc(incident::Column::RecordedAt)
        .order_by_desc(incident::Column::Id)
        .all(db)
        .await?;
    Ok(PersonalTools {
        user: StaffRef {
            id: u.id,
            name: u.display_name.clone(),
        },
        held: tool_views(db, held, now).await?,
        borrowed: loan_views(db, borrowed, now).await?,
        incidents: incident_views(db, incidents).await?,
    })
}

/// Records an upkeep of a tool (the tool keeper); the same tool and day
/// again answers the first record (`false`). The tool's last upkeep moves
/// forward, never back.
pub async fn record_upkeep(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: ToolUpkeepInput,
    now: DateTime<Utc>,
) -> AppResult<(ToolUpkeepView, bool)> {
    staff_only(actor)?;
    actor.require(KEEPERS)?;
    let t = find_tool(db, actor, id).await?;
    let today = crate::services::dealers::today(db, t.dealer_id, now).await?;
    let mut e = FieldErrors::new();
    let done_on = match input.done_on {
        Some(d) => e.check("done_on", dates::not_future(d, today)),
        None => Some(today),
    };
    let work = e.check("work", validation::multiline(&input.work, 2000));
    let done_by = input.done_by.unwrap_or(actor.id);
    if crate::services::dealers::staff_member(db, t.dealer_id, done_by)
        .await?
        .is_none()
    {
        e.add("done_by", "is not an active member of this dealer's staff");
    }
    e.into_result()?;
    let (Some(done_on), Some(work)) = (done_on, work) else {
        return Err(AppError::field("work", "is required"));
    };
    if matches!(t.state, ToolState::Scrapped | ToolState::Lost) {
        return Err(AppError::Conflict(format!("the tool is {}", t.state)));
    }
    let next = t
        .upkeep_interval_days
        .and_then(|i| tools::next_upkeep(Some(done_on), i));
    let txn = db.begin().await?;
    // again under the tool's lock: one scrapped or lost at this moment gets no upkeep
    let locked = crate::services::lock_row::<tool::Entity>(
        &txn,
        tool::Column::Id,
        tool::Column::Version,
        id,
    )
    .await?
    .ok_or(AppError::NotFound)?;
    if matches!(locked.state, ToolState::Scrapped | ToolState::Lost) {
        return Err(AppError::Conflict(format!("the tool is {}", locked.state)));
    }
    let row_id = Uuid::now_v7();
    let inserted = upkeep::Entity::insert(upkeep::ActiveModel {
        id: Set(row_id),
        dealer_id: Set(t.dealer_id),
        tool_id: Set(id),
        done_on: Set(done_on),
        done_by: Set(done_by),
        work: Set(work),
        next_due_on: Set(next),
        recorded_by: Set(actor.id),
        recorded_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([upkeep::Column::ToolId, upkeep::Column::DoneOn])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let new = inserted > 0;
    if new {
        tool::Entity::update_many()
            .col_expr(tool::Column::LastUpkeepOn, Expr::value(done_on))
            .col_expr(tool::Column::Version, col_plus(tool::Column::Version, 1))
            .col_expr(tool::Column::UpdatedAt, Expr::value(now))
            .filter(tool::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(tool::Column::LastUpkeepOn.is_null())
                    .add(tool::Column::LastUpkeepOn.lt(done_on)),
            )
            .exec(&txn)
            .await?;
    }
    let r = upkeep::Entity::find()
        .filter(upkeep::Column::ToolId.eq(id))
        .filter(upkeep::Column::DoneOn.eq(done_on))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    txn.commit().await?;
    let names = staff_names(db, [r.done_by, r.recorded_by]).await?;
    Ok((
        ToolUpkeepView {
            id: r.id,
            tool_id: r.tool_id,
            done_on: r.done_on,
            done_by: StaffRef::of(&names, r.done_by),
            work: r.work,
            next_due_on: r.next_due_on,
            recorded_by: StaffRef::of(&names, r.recorded_by),
            recorded_at: r.recorded_at,
        },
        new,
    ))
}

/// What is due for upkeep by the end of the ISO week (`YYYY-Www`; this
/// week in the dealer's zone by default): every tool with an interval, not
/// scrapped or lost, whose next upkeep falls on or before that Sunday.
pub async fn upkeep_due(
    db: &impl ConnectionTrait,
    actor: &Actor,
    week: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<UpkeepDue> {
    staff_only(actor)?;
    actor.require(READERS)?;
    let monday = match week {
        Some(w) => tools::parse_week(w).map_err(|m| AppError::field("week", m))?,
        None => tools::week_start(crate::services::dealers::today(db, actor.dealer_id, now).await?),
    };
    let rows = tool::Entity::find()
        .filter(tool::Column::DealerId.eq(actor.dealer_id))
        .filter(tool::Column::UpkeepIntervalDays.is_not_null())
        .filter(tool::Column::State.is_not_in([ToolState::Scrapped, ToolState::Lost]))
        .all(db)
        .await?;
    let mut items: Vec<UpkeepDueItem> = rows
        .into_iter()
        .filter_map(|t| {
            let i = t.upkeep_interval_days?;
            let next = tools::next_upkeep(t.last_upkeep_on, i);
            tools::due_by_week(next, monday).then(|| UpkeepDueItem {
                tool_id: t.id,
                code: t.code,
                name: t.name,
                kind: t.kind,
                location: t.location,
                state: t.state,
                upkeep_interval_days: i,
                last_upkeep_on: t.last_upkeep_on,
                next_due_on: next,
                overdue: next.is_none_or(|n| n < monday),
            })
        })
        .collect();
    items.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.next_due_on.cmp(&b.next_due_on))
            .then(a.code.cmp(&b.code))
    });
    Ok(UpkeepDue {
        week: tools::week_name(monday),
        from: monday,
        to: monday + chrono::Duration::days(6),
        items,
    })
}

async fn request_views(
    db: &impl ConnectionTrait,
    rows: Vec<request::Model>,
) -> AppResult<Vec<ToolRequestView>> {
    let tools: HashMap<Uuid, tool::Model> = tool::Entity::find()
        .filter(tool::Column::Id.is_in(rows.iter().map(|r| r.tool_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let names = staff_names(
        db,
        rows.iter()
            .flat_map(|r| [Some(r.requested_by), r.decided_by, r.done_by])
            .flatten(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let t = tools.get(&r.tool_id);
            ToolRequestView {
                id: r.id,
                tool_id: r.tool_id,
                tool_code: t.map(|t| t.code.clone()).unwrap_or_default(),
                tool_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                kind: r.kind,
                reason: r.reason,
                state: r.state,
                requested_by: StaffRef::of(&names, r.requested_by),
                requested_at: r.requested_at,
                decided_by: staff(&names, r.decided_by),
                decided_at: r.decided_at,
                decision_note: r.decision_note,
                done_by: staff(&names, r.done_by),
                done_at: r.done_at,
                version: r.version,
            }
        })
        .collect())
}

async fn request_view(db: &impl ConnectionTrait, r: request::Model) -> AppResult<ToolRequestView> {
    request_views(db, vec![r])
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// Asks for a repair or a scrapping (《设备(工具)器材修理、报废申请单》).
/// A tool has one open request at a time: the same request by the same
/// person again answers it (`false`); another is 409.
pub async fn create_request(
    db: &impl ConnectionTrait,
    actor: &Actor,
    input: NewToolRequest,
    now: DateTime<Utc>,
) -> AppResult<(ToolRequestView, bool)> {
    staff_only(actor)?;
    actor.require(tools::REQUESTERS)?;
    let reason =
        validation::multiline(&input.reason, 1000).map_err(|m| AppError::field("reason", m))?;
    let t = tool::Entity::find_by_id(input.tool_id)
        .one(db)
        .await?
        .filter(|t| t.dealer_id == actor.dealer_id)
        .ok_or_else(|| AppError::field("tool_id", "is not a tool of this dealer"))?;
    let open = |db| async move {
        request::Entity::find()
            .filter(request::Column::ToolId.eq(t.id))
            .filter(
                request::Column::State
                    .is_in([ToolRequestState::Requested, ToolRequestState::Approved]),
            )
            .one(db)
            .await
    };
    let same = |r: &request::Model| r.kind == input.kind && r.requested_by == actor.id;
    if let Some(r) = open(db).await? {
        return if same(&r) {
            Ok((request_view(db, r).await?, false))
        } else {
            Err(AppError::Conflict(format!(
                "the tool has an open {} request already",
                r.kind
            )))
        };
    }
    tools::may_request(input.kind, t.state).map_err(|m| AppError::Conflict(m.into()))?;
    let r = request::Model {
        id: Uuid::now_v7(),
        dealer_id: t.dealer_id,
        tool_id: t.id,
        kind: input.kind,
        reason,
        state: ToolRequestState::Requested,
        requested_by: actor.id,
        requested_at: now,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        done_by: None,
        done_at: None,
        version: 1,
    };
    let am: request::ActiveModel = r.clone().into();
    match request::Entity::insert(am).exec_without_returning(db).await {
        Ok(_) => Ok((request_view(db, r).await?, true)),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            match open(db).await? {
                Some(r) if same(&r) => Ok((request_view(db, r).await?, false)),
                _ => Err(AppError::Conflict(
                    "the tool has an open request already".into(),
                )),
            }
        }
        Err(err) => Err(err.into()),
    }
}

/// The requests, newest first (at most 500): the readers see all, anyone
/// else their own.
pub async fn list_requests(
    db: &impl ConnectionTrait,
    actor: &Actor,
    state: Option<ToolRequestState>,
) -> AppResult<Vec<ToolRequestView>> {
    staff_only(actor)?;
    use sea_orm::QuerySelect;
    let mut q = request::Entity::find().filter(request::Column::DealerId.eq(actor.dealer_id));
    if actor.require(READERS).is_err() {
        q = q.filter(request::Column::RequestedBy.eq(actor.id));
    }
    if let Some(s) = state {
        q = q.filter(request::Column::State.eq(s));
    }
    let rows = q
        .order_by_desc(request::Column::RequestedAt)
        .order_by_desc(request::Column::Id)
        .limit(LIST_LIMIT)
        .all(db)
        .await?;
    request_views(db, rows).await
}

/// Moves a request on: `approved` or `refused` (the service manager),
/// `done` (the tool keeper or the manager), changing the tool as
/// `domain::tools::request_step` says. The same step again answers the
/// request as it is.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    to: ToolRequestState,
    input: ToolRequestDecision,
    now: DateTime<Utc>,
) -> AppResult<ToolRequestView> {
    staff_only(actor)?;
    match to {
        ToolRequestState::Done => actor.require(KEEPERS)?,
        _ => actor.require(tools::APPROVERS)?,
    }
    let note = validation::optional_multiline(input.note.as_deref(), 500)
        .map_err(|m| AppError::field("note", m))?;
    let txn = db.begin().await?;
    let r = lock_row::<request::Entity>(&txn, request::Column::Id, request::Column::Version, id)
        .await?
        .filter(|r| r.dealer_id == actor.dealer_id)
        .ok_or(AppError::NotFound)?;
    if r.state == to {
        txn.commit().await?;
        return request_view(db, r).await;
    }
    let t = lock_row::<tool::Entity>(&txn, tool::Column::Id, tool::Column::Version, r.tool_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tool_to = tools::request_step(r.kind, r.state, to, t.state)
        .map_err(|m| AppError::Conflict(m.into()))?;
    let mut u = request::Entity::update_many()
        .col_expr(request::Column::State, Expr::value(to))
        .col_expr(
            request::Column::Version,
            col_plus(request::Column::Version, 1),
        );
    u = match to {
        ToolRequestState::Done => u
            .col_expr(request::Column::DoneBy, Expr::value(actor.id))
            .col_expr(request::Column::DoneAt, Expr::value(now)),
        _ => u
            .col_expr(request::Column::DecidedBy, Expr::value(actor.id))
            .col_expr(request::Column::DecidedAt, Expr::value(now))
            .col_expr(request::Column::DecisionNote, Expr::value(note)),
    };
    u.filter(request::Column::Id.eq(id))
        .filter(request::Column::Version.eq(r.version))
        .exec(&txn)
        .await?;
    if let Some(s) = tool_to {
        tool::Entity::update_many()
            .col_expr(tool::Column::State, Expr::value(s))
            .col_expr(tool::Column::Version, col_plus(tool::Column::Version, 1))
            .col_expr(tool::Column::UpdatedAt, Expr::value(now))
            .filter(tool::Column::Id.eq(t.id))
            .exec(&txn)
            .await?;
    }
    let r = request::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound)?;
    let v = request_view(&txn, r).await?;
    txn.commit().await?;
    Ok(v)
}
