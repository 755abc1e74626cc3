//! /api/v1/capacity, /api/v1/closed-dates

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, put, web};
use chrono::NaiveDate;

use super::contract::headers::IfMatchOptionalHeader;
use super::extract::{IfMatch, Json};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::schedule::Schedule;
use crate::error::AppResult;
use crate::services::capacity::{self, ClosedDate, ScheduleView};
use crate::state::AppState;

/// The dealer's opening hours, slot length, reception per slot and workshop bays.
#[utoipa::path(operation_id = "getCapacity", tag = "capacity", security(("bearer" = [])),
    responses((status = 200, body = ScheduleView, headers(("ETag" = String)))))]
#[get("/capacity")]
pub async fn get_capacity(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let s = capacity::get(&state.db, &actor).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}

/// Replaces the capacity settings (managers). If-Match is honoured when sent.
#[utoipa::path(operation_id = "putCapacity", tag = "capacity", request_body = Schedule, security(("bearer" = [])), params(IfMatchOptionalHeader),
    responses((status = 200, body = ScheduleView, headers(("ETag" = String)))))]
#[put("/capacity")]
pub async fn put_capacity(
    state: web::Data<AppState>,
    actor: Actor,
    if_match: IfMatch,
    body: Json<Schedule>,
) -> AppResult<HttpResponse> {
    let s = capacity::put(&state.db, &actor, body.0, if_match.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, s.version, s))
}

#[utoipa::path(operation_id = "listClosedDates", tag = "capacity", security(("bearer" = [])), responses((status = 200, body = Vec<ClosedDate>)))]
#[get("/closed-dates")]
pub async fn list_closed(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(capacity::closed_dates(&state.db, &actor).await?))
}

/// Closes a day (holiday). Sending it twice is harmless.
#[utoipa::path(operation_id = "closeDate", tag = "capacity", request_body = ClosedDate, security(("bearer" = [])),
    responses((status = 200, body = ClosedDate)))]
#[put("/closed-dates")]
pub async fn close_date(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ClosedDate>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(capacity::close_date(&state.db, &actor, body.0).await?))
}

#[utoipa::path(operation_id = "reopenDate", tag = "capacity", security(("bearer" = [])), responses((status = 204)))]
#[delete("/closed-dates/{date}")]
pub async fn reopen_date(
    state: web::Data<AppState>,
    actor: Actor,
    date: web::Path<NaiveDate>,
) -> AppResult<HttpResponse> {
    capacity::reopen_date(&state.db, &actor, date.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
