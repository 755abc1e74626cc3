//! At the car and on paper: photos of an order, the health check, the
//! dealer's walk-around and health checklists, and the printable documents
//! (the repair order, the final QC report).

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{AccessPoint, IdempotencyHeader, Json, Query};
use super::replayed;
use crate::auth::Actor;
use crate::domain::customer::Locale;
use crate::domain::privacy::AccessAction;
use crate::error::{AppError, AppResult, Problem};
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::services::repair_orders::documents;
use crate::services::repair_orders::inspection::{self, HealthCheck, HealthCheckInput};
use crate::services::repair_orders::photos::{self, Photo, Upload};
use crate::services::repair_orders::settings::{self, Checklist, ChecklistBody};
use crate::state::AppState;

/// The form of `POST /repair-orders/{id}/photos`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PhotoUpload {
    /// JPEG, PNG, WebP or HEIC, told from the bytes (the name and the declared
    /// type are not looked at); at most `storage.max_photo_bytes` (default 10 MB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// What the photo is of.
    purpose: crate::domain::repair_order::PhotoPurpose,
    /// The checklist item the photo shows; leave the part out when there is
    /// none (a form part cannot be null).
    #[schema(example = "BODY_PANELS", nullable = false)]
    item_code: Option<String>,
}

/// A photo's bytes, served with the type they were recognised as.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PhotoBytes(Vec<u8>);

/// Adds a photo to the order. Send `Idempotency-Key`; the same bytes sent
/// again for the same order answer the photo already there (200), stored once.
#[utoipa::path(operation_id = "addRepairOrderPhoto", tag = "repair-orders",
    request_body(content = PhotoUpload, content_type = "multipart/form-data"), security(("bearer" = [])),
    params(("id" = Uuid, Path), IdempotencyKeyHeader),
    responses((status = 201, description = "the photo, stored", body = Photo,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 200, description = "the same bytes are already a photo of this order: that photo", body = Photo),
        (status = 400, description = "not a multipart/form-data body", body = Problem),
        (status = 409, description = "the order is closed or cancelled, or a request with the same key is in progress", body = Problem),
        (status = 413, description = "the file is larger than `storage.max_photo_bytes`", body = Problem),
        (status = 415, description = "the file is not a JPEG, PNG, WebP or HEIC image (`errors` names `file`)", body = Problem),
        (status = 422, description = "no file, no or an unknown purpose, a bad item code, an unknown field or a field sent twice", body = Problem)))]
#[post("/repair-orders/{id}/photos")]
pub async fn add_photo(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    // refuse before reading a large body
    photos::authorize(&state.db, &actor, id).await?;
    let upload = read_photo(&req, payload, state.settings.storage.max_photo_bytes).await?;
    Ok(
        match photos::add(&state, &actor, id, upload, key.0.as_ref()).await? {
            Outcome::Fresh((p, true)) => HttpResponse::Created().json(p),
            Outcome::Fresh((p, false)) => HttpResponse::Ok().json(p),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// The multipart form, the file held to `limit` bytes as it streams in.
async fn read_photo(req: &HttpRequest, payload: web::Payload, limit: usize) -> AppResult<Upload> {
    let too_large = || AppError::PayloadTooLarge {
        limit,
        field: Some("file"),
    };
    // the form around the file is small: a body much larger than the limit is refused unread
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(16 * 1024)) {
        return Err(too_large());
    }
    let bad = |e: actix_multipart::MultipartError| AppError::BadRequest {
        detail: format!("expected a multipart/form-data body: {e}"),
        errors: vec![],
    };
    let mut form = Multipart::new(req.headers(), payload);
    let mut upload = Upload::default();
    let mut file = None;
    let mut seen: Vec<String> = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad)?;
        let name = field.name().unwrap_or_default().to_string();
        if seen.contains(&name) {
            return Err(AppError::field(name.as_str(), "is sent more than once"));
        }
        seen.push(name.clone());
        match name.as_str() {
            "file" => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(bad)?;
                    if bytes.len() + chunk.len() > limit {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(bytes);
            }
            "purpose" | "item_code" => {
                let value = match field.bytes(100).await {
                    Ok(Ok(b)) => String::from_utf8(b.to_vec())
                        .map_err(|_| AppError::field(name.as_str(), "is not UTF-8 text"))?,
                    Ok(Err(e)) => return Err(bad(e)),
                    Err(_) => {
                        return Err(AppError::field(name.as_str(), "must be at most 100 bytes"));
                    }
                };
                if name == "purpose" {
                    upload.purpose = Some(value);
                } else {
                    upload.item_code = Some(value);
                }
            }
            other => {
                return Err(AppError::field(
                    other,
                    "unknown field (expected file, purpose, item_code)",
                ));
            }
        }
    }
    upload.bytes = file.ok_or_else(|| AppError::field("file", "is required"))?;
    Ok(upload)
}

/// The photos of the order, oldest first.
#[utoipa::path(operation_id = "listRepairOrderPhotos", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Photo>)))]
#[get("/repair-orders/{id}/photos")]
pub async fn list_photos(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(photos::list(&state.db, &actor, id.into_inner()).await?))
}

/// A photo's bytes, for anyone who may read the order (the customer too).
#[utoipa::path(operation_id = "getRepairOrderPhoto", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("photo_id" = Uuid, Path)),
    responses((status = 200, description = "the bytes, with the type told from them at upload",
        content((PhotoBytes = "image/jpeg"), (PhotoBytes = "image/png"), (PhotoBytes = "image/webp"), (PhotoBytes = "image/heic")))))]
#[get("/repair-orders/{id}/photos/{photo_id}")]
pub async fn get_photo(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, Uuid)>,
) -> AppResult<HttpResponse> {
    let (id, photo_id) = path.into_inner();
    let (content_type, bytes) = photos::bytes(&state, &actor, id, photo_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

/// Records the health check (健康车检) against the dealer's health checklist;
/// answers it with the red and yellow items as proposed lines of extra work.
#[utoipa::path(operation_id = "putHealthCheck", tag = "repair-orders", request_body = HealthCheckInput, security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = HealthCheck),
        (status = 409, description = "the order is closed or cancelled", body = Problem)))]
#[put("/repair-orders/{id}/health-check")]
pub async fn put_health_check(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<HealthCheckInput>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(inspection::put_health_check(&state, &actor, id.into_inner(), body.0).await?))
}

/// The health check as recorded (404 while there is none).
#[utoipa::path(operation_id = "getHealthCheck", tag = "repair-orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = HealthCheck)))]
#[get("/repair-orders/{id}/health-check")]
pub async fn get_health_check(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(inspection::get_health_check(&state.db, &actor, id.into_inner()).await?))
}

/// The dealer's walk-around checklist (staff).
#[utoipa::path(operation_id = "getWalkaroundChecklist", tag = "repair-orders", security(("bearer" = [])),
    responses((status = 200, body = ChecklistBody)))]
#[get("/walkaround-checklist")]
pub async fn get_walkaround_checklist(
    state: web::Data<AppState>,
    actor: Actor,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(settings::get_checklist(&state.db, &actor, Checklist::Walkaround).await?))
}

/// Replaces the walk-around checklist (service manager, dealer admin).
#[utoipa::path(operation_id = "putWalkaroundChecklist", tag = "repair-orders", request_body = ChecklistBody, security(("bearer" = [])),
    responses((status = 200, body = ChecklistBody)))]
#[put("/walkaround-checklist")]
pub async fn put_walkaround_checklist(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ChecklistBody>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(
        settings::put_checklist(&state.db, &actor, Checklist::Walkaround, body.0, now).await?,
    ))
}

/// The dealer's health checklist (staff).
#[utoipa::path(operation_id = "getHealthChecklist", tag = "repair-orders", security(("bearer" = [])),
    responses((status = 200, body = ChecklistBody)))]
#[get("/health-checklist")]
pub async fn get_health_checklist(
    state: web::Data<AppState>,
    actor: Actor,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(settings::get_checklist(&state.db, &actor, Checklist::Health).await?))
}

/// Replaces the health checklist (service manager, dealer admin).
#[utoipa::path(operation_id = "putHealthChecklist", tag = "repair-orders", request_body = ChecklistBody, security(("bearer" = [])),
    responses((status = 200, body = ChecklistBody)))]
#[put("/health-checklist")]
pub async fn put_health_checklist(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<ChecklistBody>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .json(settings::put_checklist(&state.db, &actor, Checklist::Health, body.0, now).await?))
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentParams {
    /// `zh-CN` (default) or `en`.
    pub locale: Option<Locale>,
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The repair order (《维修委托书》) as a printable HTML page: dealer, customer,
/// vehicle, concerns, walk-around marks, jobs and parts with prices, totals by
/// pay type, the accepted signature and the estimate's SHA-256.
#[utoipa::path(operation_id = "getRepairOrderDocument", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), DocumentParams),
    responses((status = 200, description = "a printable page", content_type = "text/html", body = String)))]
#[get("/repair-orders/{id}/document")]
pub async fn document(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
    q: Query<DocumentParams>,
) -> AppResult<HttpResponse> {
    let locale = q.0.locale.unwrap_or(Locale::ZhCn);
    let now = state.clock.now();
    let page = documents::repair_order(&state.db, &actor, id.into_inner(), locale, now).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &page)
        .await;
    Ok(html(page.html))
}

/// The final QC report (《最终质量检查报告单》): every QC level recorded, with
/// who, when and the items, as a printable HTML page.
#[utoipa::path(operation_id = "getQcReport", tag = "repair-orders", security(("bearer" = [])),
    params(("id" = Uuid, Path), DocumentParams),
    responses((status = 200, description = "a printable page", content_type = "text/html", body = String)))]
#[get("/repair-orders/{id}/qc-report")]
pub async fn qc_report(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
    q: Query<DocumentParams>,
) -> AppResult<HttpResponse> {
    let locale = q.0.locale.unwrap_or(Locale::ZhCn);
    let now = state.clock.now();
    let page = documents::qc_report(&state.db, &actor, id.into_inner(), locale, now).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Read, &page)
        .await;
    Ok(html(page.html))
}
