//! The WeChat mini-program: login with a WeChat code, and the customer's
//! subscribe-message choices.

use actix_web::{HttpResponse, post, web};

use super::extract::Json;
use crate::auth::Actor;
use crate::error::{AppResult, Problem};
use crate::services::auth::TokenPair;
use crate::services::wechat::{self, SubscriptionChoice, Subscriptions, WechatLogin};
use crate::state::AppState;

/// Logs a mini-program user in with `wx.login`'s code. A first login binds
/// the WeChat account to the customer only with proof of the phone (`otp`
/// or `phone_code`); without it the answer is 403.
#[utoipa::path(operation_id = "loginWechat", tag = "auth", request_body = WechatLogin,
    responses((status = 200, body = TokenPair),
        (status = 401, description = "the WeChat code is invalid or used, or the SMS code is wrong", body = Problem),
        (status = 403, description = "not bound yet and no proof of the phone, or no customer has the phone", body = Problem),
        (status = 404, description = "WeChat login is not configured", body = Problem),
        (status = 503, description = "WeChat did not answer; try again", body = Problem)))]
#[post("/auth/wechat")]
pub async fn login(state: web::Data<AppState>, body: Json<WechatLogin>) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(wechat::login(&state, body.0).await?))
}

/// Records a `wx.requestSubscribeMessage` choice: each accept allows one
/// more message of the template; a reject withdraws the open ones (customers).
#[utoipa::path(operation_id = "chooseWechatSubscription", tag = "auth", request_body = SubscriptionChoice,
    security(("bearer" = [])), responses((status = 200, body = Subscriptions)))]
#[post("/me/wechat-subscriptions")]
pub async fn choose(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<SubscriptionChoice>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(wechat::choose(&state, &actor, body.0).await?))
}
