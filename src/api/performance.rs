//! /api/v1/targets, /api/v1/scorecards, /api/v1/reward-scheme: staff
//! performance and rewards (绩效管理, 员工激励).

use actix_web::{HttpResponse, get, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{Json, Query};
use crate::auth::Actor;
use crate::domain::performance::RewardScheme;
use crate::error::AppResult;
use crate::services::performance::{self, Scorecard, TargetSheet, TargetsInput};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthParams {
    /// `YYYY-MM` (1900–2200).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
    /// Only this person (managers and the supervisor); others always read their own.
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PutMonthParams {
    /// `YYYY-MM`: a month that has not started in the dealer's zone.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    pub month: String,
}

/// The month's targets: everyone's with a post that gets targets (the
/// service manager, the supervisor, the dealer's admin), one's own for
/// the others; `open` while the month has not started.
#[utoipa::path(operation_id = "getTargets", tag = "performance", params(MonthParams), security(("bearer" = [])),
    responses((status = 200, body = TargetSheet)))]
#[get("/targets")]
pub async fn get_targets(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<MonthParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let s =
        performance::get_targets(&state.db, &actor, &q.month, q.user_id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Plans a month's targets (the service manager, the dealer's admin):
/// each person named gets exactly the targets sent, the others keep
/// theirs; only before the month starts (else 422 naming `month`). Each
/// metric must fit the person's post: an advisor's `revenue`,
/// `appointment_rate`, `csi`, `follow_up_rate`, `estimate_before_work`; a
/// technician's `productivity`, `efficiency`, `comeback_rate`; a
/// department head's any. Answers the month's sheet.
#[utoipa::path(operation_id = "putTargets", tag = "performance", params(PutMonthParams), request_body = TargetsInput, security(("bearer" = [])),
    responses((status = 200, body = TargetSheet)))]
#[put("/targets")]
pub async fn put_targets(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<PutMonthParams>,
    body: Json<TargetsInput>,
) -> AppResult<HttpResponse> {
    let s =
        performance::put_targets(&state.db, &actor, &q.0.month, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Scorecards of the month (counted up to today in the dealer's zone):
/// per person, each target against the figure of their own work and the
/// month before, and the bonus the reward scheme pays, line by line.
/// Managers and the supervisor read everyone's, the others their own.
#[utoipa::path(operation_id = "listScorecards", tag = "performance", params(MonthParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<Scorecard>)))]
#[get("/scorecards")]
pub async fn scorecards(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<MonthParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let cards =
        performance::scorecards(&state.db, &actor, &q.month, q.user_id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(cards))
}

/// The dealer's reward scheme (激励方案), for all its staff.
#[utoipa::path(operation_id = "getRewardScheme", tag = "performance", security(("bearer" = [])),
    responses((status = 200, body = RewardScheme)))]
#[get("/reward-scheme")]
pub async fn get_scheme(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(performance::get_scheme(&state.db, &actor).await?))
}

/// Replaces the reward scheme (the service manager, the dealer's admin):
/// per post a base bonus, a most per month and weighted lines with a
/// threshold and a cap; each bad field is named
/// (`posts[0].lines[1].weight`).
#[utoipa::path(operation_id = "putRewardScheme", tag = "performance", request_body = RewardScheme, security(("bearer" = [])),
    responses((status = 200, body = RewardScheme)))]
#[put("/reward-scheme")]
pub async fn put_scheme(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<RewardScheme>,
) -> AppResult<HttpResponse> {
    let s = performance::put_scheme(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(s))
}
