//! /api/v1/tools and /api/v1/tool-requests: special tools and equipment
//! (设施管理): the lending register, personal tool lists, upkeep, and
//! repair / scrap requests.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{IfMatch, Json, OptionalJson, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::tools::{ToolKind, ToolRequestState, ToolState};
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::tools::{
    self, Filter, NewTool, NewToolRequest, PersonalTools, ToolLendInput, ToolLoanView, ToolPatch,
    ToolRequestDecision, ToolRequestView, ToolReturnInput, ToolUpkeepInput, ToolUpkeepView,
    ToolView, UpkeepDue,
};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ToolParams {
    pub kind: Option<ToolKind>,
    pub state: Option<ToolState>,
    /// Only the personal tools issued to this person.
    pub holder_id: Option<Uuid>,
}

/// The dealer's tools and equipment by code (at most 500): the tool
/// keeper, the managers, the foreman, the dealer's admin.
#[utoipa::path(operation_id = "listTools", tag = "tools", params(ToolParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ToolView>)))]
#[get("/tools")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ToolParams>,
) -> AppResult<HttpResponse> {
    let f = Filter {
        kind: q.0.kind,
        state: q.0.state,
        holder_id: q.0.holder_id,
    };
    let v = tools::list(&state.db, &actor, f, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Enters a tool or a piece of equipment (the tool keeper, the service
/// manager). A personal (hand, air, electric) tool may name its holder;
/// an upkeep interval makes it due for upkeep.
#[utoipa::path(operation_id = "createTool", tag = "tools", request_body = NewTool, security(("bearer" = [])),
    responses((status = 201, body = ToolView, headers(("ETag" = String))),
        (status = 409, description = "the code is already used at the dealer", body = Problem, content_type = "application/problem+json")))]
#[post("/tools")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewTool>,
) -> AppResult<HttpResponse> {
    let v = tools::create(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::CREATED, v.version, v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LoanParams {
    /// Only the loans past their due time.
    pub overdue: Option<bool>,
}

/// The loans out now (the lending register's open lines), overdue first,
/// then by due time: for the tool keeper.
#[utoipa::path(operation_id = "listToolLoans", tag = "tools", params(LoanParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ToolLoanView>)))]
#[get("/tools/loans")]
pub async fn loans(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<LoanParams>,
) -> AppResult<HttpResponse> {
    let v = tools::loans(
        &state.db,
        &actor,
        q.0.overdue.unwrap_or(false),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WeekParams {
    /// An ISO week, `YYYY-Www` (Monday first); this week in the dealer's zone by default.
    #[param(example = "2027-W09")]
    pub week: Option<String>,
}

/// The equipment due for upkeep by the end of the week: due that week,
/// overdue, or never upkept (scrapped and lost tools left out).
#[utoipa::path(operation_id = "getUpkeepDue", tag = "tools", params(WeekParams), security(("bearer" = [])),
    responses((status = 200, body = UpkeepDue),
        (status = 422, description = "`week` is not an ISO week", body = Problem, content_type = "application/problem+json")))]
#[get("/tools/upkeep-due")]
pub async fn upkeep_due(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<WeekParams>,
) -> AppResult<HttpResponse> {
    let v = tools::upkeep_due(&state.db, &actor, q.0.week.as_deref(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// One tool, with its open loan when lent: the readers and a personal
/// tool's holder.
#[utoipa::path(operation_id = "getTool", tag = "tools", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolView, headers(("ETag" = String)))))]
#[get("/tools/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = tools::get(&state.db, &actor, *id, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Edits a tool's name, location, holder (personal tools), upkeep interval
/// or note (the tool keeper). Send `If-Match` with the ETag you read.
#[utoipa::path(operation_id = "updateTool", tag = "tools", request_body = ToolPatch,
    params(("id" = Uuid, Path), IfMatchHeader), security(("bearer" = [])),
    responses((status = 200, body = ToolView, headers(("ETag" = String)))))]
#[patch("/tools/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ToolPatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let v = tools::update(
        &state.db,
        &actor,
        id.into_inner(),
        version,
        body.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Lends an available special tool or piece of equipment to an active
/// member of the staff, for a job of the dealer or none (the tool keeper
/// records it in the register). Due by the end of the dealer's local day
/// unless `due_at` says otherwise. A tool is lent to one person at a time:
/// 409 when it is out already (also for a retried lend).
#[utoipa::path(operation_id = "lendTool", tag = "tools", request_body = ToolLendInput,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolView, headers(("ETag" = String))),
        (status = 409, description = "the tool is not available: lent, in repair, scrapped, lost, or a personal tool", body = Problem, content_type = "application/problem+json")))]
#[post("/tools/{id}/lend")]
pub async fn lend(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<ToolLendInput>,
) -> AppResult<HttpResponse> {
    let v = tools::lend(
        &state.db,
        &actor,
        id.into_inner(),
        body.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Takes a lent tool back (the tool keeper): `good` makes it available,
/// `damaged` puts it out of service (in_repair), `lost` marks it lost; a
/// damage or loss is recorded against the borrower with the `charge` the
/// dealer's rule sets (none by default). 409 when it is not lent.
#[utoipa::path(operation_id = "returnTool", tag = "tools", request_body = ToolReturnInput,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolView, headers(("ETag" = String))),
        (status = 409, description = "the tool is not lent", body = Problem, content_type = "application/problem+json")))]
#[post("/tools/{id}/return")]
pub async fn give_back(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<ToolReturnInput>,
) -> AppResult<HttpResponse> {
    let v = tools::give_back(
        &state.db,
        &actor,
        id.into_inner(),
        body.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Records an upkeep of a tool (《机具设备定期保养记录表》, the tool
/// keeper): 201, or 200 with the record already made for that tool and day.
#[utoipa::path(operation_id = "recordToolUpkeep", tag = "tools", request_body = ToolUpkeepInput,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 201, body = ToolUpkeepView),
        (status = 200, description = "the upkeep of that day was recorded already", body = ToolUpkeepView),
        (status = 409, description = "the tool is scrapped or lost", body = Problem, content_type = "application/problem+json")))]
#[post("/tools/{id}/upkeep")]
pub async fn upkeep(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<ToolUpkeepInput>,
) -> AppResult<HttpResponse> {
    let (v, new) = tools::record_upkeep(
        &state.db,
        &actor,
        id.into_inner(),
        body.0,
        state.clock.now(),
    )
    .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(v))
}

/// A person's tool list (《个人手/汽/电动工具清册》): the personal tools
/// issued to them, what they have on loan, and the losses and damages
/// recorded against them. The person themself and the readers.
#[utoipa::path(operation_id = "getUserTools", tag = "tools", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = PersonalTools)))]
#[get("/users/{id}/tools")]
pub async fn personal(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = tools::personal(&state.db, &actor, *id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestParams {
    pub state: Option<ToolRequestState>,
}

/// Repair and scrap requests, newest first: the readers see all, anyone
/// else their own.
#[utoipa::path(operation_id = "listToolRequests", tag = "tools", params(RequestParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ToolRequestView>)))]
#[get("/tool-requests")]
pub async fn list_requests(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<RequestParams>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(tools::list_requests(&state.db, &actor, q.0.state).await?))
}

/// Asks for a repair or a scrapping (《设备(工具)器材修理、报废申请单》;
/// technicians, the foreman, the tool keeper, the managers): 201, or 200
/// with the open request when the same person asked the same already. A
/// tool has one open request at a time (409 otherwise); not while lent.
#[utoipa::path(operation_id = "createToolRequest", tag = "tools", request_body = NewToolRequest, security(("bearer" = [])),
    responses((status = 201, body = ToolRequestView, headers(("ETag" = String))),
        (status = 200, description = "the same request is open already", body = ToolRequestView, headers(("ETag" = String))),
        (status = 409, description = "the tool has another open request, or is lent or scrapped", body = Problem, content_type = "application/problem+json")))]
#[post("/tool-requests")]
pub async fn create_request(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewToolRequest>,
) -> AppResult<HttpResponse> {
    let (v, new) = tools::create_request(&state.db, &actor, body.0, state.clock.now()).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, v.version, v))
}

async fn step(
    state: web::Data<AppState>,
    actor: Actor,
    id: Uuid,
    to: ToolRequestState,
    body: Option<ToolRequestDecision>,
) -> AppResult<HttpResponse> {
    let v = tools::decide(
        &state.db,
        &actor,
        id,
        to,
        body.unwrap_or_default(),
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Approves a request (the service manager). An approved repair takes the
/// tool out of service. Approving again answers the request as it is.
#[utoipa::path(operation_id = "approveToolRequest", tag = "tools", request_body = Option<ToolRequestDecision>,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolRequestView, headers(("ETag" = String))),
        (status = 409, description = "the request is closed, or the tool is lent", body = Problem, content_type = "application/problem+json")))]
#[post("/tool-requests/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: OptionalJson<ToolRequestDecision>,
) -> AppResult<HttpResponse> {
    step(state, actor, *id, ToolRequestState::Approved, body.0).await
}

/// Refuses a request (the service manager); the tool is unchanged.
#[utoipa::path(operation_id = "refuseToolRequest", tag = "tools", request_body = Option<ToolRequestDecision>,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolRequestView, headers(("ETag" = String))),
        (status = 409, description = "the request is decided already", body = Problem, content_type = "application/problem+json")))]
#[post("/tool-requests/{id}/refuse")]
pub async fn refuse(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: OptionalJson<ToolRequestDecision>,
) -> AppResult<HttpResponse> {
    step(state, actor, *id, ToolRequestState::Refused, body.0).await
}

/// Marks an approved request done (the tool keeper or the manager): a
/// repaired tool is available again, a scrapped one is scrapped.
#[utoipa::path(operation_id = "completeToolRequest", tag = "tools", request_body = Option<ToolRequestDecision>,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ToolRequestView, headers(("ETag" = String))),
        (status = 409, description = "the request is not approved, or the tool is lent", body = Problem, content_type = "application/problem+json")))]
#[post("/tool-requests/{id}/done")]
pub async fn done(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: OptionalJson<ToolRequestDecision>,
) -> AppResult<HttpResponse> {
    step(state, actor, *id, ToolRequestState::Done, body.0).await
}
