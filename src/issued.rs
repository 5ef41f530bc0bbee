//! The record of an issued token, [`IssuedToken`], and what a verification concludes,
//! [`Outcome`]. Records live inside a user's [`UserState`](crate::UserState); issue and
//! verify through it.
//!
//! # What the record holds
//! Never the token. It holds `HMAC-SHA256(key, tag ‖ issued_at ‖ ttl ‖ length ‖ limit ‖
//! len(tenant) ‖ tenant ‖ len(purpose) ‖ purpose ‖ len(user) ‖ user ‖ token)` (each length
//! as two bytes, big-endian, so that no two subjects give the same input), the
//! [`KeyId`] of the key, the instant of issue, the lifetime, the length, the attempt
//! limit, the failed-attempt count and whether the token was used. A leaked store
//! therefore reveals no token, and without the key nobody can test guesses against it
//! offline. Because the MAC covers the [`Subject`] (tenant, user, purpose), a record made
//! for one tenant, user or flow never verifies for another under the same key; because it
//! covers the instant, lifetime, length and limit, a record whose fields were edited in the
//! store no longer matches even the right token.
//!
//! # The validity window
//! A token issued at `t` with lifetime `d` is valid for `t <= now < t + d` (half-open),
//! widened at the start by the [clock tolerance](crate::UserLimits::clock_tolerance) so
//! that a node whose clock is a little behind the issuing node's accepts it. An instant
//! before that is refused as [`Outcome::NotYetValid`] without looking at the candidate and
//! without counting an attempt: it means a clock is further off than the tolerance, not
//! that someone guessed.

use core::fmt;

use hmac::Mac;
use subtle::ConstantTimeEq;
use time::{Duration, UtcDateTime};

use crate::digit_token::{Candidate, DigitToken, TokenLength};
use crate::error::{Error, RecordError};
use crate::key_id::KeyId;
use crate::params::{AttemptLimit, Purpose, Subject, TokenParams, TokenTtl};
use crate::retry_after::RetryAfter;
use crate::stored::{Reader, fill};
use crate::token_key::TokenKey;

/// Length of the fields the MAC binds: issued-at seconds (8) and nanoseconds (4), lifetime,
/// length and attempt limit (1 each).
const BOUND_LEN: usize = 8 + 4 + 3;

/// The longest MAC input between the domain tag (which the key's state has absorbed) and
/// the token: the bound fields, and the subject's three parts at their longest, each after
/// its 2-byte length.
const MAC_PREFIX_MAX: usize =
    BOUND_LEN + 6 + Subject::MAX_TENANT_LEN + Purpose::MAX_LEN + Subject::MAX_USER_LEN;

/// Writes `part` into `buf` at `at` and returns the end; a part that would not fit (none
/// does, for a checked subject) is left out, which only makes the MAC differ.
fn put(buf: &mut [u8], at: usize, part: &[u8]) -> usize {
    let end = at.saturating_add(part.len());
    match buf.get_mut(at..end) {
        Some(slot) => {
            slot.copy_from_slice(part);
            end
        }
        None => at,
    }
}

/// The record a service stores for an issued token, inside the user's
/// [`UserState`](crate::UserState). Holds no secret: see the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    key_id: KeyId,
    mac: [u8; 32],
    issued_at: UtcDateTime,
    /// `issued_at + ttl`, checked representable whenever a record is made or decoded.
    expires_at: UtcDateTime,
    ttl: TokenTtl,
    length: TokenLength,
    attempt_limit: AttemptLimit,
    failed_attempts: u8,
    consumed: bool,
}

/// What a verification concluded. Say as little of it to the user as you can ("the code
/// is wrong or has expired"); log it, with [`as_str`](Self::as_str).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The candidate is the token. Once stored, the token is used; let the user proceed.
    Accepted,
    /// The candidate is well-formed but wrong; a failed attempt was counted.
    Mismatch {
        /// Failed attempts left before the token locks (0: it is now locked).
        attempts_left: u8,
    },
    /// The candidate has the wrong length or a character other than `0`-`9`; a failed
    /// attempt was counted.
    Malformed {
        /// Failed attempts left before the token locks (0: it is now locked).
        attempts_left: u8,
    },
    /// The user has no token (none was issued, or it was replaced by none). Nothing counted.
    NoToken,
    /// `now` is at or past the expiry instant. Nothing counted.
    Expired,
    /// `now` is before the instant of issue by more than the clock tolerance. Nothing
    /// counted, and the candidate was not examined.
    NotYetValid,
    /// The token's attempt limit was reached earlier; even the right token is refused.
    /// Nothing counted.
    TokenLocked,
    /// The token was accepted before; tokens are single-use. Nothing counted.
    AlreadyUsed,
    /// The user's guess budget is spent: too many failed guesses across tokens lately.
    /// Even the right token is refused; nothing counted.
    BudgetExhausted {
        /// How long until the budget allows another guess.
        retry_after: RetryAfter,
    },
    /// The user reached the cap on consecutive failures
    /// ([`UserLimits::consecutive_failures`](crate::UserLimits::consecutive_failures), 100
    /// by default, as NIST SP 800-63B-4 requires): every code is refused until an explicit
    /// [`UserState::unlock`](crate::UserState::unlock). Nothing counted.
    UserLockedOut,
}

impl Outcome {
    /// Whether the candidate was accepted.
    #[must_use]
    pub const fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted)
    }

    /// Whether a failed guess was counted.
    #[must_use]
    pub const fn is_counted_failure(self) -> bool {
        matches!(self, Self::Mismatch { .. } | Self::Malformed { .. })
    }

    /// A stable name for logs, e.g. `"token_locked"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Mismatch { .. } => "mismatch",
            Self::Malformed { .. } => "malformed",
            Self::NoToken => "no_token",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::TokenLocked => "token_locked",
            Self::AlreadyUsed => "already_used",
            Self::BudgetExhausted { .. } => "budget_exhausted",
            Self::UserLockedOut => "user_locked_out",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl IssuedToken {
    /// Length of the encoded record inside a user's state.
    pub(crate) const ENCODED_LEN: usize = KeyId::LEN + 32 + BOUND_LEN + 2;

    /// A record for `token`, issued to `subject` at `now` under `key`.
    pub(crate) fn new(
        key: &TokenKey,
        subject: &Subject<'_>,
        params: &TokenParams,
        token: &DigitToken,
        now: UtcDateTime,
    ) -> Result<Self, Error> {
        let ttl = params.ttl();
        let expires_at = now
            .checked_add(ttl.as_duration())
            .ok_or(Error::TimeOutOfRange)?;
        let mut record = Self {
            key_id: key.id(),
            mac: [0; 32],
            issued_at: now,
            expires_at,
            ttl,
            length: params.length(),
            attempt_limit: params.attempt_limit(),
            failed_attempts: 0,
            consumed: false,
        };
        record.mac = record.mac_of(key, subject, token.as_bytes());
        Ok(record)
    }

    /// The refusals that examine no candidate, in order: used, locked, not yet valid
    /// (beyond `tolerance`), expired. `None` when a candidate may be compared.
    pub(crate) fn refusal(&self, now: UtcDateTime, tolerance: Duration) -> Option<Outcome> {
        let valid_from = self
            .issued_at
            .checked_sub(tolerance)
            .unwrap_or(UtcDateTime::MIN);
        if self.consumed {
            Some(Outcome::AlreadyUsed)
        } else if self.is_locked() {
            Some(Outcome::TokenLocked)
        } else if now < valid_from {
            Some(Outcome::NotYetValid)
        } else if now >= self.expires_at {
            Some(Outcome::Expired)
        } else {
            None
        }
    }

    /// One counted attempt at `candidate`: the outcome and the record after it. Call only
    /// after [`Self::refusal`] returned `None`, with the key that made the record.
    pub(crate) fn attempt(
        &self,
        key: &TokenKey,
        subject: &Subject<'_>,
        candidate: &Candidate<'_>,
    ) -> (Outcome, Self) {
        let mut record = self.clone();
        let candidate = candidate.as_bytes();
        let well_formed = candidate.len() == usize::from(self.length.get())
            && candidate.iter().all(u8::is_ascii_digit);
        if !well_formed {
            record.failed_attempts = record.failed_attempts.saturating_add(1);
            let attempts_left = record.attempts_left();
            return (Outcome::Malformed { attempts_left }, record);
        }
        let expected = self.mac_of(key, subject, candidate);
        let outcome = if bool::from(macs_equal(&self.mac, &expected)) {
            record.consumed = true;
            Outcome::Accepted
        } else {
            record.failed_attempts = record.failed_attempts.saturating_add(1);
            Outcome::Mismatch {
                attempts_left: record.attempts_left(),
            }
        };
        (outcome, record)
    }

    /// The MAC over the bound fields, the subject and `token`.
    fn mac_of(&self, key: &TokenKey, subject: &Subject<'_>, token: &[u8]) -> [u8; 32] {
        // Everything but the token goes in as one update: each update call costs about as
        // much as hashing a block's worth of bytes. None of it is secret.
        let mut prefix = [0u8; MAC_PREFIX_MAX];
        let bound = self.bound_fields();
        let mut len = put(&mut prefix, 0, &bound);
        for part in [subject.tenant, subject.purpose.as_str(), subject.user] {
            // `Subject::check` caps every part far below `u16::MAX`; saturating keeps it total.
            let part_len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            len = put(&mut prefix, len, &part_len.to_be_bytes());
            len = put(&mut prefix, len, part.as_bytes());
        }
        let mut mac = key.token_mac();
        mac.update(prefix.get(..len).unwrap_or_default());
        mac.update(token);
        mac.finalize().into_bytes().into()
    }

    /// The fields the MAC binds, as encoded: issued-at seconds and nanoseconds, lifetime,
    /// length and attempt limit.
    fn bound_fields(&self) -> [u8; BOUND_LEN] {
        let mut out = [0; BOUND_LEN];
        let secs = self.issued_at.unix_timestamp().to_be_bytes();
        let nanos = self.issued_at.nanosecond().to_be_bytes();
        let small = [
            self.ttl.minutes(),
            self.length.get(),
            self.attempt_limit.get(),
        ];
        fill(&mut out, &[&secs, &nanos, &small]);
        out
    }

    /// The record's bytes inside a user's state (integers big-endian): key id (8), MAC
    /// (32), issued-at Unix seconds (8, signed) and nanoseconds (4), lifetime in minutes
    /// (1), token length (1), attempt limit (1), failed attempts (1), used flag (1).
    pub(crate) fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0; Self::ENCODED_LEN];
        let key_id = self.key_id.to_bytes();
        let tail = [self.failed_attempts, u8::from(self.consumed)];
        fill(&mut out, &[&key_id, &self.mac, &self.bound_fields(), &tail]);
        out
    }

    /// Decodes the bytes [`encode`](Self::encode) writes, strictly: every field is checked
    /// against the invariants of a record this crate can make.
    pub(crate) fn decode(bytes: &[u8; Self::ENCODED_LEN]) -> Result<Self, RecordError> {
        // `bytes` holds exactly the fields below, so no `take` comes up short; the error is
        // there only because the library never panics.
        let short = RecordError::InvalidField("record");
        let mut r = Reader(bytes);
        let key_id = KeyId::from_bytes(r.take().ok_or(short)?);
        let mac = r.take().ok_or(short)?;
        let secs = i64::from_be_bytes(r.take().ok_or(short)?);
        let nanos = u32::from_be_bytes(r.take().ok_or(short)?);
        let [ttl, length, limit, failed_attempts, consumed] = r.take().ok_or(short)?;

        let invalid = RecordError::InvalidField;
        let issued_at = UtcDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.replace_nanosecond(nanos).ok())
            .ok_or(invalid("issuedAt"))?;
        let ttl = TokenTtl::checked(TokenTtl::FIELD, ttl.into()).map_err(|_| invalid("ttl"))?;
        let expires_at = issued_at
            .checked_add(ttl.as_duration())
            .ok_or(invalid("issuedAt"))?;
        let length = TokenLength::checked(TokenLength::FIELD, length.into())
            .map_err(|_| invalid("length"))?;
        let attempt_limit = AttemptLimit::new(limit).map_err(|_| invalid("attemptLimit"))?;
        if failed_attempts > attempt_limit.get() {
            return Err(invalid("failedAttempts"));
        }
        let consumed = match consumed {
            0 => false,
            // Only a guess below the limit can be accepted.
            1 if failed_attempts < attempt_limit.get() => true,
            _ => return Err(invalid("used")),
        };
        Ok(Self {
            key_id,
            mac,
            issued_at,
            expires_at,
            ttl,
            length,
            attempt_limit,
            failed_attempts,
            consumed,
        })
    }

    /// The id of the key that made this record.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The instant of issue: the first instant the token is valid.
    #[must_use]
    pub const fn issued_at(&self) -> UtcDateTime {
        self.issued_at
    }

    /// The expiry instant: the first instant the token is no longer valid.
    #[must_use]
    pub const fn expires_at(&self) -> UtcDateTime {
        self.expires_at
    }

    /// The token's lifetime.
    #[must_use]
    pub const fn ttl(&self) -> TokenTtl {
        self.ttl
    }

    /// The token's length.
    #[must_use]
    pub const fn length(&self) -> TokenLength {
        self.length
    }

    /// The attempt limit.
    #[must_use]
    pub const fn attempt_limit(&self) -> AttemptLimit {
        self.attempt_limit
    }

    /// Failed attempts so far (malformed candidates included).
    #[must_use]
    pub const fn failed_attempts(&self) -> u8 {
        self.failed_attempts
    }

    /// Whether the token was accepted (and so can never be accepted again).
    #[must_use]
    pub const fn is_used(&self) -> bool {
        self.consumed
    }

    /// Whether the attempt limit is reached.
    #[must_use]
    pub const fn is_locked(&self) -> bool {
        self.failed_attempts >= self.attempt_limit.get()
    }

    /// Failed attempts left before the token locks.
    #[must_use]
    pub const fn attempts_left(&self) -> u8 {
        self.attempt_limit
            .get()
            .saturating_sub(self.failed_attempts)
    }
}

impl fmt::Debug for IssuedToken {
    /// Everything but the MAC (public, but of no use in a log).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("key_id", &self.key_id)
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .field("length", &self.length.get())
            .field("attempt_limit", &self.attempt_limit.get())
            .field("failed_attempts", &self.failed_attempts)
            .field("used", &self.consumed)
            .finish_non_exhaustive()
    }
}

/// Constant-time equality of two MACs: the XORs of their 64-bit words combined with OR, with
/// one `ct_eq` at the end (a byte-wise `ct_eq` costs a barrier per byte).
fn macs_equal(a: &[u8; 32], b: &[u8; 32]) -> subtle::Choice {
    let (a, _) = a.as_chunks::<8>();
    let (b, _) = b.as_chunks::<8>();
    let diff = a.iter().zip(b).fold(0u64, |acc, (x, y)| {
        acc | (u64::from_ne_bytes(*x) ^ u64::from_ne_bytes(*y))
    });
    diff.ct_eq(&0)
}
