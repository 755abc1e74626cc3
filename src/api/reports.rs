//! /api/v1/reports: the daily report (维修日报表) to read or download.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::Query;
use crate::auth::Actor;
use crate::domain::customer::Locale;
use crate::domain::kpi::ReportFormat;
use crate::error::AppResult;
use crate::services::reports;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DailyReportParams {
    /// The local day (1900–2200).
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// `html` (the default) or `csv` (UTF-8 with a BOM).
    pub format: Option<ReportFormat>,
    /// The report's language; zh-CN by default.
    pub lang: Option<Locale>,
}

/// The daily report of a local day: every KPI with its numerator and
/// denominator, and each technician's hours (the KPI readers).
#[utoipa::path(operation_id = "getDailyReport", tag = "kpi", params(DailyReportParams), security(("bearer" = [])),
    responses((status = 200, description = "the report, as a page or as CSV",
        content((String = "text/html"), (String = "text/csv")))))]
#[get("/reports/daily")]
pub async fn daily(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<DailyReportParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let locale = q.lang.unwrap_or(Locale::ZhCn);
    let (name, r) = reports::daily(&state, &actor, q.date).await?;
    Ok(match q.format.unwrap_or(ReportFormat::Html) {
        ReportFormat::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(reports::html(&state, &name, &r, locale)?),
        ReportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"daily-report-{}.csv\"", r.date),
            ))
            .body(reports::csv(&r, locale)),
    })
}
