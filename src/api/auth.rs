//! /api/v1/auth/* and /api/v1/me

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::Json;
use crate::auth::{Actor, ClientAddr};
use crate::error::{AppResult, Problem};
use crate::services::auth::{self, TokenPair};
use crate::services::dealers::{self, Me};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "DEMO")]
    pub dealer_code: String,
    #[schema(example = "advisor")]
    pub username: String,
    #[schema(example = "servicelane")]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    #[schema(example = "DEMO")]
    pub dealer_code: String,
    #[schema(example = "13800000001")]
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpVerify {
    #[schema(example = "DEMO")]
    pub dealer_code: String,
    #[schema(example = "13800000001")]
    pub phone: String,
    #[schema(example = "123456")]
    pub code: String,
}

/// Staff login with dealer code, username and password.
#[utoipa::path(operation_id = "login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair),
        (status = 401, description = "wrong credentials (the same answer whatever was wrong)", body = Problem),
        (status = 429, description = "too many failures; see Retry-After", body = Problem),
        (status = 503, description = "no password-hashing slot came free in time; see Retry-After", body = Problem)))]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let tokens = auth::login(&state, &b.dealer_code, &b.username, b.password, client).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Rotates a refresh token. Presenting an already-rotated token revokes the whole session family.
#[utoipa::path(operation_id = "refreshTokens", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair),
        (status = 401, description = "the refresh token is unknown, expired, revoked or was used before (the family is then revoked)", body = Problem)))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(auth::refresh(&state, &body.0.refresh_token).await?))
}

/// Ends the session of a refresh token.
#[utoipa::path(operation_id = "logout", tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    auth::logout(&state, &body.0.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a 6-digit login code by SMS. Answers 202 whether or not the phone is known.
#[utoipa::path(operation_id = "requestOtp", tag = "auth", request_body = OtpRequest,
    responses((status = 202, body = OtpAccepted)))]
#[post("/auth/otp")]
pub async fn otp(state: web::Data<AppState>, body: Json<OtpRequest>) -> AppResult<HttpResponse> {
    auth::request_otp(&state, &body.0.dealer_code, &body.0.phone).await?;
    Ok(HttpResponse::Accepted().json(OtpAccepted {
        status: OtpStatus::SentIfKnown,
    }))
}

/// The answer to a code request: the same whether or not the phone is known.
#[derive(Debug, Serialize, ToSchema)]
pub struct OtpAccepted {
    pub status: OtpStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OtpStatus {
    /// A code was sent if the phone belongs to a customer of the dealer.
    SentIfKnown,
}

/// Exchanges a code for customer tokens. Codes expire in 5 minutes, are single-use and allow 5 tries.
#[utoipa::path(operation_id = "verifyOtp", tag = "auth", request_body = OtpVerify,
    responses((status = 200, body = TokenPair),
        (status = 401, description = "the code is wrong, used or expired", body = Problem),
        (status = 429, description = "too many code checks for this phone today; see Retry-After", body = Problem)))]
#[post("/auth/otp/verify")]
pub async fn otp_verify(
    state: web::Data<AppState>,
    body: Json<OtpVerify>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    Ok(HttpResponse::Ok().json(auth::verify_otp(&state, &b.dealer_code, &b.phone, &b.code).await?))
}

/// Who the token is.
#[utoipa::path(operation_id = "getMe", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(dealers::me(&state.db, &actor).await?))
}
