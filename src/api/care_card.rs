//! The customer care card (《客户关怀卡》): `/api/v1/me/care-card` for the
//! customer's app, `/api/v1/vehicles/{id}/care-card` for the staff who hand
//! it over at delivery (JSON, or a printable page), and the dealer's
//! numbers on it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::contract::headers::IfMatchOptionalHeader;
use super::extract::{AccessPoint, IfMatch, Json, Query};
use super::with_etag;
use crate::auth::Actor;
use crate::domain::care_card::CareCardFormat;
use crate::domain::customer::Locale;
use crate::domain::privacy::AccessAction;
use crate::error::{AppResult, Problem};
use crate::services::care_card::{self, CareCardSettings, CareCardSettingsInput, CareCards};
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CardParams {
    /// `json` (default) or `html` (a printable page).
    pub format: Option<CareCardFormat>,
    /// The page's language, `zh-CN` or `en`; else `Accept-Language`, else zh-CN.
    pub locale: Option<Locale>,
}

/// `?locale=`, else the first language of `Accept-Language` we have, else zh-CN.
fn locale_of(req: &HttpRequest, asked: Option<Locale>) -> Locale {
    if let Some(l) = asked {
        return l;
    }
    let header = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    for part in header.split(',') {
        let tag = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("zh") {
            return Locale::ZhCn;
        }
        if tag.starts_with("en") {
            return Locale::En;
        }
    }
    Locale::ZhCn
}

fn answer(
    state: &AppState,
    req: &HttpRequest,
    q: CardParams,
    cards: CareCards,
) -> AppResult<HttpResponse> {
    match q.format.unwrap_or(CareCardFormat::Json) {
        CareCardFormat::Json => Ok(HttpResponse::Ok().json(cards)),
        CareCardFormat::Html => {
            let page = care_card::render(&state.templates, &cards, locale_of(req, q.locale))?;
            Ok(HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                // a printed page: its own styles, nothing else loads or runs
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ))
                .body(page))
        }
    }
}

/// The customer's care cards (客户关怀卡), one per vehicle: the dealer's
/// service hotline and 24-hour rescue number, the advisor, the next service
/// (date and odometer), the annual inspection and insurance dates, the
/// warranty end, open bookings and open repair orders. Customers only.
#[utoipa::path(operation_id = "getMyCareCard", tag = "care-card", params(CardParams),
    security(("bearer" = [])),
    responses((status = 200, description = "the cards (`format=json`, the default), or a printable page (`format=html`)", content(
            (CareCards = "application/json"),
            (String = "text/html")))))]
#[get("/me/care-card")]
pub async fn mine(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    q: Query<CardParams>,
) -> AppResult<HttpResponse> {
    let cards = care_card::mine(&state.db, &state.settings, &actor, state.clock.now()).await?;
    answer(&state, &req, q.0, cards)
}

/// One vehicle's care card, for the staff who hand it over at delivery
/// (`format=html` to print) and for its owner.
#[utoipa::path(operation_id = "getVehicleCareCard", tag = "care-card", params(("id" = Uuid, Path), CardParams),
    security(("bearer" = [])),
    responses((status = 200, description = "the cards (`format=json`, the default), or a printable page (`format=html`)", content(
            (CareCards = "application/json"),
            (String = "text/html")))))]
#[get("/vehicles/{id}/care-card")]
pub async fn of_vehicle(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    id: web::Path<Uuid>,
    q: Query<CardParams>,
) -> AppResult<HttpResponse> {
    let cards = care_card::of_vehicle(
        &state.db,
        &state.settings,
        &actor,
        id.into_inner(),
        state.clock.now(),
    )
    .await?;
    Looker::of(&state, &actor, AccessPoint::of(&req).0)
        .saw_in(AccessAction::Read, &cards)
        .await;
    answer(&state, &req, q.0, cards)
}

/// The dealer's numbers printed on the care card (any member of staff).
#[utoipa::path(operation_id = "getCareCardSettings", tag = "care-card", security(("bearer" = [])),
    responses((status = 200, body = CareCardSettings, headers(("ETag" = String)))))]
#[get("/care-card/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let v = care_card::get_settings(&state.db, &actor).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}

/// Sets the service hotline and the 24-hour rescue number (the service
/// manager, the dealer's admin). With `If-Match`, 412 when changed since.
#[utoipa::path(operation_id = "putCareCardSettings", tag = "care-card", request_body = CareCardSettingsInput,
    params(IfMatchOptionalHeader), security(("bearer" = [])),
    responses((status = 200, body = CareCardSettings, headers(("ETag" = String))),
        (status = 422, description = "a number that is not a phone number", body = Problem, content_type = "application/problem+json")))]
#[put("/care-card/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    if_match: IfMatch,
    body: Json<CareCardSettingsInput>,
) -> AppResult<HttpResponse> {
    let v =
        care_card::put_settings(&state.db, &actor, if_match.0, body.0, state.clock.now()).await?;
    Ok(with_etag(StatusCode::OK, v.version, v))
}
