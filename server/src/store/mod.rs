//! Storage behind one trait, [`Store`], with one implementation per backend:
//! [`SqliteStore`] (the embedded default: a file, or memory for tests) and [`PgStore`]
//! (many server nodes on one database).
//!
//! # The central primitive: compare-and-set on encoded state
//! The `state` table holds opaque values the crate encodes (the per-user digit-token
//! state, rate limiters, the org config), keyed by `(tenant, kind, key)`. A caller
//! [`read`](Store::read)s the values it needs, computes the next values with the crate,
//! and [`commit`](Store::commit)s a [`Batch`]: every [`CasWrite`] names the value it
//! expects (or [`None`] for "absent"), and the whole batch, with its inserts, is one
//! transaction with one commit. When any expectation fails nothing is written and
//! `commit` answers [`Committed::Conflict`]; the caller re-reads (and re-reads the clock)
//! and tries again, a bounded number of times ([`MAX_CAS_ATTEMPTS`]).
//!
//! "Absent" is an atomic insert-if-absent (`INSERT ... ON CONFLICT DO NOTHING`, then the
//! row count), never a read followed by an insert.
//!
//! No transaction spans a network call, an RSA operation or an Argon2 hash: callers do
//! those before they build the batch.

/// The columns of a password change, for `concat!` in both backends.
macro_rules! change_columns {
    () => {
        "tenant, id, identity_id, source_id, account_id, state, errors, pending_hash, \
         created_at, updated_at, lease_until, lease_version, attempts"
    };
}

mod postgres;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A boxed future, so that [`Store`] can be used as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How many times a read-modify-write is tried before the request fails (each try
/// re-reads the state and the clock). Contention beyond this is answered 503.
pub const MAX_CAS_ATTEMPTS: usize = 32;

/// Per-node locks over state keys, so that one node's own requests for one key (a user's
/// 50 concurrent guesses, or every digit token one client asks for) take turns instead of
/// each failing the others' compare-and-set and retrying. Only an optimisation:
/// correctness is the compare-and-set's, which still decides between nodes.
#[derive(Debug)]
pub struct KeyLocks(Vec<tokio::sync::Mutex<()>>);

impl KeyLocks {
    /// 64 stripes: requests for different keys rarely share one.
    #[must_use]
    pub fn new() -> Self {
        Self((0..64).map(|_| tokio::sync::Mutex::new(())).collect())
    }

    fn stripe(&self, key: &StateKey) -> Option<usize> {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let len = u64::try_from(self.0.len()).ok()?;
        usize::try_from(hasher.finish() % len.max(1)).ok()
    }

    /// Holds the stripes of every key in `keys`, taken in ascending order (so that two
    /// requests over overlapping keys cannot wait for each other), each once.
    async fn hold(&self, keys: &[StateKey]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut stripes: Vec<usize> = keys.iter().filter_map(|k| self.stripe(k)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            if let Some(lock) = self.0.get(i) {
                guards.push(lock.lock().await);
            }
        }
        guards
    }
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self::new()
    }
}

/// What a state value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// The per-user digit-token state (live token record, guess budget, request limiter),
    /// keyed by user id.
    User,
    /// A per-client request limiter, keyed by OAuth `client_id`.
    Client,
    /// A per-client-address limiter, keyed by the address.
    Address,
    /// The tenant's password org config, key [`ORG_CONFIG_KEY`].
    OrgConfig,
    /// A counter for tests and tools.
    Counter,
}

/// The key of the one org config row of a tenant.
pub const ORG_CONFIG_KEY: &str = "org";

impl Kind {
    /// The name stored in the `kind` column.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Client => "client",
            Self::Address => "address",
            Self::OrgConfig => "org_config",
            Self::Counter => "counter",
        }
    }
}

/// The key of one state value.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// The tenant.
    pub tenant: String,
    /// What the value is.
    pub kind: Kind,
    /// The user id, client id, address...
    pub key: String,
}

impl StateKey {
    /// A key.
    #[must_use]
    pub fn new(tenant: impl Into<String>, kind: Kind, key: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            kind,
            key: key.into(),
        }
    }
}

/// User ids and addresses are personal data: `Debug` shows the tenant and kind only.
impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateKey")
            .field("tenant", &self.tenant)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// One compare-and-set: write `new` at `key` if the stored value is `expected`
/// ([`None`]: if there is no value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CasWrite {
    /// Where.
    pub key: StateKey,
    /// The value read before (or [`None`]: absent).
    pub expected: Option<Vec<u8>>,
    /// The value to store.
    pub new: Vec<u8>,
}

/// Writes that succeed or fail together, in one transaction.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Compare-and-set writes on the state table; any failed expectation aborts the batch.
    pub writes: Vec<CasWrite>,
    /// New password-change records (state `IN_PROGRESS`).
    pub changes: Vec<NewChange>,
    /// Credential writes. Each is applied only if no newer change has written that
    /// account already (so a late, re-applied change never overwrites a newer password);
    /// a skipped write does not abort the batch.
    pub credentials: Vec<CredentialWrite>,
}

impl Batch {
    /// Nothing to write (and nothing expected).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.changes.is_empty() && self.credentials.is_empty()
    }
}

/// The outcome of [`Store::commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Committed {
    /// Every expectation held; everything was written.
    Applied,
    /// An expectation failed; nothing was written. Re-read and try again.
    Conflict,
}

/// The state of a password change, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeState {
    /// `IN_PROGRESS`.
    InProgress,
    /// `FINISHED`.
    Finished,
    /// `FAILED`.
    Failed,
}

impl ChangeState {
    /// The stored (and API) name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "IN_PROGRESS" => Ok(Self::InProgress),
            "FINISHED" => Ok(Self::Finished),
            "FAILED" => Ok(Self::Failed),
            other => Err(StoreError::Fault(format!("unknown change state {other:?}"))),
        }
    }
}

/// A new password change, to insert.
#[derive(Clone)]
pub struct NewChange {
    /// The tenant.
    pub tenant: String,
    /// `requestId`.
    pub id: String,
    /// The identity whose password changes.
    pub identity_id: String,
    /// The source.
    pub source_id: String,
    /// The account on the source.
    pub account_id: String,
    /// The Argon2id PHC string to apply (never a plaintext); `None` for a change whose
    /// credential is written in the same batch (recorded `FINISHED`).
    pub pending_hash: Option<String>,
    /// When (Unix milliseconds), by the recording node's clock. Stored as at least one
    /// millisecond after the newest change already recorded for the account, so that a
    /// change recorded after another is ordered after it (and its credential written)
    /// even when the nodes' clocks disagree by a few seconds.
    pub created_at: i64,
    /// Until when the node that recorded it holds it (Unix milliseconds): the worker of
    /// another node takes it over only after this.
    pub lease_until: i64,
}

impl fmt::Debug for NewChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewChange")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("source_id", &self.source_id)
            .finish_non_exhaustive()
    }
}

/// A password change as stored.
#[derive(Clone)]
pub struct PasswordChange {
    /// The tenant.
    pub tenant: String,
    /// `requestId`.
    pub id: String,
    /// The identity.
    pub identity_id: String,
    /// The source.
    pub source_id: String,
    /// The account.
    pub account_id: String,
    /// Its state.
    pub state: ChangeState,
    /// `errors` (empty unless `FAILED`).
    pub errors: Vec<String>,
    /// The hash still to apply; [`None`] once the change is settled.
    pub pending_hash: Option<String>,
    /// When it was recorded (Unix milliseconds).
    pub created_at: i64,
    /// When it last changed (Unix milliseconds).
    pub updated_at: i64,
    /// Until when a node holds it (Unix milliseconds).
    pub lease_until: i64,
    /// Bumped by every claim: the compare-and-set token of the row.
    pub lease_version: i64,
    /// How many times a node has claimed it.
    pub attempts: i64,
}

impl fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordChange")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("state", &self.state)
            .field("lease_version", &self.lease_version)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// A claim on a change: compare-and-set on its `lease_version`.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The tenant.
    pub tenant: String,
    /// The change.
    pub id: String,
    /// The version read; the claim bumps it by one.
    pub lease_version: i64,
    /// The new lease end (Unix milliseconds).
    pub lease_until: i64,
    /// Now (Unix milliseconds).
    pub now: i64,
}

/// The end of a change: compare-and-set on its `lease_version` (the claimer's).
#[derive(Clone, Debug)]
pub struct Settle {
    /// The tenant.
    pub tenant: String,
    /// The change.
    pub id: String,
    /// The version the claim set.
    pub lease_version: i64,
    /// `FINISHED` or `FAILED`.
    pub state: ChangeState,
    /// The errors to report (for `FAILED`).
    pub errors: Vec<String>,
    /// Now (Unix milliseconds).
    pub now: i64,
}

/// A credential to write: the Argon2id hash of an account's new password.
#[derive(Clone)]
pub struct CredentialWrite {
    /// The tenant.
    pub tenant: String,
    /// The source.
    pub source_id: String,
    /// The account.
    pub account_id: String,
    /// The Argon2id PHC string.
    pub phc: String,
    /// The change that writes it.
    pub change_id: String,
    /// When that change was recorded (orders writes to one account); the stored change's
    /// `created_at` takes its place when the change is recorded (as it is once committed).
    pub change_created_at: i64,
    /// Now (Unix milliseconds).
    pub now: i64,
}

impl fmt::Debug for CredentialWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialWrite")
            .field("tenant", &self.tenant)
            .field("source_id", &self.source_id)
            .field("change_id", &self.change_id)
            .finish_non_exhaustive()
    }
}

/// A stored credential.
#[derive(Clone)]
pub struct Credential {
    /// The Argon2id PHC string.
    pub phc: String,
    /// The change that last wrote it.
    pub change_id: String,
    /// When (Unix milliseconds).
    pub updated_at: i64,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("change_id", &self.change_id)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// A store failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The database cannot be reached now (connection refused, pool timed out, locked):
    /// answered 503, and the pool reconnects by itself.
    Unavailable(String),
    /// Anything else (a constraint, a decoding problem): answered 500.
    Fault(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(e) => write!(f, "database unavailable: {e}"),
            Self::Fault(e) => write!(f, "database fault: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        let text = e.to_string();
        match &e {
            E::Io(_)
            | E::Tls(_)
            | E::Protocol(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed
            | E::BeginFailed => Self::Unavailable(text),
            E::Database(db) => {
                let code = db.code().unwrap_or_default();
                // PostgreSQL: 08xxx connection exceptions, 53xxx insufficient resources,
                // 57P0x shutdown, 40001/40P01 serialization failure and deadlock.
                // SQLite: 5 (BUSY) and 6 (LOCKED) after the busy timeout.
                let busy = code.starts_with("08")
                    || code.starts_with("53")
                    || code.starts_with("57P0")
                    || code == "40001"
                    || code == "40P01"
                    || matches!(&*code, "5" | "6" | "261" | "262" | "517" | "773");
                if busy {
                    Self::Unavailable(text)
                } else {
                    Self::Fault(text)
                }
            }
            _ => Self::Fault(text),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Fault(format!("migration failed: {e}"))
    }
}

/// A store result.
pub type StoreResult<T> = Result<T, StoreError>;

/// The bounded compare-and-set loop every read-modify-write uses: reads `keys` (in one
/// round trip), hands the values to `step`, which computes the next values (reading the
/// clock itself, afresh) and returns the [`Batch`] to commit (its [`CasWrite`]s expecting
/// the values it was given) and a result; commits it; on a conflict, starts again, up to
/// [`MAX_CAS_ATTEMPTS`] times. An empty batch is applied without a transaction.
///
/// Returns `Ok(Some(result))` once a batch is applied, `Ok(None)` when every attempt
/// conflicted (answer 503: contention), or `step`'s own error (nothing written).
///
/// This node's requests for any of the keys take turns ([`KeyLocks`]); after a conflict
/// (another node wrote first) it waits a little longer each time before reading again.
///
/// # Errors
/// `step`'s errors, and store failures converted into `E`.
pub async fn read_modify_write<T, E, F>(
    store: &dyn Store,
    locks: &KeyLocks,
    keys: &[StateKey],
    step: F,
) -> Result<Option<T>, E>
where
    E: From<StoreError>,
    F: FnMut(&[Option<Vec<u8>>]) -> Result<(Batch, T), E>,
{
    read_modify_write_reading(store, locks, keys, &[], step).await
}

/// [`read_modify_write`] that also reads `also` in the same round trip (`step` gets the
/// values of `keys`, then those of `also`) without taking their locks: for values the
/// batch only reads (the org config a digit token is issued under). Like every read
/// here, they are only as fresh as the read.
///
/// # Errors
/// As [`read_modify_write`].
pub async fn read_modify_write_reading<T, E, F>(
    store: &dyn Store,
    locks: &KeyLocks,
    keys: &[StateKey],
    also: &[StateKey],
    mut step: F,
) -> Result<Option<T>, E>
where
    E: From<StoreError>,
    F: FnMut(&[Option<Vec<u8>>]) -> Result<(Batch, T), E>,
{
    let _turn = locks.hold(keys).await;
    let all: Vec<StateKey> = keys.iter().chain(also).cloned().collect();
    for attempt in 0..MAX_CAS_ATTEMPTS {
        if attempt > 0 {
            let millis = u64::try_from(attempt.min(20)).unwrap_or(20);
            tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        }
        let values = store.read(&all).await?;
        let (batch, result) = step(&values)?;
        if batch.is_empty() || store.commit(&batch).await? == Committed::Applied {
            return Ok(Some(result));
        }
    }
    Ok(None)
}

/// Where the server keeps its state.
///
/// Implementations must make [`commit`](Self::commit) atomic (all or nothing, one
/// transaction) and its expectations exact compare-and-set under concurrency from many
/// tasks and many nodes.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// Reads the values at `keys`, in order, in one round trip (`None`: absent).
    fn read<'a>(&'a self, keys: &'a [StateKey])
    -> BoxFuture<'a, StoreResult<Vec<Option<Vec<u8>>>>>;

    /// Applies `batch` in one transaction if every expectation holds.
    fn commit<'a>(&'a self, batch: &'a Batch) -> BoxFuture<'a, StoreResult<Committed>>;

    /// The password change `id` of `tenant`.
    fn change<'a>(
        &'a self,
        tenant: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<PasswordChange>>>;

    /// Up to `limit` changes still `IN_PROGRESS` whose lease ended at or before `now`
    /// (Unix milliseconds), oldest first.
    fn due_changes(&self, now: i64, limit: u32) -> BoxFuture<'_, StoreResult<Vec<PasswordChange>>>;

    /// Claims a change still `IN_PROGRESS` at `claim.lease_version` (compare-and-set):
    /// bumps the version and the attempt count and sets the lease. `false`: another node
    /// claimed or settled it first.
    fn claim_change<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, StoreResult<bool>>;

    /// Settles a change `IN_PROGRESS` at `settle.lease_version` (compare-and-set): sets
    /// the state and errors and forgets the pending hash. `false`: the lease was lost.
    fn settle_change<'a>(&'a self, settle: &'a Settle) -> BoxFuture<'a, StoreResult<bool>>;

    /// The credential of an account.
    fn credential<'a>(
        &'a self,
        tenant: &'a str,
        source_id: &'a str,
        account_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Credential>>>;

    /// Replaces the stored directory of each tenant in `documents` (`(tenant, JSON)`),
    /// in one transaction.
    fn import_directory<'a>(
        &'a self,
        documents: &'a [(String, String)],
        now: i64,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Every stored tenant directory, as `(tenant, JSON)`.
    fn directory(&self) -> BoxFuture<'_, StoreResult<Vec<(String, String)>>>;

    /// Whether the database answers (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
}

/// Connects to the database `url` names and runs the migrations.
///
/// `sqlite://PATH` (created if missing), `sqlite::memory:` (one connection, so that it is
/// one database) or `postgres://...`.
///
/// # Errors
/// [`StoreError`] when the URL is of no known kind, the database cannot be reached, or a
/// migration fails.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: std::time::Duration,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            SqliteStore::connect(url, max_connections, acquire_timeout).await?,
        ))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(std::sync::Arc::new(
            PgStore::connect(url, max_connections, acquire_timeout).await?,
        ))
    } else {
        Err(StoreError::Fault(
            "database.url must start with sqlite: or postgres:".into(),
        ))
    }
}

fn parse_errors(json: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(json).map_err(|e| StoreError::Fault(format!("errors column: {e}")))
}

fn errors_json(errors: &[String]) -> String {
    serde_json::to_string(errors).unwrap_or_else(|_| "[]".into())
}

/// The migrations of one backend, embedded in the binary.
fn migrator(files: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr as _;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, clippy::panic, reason = "tests")]

    use super::*;

    /// Requests over the same keys named in opposite orders (a user and a client, the
    /// client and the user) take the stripes in one order, so they take turns instead of
    /// each holding one stripe and waiting for the other's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_keys_in_any_order_take_turns() {
        let locks = std::sync::Arc::new(KeyLocks::new());
        let keys: Vec<StateKey> = (0..8)
            .map(|i| StateKey::new("t", Kind::User, format!("u{i}")))
            .collect();
        let mut tasks = Vec::new();
        for round in 0..200 {
            let locks = std::sync::Arc::clone(&locks);
            let mut mine = vec![keys[round % 8].clone(), keys[(round + 3) % 8].clone()];
            if (round / 8) % 2 == 1 {
                mine.reverse();
            }
            tasks.push(tokio::spawn(async move {
                let guards = locks.hold(&mine).await;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                guards.len()
            }));
        }
        let all = async {
            let mut held = 0;
            for task in tasks {
                held += task.await.unwrap_or(0);
            }
            held
        };
        let held = tokio::time::timeout(std::time::Duration::from_secs(20), all)
            .await
            .unwrap_or_else(|_| panic!("the lock holders waited for each other"));
        // Two distinct keys may share a stripe: then one guard. Never none.
        assert!((200..=400).contains(&held), "{held}");
    }
}
