//! /api/v1/customers

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::customers::{self, Customer, CustomerPage, CustomerPatch, NewCustomer};
use crate::services::vehicles::{self, Vehicle};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Name (prefix), phone (with or without +86), plate, VIN or its last 6+ characters.
    pub q: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Searches the customer archive.
#[utoipa::path(operation_id = "listCustomers", tag = "customers", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = CustomerPage)))]
#[get("/customers")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    params: Query<ListParams>,
) -> AppResult<HttpResponse> {
    let p = params.0;
    let page = customers::list(
        &state.db,
        &actor,
        p.q.as_deref(),
        p.cursor.as_deref(),
        p.limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a customer (advisors, customer care, managers).
#[utoipa::path(operation_id = "createCustomer", tag = "customers", request_body = NewCustomer, security(("bearer" = [])),
    responses((status = 201, body = Customer, headers(("ETag" = String))),
        (status = 409, description = "the phone is already a customer's", body = Problem)))]
#[post("/customers")]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewCustomer>,
) -> AppResult<HttpResponse> {
    let c = customers::create(&state.db, &actor, body.0, state.clock.now()).await?;
    Ok(with_etag(
        actix_web::http::StatusCode::CREATED,
        c.version,
        c,
    ))
}

#[utoipa::path(operation_id = "getCustomer", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Customer, headers(("ETag" = String)))))]
#[get("/customers/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let c = customers::get(&state.db, &actor, id.into_inner()).await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, c.version, c))
}

/// Partial update; send `If-Match` with the ETag you read (412 if someone changed it since).
#[utoipa::path(operation_id = "updateCustomer", tag = "customers", request_body = CustomerPatch, security(("bearer" = [])),
    params(("id" = Uuid, Path), IfMatchHeader),
    responses((status = 200, body = Customer, headers(("ETag" = String)))))]
#[patch("/customers/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<CustomerPatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let c = customers::update(
        &state.db,
        &actor,
        id.into_inner(),
        version,
        body.0,
        state.clock.now(),
    )
    .await?;
    Ok(with_etag(actix_web::http::StatusCode::OK, c.version, c))
}

/// The customer's vehicles.
#[utoipa::path(operation_id = "listCustomerVehicles", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Vec<Vehicle>)))]
#[get("/customers/{id}/vehicles")]
pub async fn vehicles_of(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(vehicles::of_customer(&state.db, &actor, id.into_inner()).await?))
}
