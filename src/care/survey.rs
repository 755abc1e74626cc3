//! The survey link of a post-repair follow-up: `{public_base_url}/s/{token}`.
//!
//! The token is `<base64url(payload)>.<tag>`: the payload is the repair
//! order's id and the link's expiry (Unix seconds, big-endian); the tag is
//! the first 128 bits (hex) of `keyed_hash("survey-v1", payload)`, an HMAC
//! keyed by the app's secret and domain-separated from every other use of
//! it (a tag made for an unsubscribe link never verifies here). It names
//! the order and nothing of the customer. Answering once is the survey's to
//! enforce: it records the answer against the order, so a second submit of
//! the same token finds it answered.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::auth::tokens::{Tokens, same_digest};

const LABEL: &[u8] = b"survey-v1";
const TAG_HEX: usize = 32;
const PAYLOAD: usize = 16 + 8;
const MAX_TOKEN: usize = 96;

fn tag(tokens: &Tokens, payload: &[u8]) -> String {
    let mut t = tokens.keyed_hash(&[LABEL, payload]);
    t.truncate(TAG_HEX);
    t
}

/// The token for order `order_id`, valid until `expires`.
pub fn token(tokens: &Tokens, order_id: Uuid, expires: DateTime<Utc>) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD);
    payload.extend_from_slice(order_id.as_bytes());
    payload.extend_from_slice(&expires.timestamp().to_be_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        tag(tokens, &payload)
    )
}

/// Why a token does not open a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Forged, garbled or truncated.
    Forged,
    /// Genuine, past its expiry.
    Expired,
}

/// The order a token was made for, if we made it and it has not expired at `now`.
pub fn verify(tokens: &Tokens, token: &str, now: DateTime<Utc>) -> Result<Uuid, Invalid> {
    if token.len() > MAX_TOKEN {
        return Err(Invalid::Forged);
    }
    let (payload, given) = token.split_once('.').ok_or(Invalid::Forged)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| Invalid::Forged)?;
    if payload.len() != PAYLOAD || given.len() != TAG_HEX {
        return Err(Invalid::Forged);
    }
    if !same_digest(&tag(tokens, &payload), given) {
        return Err(Invalid::Forged);
    }
    let order = Uuid::from_slice(&payload[..16]).map_err(|_| Invalid::Forged)?;
    let secs = i64::from_be_bytes(payload[16..].try_into().map_err(|_| Invalid::Forged)?);
    if now.timestamp() >= secs {
        return Err(Invalid::Expired);
    }
    Ok(order)
}

/// The link for `token` under the public base URL.
pub fn url(public_base_url: &str, token: &str) -> String {
    format!("{}/s/{token}", public_base_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn tokens(secret: &[u8]) -> Tokens {
        Tokens::new(secret, 900).unwrap()
    }

    #[test]
    fn a_token_opens_its_order_until_it_expires_and_nothing_else() {
        let t = tokens(b"test-secret-test-secret-test-secret-0123");
        let now = Utc::now();
        let order = Uuid::now_v7();
        let tok = token(&t, order, now + Duration::days(14));
        assert_eq!(verify(&t, &tok, now), Ok(order));
        assert_eq!(
            verify(&t, &tok, now + Duration::days(14)),
            Err(Invalid::Expired)
        );
        // another secret, a changed payload, a truncated tag, junk
        let other = tokens(b"another-secret-another-secret-00");
        assert_eq!(verify(&other, &tok, now), Err(Invalid::Forged));
        let (p, tag) = tok.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(p).unwrap();
        bytes[23] ^= 1;
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(verify(&t, &forged, now), Err(Invalid::Forged));
        assert_eq!(verify(&t, &tok[..tok.len() - 1], now), Err(Invalid::Forged));
        for junk in ["", ".", "a.b", &"x".repeat(500), "ü.ü"] {
            assert_eq!(verify(&t, junk, now), Err(Invalid::Forged), "{junk}");
        }
        assert_eq!(
            url("https://d.example/", &tok),
            format!("https://d.example/s/{tok}")
        );
    }
}
