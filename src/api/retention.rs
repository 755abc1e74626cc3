//! Retention of personal data: the dealer's limits per kind and the daily
//! runs that enforced them (`services::retention`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, put, web};

use super::contract::headers::IfMatchOptionalHeader;
use super::extract::{IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::retention::{
    self, RetentionRunPage, RetentionSettings, RetentionSettingsInput, RunsQuery,
};
use crate::state::AppState;

/// How long the dealer keeps each kind of personal data (any member of
/// staff); version 0 while the configured defaults apply.
#[utoipa::path(operation_id = "getRetentionSettings", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = RetentionSettings, headers(("ETag" = String)))))]
#[get("/settings/retention")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let v = retention::get_settings(&state.db, &state.settings.privacy.retention, &actor).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Sets every limit (the service manager, the dealer's admin); the next
/// daily run applies them. With `If-Match`, 412 when changed since
/// (`"0"`: none set yet).
#[utoipa::path(operation_id = "putRetentionSettings", tag = "privacy", request_body = RetentionSettingsInput,
    params(IfMatchOptionalHeader), security(("bearer" = [])),
    responses((status = 200, body = RetentionSettings, headers(("ETag" = String))),
        (status = 422, description = "a limit out of its bounds, named", body = Problem, content_type = "application/problem+json")))]
#[put("/settings/retention")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    if_match: IfMatch,
    body: Json<RetentionSettingsInput>,
) -> AppResult<HttpResponse> {
    let v = retention::put_settings(
        &state.db,
        &state.settings.privacy.retention,
        &actor,
        if_match.0,
        body.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// The dealer's daily retention runs, newest first, with what each removed
/// per kind (the service manager, the dealer's admin).
#[utoipa::path(operation_id = "listRetentionRuns", tag = "privacy", params(RunsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = RetentionRunPage)))]
#[get("/retention/runs")]
pub async fn runs(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<RunsQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(retention::runs(&state.db, &actor, q.0).await?))
}
