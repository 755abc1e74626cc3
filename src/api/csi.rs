//! /api/v1/csi: customer satisfaction (the questionnaire so far).

use actix_web::{HttpResponse, get, put, web};

use super::extract::Json;
use crate::auth::Actor;
use crate::domain::csi::Questionnaire;
use crate::error::AppResult;
use crate::services::csi::{self, QuestionnaireView};
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
