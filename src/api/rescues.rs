//! /api/v1/rescues and /api/v1/rescue/roster: 24-hour roadside rescue (24小时救援).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, put, web};
use uuid::Uuid;

use super::contract::headers::{IdempotencyKeyHeader, IfMatchOptionalHeader};
use super::extract::{AccessPoint, IdempotencyHeader, IfMatch, Json, OptionalJson, Query};
use super::{replayed, with_etag};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::domain::rescue::{RescueAction, Roster};
use crate::error::{AppResult, Problem};
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::services::repair_orders::RepairOrder;
use crate::services::rescues::{
    self, ListQuery, NewRescue, ReportQuery, RescueReport, RescueStep, RescueView, RosterView,
};
use crate::state::AppState;

/// Asks for a roadside rescue: a customer for their own vehicle (in the
/// app), or staff taking the customer's call. The first on duty is told by
/// SMS at once, at any hour; nobody accepting within the dealer's window
/// tells the next on duty and the service manager. Send `Idempotency-Key`:
/// a second tap answers the first rescue.
#[utoipa::path(operation_id = "createRescue", tag = "rescues", request_body = NewRescue, security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 201, body = RescueView,
            headers(("ETag" = String), ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "a request with the same key is still in progress", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad field (`location.lat`, `problem`, `contact_phone`, `note`, or a `vehicle_id` that is not the customer's)", body = Problem, content_type = "application/problem+json")))]
#[post("/rescues")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
    body: Json<NewRescue>,
) -> AppResult<HttpResponse> {
    Ok(
        match rescues::create(&state, &actor, body.0, key.0.as_ref()).await? {
            Outcome::Fresh(v) => with_etag(StatusCode::CREATED, v.version, v),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// The dealer's rescues, newest first, by state and local request day
/// (staff who work rescues; a customer: their own). At most 200.
#[utoipa::path(operation_id = "listRescues", tag = "rescues", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<RescueView>)))]
#[get("/rescues")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let list = rescues::list(&state.db, &actor, q.0).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// The response figures a brand audits: rescues asked for on the local days
/// `from`..=`to`, and the median, average and p90 minutes from the request
/// to its acceptance and to the rescuer at the car (managers).
#[utoipa::path(operation_id = "getRescueReport", tag = "rescues", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, body = RescueReport)))]
#[get("/rescues/report")]
pub async fn report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(rescues::report(&state.db, &actor, q.0).await?))
}

/// One rescue with every step (a customer: only their own; another's is 404).
#[utoipa::path(operation_id = "getRescue", tag = "rescues", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RescueView, headers(("ETag" = String)))))]
#[get("/rescues/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = rescues::get(&state.db, &actor, id.into_inner()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &v)
        .await;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// The answer of `GET /rescues/{id}/events`: the stream as text, of which an
/// SSE client reads one `RescueStreamEvent` per frame.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RescueStream {
    /// The `text/event-stream` body as a whole.
    Text(String),
    /// One event, as an SSE client parses a frame.
    Event(RescueStreamEvent),
}

/// One Server-Sent Event of a rescue's stream.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RescueStreamEvent {
    /// The step's `seq`: send the last one back as `Last-Event-ID` to resume after it.
    #[schema(example = "3")]
    id: String,
    /// The step's action (`requested`, `escalated`, `accept`, `dispatch`, …).
    event: String,
    /// The step (a `RescueEventView`), as JSON on one line.
    #[schema(content_media_type = "application/json")]
    data: String,
}

/// The rescue's steps live, as Server-Sent Events (the customer's app
/// follows its rescue): `id:` the step's `seq`, `event:` its action,
/// `data:` the step. Send `Last-Event-ID` to resume; the stream ends once a
/// closed or cancelled rescue has sent its last step.
#[utoipa::path(operation_id = "streamRescueEvents", tag = "rescues", security(("bearer" = [])),
    params(("id" = Uuid, Path),
        ("Last-Event-ID" = Option<i64>, Header, description = "resume after this event (the `id:` of the last event received)")),
    responses((status = 200, description = "an event stream (`id:`, `event:`, `data:` per event)", body = RescueStream, content_type = "text/event-stream")))]
#[get("/rescues/{id}/events")]
pub async fn events(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    req: actix_web::HttpRequest,
) -> AppResult<HttpResponse> {
    let after = crate::services::feed::last_event_id(&req)?.unwrap_or(0);
    let stream = rescues::stream(&state, &actor, id.into_inner(), after).await?;
    Ok(crate::services::feed::sse_response(stream))
}

/// Opens the repair order of a towed car, once: the rescue's problem, note
/// and location become its concern and notes. 201 with the new order; a
/// retry (or a second tablet) gets 200 with the same order.
#[utoipa::path(operation_id = "openRescueRepairOrder", tag = "rescues", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 201, description = "the order opened now", body = RepairOrder),
        (status = 200, description = "the order this rescue opened before", body = RepairOrder),
        (status = 409, description = "the rescue brought no car in (not towed)", body = Problem, content_type = "application/problem+json")))]
#[post("/rescues/{id}/repair-order")]
pub async fn repair_order(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let (order, new) = rescues::open_order(&state, &actor, id.into_inner()).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, order.version, order))
}

/// Moves a rescue: `accept` (requested → accepted), `dispatch` (→ dispatched;
/// `driver` and `eta` required, `vehicle` too if known), `arrive` (→ on_site),
/// `tow` or `fix` (→ towed / fixed_on_site), `close`, `cancel` (staff before
/// closed; the customer before on_site). Each step is logged and told to the
/// customer. The same step sent again by whom made it answers the rescue as
/// it is; two people accepting at once: one wins, the other gets 409.
#[utoipa::path(operation_id = "actOnRescue", tag = "rescues", params(("id" = Uuid, Path), ("action" = RescueAction, Path)),
    request_body = Option<RescueStep>,
    security(("bearer" = [])),
    responses((status = 200, body = RescueView, headers(("ETag" = String))),
        (status = 409, description = "the action is out of order for the rescue's state (or someone else took that step first)", body = Problem, content_type = "application/problem+json")))]
#[post("/rescues/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, RescueAction)>,
    body: OptionalJson<RescueStep>,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let v = rescues::act(&state, &actor, id, action, body.0.unwrap_or_default()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// The on-duty roster: who answers rescues when (local times, the dealer's
/// zone; a shift ending at or before its start runs past midnight), the
/// hours nobody covers (`gaps`), and who is on duty now.
#[utoipa::path(operation_id = "getRescueRoster", tag = "rescues", security(("bearer" = [])),
    responses((status = 200, body = RosterView, headers(("ETag" = String)))))]
#[get("/rescue/roster")]
pub async fn get_roster(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let v = rescues::get_roster(&state.db, &actor, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Replaces the on-duty roster (managers). With `If-Match`, only at the
/// version read; the same roster sent again changes nothing. Each bad field
/// is named (`shifts[2].end`); the answer lists the hours left uncovered.
#[utoipa::path(operation_id = "putRescueRoster", tag = "rescues", request_body = Roster,
    params(IfMatchOptionalHeader), security(("bearer" = [])),
    responses((status = 200, body = RosterView, headers(("ETag" = String)))))]
#[put("/rescue/roster")]
pub async fn put_roster(
    state: web::Data<AppState>,
    actor: Actor,
    if_match: IfMatch,
    body: Json<Roster>,
) -> AppResult<HttpResponse> {
    let v = rescues::put_roster(&state.db, &actor, if_match.0, body.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}
