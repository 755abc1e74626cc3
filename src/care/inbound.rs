//! What customers send back: SMS replies arrive from the operator's gateway
//! (signed like our webhook calls). An opt-out word (`TD`, `退订`, `STOP`)
//! withdraws the number's SMS consents at every dealer it belongs to; any
//! other reply to a recent follow-up is a quick rating or a comment on it
//! (`services::csi::sms_reply`).
//! Also the dealer's suppression list, which receipts fill.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Phone;
use crate::domain::care::{InboundAction, is_opt_out};
use crate::domain::customer::{Channel, ConsentSource, Purpose};
use crate::entities::{customer, suppression};
use crate::error::{AppError, AppResult};
use crate::services::customers::withdraw_consent;
use crate::state::AppState;

/// The longest SMS reply taken.
pub const MAX_TEXT: usize = 1000;

/// An SMS a customer sent us, as the gateway forwards it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundSms {
    /// The sender, E.164 (`+8613912345678`).
    #[schema(example = "+8613912345678")]
    pub from: String,
    #[schema(max_length = 1000)]
    pub text: String,
    /// When the gateway received it.
    pub received_at: DateTime<Utc>,
}

/// What the reply did.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundAnswer {
    pub action: InboundAction,
    /// Customer records (across dealers) the number belongs to.
    pub customers: u64,
}

/// Acts on an SMS reply. An opt-out withdraws consent for service and
/// marketing SMS alike ("stop" means stop): login codes still go, since the
/// customer asks for each, and service messages reach them in the app or by
/// email down the fallback chain. Idempotent.
pub async fn receive(state: &AppState, sms: InboundSms) -> AppResult<InboundAnswer> {
    let now = state.clock.now();
    let phone = Phone::parse(&sms.from).map_err(|e| AppError::field("from", e.to_string()))?;
    if sms.text.chars().count() > MAX_TEXT {
        return Err(AppError::field(
            "text",
            format!("at most {MAX_TEXT} characters"),
        ));
    }
    if !is_opt_out(&sms.text) {
        // an answer to a follow-up: a quick rating or a comment
        let days = state.settings.care.planner.survey_days;
        let answered =
            crate::services::csi::sms_reply(&state.db, phone.as_str(), &sms.text, now, days)
                .await?;
        return Ok(InboundAnswer {
            action: answered.unwrap_or(InboundAction::Ignored),
            customers: u64::from(answered.is_some()),
        });
    }
    let owners = customer::Entity::find()
        .filter(customer::Column::Phone.eq(phone.as_str()))
        .all(&state.db)
        .await?;
    for c in &owners {
        withdraw_consent(
            &state.db,
            c.id,
            Channel::Sms,
            &[Purpose::Service, Purpose::Marketing],
            ConsentSource::SmsReply,
            now,
        )
        .await?;
    }
    tracing::info!(customers = owners.len(), "SMS opt-out received");
    Ok(InboundAnswer {
        action: InboundAction::OptedOut,
        customers: owners.len() as u64,
    })
}

/// An address the dealer no longer sends to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suppression {
    pub id: Uuid,
    pub channel: Channel,
    pub address: String,
    pub reason: Option<String>,
    /// The message whose receipt reported it.
    pub message_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// The dealer's suppression list, newest first (at most 200; staff).
pub async fn suppressions(db: &DatabaseConnection, actor: &Actor) -> AppResult<Vec<Suppression>> {
    actor.require(crate::care::outbox::READERS)?;
    let rows = suppression::Entity::find()
        .filter(suppression::Column::DealerId.eq(actor.dealer_id))
        .order_by_desc(suppression::Column::CreatedAt)
        .order_by_desc(suppression::Column::Id)
        .limit(crate::care::outbox::LIST_LIMIT)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|s| Suppression {
            id: s.id,
            channel: s.channel,
            address: s.address,
            reason: s.reason,
            message_id: s.message_id,
            created_at: s.created_at,
        })
        .collect())
}

/// Takes an address off the list (managers: the customer has a working
/// number or mailbox again). 404 when it is not there.
pub async fn unsuppress(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> AppResult<()> {
    actor.require(crate::care::outbox::RETRIERS)?;
    let res = suppression::Entity::delete_many()
        .filter(suppression::Column::Id.eq(id))
        .filter(suppression::Column::DealerId.eq(actor.dealer_id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
