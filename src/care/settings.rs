//! Each dealer's rules for care messages: the sending window and the
//! marketing cap, and (through `planner::kinds`) how each kind is planned.
//! No stored row means the defaults.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::care::planner::kinds;
use crate::care::render::Templates;
use crate::domain::care::{CareRules, minutes_of, time_of};
use crate::domain::care_plan::{CareKind, KindSettings, PlanSettings};
use crate::entities::{care_setting, dealer};
use crate::error::{AppError, AppResult};
use crate::services::dealers::zone;

/// The dealer's rules and zone, as the dispatcher applies them.
pub async fn rules(db: &impl ConnectionTrait, dealer_id: Uuid) -> AppResult<(CareRules, Tz)> {
    let d = dealer::Entity::find_by_id(dealer_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let stored = care_setting::Entity::find_by_id(dealer_id).one(db).await?;
    let rules = match stored {
        None => CareRules::default(),
        Some(s) => from_row(&s)?,
    };
    Ok((rules, zone(&d)))
}

fn from_row(s: &care_setting::Model) -> AppResult<CareRules> {
    // a stored row this build cannot read is our fault: loud, never the defaults
    let bad = || {
        AppError::Internal(anyhow::anyhow!(
            "care settings of {} do not read",
            s.dealer_id
        ))
    };
    Ok(CareRules {
        send_window_start: time_of(s.send_window_start).ok_or_else(bad)?,
        send_window_end: time_of(s.send_window_end).ok_or_else(bad)?,
        marketing_cap: u32::try_from(s.marketing_cap).map_err(|_| bad())?,
        marketing_cap_days: u32::try_from(s.marketing_cap_days).map_err(|_| bad())?,
    })
}

/// The dealer's care settings on the wire: the rules every message meets
/// when it leaves, and how the planner plans each kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareSettings {
    /// Local time from which messages that are not transactional may leave.
    #[schema(value_type = String, example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "crate::domain::schedule::hhmm")]
    pub send_window_start: NaiveTime,
    /// Local time until which they may leave (before `start`: the window spans midnight).
    #[schema(value_type = String, example = "20:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    #[serde(with = "crate::domain::schedule::hhmm")]
    pub send_window_end: NaiveTime,
    /// Marketing messages one customer receives at most within `marketing_cap_days`.
    #[schema(minimum = 1, maximum = 50)]
    pub marketing_cap: u32,
    #[schema(minimum = 1, maximum = 90)]
    pub marketing_cap_days: u32,
    /// How the planner plans each kind: always in an answer; left out of a
    /// `PUT`, the kinds stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<PlanSettings>,
}

impl CareSettings {
    fn rules(&self) -> CareRules {
        CareRules {
            send_window_start: self.send_window_start,
            send_window_end: self.send_window_end,
            marketing_cap: self.marketing_cap,
            marketing_cap_days: self.marketing_cap_days,
        }
    }

    fn of(r: CareRules, kinds: PlanSettings) -> Self {
        CareSettings {
            send_window_start: r.send_window_start,
            send_window_end: r.send_window_end,
            marketing_cap: r.marketing_cap,
            marketing_cap_days: r.marketing_cap_days,
            kinds: Some(kinds),
        }
    }
}

/// The dealer's settings (staff).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<CareSettings> {
    actor.require(crate::care::outbox::READERS)?;
    let rules = rules(db, actor.dealer_id).await?.0;
    Ok(CareSettings::of(
        rules,
        kinds::load(db, actor.dealer_id).await?,
    ))
}

/// Replaces the dealer's settings (managers), in one transaction. Messages
/// already deferred keep their time; the new rules apply from the next
/// message that leaves, the new kinds from the next planning run.
pub async fn put(
    db: &DatabaseConnection,
    templates: &Templates,
    actor: &Actor,
    body: CareSettings,
    now: DateTime<Utc>,
) -> AppResult<CareSettings> {
    actor.require(crate::services::capacity::MANAGERS)?;
    let r = body.rules();
    let mut e = r.validate().err().unwrap_or_default();
    if let Some(k) = &body.kinds
        && let Err(more) = kinds::validate(templates, k)
    {
        e.0.extend(more.0);
    }
    e.into_result()?;
    let txn = db.begin().await?;
    let cap = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    care_setting::Entity::insert(care_setting::ActiveModel {
        dealer_id: Set(actor.dealer_id),
        send_window_start: Set(minutes_of(r.send_window_start)),
        send_window_end: Set(minutes_of(r.send_window_end)),
        marketing_cap: Set(cap(r.marketing_cap)),
        marketing_cap_days: Set(cap(r.marketing_cap_days)),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(care_setting::Column::DealerId)
            .update_columns([
                care_setting::Column::SendWindowStart,
                care_setting::Column::SendWindowEnd,
                care_setting::Column::MarketingCap,
                care_setting::Column::MarketingCapDays,
                care_setting::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if let Some(k) = &body.kinds {
        kinds::put_all(&txn, actor.dealer_id, k, now).await?;
    }
    let kinds = kinds::load(&txn, actor.dealer_id).await?;
    txn.commit().await?;
    Ok(CareSettings::of(r, kinds))
}

/// Pauses or resumes one planned kind (managers); answers its settings.
pub async fn set_kind(
    db: &DatabaseConnection,
    actor: &Actor,
    kind: CareKind,
    enabled: bool,
    now: DateTime<Utc>,
) -> AppResult<KindSettings> {
    actor.require(crate::services::capacity::MANAGERS)?;
    kinds::set_enabled(db, actor.dealer_id, kind, enabled, now).await?;
    Ok(kinds::load(db, actor.dealer_id).await?.get(kind).clone())
}
