//! `/u/{token}`: one-click unsubscribe from an email (RFC 8058), no login.
//! A GET only shows a page with a button: link scanners and previews follow
//! links with GET, and must not unsubscribe anyone. The POST (the mail
//! client's one-click, or the page's button) withdraws the consent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::care::unsubscribe::{self as links, Subject};
use crate::domain::customer::{Channel, Purpose};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The body a mail client sends for RFC 8058 one-click (the page's button
/// sends it too). It is not required: an empty POST unsubscribes as well.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OneClick {
    #[serde(rename = "List-Unsubscribe", default)]
    #[schema(example = "One-Click")]
    pub list_unsubscribe: String,
}

/// The unsubscribe page: what the link withdraws, and a button that does it
/// (a POST). Answers 404 for a token we did not make.
#[utoipa::path(operation_id = "showUnsubscribe", tag = "care",
    params(("token" = String, Path, description = "the signed token from the email's link")),
    responses((status = 200, description = "a zh-CN/en page with a button", content_type = "text/html", body = String)))]
#[get("/u/{token}")]
pub async fn show(state: web::Data<AppState>, token: web::Path<String>) -> AppResult<HttpResponse> {
    let s = links::subject(&state.db, &state.tokens, &token).await?;
    page(&state, &s, false)
}

/// One-click unsubscribe: withdraws the consent the token names (source
/// `unsubscribe_link`). Idempotent: a second POST answers 200 as well.
#[utoipa::path(operation_id = "unsubscribe", tag = "care",
    params(("token" = String, Path, description = "the signed token from the email's link")),
    request_body(content = Option<OneClick>, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "unsubscribed: a zh-CN/en confirmation page", content_type = "text/html", body = String)))]
#[post("/u/{token}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> AppResult<HttpResponse> {
    // the body is not read: RFC 8058 clients send `List-Unsubscribe=One-Click`,
    // and what else arrives does not change what the signed link may do
    let (s, _) = links::unsubscribe(&state.db, &state.tokens, &token, state.clock.now()).await?;
    page(&state, &s, true)
}

fn page(state: &AppState, s: &Subject, done: bool) -> AppResult<HttpResponse> {
    let (purpose_zh, purpose_en) = match s.purpose {
        Purpose::Service => ("服务提醒", "service reminders"),
        Purpose::Marketing => ("营销与节日问候", "offers and greetings"),
    };
    let (channel_zh, channel_en) = match s.channel {
        Channel::Email => ("邮件", "email"),
        Channel::Sms => ("短信", "SMS"),
        Channel::App => ("APP推送", "app notifications"),
        Channel::Wechat => ("微信消息", "WeChat messages"),
    };
    let html = state
        .templates
        .page(
            "unsubscribe.html",
            minijinja::context! { done, purpose_zh, purpose_en, channel_zh, channel_en },
        )
        .map_err(AppError::Internal)?;
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("text/html; charset=utf-8")
        // the token is in the URL: keep it out of caches, referrers and indexes
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ))
        .body(html))
}
