//! /api/v1/today: the opening routine (营业准备) and the morning meeting
//! (晨会): the day at a glance, the opening checklist and its ticks, and
//! the dealer's opening settings (the checklist's items, the daily targets).

use actix_web::{HttpResponse, delete, get, post, put, web};

use super::extract::{AccessPoint, Json, OptionalJson};
use crate::auth::Actor;
use crate::domain::opening::OpeningSettings;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::privacy::Looker;
use crate::services::today::{self, OpeningChecklistEntry, OpeningTick, Today};
use crate::state::AppState;

/// The opening page of the caller's dealer for its local today: the
/// bookings by hour and advisor with the list, the technicians on shift
/// and absent (their rosters), the cars promised today still in the
/// workshop with the dispatch board's risk, yesterday's key figures
/// against the dealer's targets (KPI readers; null for others), the open
/// and overdue unhappy-customer cases (the overdue ones listed for those
/// who work the table), and the opening checklist with today's ticks.
/// Every member of the dealer's staff, and the brand (its own dealer).
#[utoipa::path(operation_id = "getToday", tag = "today", security(("bearer" = [])),
    responses((status = 200, body = Today)))]
#[get("/today")]
pub async fn show(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
) -> AppResult<HttpResponse> {
    let t = today::today(&state.db, &actor, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &t)
        .await;
    Ok(HttpResponse::Ok().json(t))
}

/// The dealer's opening settings: the checklist (the defaults — uniforms,
/// workshop and lounge clean, tools in order, tablets charged, morning
/// meeting — until a manager saves some) and the daily targets. Those who
/// tick or write them, and the brand.
#[utoipa::path(operation_id = "getOpeningSettings", tag = "today", security(("bearer" = [])),
    responses((status = 200, body = OpeningSettings)))]
#[get("/today/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(today::get_settings(&state.db, &actor).await?))
}

/// Replaces the dealer's opening settings (the managers, the supervisor,
/// the dealer's admin); each bad field is named in the 422
/// (`checklist[2].code`, `targets.show_rate`). An item taken out keeps
/// its ticks of past days.
#[utoipa::path(operation_id = "putOpeningSettings", tag = "today", request_body = OpeningSettings, security(("bearer" = [])),
    responses((status = 200, body = OpeningSettings)))]
#[put("/today/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<OpeningSettings>,
) -> AppResult<HttpResponse> {
    let saved = today::put_settings(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Ticks today's checklist item `code` (the supervisor, the manager, the
/// workshop foreman, the dealer's admin), with an optional note. Once a
/// day per item: a retried or concurrent tick changes nothing and answers
/// the item with its first ticker, time and note. An item not in the
/// dealer's checklist is 404.
#[utoipa::path(operation_id = "tickOpeningItem", tag = "today", request_body = Option<OpeningTick>, security(("bearer" = [])),
    params(("code" = String, Path, description = "the item's code", pattern = "^[a-z0-9_]{1,32}$")),
    responses((status = 200, body = OpeningChecklistEntry),
        (status = 404, description = "no such item in the dealer's checklist", body = Problem)))]
#[post("/today/checklist/{code}")]
pub async fn tick(
    state: web::Data<AppState>,
    actor: Actor,
    code: web::Path<String>,
    body: OptionalJson<OpeningTick>,
) -> AppResult<HttpResponse> {
    let input = body.0.unwrap_or_default();
    let entry = today::tick(&state.db, &actor, &code, input, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// Takes back today's tick of item `code` (the managers, the supervisor,
/// the dealer's admin): a tick made by mistake. Answers the item, unticked;
/// an item that was not ticked is answered the same.
#[utoipa::path(operation_id = "untickOpeningItem", tag = "today", security(("bearer" = [])),
    params(("code" = String, Path, description = "the item's code", pattern = "^[a-z0-9_]{1,32}$")),
    responses((status = 200, body = OpeningChecklistEntry),
        (status = 404, description = "no such item in the dealer's checklist", body = Problem)))]
#[delete("/today/checklist/{code}")]
pub async fn untick(
    state: web::Data<AppState>,
    actor: Actor,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let entry = today::untick(&state.db, &actor, &code, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(entry))
}
