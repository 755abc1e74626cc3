//! /api/v1/callbacks: the customer-centre agent's callback list (回访名单).

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{AccessPoint, Json, Query};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::callbacks::{self, CallbackView, Outcome};
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallbackParams {
    /// The local day of the list (today by default; 1900–2200): entries due by its end.
    #[param(value_type = Option<String>, format = Date)]
    pub date: Option<NaiveDate>,
    /// Only the entries the caller (or one they stand in for now, a
    /// deputy, 职务代理) holds, or about a case they own.
    pub mine: Option<bool>,
}

fn tagged(v: CallbackView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", format!("\"{}\"", v.version)))
        .json(v)
}

/// The day's callback list: follow-up calls due (one per delivered order),
/// cases needing a first contact, unanswered calls to try again; cases by
/// severity first, then by due time, each with its call script and what is
/// known (at most 200; the customer centre, advisors, managers).
#[utoipa::path(operation_id = "listCallbacks", tag = "callbacks", params(CallbackParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<CallbackView>)))]
#[get("/callbacks")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<CallbackParams>,
) -> AppResult<HttpResponse> {
    let list = callbacks::list(&state, &actor, q.0.date, q.0.mine.unwrap_or(false)).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// One entry with every call made on it (《维修跟踪记录表》).
#[utoipa::path(operation_id = "getCallback", tag = "callbacks", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CallbackView)))]
#[get("/callbacks/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = callbacks::get(&state, &actor, *id).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &v)
        .await;
    Ok(tagged(v))
}

/// Takes the entry for 15 minutes: a second agent's claim meanwhile is 409;
/// an unfinished claim returns the entry to the list when it runs out.
#[utoipa::path(operation_id = "claimCallback", tag = "callbacks", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CallbackView),
        (status = 409, description = "another agent holds the entry, or nothing is left to call", body = Problem, content_type = "application/problem+json")))]
#[post("/callbacks/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(tagged(callbacks::claim(&state, &actor, *id).await?))
}

/// Records how the call went, on an entry the agent holds: `reached` (with
/// the answers of the follow-up, if given; a case's contact logged),
/// `no_answer` (back later today, then tomorrow; the third makes the
/// customer unreachable for follow-up calls), `wrong_number`, `call_back_at`
/// (with `at`), `refused`. The claim ends with it.
#[utoipa::path(operation_id = "recordCallOutcome", tag = "callbacks", params(("id" = Uuid, Path)),
    request_body = Outcome, security(("bearer" = [])),
    responses((status = 200, body = CallbackView),
        (status = 409, description = "the entry is not claimed by the caller, or already done; or the answers were recorded before", body = Problem, content_type = "application/problem+json")))]
#[post("/callbacks/{id}/outcome")]
pub async fn outcome(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<Outcome>,
) -> AppResult<HttpResponse> {
    Ok(tagged(
        callbacks::outcome(&state, &actor, *id, body.0).await?,
    ))
}
