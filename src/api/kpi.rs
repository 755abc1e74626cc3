//! /api/v1/kpi and /api/v1/technicians/{id}/roster: the daily board's
//! figures (看板管理) and the rosters its hours available come from.

use actix_web::{HttpResponse, get, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{Json, Query};
use crate::auth::Actor;
use crate::domain::kpi::KpiGrouping;
use crate::error::{AppResult, Problem};
use crate::services::kpi::roster::{self, RosterInput, RosterView};
use crate::services::kpi::{self, Filter, KpiDaily, KpiRange};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DailyParams {
    /// The local date (the dealer's zone).
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Only this service advisor's orders, appointments, responses and cases.
    pub advisor_id: Option<Uuid>,
    /// Only this technician's hours, and the orders they had a job on.
    pub technician_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeParams {
    /// The first local date.
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last local date, inclusive: not before `from`, at most 400 days in all.
    #[param(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// The periods: `day`, `week` (ISO, Monday first) or `month`; default `day`.
    pub by: Option<KpiGrouping>,
    /// Only this service advisor's orders, appointments, responses and cases.
    pub advisor_id: Option<Uuid>,
    /// Only this technician's hours, and the orders they had a job on.
    pub technician_id: Option<Uuid>,
}

/// The daily board (看板) of one local day: revenue by pay type, vehicles in
/// and delivered, orders in work at close, labour hours (productivity,
/// efficiency, utilisation) for the workshop and each technician, first-time
/// fix and comebacks, appointments, the reception, estimate, delivery and
/// follow-up standards, CSI and cases, and churn. Every ratio carries its
/// numerator and denominator; a zero denominator gives a null value.
/// Managers, supervisors, the dealer's admin; a network admin also gets
/// every dealer side by side.
#[utoipa::path(operation_id = "getKpiDaily", tag = "kpi", params(DailyParams), security(("bearer" = [])),
    responses((status = 200, body = KpiDaily),
        (status = 422, description = "a date out of range, or an advisor or technician not of this dealer", body = Problem, content_type = "application/problem+json")))]
#[get("/kpi/daily")]
pub async fn daily(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<DailyParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let filter = Filter {
        advisor_id: q.advisor_id,
        technician_id: q.technician_id,
        network: true,
    };
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(kpi::daily(&state.db, &actor, q.date, filter, now).await?))
}

/// The board's figures over local days `from..=to` (at most 400), period by
/// period (`by` day, week or month) and in all, with churn seen on `to`.
#[utoipa::path(operation_id = "getKpiRange", tag = "kpi", params(RangeParams), security(("bearer" = [])),
    responses((status = 200, body = KpiRange),
        (status = 422, description = "a date missing or out of range (`to` before `from`, more than 400 days), or an advisor or technician not of this dealer", body = Problem, content_type = "application/problem+json")))]
#[get("/kpi/range")]
pub async fn range(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<RangeParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let filter = Filter {
        advisor_id: q.advisor_id,
        technician_id: q.technician_id,
        network: true,
    };
    let by = q.by.unwrap_or(KpiGrouping::Day);
    let now = state.clock.now();
    Ok(
        HttpResponse::Ok()
            .json(kpi::range(&state.db, &actor, q.from, q.to, by, filter, now).await?),
    )
}

/// A technician's roster: shift hours per weekday and days off (8 hours
/// Monday to Friday when none was set, `default: true`). Managers, the
/// foreman, the dealer's admin, and the technician themself.
#[utoipa::path(operation_id = "getTechnicianRoster", tag = "kpi", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = RosterView)))]
#[get("/technicians/{id}/roster")]
pub async fn get_roster(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(roster::get(&state.db, &actor, id.into_inner()).await?))
}

/// Replaces a technician's roster (the service manager, the foreman, the
/// dealer's admin): each weekday 0–24 hours, absences on distinct dates
/// (a whole day, or `hours` of it); each bad field is named in the 422
/// (`weekly.mon`, `absences[1].date`).
#[utoipa::path(operation_id = "putTechnicianRoster", tag = "kpi", params(("id" = Uuid, Path)), request_body = RosterInput, security(("bearer" = [])),
    responses((status = 200, body = RosterView)))]
#[put("/technicians/{id}/roster")]
pub async fn put_roster(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    body: Json<RosterInput>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(
        HttpResponse::Ok()
            .json(roster::put(&state.db, &actor, id.into_inner(), body.0, now).await?),
    )
}
