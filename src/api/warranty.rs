//! /api/v1/warranty-cases, /warranty-parts, /warranty-claims: warranty
//! claims (索赔管理) from the case to the brand's remittance.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use uuid::Uuid;

use super::contract::headers::IfMatchHeader;
use super::extract::{IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::warranty::WarrantyAction;
use crate::error::{AppResult, Problem};
use crate::services::Version;
use crate::services::warranty::cases::{
    self, NewWarrantyCase, WarrantyCase, WarrantyCasePage, WarrantyCasePatch, WarrantyListQuery,
    WarrantyStep,
};
use crate::services::warranty::export::{self, ClaimLine, Export, ExportQuery};
use crate::services::warranty::parts::{self, PartsQuery, WarrantyPart, WarrantyPartPage};
use crate::services::warranty::remittance::{self, RemittanceResult};
use crate::state::AppState;

/// The dealer's warranty cases, oldest first (warranty clerk, service
/// manager, dealer admin).
#[utoipa::path(operation_id = "listWarrantyCases", tag = "warranty", params(WarrantyListQuery), security(("bearer" = [])),
    responses((status = 200, body = WarrantyCasePage)))]
#[get("/warranty-cases")]
pub async fn list_cases(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<WarrantyListQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok()
        .json(cases::list(&state.db, &state.settings.warranty, &actor, q.0).await?))
}

/// One warranty case with its steps (also for the advisor, the foreman and
/// the technician, who edit it).
#[utoipa::path(operation_id = "getWarrantyCase", tag = "warranty", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarrantyCase, headers(("ETag" = String)))))]
#[get("/warranty-cases/{id}")]
pub async fn read_case(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let c = cases::get(&state.db, &state.settings.warranty, &actor, id.into_inner()).await?;
    Ok(with_etag(StatusCode::OK, c.version, c))
}

/// Opens a case by hand for a job of an order (advisor, warranty clerk);
/// a job with `pay_type: warranty` opens its own. 409 when the job has one.
#[utoipa::path(operation_id = "createWarrantyCase", tag = "warranty", request_body = NewWarrantyCase, security(("bearer" = [])),
    responses((status = 201, body = WarrantyCase, headers(("ETag" = String))),
        (status = 409, description = "the job already has a warranty case", body = Problem, content_type = "application/problem+json")))]
#[post("/warranty-cases")]
pub async fn create_case(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<NewWarrantyCase>,
) -> AppResult<HttpResponse> {
    let c = cases::create(&state, &actor, body.0).await?;
    Ok(with_etag(StatusCode::CREATED, c.version, c))
}

/// Edits a case's facts (advisor, warranty clerk) or its diagnosis and
/// causal part (technician, foreman); only the fields sent change. Send
/// `If-Match`.
#[utoipa::path(operation_id = "updateWarrantyCase", tag = "warranty", request_body = WarrantyCasePatch,
    params(("id" = Uuid, Path), IfMatchHeader), security(("bearer" = [])),
    responses((status = 200, body = WarrantyCase, headers(("ETag" = String))),
        (status = 409, description = "the case is filed and cannot change", body = Problem, content_type = "application/problem+json")))]
#[patch("/warranty-cases/{id}")]
pub async fn update_case(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<WarrantyCasePatch>,
) -> AppResult<HttpResponse> {
    let version = Version::required(if_match.0)?;
    let c = cases::update(&state, &actor, id.into_inner(), version, body.0).await?;
    Ok(with_etag(StatusCode::OK, c.version, c))
}

/// A step on a case: `decide` (clerk; 409 with the reason when not within
/// the make's terms), `goodwill` (manager), `finish_work` (foreman,
/// technician, clerk; the job must be done; tags the parts), `submit`,
/// `approve`, `reject` (with `note`), `resubmit` (with `note`), `reimburse`
/// (clerk). Send `If-Match`.
#[utoipa::path(operation_id = "actOnWarrantyCase", tag = "warranty", request_body = WarrantyStep,
    params(("id" = Uuid, Path), ("action" = WarrantyAction, Path), IfMatchHeader), security(("bearer" = [])),
    responses((status = 200, body = WarrantyCase, headers(("ETag" = String))),
        (status = 409, description = "the action is out of order for the case's state, the car is not within its terms, or the job is not done", body = Problem, content_type = "application/problem+json")))]
#[post("/warranty-cases/{id}/{action}")]
pub async fn act(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(Uuid, WarrantyAction)>,
    if_match: IfMatch,
    body: Json<WarrantyStep>,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let version = Version::required(if_match.0)?;
    let c = cases::act(&state, &actor, id, action, version, body.0).await?;
    Ok(with_etag(StatusCode::OK, c.version, c))
}

/// The claimed-parts register (索赔件): tag, part, where it is kept, the
/// day after which it may be scrapped.
#[utoipa::path(operation_id = "listWarrantyParts", tag = "warranty", params(PartsQuery), security(("bearer" = [])),
    responses((status = 200, body = WarrantyPartPage)))]
#[get("/warranty-parts")]
pub async fn list_parts(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<PartsQuery>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::list(&state.db, &actor, q.0).await?))
}

/// The brand released a claimed part (warranty clerk): it may be scrapped.
/// 409 unless it is `kept`.
#[utoipa::path(operation_id = "releaseWarrantyPart", tag = "warranty", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarrantyPart),
        (status = 409, description = "the part is not kept", body = Problem, content_type = "application/problem+json")))]
#[post("/warranty-parts/{id}/release")]
pub async fn release_part(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::step(&state, &actor, id.into_inner(), false).await?))
}

/// A claimed part is scrapped (warranty clerk): once released, or after its
/// keep-until day. 409 otherwise.
#[utoipa::path(operation_id = "scrapWarrantyPart", tag = "warranty", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = WarrantyPart),
        (status = 409, description = "the part is kept for the brand until its day, or already scrapped", body = Problem, content_type = "application/problem+json")))]
#[post("/warranty-parts/{id}/scrap")]
pub async fn scrap_part(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(parts::step(&state, &actor, id.into_inner(), true).await?))
}

/// The claims to file with the brand: those whose work was done on a local
/// day of `from..=to` (at most 366 days) and that are `work_done`,
/// `submitted` or `resubmitted`; CSV (UTF-8 with BOM) or `format=json`.
#[utoipa::path(operation_id = "exportWarrantyClaims", tag = "warranty", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "the claims", content(
            (Vec<ClaimLine> = "application/json"),
            ("text/csv")))))]
#[get("/warranty-claims/export")]
pub async fn export_claims(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let (from, to) = (q.0.from, q.0.to);
    Ok(
        match export::export(&state.db, &state.settings.warranty, &actor, q.0).await? {
            Export::Json(lines) => HttpResponse::Ok().json(lines),
            Export::Csv(bytes) => HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"warranty-claims-{from}-{to}.csv\""),
                ))
                .body(bytes),
        },
    )
}

/// Imports the brand's remittance (CSV with the columns `claim_number`,
/// `approved_amount`, `rejection_reason`; warranty clerk). 201 with each
/// line's outcome; the same file again answers 200 with the first
/// import's outcomes (`replayed`) and changes nothing. A malformed line:
/// 422 naming `line N.column`, nothing applied. At most 4 MiB (413).
#[utoipa::path(operation_id = "importWarrantyRemittance", tag = "warranty",
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 201, body = RemittanceResult),
        (status = 200, description = "the file was imported before: its first outcomes", body = RemittanceResult),
        (status = 413, description = "the file is over 4 MiB", body = Problem)))]
#[post("/warranty-claims/remittance")]
pub async fn import_remittance(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let body = super::extract::body_up_to(&req, payload, remittance::MAX_BYTES).await?;
    let r = remittance::import(&state, &actor, &body).await?;
    let status = if r.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status).json(r))
}
