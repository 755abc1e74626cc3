//! Taking and giving back slot capacity. Each slot's counters change in one
//! conditional UPDATE (`used + n <= capacity`), so the check and the taking
//! cannot be split by another request, on PostgreSQL (row lock) and SQLite
//! (one writer) alike.
//!
//! Lock order: a transaction that also touches an appointment takes the
//! appointment's row first (`services::lifecycle::lock`, or the vehicle row
//! for a new booking), and only then comes here; slots are touched in time
//! order (a BTreeMap), so two transactions never wait on each other in a
//! circle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::domain::schedule::Schedule;
use crate::entities::slot_usage;
use crate::error::AppResult;
use crate::services::col_plus;

/// What one booking holds: one arrival at reception, one bay in each slot of its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub arrival: DateTime<Utc>,
    pub bays: Vec<DateTime<Utc>>,
}

impl Hold {
    /// The hold stored with a booking; a value that does not parse is an
    /// internal error, never "holds nothing" (which would never be given back).
    pub fn from_json(arrival: DateTime<Utc>, held: &serde_json::Value) -> AppResult<Hold> {
        Ok(Hold {
            arrival,
            bays: crate::services::from_stored(held, "held slots")?,
        })
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.bays).unwrap_or_default()
    }
}

/// Applies `take` and `release` together. Answers false (and changes
/// nothing the caller will keep: it must roll back) when `take` does not fit.
pub async fn apply(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    schedule: &Schedule,
    take: Option<&Hold>,
    release: Option<&Hold>,
) -> AppResult<bool> {
    let mut deltas: BTreeMap<DateTime<Utc>, (i64, i64)> = BTreeMap::new();
    let mut add = |h: &Hold, sign: i64| {
        deltas.entry(h.arrival).or_default().0 += sign;
        for b in &h.bays {
            deltas.entry(*b).or_default().1 += sign;
        }
    };
    if let Some(h) = take {
        add(h, 1);
    }
    if let Some(h) = release {
        add(h, -1);
    }
    for (slot, (dr, db)) in deltas {
        if dr == 0 && db == 0 {
            continue;
        }
        if dr > 0 || db > 0 {
            slot_usage::Entity::insert(slot_usage::ActiveModel {
                dealer_id: Set(dealer_id),
                slot_start: Set(slot),
                reception_used: Set(0),
                bays_used: Set(0),
            })
            .on_conflict(
                OnConflict::columns([slot_usage::Column::DealerId, slot_usage::Column::SlotStart])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        }
        let mut update = slot_usage::Entity::update_many()
            .col_expr(
                slot_usage::Column::ReceptionUsed,
                col_plus(slot_usage::Column::ReceptionUsed, dr),
            )
            .col_expr(
                slot_usage::Column::BaysUsed,
                col_plus(slot_usage::Column::BaysUsed, db),
            )
            .filter(slot_usage::Column::DealerId.eq(dealer_id))
            .filter(slot_usage::Column::SlotStart.eq(slot));
        if dr > 0 {
            update = update.filter(
                col_plus(slot_usage::Column::ReceptionUsed, dr)
                    .lte(i64::from(schedule.reception_per_slot)),
            );
        }
        if db > 0 {
            update = update.filter(
                col_plus(slot_usage::Column::BaysUsed, db).lte(i64::from(schedule.workshop_bays)),
            );
        }
        let done = update.exec(txn).await?.rows_affected;
        if done == 0 && (dr > 0 || db > 0) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Gives back one bay in each of `bays` (a no-show's slots that have not
/// started). Slots in time order, as in [`apply`].
pub async fn release_bays(
    txn: &impl ConnectionTrait,
    dealer_id: Uuid,
    bays: &[DateTime<Utc>],
) -> AppResult<()> {
    let mut sorted = bays.to_vec();
    sorted.sort();
    for slot in sorted {
        slot_usage::Entity::update_many()
            .col_expr(
                slot_usage::Column::BaysUsed,
                col_plus(slot_usage::Column::BaysUsed, -1),
            )
            .filter(slot_usage::Column::DealerId.eq(dealer_id))
            .filter(slot_usage::Column::SlotStart.eq(slot))
            .filter(slot_usage::Column::BaysUsed.gt(0))
            .exec(txn)
            .await?;
    }
    Ok(())
}
