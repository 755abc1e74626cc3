//! /api/v1/vehicles

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{IfMatch, Json};
use super::with_etag;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::vehicles::{
    self, MileageReading, NewMileage, NewVehicle, RemoveReading, Vehicle, VehiclePatch,
};
use crate::services::{Version, dealers};
use crate::state::AppState;

/// Registers a vehicle to a customer. The VIN's check digit and the plate's format are verified.
#[utoipa::path(operation_id = "createVehicle", tag = "vehicles", request_body = NewVehicle, security(("bearer" = [])),
    responses((status = 201, body = Vehicle, headers(("ETag" = String))),
        (status = 409, description = "VIN or plate already registered", body = Problem)))]
#[post("/vehicles")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewVehicle>,
) -> AppResult<HttpResponse> {
    let v = vehicles::create(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::CREATED, v.version, v))
}

#[utoipa::path(operation_id = "getVehicle", tag = "vehicles", security(("bearer" = [])),
    responses((status = 200, body = Vehicle, headers(("ETag" = String)))))]
#[get("/vehicles/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let v = vehicles::get(&state.db, &actor, id.into_inner()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Partial update; send `If-Match` with the ETag you read.
#[utoipa::path(operation_id = "updateVehicle", tag = "vehicles", request_body = VehiclePatch, security(("bearer" = [])),
    params(("id" = Uuid, Path), IfMatchHeader),
    responses((status = 200, body = Vehicle, headers(("ETag" = String)))))]
#[patch("/vehicles/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<VehiclePatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let v = vehicles::update(
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

/// Records an odometer reading. A reading lower than the last is refused (422) unless `correction` is true.
#[utoipa::path(operation_id = "recordMileage", tag = "vehicles", request_body = NewMileage, security(("bearer" = [])),
    responses((status = 201, body = MileageReading)))]
#[post("/vehicles/{id}/mileage")]
pub async fn record_mileage(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<NewMileage>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let today = dealers::today(&state.db, actor.dealer_id, now).await?;
    let m =
        vehicles::record_mileage(&state.db, &actor, id.into_inner(), body.0, today, now).await?;
    Ok(HttpResponse::Created().json(m))
}

/// The vehicle's odometer history, oldest first.
#[utoipa::path(operation_id = "listMileage", tag = "vehicles", security(("bearer" = [])), responses((status = 200, body = Vec<MileageReading>)))]
#[get("/vehicles/{id}/mileage")]
pub async fn mileage_history(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(vehicles::mileage_history(&state.db, &actor, id.into_inner()).await?))
}

/// Removes a wrong odometer reading (staff who edit vehicles), with a reason
/// kept in the audit; the odometer becomes the latest remaining reading.
#[utoipa::path(operation_id = "deleteMileageReading", tag = "vehicles", request_body = RemoveReading, security(("bearer" = [])),
    params(("id" = Uuid, Path), ("reading_id" = Uuid, Path)),
    responses((status = 200, body = Vehicle, headers(("ETag" = String)))))]
#[delete("/vehicles/{id}/mileage/{reading_id}")]
pub async fn remove_mileage(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<RemoveReading>,
) -> AppResult<HttpResponse> {
    let (id, reading_id) = path.into_inner();
    let v = vehicles::remove_mileage(&state.db, &actor, id, reading_id, body.0, state.clock.now())
        .await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}
