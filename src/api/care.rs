//! /api/v1/care: the outbox as staff see it, and providers' delivery receipts.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{Query, parse_json};
use crate::auth::Actor;
use crate::care::outbox::{self, Filter, MessageView, Receipt, ReceiptAnswer};
use crate::care::sms::SIGNATURE_HEADER;
use crate::domain::customer::Channel;
use crate::domain::message::MessageKind;
use crate::domain::outbox::MessageState;
use crate::error::{AppError, AppResult, Problem};
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
    Ok(HttpResponse::Ok().json(outbox::list(&state.db, &actor, f).await?))
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
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !outbox::receipt_signed(&state, channel, &body, signature) {
        return Err(AppError::Unauthorized(
            "the receipt's signature is missing or wrong",
        ));
    }
    let r: Receipt = parse_json(&body)?;
    Ok(HttpResponse::Ok().json(outbox::apply_receipt(&state, channel, r).await?))
}
