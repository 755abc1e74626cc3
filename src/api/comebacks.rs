//! /api/v1/comebacks: the comeback records (返修车处理记录) and the monthly
//! statistics (返修车月统计表).
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::comeback::{ComebackKind, ComebackState};
use crate::domain::customer::Locale;
use crate::domain::customer_value::ValueFormat;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::comebacks::stats::{self, ComebackStats};
use crate::services::comebacks::{self, ComebackPatch, ComebackView, Filter, NewComeback};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ComebackParams {
    pub state: Option<ComebackState>,
    pub kind: Option<ComebackKind>,
    /// Only the records of this order (the one the job is done again in).
    pub order_id: Option<Uuid>,
}

/// The dealer's comebacks, newest first (at most 200): the managers, the
/// workshop's leads, QC and the advisors.
#[utoipa::path(operation_id = "listComebacks", tag = "comebacks", params(ComebackParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ComebackView>)))]
#[get("/comebacks")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ComebackParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let f = Filter {
        state: q.state,
        kind: q.kind,
        order_id: q.order_id,
    };
    Ok(HttpResponse::Ok().json(comebacks::list(&state.db, &actor, f).await?))
}

/// Marks an order as a comeback (kind `marked`; advisors, the workshop's
/// leads, managers): 201 with the new record, or 200 with the one the order
/// already has. Its jobs are raised to high priority (优先派工).
#[utoipa::path(operation_id = "markComeback", tag = "comebacks", request_body = NewComeback, security(("bearer" = [])),
    responses((status = 201, body = ComebackView, headers(("ETag" = String))),
        (status = 200, description = "the order was marked already: its record", body = ComebackView, headers(("ETag" = String)))))]
#[post("/comebacks")]
pub async fn mark(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewComeback>,
) -> AppResult<HttpResponse> {
    let (v, new) = comebacks::mark(&state.db, &actor, body.0, state.clock.now()).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(with_etag(status, v.version, v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsParams {
    /// The month, `YYYY-MM` (1900–2200), in the dealer's zone.
    #[param(example = "2027-03")]
    pub month: String,
    /// `json` (the default) or `csv` (UTF-8 with a BOM).
    pub format: Option<ValueFormat>,
    /// The labels' language; zh-CN by default.
    pub lang: Option<Locale>,
}

/// The month's comeback statistics beside the month before's: by cause,
/// technician, labour operation and model, the rates over the orders
/// delivered, the first-time-fix rate, and the actions still open.
#[utoipa::path(operation_id = "getComebackStats", tag = "comebacks", params(StatsParams), security(("bearer" = [])),
    responses((status = 200, description = "the statistics, as JSON or CSV",
        content((ComebackStats = "application/json"), (String = "text/csv"))),
        (status = 422, description = "`month` is not a month as YYYY-MM", body = Problem, content_type = "application/problem+json")))]
#[get("/comebacks/stats")]
pub async fn monthly(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<StatsParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let locale = q.lang.unwrap_or(Locale::ZhCn);
    let s = stats::monthly(&state.db, &actor, &q.month, locale).await?;
    Ok(match q.format.unwrap_or(ValueFormat::Json) {
        ValueFormat::Json => HttpResponse::Ok().json(s),
        ValueFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"comebacks-{}.csv\"", s.month.month),
            ))
            .body(stats::csv(&s, locale)),
    })
}

/// One comeback.
#[utoipa::path(operation_id = "getComeback", tag = "comebacks", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ComebackView, headers(("ETag" = String)))))]
#[get("/comebacks/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = comebacks::get(&state.db, &actor, *id).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Analyses a comeback and moves it on: `cause`, `analysis`,
/// `corrective_action`, `action_owner_id`, `redo_cost` (the workshop's leads
/// and managers), and `state`: `analysed` (all four filled in), then
/// `action_done` (the action's owner or a lead), then `closed` (the service
/// manager). Send `If-Match` with the ETag you read.
#[utoipa::path(operation_id = "updateComeback", tag = "comebacks", request_body = ComebackPatch,
    params(("id" = Uuid, Path), IfMatchHeader), security(("bearer" = [])),
    responses((status = 200, body = ComebackView, headers(("ETag" = String))),
        (status = 409, description = "the step is out of order for the record's state", body = Problem, content_type = "application/problem+json")))]
#[patch("/comebacks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ComebackPatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let v = comebacks::update(
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
