//! Access tokens (short JWTs, HS256) and opaque refresh tokens (random, stored
//! as SHA-256). Expiry is checked against the injected clock, not the wall clock.

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Actor;
use crate::domain::Role;
use crate::error::AppError;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    dealer: Uuid,
    roles: Vec<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cid: Option<Uuid>,
    iat: i64,
    exp: i64,
}

#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    mac: Hmac<Sha256>,
    pub access_ttl_secs: i64,
}

impl Tokens {
    pub fn new(secret: &[u8], access_ttl_secs: i64) -> anyhow::Result<Self> {
        let mut validation = Validation::new(Algorithm::HS256);
        // expiry is checked against the injected clock below
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            mac: Hmac::<Sha256>::new_from_slice(secret)
                .map_err(|e| anyhow::anyhow!("hmac key: {e}"))?,
            access_ttl_secs,
        })
    }

    pub fn issue_access(&self, actor: &Actor, now: DateTime<Utc>) -> anyhow::Result<String> {
        let claims = Claims {
            sub: actor.id,
            dealer: actor.dealer_id,
            roles: actor.roles.clone(),
            cid: actor.customer_id,
            iat: now.timestamp(),
            exp: now.timestamp() + self.access_ttl_secs,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify_access(&self, token: &str, now: DateTime<Utc>) -> Result<Actor, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthorized("the access token is not valid"))?;
        let c = data.claims;
        if c.exp <= now.timestamp() {
            return Err(AppError::Unauthorized(
                "the access token has expired; refresh it",
            ));
        }
        Ok(Actor {
            id: c.sub,
            dealer_id: c.dealer,
            roles: c.roles,
            customer_id: c.cid,
        })
    }

    /// A keyed hash for short secrets (OTP codes), so a database leak does not
    /// reveal codes by brute force over a million values.
    pub fn keyed_hash(&self, parts: &[&[u8]]) -> String {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
            mac.update(b"\x1f");
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A new opaque refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares two hex digests without early exit.
pub fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
