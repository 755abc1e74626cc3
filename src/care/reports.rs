//! Delivery reports from the templated SMS operators and WeChat, in their
//! own shapes, turned into our receipts (`outbox::apply_receipt`). The SMS
//! operators do not sign their pushes: each is given a URL with a secret
//! token. WeChat signs its message push with the configured push token.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::care::outbox::{Receipt, apply_receipt};
use crate::care::templated::beijing_time;
use crate::care::{aliyun, tencent};
use crate::domain::customer::Channel;
use crate::domain::outbox::ReceiptStatus;
use crate::entities::outbox_message;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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
