//! The per-user guess budget: a bound on failed guesses across *all* of a user's tokens.
//!
//! An attempt limit per token is not enough: an attacker who fails five times asks for a new
//! token and guesses again, forever. The service therefore keeps a [`GuessBudget`] per
//! user, beside (not inside) the token record, and verifies with
//! [`IssuedToken::verify_with_budget`]. Every failed guess (wrong or malformed) spends from
//! the budget; a successful verification refills it; when it is spent, even the right token
//! is refused with [`Outcome::BudgetExhausted`] and a `retry_after`.
//!
//! # Limits
//! [`GuessLimits`] holds two [`RateLimit`]s, each an exact bound over sliding windows (see
//! [`rate_limit`](crate::rate_limit)): by default **at most 10 failures in any hour and
//! at most 100 in any day** (NIST SP 800-63B section 5.2.2 caps consecutive failures per
//! account at 100). A guess is allowed only when both allow it.
//!
//! # What it buys, in numbers
//! Each guess at a fresh 6-digit token succeeds with probability at most
//! `1 / (10^6 - 4)` (five distinct guesses per token at most), so with `G` guesses in all
//! the attacker's chance is at most `G / (10^6 - 4)`. A [`RateLimit`] of `N` per window `W`
//! allows a burst `B` and then one per interval `T` (for 100 per day: `B = 51`,
//! `T = 28 min 48 s`), so over a span `s` an attacker gets at most `B + s / T` guesses,
//! never more than `N` in any window. Under the defaults:
//!
//! | span | guesses at most | chance, 6 digits | chance, 8 digits |
//! |---|---|---|---|
//! | a day | 100 | `1.0e-4` | `1.0e-6` |
//! | a week | `51 + 350 = 401` | `4.0e-4` | `4.0e-6` |
//! | a year | `51 + 18,250 = 18,301` | `1.8e-2` | `1.8e-4` |
//!
//! A test plays this attacker for a simulated week and finds the bound reached and never
//! passed. Lower limits or longer tokens scale the chance down in proportion.
//!
//! The counts assume the user does not verify successfully meanwhile: a success refills
//! the budget (as it must, or users would pay for an attacker's guesses), which gives an
//! attacker who is still guessing a fresh burst. With a higher [`AttemptLimit`](crate::AttemptLimit)
//! than the default 5 the per-guess bound becomes `1 / (10^6 - limit + 1)`.
//!
//! The flip side: whoever knows a user id can keep that user's budget spent, and so keep
//! the user from resetting a password by token. Rate-limit per client as well, and give
//! users another way back (help desk, a second factor).
//!
//! # What the service must do
//! <div class="warning">
//!
//! * Store one budget per user (key it by the user id), beside the token record, and
//!   **write both back with one compare-and-set** (or a transaction): otherwise concurrent
//!   guesses are each checked against the same budget.
//! * Keep the budget when a token is reissued: that is its whole point.
//! * Rate-limit token *requests* too ([`RateLimiter`](crate::RateLimiter)), per user and
//!   per client, so that an attacker cannot flood a user with tokens.
//!
//! </div>

use time::{Duration, UtcDateTime};

use crate::error::{Error, RecordError};
use crate::issued::{IssuedToken, Outcome, Verification};
use crate::rate_limit::{
    RateDecision, RateLimit, TAT_LEN, decode_tat, encode_tat, from_the_future as ahead_of, gcra,
};
use crate::stored::{fill, versioned};
use crate::token_key::TokenKey;

/// The limits of a [`GuessBudget`]: failures allowed in a short and in a long window.
///
/// ```
/// use password_mgmt::{GuessLimits, RateLimit};
/// use password_mgmt::time::Duration;
///
/// let default = GuessLimits::default(); // 10 per hour, 100 per day
/// assert_eq!(default.long().max(), 100);
/// let strict = GuessLimits::new(RateLimit::new(5, Duration::hours(1))?, RateLimit::new(20, Duration::days(1))?);
/// assert_eq!(strict.short().burst(), 4); // 5 per hour: 4 at once, then one per 30 minutes
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuessLimits {
    short: RateLimit,
    long: RateLimit,
}

impl GuessLimits {
    /// Limits from two rate limits (the names say only which one is checked first).
    #[must_use]
    pub const fn new(short: RateLimit, long: RateLimit) -> Self {
        Self { short, long }
    }

    /// The short-window limit (default: 10 failures per hour).
    #[must_use]
    pub const fn short(&self) -> RateLimit {
        self.short
    }

    /// The long-window limit (default: 100 failures per day).
    #[must_use]
    pub const fn long(&self) -> RateLimit {
        self.long
    }
}

impl Default for GuessLimits {
    /// At most 10 failed guesses in any hour and 100 in any day.
    fn default() -> Self {
        Self {
            short: RateLimit::PER_HOUR_10,
            long: RateLimit::PER_DAY_100,
        }
    }
}

/// A user's budget of failed guesses: the state a service stores per user, beside the
/// token record. See the [module docs](self).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GuessBudget {
    short: Option<UtcDateTime>,
    long: Option<UtcDateTime>,
}

impl GuessBudget {
    /// Length of the encoded budget, format version 1.
    pub const ENCODED_LEN: usize = 1 + 2 * TAT_LEN;
    const VERSION: u8 = 1;

    /// A full budget: no failure recorded.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            short: None,
            long: None,
        }
    }

    /// Whether a guess is allowed at `now`, and if not, how long until it is.
    #[must_use]
    pub fn peek(&self, limits: &GuessLimits, now: UtcDateTime) -> RateDecision {
        let waits = [
            gcra(self.short, &limits.short, now).0,
            gcra(self.long, &limits.long, now).0,
        ];
        waits
            .into_iter()
            .filter_map(|d| match d {
                RateDecision::Limited { retry_after } => Some(retry_after),
                RateDecision::Allowed => None,
            })
            .max()
            .map_or(RateDecision::Allowed, |retry_after| RateDecision::Limited {
                retry_after,
            })
    }

    /// Whether this budget was written by a clock running ahead of `now` (see
    /// [`RateLimiter::from_the_future`](crate::RateLimiter::from_the_future)): it refuses
    /// guesses until real time catches up. Log it; reset it ([`GuessBudget::new`]) only if
    /// you trust `now` more than the node that wrote it.
    #[must_use]
    pub fn from_the_future(&self, limits: &GuessLimits, now: UtcDateTime) -> bool {
        ahead_of(self.short, &limits.short, now) || ahead_of(self.long, &limits.long, now)
    }

    /// The budget after one more failure at `now`.
    fn spend(&self, limits: &GuessLimits, now: UtcDateTime) -> Self {
        Self {
            short: gcra(self.short, &limits.short, now).1,
            long: gcra(self.long, &limits.long, now).1,
        }
    }

    /// The budget as bytes: version `1`, then the two arrival times (each a flag byte, Unix
    /// seconds `i64` and nanoseconds `u32`, big-endian; all zero when unset).
    #[must_use]
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0; Self::ENCODED_LEN];
        let (short, long) = (encode_tat(self.short), encode_tat(self.long));
        fill(&mut out, &[&[Self::VERSION], &short, &long]);
        out
    }

    /// Decodes a budget from any bytes.
    ///
    /// # Errors
    /// [`Error::Record`] for the wrong length, an unknown version, or an impossible field.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let body = versioned(bytes, Self::VERSION, Self::ENCODED_LEN).map_err(Error::Record)?;
        let (short, long) =
            body.split_at_checked(TAT_LEN)
                .ok_or(Error::Record(RecordError::WrongLength {
                    expected: Self::ENCODED_LEN,
                    found: bytes.len(),
                }))?;
        Ok(Self {
            short: decode_tat(short, "shortWindow").map_err(Error::Record)?,
            long: decode_tat(long, "longWindow").map_err(Error::Record)?,
        })
    }
}

/// What [`IssuedToken::verify_with_budget`] returns: the outcome and both values to store
/// back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "the updated record and budget must be stored back"]
#[non_exhaustive]
pub struct BudgetedVerification {
    /// The outcome.
    pub outcome: Outcome,
    /// The token record after this attempt.
    pub record: IssuedToken,
    /// The user's budget after this attempt.
    pub budget: GuessBudget,
}

impl IssuedToken {
    /// As [`verify`](Self::verify), and also spends from the user's `budget`.
    ///
    /// After the refusals that examine no candidate (used, locked, not yet valid, expired),
    /// a spent budget refuses with [`Outcome::BudgetExhausted`], even the right token, and
    /// counts nothing. Otherwise the candidate is compared: a failure spends one guess
    /// from the budget, a success refills it. Store the returned record **and** budget with
    /// one compare-and-set.
    ///
    /// ```
    /// use password_mgmt::{issue, GuessBudget, GuessLimits, Outcome, TokenKey, TokenParams};
    /// use password_mgmt::time::UtcDateTime;
    /// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
    ///
    /// let (mut rng, key) = (ChaCha20Rng::seed_from_u64(1), TokenKey::from_bytes(&[9; 32]));
    /// let now = UtcDateTime::from_unix_timestamp(1_800_000_000)?;
    /// let limits = GuessLimits::default();
    /// let issued = issue(&mut rng, &key, "u", &TokenParams::default(), now)?;
    /// let check = issued.record.verify_with_budget(&key, &GuessBudget::new(), &limits, "u", "x", now)?;
    /// assert_eq!(check.outcome, Outcome::Malformed { attempts_left: 4 });
    /// assert_ne!(check.budget, GuessBudget::new()); // one failure spent
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_with_budget(
        &self,
        key: &TokenKey,
        budget: &GuessBudget,
        limits: &GuessLimits,
        user_id: &str,
        candidate: &str,
        now: UtcDateTime,
    ) -> Result<BudgetedVerification, Error> {
        let unchanged = |outcome| BudgetedVerification {
            outcome,
            record: self.clone(),
            budget: *budget,
        };
        if let Some(outcome) = self.refusal(key, user_id, now)? {
            return Ok(unchanged(outcome));
        }
        if let RateDecision::Limited { retry_after } = budget.peek(limits, now) {
            return Ok(unchanged(Outcome::BudgetExhausted { retry_after }));
        }
        let Verification { outcome, record } = self.attempt(key, user_id, candidate);
        let budget = if outcome.is_accepted() {
            GuessBudget::new()
        } else {
            budget.spend(limits, now)
        };
        Ok(BudgetedVerification {
            outcome,
            record,
            budget,
        })
    }
}

impl RateLimit {
    /// 10 per hour: a burst of 6, then one per 12 minutes (what `new(10, 1 hour)` computes;
    /// a test checks it).
    pub(crate) const PER_HOUR_10: Self = Self::from_parts(
        10,
        Duration::hours(1),
        6,
        Duration::minutes(12),
        Duration::hours(1),
    );
    /// 100 per day: a burst of 51, then one per 28 minutes 48 seconds.
    pub(crate) const PER_DAY_100: Self = Self::from_parts(
        100,
        Duration::days(1),
        51,
        Duration::seconds(1_728),
        Duration::days(1),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn the_default_limits_are_what_new_computes() {
        assert_eq!(
            RateLimit::PER_HOUR_10,
            RateLimit::new(10, Duration::hours(1)).unwrap()
        );
        assert_eq!(
            RateLimit::PER_DAY_100,
            RateLimit::new(100, Duration::days(1)).unwrap()
        );
    }
}
