//! The customer's rights to a copy of their data and to see their consents'
//! history (PIPL; issue 14 §3): `/api/v1/me/export`, `/api/v1/me/exports`,
//! `/api/v1/me/consents/history`, and the staff's
//! `/api/v1/customers/{id}/export` and `/api/v1/customers/{id}/consent-history`.

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::contract::headers::IdempotencyKeyHeader;
use super::extract::{AccessPoint, IdempotencyHeader, Query};
use super::replayed;
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppError, AppResult, Problem};
use crate::services::consent_history::{self, ConsentHistoryPage};
use crate::services::customers;
use crate::services::data_export::{self, CustomerDataExport, DataExportJob};
use crate::services::idempotency::Outcome;
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
}

/// Everything the dealer holds about you, as JSON: the archive record,
/// vehicles, consents and their history, bookings, repair orders with their
/// lines, messages sent to you, survey answers, cases, enquiries, rescues,
/// insurance leads, and your photos as links. When there is too much for one
/// answer (above 100 repair orders or 300 photos) the answer is 409: ask for
/// the copy as a ZIP with `POST /api/v1/me/exports`. Customers only.
#[utoipa::path(operation_id = "getMyDataExport", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = CustomerDataExport),
        (status = 409, description = "too large to answer at once: POST /api/v1/me/exports", body = Problem, content_type = "application/problem+json")))]
#[get("/me/export")]
pub async fn my_export(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let own = data_export::own(&actor)?;
    let data = data_export::direct(&state.db, own, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(data))
}

/// Asks for the copy of your data as a ZIP (`export.json` and
/// `photos/<id>.<ext>`), built in the background. One job at a time: while
/// one is queued or running, asking again answers that job. Send
/// `Idempotency-Key` to make a retry replay the first answer. Customers only.
#[utoipa::path(operation_id = "requestMyDataExport", tag = "privacy", security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    responses((status = 202, body = DataExportJob, description = "the job (new, or the one still pending)",
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same key"))),
        (status = 409, description = "a request with the same key is still in progress", body = Problem, content_type = "application/problem+json")))]
#[post("/me/exports")]
pub async fn request(
    state: web::Data<AppState>,
    actor: Actor,
    key: IdempotencyHeader,
) -> AppResult<HttpResponse> {
    Ok(
        match data_export::request(&state, &actor, key.0.as_ref()).await? {
            Outcome::Fresh(job) => HttpResponse::Accepted().json(job),
            Outcome::Replayed(saved) => replayed(saved),
        },
    )
}

/// Your export jobs, newest first (at most 50).
#[utoipa::path(operation_id = "listMyDataExports", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Vec<DataExportJob>)))]
#[get("/me/exports")]
pub async fn list(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(data_export::mine(&state.db, &actor, None).await?))
}

/// One of your export jobs: its state, and until when the ZIP can be downloaded.
#[utoipa::path(operation_id = "getMyDataExportJob", tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = DataExportJob)))]
#[get("/me/exports/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let job = data_export::load(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(DataExportJob::from(job)))
}

/// The ZIP of a ready job: `export.json` (the same document as
/// `GET /me/export`) and `photos/<id>.<ext>`. 409 while it is being built;
/// 410 after `privacy.export_days` (7), when it has been deleted.
#[utoipa::path(operation_id = "downloadMyDataExport", tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "the ZIP", content((Vec<u8> = "application/zip"))),
        (status = 409, description = "not ready yet (or failed: see the job)", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "expired and deleted; ask for a new one", body = Problem, content_type = "application/problem+json")))]
#[get("/me/exports/{id}/download")]
pub async fn download(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let bytes = data_export::download(&state, &actor, id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"export-{id}.zip\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// Everything held about a customer, as `GET /me/export` gives it to them,
/// for the service manager or the dealer's admin answering the customer's
/// request in person; logged in the access log as an `export`.
#[utoipa::path(operation_id = "exportCustomerData", tag = "privacy", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CustomerDataExport)))]
#[get("/customers/{id}/export")]
pub async fn staff_export(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let data =
        data_export::for_staff(&state.db, &actor, id.into_inner(), state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw(AccessAction::Export, [data.customer.id])
        .await;
    Ok(HttpResponse::Ok().json(data))
}

/// Every change of your consents (per channel and purpose): given or
/// withdrawn, how (in the app, on a paper form, by an email's unsubscribe
/// link, an SMS reply…) and when; newest first. Customers only.
#[utoipa::path(operation_id = "listMyConsentHistory", tag = "privacy", params(HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, body = ConsentHistoryPage)))]
#[get("/me/consents/history")]
pub async fn my_consent_history(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<HistoryParams>,
) -> AppResult<HttpResponse> {
    let own = actor.customer_id.ok_or(AppError::Forbidden(
        "the customer's own history; staff read /customers/{id}/consent-history",
    ))?;
    let p = q.0;
    let page = consent_history::page(&state.db, own, p.cursor.as_deref(), p.limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A customer's consent history, newest first, for the staff who may read
/// the customer (logged in the access log as a read).
#[utoipa::path(operation_id = "listCustomerConsentHistory", tag = "privacy", params(("id" = Uuid, Path), HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, body = ConsentHistoryPage)))]
#[get("/customers/{id}/consent-history")]
pub async fn customer_consent_history(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    id: web::Path<Uuid>,
    q: Query<HistoryParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let p = q.0;
    let page =
        customers::consent_history(&state.db, &actor, id, p.cursor.as_deref(), p.limit).await?;
    Looker::of(&state, &actor, point.0)
        .saw(AccessAction::Read, [id])
        .await;
    Ok(HttpResponse::Ok().json(page))
}
