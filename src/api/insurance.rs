//! /api/v1/insurance: insurance renewal handled by the dealer (代办保险业务):
//! the customer's quote request, the renewal leads, the outcome.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{AccessPoint, Json, Query};
use crate::auth::Actor;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::insurance::{
    self, LeadView, Leads, OutcomeInput, QuoteRequestInput, QuoteRequestView,
};
use crate::services::privacy::Looker;
use crate::state::AppState;

/// The customer answers the renewal reminder with "quote me" (the app):
/// the dealer quotes the renewal of the vehicle's `kinds` of policy for
/// their running terms (each needs its expiry on record). One request per
/// vehicle and term: asking again, or a retry, changes nothing and answers
/// 200 with the request as first made; 201 when something new was asked.
/// The customer's own vehicle only (another's is 404).
#[utoipa::path(operation_id = "createInsuranceQuoteRequest", tag = "insurance", request_body = QuoteRequestInput,
    security(("bearer" = [])),
    responses((status = 201, body = QuoteRequestView),
        (status = 200, description = "asked before: the request as it stands", body = QuoteRequestView),
        (status = 404, description = "no such vehicle of yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "no kinds, a kind twice, or a policy with no expiry on record", body = Problem, content_type = "application/problem+json")))]
#[post("/insurance/quote-requests")]
pub async fn request_quote(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<QuoteRequestInput>,
) -> AppResult<HttpResponse> {
    let (v, created) =
        insurance::request_quote(&state.db, &actor, body.0, state.clock.now()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadParams {
    /// The last expiry day listed (the dealer's zone), today to a year
    /// ahead; default today + 60 days.
    #[param(value_type = Option<String>, format = Date)]
    pub due_before: Option<NaiveDate>,
}

/// The renewal leads (续保线索): each compulsory or commercial policy term
/// of the dealer's vehicles that expires from today to `due_before`, with
/// the customer, whether the care planner's reminder went, whether a quote
/// was asked, and the outcome. A term renewed with the dealer leaves the
/// list (the vehicle's expiry moved on). Advisors, the customer centre, the
/// managers, the dealer's admin.
#[utoipa::path(operation_id = "listInsuranceLeads", tag = "insurance", params(LeadParams),
    security(("bearer" = [])),
    responses((status = 200, body = Leads),
        (status = 422, description = "`due_before` before today or more than a year ahead", body = Problem, content_type = "application/problem+json")))]
#[get("/insurance/leads")]
pub async fn leads(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    q: Query<LeadParams>,
) -> AppResult<HttpResponse> {
    let v = insurance::leads(&state.db, &actor, q.0.due_before, state.clock.now()).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &v)
        .await;
    Ok(HttpResponse::Ok().json(v))
}

/// Records how the renewal of a vehicle's policy terms ended:
/// `renewed_with_us` (insurer, and per term the premium and the new
/// expiry, which becomes the vehicle's expiry in the same transaction),
/// `renewed_elsewhere` or `not_interested`. One outcome per term: the same
/// outcome again answers 200 and changes nothing (a retry); a different
/// one is 409, as is a term that is not the vehicle's running one.
#[utoipa::path(operation_id = "recordInsuranceOutcome", tag = "insurance", request_body = OutcomeInput,
    security(("bearer" = [])),
    responses((status = 201, body = Vec<LeadView>),
        (status = 200, description = "recorded before, the same: the terms as they stand", body = Vec<LeadView>),
        (status = 409, description = "another outcome is recorded for a term, or the term is no longer the vehicle's running one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a field out of bounds (premium, new expiry, insurer…)", body = Problem, content_type = "application/problem+json")))]
#[post("/insurance/outcomes")]
pub async fn record_outcome(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<OutcomeInput>,
) -> AppResult<HttpResponse> {
    let (v, changed) =
        insurance::record_outcome(&state.db, &actor, body.0, state.clock.now()).await?;
    let status = if changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(v))
}
