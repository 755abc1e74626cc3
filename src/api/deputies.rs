//! /api/v1/users/{id}/deputy: who stands in for a user while they are away
//! (职务代理), and whom they stand in for.

use actix_web::{HttpResponse, delete, get, put, web};
use uuid::Uuid;

use super::extract::Json;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::deputies::{self, DeputyInput, DeputyPeriod, UserDeputies};
use crate::state::AppState;

/// The user's deputy (the coming or running period; null for none) and
/// those the user stands in for, now or later. The user themself, the
/// service manager and the dealer's admin; a user of another dealer is 404.
#[utoipa::path(operation_id = "getUserDeputy", tag = "deputies", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDeputies)))]
#[get("/users/{id}/deputy")]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(deputies::get(&state.db, &actor, id.into_inner(), now).await?))
}

/// Names the user's deputy for local days `from`..=`to` (the dealer's
/// zone; from today, at most 90 days, starting within a year), replacing
/// any period not yet over. While it runs the deputy's `mine=true` lists of
/// appointments, repair orders, cases and callbacks include the user's, and
/// each act on the user's records is audited `on_behalf_of` the user; the
/// deputy's own roles still decide what they may do. The same period again
/// changes nothing. The user themself, the service manager, the dealer's
/// admin.
#[utoipa::path(operation_id = "putUserDeputy", tag = "deputies", request_body = DeputyInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DeputyPeriod),
        (status = 409, description = "the user's deputy was changed at the same moment", body = Problem)))]
#[put("/users/{id}/deputy")]
pub async fn put(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<DeputyInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let p = deputies::put(&state.db, &actor, id.into_inner(), body.0, now).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Withdraws the user's deputy: a running period ends now, a coming one
/// is dropped (both stay in the record). Nothing to withdraw is not an
/// error. Answers the user's deputies as they are now.
#[utoipa::path(operation_id = "withdrawUserDeputy", tag = "deputies", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDeputies)))]
#[delete("/users/{id}/deputy")]
pub async fn withdraw(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let id = id.into_inner();
    deputies::withdraw(&state.db, &actor, id, now).await?;
    Ok(HttpResponse::Ok().json(deputies::get(&state.db, &actor, id, now).await?))
}
