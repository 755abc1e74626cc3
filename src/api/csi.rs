//! /api/v1/csi and /api/v1/surveys: customer satisfaction: the questionnaire,
//! the survey a follow-up's link opens, and the analysis (`GET /api/v1/csi`).

use actix_web::{HttpResponse, get, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Json, Query};
use crate::auth::Actor;
use crate::domain::csi::Questionnaire;
use crate::domain::csi_report::CsiGrouping;
use crate::error::{AppResult, Problem};
use crate::services::csi::{self, QuestionnaireView, SurveyAnswer, SurveyReceipt, SurveyView};
use crate::services::csi_report::{self, CsiReport};
use crate::state::AppState;

/// The CSI questionnaire in force: five weighted sections and their
/// questions, zh-CN and en (staff). Version 0 is the seed's.
#[utoipa::path(operation_id = "getCsiQuestionnaire", tag = "csi", security(("bearer" = [])),
    responses((status = 200, body = QuestionnaireView)))]
#[get("/csi/questionnaire")]
pub async fn get_questionnaire(
    state: web::Data<AppState>,
    actor: Actor,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(csi::get(&state.db, &actor).await?))
}

/// Puts a new version of the questionnaire in force (managers): every
/// section once, weights summing to 100. Responses keep the version they
/// were answered with; sending the questionnaire in force again changes nothing.
#[utoipa::path(operation_id = "putCsiQuestionnaire", tag = "csi", request_body = Questionnaire, security(("bearer" = [])),
    responses((status = 200, body = QuestionnaireView)))]
#[put("/csi/questionnaire")]
pub async fn put_questionnaire(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<Questionnaire>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(csi::put(&state.db, &actor, body.0, now).await?))
}

/// The survey a follow-up's link opens (`/s/{token}` is its page): the
/// dealer, the visit date, the customer's first name and the questions.
/// No login: the signed, expiring token is the key. 404 for a token we did
/// not make; 422 naming `token` when it has expired.
#[utoipa::path(operation_id = "getSurvey", tag = "csi", params(("token" = String, Path)),
    responses((status = 200, body = SurveyView),
        (status = 404, description = "no such survey", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the link has expired", body = Problem, content_type = "application/problem+json")))]
#[get("/surveys/{token}")]
pub async fn get_survey(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(csi::survey(&state, &token).await?))
}

/// Answers the survey, once: a second answer is 409.
#[utoipa::path(operation_id = "answerSurvey", tag = "csi", params(("token" = String, Path)), request_body = SurveyAnswer,
    responses((status = 201, body = SurveyReceipt),
        (status = 404, description = "no such survey", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "answered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "an answer out of range, or the link has expired", body = Problem, content_type = "application/problem+json")))]
#[post("/surveys/{token}")]
pub async fn answer_survey(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: Json<SurveyAnswer>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Created().json(csi::answer(&state, &token, body.0).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The first local date (the dealer's zone).
    #[param(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// The last local date, inclusive: not before `from`, at most 366 days in all.
    #[param(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// How to group the responses; default `section`.
    pub by: Option<CsiGrouping>,
}

/// The analysis of follow-ups (周期性的对回访进行分析) over local dates
/// `from..=to`: CSI and response counts overall and by section, advisor,
/// technician or month; quick SMS ratings apart; the share of delivered
/// orders followed up within 3 days; cases by category with the mean time
/// to resolve. A network admin also gets every dealer, ranked by CSI
/// (`dealers`, empty for other roles). Managers, the customer centre, the
/// dealer's admin and the brand.
#[utoipa::path(operation_id = "getCsiReport", tag = "csi", params(ReportParams), security(("bearer" = [])),
    responses((status = 200, body = CsiReport),
        (status = 422, description = "a date missing or out of range: `to` before `from`, or more than 366 days", body = Problem, content_type = "application/problem+json")))]
#[get("/csi")]
pub async fn report(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<ReportParams>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let by = q.by.unwrap_or(CsiGrouping::Section);
    Ok(HttpResponse::Ok().json(csi_report::report(&state.db, &actor, q.from, q.to, by).await?))
}
