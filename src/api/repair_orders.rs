//! /api/v1/repair-orders: reception, jobs, estimate and signature, the
//! timeline; /api/v1/workshop/settings.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use uuid::Uuid;

use super::contract::headers::{IdempotencyKeyHeader, IfMatchHeader};
use super::extract::{AccessPoint, IdempotencyHeader, IfMatch, Json, Query};
use super::{replayed, with_etag};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::services::repair_orders::estimate::{self, Acceptance, Estimate};
use crate::services::repair_orders::inspection::{self, Walkaround, WalkaroundInput};
use crate::services::repair_orders::jobs::{self, JobPatch, NewJob};
use crate::services::repair_orders::journal::{self, TimelineEvent};
use crate::services::repair_orders::open::{self, ListQuery, NewRepairOrder, RepairOrderPatch};
use crate::services::repair_orders::settings::{self, WorkshopSettings};
use crate::services::repair_orders::{self, RepairOrder, RepairOrderPage};
use crate::state::AppState;

/// A fresh order answer with its ETag, or a replayed one as first sent.
fn created(outcome: Outcome<Box<RepairOrder>>) -> HttpResponse {
    match outcome {
        Outcome::Fresh(o) => with_etag(StatusCode::CREATED, o.version, o),
        Outcome::Replayed(saved) => replayed(saved),
    }
}

/// Opens a repair order (《维修委托书》) from a checked-in appointment or for a
/// walk-in. Send `Idempotency-Key`: a retried request answers the same order.
#[utoipa::path(operation_id = "openRepairOrder", tag = "repair-orders", request_body = NewRepairOrder, security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 201, body = RepairOrder, headers(("ETag" = String),
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "the appointment is not checked in or already an order, or a request with the same key is in progress", body = Problem)))]
#[post("/repair-orders")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
    body: Json<NewRepairOrder>,
) -> AppResult<HttpResponse> {
    Ok(created(
        open::open(&state, &actor, body.0, key.0.as_ref()).await?,
    ))
}

/// The orders, newest first; customers see their own.
#[utoipa::path(operation_id = "listRepairOrders", tag = "repair-orders", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = RepairOrderPage)))]
#[get("/repair-orders")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let page = open::list(&state.db, &actor, q.0, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &page)
        .await;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(operation_id = "getRepairOrder", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String)))))]
#[get("/repair-orders/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let o = repair_orders::get(&state.db, &actor, id.into_inner()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &o)
        .await;
    Ok(with_etag(StatusCode::OK, o.version, o))
}

/// Changes `promised_at`, `concerns`, `fuel_level`, `notes`. Send `If-Match`
/// with the ETag you read (412 if the order changed since).
#[utoipa::path(operation_id = "updateRepairOrder", tag = "repair-orders", request_body = RepairOrderPatch, security(("bearer" = [])),
    params(("id" = Uuid, Path), IfMatchHeader),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the order is closed or cancelled", body = Problem)))]
#[patch("/repair-orders/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<RepairOrderPatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let o = open::update(&state, &actor, id.into_inner(), version, body.0).await?;
    Ok(with_etag(StatusCode::OK, o.version, o))
}

/// Every change of the order: who, when, what. `seq` is the SSE event id.
#[utoipa::path(operation_id = "getRepairOrderTimeline", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<TimelineEvent>)))]
#[get("/repair-orders/{id}/timeline")]
pub async fn timeline(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(journal::timeline(&state.db, &actor, id.into_inner()).await?))
}

/// Adds a job while the estimate is being made (menu code, or description and hours).
#[utoipa::path(operation_id = "addRepairOrderJob", tag = "repair-orders", request_body = NewJob, security(("bearer" = [])),
    params(("id" = Uuid, Path), IdempotencyKeyHeader),
    responses((status = 201, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the estimate is accepted: jobs change only through extra work", body = Problem)))]
#[post("/repair-orders/{id}/jobs")]
pub async fn add_job(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    body: Json<NewJob>,
) -> AppResult<HttpResponse> {
    Ok(created(
        jobs::add(&state, &actor, id.into_inner(), body.0, key.0.as_ref()).await?,
    ))
}

/// Changes a job before the estimate is accepted; `If-Match` carries the job's `version`.
#[utoipa::path(operation_id = "updateRepairOrderJob", tag = "repair-orders", request_body = JobPatch, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("job_id" = Uuid, Path), IfMatchHeader),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the estimate is accepted, or the job's warranty case is decided", body = Problem)))]
#[patch("/repair-orders/{id}/jobs/{job_id}")]
pub async fn update_job(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<JobPatch>,
) -> AppResult<HttpResponse> {
    let (id, job_id) = path.into_inner();
    let version = Version::required(if_match.0)?;
    let o = jobs::update(&state, &actor, id, job_id, version, body.0).await?;
    Ok(with_etag(StatusCode::OK, o.version, o))
}

/// Removes a job before the estimate is accepted; `If-Match` carries the job's `version`.
/// Its warranty case goes with it while `draft`; a decided one keeps the job (409).
#[utoipa::path(operation_id = "removeRepairOrderJob", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("job_id" = Uuid, Path), IfMatchHeader),
    responses((status = 200, body = RepairOrder, headers(("ETag" = String))),
        (status = 409, description = "the estimate is accepted, or the job's warranty case is decided", body = Problem)))]
#[delete("/repair-orders/{id}/jobs/{job_id}")]
pub async fn remove_job(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> AppResult<HttpResponse> {
    let (id, job_id) = path.into_inner();
    let version = Version::required(if_match.0)?;
    let o = jobs::remove(&state, &actor, id, job_id, version).await?;
    Ok(with_etag(StatusCode::OK, o.version, o))
}

/// Freezes the current jobs as the next estimate version, with its totals and SHA-256.
#[utoipa::path(operation_id = "createEstimate", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = Estimate),
        (status = 409, description = "no jobs, or the order is delivered, closed or cancelled", body = Problem)))]
#[post("/repair-orders/{id}/estimate")]
pub async fn create_estimate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(estimate::freeze(&state, &actor, id.into_inner()).await?))
}

/// The latest estimate (what the customer is asked to sign).
#[utoipa::path(operation_id = "getEstimate", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Estimate)))]
#[get("/repair-orders/{id}/estimate")]
pub async fn read_estimate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(estimate::latest(&state.db, &actor, id.into_inner()).await?))
}

/// Accepts the latest estimate: the customer in the app (`kind: app`), or
/// signed on the advisor's tablet (`drawn` with a PNG, or `typed`).
#[utoipa::path(operation_id = "acceptEstimate", tag = "repair-orders", request_body = Acceptance, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Estimate),
        (status = 409, description = "the version is not the latest, is already accepted, the jobs or prices changed since it was made (make a new estimate), or the order is closed", body = Problem)))]
#[post("/repair-orders/{id}/estimate/accept")]
pub async fn accept_estimate(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<Acceptance>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(estimate::accept(&state, &actor, id.into_inner(), body.0).await?))
}

/// Labour rates per skill, VAT, and the walk-around and health-check checklists.
#[utoipa::path(operation_id = "getWorkshopSettings", tag = "repair-orders", security(("bearer" = [])),
    responses((status = 200, body = WorkshopSettings)))]
#[get("/workshop/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get(&state.db, &actor).await?))
}

/// Replaces the workshop settings (service manager, dealer admin).
#[utoipa::path(operation_id = "putWorkshopSettings", tag = "repair-orders", request_body = WorkshopSettings, security(("bearer" = [])),
    responses((status = 200, body = WorkshopSettings)))]
#[put("/workshop/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<WorkshopSettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::put(&state.db, &actor, body.0, state.clock.now()).await?))
}

/// Records the walk-around (环车检查): checklist items with marks and photos,
/// fuel, valuables, the protection set. Needed before any job starts.
#[utoipa::path(operation_id = "putWalkaround", tag = "repair-orders", request_body = WalkaroundInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Walkaround),
        (status = 409, description = "the order is closed or cancelled", body = Problem)))]
#[put("/repair-orders/{id}/walkaround")]
pub async fn put_walkaround(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<WalkaroundInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(inspection::put_walkaround(&state, &actor, id.into_inner(), body.0).await?))
}

/// The walk-around as recorded (404 while there is none).
#[utoipa::path(operation_id = "getWalkaround", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Walkaround)))]
#[get("/repair-orders/{id}/walkaround")]
pub async fn get_walkaround(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(inspection::get_walkaround(&state.db, &actor, id.into_inner()).await?))
}

/// The answer of `GET /repair-orders/{id}/events`: the stream as text, of
/// which an SSE client reads one `OrderStreamEvent` per frame. (Before
/// OpenAPI 3.2 and its `itemSchema`, tools read the schema of an event
/// stream either way, so both are given.)
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OrderStream {
    /// The `text/event-stream` body as a whole.
    Text(String),
    /// One event, as an SSE client parses a frame.
    Event(OrderStreamEvent),
}

/// One Server-Sent Event of an order's stream.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OrderStreamEvent {
    /// The event's `seq`: send the last one back as `Last-Event-ID` to resume after it.
    #[schema(example = "7")]
    id: String,
    /// The event's kind (its listener name).
    event: crate::domain::repair_order::EventKind,
    /// The timeline entry (a `TimelineEvent`), as JSON on one line.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// The order's events as Server-Sent Events: each `id:` is the event's
/// `seq`, `event:` its kind, `data:` the timeline entry. Send `Last-Event-ID`
/// to resume after the last event you have; the stream ends when a closed or
/// cancelled order has sent its last event.
#[utoipa::path(operation_id = "streamRepairOrderEvents", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path),
        ("Last-Event-ID" = Option<i64>, Header, description = "resume after this event (the `id:` of the last event received)")),
    responses((status = 200, description = "an event stream (`id:`, `event:`, `data:` per event)", body = OrderStream, content_type = "text/event-stream")))]
#[get("/repair-orders/{id}/events")]
pub async fn events(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    req: actix_web::HttpRequest,
) -> AppResult<HttpResponse> {
    let after = crate::services::feed::last_event_id(&req)?.unwrap_or(0);
    let stream = journal::stream(&state, &actor, id.into_inner(), after).await?;
    Ok(crate::services::feed::sse_response(stream))
}
