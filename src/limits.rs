//! The per-user limits, [`UserLimits`]: token requests per user, and the bounds on failed
//! guesses across *all* of a user's tokens.
//!
//! An attempt limit per token is not enough: an attacker who fails five times asks for a
//! new token and guesses again, forever. The user's [`UserState`](crate::UserState)
//! therefore keeps a guess budget beside the live token record, and
//! [`UserState::verify`](crate::UserState::verify) applies three bounds to failed guesses
//! (wrong or malformed), on any token:
//!
//! * **at most 10 in any hour** and **at most 100 in any day** (two GCRA rate limits, see
//!   [`rate_limit`](crate::rate_limit): an exact bound over every window, wherever it
//!   starts); a spent budget refuses even the right code with
//!   [`Outcome::BudgetExhausted`](crate::Outcome::BudgetExhausted) and a `retry_after`;
//! * **at most 100 in a row** (NIST SP 800-63B-4, section 3.2.2: "the verifier SHALL limit
//!   consecutive failed authentication attempts on a single subscriber account to no more
//!   than 100"): at the cap every code is refused with
//!   [`Outcome::UserLockedOut`](crate::Outcome::UserLockedOut) until the service unlocks
//!   the user explicitly ([`UserState::unlock`](crate::UserState::unlock)), for example
//!   after a help desk checked who is asking. Only a success or an unlock resets the count;
//!   time does not.
//!
//! A success refills the budget and resets the count (or users would pay for an attacker's
//! guesses).
//!
//! # What it buys, in numbers
//! Each guess at a fresh 6-digit token succeeds with probability at most
//! `1 / (10^6 - 4)` (five distinct guesses per token at most), so with `G` guesses in all
//! the attacker's chance is at most `G / (10^6 - 4)`. A rate limit of `N` per window `W`
//! allows a burst `B` and then one per interval `T` (for 100 per day: `B = 51`,
//! `T = 28 min 48 s`), so over a span `s` the rate limits allow at most `B + s / T` guesses,
//! never more than `N` in any window; the consecutive cap stops the attacker at 100 until
//! the user succeeds or is unlocked. Under the defaults, with the user not logging in:
//!
//! | span | guesses at most | chance, 6 digits | chance, 8 digits |
//! |---|---|---|---|
//! | a day | 100 | `1.0e-4` | `1.0e-6` |
//! | a week, a year, ever | 100, then locked out | `1.0e-4` | `1.0e-6` |
//!
//! Without the consecutive cap the rate limits alone would allow `51 + 350 = 401` in a week
//! and `51 + 18,250 = 18,301` in a year (`1.8e-2` for 6 digits). A test plays the attacker
//! for a simulated month and finds exactly 100 guesses. Each unlock, or a success by the
//! user, hands an attacker who is still guessing another 100 at most.
//!
//! The flip side: whoever knows a user id can lock that user out with 100 wrong guesses
//! (in about 23.5 hours at the fastest pace the limits allow), and keep the budget spent
//! meanwhile. Rate-limit per client as well, and give users another way back (help desk,
//! a second factor) that ends with an unlock.
//!
//! ```
//! use password_mgmt::{RateLimit, UserLimits};
//!
//! let limits: UserLimits = "requests 3/1h, failures 5/1h 20/1d, consecutive 50".parse()?;
//! assert_eq!(limits.consecutive_failures(), 50);
//! assert_eq!(limits.clock_tolerance(), RateLimit::DEFAULT_CLOCK_TOLERANCE); // not given
//! assert_eq!(
//!     UserLimits::default().to_string(),
//!     "requests 5/1h, failures 10/1h 100/1d, consecutive 100, clock tolerance 5s"
//! );
//! # Ok::<(), password_mgmt::Error>(())
//! ```

use core::fmt;
use core::str::FromStr;

use time::Duration;

use crate::error::{Error, RecordError, Violation, ViolationKind, Violations};
use crate::rate_limit::{
    Nanos, RateDecision, RateLimit, TAT_LEN, check_clock_tolerance, decode_tat, encode_tat, gcra,
    parse_duration, write_duration,
};
use crate::stored::fill;

/// The limits on one user's state: token requests per user, failed guesses per hour and
/// per day, consecutive failures, and how far apart the nodes' clocks may be. See the
/// [module docs](self) for what the defaults buy.
///
/// The configuration form ([`FromStr`], [`Display`](fmt::Display)) is a comma-separated
/// list of `requests N/W`, `failures N/W N/W`, `consecutive N` and `clock tolerance D`
/// (`D` in `ms`, `s` or `m`); items left out keep their defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserLimits {
    requests: RateLimit,
    failures_short: RateLimit,
    failures_long: RateLimit,
    consecutive_failures: u16,
    clock_tolerance: Duration,
}

impl UserLimits {
    /// The most consecutive failures any configuration may allow: 100 (NIST SP 800-63B-4,
    /// section 3.2.2).
    pub const MAX_CONSECUTIVE_FAILURES: u16 = 100;

    /// The defaults: 5 token requests per hour; at most 10 failed guesses in any hour, 100
    /// in any day and 100 in a row; a clock tolerance of 5 seconds.
    pub const DEFAULT: Self = Self {
        requests: PER_HOUR_5,
        failures_short: PER_HOUR_10,
        failures_long: PER_DAY_100,
        consecutive_failures: Self::MAX_CONSECUTIVE_FAILURES,
        clock_tolerance: RateLimit::DEFAULT_CLOCK_TOLERANCE,
    };

    /// These limits with another limit on token requests per user.
    #[must_use]
    pub fn with_requests(self, limit: RateLimit) -> Self {
        Self {
            requests: self.tolerant(limit),
            ..self
        }
    }

    /// These limits with other limits on failed guesses (the names say only which one is
    /// checked first; both must allow a guess).
    #[must_use]
    pub fn with_failures(self, short: RateLimit, long: RateLimit) -> Self {
        Self {
            failures_short: self.tolerant(short),
            failures_long: self.tolerant(long),
            ..self
        }
    }

    /// These limits with another cap on consecutive failures.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `consecutiveFailures` outside 1 to
    /// [`MAX_CONSECUTIVE_FAILURES`](Self::MAX_CONSECUTIVE_FAILURES).
    pub fn with_consecutive_failures(self, cap: u16) -> Result<Self, Error> {
        crate::error::check_range(
            "consecutiveFailures",
            cap.into(),
            1,
            Self::MAX_CONSECUTIVE_FAILURES,
        )?;
        Ok(Self {
            consecutive_failures: cap,
            ..self
        })
    }

    /// These limits with another clock tolerance: how far apart the clocks of the nodes
    /// sharing users' state may be. It widens a token's window at the start (a node behind
    /// the issuing node still accepts the token) and is the tolerance of every rate limit
    /// here (see [`rate_limit`](crate::rate_limit)).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `clockTolerance` when negative or above
    /// [`RateLimit::MAX_CLOCK_TOLERANCE`].
    pub fn with_clock_tolerance(self, tolerance: Duration) -> Result<Self, Error> {
        check_clock_tolerance(tolerance)?;
        let with = |limit: RateLimit| limit.with_clock_tolerance(tolerance).unwrap_or(limit);
        Ok(Self {
            requests: with(self.requests),
            failures_short: with(self.failures_short),
            failures_long: with(self.failures_long),
            consecutive_failures: self.consecutive_failures,
            clock_tolerance: tolerance,
        })
    }

    /// `limit` with this configuration's clock tolerance (already checked).
    fn tolerant(&self, limit: RateLimit) -> RateLimit {
        limit
            .with_clock_tolerance(self.clock_tolerance)
            .unwrap_or(limit)
    }

    /// Token requests allowed per user (default `5/1h`).
    #[must_use]
    pub const fn requests(&self) -> RateLimit {
        self.requests
    }

    /// The short-window limit on failed guesses (default `10/1h`).
    #[must_use]
    pub const fn failures_short(&self) -> RateLimit {
        self.failures_short
    }

    /// The long-window limit on failed guesses (default `100/1d`).
    #[must_use]
    pub const fn failures_long(&self) -> RateLimit {
        self.failures_long
    }

    /// The cap on consecutive failures (default 100).
    #[must_use]
    pub const fn consecutive_failures(&self) -> u16 {
        self.consecutive_failures
    }

    /// How far apart the nodes' clocks may be (default 5 seconds).
    #[must_use]
    pub const fn clock_tolerance(&self) -> Duration {
        self.clock_tolerance
    }
}

impl Default for UserLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for UserLimits {
    /// The configuration form with every item, e.g. `requests 5/1h, failures 10/1h 100/1d,
    /// consecutive 100, clock tolerance 5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "requests {}, failures {} {}, consecutive {}, clock tolerance ",
            self.requests, self.failures_short, self.failures_long, self.consecutive_failures
        )?;
        if self.clock_tolerance.is_zero() {
            f.write_str("0s")
        } else {
            write_duration(f, self.clock_tolerance)
        }
    }
}

impl FromStr for UserLimits {
    type Err = Error;

    /// Parses the configuration form; items left out keep their defaults.
    ///
    /// # Errors
    /// [`Error::Invalid`] listing every problem: an unknown or repeated item (named
    /// `limits`), then each value's own errors ([`RateLimit`]'s `N/W`, `consecutiveFailures`,
    /// `clockTolerance`).
    fn from_str(text: &str) -> Result<Self, Error> {
        let mut found = alloc::vec::Vec::new();
        let mut limits = Self::DEFAULT;
        let mut seen = [false; 4];
        let mut tolerance = None;
        let format = |expected| Violation::new("limits", ViolationKind::Format { expected });
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (key, value) = match item.split_once(' ') {
                Some(("clock", value)) => match value.trim().split_once(' ') {
                    Some(("tolerance", value)) => ("clock tolerance", value.trim()),
                    _ => ("clock", value),
                },
                Some((key, value)) => (key, value.trim()),
                None => (item, ""),
            };
            let slot = match key {
                "requests" => 0,
                "failures" => 1,
                "consecutive" => 2,
                "clock tolerance" => 3,
                _ => {
                    found.push(format(
                        "items `requests N/W`, `failures N/W N/W`, `consecutive N`, `clock tolerance D`",
                    ));
                    continue;
                }
            };
            if seen
                .get_mut(slot)
                .is_some_and(|seen| core::mem::replace(seen, true))
            {
                found.push(format("each item at most once"));
                continue;
            }
            let parsed = match slot {
                0 => value.parse().map(|r| limits.requests = r),
                1 => match value.split_once(' ') {
                    Some((short, long)) => short
                        .parse::<RateLimit>()
                        .and_then(|s| Ok((s, long.trim().parse::<RateLimit>()?)))
                        .map(|(s, l)| {
                            limits.failures_short = s;
                            limits.failures_long = l;
                        }),
                    None => Err(format("`failures N/W N/W`: two limits").into()),
                },
                2 => value
                    .parse::<u16>()
                    .map_err(|_| {
                        Error::from(Violation::new(
                            "consecutiveFailures",
                            ViolationKind::Format {
                                expected: "a whole number from 1 to 100",
                            },
                        ))
                    })
                    .and_then(|n| limits.with_consecutive_failures(n))
                    .map(|l| limits = l),
                _ => match value {
                    "0" | "0s" => Ok(Duration::ZERO),
                    _ => parse_duration(value, true).ok_or_else(|| {
                        Error::from(format("`clock tolerance D`, such as 5s or 500ms"))
                    }),
                }
                .and_then(|d| Ok(check_clock_tolerance(d).map(|()| tolerance = Some(d))?)),
            };
            if let Err(e) = parsed {
                found.extend(e.violations().iter().cloned());
            }
        }
        Violations::into_result(found, || ())?;
        match tolerance {
            Some(d) => limits.with_clock_tolerance(d),
            None => Ok(limits
                .with_clock_tolerance(limits.clock_tolerance)
                .unwrap_or(limits)),
        }
    }
}

/// What [`GuessBudget::check`] found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BudgetCheck {
    /// Whether a guess is allowed.
    pub(crate) decision: RateDecision,
    /// The budget with a clamp to store, if one was needed.
    pub(crate) repaired: Option<GuessBudget>,
    /// The budget after one more failure (when allowed).
    pub(crate) spent: GuessBudget,
    /// How far the budget's state was ahead of what `now` allows.
    pub(crate) lead: Nanos,
}

/// A user's budget of failed guesses: the two arrival times of the failure limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct GuessBudget {
    short: Option<Nanos>,
    long: Option<Nanos>,
}

impl GuessBudget {
    /// Length of the encoded budget.
    pub(crate) const ENCODED_LEN: usize = 2 * TAT_LEN;

    /// A full budget: no failure recorded.
    pub(crate) const fn new() -> Self {
        Self {
            short: None,
            long: None,
        }
    }

    /// The budget's two limits at `now`, computed once: whether a guess is allowed (and if
    /// not, how long until it is), the budget as read (clamped when its arrival times were
    /// too far ahead: then it must be stored even if nothing is spent), the budget after
    /// one more failure (meaningful only when allowed), and the larger lead.
    pub(crate) fn check(&self, limits: &UserLimits, now: Nanos) -> BudgetCheck {
        let short = gcra(self.short, &limits.failures_short, now);
        let long = gcra(self.long, &limits.failures_long, now);
        let wait = match (short.decision.retry_after(), long.decision.retry_after()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        BudgetCheck {
            decision: wait.map_or(RateDecision::Allowed, |retry_after| RateDecision::Limited {
                retry_after,
            }),
            repaired: (short.clamped || long.clamped).then_some(Self {
                short: short.before,
                long: long.before,
            }),
            spent: Self {
                short: short.after,
                long: long.after,
            },
            lead: short.lead.max(long.lead),
        }
    }

    /// The two arrival times (each a flag byte, Unix seconds `i64` and nanoseconds `u32`,
    /// big-endian; all zero when unset).
    pub(crate) fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0; Self::ENCODED_LEN];
        fill(&mut out, &[&encode_tat(self.short), &encode_tat(self.long)]);
        out
    }

    /// Decodes what [`Self::encode`] writes, strictly.
    pub(crate) fn decode(bytes: &[u8; Self::ENCODED_LEN]) -> Result<Self, RecordError> {
        let (short, long) = bytes.split_at(TAT_LEN);
        Ok(Self {
            short: decode_tat(short, "failuresShort")?,
            long: decode_tat(long, "failuresLong")?,
        })
    }
}

/// 5 per hour: a burst of 4, then one per 30 minutes (what `new(5, 1 hour)` computes).
const PER_HOUR_5: RateLimit = RateLimit::from_parts(
    5,
    Duration::hours(1),
    4,
    Duration::minutes(30),
    Duration::minutes(90),
);
/// 10 per hour: a burst of 6, then one per 12 minutes.
const PER_HOUR_10: RateLimit = RateLimit::from_parts(
    10,
    Duration::hours(1),
    6,
    Duration::minutes(12),
    Duration::hours(1),
);
/// 100 per day: a burst of 51, then one per 28 minutes 48 seconds.
const PER_DAY_100: RateLimit = RateLimit::from_parts(
    100,
    Duration::days(1),
    51,
    Duration::seconds(1_728),
    Duration::days(1),
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use alloc::string::ToString;

    use super::*;

    #[test]
    fn the_default_limits_are_what_new_computes() {
        let new = |max, window| RateLimit::new(max, window).unwrap();
        assert_eq!(PER_HOUR_5, new(5, Duration::hours(1)));
        assert_eq!(PER_HOUR_10, new(10, Duration::hours(1)));
        assert_eq!(PER_DAY_100, new(100, Duration::days(1)));
        assert_eq!("".parse::<UserLimits>().unwrap(), UserLimits::DEFAULT);
    }

    #[test]
    fn the_configuration_form_round_trips_and_reports_every_problem() {
        let limits = UserLimits::DEFAULT
            .with_requests(RateLimit::new(3, Duration::minutes(15)).unwrap())
            .with_consecutive_failures(7)
            .unwrap()
            .with_clock_tolerance(Duration::milliseconds(250))
            .unwrap();
        let text = limits.to_string();
        assert_eq!(
            text,
            "requests 3/15m, failures 10/1h 100/1d, consecutive 7, clock tolerance 250ms"
        );
        assert_eq!(text.parse::<UserLimits>().unwrap(), limits);
        assert_eq!(
            limits.requests().clock_tolerance(),
            Duration::milliseconds(250)
        );

        let err = "requests 0/1h, failures 10/1h, consecutive 101, colour blue, clock tolerance 1h"
            .parse::<UserLimits>()
            .unwrap_err();
        let fields: alloc::vec::Vec<_> = err.violations().iter().map(|v| v.field()).collect();
        assert_eq!(
            fields,
            [
                "max",
                "limits",
                "consecutiveFailures",
                "limits",
                "clockTolerance"
            ]
        );
    }
}
