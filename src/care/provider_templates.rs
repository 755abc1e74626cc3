//! Each dealer's approved provider templates. SMS in mainland China leaves
//! only through a pre-approved signature (签名) and template (模板) whose
//! variables are filled per message: a dealer maps each kind of message to
//! its template and says which of our values fills each variable. A kind
//! without one on the channel fails there and falls back down the chain.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::FieldErrors;
use crate::domain::care::TemplateChannel;
use crate::domain::message::MessageKind;
use crate::entities::provider_template;
use crate::error::{AppError, AppResult};
use crate::services::{from_stored, to_stored};

pub const MAX_VARIABLES: usize = 20;

/// A template as the dealer states it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The operator's template code or id (`SMS_71390007`, `1234567`).
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9_.-]{1,64}$")]
    pub template_code: String,
    /// The approved signature without brackets (`星辉奔驰`).
    #[schema(max_length = 20)]
    pub sign_name: Option<String>,
    /// `{provider_variable: our_param}`; Tencent's variables are positions
    /// (`"1"`, `"2"`, …), filled in that order.
    pub params: BTreeMap<String, String>,
}

/// A dealer's template for one kind of message on one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTemplate {
    pub channel: TemplateChannel,
    pub kind: MessageKind,
    pub template_code: String,
    pub sign_name: Option<String>,
    pub params: BTreeMap<String, String>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<provider_template::Model> for ProviderTemplate {
    type Error = AppError;

    fn try_from(m: provider_template::Model) -> AppResult<Self> {
        Ok(ProviderTemplate {
            channel: m.channel,
            kind: m.kind,
            params: from_stored(&m.params, "provider template params")?,
            template_code: m.template_code,
            sign_name: m.sign_name,
            updated_at: m.updated_at,
        })
    }
}

fn validate(kind: MessageKind, t: &TemplateInput) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::new();
    let code_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if t.template_code.is_empty()
        || t.template_code.len() > 64
        || !t.template_code.chars().all(code_ok)
    {
        e.add("template_code", "1 to 64 letters, digits, '_', '.' or '-'");
    }
    if let Some(s) = &t.sign_name {
        let n = s.chars().count();
        if !(2..=20).contains(&n) || s.chars().any(|c| c.is_control() || "【】[]".contains(c)) {
            e.add("sign_name", "2 to 20 characters, without brackets");
        }
    }
    if t.params.len() > MAX_VARIABLES {
        e.add("params", format!("at most {MAX_VARIABLES} variables"));
    }
    for (var, ours) in &t.params {
        let var_ok = !var.is_empty()
            && var.len() <= 32
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !var_ok {
            e.add(
                format!("params.{var}"),
                "a variable is 1 to 32 letters, digits or '_'",
            );
        } else if !kind.param_names().contains(&ours.as_str()) {
            e.add(
                format!("params.{var}"),
                format!(
                    "a {kind} message has no value '{ours}'; it has {}",
                    kind.param_names().join(", ")
                ),
            );
        }
    }
    e.into_result()
}

/// States the dealer's template for `kind` on `channel` (managers).
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    channel: TemplateChannel,
    kind: MessageKind,
    t: TemplateInput,
    now: DateTime<Utc>,
) -> AppResult<ProviderTemplate> {
    actor.require(crate::services::capacity::MANAGERS)?;
    validate(kind, &t)?;
    let row = provider_template::Model {
        dealer_id: actor.dealer_id,
        channel,
        kind,
        template_code: t.template_code,
        sign_name: t.sign_name,
        params: to_stored(&t.params, "params")?,
        updated_at: now,
    };
    let am: provider_template::ActiveModel = row.clone().into();
    provider_template::Entity::insert(am)
        .on_conflict(
            OnConflict::columns([
                provider_template::Column::DealerId,
                provider_template::Column::Channel,
                provider_template::Column::Kind,
            ])
            .update_columns([
                provider_template::Column::TemplateCode,
                provider_template::Column::SignName,
                provider_template::Column::Params,
                provider_template::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    row.try_into()
}

/// The dealer's templates (staff).
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<Vec<ProviderTemplate>> {
    actor.require(crate::care::outbox::READERS)?;
    provider_template::Entity::find()
        .filter(provider_template::Column::DealerId.eq(actor.dealer_id))
        .order_by_asc(provider_template::Column::Channel)
        .order_by_asc(provider_template::Column::Kind)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Removes the dealer's template for `kind` on `channel` (managers); 404 when there is none.
pub async fn remove(
    db: &impl ConnectionTrait,
    actor: &Actor,
    channel: TemplateChannel,
    kind: MessageKind,
) -> AppResult<()> {
    actor.require(crate::services::capacity::MANAGERS)?;
    let res = provider_template::Entity::delete_many()
        .filter(provider_template::Column::DealerId.eq(actor.dealer_id))
        .filter(provider_template::Column::Channel.eq(channel))
        .filter(provider_template::Column::Kind.eq(kind))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The template a message of `kind` leaves with, if the dealer has one.
pub async fn find(
    db: &impl ConnectionTrait,
    dealer_id: Uuid,
    channel: TemplateChannel,
    kind: MessageKind,
) -> AppResult<Option<ProviderTemplate>> {
    provider_template::Entity::find()
        .filter(provider_template::Column::DealerId.eq(dealer_id))
        .filter(provider_template::Column::Channel.eq(channel))
        .filter(provider_template::Column::Kind.eq(kind))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}
