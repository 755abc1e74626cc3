//! One-click unsubscribe (RFC 8058): a signed, stateless, URL-safe token for
//! (dealer, customer, channel, purpose), carried in an email's
//! `List-Unsubscribe` header and footer, and what a `POST /u/{token}` does.
//!
//! The token is `<base64url(payload)>.<tag>`: the payload is the two ids and
//! one byte each for channel and purpose; the tag is the first 128 bits (hex)
//! of `keyed_hash("unsubscribe-v1", payload)`, i.e. an HMAC keyed by the app's
//! secret, domain-separated from every other use of it. Nothing is stored.
//!
//! **No expiry, on purpose**: a link in an email read a year later must
//! still work, and all it can do is withdraw a consent the customer can give
//! again. It stops working only if the app's secret (`auth.jwt_secret`) is
//! changed. The ids are readable by whoever holds the link (the customer).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::auth::tokens::{Tokens, same_digest};
use crate::domain::customer::{Channel, ConsentSource, Purpose};
use crate::entities::customer;
use crate::error::{AppError, AppResult};
use crate::services::customers::withdraw_consent;

/// Domain separation: a tag made for anything else never verifies here.
const LABEL: &[u8] = b"unsubscribe-v1";
/// Hex characters of the tag kept (128 bits).
const TAG_HEX: usize = 32;
const PAYLOAD: usize = 16 + 16 + 1 + 1;
/// Longer than any token we make: refused before decoding anything.
const MAX_TOKEN: usize = 128;

/// Whose consent a link withdraws, and which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub dealer_id: Uuid,
    pub customer_id: Uuid,
    pub channel: Channel,
    pub purpose: Purpose,
}

// Fixed codes, not enum positions: reordering an enum must not break old links.
fn channel_code(c: Channel) -> u8 {
    match c {
        Channel::Sms => 1,
        Channel::Email => 2,
        Channel::App => 3,
        Channel::Wechat => 4,
    }
}

fn channel_of(b: u8) -> Option<Channel> {
    Some(match b {
        1 => Channel::Sms,
        2 => Channel::Email,
        3 => Channel::App,
        4 => Channel::Wechat,
        _ => return None,
    })
}

fn purpose_code(p: Purpose) -> u8 {
    match p {
        Purpose::Service => 1,
        Purpose::Marketing => 2,
    }
}

fn purpose_of(b: u8) -> Option<Purpose> {
    Some(match b {
        1 => Purpose::Service,
        2 => Purpose::Marketing,
        _ => return None,
    })
}

fn tag(tokens: &Tokens, payload: &[u8]) -> String {
    let mut t = tokens.keyed_hash(&[LABEL, payload]);
    t.truncate(TAG_HEX);
    t
}

/// The token for `s`.
pub fn token(tokens: &Tokens, s: &Subject) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD);
    payload.extend_from_slice(s.dealer_id.as_bytes());
    payload.extend_from_slice(s.customer_id.as_bytes());
    payload.push(channel_code(s.channel));
    payload.push(purpose_code(s.purpose));
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        tag(tokens, &payload)
    )
}

/// What `token` was made for, if we made it; `None` for anything forged,
/// garbled or truncated.
pub fn verify(tokens: &Tokens, token: &str) -> Option<Subject> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let (payload, given) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    if payload.len() != PAYLOAD || given.len() != TAG_HEX {
        return None;
    }
    if !same_digest(&tag(tokens, &payload), given) {
        return None;
    }
    Some(Subject {
        dealer_id: Uuid::from_slice(&payload[0..16]).ok()?,
        customer_id: Uuid::from_slice(&payload[16..32]).ok()?,
        channel: channel_of(payload[32])?,
        purpose: purpose_of(payload[33])?,
    })
}

/// The link for `token` under the public base URL.
pub fn url(public_base_url: &str, token: &str) -> String {
    format!("{}/u/{token}", public_base_url.trim_end_matches('/'))
}

/// What a valid token names, the customer still being the dealer's.
pub async fn subject(
    db: &impl ConnectionTrait,
    tokens: &Tokens,
    token: &str,
) -> AppResult<Subject> {
    let s = verify(tokens, token).ok_or(AppError::NotFound)?;
    customer::Entity::find_by_id(s.customer_id)
        .filter(customer::Column::DealerId.eq(s.dealer_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(s)
}

/// Withdraws the consent the token names. Idempotent: a consent already
/// withdrawn stays as it is (answers whether this call withdrew it).
pub async fn unsubscribe<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    tokens: &Tokens,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<(Subject, bool)> {
    let s = subject(db, tokens, token).await?;
    let changed = withdraw_consent(
        db,
        s.customer_id,
        s.channel,
        &[s.purpose],
        ConsentSource::UnsubscribeLink,
        now,
    )
    .await?;
    if changed {
        tracing::info!(customer = %s.customer_id, channel = %s.channel, purpose = %s.purpose, "consent withdrawn by an unsubscribe link");
    }
    Ok((s, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &[u8]) -> Tokens {
        Tokens::new(secret, 900).unwrap()
    }

    fn subject() -> Subject {
        Subject {
            dealer_id: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            channel: Channel::Email,
            purpose: Purpose::Marketing,
        }
    }

    #[test]
    fn a_token_names_what_it_was_made_for_and_is_url_safe() {
        let t = tokens(b"0123456789abcdef0123456789abcdef");
        let s = subject();
        let tok = token(&t, &s);
        assert!(
            tok.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert!(tok.len() <= MAX_TOKEN);
        assert_eq!(verify(&t, &tok), Some(s));
    }

    #[test]
    fn a_changed_garbled_or_foreign_token_verifies_as_nothing() {
        let t = tokens(b"0123456789abcdef0123456789abcdef");
        let s = subject();
        let tok = token(&t, &s);
        // another customer's payload under this tag
        let other = token(
            &t,
            &Subject {
                customer_id: Uuid::now_v7(),
                ..s
            },
        );
        let forged = format!(
            "{}.{}",
            other.split_once('.').unwrap().0,
            tok.split_once('.').unwrap().1
        );
        assert_eq!(verify(&t, &forged), None);
        // a flipped character in the tag
        let mut flipped = tok.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(verify(&t, &String::from_utf8(flipped).unwrap()), None);
        // made with another secret
        assert_eq!(
            verify(&tokens(b"another-secret-another-secret-00"), &tok),
            None
        );
        for junk in [
            "",
            ".",
            "abc",
            "abc.def",
            &tok[..tok.len() - 1],
            &"a".repeat(500),
        ] {
            assert_eq!(verify(&t, junk), None, "{junk}");
        }
    }
}
