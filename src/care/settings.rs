//! Each dealer's rules for care messages: the sending window and the
//! marketing cap. No stored row means the defaults.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::care::{CareRules, minutes_of, time_of};
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

/// The dealer's rules (staff).
pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> AppResult<CareRules> {
    actor.require(crate::care::outbox::READERS)?;
    Ok(rules(db, actor.dealer_id).await?.0)
}

/// Replaces the dealer's rules (managers). Messages already deferred keep
/// their time; the new rules apply from the next message that leaves.
pub async fn put(
    db: &impl ConnectionTrait,
    actor: &Actor,
    r: CareRules,
    now: DateTime<Utc>,
) -> AppResult<CareRules> {
    actor.require(crate::services::capacity::MANAGERS)?;
    r.validate()?;
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
    .exec_without_returning(db)
    .await?;
    Ok(r)
}
