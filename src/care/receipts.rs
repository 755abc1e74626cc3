//! Receipts: what providers tell us became of a message. Our own shape
//! (`POST /care/receipts/{channel}`, signed like our webhook calls) and the
//! operators' shapes (Aliyun and Tencent reports, WeChat's delivery events),
//! which are turned into ours. States only move forward; a failure falls
//! back down the chain; a permanent one suppresses the address. The SMS
//! operators do not sign their pushes: each is given a URL with a secret
//! token. WeChat signs its message push with the configured push token.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::care::outbox::{redact, wake};
use crate::care::templated::beijing_time;
use crate::care::{aliyun, tencent};
use crate::domain::customer::Channel;
use crate::domain::outbox::{Event, MessageState, ReceiptStatus, next};
use crate::entities::{outbox_message, suppression};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A provider's delivery receipt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Our message id (the `Idempotency-Key` the provider was given).
    pub message_id: Uuid,
    pub status: ReceiptStatus,
    /// When the provider saw it happen.
    pub at: DateTime<Utc>,
    /// The provider's reason for a failure.
    #[schema(max_length = 500)]
    pub error: Option<String>,
    /// The address will never work (a hard bounce, a dead number): it goes
    /// on the dealer's suppression list for the channel.
    #[serde(default)]
    pub permanent: bool,
}

/// How far ahead of our clock a receipt's `at` may be (the provider's clock may run fast).
pub const RECEIPT_SKEW_MINUTES: i64 = 5;

/// Where a receipt left the message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptAnswer {
    pub message_id: Uuid,
    pub state: MessageState,
}

/// Applies a receipt for a message of `channel`. Idempotent, and states only
/// move forward: a receipt for a message already settled changes nothing and
/// answers where it stands. An unknown id is 404.
pub async fn apply_receipt(
    state: &AppState,
    channel: Channel,
    r: Receipt,
) -> AppResult<ReceiptAnswer> {
    let now = state.clock.now();
    if r.error.as_ref().is_some_and(|e| e.chars().count() > 500) {
        return Err(AppError::field("error", "at most 500 characters"));
    }
    if r.at > now + chrono::Duration::minutes(RECEIPT_SKEW_MINUTES) {
        return Err(AppError::field("at", "must not be in the future"));
    }
    // a receipt may race the dispatcher's own settlement: read, then move
    // only from the state read, and read again if it moved meanwhile
    for _ in 0..3 {
        let txn = state.db.begin().await?;
        let m = crate::services::lock_row::<outbox_message::Entity>(
            &txn,
            outbox_message::Column::Id,
            outbox_message::Column::Fence,
            r.message_id,
        )
        .await?
        .filter(|m| m.channel == channel)
        .ok_or(AppError::NotFound)?;
        if r.status == ReceiptStatus::Failed && r.permanent {
            suppress_address(&txn, &m, r.error.as_deref(), now).await?;
        }
        let Some(to) = next(m.state, Event::Receipt(r.status)) else {
            txn.commit().await?;
            return Ok(ReceiptAnswer {
                message_id: m.id,
                state: m.state,
            });
        };
        let error = match r.status {
            ReceiptStatus::Failed => Some(
                r.error
                    .clone()
                    .unwrap_or_else(|| "the provider reported a failure".into()),
            ),
            ReceiptStatus::Delivered => m.last_error.clone(),
        };
        // the provider's time, but never one before the message existed
        // (nor after now; not `clamp`: it panics when another instance
        // whose clock runs ahead wrote the message, created_at > now)
        let settled = r.at.min(now).max(m.created_at);
        let mut u = outbox_message::Entity::update_many()
            .col_expr(outbox_message::Column::State, Expr::value(to.as_str()))
            .col_expr(outbox_message::Column::LastError, Expr::value(error))
            // a later writer with the old fence (a dispatcher mid-call) is fenced off
            .col_expr(outbox_message::Column::Fence, Expr::value(m.fence + 1))
            .col_expr(
                outbox_message::Column::LeaseOwner,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                outbox_message::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(outbox_message::Column::SettledAt, Expr::value(settled))
            .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now));
        // the receipt may settle a row the dispatcher never got to record
        // (it overtook the provider's answer, which is now fenced off, or
        // the row was unknown): do what that record would have done
        if to == MessageState::Delivered && m.sent_at.is_none() {
            // delivered means sent: the marketing cap and the lag count it
            u = u.col_expr(outbox_message::Column::SentAt, Expr::value(settled));
        }
        // a login code's text goes once it is settled
        u = redact(u, &m);
        let res = u
            .filter(outbox_message::Column::Id.eq(m.id))
            .filter(outbox_message::Column::State.eq(m.state))
            .filter(outbox_message::Column::Fence.eq(m.fence))
            .exec(&txn)
            .await?;
        if res.rows_affected == 1 {
            // it did not arrive: the next channel of the chain carries it
            let child = if to == MessageState::Failed {
                crate::care::route::fall_back(&txn, &m, now).await?
            } else {
                None
            };
            txn.commit().await?;
            if child.is_some() {
                wake(state);
            }
            return Ok(ReceiptAnswer {
                message_id: m.id,
                state: to,
            });
        }
        txn.rollback().await?;
    }
    Err(AppError::ChangedMeanwhile(
        "the message changed meanwhile; send the receipt again".into(),
    ))
}

/// Puts the message's address on the dealer's suppression list for its
/// channel (once: a second report changes nothing).
async fn suppress_address(
    txn: &impl ConnectionTrait,
    m: &outbox_message::Model,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    suppression::Entity::insert(suppression::ActiveModel {
        id: Set(Uuid::now_v7()),
        dealer_id: Set(m.dealer_id),
        channel: Set(m.channel),
        address: Set(m.recipient.clone()),
        reason: Set(Some(
            reason
                .unwrap_or("the provider reported the address dead")
                .chars()
                .take(500)
                .collect(),
        )),
        message_id: Set(Some(m.id)),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            suppression::Column::DealerId,
            suppression::Column::Channel,
            suppression::Column::Address,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC of `body` under the
/// channel's webhook secret. No secret configured: nothing is believed.
pub fn receipt_signed(state: &AppState, channel: Channel, body: &[u8], signature: &str) -> bool {
    use secrecy::ExposeSecret;
    let secret = match channel {
        Channel::Sms => state.settings.sms.webhook_secret.as_ref(),
        Channel::App => state.settings.push.webhook_secret.as_ref(),
        Channel::Email | Channel::Wechat => None,
    };
    match secret {
        Some(s) if !s.expose_secret().is_empty() => {
            let expected = crate::care::webhook::signature(s.expose_secret().as_bytes(), body);
            crate::auth::tokens::same_digest(&expected, signature)
        }
        _ => false,
    }
}

/// 404 unless `token` is the configured one (unset: every report is refused).
fn check_token(configured: Option<&SecretString>, token: &str) -> AppResult<()> {
    match configured {
        Some(t)
            if !t.expose_secret().is_empty()
                && crate::auth::tokens::same_digest(t.expose_secret(), token) =>
        {
            Ok(())
        }
        _ => Err(AppError::NotFound),
    }
}

fn error_of(code: Option<&str>, text: Option<&str>) -> Option<String> {
    let e = [code, text]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    (!e.is_empty()).then(|| e.chars().take(500).collect())
}

/// Applies one report; a report for a message we do not know is skipped
/// (the operator may report messages sent by another system on its account).
async fn apply(
    state: &AppState,
    message_id: Option<Uuid>,
    delivered: bool,
    at: Option<DateTime<Utc>>,
    error: Option<String>,
) -> AppResult<bool> {
    apply_on(state, Channel::Sms, message_id, delivered, at, error).await
}

async fn apply_on(
    state: &AppState,
    channel: Channel,
    message_id: Option<Uuid>,
    delivered: bool,
    at: Option<DateTime<Utc>>,
    error: Option<String>,
) -> AppResult<bool> {
    let Some(message_id) = message_id else {
        return Ok(false);
    };
    let now = state.clock.now();
    let receipt = Receipt {
        message_id,
        status: if delivered {
            ReceiptStatus::Delivered
        } else {
            ReceiptStatus::Failed
        },
        at: at.unwrap_or(now).min(now),
        error: if delivered { None } else { error },
        permanent: false,
    };
    match apply_receipt(state, channel, receipt).await {
        Ok(_) => Ok(true),
        Err(AppError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Aliyun's SmsReport push: each report names our message (`out_id`).
/// Answers how many were applied.
pub async fn aliyun(
    state: &AppState,
    token: &str,
    reports: Vec<aliyun::Report>,
) -> AppResult<usize> {
    check_token(state.settings.aliyun.report_token.as_ref(), token)?;
    let mut applied = 0;
    for r in reports {
        let id = r.out_id.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        let at = r.report_time.as_deref().and_then(beijing_time);
        let error = error_of(r.err_code.as_deref(), r.err_msg.as_deref());
        if apply(state, id, r.success, at, error).await? {
            applied += 1;
        }
    }
    Ok(applied)
}

/// Tencent's status callback: each report names the send's `SerialNo`
/// (`sid`), which the outbox row keeps as its provider id.
pub async fn tencent(
    state: &AppState,
    token: &str,
    reports: Vec<tencent::Report>,
) -> AppResult<usize> {
    check_token(state.settings.tencent.report_token.as_ref(), token)?;
    let mut applied = 0;
    for r in reports {
        let id = outbox_message::Entity::find()
            .filter(outbox_message::Column::Channel.eq(Channel::Sms))
            .filter(outbox_message::Column::ProviderId.eq(r.sid.as_str()))
            .one(&state.db)
            .await?
            .map(|m| m.id);
        let at = r.user_receive_time.as_deref().and_then(beijing_time);
        let error = error_of(r.errmsg.as_deref(), r.description.as_deref());
        if apply(state, id, r.report_status == "SUCCESS", at, error).await? {
            applied += 1;
        }
    }
    Ok(applied)
}

/// Whether WeChat's message-push signature holds: the hex SHA-1 of the
/// push token, timestamp and nonce, sorted and joined.
pub fn wechat_signed(state: &AppState, q: &WechatSignature) -> bool {
    use sha1::{Digest, Sha1};
    let Some(token) = state.settings.wechat.push_token.as_ref() else {
        return false;
    };
    if token.expose_secret().is_empty() {
        return false;
    }
    let mut parts = [
        token.expose_secret(),
        q.timestamp.as_str(),
        q.nonce.as_str(),
    ];
    parts.sort_unstable();
    let expected = hex::encode(Sha1::digest(parts.concat().as_bytes()));
    crate::auth::tokens::same_digest(&expected, &q.signature.to_ascii_lowercase())
}

/// The query WeChat signs its pushes with.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct WechatSignature {
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
    /// Only on the address check (GET): echoed back.
    pub echostr: Option<String>,
}

/// WeChat's delivery events for subscribe messages
/// (`subscribe_msg_sent_event`), in the JSON form of its message push. Each
/// names the `MsgID` the send was answered with, kept as the provider id.
pub async fn wechat(state: &AppState, event: serde_json::Value) -> AppResult<usize> {
    if event["Event"] != "subscribe_msg_sent_event" {
        return Ok(0);
    }
    let list = &event["SubscribeMsgSentEvent"]["List"];
    let items: Vec<&serde_json::Value> = match list {
        serde_json::Value::Array(a) => a.iter().collect(),
        serde_json::Value::Object(_) => vec![list],
        _ => vec![],
    };
    let at = event["CreateTime"]
        .as_i64()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    let mut applied = 0;
    for item in items {
        let msg_id = match &item["MsgID"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let id = outbox_message::Entity::find()
            .filter(outbox_message::Column::Channel.eq(Channel::Wechat))
            .filter(outbox_message::Column::ProviderId.eq(msg_id.as_str()))
            .one(&state.db)
            .await?
            .map(|m| m.id);
        let code = match &item["ErrorCode"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let error = error_of(Some(&code), item["ErrorStatus"].as_str());
        if apply_on(state, Channel::Wechat, id, code == "0", at, error).await? {
            applied += 1;
        }
    }
    Ok(applied)
}
