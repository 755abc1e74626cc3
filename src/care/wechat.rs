//! WeChat (微信) for a mini-program customer app: the login code exchange
//! (`code2session`), the phone-number grant, the access token every call
//! needs (fetched once and shared by every instance through the database,
//! refreshed before it expires), and subscribe messages
//! (`subscribeMessage.send`), each spending one grant the customer gave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use crate::care::outbox::Params;
use crate::care::provider_templates;
use crate::care::webhook::{Outcome, transport_failure};
use crate::config::WechatSettings;
use crate::domain::care::TemplateChannel;
use crate::entities::{outbox_message, provider_token, wechat_grant};
use crate::error::{AppError, AppResult};
use crate::services::lock_row;
use crate::state::AppState;

/// A token this close to its end is fetched anew.
const REFRESH_MARGIN_SECS: i64 = 300;

#[derive(Debug, Clone)]
pub struct Wechat {
    client: reqwest::Client,
    api_base: String,
    app_id: String,
    app_secret: SecretString,
    page: String,
    /// This instance's copy of the shared token.
    cached: Arc<Mutex<Option<CachedToken>>>,
}

/// An access token and when it ends.
type CachedToken = (String, DateTime<Utc>);

/// WeChat's answers share `errcode` / `errmsg`; the rest depends on the call.
#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    access_token: Option<String>,
    expires_in: Option<i64>,
    msgid: Option<serde_json::Value>,
    phone_info: Option<PhoneInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    pure_phone_number: String,
    country_code: String,
}

impl Wechat {
    /// The configured mini-program; `None` when no app id is set.
    pub fn new(s: &WechatSettings) -> anyhow::Result<Option<Self>> {
        let (Some(app_id), Some(secret)) = (&s.app_id, &s.app_secret) else {
            return Ok(None);
        };
        let timeout = Duration::from_secs(s.timeout_secs.max(1));
        Ok(Some(Wechat {
            client: reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .timeout(timeout)
                .build()?,
            api_base: s.api_base.trim_end_matches('/').to_string(),
            app_id: app_id.clone(),
            app_secret: secret.clone(),
            page: s.page.clone(),
            cached: Arc::default(),
        }))
    }

    fn token_name(&self) -> String {
        format!("wechat:{}", self.app_id)
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Answer, reqwest::Error> {
        self.client
            .get(format!("{}{path}", self.api_base))
            .query(query)
            .send()
            .await?
            .json()
            .await
    }

    /// The openid a mini-program login code stands for.
    pub async fn code2session(&self, code: &str) -> AppResult<String> {
        let a = self
            .get(
                "/sns/jscode2session",
                &[
                    ("appid", &self.app_id),
                    ("secret", self.app_secret.expose_secret()),
                    ("js_code", code),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "wechat code2session unreachable");
                AppError::Busy {
                    retry_after_secs: 5,
                }
            })?;
        match (a.errcode, a.openid) {
            (0, Some(openid)) if !openid.is_empty() => Ok(openid),
            // 40029 invalid code, 40163 code used, 40226 risky user, …
            _ => Err(AppError::Unauthorized(
                "the WeChat login code is invalid or used",
            )),
        }
    }

    /// The phone number a `getPhoneNumber` grant code stands for, E.164.
    pub async fn phone_number(&self, state: &AppState, phone_code: &str) -> AppResult<String> {
        let token = self.access_token(state).await.map_err(|e| {
            tracing::warn!(error = ?e, "wechat access token");
            AppError::Busy {
                retry_after_secs: 5,
            }
        })?;
        let a: Answer = self
            .client
            .post(format!(
                "{}/wxa/business/getuserphonenumber?access_token={token}",
                self.api_base
            ))
            .json(&serde_json::json!({ "code": phone_code }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|_| AppError::Busy {
                retry_after_secs: 5,
            })?
            .json()
            .await
            .map_err(|_| AppError::Busy {
                retry_after_secs: 5,
            })?;
        match (a.errcode, a.phone_info) {
            (0, Some(p)) => Ok(format!("+{}{}", p.country_code, p.pure_phone_number)),
            _ => Err(AppError::field(
                "phone_code",
                "WeChat did not confirm a phone number for this code",
            )),
        }
    }

    /// The access token: this instance's copy, else the shared one, else a
    /// new one fetched by exactly one instance at a time (the others wait on
    /// the shared row's lock and then read what it fetched).
    pub async fn access_token(&self, state: &AppState) -> anyhow::Result<String> {
        let now = state.clock.now();
        let fresh =
            |until: &DateTime<Utc>| *until - chrono::Duration::seconds(REFRESH_MARGIN_SECS) > now;
        if let Some((t, until)) = self
            .cached
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone()
            && fresh(&until)
        {
            return Ok(t);
        }
        let name = self.token_name();
        let txn = state.db.begin().await?;
        provider_token::Entity::insert(provider_token::ActiveModel {
            name: Set(name.clone()),
            token: Set(None),
            expires_at: Set(None),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(provider_token::Column::Name)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let row = lock_row::<provider_token::Entity>(
            &txn,
            provider_token::Column::Name,
            provider_token::Column::UpdatedAt,
            name.clone(),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("provider token row vanished"))?;
        let (token, until) = match (row.token, row.expires_at) {
            (Some(t), Some(until)) if fresh(&until) => (t, until),
            _ => {
                let a = self
                    .get(
                        "/cgi-bin/token",
                        &[
                            ("grant_type", "client_credential"),
                            ("appid", &self.app_id),
                            ("secret", self.app_secret.expose_secret()),
                        ],
                    )
                    .await?;
                let Some(t) = a.access_token.filter(|_| a.errcode == 0) else {
                    anyhow::bail!("WeChat refused an access token: {} {}", a.errcode, a.errmsg);
                };
                let until = now + chrono::Duration::seconds(a.expires_in.unwrap_or(7200));
                provider_token::Entity::update_many()
                    .col_expr(provider_token::Column::Token, Expr::value(t.clone()))
                    .col_expr(provider_token::Column::ExpiresAt, Expr::value(until))
                    .col_expr(provider_token::Column::UpdatedAt, Expr::value(now))
                    .filter(provider_token::Column::Name.eq(name.as_str()))
                    .exec(&txn)
                    .await?;
                (t, until)
            }
        };
        txn.commit().await?;
        *self
            .cached
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))? = Some((token.clone(), until));
        Ok(token)
    }

    /// Forgets a token WeChat called invalid, here and for every instance.
    async fn invalidate(&self, state: &AppState, token: &str) -> anyhow::Result<()> {
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
        provider_token::Entity::update_many()
            .col_expr(
                provider_token::Column::Token,
                Expr::value(Option::<String>::None),
            )
            .filter(provider_token::Column::Name.eq(self.token_name()))
            .filter(provider_token::Column::Token.eq(token))
            .exec(&state.db)
            .await?;
        Ok(())
    }
}

/// Takes one of the customer's open grants for `template_id` for message
/// `m` (the one it already holds, on a retry); `None` when none is left.
async fn spend_grant(
    state: &AppState,
    m: &outbox_message::Model,
    customer_id: Uuid,
    template_id: &str,
) -> anyhow::Result<Option<Uuid>> {
    let now = state.clock.now();
    if let Some(g) = wechat_grant::Entity::find()
        .filter(wechat_grant::Column::MessageId.eq(m.id))
        .one(&state.db)
        .await?
    {
        return Ok(Some(g.id));
    }
    // two messages may reach for the same grant: the update names it open,
    // so one of them wins and the other looks again
    for _ in 0..5 {
        let Some(g) = wechat_grant::Entity::find()
            .filter(wechat_grant::Column::DealerId.eq(m.dealer_id))
            .filter(wechat_grant::Column::CustomerId.eq(customer_id))
            .filter(wechat_grant::Column::TemplateId.eq(template_id))
            .filter(wechat_grant::Column::MessageId.is_null())
            .order_by_asc(wechat_grant::Column::GrantedAt)
            .order_by_asc(wechat_grant::Column::Id)
            .one(&state.db)
            .await?
        else {
            return Ok(None);
        };
        let taken = wechat_grant::Entity::update_many()
            .col_expr(wechat_grant::Column::MessageId, Expr::value(m.id))
            .col_expr(wechat_grant::Column::SpentAt, Expr::value(now))
            .filter(wechat_grant::Column::Id.eq(g.id))
            .filter(wechat_grant::Column::MessageId.is_null())
            .exec(&state.db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Some(g.id));
        }
    }
    Ok(None)
}

/// Sends `m` as a subscribe message with the dealer's WeChat template for its
/// kind, spending one of the customer's grants. No template, no grant left,
/// or the customer refused: failed here, and the chain carries it on.
pub async fn deliver(state: &AppState, m: &outbox_message::Model, params: &Params) -> Outcome {
    let rejected = |error: String| Outcome::Rejected {
        status: None,
        error,
    };
    let later = |error: String| Outcome::Retry {
        status: None,
        error,
        retry_after: None,
    };
    let Some(w) = &state.wechat else {
        return rejected("WeChat is not configured (SERVICELANE__WECHAT__APP_ID)".into());
    };
    let Some(customer_id) = m.customer_id else {
        return rejected("a WeChat message needs a customer".into());
    };
    let template = match provider_templates::find(
        &state.db,
        m.dealer_id,
        TemplateChannel::Wechat,
        m.kind,
    )
    .await
    {
        Ok(Some(t)) => t,
        Ok(None) => {
            return rejected(format!(
                "no WeChat template for {}: set one with PUT /api/v1/care/provider-templates/wechat/{}",
                m.kind, m.kind
            ));
        }
        Err(e) => return later(format!("reading the WeChat template: {e}")),
    };
    match spend_grant(state, m, customer_id, &template.template_code).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return rejected(format!(
                "no subscription grant left for WeChat template {}",
                template.template_code
            ));
        }
        Err(e) => return later(format!("taking a WeChat grant: {e}")),
    }
    let token = match w.access_token(state).await {
        Ok(t) => t,
        Err(e) => return later(format!("WeChat access token: {e}")),
    };
    let data: serde_json::Map<String, serde_json::Value> =
        crate::care::templated::fill(&template, params)
            .into_iter()
            .map(|(k, v)| (k, serde_json::json!({ "value": v })))
            .collect();
    let body = serde_json::json!({
        "touser": m.recipient,
        "template_id": template.template_code,
        "page": w.page,
        "data": data,
    });
    let res = w
        .client
        .post(format!(
            "{}/cgi-bin/message/subscribe/send?access_token={token}",
            w.api_base
        ))
        .json(&body)
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return transport_failure("WeChat", &e),
    };
    let status = res.status();
    let a: Answer = match res.json().await {
        Ok(a) => a,
        Err(_) if status.is_server_error() => return later(format!("WeChat answered {status}")),
        Err(e) => return rejected(format!("WeChat answered {status}, unreadable: {e}")),
    };
    let error = format!("WeChat answered {}: {}", a.errcode, a.errmsg);
    match a.errcode {
        0 => Outcome::Sent {
            status: Some(status.as_u16()),
            provider_id: a.msgid.map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            }),
        },
        // the token expired or was replaced elsewhere: fetch a new one, try later
        40001 | 40014 | 42001 => {
            if let Err(e) = w.invalidate(state, &token).await {
                tracing::warn!(error = ?e, "wechat token invalidation");
            }
            later(error)
        }
        // system busy, rate limited
        -1 | 45009 | 45011 => later(error),
        // 43101: the customer refused (no subscription); 40003 bad openid; 40037 bad template
        _ => rejected(error),
    }
}
