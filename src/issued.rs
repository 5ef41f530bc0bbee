//! Issued-token records: [`issue`] a token, store the [`IssuedToken`], [`verify`](IssuedToken::verify) guesses.
//!
//! # What the record holds
//! Never the token. It holds `HMAC-SHA256(key, tag ‖ issued_at ‖ ttl ‖ length ‖ limit ‖
//! len(user id) ‖ user id ‖ token)` (the user id's length as two bytes, big-endian, so
//! that no two (user, token) pairs give the same input), the [`KeyId`] of the key, the instant of issue, the lifetime, the
//! length, the attempt limit, the failed-attempt count and whether the token was used. A
//! leaked store therefore reveals no token, and without the key nobody can test guesses
//! against it offline. Because the MAC also covers the instant, lifetime, length and limit,
//! a record whose fields were edited in the store no longer matches even the right token.
//!
//! # The validity window
//! A token issued at `t` with lifetime `d` is valid for `t <= now < t + d` (half-open). An
//! instant before `t` is refused as [`Outcome::NotYetValid`] without looking at the
//! candidate and without counting an attempt: it means the verifying node's clock is
//! behind the issuing node's, not that someone guessed.
//!
//! # Order of checks in [`verify`](IssuedToken::verify)
//! 1. key id: a record made under another key is [`Error::KeyMismatch`];
//! 2. user id: blank or too long is [`Error::Invalid`];
//! 3. [`Outcome::AlreadyUsed`], 4. [`Outcome::Locked`], 5. [`Outcome::NotYetValid`],
//!    6. [`Outcome::Expired`]: refusals that leave the record unchanged;
//! 7. [`Outcome::Malformed`] (wrong length or a non-digit), which counts a failed attempt;
//! 8. the constant-time MAC comparison: [`Outcome::Accepted`] (the record becomes used) or
//!    [`Outcome::Mismatch`] (a failed attempt is counted).
//!
//! # What the service must do around it
//! <div class="warning">
//!
//! * **One live record per user.** When you issue a new token, replace the user's previous
//!   record; otherwise every outstanding token is a separate chance to guess.
//! * **Compare-and-set.** Store the record returned by `verify` only if the stored bytes are
//!   still the ones you read (Redis `WATCH`/`MULTI`, SQL `UPDATE ... WHERE record = :old`),
//!   and retry on conflict. Otherwise concurrent guesses are each counted as the first,
//!   and a used token can be accepted twice.
//! * **Rate limits.** Limit token requests per user and per client: the attempt limit
//!   bounds the guesses per token, not the number of tokens an attacker can ask for.
//! * **Trust the store for counters.** The MAC protects the token and the window, but a
//!   writer to the store can roll a record back to an earlier state (fewer failed attempts,
//!   not used). Only the store's access control prevents that.
//! * **Say little.** Tell the user "the code is wrong or has expired"; which of the
//!   outcomes it was is for your logs.
//!
//! </div>

use core::fmt;

use hmac::Mac;
use rand_core::TryCryptoRng;
use subtle::ConstantTimeEq;
use time::{Duration, UtcDateTime};

use crate::digit_token::{DigitToken, TokenLength};
use crate::error::{Error, RecordError, Violation, check_range};
use crate::request::{RequestId, TokenParams, check_user_id};
use crate::stored::{Reader, fill, versioned};
use crate::token_key::{KeyId, TokenKey};

/// Length of the fields the MAC binds: issued-at seconds (8) and nanoseconds (4), lifetime,
/// length and attempt limit (1 each).
const BOUND_LEN: usize = 8 + 4 + 3;

// The documented size of format version 1; changing it needs a new version.
const _: () = assert!(IssuedToken::ENCODED_LEN == 58);

/// Domain tag of token MACs.
const TOKEN_MAC_TAG: &[u8] = b"password-mgmt/v1/digit-token\0";

/// How long a token stays valid: whole minutes from 1 to 60 (the API's `durationMinutes`).
///
/// ```
/// use password_mgmt::TokenTtl;
///
/// let ttl = TokenTtl::from_minutes(10)?;
/// assert_eq!(ttl.as_duration(), time::Duration::minutes(10));
/// assert!(TokenTtl::from_minutes(0).is_err());
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenTtl(u8);

impl TokenTtl {
    /// The shortest lifetime: 1 minute.
    pub const MIN: Self = Self(1);
    /// The longest lifetime: 60 minutes.
    pub const MAX: Self = Self(60);
    /// The API's default: 5 minutes.
    pub const DEFAULT: Self = Self(5);
    pub(crate) const FIELD: &'static str = "durationMinutes";

    /// A lifetime of `minutes` minutes.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `durationMinutes` and the range 1..=60 when outside it.
    pub fn from_minutes(minutes: u8) -> Result<Self, Error> {
        Self::checked(Self::FIELD, i64::from(minutes)).map_err(Error::from)
    }

    pub(crate) fn checked(field: &'static str, minutes: i64) -> Result<Self, Violation> {
        check_range(field, minutes, Self::MIN.0, Self::MAX.0).map(Self)
    }

    /// The lifetime in minutes.
    #[must_use]
    pub const fn minutes(self) -> u8 {
        self.0
    }

    /// The lifetime as a duration.
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        Duration::minutes(self.0 as i64)
    }
}

impl Default for TokenTtl {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for TokenTtl {
    type Error = Error;

    /// # Errors
    /// As [`TokenTtl::from_minutes`].
    fn try_from(minutes: i64) -> Result<Self, Error> {
        Self::checked(Self::FIELD, minutes).map_err(Error::from)
    }
}

/// How many failed attempts lock a token: 1 to 10, 5 by default.
///
/// With the default, a 6-digit token falls to blind guessing with probability
/// `5 / 10^6`. A lower limit is safer; a higher one forgives more typing mistakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptLimit(u8);

impl AttemptLimit {
    /// The strictest limit: one failed attempt locks the token.
    pub const MIN: Self = Self(1);
    /// The most lenient limit: 10 failed attempts.
    pub const MAX: Self = Self(10);
    /// The default: 5 failed attempts.
    pub const DEFAULT: Self = Self(5);
    const FIELD: &'static str = "attemptLimit";

    /// A limit of `attempts` failed attempts.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `attemptLimit` and the range 1..=10 when outside it.
    pub fn new(attempts: u8) -> Result<Self, Error> {
        Self::try_from(i64::from(attempts))
    }

    /// The number of failed attempts allowed.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for AttemptLimit {
    type Error = Error;

    /// # Errors
    /// As [`AttemptLimit::new`].
    fn try_from(attempts: i64) -> Result<Self, Error> {
        Ok(check_range(Self::FIELD, attempts, Self::MIN.0, Self::MAX.0).map(Self)?)
    }
}

impl Default for AttemptLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What [`issue`] returns: the token to deliver, the record to store and the request id.
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "the token must be delivered and the record stored"]
pub struct Issued {
    /// The token. Deliver it to the user, then drop it; never store or log it.
    pub token: DigitToken,
    /// The record to store for the user, replacing any previous one.
    pub record: IssuedToken,
    /// The reference of this request, for the API's `requestId`.
    pub request_id: RequestId,
}

/// Issues a token for `user_id`: draws it, makes the record, draws a [`RequestId`].
///
/// `now` is the issuing instant; the token is valid for `now <= t < now + ttl`. Works with
/// any cryptographic RNG, fallible ([`TryCryptoRng`]) or infallible.
///
/// # Errors
/// * [`Error::Invalid`] naming `userId` when the user id is blank or too long
///   (see [`DigitTokenRequest::MAX_USER_ID_LEN`](crate::DigitTokenRequest::MAX_USER_ID_LEN));
/// * [`Error::TimeOutOfRange`] when `now + ttl` is not representable;
/// * [`Error::Rng`] when the RNG fails.
///
/// ```
/// use password_mgmt::{issue, Outcome, TokenKey, TokenParams};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
/// use time::{Duration, UtcDateTime};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let key = TokenKey::from_bytes(&[42; 32]);
/// let now = UtcDateTime::from_unix_timestamp(1_700_000_000)?;
///
/// let issued = issue(&mut rng, &key, "Abby.Smith", &TokenParams::default(), now)?;
/// let later = now + Duration::minutes(1);
/// let check = issued.record.verify(&key, "Abby.Smith", issued.token.as_str(), later)?;
/// assert_eq!(check.outcome, Outcome::Accepted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn issue<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
    key: &TokenKey,
    user_id: &str,
    params: &TokenParams,
    now: UtcDateTime,
) -> Result<Issued, Error> {
    check_user_id(user_id)?;
    let ttl = params.ttl();
    let expires_at = now
        .checked_add(ttl.as_duration())
        .ok_or(Error::TimeOutOfRange)?;
    let token = DigitToken::try_generate(rng, params.length())?;
    let mut record = IssuedToken {
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
    record.mac = record.mac_of(key, user_id, token.as_bytes());
    let request_id = RequestId::generate(rng)?;
    Ok(Issued {
        token,
        record,
        request_id,
    })
}

/// The record a service stores for an issued token. Holds no secret: see the
/// [module docs](self) for what it holds and what the service must do around it.
///
/// Encode it with [`encode`](Self::encode) to a [`ENCODED_LEN`](Self::ENCODED_LEN)-byte
/// string; [`decode`](Self::decode) takes any bytes and gives a record or an error.
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

/// What [`IssuedToken::verify`] concluded. Say as little of it to the user as you can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The candidate is the token. The record is now used; let the user proceed.
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
    /// `now` is at or past the expiry instant. The record is unchanged.
    Expired,
    /// `now` is before the instant of issue (clock skew between nodes). The record is
    /// unchanged and the candidate was not examined.
    NotYetValid,
    /// The attempt limit was reached earlier; even the right token is refused. Unchanged.
    Locked,
    /// The token was accepted before; tokens are single-use. Unchanged.
    AlreadyUsed,
    /// The user's [`GuessBudget`](crate::GuessBudget) is spent: too many failed guesses
    /// across tokens lately. Even the right token is refused; nothing is counted. Only
    /// [`IssuedToken::verify_with_budget`] returns it.
    BudgetExhausted {
        /// How long until the budget allows another guess.
        retry_after: Duration,
    },
}

impl Outcome {
    /// Whether the candidate was accepted.
    #[must_use]
    pub const fn is_accepted(self) -> bool {
        matches!(self, Self::Accepted)
    }

    /// Whether the record changed, so that the service must store it back
    /// (with a compare-and-set).
    #[must_use]
    pub const fn changes_record(self) -> bool {
        matches!(
            self,
            Self::Accepted | Self::Mismatch { .. } | Self::Malformed { .. }
        )
    }
}

/// What [`IssuedToken::verify`] returns: the outcome and the record to store back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "the updated record must be stored back when the outcome changed it"]
pub struct Verification {
    /// The outcome.
    pub outcome: Outcome,
    /// The record after this attempt; store it (compare-and-set) when
    /// [`Outcome::changes_record`] says so.
    pub record: IssuedToken,
}

impl IssuedToken {
    /// Length of the encoded record, format version 1.
    pub const ENCODED_LEN: usize = 1 + KeyId::LEN + 32 + BOUND_LEN + 2;
    const VERSION: u8 = 1;

    /// Checks `candidate` for `user_id` at `now`, returning the outcome and the updated record.
    ///
    /// The comparison with the token is constant-time; see the [module docs](self) for the
    /// order of checks. `self` is not changed: store [`Verification::record`] with a
    /// compare-and-set against the bytes you read.
    ///
    /// # Errors
    /// * [`Error::KeyMismatch`] when the record was made under another key;
    /// * [`Error::Invalid`] naming `userId` when the user id is blank or too long.
    pub fn verify(
        &self,
        key: &TokenKey,
        user_id: &str,
        candidate: &str,
        now: UtcDateTime,
    ) -> Result<Verification, Error> {
        if let Some(outcome) = self.refusal(key, user_id, now)? {
            return Ok(Verification {
                outcome,
                record: self.clone(),
            });
        }
        Ok(self.attempt(key, user_id, candidate))
    }

    /// Steps 1 to 6 of verification: the errors, and the refusals that examine no
    /// candidate. `None` when a candidate may be compared.
    pub(crate) fn refusal(
        &self,
        key: &TokenKey,
        user_id: &str,
        now: UtcDateTime,
    ) -> Result<Option<Outcome>, Error> {
        if key.id() != self.key_id {
            return Err(Error::KeyMismatch {
                record: self.key_id,
                given: key.id(),
            });
        }
        check_user_id(user_id)?;
        Ok(if self.consumed {
            Some(Outcome::AlreadyUsed)
        } else if self.is_locked() {
            Some(Outcome::Locked)
        } else if now < self.issued_at {
            Some(Outcome::NotYetValid)
        } else if now >= self.expires_at {
            Some(Outcome::Expired)
        } else {
            None
        })
    }

    /// Steps 7 and 8: one counted attempt at `candidate`. Call only after [`Self::refusal`]
    /// returned `None` for the same key and user id.
    pub(crate) fn attempt(&self, key: &TokenKey, user_id: &str, candidate: &str) -> Verification {
        let mut record = self.clone();
        let candidate = candidate.as_bytes();
        let well_formed = candidate.len() == usize::from(self.length.get())
            && candidate.iter().all(u8::is_ascii_digit);
        if !well_formed {
            record.failed_attempts = record.failed_attempts.saturating_add(1);
            let attempts_left = record.attempts_left();
            return Verification {
                outcome: Outcome::Malformed { attempts_left },
                record,
            };
        }

        let expected = self.mac_of(key, user_id, candidate);
        let outcome = if bool::from(macs_equal(&self.mac, &expected)) {
            record.consumed = true;
            Outcome::Accepted
        } else {
            record.failed_attempts = record.failed_attempts.saturating_add(1);
            Outcome::Mismatch {
                attempts_left: record.attempts_left(),
            }
        };
        Verification { outcome, record }
    }

    /// The MAC over the bound fields, the user id and `token`.
    fn mac_of(&self, key: &TokenKey, user_id: &str, token: &[u8]) -> [u8; 32] {
        let mut mac = key.mac();
        mac.update(TOKEN_MAC_TAG);
        mac.update(&self.bound_fields());
        // `check_user_id` caps the length far below `u16::MAX`; saturating keeps it total.
        let user_len = u16::try_from(user_id.len()).unwrap_or(u16::MAX);
        mac.update(&user_len.to_be_bytes());
        mac.update(user_id.as_bytes());
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

    /// The record as a compact, versioned byte string of [`ENCODED_LEN`](Self::ENCODED_LEN) bytes.
    ///
    /// Layout (version 1, integers big-endian): version `1` (1 byte), key id (8), MAC (32),
    /// issued-at Unix seconds (8, signed) and nanoseconds (4), lifetime in minutes (1),
    /// token length (1), attempt limit (1), failed attempts (1), used flag (1).
    #[must_use]
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0; Self::ENCODED_LEN];
        let key_id = self.key_id.to_bytes();
        let tail = [self.failed_attempts, u8::from(self.consumed)];
        fill(
            &mut out,
            &[
                &[Self::VERSION],
                &key_id,
                &self.mac,
                &self.bound_fields(),
                &tail,
            ],
        );
        out
    }

    /// Decodes a record from any bytes.
    ///
    /// Decoding is strict: every field is checked against the invariants of a record this
    /// crate can make, so `decode(b).map(|r| r.encode()) == Ok(b)` for every accepted `b`.
    ///
    /// # Errors
    /// [`Error::Record`]: [`RecordError::WrongLength`] for truncated or extended input,
    /// [`RecordError::UnknownVersion`], or [`RecordError::InvalidField`] naming the field.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_v1(bytes).map_err(Error::Record)
    }

    fn decode_v1(bytes: &[u8]) -> Result<Self, RecordError> {
        let body = versioned(bytes, Self::VERSION, Self::ENCODED_LEN)?;
        let wrong_length = RecordError::WrongLength {
            expected: Self::ENCODED_LEN,
            found: bytes.len(),
        };
        // `body` holds exactly the fields below (ENCODED_LEN is their sum), so no `take`
        // comes up short; the error is there only because the library never panics.
        let mut r = Reader(body);
        let key_id = KeyId::from_bytes(r.take().ok_or(wrong_length)?);
        let mac = r.take().ok_or(wrong_length)?;
        let secs = i64::from_be_bytes(r.take().ok_or(wrong_length)?);
        let nanos = u32::from_be_bytes(r.take().ok_or(wrong_length)?);
        let [ttl, length, limit, failed_attempts, consumed] = r.take().ok_or(wrong_length)?;

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
