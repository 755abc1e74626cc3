//! Which channel carries a customer's message: the customer's preferred one
//! first, then down the fallback chain (app push → SMS → email) when a
//! channel fails for good, is refused or has no address. A fallback is a
//! child row of the same occurrence on the next channel, so it is written
//! at most once however often the failure is recorded.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::care::outbox::{self, NewMessage, Params};
use crate::domain::care::{fallback_chain, first_channel, next_channel};
use crate::domain::customer::Channel;
use crate::entities::{customer, outbox_message, refresh_token, wechat_binding};

/// Where the customer is reached on each channel.
pub struct Addresses {
    pub phone: String,
    pub email: Option<String>,
    /// Signed in to the app at least once: the push gateway knows a device.
    pub has_app: bool,
    /// The customer's WeChat openid, once bound.
    pub openid: Option<String>,
    pub preferred: Channel,
    pub customer_id: Uuid,
}

impl Addresses {
    /// `now` tells a live app session from an expired one: only a customer
    /// signed in to the app (a session neither revoked nor expired) has a
    /// device to push to.
    pub async fn of(
        db: &impl ConnectionTrait,
        c: &customer::Model,
        now: DateTime<Utc>,
    ) -> Result<Self, sea_orm::DbErr> {
        let has_app = refresh_token::Entity::find()
            .filter(refresh_token::Column::CustomerId.eq(c.id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .count(db)
            .await?
            > 0;
        let openid = wechat_binding::Entity::find()
            .filter(wechat_binding::Column::DealerId.eq(c.dealer_id))
            .filter(wechat_binding::Column::CustomerId.eq(c.id))
            .one(db)
            .await?
            .map(|b| b.openid);
        Ok(Addresses {
            openid,
            phone: c.phone.clone(),
            email: c.email.clone(),
            has_app,
            preferred: c.preferred_channel,
            customer_id: c.id,
        })
    }

    /// The recipient on `channel`, if the customer has one there.
    pub fn on(&self, channel: Channel) -> Option<String> {
        match channel {
            Channel::Sms => Some(self.phone.clone()),
            Channel::Email => self.email.clone(),
            Channel::App => self.has_app.then(|| self.customer_id.to_string()),
            Channel::Wechat => self.openid.clone(),
        }
    }

    /// The first channel of the customer's chain with an address.
    pub fn first(&self) -> Option<(Channel, String)> {
        let chain = fallback_chain(self.preferred);
        let c = first_channel(&chain, |c| self.on(c).is_some())?;
        Some((c, self.on(c)?))
    }

    /// The channel after `current` in the customer's chain with an address.
    pub fn after(&self, current: Channel) -> Option<(Channel, String)> {
        let chain = fallback_chain(self.preferred);
        let c = next_channel(&chain, current, |c| self.on(c).is_some())?;
        Some((c, self.on(c)?))
    }
}

/// Writes the next channel's message for `m`, which failed for good, was
/// refused or suppressed; answers its id, or `None` at the end of the chain
/// (or for a message that does not fall back: no customer, a login code).
/// Call inside the transaction that settles `m`.
pub async fn fall_back(
    txn: &impl ConnectionTrait,
    m: &outbox_message::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Uuid>> {
    let Some(customer_id) = m.customer_id else {
        return Ok(None);
    };
    if m.kind.carries_secret() {
        return Ok(None);
    }
    let Some(c) = customer::Entity::find_by_id(customer_id)
        .filter(customer::Column::DealerId.eq(m.dealer_id))
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    // an erased customer is reached on no channel
    if c.erased_at.is_some() {
        return Ok(None);
    }
    let Some((channel, recipient)) = Addresses::of(txn, &c, now).await?.after(m.channel) else {
        return Ok(None);
    };
    let params = Params::from_stored(m.kind, &m.params)?;
    let id = outbox::enqueue(
        txn,
        NewMessage {
            dealer_id: m.dealer_id,
            customer_id: m.customer_id,
            about_customer_id: m.about_customer_id,
            kind: m.kind,
            occurrence_key: m.occurrence_key.clone(),
            channel,
            recipient,
            locale: m.locale,
            params,
            subject: m.subject.clone(),
            body: m.body.clone(),
            due_at: now,
            parent_id: Some(m.id),
        },
        now,
    )
    .await?;
    Ok(Some(id))
}
