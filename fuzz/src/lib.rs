//! Shared fixtures of the fuzz targets: the fixed keys, a seeded RNG, raw config values.
//!
//! Every target asserts properties (round trips, agreement with a small model of the
//! documented behaviour), not only the absence of panics. A failed assertion is a finding.

use password_mgmt::time::UtcDateTime;
use password_mgmt::{PasswordOrgConfigInput, TokenKey};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// The MAC key every seed state's record was made under (the README's example key).
pub const KEY_BYTES: [u8; 32] = [0x5a; 32];

/// The user the seed states were issued to (of tenant `acme`).
pub const USER: &str = "Abby.Smith";

/// The MAC key of the seed records.
pub fn token_key() -> TokenKey {
    TokenKey::from_bytes(&KEY_BYTES)
}

/// Another key, with another id.
pub fn other_token_key() -> TokenKey {
    TokenKey::from_bytes(&[0xa5; 32])
}

/// A deterministic RNG: the targets must be reproducible from their input alone.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Reads fixed-size fields from the front of the input; missing bytes read as zero, so
/// every input, however short, is a complete value.
#[derive(Debug)]
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    /// The next `N` bytes, zero-padded.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    pub fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    pub fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.bytes())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.bytes())
    }

    /// Everything left.
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// Raw org-config values from 17 bytes: `flags (1) | minutes (8, i64 BE) | length (8, i64 BE)`.
///
/// Flag bits: 0 custom instructions given, 1 its value, 2 digit tokens given, 3 its value,
/// 4 minutes given, 5 length given.
pub fn raw_config(r: &mut Reader<'_>) -> PasswordOrgConfigInput {
    let flags = r.u8();
    let minutes = r.i64();
    let length = r.i64();
    let bit = |n: u8| flags & (1 << n) != 0;
    PasswordOrgConfigInput {
        custom_instructions_enabled: bit(0).then_some(bit(1)),
        digit_token_enabled: bit(2).then_some(bit(3)),
        digit_token_duration_minutes: bit(4).then_some(minutes),
        digit_token_length: bit(5).then_some(length),
    }
}

/// Unix seconds that `UtcDateTime` represents: `secs` itself when it does, otherwise
/// wrapped around its range (so that a seed's Unix time means that instant).
pub fn wrap_into_time(secs: i64) -> i64 {
    let min = i128::from(UtcDateTime::MIN.unix_timestamp());
    let count = i128::from(UtcDateTime::MAX.unix_timestamp()) - min + 1;
    let wrapped = min + (i128::from(secs) - min).rem_euclid(count);
    i64::try_from(wrapped).expect("inside UtcDateTime's range, which fits i64")
}

/// Whether a user id is accepted: not blank, at most 256 bytes (the documented rule).
pub fn user_id_ok(user_id: &str) -> bool {
    user_id.len() <= 256 && !user_id.trim().is_empty()
}
