//! Delivery reports from the templated SMS operators, in their own shapes,
//! turned into our receipts (`outbox::apply_receipt`). Neither operator signs
//! its pushes with our key: each is given a URL with a secret token.

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
    match apply_receipt(state, Channel::Sms, receipt).await {
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
