//! Where new passwords go: [`PasswordSink`], a small trait so that a directory (LDAP,
//! Active Directory) can take the place of the reference implementation,
//! [`CredentialsSink`], which writes the Argon2id hash (a PHC string) into the
//! `credentials` table: the way a self-hosted application would use the crate.

use std::fmt;
use std::sync::Arc;

use crate::store::{
    Batch, BoxFuture, Committed, CredentialWrite, NewChange, PasswordChange, Store, StoreError,
};

/// Why a sink could not apply a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkError {
    /// Worth trying again later (the target is unreachable): the change stays
    /// `IN_PROGRESS` and another attempt follows, up to `worker.max_attempts`.
    Transient(String),
    /// The target refused the change for good: the change becomes `FAILED` with this text
    /// in `errors` (say little: clients read it).
    Rejected(String),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(e) => write!(f, "transient: {e}"),
            Self::Rejected(e) => write!(f, "rejected: {e}"),
        }
    }
}

impl From<StoreError> for SinkError {
    fn from(e: StoreError) -> Self {
        Self::Transient(e.to_string())
    }
}

/// Applies password changes.
///
/// **Idempotent, at least once**: a change may be applied more than once (a node that
/// applied it can die before it records `FINISHED`, and another node's worker then applies
/// it again), so applying the same change twice must leave the same result, and a change
/// applied late must not overwrite a newer one for the same account.
pub trait PasswordSink: Send + Sync + fmt::Debug + 'static {
    /// Sets the account's credential to the Argon2id PHC string `phc`.
    fn apply<'a>(
        &'a self,
        change: &'a PasswordChange,
        phc: &'a str,
        now_millis: i64,
    ) -> BoxFuture<'a, Result<(), SinkError>>;

    /// For a sink that lives in the server's own store: the credential write to put in the
    /// same transaction as the change itself, so that the change is recorded `FINISHED`
    /// with no second commit. `None` (the default) for a remote sink (a directory), whose
    /// changes are recorded `IN_PROGRESS` and applied by [`apply`](Self::apply).
    fn transactional_write(
        &self,
        _change: &NewChange,
        _phc: &str,
        _now_millis: i64,
    ) -> Option<CredentialWrite> {
        None
    }
}

/// The reference sink: the `credentials` table of the server's own store.
#[derive(Clone, Debug)]
pub struct CredentialsSink {
    store: Arc<dyn Store>,
}

impl CredentialsSink {
    /// A sink writing into `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

impl PasswordSink for CredentialsSink {
    fn apply<'a>(
        &'a self,
        change: &'a PasswordChange,
        phc: &'a str,
        now_millis: i64,
    ) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let batch = Batch {
                credentials: vec![CredentialWrite {
                    tenant: change.tenant.clone(),
                    source_id: change.source_id.clone(),
                    account_id: change.account_id.clone(),
                    phc: phc.to_owned(),
                    change_id: change.id.clone(),
                    change_created_at: change.created_at,
                    now: now_millis,
                }],
                ..Batch::default()
            };
            match self.store.commit(&batch).await? {
                // A credential write has no expectation that can fail; a newer change
                // already in place is kept, by the write's own condition.
                Committed::Applied | Committed::Conflict => Ok(()),
            }
        })
    }

    fn transactional_write(
        &self,
        change: &NewChange,
        phc: &str,
        now_millis: i64,
    ) -> Option<CredentialWrite> {
        Some(CredentialWrite {
            tenant: change.tenant.clone(),
            source_id: change.source_id.clone(),
            account_id: change.account_id.clone(),
            phc: phc.to_owned(),
            change_id: change.id.clone(),
            change_created_at: change.created_at,
            now: now_millis,
        })
    }
}
