//! /api/v1/cases: the unhappy-customer table (《不满意客户处理跟踪表》).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{AccessPoint, IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::case::{CaseAction, CaseRules, CaseState};
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::cases::{self, CasePatch, CaseStep, CaseView, Filter, NewCase};
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseParams {
    pub state: Option<CaseState>,
    pub owner_id: Option<Uuid>,
    /// Only the caller's cases and those of whom they stand in for now (a
    /// deputy, 职务代理); not with `owner_id`.
    pub mine: Option<bool>,
    /// Only cases past a due time (`true`), or only the others (`false`).
    pub overdue: Option<bool>,
}

/// The dealer's cases, overdue first, then by the next due time (the
/// customer centre, advisors, managers; at most 200).
#[utoipa::path(operation_id = "listCases", tag = "cases", params(CaseParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<CaseView>)))]
#[get("/cases")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<CaseParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let f = Filter {
        state: q.state,
        owner_id: q.owner_id,
        mine: q.mine,
        overdue: q.overdue,
    };
    let list = cases::list(&state.db, &actor, f, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// Opens a case by hand (source `manual`).
#[utoipa::path(operation_id = "createCase", tag = "cases", request_body = NewCase, security(("bearer" = [])),
    responses((status = 201, body = CaseView)))]
#[post("/cases")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewCase>,
) -> AppResult<HttpResponse> {
    let v = cases::create(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", format!("\"{}\"", v.version)))
        .json(v))
}

/// One case with every step.
#[utoipa::path(operation_id = "getCase", tag = "cases", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = CaseView)))]
#[get("/cases/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = cases::get(&state.db, &actor, *id, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &v)
        .await;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", format!("\"{}\"", v.version)))
        .json(v))
}

/// A step on a case, with a note: `contact` (logged; `open → contacted`),
/// `agree`, `resolve`, `verify` (after the final check with the customer),
/// `close` (unresolved). Out of order: 409 naming the case's state.
#[utoipa::path(operation_id = "actOnCase", tag = "cases", params(("id" = Uuid, Path), ("action" = CaseAction, Path)),
    request_body = CaseStep, security(("bearer" = [])),
    responses((status = 200, body = CaseView),
        (status = 409, description = "the action is out of order for the case's state", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, CaseAction)>,
    body: Json<CaseStep>,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let v = cases::act(&state.db, &actor, id, action, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", format!("\"{}\"", v.version)))
        .json(v))
}

/// Changes a case's `owner_id` (a user of the dealer who works the table, or
/// `null`), `category` or `severity`: only the fields sent change, each edit
/// logged as an `edit` step. Send `If-Match` with the ETag you read.
#[utoipa::path(operation_id = "updateCase", tag = "cases", request_body = CasePatch,
    params(("id" = Uuid, Path), IfMatchHeader), security(("bearer" = [])),
    responses((status = 200, body = CaseView, headers(("ETag" = String)))))]
#[patch("/cases/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<CasePatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let v = cases::update(
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

/// The dealer's case rules: when a response opens a case, the due times,
/// and who hears of a late case (those who work the table).
#[utoipa::path(operation_id = "getCaseRules", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = CaseRules)))]
#[get("/case-rules")]
pub async fn get_rules(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cases::get_rules(&state.db, &actor).await?))
}

/// Replaces the dealer's case rules (managers); each bad field is named in
/// the 422 (`lexicon[3].words`, `escalate_to[0].address`). Cases already
/// open keep their due times.
#[utoipa::path(operation_id = "putCaseRules", tag = "cases", request_body = CaseRules, security(("bearer" = [])),
    responses((status = 200, body = CaseRules)))]
#[put("/case-rules")]
pub async fn put_rules(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<CaseRules>,
) -> AppResult<HttpResponse> {
    let saved = cases::put_rules(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(saved))
}
