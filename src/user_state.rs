//! One user's digit-token state, [`UserState`]: the live token record (if any), the guess
//! budget, the count of consecutive failures and the per-user request limiter, in one
//! versioned value of [`UserState::ENCODED_LEN`] bytes. A service stores one per user and
//! changes it with one compare-and-set.
//!
//! # The flow: store what you verify
//! Every call that changes the state returns the write to perform first
//! ([`StateUpdate`]: the bytes the store must still hold, and the bytes to put there), and
//! hands over its result only through a method named for what the service just did:
//! [`Issuance::stored`] gives the token to deliver, [`Verification::stored`] the outcome.
//! So the natural one-liner cannot read an outcome without naming the store step.
//!
//! ```
//! use password_mgmt::{
//!     Candidate, Outcome, Purpose, Subject, TokenKey, TokenParams, UserLimits, UserState,
//! };
//! use password_mgmt::time::{Duration, UtcDateTime};
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (mut rng, key) = (ChaCha20Rng::seed_from_u64(1), TokenKey::from_bytes(&[9; 32]));
//! let limits = UserLimits::default();
//! let subject = Subject { tenant: "acme", user: "Abby.Smith", purpose: Purpose::PASSWORD_RESET };
//! let now = UtcDateTime::from_unix_timestamp(1_800_000_000)?;
//!
//! // The store: one row per user. A user without a row has the fresh state.
//! let mut row: Option<Vec<u8>> = None;
//! let load = |row: &Option<Vec<u8>>| row.as_deref().map_or(Ok(UserState::new()), UserState::decode);
//!
//! // Issue: write the update (compare-and-set), then deliver the token.
//! let issuance = load(&row)?.issue(&mut rng, &key, &subject, &TokenParams::default(), &limits, now)?;
//! if let Some(update) = issuance.update() {
//!     row = Some(update.replacement().to_vec()); // UPDATE ... WHERE state = expected
//! }
//! let issued = issuance.stored()?; // or `Error::RateLimited`: the user asked too often
//!
//! // Verify: write the update (if any), then act on the outcome.
//! let typed = Candidate::new(issued.token.as_str())?;
//! let verification = load(&row)?.verify(&key, &subject, &typed, &limits, now + Duration::minutes(1))?;
//! if let Some(update) = verification.update() {
//!     row = Some(update.replacement().to_vec()); // UPDATE ... WHERE state = expected
//! }
//! assert_eq!(verification.stored(), Outcome::Accepted);
//!
//! // The token is single-use.
//! let again = load(&row)?.verify(&key, &subject, &typed, &limits, now + Duration::minutes(2))?;
//! assert!(again.update().is_none()); // a refusal that counts nothing writes nothing
//! assert_eq!(again.stored(), Outcome::AlreadyUsed);
//! # Ok(())
//! # }
//! ```
//!
//! # Order of checks in [`verify`](UserState::verify)
//! 1. the subject: a blank or over-long tenant or user id is [`Error::Invalid`];
//! 2. [`Outcome::NoToken`] when no token was issued;
//! 3. [`Outcome::AlreadyUsed`], [`Outcome::TokenLocked`], [`Outcome::NotYetValid`],
//!    [`Outcome::Expired`]: refusals that need no key and count nothing;
//! 4. the key: a live record made under a key the caller does not hold is
//!    [`Error::UnknownTokenKey`] (a key-management fault, never a wrong guess);
//! 5. [`Outcome::UserLockedOut`] at the cap on consecutive failures, then
//!    [`Outcome::BudgetExhausted`] when the guess budget is spent, or at the end of time
//!    when a failure could no longer be counted (the budget's arrival time would pass
//!    `UtcDateTime::MAX`, see [`rate_limit`](crate::rate_limit)): nothing counted;
//! 6. [`Outcome::Malformed`] (wrong length or a non-digit), which counts a failure;
//! 7. the constant-time MAC comparison: [`Outcome::Accepted`] (the token becomes used, the
//!    budget is refilled, the consecutive count reset) or [`Outcome::Mismatch`] (a failure
//!    counted on the token, in the budget and in the consecutive count).
//!
//! # What the service must do around it
//! <div class="warning">
//!
//! * **One state per user, written only by compare-and-set.** Write
//!   [`StateUpdate::replacement`] only where the stored value is still
//!   [`StateUpdate::expected`]; on a conflict, read the state again and redo the call
//!   (with a fresh `now`). Otherwise concurrent guesses are each counted as the first, and
//!   a used token can be accepted twice. A missing row is the fresh state: insert-if-absent
//!   (or an upsert that updates only where the value equals `expected`).
//! * **Act only on stored results**: deliver a token only after its issuance is stored;
//!   let the user proceed only after an acceptance is stored.
//! * **Rate-limit token requests per client too** ([`RateLimiter`](crate::RateLimiter));
//!   the per-user request limit is built in.
//! * **Trust the store for counters.** The MAC protects the token, its window and its
//!   subject, but a writer to the store can roll a state back (fewer failures, a fresh
//!   budget). Only the store's access control prevents that.
//! * **Say little.** Tell the user "the code is wrong or has expired"; which outcome it was
//!   is for your logs ([`Outcome::as_str`]).
//!
//! </div>

use core::fmt;

use rand_core::TryCryptoRng;
use time::{Duration, UtcDateTime};

use crate::digit_token::{Candidate, DigitToken};
use crate::error::{Error, RecordError};
use crate::issued::{IssuedToken, Outcome};
use crate::limits::BudgetCheck;
use crate::limits::{GuessBudget, UserLimits};
use crate::params::{Subject, TokenParams};
use crate::rate_limit::{
    Nanos, RateDecision, TAT_LEN, decode_tat, duration, encode_tat, gcra, lead, nanos,
};
use crate::request::RequestId;
use crate::retry_after::RetryAfter;
use crate::stored::{Reader, StateUpdate, fill, versioned};
use crate::token_key::TokenKeys;

/// One user's digit-token state: the live token record (if any), the guess budget, the
/// consecutive-failure count and the request limiter. See the [module docs](self) for the
/// flow and what the service must do around it.
#[derive(Clone, PartialEq, Eq)]
pub struct UserState {
    fields: Fields,
    /// `fields` encoded: what a change's compare-and-set expects.
    encoded: [u8; UserState::ENCODED_LEN],
}

/// What a [`UserState`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    record: Option<IssuedToken>,
    budget: GuessBudget,
    /// The arrival time of the per-user token-request limit.
    requests: Option<Nanos>,
    consecutive_failures: u16,
}

/// The [`StateUpdate`] of a [`UserState`].
pub type UserStateUpdate = StateUpdate<{ UserState::ENCODED_LEN }>;

/// What [`UserState::issue`] returns: the write to perform, then the token.
///
/// Store [`update`](Self::update) with a compare-and-set; only then take the token with
/// [`stored`](Self::stored) and deliver it. (A token delivered without its record stored
/// could never be accepted, and a retried issue would deliver a second one.) When the
/// user's request limit refuses, `stored` is [`Error::RateLimited`], and there is an
/// update only if the limiter's state had to be clamped (see
/// [`rate_limit`](crate::rate_limit)).
#[derive(Debug)]
#[must_use = "store `update()` with a compare-and-set, then take the token with `stored()`"]
pub struct Issuance {
    update: Option<UserStateUpdate>,
    result: Result<Issued, RetryAfter>,
}

impl Issuance {
    /// The write to perform before the token may be delivered: always there for an issued
    /// token.
    #[must_use]
    pub const fn update(&self) -> Option<&UserStateUpdate> {
        self.update.as_ref()
    }

    /// The wait, when the request limit refused (store [`update`](Self::update) all the
    /// same when there is one).
    #[must_use]
    pub const fn limited(&self) -> Option<RetryAfter> {
        match self.result {
            Ok(_) => None,
            Err(retry_after) => Some(retry_after),
        }
    }

    /// The token, its request id and expiry, once [`update`](Self::update) is stored.
    ///
    /// # Errors
    /// [`Error::RateLimited`] when the user's request limit refused: no token.
    pub fn stored(self) -> Result<Issued, Error> {
        self.result
            .map_err(|retry_after| Error::RateLimited { retry_after })
    }
}

/// An issued token, after its record was stored: what [`Issuance::stored`] returns.
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "the token must be delivered to the user"]
pub struct Issued {
    /// The token. Deliver it to the user, then drop it; never store or log it.
    pub token: DigitToken,
    /// The reference of this request, for the API's `requestId`.
    pub request_id: RequestId,
    /// The first instant the token is no longer valid.
    pub expires_at: UtcDateTime,
}

/// What [`UserState::verify`] returns: the write to perform (if any), then the outcome.
///
/// The outcome is readable only through [`stored`](Self::stored), named for the step that
/// must come first, so that the result cannot be used without being stored:
///
/// ```compile_fail,E0616
/// # use password_mgmt::{Candidate, Outcome, Purpose, Subject, TokenKey, UserLimits, UserState};
/// # fn f(state: UserState, key: TokenKey, now: password_mgmt::time::UtcDateTime) -> Result<bool, password_mgmt::Error> {
/// # let subject = Subject { tenant: "t", user: "u", purpose: Purpose::PASSWORD_RESET };
/// # let candidate = Candidate::new("123456")?;
/// # let limits = UserLimits::default();
/// // Does not compile: the outcome is private; the update would be dropped unstored.
/// Ok(state.verify(&key, &subject, &candidate, &limits, now)?.outcome == Outcome::Accepted)
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "store `update()` with a compare-and-set, then read the outcome with `stored()`"]
pub struct Verification {
    outcome: Outcome,
    update: Option<UserStateUpdate>,
    lead: Duration,
}

impl Verification {
    /// The write to perform before the outcome may be acted on: `Some` when the attempt
    /// changed the state (a counted failure, an acceptance), `None` for refusals that count
    /// nothing.
    #[must_use]
    pub const fn update(&self) -> Option<&UserStateUpdate> {
        self.update.as_ref()
    }

    /// The outcome, once [`update`](Self::update) (if any) is stored.
    #[must_use]
    pub const fn stored(self) -> Outcome {
        self.outcome
    }

    /// How far the stored state was ahead of `now` (a token issued in this node's future,
    /// limiter state from a clock running ahead); zero when it was not. Log it when
    /// positive; see [`rate_limit`](crate::rate_limit) for what happens beyond the clock
    /// tolerance.
    #[must_use]
    pub const fn clock_lead(&self) -> Duration {
        self.lead
    }
}

impl UserState {
    /// Length of the encoded state, format version 1.
    pub const ENCODED_LEN: usize =
        2 + IssuedToken::ENCODED_LEN + GuessBudget::ENCODED_LEN + TAT_LEN + 2;
    const VERSION: u8 = 1;

    /// The state of a user who has never had a token: no record, a full budget.
    #[must_use]
    pub const fn new() -> Self {
        let mut encoded = [0; Self::ENCODED_LEN];
        // Version 1 with every field unset: the version byte, then zeros.
        encoded[0] = Self::VERSION;
        Self {
            fields: Fields {
                record: None,
                budget: GuessBudget::new(),
                requests: None,
                consecutive_failures: 0,
            },
            encoded,
        }
    }

    /// Issues a token for `subject` under the current key, replacing the live record (if
    /// any) and keeping the guess budget and the consecutive-failure count.
    ///
    /// The token is valid for `now <= t < now + ttl` (with the clock tolerance before
    /// `now`). Counts one request against [`UserLimits::requests`]; when that limit
    /// refuses, the [`Issuance`] carries no token ([`Issuance::stored`] is
    /// [`Error::RateLimited`]).
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `tenant` or `userId` when blank or too long;
    /// * [`Error::UserLockedOut`] at the cap on consecutive failures: no code could be
    ///   accepted, so none is issued until the user is [unlocked](Self::unlock);
    /// * [`Error::TimeOutOfRange`] when `now + ttl` is not representable;
    /// * [`Error::Rng`] when the RNG fails.
    pub fn issue<R: TryCryptoRng + ?Sized, K: TokenKeys + ?Sized>(
        &self,
        rng: &mut R,
        keys: &K,
        subject: &Subject<'_>,
        params: &TokenParams,
        limits: &UserLimits,
        now: UtcDateTime,
    ) -> Result<Issuance, Error> {
        subject.check()?;
        if self.is_locked_out(limits) {
            return Err(Error::UserLockedOut);
        }
        let step = gcra(self.fields.requests, &limits.requests(), nanos(now));
        if let RateDecision::Limited { retry_after } = step.decision {
            let clamped = Fields {
                requests: step.after,
                ..self.fields.clone()
            };
            return Ok(Issuance {
                update: step.clamped.then(|| self.update_to(&clamped)),
                result: Err(retry_after),
            });
        }
        let token = DigitToken::try_generate(rng, params.length())?;
        let record = IssuedToken::new(keys.current(), subject, params, &token, now)?;
        let request_id = RequestId::generate(rng)?;
        let expires_at = record.expires_at();
        let next = Fields {
            record: Some(record),
            requests: step.after,
            ..self.fields.clone()
        };
        Ok(Issuance {
            update: Some(self.update_to(&next)),
            result: Ok(Issued {
                token,
                request_id,
                expires_at,
            }),
        })
    }

    /// Checks `candidate` for `subject` at `now`; see the [module docs](self) for the order
    /// of checks. The MAC comparison is constant-time.
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `tenant` or `userId` when blank or too long;
    /// * [`Error::UnknownTokenKey`] when the live record was made under a key `keys` does
    ///   not hold (a record that is expired, used or locked anyway gets its outcome).
    pub fn verify<K: TokenKeys + ?Sized>(
        &self,
        keys: &K,
        subject: &Subject<'_>,
        candidate: &Candidate<'_>,
        limits: &UserLimits,
        now: UtcDateTime,
    ) -> Result<Verification, Error> {
        self.check(keys, subject, candidate, limits, now, true)
    }

    /// As [`verify`](Self::verify), but an accepted candidate leaves the token live and the
    /// state unchanged (no update): for a flow that must refuse for another reason after
    /// the code, such as a new password that breaks the policy. Failures count as in
    /// `verify`, so the other reason never tells a guesser whether a code was right
    /// without the guess being counted.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_without_using<K: TokenKeys + ?Sized>(
        &self,
        keys: &K,
        subject: &Subject<'_>,
        candidate: &Candidate<'_>,
        limits: &UserLimits,
        now: UtcDateTime,
    ) -> Result<Verification, Error> {
        self.check(keys, subject, candidate, limits, now, false)
    }

    fn check<K: TokenKeys + ?Sized>(
        &self,
        keys: &K,
        subject: &Subject<'_>,
        candidate: &Candidate<'_>,
        limits: &UserLimits,
        now: UtcDateTime,
        use_token: bool,
    ) -> Result<Verification, Error> {
        subject.check()?;
        let now_ns = nanos(now);
        let budget = self.fields.budget.check(limits, now_ns);
        let lead = self.lead(limits, now_ns, &budget);
        let unchanged = |outcome| {
            Ok(Verification {
                outcome,
                update: None,
                lead,
            })
        };
        let Some(record) = &self.fields.record else {
            return unchanged(Outcome::NoToken);
        };
        if let Some(outcome) = record.refusal(now, limits.clock_tolerance()) {
            return unchanged(outcome);
        }
        let key = keys.get(record.key_id()).ok_or(Error::UnknownTokenKey {
            record: record.key_id(),
        })?;
        if self.is_locked_out(limits) {
            return unchanged(Outcome::UserLockedOut);
        }
        if let RateDecision::Limited { retry_after } = budget.decision {
            let outcome = Outcome::BudgetExhausted { retry_after };
            return match budget.repaired {
                // A budget from a clock too far ahead: store the clamp (see `rate_limit`).
                Some(budget) => Ok(Verification {
                    outcome,
                    update: Some(self.update_to(&Fields {
                        budget,
                        ..self.fields.clone()
                    })),
                    lead,
                }),
                None => unchanged(outcome),
            };
        }
        let (outcome, record) = record.attempt(key, subject, candidate);
        let next = if outcome.is_accepted() {
            if !use_token {
                return unchanged(outcome);
            }
            Fields {
                record: Some(record),
                budget: GuessBudget::new(),
                requests: self.fields.requests,
                consecutive_failures: 0,
            }
        } else {
            Fields {
                record: Some(record),
                budget: budget.spent,
                requests: self.fields.requests,
                consecutive_failures: self.fields.consecutive_failures.saturating_add(1),
            }
        };
        Ok(Verification {
            outcome,
            update: Some(self.update_to(&next)),
            lead,
        })
    }

    /// The write from this state to `next`.
    fn update_to(&self, next: &Fields) -> UserStateUpdate {
        StateUpdate::new(self.encoded, next.encode())
    }

    /// An explicit unlock (a help desk checked who is asking): the write that resets the
    /// consecutive-failure count and refills the guess budget; the live token, if any, is
    /// kept. Store it with a compare-and-set like every other change.
    pub fn unlock(&self) -> UserStateUpdate {
        self.update_to(&Fields {
            budget: GuessBudget::new(),
            consecutive_failures: 0,
            ..self.fields.clone()
        })
    }

    /// The live token record, if a token was issued.
    #[must_use]
    pub const fn record(&self) -> Option<&IssuedToken> {
        self.fields.record.as_ref()
    }

    /// Consecutive failed guesses since the last success or unlock.
    #[must_use]
    pub const fn consecutive_failures(&self) -> u16 {
        self.fields.consecutive_failures
    }

    /// Whether the user reached the cap on consecutive failures.
    #[must_use]
    pub const fn is_locked_out(&self, limits: &UserLimits) -> bool {
        self.fields.consecutive_failures >= limits.consecutive_failures()
    }

    /// Whether the guess budget allows a guess at `now`, and if not, how long until it does.
    #[must_use]
    pub fn guess_budget(&self, limits: &UserLimits, now: UtcDateTime) -> RateDecision {
        self.fields.budget.check(limits, nanos(now)).decision
    }

    /// How far this state is ahead of `now`: the largest of a token issued after `now` and
    /// the leads of its limiters (see [`RateCheck::clock_lead`](crate::RateCheck::clock_lead)).
    #[must_use]
    pub fn clock_lead(&self, limits: &UserLimits, now: UtcDateTime) -> Duration {
        let now = nanos(now);
        self.lead(limits, now, &self.fields.budget.check(limits, now))
    }

    /// [`clock_lead`](Self::clock_lead), with the budget already checked.
    fn lead(&self, limits: &UserLimits, now: Nanos, budget: &BudgetCheck) -> Duration {
        #[allow(
            clippy::arithmetic_side_effects,
            reason = "instants are far inside i128: |t| < 2^69 ns"
        )]
        let token = self
            .fields
            .record
            .as_ref()
            .map_or(0, |r| (nanos(r.issued_at()) - now).max(0));
        let requests = lead(self.fields.requests, &limits.requests(), now);
        duration(token.max(requests).max(budget.lead))
    }

    /// The state as bytes, format version 1 (integers big-endian): version `1`, a flag
    /// byte (1: a record follows; 0: the record's bytes are zero), the record (57 bytes),
    /// the guess budget's two arrival times and the request limiter's (13 bytes each: flag,
    /// Unix seconds, nanoseconds), and the consecutive-failure count (2 bytes).
    #[must_use]
    pub const fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        self.encoded
    }

    /// Decodes a state from any bytes.
    ///
    /// Decoding is strict: every field is checked against the invariants of a state this
    /// crate can make, so `decode(b).map(|s| s.encode()) == Ok(b)` for every accepted `b`.
    ///
    /// # Errors
    /// [`Error::Record`]: [`RecordError::WrongLength`] for truncated or extended input,
    /// [`RecordError::UnknownVersion`], or [`RecordError::InvalidField`] naming the field.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode_v1(bytes).map_err(Error::Record)
    }

    fn decode_v1(bytes: &[u8]) -> Result<Self, RecordError> {
        let body = versioned(bytes, Self::VERSION, Self::ENCODED_LEN)?;
        // `body` holds exactly the fields below, so no `take` comes up short.
        let short = RecordError::WrongLength {
            expected: Self::ENCODED_LEN,
            found: bytes.len(),
        };
        let encoded: [u8; Self::ENCODED_LEN] = bytes.try_into().map_err(|_| short)?;
        let mut r = Reader(body);
        let [flag] = r.take().ok_or(short)?;
        let record: [u8; IssuedToken::ENCODED_LEN] = r.take().ok_or(short)?;
        let budget = r.take().ok_or(short)?;
        let requests: [u8; TAT_LEN] = r.take().ok_or(short)?;
        let consecutive_failures = u16::from_be_bytes(r.take().ok_or(short)?);
        let record = match flag {
            0 if record.iter().all(|&b| b == 0) => None,
            1 => Some(IssuedToken::decode(&record)?),
            _ => return Err(RecordError::InvalidField("record")),
        };
        if consecutive_failures > UserLimits::MAX_CONSECUTIVE_FAILURES {
            return Err(RecordError::InvalidField("consecutiveFailures"));
        }
        let fields = Fields {
            record,
            budget: GuessBudget::decode(&budget)?,
            requests: decode_tat(&requests, "requests")?,
            consecutive_failures,
        };
        // Strict decoding makes the bytes a function of the fields; the test suite holds
        // `decode(b).encode() == b` for every accepted `b`.
        debug_assert_eq!(fields.encode(), encoded);
        Ok(Self { fields, encoded })
    }
}

impl Default for UserState {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserState")
            .field("record", &self.fields.record)
            .field("budget", &self.fields.budget)
            .field("requests", &self.fields.requests)
            .field("consecutive_failures", &self.fields.consecutive_failures)
            .finish()
    }
}

impl Fields {
    /// The fields as bytes: see [`UserState::encode`].
    fn encode(&self) -> [u8; UserState::ENCODED_LEN] {
        let mut out = [0; UserState::ENCODED_LEN];
        let record = self.record.as_ref().map(IssuedToken::encode);
        fill(
            &mut out,
            &[
                &[UserState::VERSION, u8::from(record.is_some())],
                &record.unwrap_or([0; IssuedToken::ENCODED_LEN]),
                &self.budget.encode(),
                &encode_tat(self.requests),
                &self.consecutive_failures.to_be_bytes(),
            ],
        );
        out
    }
}

// The documented size of format version 1; changing it needs a new version.
const _: () = assert!(UserState::ENCODED_LEN == 100);
