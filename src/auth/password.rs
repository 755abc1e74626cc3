//! argon2id password hashing, run off the async threads and bounded.
//!
//! Each hash or verification works in argon2's memory cost (19 MiB at OWASP's
//! parameters). Left unbounded, a burst of logins runs one per blocking thread
//! (hundreds) and the process grows by gigabytes, so every hash first takes a
//! slot of a semaphore sized to the cores, and a request that cannot get a slot
//! within the configured wait answers 503 with `Retry-After` instead of
//! queueing without end.
//!
//! Bounding the hashes at once is not enough on its own: the blocking pool runs
//! them on ever other threads, and glibc keeps a freed 19 MiB block in the
//! arena of the thread that freed it (a burst of 128 logins left 468 MB
//! resident with two slots). So the working memory is allocated once per slot
//! and handed from hash to hash: hashing holds `slots × 19 MiB`, whatever the
//! allocator does.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    /// Working memory, one per slot at most, reused from hash to hash.
    memories: Arc<Mutex<Vec<Vec<Block>>>>,
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
            memories: Arc::default(),
            wait,
            busy,
        };
        p.dummy_hash = p.with_memory(|m| p.hash_now("servicelane-dummy-password", m))?;
        Ok(p)
    }

    /// Runs `f` with a working memory of the pool. Called with a slot held, so
    /// there are never more memories than slots.
    fn with_memory<T>(&self, f: impl FnOnce(&mut Vec<Block>) -> T) -> T {
        let taken = self.memories.lock().ok().and_then(|mut m| m.pop());
        let mut memory = taken.unwrap_or_default();
        let result = f(&mut memory);
        // a stored hash of a higher cost grew it: give the excess back, so the
        // pool stays at `slots × memory_kib` as the module promises
        let ours = self.params.block_count();
        if memory.len() > ours {
            memory.truncate(ours);
            memory.shrink_to_fit();
        }
        if let Ok(mut m) = self.memories.lock() {
            m.push(memory);
        }
        result
    }

    fn hash_now(&self, password: &str, memory: &mut Vec<Block>) -> anyhow::Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        let output = compute(
            Algorithm::Argon2id,
            Version::V0x13,
            &self.params,
            password.as_bytes(),
            salt.as_salt(),
            Params::DEFAULT_OUTPUT_LEN,
            memory,
        )
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)
                .map_err(|e| anyhow::anyhow!("hashing: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(phc.to_string())
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
            me.with_memory(|m| me.hash_now(&password, m))
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
            me.with_memory(|m| verify_now(password.as_bytes(), &hash, &me.params, m))
        })
        .await
        .unwrap_or_else(|e| {
            // a wrong password to the caller, but not silently to us
            tracing::error!(error = %e, "password verification did not finish");
            false
        });
        Ok(ok && known)
    }
}

/// The costliest stored hash that is computed at all, per parameter (or ours,
/// when ours is higher). A hash written at a stronger setting than ours still
/// verifies (RFC 9106's 64 MiB with t=3 and p=4, OWASP's t up to 5), but a
/// stored string is not trusted to size the work: `m` is a u32 of KiB, so a
/// crafted `m=4294967295` would ask for 4 TiB (an allocation failure aborts
/// the whole process, no panic to catch) and `t=4294967295` would hold a slot
/// for hours.
const STORED_MAX_MEMORY_KIB: u32 = 64 * 1024;
const STORED_MAX_ITERATIONS: u32 = 8;
const STORED_MAX_LANES: u32 = 8;

fn within_ceiling(stored: &Params, ours: &Params) -> bool {
    stored.m_cost() <= ours.m_cost().max(STORED_MAX_MEMORY_KIB)
        && stored.t_cost() <= ours.t_cost().max(STORED_MAX_ITERATIONS)
        && stored.p_cost() <= ours.p_cost().max(STORED_MAX_LANES)
}

/// Whether `password` matches the PHC string `hash` (parameters, salt and
/// length as stored), computed in `memory`; the comparison is constant-time.
/// Only what we write is accepted: argon2id, version 19, a cost within
/// [`within_ceiling`] of `ours`; anything else is `false`, never a panic.
fn verify_now(password: &[u8], hash: &str, ours: &Params, memory: &mut Vec<Block>) -> bool {
    let mut check = || -> argon2::password_hash::Result<bool> {
        let h = PasswordHash::new(hash)?;
        let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
            return Ok(false);
        };
        if Algorithm::try_from(h.algorithm)? != Algorithm::Argon2id
            || h.version.map(Version::try_from).transpose()? != Some(Version::V0x13)
        {
            return Ok(false);
        }
        let params = Params::try_from(&h)?;
        if !within_ceiling(&params, ours) {
            return Ok(false);
        }
        let computed = compute(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            password,
            salt,
            expected.len(),
            memory,
        )?;
        // `Output`'s == is constant-time
        Ok(computed == expected)
    };
    check().unwrap_or(false)
}

/// argon2 over `memory`, grown to the parameters' size if it is smaller (the
/// first use of a slot, or a stored hash of a higher cost) and otherwise reused.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: argon2::password_hash::Salt<'_>,
    output_len: usize,
    memory: &mut Vec<Block>,
) -> argon2::password_hash::Result<Output> {
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let argon = Argon2::new(algorithm, version, params.clone());
    Output::init_with(output_len, |out| {
        Ok(argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    fn passwords() -> Passwords {
        Passwords::new(
            1024,
            1,
            1,
            Duration::from_secs(5),
            IntCounter::new("busy", "busy").unwrap(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_match_the_argon2_crate_both_ways() {
        let p = passwords();
        let ours = p.hash("correct horse".into()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{ours}");
        assert!(
            p.verify("correct horse".into(), Some(ours.clone()))
                .await
                .unwrap()
        );
        assert!(
            !p.verify("wrong horse".into(), Some(ours.clone()))
                .await
                .unwrap()
        );
        // the crate's own verifier accepts ours, ours accepts the crate's
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2048, 2, 1, None).unwrap(),
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon.verify_password(b"correct horse", &parsed).is_ok());
        let theirs = argon
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        // a stored hash of a higher cost than configured still verifies
        assert!(
            p.verify("battery staple".into(), Some(theirs.clone()))
                .await
                .unwrap()
        );
        assert!(!p.verify("battery".into(), Some(theirs)).await.unwrap());
        // an unknown user never verifies, even with the dummy's password
        assert!(
            !p.verify("servicelane-dummy-password".into(), None)
                .await
                .unwrap()
        );
        assert!(
            !p.verify("x".into(), Some("not a hash".into()))
                .await
                .unwrap()
        );
    }

    /// A PHC string with the given algorithm and parameters, a valid salt and
    /// a 32-byte output of zeros.
    fn crafted(algorithm: &str, params: &str) -> String {
        format!(
            "${algorithm}$v=19${params}$c2FsdHNhbHRzYWx0${}",
            "A".repeat(43)
        )
    }

    #[tokio::test]
    async fn a_crafted_stored_hash_is_refused_before_any_work() {
        let p = passwords();
        // without the ceiling, the first asks for 4 TiB and aborts the
        // process; the second computes for hours
        for hash in [
            crafted("argon2id", "m=4294967295,t=1,p=1"),
            crafted("argon2id", "m=8,t=4294967295,p=1"),
            crafted("argon2id", "m=134217720,t=1,p=16777215"),
            // not what we write
            crafted("argon2i", "m=1024,t=1,p=1"),
            crafted("argon2d", "m=1024,t=1,p=1"),
            crafted("argon2id", "m=1024,t=1,p=1").replace("$v=19", ""),
            crafted("argon2id", "m=1024,t=1,p=1").replace("v=19", "v=16"),
            crafted("argon2id", "m=1024,t=1,p=1,x=1"),
        ] {
            assert!(
                !p.verify("x".into(), Some(hash.clone())).await.unwrap(),
                "{hash}"
            );
        }
        // a stronger setting than ours within the ceiling is still computed
        let ours = Params::new(1024, 1, 1, None).unwrap();
        assert!(within_ceiling(
            &Params::new(64 * 1024, 3, 4, None).unwrap(),
            &ours
        ));
        assert!(within_ceiling(
            &Params::new(7168, 5, 1, None).unwrap(),
            &ours
        ));
        assert!(!within_ceiling(
            &Params::new(64 * 1024 + 1, 1, 1, None).unwrap(),
            &ours
        ));
        assert!(!within_ceiling(
            &Params::new(1024, 9, 1, None).unwrap(),
            &ours
        ));
        assert!(!within_ceiling(
            &Params::new(1024, 1, 9, None).unwrap(),
            &ours
        ));
    }

    #[tokio::test]
    async fn a_costlier_stored_hash_does_not_grow_the_pool_for_good() {
        let p = passwords();
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 1, 1, None).unwrap(),
        );
        let theirs = argon
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(
            p.verify("battery staple".into(), Some(theirs))
                .await
                .unwrap()
        );
        let memories = p.memories.lock().unwrap();
        assert_eq!(memories.len(), 1);
        assert_eq!(memories[0].len(), p.params.block_count());
        assert!(memories[0].capacity() < 8192, "{}", memories[0].capacity());
    }

    #[tokio::test]
    async fn one_working_memory_per_slot_at_most() {
        let p = passwords();
        for _ in 0..4 {
            p.hash("correct horse".into()).await.unwrap();
        }
        assert_eq!(p.memories.lock().unwrap().len(), 1);
    }
}
