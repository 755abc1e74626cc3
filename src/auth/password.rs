//! argon2id password hashing, run off the async threads and bounded.
//!
//! Each hash or verification takes argon2's memory cost (19 MiB at OWASP's
//! parameters) for as long as it runs. Left unbounded, a burst of logins runs
//! one per blocking thread (hundreds) and the process grows by gigabytes, so
//! every hash first takes a slot of a semaphore sized to the cores: memory in
//! use by hashing is at most `slots × memory cost`, and a request that cannot
//! get a slot within the configured wait answers 503 with `Retry-After`
//! instead of queueing without end.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use prometheus::IntCounter;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{AppError, AppResult};

/// What a client is told to wait after a 503: a hash takes tens of
/// milliseconds, so a slot is usually free again within a second.
const BUSY_RETRY_AFTER_SECS: i64 = 1;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// Verified against when the username is unknown, so that the answer
    /// takes as long as for a known one.
    dummy_hash: String,
    slots: Arc<Semaphore>,
    wait: Duration,
    /// Requests refused because no slot came free in time.
    busy: IntCounter,
}

impl Passwords {
    /// `concurrency` 0 means one slot per core.
    pub fn new(
        memory_kib: u32,
        iterations: u32,
        concurrency: usize,
        wait: Duration,
        busy: IntCounter,
    ) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let mut p = Self {
            params,
            dummy_hash: String::new(),
            slots: Arc::new(Semaphore::new(concurrency)),
            wait,
            busy,
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

    /// Waits for a hashing slot, at most the configured wait; after that the
    /// answer is 503 (`AppError::Busy`), counted in the metrics. Public so a
    /// test can hold the only slot.
    pub async fn slot(&self) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // the semaphore is never closed; treat it like a timeout anyway
            Ok(Err(_)) | Err(_) => {
                self.busy.inc();
                Err(AppError::Busy {
                    retry_after_secs: BUSY_RETRY_AFTER_SECS,
                })
            }
        }
    }

    /// Hashes a new password (user creation, password changes).
    pub async fn hash(&self, password: String) -> AppResult<String> {
        let permit = self.slot().await?;
        let me = self.clone();
        // the permit moves into the blocking task: a request cancelled while
        // hashing still holds its slot until the memory is given back
        Ok(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            me.hash_now(&password)
        })
        .await
        .map_err(anyhow::Error::from)??)
    }

    /// `hash` None means "no such user": a dummy is verified and false returned,
    /// through the same slot, so an unknown name costs (and takes) as much.
    pub async fn verify(&self, password: String, hash: Option<String>) -> AppResult<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let permit = self.slot().await?;
        let me = self.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            PasswordHash::new(&hash)
                .map(|h| me.argon().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        Ok(ok && known)
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
