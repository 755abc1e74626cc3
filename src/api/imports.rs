//! /api/v1/imports (customer files run as background jobs) and
//! /api/v1/customers/export.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::Query;
use crate::auth::Actor;
use crate::domain::customer::Locale;
use crate::error::{AppError, AppResult, Problem};
use crate::services::import_jobs::{self, ImportJob, ImportReport, Upload};
use crate::state::AppState;

/// The form of `POST /imports/customers`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ImportUpload {
    /// CSV (UTF-8 with or without BOM, UTF-16 with BOM, GB18030/GBK) or an .xlsx / .xls
    /// workbook; one customer and optionally one vehicle per row.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// `true`: check and count every row, save nothing.
    dry_run: Option<bool>,
    /// The CSV's encoding (`utf-8`, `gb18030`, `gbk`, `utf-16le`…), overriding the guess.
    encoding: Option<String>,
    /// The workbook's sheet (default: the first).
    sheet: Option<String>,
}

/// Imports customers and vehicles from a file, as a background job: answers at
/// once with the queued job; poll `GET /imports/{id}` for progress and the report.
#[utoipa::path(tag = "imports", operation_id = "importCustomers",
    request_body(content = ImportUpload, content_type = "multipart/form-data"), security(("bearer" = [])),
    responses((status = 202, description = "the job, queued", body = ImportJob, headers(("Location" = String))),
        (status = 400, description = "not a multipart/form-data body", body = Problem),
        (status = 413, description = "the file is larger than `imports.max_upload_bytes`", body = Problem),
        (status = 422, description = "no file, an unknown field, a field sent twice, or a file that cannot be read (the line and byte where decoding failed, a missing column, an unknown sheet)", body = Problem)))]
#[post("/imports/customers")]
pub async fn import_customers(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    // refuse before reading a large body
    import_jobs::authorize(&actor)?;
    let limit = state.settings.imports.max_upload_bytes;
    let upload = read_upload(&req, payload, limit).await?;
    let job = import_jobs::submit(&state, &actor, upload, state.clock.now()).await?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED)
        .insert_header((header::LOCATION, format!("/api/v1/imports/{}", job.id)))
        .json(job))
}

/// The multipart form, the file held to `limit` bytes.
async fn read_upload(req: &HttpRequest, payload: web::Payload, limit: usize) -> AppResult<Upload> {
    // the form around the file is small: a body much larger than the limit is refused unread
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(AppError::PayloadTooLarge {
            limit,
            field: Some("file"),
        });
    }
    let bad = |e: actix_multipart::MultipartError| AppError::BadRequest {
        detail: format!("expected a multipart/form-data body: {e}"),
        errors: vec![],
    };
    let mut form = Multipart::new(req.headers(), payload);
    let mut upload = Upload::default();
    let mut file = None;
    // each field once: the form then holds at most the file's limit and three
    // short values, even sent chunked with no Content-Length to check above
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
                let file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(String::from);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(bad)?;
                    if bytes.len() + chunk.len() > limit {
                        return Err(AppError::PayloadTooLarge {
                            limit,
                            field: Some("file"),
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                upload.file_name = file_name;
                file = Some(bytes);
            }
            "dry_run" | "encoding" | "sheet" => {
                let value = match field.bytes(200).await {
                    Ok(Ok(b)) => String::from_utf8(b.to_vec())
                        .map_err(|_| AppError::field(name.as_str(), "is not UTF-8 text"))?,
                    Ok(Err(e)) => return Err(bad(e)),
                    Err(_) => {
                        return Err(AppError::field(name.as_str(), "must be at most 200 bytes"));
                    }
                };
                let value = value.trim().to_string();
                match name.as_str() {
                    "dry_run" => {
                        upload.dry_run = match value.as_str() {
                            "true" | "1" | "on" => true,
                            "false" | "0" | "" => false,
                            _ => return Err(AppError::field("dry_run", "must be true or false")),
                        }
                    }
                    "encoding" => upload.encoding = Some(value).filter(|v| !v.is_empty()),
                    _ => {
                        // Excel's own limit for a sheet name
                        if value.chars().count() > 31 || value.chars().any(char::is_control) {
                            return Err(AppError::field(
                                "sheet",
                                "is not a sheet name (at most 31 characters)",
                            ));
                        }
                        upload.sheet = Some(value).filter(|v| !v.is_empty())
                    }
                }
            }
            other => {
                return Err(AppError::field(
                    other,
                    "unknown field (expected file, dry_run, encoding, sheet)",
                ));
            }
        }
    }
    upload.bytes = file.ok_or_else(|| AppError::field("file", "is required"))?;
    Ok(upload)
}

#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Language of the reasons: `zh-CN` (default) or `en`.
    pub locale: Option<Locale>,
}

/// The job's state and progress, its counts, and every row rejected so far.
#[utoipa::path(tag = "imports", operation_id = "getImport", params(ReportParams), security(("bearer" = [])),
    responses((status = 200, body = ImportReport)))]
#[get("/imports/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<ReportParams>,
) -> AppResult<HttpResponse> {
    let locale = q.0.locale.unwrap_or(Locale::ZhCn);
    Ok(HttpResponse::Ok()
        .json(import_jobs::report(&state.db, &actor, id.into_inner(), locale).await?))
}

/// The rejected rows as CSV (UTF-8 with BOM): line, reasons, then the row as
/// read; fix them in Excel and import this file again.
#[utoipa::path(tag = "imports", operation_id = "getImportReportCsv", params(ReportParams), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv")))]
#[get("/imports/{id}/report.csv")]
pub async fn report_csv(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<ReportParams>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let locale = q.0.locale.unwrap_or(Locale::ZhCn);
    let body = import_jobs::report_csv(&state.db, &actor, id, locale).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"import-{id}-rejected.csv\""),
        ))
        .body(body))
}
