//! SMS through an operator that sends only approved templates (Aliyun,
//! Tencent Cloud): the message's kind picks the dealer's template, our
//! values fill its variables, and the rendered text stays in the outbox row
//! as the record of what was meant.

use std::time::Duration;

use uuid::Uuid;

use crate::care::outbox::Params;
use crate::care::provider_templates::{self, ProviderTemplate};
use crate::care::webhook::Outcome;
use crate::care::{aliyun, tencent};
use crate::config::{Settings, SmsProviderKind};
use crate::domain::care::TemplateChannel;
use crate::entities::outbox_message;
use crate::state::AppState;

/// One templated SMS, ready for a provider.
#[derive(Debug, Clone)]
pub struct TemplateSms {
    /// Our message id: Aliyun's `OutId`, Tencent's `SessionContext`.
    pub message_id: Uuid,
    /// E.164.
    pub phone: String,
    pub sign_name: String,
    pub template_code: String,
    /// (variable, value), in the template's order.
    pub vars: Vec<(String, String)>,
}

/// The SMS operator the product sends through, when it is not the webhook.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    Aliyun(aliyun::Aliyun),
    Tencent(tencent::Tencent),
}

impl SmsProvider {
    /// The configured provider; `None` for the webhook.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Self>> {
        let timeout = Duration::from_secs(s.sms.timeout_secs);
        Ok(match s.care.sms_provider {
            SmsProviderKind::Webhook => None,
            SmsProviderKind::Aliyun => Some(SmsProvider::Aliyun(aliyun::Aliyun::new(
                &s.aliyun, timeout,
            )?)),
            SmsProviderKind::Tencent => Some(SmsProvider::Tencent(tencent::Tencent::new(
                &s.tencent, timeout,
            )?)),
        })
    }

    async fn send(&self, sms: &TemplateSms, now: chrono::DateTime<chrono::Utc>) -> Outcome {
        match self {
            SmsProvider::Aliyun(a) => a.send(sms, now).await,
            SmsProvider::Tencent(t) => t.send(sms, now).await,
        }
    }
}

/// The variables of `t` filled from `params`, ordered as the provider reads
/// them: numeric positions in number order, names alphabetically.
pub fn fill(t: &ProviderTemplate, params: &Params) -> Vec<(String, String)> {
    let values = params.to_json();
    let mut vars: Vec<(String, String)> = t
        .params
        .iter()
        .map(|(var, ours)| {
            let v = match &values[ours.as_str()] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (var.clone(), v)
        })
        .collect();
    vars.sort_by(
        |(a, _), (b, _)| match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
    );
    vars
}

/// Sends `m` through the provider with the dealer's template for its kind.
/// No template: failed here (the next channel of the chain carries it), with
/// the fix named.
pub async fn send(
    state: &AppState,
    provider: &SmsProvider,
    m: &outbox_message::Model,
    params: &Params,
) -> Outcome {
    let template = match provider_templates::find(
        &state.db,
        m.dealer_id,
        TemplateChannel::Sms,
        m.kind,
    )
    .await
    {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Outcome::Rejected {
                status: None,
                error: format!(
                    "no approved SMS template for {}: set one with PUT /api/v1/care/provider-templates/sms/{}",
                    m.kind, m.kind
                ),
            };
        }
        // the database is what failed: try again later
        Err(e) => {
            return Outcome::Retry {
                status: None,
                error: format!("reading the SMS template: {e}"),
                retry_after: None,
            };
        }
    };
    let Some(sign_name) = template.sign_name.clone() else {
        return Outcome::Rejected {
            status: None,
            error: format!(
                "the SMS template for {} has no signature (sign_name)",
                m.kind
            ),
        };
    };
    let sms = TemplateSms {
        message_id: m.id,
        phone: m.recipient.clone(),
        sign_name,
        template_code: template.template_code.clone(),
        vars: fill(&template, params),
    };
    provider.send(&sms, state.clock.now()).await
}

/// RFC 3986 percent-encoding as Aliyun's and Tencent's signatures read it:
/// letters, digits and `-_.~` stay, everything else is `%XY` (space is `%20`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A report's time in UTC: both operators write Beijing time,
/// `YYYY-MM-DD HH:MM:SS`. `None` if unreadable.
pub fn beijing_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let local = chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}
