//! The right to erasure (删除权): a customer's request to be forgotten, the
//! service manager's decision, and the anonymisation an approval does.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::extract::{AccessPoint, Json, Query};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::erasure::{
    self, ErasureFilter, ErasureOnBehalf, ErasureRefusal, ErasureRequestPage, ErasureRequestView,
};
use crate::services::privacy::Looker;
use crate::state::AppState;

fn answer(created: bool, v: ErasureRequestView) -> HttpResponse {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    HttpResponse::build(status).json(v)
}

/// The customer asks to be erased (the app). Asking again while the request
/// is undecided answers the open request (200); it is decided within
/// `privacy.erasure_due_days` (15 by default).
#[utoipa::path(operation_id = "requestMyErasure", tag = "privacy", security(("bearer" = [])),
    responses((status = 201, body = ErasureRequestView, description = "asked"),
        (status = 200, body = ErasureRequestView, description = "the request still open, asked before"),
        (status = 403, description = "staff ask on a customer's behalf", body = Problem, content_type = "application/problem+json")))]
#[post("/me/erasure-request")]
pub async fn request_mine(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let (created, v) = erasure::request_mine(&state, &actor).await?;
    Ok(answer(created, v))
}

/// The customer's latest erasure request and where it stands (404 when they never asked).
#[utoipa::path(operation_id = "getMyErasure", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = ErasureRequestView),
        (status = 404, description = "the customer never asked", body = Problem, content_type = "application/problem+json")))]
#[get("/me/erasure-request")]
pub async fn mine(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(erasure::mine(&state, &actor).await?))
}

/// Staff (who keep the customer archive) ask on the customer's behalf,
/// noting how the customer asked. An open request is answered again (200).
#[utoipa::path(operation_id = "requestErasureFor", tag = "privacy", request_body = ErasureOnBehalf,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 201, body = ErasureRequestView, description = "asked"),
        (status = 200, body = ErasureRequestView, description = "the request still open, asked before"),
        (status = 409, description = "the customer was erased already", body = Problem, content_type = "application/problem+json")))]
#[post("/customers/{id}/erasure-requests")]
pub async fn request_for(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<ErasureOnBehalf>,
) -> AppResult<HttpResponse> {
    let (created, v) = erasure::request_for(&state, &actor, id.into_inner(), body.0).await?;
    Ok(answer(created, v))
}

/// The dealer's erasure requests, oldest first, by state (the service
/// manager and the dealer's admin), each with its due time.
#[utoipa::path(operation_id = "listErasureRequests", tag = "privacy", params(ErasureFilter),
    security(("bearer" = [])),
    responses((status = 200, body = ErasureRequestPage)))]
#[get("/erasure-requests")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    filter: Query<ErasureFilter>,
) -> AppResult<HttpResponse> {
    let page = erasure::list(&state, &actor, filter.0).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &page)
        .await;
    Ok(HttpResponse::Ok().json(page))
}

/// One erasure request with its steps: the deciders, the member of staff who
/// asked on the customer's behalf, or the customer it is about.
#[utoipa::path(operation_id = "getErasureRequest", tag = "privacy",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ErasureRequestView)))]
#[get("/erasure-requests/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = erasure::get(&state, &actor, id.into_inner()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &v)
        .await;
    Ok(HttpResponse::Ok().json(v))
}

/// Approves the request: the customer is anonymised at once and for good
/// (a pseudonym, contact details, birthday and free text gone, photos
/// deleted, queued messages cancelled, sessions ended, open cases, callbacks
/// and enquiries closed); orders, invoices and warranty claims stay under
/// the pseudonym. Logged as an `erase` in the access log. An approval and a
/// refusal at once: one wins, the other is 409. A retried approval of an
/// approved request answers it as it stands (200) and does nothing again.
#[utoipa::path(operation_id = "approveErasure", tag = "privacy",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ErasureRequestView),
        (status = 409, description = "refused already, or a rescue of the customer is under way", body = Problem, content_type = "application/problem+json")))]
#[post("/erasure-requests/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(erasure::approve(&state, &actor, id.into_inner(), &point.0).await?))
}

/// Refuses the request with a reason, which the customer is told (the app's
/// inbox and their first reachable channel). A retried refusal (the same
/// reason) answers the refusal made (200); another reason is 409.
#[utoipa::path(operation_id = "refuseErasure", tag = "privacy", request_body = ErasureRefusal,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ErasureRequestView),
        (status = 409, description = "approved already, or refused with another reason", body = Problem, content_type = "application/problem+json")))]
#[post("/erasure-requests/{id}/refuse")]
pub async fn refuse(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<ErasureRefusal>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(erasure::refuse(&state, &actor, id.into_inner(), body.0).await?))
}
