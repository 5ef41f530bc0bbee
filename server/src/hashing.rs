//! Argon2id, the hash of stored passwords and of OAuth client secrets. Every hash and
//! every verification runs in `tokio::task::spawn_blocking`, carrying the tracing span,
//! and never inside a database transaction; at most one per core at a time (the others
//! wait their turn), so that the memory they take is bounded (`argon2.m_cost_kib` per
//! core, whatever the number of requests) and the cores are not shared out among more
//! hashes than they can run.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use password_mgmt::zeroize::Zeroizing;

use crate::config::Argon2Settings;
use crate::entropy::Entropy;
use crate::error::ApiError;

/// Hashes and verifies with Argon2id at the configured cost.
pub struct Hasher {
    params: Params,
    /// The hash that unknown OAuth clients are verified against, so that an unknown client
    /// costs what a known one does.
    dummy: String,
    verifications: AtomicU64,
    /// Hashes and verifications running now, and the most that ever ran at once.
    running: AtomicU64,
    peak: AtomicU64,
    /// One permit per core: the hashes and verifications that may run at once. A permit
    /// moves into the blocking task, so that a request given up on (a timeout, a client
    /// gone) still holds it until its hash is done.
    turns: Arc<tokio::sync::Semaphore>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("m_cost_kib", &self.params.m_cost())
            .field("t_cost", &self.params.t_cost())
            .field("p_cost", &self.params.p_cost())
            .finish_non_exhaustive()
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// The Argon2id PHC string of `secret` under `params`, with a 16-byte salt from `rng`.
///
/// # Errors
/// A message when the RNG fails or the parameters are refused.
pub fn hash_blocking(params: &Params, secret: &[u8], rng: &mut Entropy) -> Result<String, String> {
    let salt = rng.bytes::<16>().map_err(|e| e.to_string())?;
    argon2(params)
        .hash_password_with_salt(secret, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("argon2: {e}"))
}

impl Hasher {
    /// A hasher at the configured cost, with a fresh dummy hash.
    ///
    /// # Errors
    /// A message when the parameters are out of range or the RNG fails.
    pub fn new(settings: &Argon2Settings, rng: &mut Entropy) -> Result<Self, String> {
        let params = Params::new(settings.m_cost_kib, settings.t_cost, settings.p_cost, None)
            .map_err(|e| format!("argon2 settings: {e}"))?;
        let filler = Zeroizing::new(rng.bytes::<32>().map_err(|e| e.to_string())?);
        let dummy = hash_blocking(&params, &*filler, rng)?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Ok(Self {
            params,
            dummy,
            verifications: AtomicU64::new(0),
            running: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            turns: Arc::new(tokio::sync::Semaphore::new(cores)),
        })
    }

    /// How many verifications have run (known and unknown clients alike); for tests that
    /// check both paths pay for one.
    #[must_use]
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The most hashes and verifications that ran at once so far (never more than the
    /// cores).
    #[must_use]
    pub fn peak_concurrency(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Runs `work` counted in [`peak_concurrency`](Self::peak_concurrency).
    fn counted<T>(&self, work: impl FnOnce() -> T) -> T {
        let now = self
            .running
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        self.peak.fetch_max(now, Ordering::Relaxed);
        let out = work();
        self.running.fetch_sub(1, Ordering::Relaxed);
        out
    }

    /// Hashes `secret` off the async runtime.
    ///
    /// # Errors
    /// [`ApiError::Internal`] when hashing fails or the blocking task dies.
    pub async fn hash(
        self: &Arc<Self>,
        secret: Zeroizing<String>,
        mut rng: Entropy,
    ) -> Result<String, ApiError> {
        let turn = Arc::clone(&self.turns)
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let this = Arc::clone(self);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            span.in_scope(|| {
                this.counted(|| hash_blocking(&this.params, secret.as_bytes(), &mut rng))
            })
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::Internal)
    }

    /// Verifies `secret` against `phc`, or against the dummy hash when `phc` is `None`
    /// (an unknown client): both take the same time, and the second is always `false`.
    pub async fn verify(self: &Arc<Self>, secret: Zeroizing<String>, phc: Option<String>) -> bool {
        let Ok(turn) = Arc::clone(&self.turns).acquire_owned().await else {
            return false;
        };
        let this = Arc::clone(self);
        let span = tracing::Span::current();
        let known = phc.is_some();
        let verified = tokio::task::spawn_blocking(move || {
            let _turn = turn;
            span.in_scope(|| {
                this.verifications.fetch_add(1, Ordering::Relaxed);
                let phc = phc.as_deref().unwrap_or(&this.dummy);
                this.counted(|| {
                    PasswordHash::new(phc).is_ok_and(|hash| {
                        argon2(&this.params)
                            .verify_password(secret.as_bytes(), &hash)
                            .is_ok()
                    })
                })
            })
        })
        .await
        .unwrap_or(false);
        verified && known
    }
}

/// Whether `password` matches the PHC string `phc` (any Argon2 parameters); for tools and
/// tests. Blocking.
#[must_use]
pub fn verify_blocking(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// Many requests hashing at once run at most one hash per core; the rest wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_one_hash_per_core_runs_at_once() {
        let settings = Argon2Settings {
            m_cost_kib: 4096,
            t_cost: 1,
            p_cost: 1,
        };
        let mut rng = Entropy::seeded(1);
        let hasher = Arc::new(Hasher::new(&settings, &mut rng).unwrap());
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (hasher, rng) = (Arc::clone(&hasher), rng.clone());
                tokio::spawn(async move {
                    let secret = Zeroizing::new(format!("secret {i}"));
                    hasher.hash(secret, rng).await.is_ok()
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let peak = hasher.peak_concurrency();
        assert!(
            (1..=u64::try_from(cores).unwrap()).contains(&peak),
            "{peak} at once on {cores} cores"
        );
    }
}
