//! Personal data: revealing masked fields, the access log.

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::extract::{AccessPoint, Json, Query};
use crate::auth::Actor;
use crate::error::AppResult;
use crate::services::privacy::{self, AccessFilter, AccessPage, RevealRequest, Revealed};
use crate::state::AppState;

/// Shows masked fields of a customer in full, for a reason: allowed per role
/// (cashier: name and phone; warranty clerk: name, phone and email; the roles
/// that see everything in full may too), and written to the access log first.
#[utoipa::path(operation_id = "revealCustomer", tag = "privacy", request_body = RevealRequest,
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Revealed)))]
#[post("/customers/{id}/reveal")]
pub async fn reveal(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
    body: Json<RevealRequest>,
) -> AppResult<HttpResponse> {
    let r = privacy::reveal(
        &state.db,
        &actor,
        id.into_inner(),
        body.0,
        &point.0,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(r))
}

/// Who looked at which customer's personal data, when, how and from where
/// (the dealer's admin and the service manager), oldest first.
#[utoipa::path(operation_id = "listPersonalDataAccess", tag = "privacy", params(AccessFilter),
    security(("bearer" = [])),
    responses((status = 200, body = AccessPage)))]
#[get("/audit/personal-data")]
pub async fn access_log(
    state: web::Data<AppState>,
    actor: Actor,
    filter: Query<AccessFilter>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(privacy::access_log(&state, &actor, filter.0).await?))
}
