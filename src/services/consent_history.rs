//! The history of a customer's consents (PIPL asks for proof of each): the
//! archive keeps the current statement per channel and purpose
//! (`customers.consents`); every change of it is also a row here, written in
//! the transaction that changes it. [`record`] is the one writer, called by
//! every path that writes consents (`services::customers`: create, update,
//! withdraw by link or SMS reply; the import). It does not know the customer
//! service, so that the customer service can call it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::customer::{Channel, Consent, ConsentSource, Purpose};
use crate::entities::consent_history;
use crate::error::AppResult;
use crate::services::{decode_cursor, next_page, page_limit};

/// Whose archive the change is in.
#[derive(Debug, Clone, Copy)]
pub struct Whose {
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
}

/// The statements of `after` that are new or differ from `before` (in
/// granted, source or time): a restatement of the same thing is no change.
pub fn changes<'a>(before: &[Consent], after: &'a [Consent]) -> Vec<&'a Consent> {
    after
        .iter()
        .filter(|a| {
            !before.iter().any(|b| {
                b.channel == a.channel
                    && b.purpose == a.purpose
                    && b.granted == a.granted
                    && b.source == a.source
                    && b.at == a.at
            })
        })
        .collect()
}

/// Writes a row for every change from `before` to `after`, in `after`'s
/// order. `actor_id`: the member of staff who recorded it (`None` for the
/// customer's own word). Call it in the transaction that writes `after`.
pub async fn record(
    db: &impl ConnectionTrait,
    whose: Whose,
    before: &[Consent],
    after: &[Consent],
    actor_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let rows: Vec<consent_history::ActiveModel> = changes(before, after)
        .into_iter()
        .map(|c| consent_history::ActiveModel {
            id: Set(Uuid::now_v7()),
            dealer_id: Set(whose.dealer_id),
            customer_id: Set(whose.customer_id),
            channel: Set(c.channel),
            purpose: Set(c.purpose),
            granted: Set(c.granted),
            source: Set(c.source),
            actor_id: Set(actor_id),
            stated_at: Set(c.at.unwrap_or(now)),
            at: Set(now),
        })
        .collect();
    let n = rows.len() as u64;
    if n > 0 {
        consent_history::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(n)
}

/// One change of a consent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentChange {
    pub id: Uuid,
    pub channel: Channel,
    pub purpose: Purpose,
    pub granted: bool,
    /// How it was given or withdrawn.
    pub source: ConsentSource,
    /// The member of staff who recorded it; absent for the customer's own word.
    pub actor_id: Option<Uuid>,
    /// When the customer gave it.
    pub stated_at: DateTime<Utc>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

impl From<consent_history::Model> for ConsentChange {
    fn from(m: consent_history::Model) -> Self {
        ConsentChange {
            id: m.id,
            channel: m.channel,
            purpose: m.purpose,
            granted: m.granted,
            source: m.source,
            actor_id: m.actor_id,
            stated_at: m.stated_at,
            at: m.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentHistoryPage {
    /// Newest first.
    pub items: Vec<ConsentChange>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A customer's history, newest first. The caller has checked who may read it.
pub async fn page(
    db: &impl ConnectionTrait,
    customer_id: Uuid,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> AppResult<ConsentHistoryPage> {
    let limit = page_limit(limit)?;
    let mut q =
        consent_history::Entity::find().filter(consent_history::Column::CustomerId.eq(customer_id));
    if let Some(c) = cursor {
        q = q.filter(consent_history::Column::Id.lt(decode_cursor(c)?));
    }
    let mut rows = q
        .order_by_desc(consent_history::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let next_cursor = next_page(&mut rows, limit, |r| r.id);
    Ok(ConsentHistoryPage {
        items: rows.into_iter().map(ConsentChange::from).collect(),
        next_cursor,
    })
}

/// Every change of a customer's consents, oldest first (the export).
pub async fn all(
    db: &impl ConnectionTrait,
    customer_id: Uuid,
) -> Result<Vec<ConsentChange>, DbErr> {
    Ok(consent_history::Entity::find()
        .filter(consent_history::Column::CustomerId.eq(customer_id))
        .order_by_asc(consent_history::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ConsentChange::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(channel: Channel, granted: bool, at: DateTime<Utc>) -> Consent {
        Consent {
            channel,
            purpose: Purpose::Marketing,
            granted,
            source: ConsentSource::App,
            at: Some(at),
        }
    }

    #[test]
    fn only_what_differs_is_a_change() {
        let t = Utc::now();
        let before = vec![c(Channel::Sms, true, t), c(Channel::Email, true, t)];
        let after = vec![c(Channel::Sms, true, t), c(Channel::Email, false, t)];
        let ch = changes(&before, &after);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].channel, Channel::Email);
        assert!(!ch[0].granted);
        assert_eq!(changes(&[], &after).len(), 2);
    }
}
