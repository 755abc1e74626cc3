//! /api/v1/customers

use actix_web::http::header;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{AccessPoint, IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::customers::{self, Customer, CustomerPage, CustomerPatch, NewCustomer};
use crate::services::export;
use crate::services::privacy::Looker;
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
    responses((status = 200, body = CustomerPage),
        (status = 422, description = "`q` is a name or phone and the caller's role sees them masked: search by plate or VIN", body = Problem, content_type = "application/problem+json")))]
#[get("/customers")]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
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
    Looker::of(&state, &actor, point.0)
        .saw(AccessAction::Search, page.items.iter().map(|c| c.id))
        .await;
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
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let c = customers::get(&state.db, &actor, id.into_inner()).await?;
    Looker::of(&state, &actor, point.0)
        .saw(AccessAction::Read, [c.id])
        .await;
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` (UTF-8 with BOM, default) or `xlsx`.
    pub format: Option<ExportFormat>,
    /// The customer list's filter: name prefix, phone, plate, VIN or its last 6+ characters.
    pub q: Option<String>,
}

/// The customer archive as a file the import reads back: one row per vehicle.
/// CSV is streamed page by page.
#[utoipa::path(tag = "customers", operation_id = "exportCustomers", params(ExportParams), security(("bearer" = [])),
    responses((status = 200, description = "the file", content(
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))))]
#[get("/customers/export")]
pub async fn export_file(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    params: Query<ExportParams>,
) -> AppResult<HttpResponse> {
    let p = params.0;
    export::authorize(&actor, p.q.as_deref())?;
    let looker = Looker::of(&state, &actor, point.0);
    let stamp = state.clock.now().format("%Y%m%d");
    match p.format.unwrap_or(ExportFormat::Csv) {
        ExportFormat::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"customers-{stamp}.csv\""),
            ))
            .streaming(export::csv_stream(state.db.clone(), actor, p.q, looker))),
        ExportFormat::Xlsx => {
            let body = export::xlsx(&state.db, &actor, p.q.as_deref(), &looker).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"customers-{stamp}.xlsx\""),
                ))
                .body(body))
        }
    }
}
