//! Applies recorded password changes, idempotently and resumably.
//!
//! `set-password` records a change `IN_PROGRESS` (holding the Argon2id hash to apply and a
//! lease for the recording node) and answers 202; the recording node then applies it at
//! once ([`apply`]). Every node also runs [`run`], which every `worker.poll_interval_seconds`
//! picks up changes still `IN_PROGRESS` whose lease has ended (their node died, or the
//! sink failed for a while) and applies them. A change is claimed by compare-and-set on its
//! `lease_version`, so two nodes never work on it at once; the sink is idempotent, so a
//! change applied by a node that died before it could record `FINISHED` is harmless to
//! apply again; the settle is a compare-and-set too.

use crate::AppState;
use crate::clock::{plus_seconds, to_millis};
use crate::sink::SinkError;
use crate::store::{ChangeState, Claim, PasswordChange, Settle, StoreError};

/// How one attempt at a change ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The change is `FINISHED`.
    Finished,
    /// The change is `FAILED`.
    Failed,
    /// Another node claimed or settled it first; nothing done here.
    Lost,
    /// The sink failed for now; the change stays `IN_PROGRESS` until its lease ends.
    Retry,
}

/// Claims `change` (as read) and applies it.
///
/// # Errors
/// [`StoreError`] when the store fails while claiming or settling (the lease then makes
/// another attempt happen later).
pub async fn apply(state: &AppState, change: PasswordChange) -> Result<Applied, StoreError> {
    let worker = state.settings().worker;
    let now = state.now();
    let claim = Claim {
        tenant: change.tenant.clone(),
        id: change.id.clone(),
        lease_version: change.lease_version,
        lease_until: to_millis(plus_seconds(now, worker.lease_seconds)),
        now: to_millis(now),
    };
    if !state.store().claim_change(&claim).await? {
        return Ok(Applied::Lost);
    }
    let version = change.lease_version.saturating_add(1);
    let attempt = change.attempts.saturating_add(1);
    let settle = |state: ChangeState, errors: Vec<String>, now| Settle {
        tenant: change.tenant.clone(),
        id: change.id.clone(),
        lease_version: version,
        state,
        errors,
        now,
    };
    if attempt > i64::from(worker.max_attempts) {
        // Claimed again and again without settling (nodes dying mid-way): give up.
        let s = settle(
            ChangeState::Failed,
            vec!["the password could not be applied; try again later".into()],
            claim.now,
        );
        tracing::error!(change = %change.id, attempt, "password change failed; giving up");
        return Ok(if state.store().settle_change(&s).await? {
            Applied::Failed
        } else {
            Applied::Lost
        });
    }
    let Some(phc) = change.pending_hash.as_deref() else {
        let s = settle(
            ChangeState::Failed,
            vec!["the change has nothing to apply".into()],
            claim.now,
        );
        return Ok(if state.store().settle_change(&s).await? {
            Applied::Failed
        } else {
            Applied::Lost
        });
    };
    let outcome = state.sink().apply(&change, phc, claim.now).await;
    let now = to_millis(state.now());
    let s = match outcome {
        Ok(()) => settle(ChangeState::Finished, Vec::new(), now),
        Err(SinkError::Rejected(reason)) => {
            tracing::warn!(change = %change.id, %reason, "password change rejected by the sink");
            settle(ChangeState::Failed, vec![reason], now)
        }
        Err(SinkError::Transient(reason)) => {
            if attempt >= i64::from(worker.max_attempts) {
                tracing::error!(change = %change.id, %reason, attempt, "password change failed; giving up");
                settle(
                    ChangeState::Failed,
                    vec!["the password could not be applied; try again later".into()],
                    now,
                )
            } else {
                tracing::warn!(change = %change.id, %reason, attempt, "password change not applied yet; will retry");
                return Ok(Applied::Retry);
            }
        }
    };
    let finished = s.state == ChangeState::Finished;
    if !state.store().settle_change(&s).await? {
        return Ok(Applied::Lost);
    }
    tracing::info!(change = %change.id, state = s.state.as_str(), "password change settled");
    Ok(if finished {
        Applied::Finished
    } else {
        Applied::Failed
    })
}

/// One sweep: applies every change whose lease has ended (up to 100). Returns how many
/// this node settled.
///
/// # Errors
/// [`StoreError`] when the store cannot list the changes.
pub async fn sweep(state: &AppState) -> Result<usize, StoreError> {
    let due = state
        .store()
        .due_changes(to_millis(state.now()), 100)
        .await?;
    let mut settled = 0usize;
    for change in due {
        match apply(state, change).await {
            Ok(Applied::Finished | Applied::Failed) => settled = settled.saturating_add(1),
            Ok(Applied::Lost | Applied::Retry) => {}
            Err(e) => tracing::warn!(error = %e, "password change worker: store failed"),
        }
    }
    Ok(settled)
}

/// Sweeps every `worker.poll_interval_seconds` until `shutdown` changes.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let period = std::time::Duration::from_secs(state.settings().worker.poll_interval_seconds);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = sweep(&state).await {
                    tracing::warn!(error = %e, "password change worker: cannot list changes");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}
