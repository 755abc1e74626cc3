//! /api/v1/enquiries: enquiries and complaints (信息咨询、业务受理和投诉):
//! the customer app asks, staff record calls and visits, the customer
//! centre claims, answers and closes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, put, web};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{AccessPoint, IdempotencyHeader, Json, Query};
use super::{replayed, with_etag};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::enquiries::{
    self, EnquiryAnswer, EnquirySettings, EnquiryView, NewEnquiry, QueueQuery,
};
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::state::AppState;

/// Records an enquiry or a complaint. A customer asks in the app for
/// themself (vehicle and order must be theirs); staff record a phone call or
/// a visit with `customer_id` and `source`. Topic `complaint`, or the
/// complaint lexicon's words in any topic, open one unhappy-customer case.
/// The same open question of the same customer sent again is the same
/// enquiry (200); send `Idempotency-Key` to make a retry replay the first answer.
#[utoipa::path(operation_id = "createEnquiry", tag = "enquiries", request_body = NewEnquiry, security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 201, body = EnquiryView, description = "recorded",
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 200, body = EnquiryView, description = "the same question of the customer, still open, recorded before"),
        (status = 409, description = "a request with the same key is still in progress", body = Problem, content_type = "application/problem+json")))]
#[post("/enquiries")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
    body: Json<NewEnquiry>,
) -> AppResult<HttpResponse> {
    Ok(
        match enquiries::create(&state, &actor, body.0, key.0.as_ref()).await? {
            Outcome::Fresh((new, v)) => {
                let status = if new {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                with_etag(status, v.version, &v)
            }
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// The customer centre's queue: the dealer's enquiries, the soonest due
/// first, each with its due time and whether it is overdue (by default those
/// waiting for an answer; the customer centre, advisors, managers).
#[utoipa::path(operation_id = "listEnquiries", tag = "enquiries", params(QueueQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<EnquiryView>)))]
#[get("/enquiries")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    let list = enquiries::queue(&state.db, &actor, q.0, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// The customer's own enquiries with their answers, newest first (the app; at most 100).
#[utoipa::path(operation_id = "listMyEnquiries", tag = "enquiries", security(("bearer" = [])),
    responses((status = 200, body = Vec<EnquiryView>)))]
#[get("/enquiries/mine")]
pub async fn mine(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(enquiries::mine(&state.db, &actor, state.clock.now()).await?))
}

/// The dealer's answer time (working minutes in the opening hours).
#[utoipa::path(operation_id = "getEnquirySettings", tag = "enquiries", security(("bearer" = [])),
    responses((status = 200, body = EnquirySettings)))]
#[get("/enquiries/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(enquiries::settings(&state.db, &actor).await?))
}

/// Sets the answer time (managers, the supervisor, the dealer admin); enquiries
/// that arrive from now on are due by it.
#[utoipa::path(operation_id = "putEnquirySettings", tag = "enquiries", request_body = EnquirySettings, security(("bearer" = [])),
    responses((status = 200, body = EnquirySettings)))]
#[put("/enquiries/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<EnquirySettings>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(enquiries::put_settings(&state.db, &actor, body.0, state.clock.now()).await?))
}

/// One enquiry: a customer's own (another's is 404), or any of the dealer's for staff.
#[utoipa::path(operation_id = "getEnquiry", tag = "enquiries", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = EnquiryView)))]
#[get("/enquiries/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = enquiries::get(&state.db, &actor, *id, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &v)
        .await;
    Ok(with_etag(StatusCode::OK, v.version, &v))
}

/// Takes the enquiry for 30 minutes: a second agent's claim meanwhile is
/// 409 naming who holds it; one's own claim renews; a deputy takes over the
/// claim of one they stand in for; a claim that ran out is anyone's.
#[utoipa::path(operation_id = "claimEnquiry", tag = "enquiries", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = EnquiryView),
        (status = 409, description = "another agent holds the enquiry, or it is answered or closed", body = Problem, content_type = "application/problem+json")))]
#[post("/enquiries/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = enquiries::claim(&state, &actor, *id).await?;
    Ok(with_etag(StatusCode::OK, v.version, &v))
}

/// Answers the enquiry: sent to the customer on their preferred contact
/// (`sms` an SMS, `app` the app's inbox; `call`: staff called, the text is
/// what was said). Answered by `due_at` is met, after it late.
#[utoipa::path(operation_id = "answerEnquiry", tag = "enquiries", params(("id" = Uuid, Path)),
    request_body = EnquiryAnswer, security(("bearer" = [])),
    responses((status = 200, body = EnquiryView),
        (status = 409, description = "another agent holds the enquiry, or it is answered or closed", body = Problem, content_type = "application/problem+json")))]
#[post("/enquiries/{id}/answer")]
pub async fn answer(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<EnquiryAnswer>,
) -> AppResult<HttpResponse> {
    let v = enquiries::answer(&state, &actor, *id, body.0).await?;
    Ok(with_etag(StatusCode::OK, v.version, &v))
}

/// Closes the enquiry (answered, or needing no answer); the same question
/// may then be asked anew.
#[utoipa::path(operation_id = "closeEnquiry", tag = "enquiries", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = EnquiryView),
        (status = 409, description = "another agent holds the enquiry, or it is closed", body = Problem, content_type = "application/problem+json")))]
#[post("/enquiries/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = enquiries::close(&state, &actor, *id).await?;
    Ok(with_etag(StatusCode::OK, v.version, &v))
}
