//! The crate's encoded values in the `state` table: one user's digit-token state and the
//! rate limiters, read into the crate's types and written back as compare-and-set writes
//! on exactly the bytes that were read.
//!
//! A missing row is the crate's fresh value; its write is then an insert-if-absent
//! ([`CasWrite::expected`] `None`), so two first writes for one user cannot both succeed.

use password_mgmt::{RateLimiter, StateUpdate, UserState};

use crate::error::ApiError;
use crate::store::{Batch, CasWrite, KeyLocks, Kind, StateKey, Store, read_modify_write};

/// The row of a user's digit-token state.
#[must_use]
pub fn user_key(tenant: &str, user_id: &str) -> StateKey {
    StateKey::new(tenant, Kind::User, user_id)
}

/// A user's state as stored (a missing row: the fresh state).
///
/// # Errors
/// A 500 for bytes the crate refuses (the store holds something this server did not
/// write).
pub fn user_state(stored: Option<&[u8]>) -> Result<UserState, ApiError> {
    stored.map_or(Ok(UserState::new()), |bytes| {
        UserState::decode(bytes).map_err(|e| ApiError::internal(format!("stored user state: {e}")))
    })
}

/// A rate limiter as stored (a missing row: a fresh limiter).
///
/// # Errors
/// A 500 for bytes the crate refuses.
pub fn limiter(stored: Option<&[u8]>) -> Result<RateLimiter, ApiError> {
    stored.map_or(Ok(RateLimiter::new()), |bytes| {
        RateLimiter::decode(bytes).map_err(|e| ApiError::internal(format!("stored limiter: {e}")))
    })
}

/// The compare-and-set write of `update` at `key`, expecting the bytes that were read
/// (`stored`; `None`: insert if absent).
///
/// # Errors
/// A 500 when the update does not start from what was read (a bug, never a client's
/// doing): writing it would break the compare-and-set.
pub fn write<const N: usize>(
    key: StateKey,
    stored: Option<&[u8]>,
    update: &StateUpdate<N>,
    fresh: [u8; N],
) -> Result<CasWrite, ApiError> {
    if stored.unwrap_or(&fresh) != update.expected() {
        return Err(ApiError::internal(
            "a state update does not start from the state read",
        ));
    }
    Ok(CasWrite {
        key,
        expected: stored.map(<[u8]>::to_vec),
        new: update.replacement().to_vec(),
    })
}

/// The write of a user's state update.
///
/// # Errors
/// As [`write()`].
pub fn user_write(
    key: StateKey,
    stored: Option<&[u8]>,
    update: &password_mgmt::UserStateUpdate,
) -> Result<CasWrite, ApiError> {
    write(key, stored, update, UserState::new().encode())
}

/// The write of a limiter update.
///
/// # Errors
/// As [`write()`].
pub fn limiter_write(
    key: StateKey,
    stored: Option<&[u8]>,
    update: &StateUpdate<{ RateLimiter::ENCODED_LEN }>,
) -> Result<CasWrite, ApiError> {
    write(key, stored, update, RateLimiter::new().encode())
}

/// A help desk's unlock of one user (after checking who is asking): resets the count of
/// wrong codes in a row and refills the guess budget, keeping any live token, in one
/// compare-and-set. Answers the count that was reset (`Some(0)`, and no write, when there
/// was nothing to reset), or `None` when no state is stored for the user (a user name
/// that never had a code, or a typo).
///
/// # Errors
/// 503 when the store is unreachable or contention outlasts the retries; 500 for a
/// stored state the crate refuses.
pub async fn unlock(
    store: &dyn Store,
    locks: &KeyLocks,
    tenant: &str,
    user_id: &str,
) -> Result<Option<u16>, ApiError> {
    let keys = [user_key(tenant, user_id)];
    read_modify_write(store, locks, &keys, |values| {
        let stored = values.first().cloned().flatten();
        let state = user_state(stored.as_deref())?;
        let update = state.unlock();
        let mut batch = Batch::default();
        if stored.is_some() && update.expected() != update.replacement() {
            batch
                .writes
                .push(user_write(keys[0].clone(), stored.as_deref(), &update)?);
        }
        let reset = stored.is_some().then(|| state.consecutive_failures());
        Ok::<_, ApiError>((batch, reset))
    })
    .await?
    .ok_or_else(|| ApiError::Unavailable("unlock: too much contention".into()))
}
