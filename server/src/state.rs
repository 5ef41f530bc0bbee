//! [`AppState`]: everything a request needs, built once. The server owns time and
//! randomness here (one clock, one RNG) and hands them to the crate on every call.

use std::sync::Arc;

use password_mgmt::time::UtcDateTime;
use password_mgmt::{PasswordKeyRing, Scheme, TokenKeyRing};

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::{Limits, Settings};
use crate::directory::Directory;
use crate::entropy::Entropy;
use crate::hashing::Hasher;
use crate::sink::PasswordSink;
use crate::store::{KeyLocks, Store};

/// The parts of an [`AppState`], for adopters and tests that assemble their own.
#[derive(Debug)]
pub struct Parts {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The directory.
    pub directory: Directory,
    /// The RSA keys for passwords in transit.
    pub password_keys: PasswordKeyRing,
    /// The scheme the deployment serves.
    pub scheme: Scheme,
    /// The digit-token MAC keys.
    pub token_keys: TokenKeyRing,
    /// Bearer-token verification and issuing.
    pub auth: Authenticator,
    /// Argon2id.
    pub hasher: Hasher,
    /// Where new passwords go.
    pub sink: Arc<dyn PasswordSink>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The RNG.
    pub rng: Entropy,
    /// The settings (limits, worker timings).
    pub settings: Settings,
    /// The limits, parsed from the settings.
    pub limits: Limits,
}

/// The shared state of every handler: cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    directory: Directory,
    password_keys: PasswordKeyRing,
    scheme: Scheme,
    token_keys: TokenKeyRing,
    auth: Authenticator,
    hasher: Arc<Hasher>,
    sink: Arc<dyn PasswordSink>,
    clock: Arc<dyn Clock>,
    rng: Entropy,
    settings: Settings,
    limits: Limits,
    key_locks: KeyLocks,
}

impl AppState {
    /// Assembles the state.
    #[must_use]
    pub fn new(parts: Parts) -> Self {
        Self(Arc::new(Inner {
            store: parts.store,
            directory: parts.directory,
            password_keys: parts.password_keys,
            scheme: parts.scheme,
            token_keys: parts.token_keys,
            auth: parts.auth,
            hasher: Arc::new(parts.hasher),
            sink: parts.sink,
            clock: parts.clock,
            rng: parts.rng,
            settings: parts.settings,
            limits: parts.limits,
            key_locks: KeyLocks::new(),
        }))
    }

    /// Now, from the server's one clock. Read it again on every retry.
    #[must_use]
    pub fn now(&self) -> UtcDateTime {
        self.0.clock.now()
    }

    /// A handle on the server's RNG, to hand to the crate.
    #[must_use]
    pub fn rng(&self) -> Entropy {
        self.0.rng.clone()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.0.store
    }

    /// The directory.
    #[must_use]
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }

    /// The RSA key ring for passwords in transit.
    #[must_use]
    pub fn password_keys(&self) -> &PasswordKeyRing {
        &self.0.password_keys
    }

    /// The scheme clients encrypt passwords with.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        self.0.scheme
    }

    /// The digit-token MAC key ring.
    #[must_use]
    pub fn token_keys(&self) -> &TokenKeyRing {
        &self.0.token_keys
    }

    /// Bearer-token verification and issuing.
    #[must_use]
    pub fn auth(&self) -> &Authenticator {
        &self.0.auth
    }

    /// Argon2id.
    #[must_use]
    pub fn hasher(&self) -> &Arc<Hasher> {
        &self.0.hasher
    }

    /// Where new passwords go.
    #[must_use]
    pub fn sink(&self) -> &Arc<dyn PasswordSink> {
        &self.0.sink
    }

    /// The settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// This node's locks over state keys (see [`read_modify_write`](crate::store::read_modify_write)).
    #[must_use]
    pub fn key_locks(&self) -> &KeyLocks {
        &self.0.key_locks
    }

    /// The limits (per user, per client, per address).
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.0.limits
    }
}
