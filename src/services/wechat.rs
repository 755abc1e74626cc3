//! The customer app as a WeChat mini-program: logging in with a WeChat code,
//! and the one-time subscribe-message grants the customer gives.
//!
//! An openid is bound to a customer only once the phone is proven, by the
//! SMS code or by WeChat's phone-number grant, so an openid never reaches
//! someone else's archive; a bound openid then logs in with the code alone.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::entities::{customer, wechat_binding, wechat_grant};
use crate::error::{AppError, AppResult};
use crate::services::auth::{self, TokenPair};
use crate::state::AppState;

/// The SMS code that proves the phone, as for `POST /auth/otp/verify`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpProof {
    pub phone: String,
    pub code: String,
}

/// A mini-program login: `wx.login`'s code, and, for a first login, proof
/// of the phone (`otp`, or `phone_code` from `getPhoneNumber`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatLogin {
    pub dealer_code: String,
    #[schema(max_length = 128)]
    pub code: String,
    #[schema(max_length = 128)]
    pub phone_code: Option<String>,
    pub otp: Option<OtpProof>,
}

fn short(field: &str, v: &str) -> AppResult<()> {
    if v.is_empty() || v.len() > 128 || v.chars().any(char::is_control) {
        return Err(AppError::field(field, "1 to 128 characters"));
    }
    Ok(())
}

/// Logs a mini-program user in, binding the openid on the first login.
pub async fn login(state: &AppState, body: WechatLogin) -> AppResult<TokenPair> {
    short("code", &body.code)?;
    if let Some(p) = &body.phone_code {
        short("phone_code", p)?;
    }
    let Some(w) = &state.wechat else {
        return Err(AppError::NotFound);
    };
    let Some(dealer) = auth::dealer_by_code(state, &body.dealer_code).await? else {
        return Err(AppError::Unauthorized(
            "the WeChat login code is invalid or used",
        ));
    };
    let openid = w.code2session(&body.code).await?;
    let bound = wechat_binding::Entity::find_by_id((dealer.id, openid.clone()))
        .one(&state.db)
        .await?;
    if let Some(b) = bound {
        let c = customer::Entity::find_by_id(b.customer_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::Unauthorized("the customer no longer exists"))?;
        return auth::issue_customer(state, &c).await;
    }
    let c = if let Some(otp) = &body.otp {
        auth::otp_customer(state, &dealer.code, &otp.phone, &otp.code).await?
    } else if let Some(code) = &body.phone_code {
        let phone = w.phone_number(state, code).await?;
        customer::Entity::find()
            .filter(customer::Column::DealerId.eq(dealer.id))
            .filter(customer::Column::Phone.eq(phone.as_str()))
            .one(&state.db)
            .await?
            .ok_or(AppError::Forbidden(
                "no customer of this dealer has the phone WeChat confirmed",
            ))?
    } else {
        return Err(AppError::Forbidden(
            "this WeChat account is not bound yet: prove the phone with `otp` or `phone_code`",
        ));
    };
    bind(state, dealer.id, &openid, c.id).await?;
    auth::issue_customer(state, &c).await
}

/// Binds `openid` to the customer, once: an openid already bound to someone
/// else is a conflict, never a silent move.
async fn bind(state: &AppState, dealer_id: Uuid, openid: &str, customer_id: Uuid) -> AppResult<()> {
    wechat_binding::Entity::insert(wechat_binding::ActiveModel {
        dealer_id: Set(dealer_id),
        openid: Set(openid.to_string()),
        customer_id: Set(customer_id),
        created_at: Set(state.clock.now()),
    })
    .on_conflict(
        OnConflict::columns([
            wechat_binding::Column::DealerId,
            wechat_binding::Column::Openid,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&state.db)
    .await?;
    let b = wechat_binding::Entity::find_by_id((dealer_id, openid.to_string()))
        .one(&state.db)
        .await?
        .ok_or(AppError::Internal(anyhow::anyhow!(
            "binding just written is gone"
        )))?;
    if b.customer_id != customer_id {
        return Err(AppError::Conflict(
            "this WeChat account is bound to another customer".into(),
        ));
    }
    Ok(())
}

/// A subscribe-message choice the customer made in the mini-program.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChoice {
    /// The WeChat template the customer was asked about.
    #[schema(max_length = 64)]
    pub template_id: String,
    /// `accept` in `wx.requestSubscribeMessage`: one more message allowed;
    /// `reject`: every open grant for the template is withdrawn.
    pub granted: bool,
}

/// Where the customer's grants for a template stand.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscriptions {
    pub template_id: String,
    /// Messages of this template that may still be sent.
    pub open_grants: u64,
}

/// The most open grants one template keeps for a customer (WeChat's own
/// one-time grants do not pile up without bound either).
pub const MAX_OPEN_GRANTS: u64 = 20;

/// Records a customer's choice (customers only).
pub async fn choose(
    state: &AppState,
    actor: &Actor,
    choice: SubscriptionChoice,
) -> AppResult<Subscriptions> {
    let Some(customer_id) = actor.customer_id else {
        return Err(AppError::Forbidden("subscriptions are the customer's"));
    };
    short("template_id", &choice.template_id)?;
    if choice.template_id.len() > 64 {
        return Err(AppError::field("template_id", "at most 64 characters"));
    }
    let open = || {
        wechat_grant::Entity::find()
            .filter(wechat_grant::Column::CustomerId.eq(customer_id))
            .filter(wechat_grant::Column::TemplateId.eq(choice.template_id.as_str()))
            .filter(wechat_grant::Column::MessageId.is_null())
    };
    if choice.granted {
        if open().count(&state.db).await? < MAX_OPEN_GRANTS {
            wechat_grant::ActiveModel {
                id: Set(Uuid::now_v7()),
                dealer_id: Set(actor.dealer_id),
                customer_id: Set(customer_id),
                template_id: Set(choice.template_id.clone()),
                granted_at: Set(state.clock.now()),
                message_id: Set(None),
                spent_at: Set(None),
            }
            .insert(&state.db)
            .await?;
        }
    } else {
        wechat_grant::Entity::delete_many()
            .filter(wechat_grant::Column::CustomerId.eq(customer_id))
            .filter(wechat_grant::Column::TemplateId.eq(choice.template_id.as_str()))
            .filter(wechat_grant::Column::MessageId.is_null())
            .exec(&state.db)
            .await?;
    }
    Ok(Subscriptions {
        open_grants: open().count(&state.db).await?,
        template_id: choice.template_id,
    })
}
