//! The crate's encoded values in the `state` table: one user's digit-token state and the
//! rate limiters, read into the crate's types and written back as compare-and-set writes
//! on exactly the bytes that were read.
//!
//! A missing row is the crate's fresh value; its write is then an insert-if-absent
//! ([`CasWrite::expected`] `None`), so two first writes for one user cannot both succeed.

use password_mgmt::{RateLimiter, StateUpdate, UserState};

use crate::error::ApiError;
use crate::store::{CasWrite, Kind, StateKey};

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
