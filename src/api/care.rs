//! /api/v1/care: the outbox as staff see it, the dealer's sending rules and
//! suppression list, and what providers send back (receipts, SMS replies).

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{AccessPoint, Json, Query, parse_json};
use crate::auth::Actor;
use crate::care::inbound::{self, InboundAnswer, InboundSms, Suppression};
use crate::care::outbox::{self, Filter, MessageView};
use crate::care::planner::{self, CareCalendar, RunReport};
use crate::care::receipts::{self, Receipt, ReceiptAnswer};
use crate::care::settings::CareSettings;
use crate::care::webhook::SIGNATURE_HEADER;
use crate::care::{aliyun, settings, tencent};
use crate::domain::care_plan::{CareKind, KindSettings};
use crate::domain::customer::Channel;
use crate::domain::message::MessageKind;
use crate::domain::outbox::MessageState;
use crate::domain::privacy::AccessAction;
use crate::error::{AppError, AppResult, Problem};
use crate::services::privacy::Looker;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageParams {
    pub customer_id: Option<Uuid>,
    pub kind: Option<MessageKind>,
    pub state: Option<MessageState>,
    /// Written at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Written before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// The dealer's outbox messages, newest first (at most 200), each with every
/// attempt to deliver it (staff).
#[utoipa::path(operation_id = "listCareMessages", tag = "care", params(MessageParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<MessageView>)))]
#[get("/care/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    actor: Actor,
    point: AccessPoint,
    params: Query<MessageParams>,
) -> AppResult<HttpResponse> {
    let p = params.0;
    let f = Filter {
        customer_id: p.customer_id,
        kind: p.kind,
        state: p.state,
        from: p.from,
        to: p.to,
    };
    let list = outbox::list(&state.db, &actor, f).await?;
    Looker::of(&state, &actor, point.0)
        .saw_in(AccessAction::Search, &list)
        .await;
    Ok(HttpResponse::Ok().json(list))
}

/// Sends a dead, failed or unknown message again (managers).
#[utoipa::path(operation_id = "retryCareMessage", tag = "care", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 202, body = ReceiptAnswer),
        (status = 409, description = "the message is not dead, failed or unknown", body = Problem)))]
#[post("/care/messages/{id}/retry")]
pub async fn retry_message(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let to = outbox::retry(&state, &actor, id).await?;
    Ok(HttpResponse::Accepted().json(ReceiptAnswer {
        message_id: id,
        state: to,
    }))
}

/// A provider's delivery receipt, signed like our webhook calls
/// (`X-Servicelane-Signature: sha256=<hex HMAC-SHA256 of the body>`).
/// Idempotent; a message's state only moves forward.
#[utoipa::path(operation_id = "postCareReceipt", tag = "care", request_body = Receipt,
    params(("channel" = Channel, Path), ("X-Servicelane-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body>")),
    responses((status = 200, body = ReceiptAnswer),
        (status = 401, description = "the signature is missing or wrong", body = Problem)))]
#[post("/care/receipts/{channel}")]
pub async fn receipt(
    state: web::Data<AppState>,
    req: HttpRequest,
    channel: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let channel: Channel = channel.parse().map_err(|_| AppError::NotFound)?;
    signed(&state, &req, channel, &body)?;
    let r: Receipt = parse_json(&body)?;
    Ok(HttpResponse::Ok().json(receipts::apply_receipt(&state, channel, r).await?))
}

/// 401 unless the body carries the channel's webhook signature.
fn signed(state: &AppState, req: &HttpRequest, channel: Channel, body: &[u8]) -> AppResult<()> {
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !receipts::receipt_signed(state, channel, body, signature) {
        return Err(AppError::Unauthorized("the signature is missing or wrong"));
    }
    Ok(())
}

/// An SMS a customer sent, forwarded by the SMS gateway and signed like our
/// webhook calls. `TD`, `退订`, `STOP` or `UNSUBSCRIBE` opts the number out of SMS.
#[utoipa::path(operation_id = "postInboundSms", tag = "care", request_body = InboundSms,
    params(("X-Servicelane-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the body>")),
    responses((status = 200, body = InboundAnswer),
        (status = 401, description = "the signature is missing or wrong", body = Problem)))]
#[post("/care/inbound/sms")]
pub async fn inbound_sms(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    signed(&state, &req, Channel::Sms, &body)?;
    let sms: InboundSms = parse_json(&body)?;
    Ok(HttpResponse::Ok().json(inbound::receive(&state, sms).await?))
}

/// The dealer's care settings: the sending window, the marketing cap, and
/// how the planner plans each kind (staff).
#[utoipa::path(operation_id = "getCareSettings", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = CareSettings)))]
#[get("/care/settings")]
pub async fn get_settings(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(settings::get(&state.db, &actor).await?))
}

/// Replaces the dealer's care settings (managers); `kinds` left out keeps
/// the planner's settings as they are.
#[utoipa::path(operation_id = "putCareSettings", tag = "care", request_body = CareSettings, security(("bearer" = [])),
    responses((status = 200, body = CareSettings)))]
#[put("/care/settings")]
pub async fn put_settings(
    state: web::Data<AppState>,
    actor: Actor,
    body: Json<CareSettings>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let saved = settings::put(&state.db, &state.templates, &actor, body.0, now).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Whether a planned kind is on.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindSwitch {
    pub enabled: bool,
}

/// Pauses or resumes one kind of planned message (managers); answers the
/// kind's settings. Messages already planned stay planned.
#[utoipa::path(operation_id = "putCareKind", tag = "care", request_body = KindSwitch,
    params(("kind" = CareKind, Path)), security(("bearer" = [])),
    responses((status = 200, body = KindSettings), (status = 404, description = "no such kind", body = Problem, content_type = "application/problem+json")))]
#[put("/care/kinds/{kind}")]
pub async fn put_kind(
    state: web::Data<AppState>,
    actor: Actor,
    kind: web::Path<CareKind>,
    body: Json<KindSwitch>,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let k = settings::set_kind(&state.db, &actor, *kind, body.0.enabled, now).await?;
    Ok(HttpResponse::Ok().json(k))
}

/// Plans the caller's dealer now (managers): the days not planned yet and
/// today, again. Safe to call any number of times at once, from any
/// instance: what is planned already is not written twice.
#[utoipa::path(operation_id = "runCarePlanner", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = RunReport)))]
#[post("/care/runs")]
pub async fn run_planner(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(planner::run_now(&state, &actor).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CalendarParams {
    /// The year, 1900 to 2200.
    #[param(minimum = 1900, maximum = 2200)]
    pub year: i32,
}

/// The holidays of a year with their dates, and which the dealer greets on (staff).
#[utoipa::path(operation_id = "getCareCalendar", tag = "care", params(CalendarParams), security(("bearer" = [])),
    responses((status = 200, body = CareCalendar)))]
#[get("/care/calendar")]
pub async fn calendar(
    state: web::Data<AppState>,
    actor: Actor,
    q: Query<CalendarParams>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(planner::calendar(&state.db, &actor, q.0.year).await?))
}

/// Addresses the dealer no longer sends to (hard bounces, dead numbers), newest first (staff).
#[utoipa::path(operation_id = "listSuppressions", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = Vec<Suppression>)))]
#[get("/care/suppressions")]
pub async fn list_suppressions(
    state: web::Data<AppState>,
    actor: Actor,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(inbound::suppressions(&state.db, &actor).await?))
}

/// Takes an address off the suppression list (managers).
#[utoipa::path(operation_id = "deleteSuppression", tag = "care", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204, description = "taken off the list")))]
#[delete("/care/suppressions/{id}")]
pub async fn delete_suppression(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    inbound::unsuppress(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Aliyun SMS delivery reports (SmsReport over HTTP), at the URL given to
/// Aliyun with its secret token; unknown messages are skipped.
#[utoipa::path(operation_id = "postAliyunSmsReports", tag = "care", request_body = Vec<aliyun::Report>,
    params(("token" = String, Path, description = "SERVICELANE__ALIYUN__REPORT_TOKEN")),
    responses((status = 200, body = aliyun::ReportAnswer)))]
#[post("/care/reports/aliyun/{token}")]
pub async fn aliyun_reports(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: Json<Vec<aliyun::Report>>,
) -> AppResult<HttpResponse> {
    let applied = receipts::aliyun(&state, &token, body.0).await?;
    Ok(HttpResponse::Ok().json(aliyun::ReportAnswer {
        code: 0,
        msg: format!("成功 ({applied})"),
    }))
}

/// Tencent Cloud SMS status callbacks, at the URL given to Tencent with its
/// secret token; unknown messages are skipped.
#[utoipa::path(operation_id = "postTencentSmsReports", tag = "care", request_body = Vec<tencent::Report>,
    params(("token" = String, Path, description = "SERVICELANE__TENCENT__REPORT_TOKEN")),
    responses((status = 200, body = tencent::ReportAnswer)))]
#[post("/care/reports/tencent/{token}")]
pub async fn tencent_reports(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: Json<Vec<tencent::Report>>,
) -> AppResult<HttpResponse> {
    let applied = receipts::tencent(&state, &token, body.0).await?;
    Ok(HttpResponse::Ok().json(tencent::ReportAnswer {
        result: 0,
        errmsg: format!("OK ({applied})"),
    }))
}

/// WeChat's address check for its message push: the signed `echostr` is
/// echoed back (text/plain).
#[utoipa::path(operation_id = "checkWechatPush", tag = "care", params(receipts::WechatSignature),
    responses((status = 200, description = "the echostr", content_type = "text/plain", body = String),
        (status = 401, description = "the signature is missing or wrong", body = Problem)))]
#[get("/care/reports/wechat")]
pub async fn wechat_check(
    state: web::Data<AppState>,
    q: Query<receipts::WechatSignature>,
) -> AppResult<HttpResponse> {
    if !receipts::wechat_signed(&state, &q.0) {
        return Err(AppError::Unauthorized("the signature is missing or wrong"));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(q.0.echostr.unwrap_or_default()))
}

/// WeChat's message push (JSON form): subscribe-message delivery events
/// settle the messages they name; other events are taken and ignored.
#[utoipa::path(operation_id = "postWechatPush", tag = "care", params(receipts::WechatSignature),
    request_body = Object,
    responses((status = 200, description = "`success`", content_type = "text/plain", body = String),
        (status = 401, description = "the signature is missing or wrong", body = Problem)))]
#[post("/care/reports/wechat")]
pub async fn wechat_push(
    state: web::Data<AppState>,
    q: Query<receipts::WechatSignature>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    if !receipts::wechat_signed(&state, &q.0) {
        return Err(AppError::Unauthorized("the signature is missing or wrong"));
    }
    let event: serde_json::Value = parse_json(&body)?;
    receipts::wechat(&state, event).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("success"))
}
