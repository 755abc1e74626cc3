//! argon2id password hashing, run off the async threads.

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// Verified against when the username is unknown, so that the answer
    /// takes as long as for a known one.
    dummy_hash: String,
}

impl Passwords {
    pub fn new(memory_kib: u32, iterations: u32) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        let mut p = Self {
            params,
            dummy_hash: String::new(),
        };
        p.dummy_hash = p.hash_now("servicelane-dummy-password")?;
        Ok(p)
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_now(&self, password: &str) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(self
            .argon()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))?
            .to_string())
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.hash_now(&password)).await?
    }

    /// `hash` None means "no such user": a dummy is verified and false returned.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let me = self.clone();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| me.argon().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && known
    }
}

/// Rules for a new password; staff passwords are set by an admin on the CLI.
pub fn check_new_password(p: &str) -> Result<(), String> {
    let n = p.chars().count();
    if n < 8 {
        return Err("must be at least 8 characters".into());
    }
    if n > 128 {
        return Err("must be at most 128 characters".into());
    }
    Ok(())
}
