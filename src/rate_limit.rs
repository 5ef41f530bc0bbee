//! Rate limits as pure values: a [`RateLimit`] (how many events in what window) and a
//! [`RateLimiter`] (the state a service stores per user or per client), for the API's 429.
//!
//! # The algorithm: GCRA
//! Each limiter keeps one instant, the *theoretical arrival time* (TAT) of the generic cell
//! rate algorithm, a token bucket written as a single timestamp. An event at `now` is
//! allowed when `TAT - tolerance <= now`; it then moves the TAT to `max(TAT, now) +
//! interval`. GCRA was chosen over a counter-and-timestamp token bucket because its state
//! is one instant (14 bytes encoded), it needs no refill arithmetic, and it gives an exact
//! bound that can be stated and tested:
//!
//! **At most `max` events are allowed in any window of length `window`** (any half-open
//! interval `[t, t + window)`, wherever it starts). [`RateLimit::new`] chooses the
//! parameters to make that hold: of `max` events, a burst of [`burst`](RateLimit::burst)
//! can come at once, and the rest are spread at one per [`interval`](RateLimit::interval).
//! With 10 per hour: a burst of 6, then one every 12 minutes.
//!
//! # Rules for unusual instants
//! * **The first event ever** (a fresh limiter, [`RateLimiter::new`]) is allowed.
//! * **A huge gap** since the last event is an ordinary gap: the limiter is as fresh again.
//! * **An instant that goes backwards** (clock skew between nodes, a clock stepped back)
//!   is an ordinary instant: the stored state only ever moves forward, so no sequence of
//!   instants, in any order, lets more than `max` events into a window of readings. The
//!   price: state written by a node whose clock ran *ahead* refuses events until real
//!   time catches up, and the wait reported is that true wait, however long.
//!   [`RateLimiter::from_the_future`] tells such state apart, so that the service can log
//!   it and decide whether to reset it.
//! * **The end of time**: when the arrival time cannot advance past `UtcDateTime::MAX`,
//!   events are refused. Nothing overflows and nothing panics.
//!
//! Like the token record, a limiter is state the service stores (per user, per client) and
//! writes back with a compare-and-set; see [`issued`](crate::issued).

use core::fmt;

use time::{Duration, UtcDateTime};

use crate::error::{Error, RecordError, Violation, ViolationKind};
use crate::stored::{fill, versioned};

/// How many events are allowed in what window: at most [`max`](Self::max) in any window of
/// [`window`](Self::window). See the [module docs](self) for the exact guarantee.
///
/// ```
/// use password_mgmt::RateLimit;
/// use password_mgmt::time::Duration;
///
/// let limit = RateLimit::new(10, Duration::hours(1))?;
/// assert_eq!((limit.burst(), limit.interval()), (6, Duration::minutes(12)));
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    max: u32,
    window: Duration,
    /// GCRA emission interval `T`.
    interval: Duration,
    /// GCRA tolerance `tau = (burst - 1) * T`.
    tolerance: Duration,
    burst: u32,
}

impl RateLimit {
    /// The most events a limit may allow per window.
    pub const MAX_EVENTS: u32 = 10_000;
    /// The shortest window: one second.
    pub const MIN_WINDOW: Duration = Duration::SECOND;
    /// The longest window: 366 days.
    pub const MAX_WINDOW: Duration = Duration::days(366);

    /// At most `max` events in any window of length `window`.
    ///
    /// The parameters: `R = max / 2` events refill the bucket per window (one per
    /// `interval = window / R`, rounded up to the nanosecond), and the burst is
    /// `max - R + 1`; for `max = 1`, the burst is 1 and the interval the whole window.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `max` (outside 1..=10000) or `window` (not whole seconds,
    /// or outside one second to 366 days), every problem at once.
    pub fn new(max: u32, window: Duration) -> Result<Self, Error> {
        let mut found = alloc::vec::Vec::new();
        if !(1..=Self::MAX_EVENTS).contains(&max) {
            found.push(Violation::new(
                "max",
                ViolationKind::OutOfRange {
                    min: 1,
                    max: Self::MAX_EVENTS.into(),
                    found: max.into(),
                },
            ));
        }
        let seconds = window.whole_seconds();
        let whole = window.subsec_nanoseconds() == 0;
        let (min_s, max_s) = (
            Self::MIN_WINDOW.whole_seconds(),
            Self::MAX_WINDOW.whole_seconds(),
        );
        if !whole {
            found.push(Violation::new(
                "window",
                ViolationKind::Format {
                    expected: "a whole number of seconds",
                },
            ));
        } else if !(min_s..=max_s).contains(&seconds) {
            found.push(Violation::new(
                "window",
                ViolationKind::OutOfRange {
                    min: min_s,
                    max: max_s,
                    found: seconds,
                },
            ));
        }
        crate::error::Violations::into_result(found, || ())?;

        #[allow(
            clippy::arithmetic_side_effects,
            reason = "in range: window <= 366 days < 2^55 ns, 1 <= max <= 10^4, refill >= 1 where divided by"
        )]
        let (burst, interval_ns, tolerance_ns) = {
            let window_ns = seconds * 1_000_000_000;
            let refill = max / 2;
            let (burst, interval_ns) = if refill == 0 {
                (1, window_ns)
            } else {
                let r = i64::from(refill);
                // ceil(window / refill)
                (
                    max - refill + 1,
                    window_ns / r + i64::from(window_ns % r != 0),
                )
            };
            (burst, interval_ns, interval_ns * i64::from(burst - 1))
        };
        Ok(Self::from_parts(
            max,
            window,
            burst,
            Duration::nanoseconds(interval_ns),
            Duration::nanoseconds(tolerance_ns),
        ))
    }

    pub(crate) const fn from_parts(
        max: u32,
        window: Duration,
        burst: u32,
        interval: Duration,
        tolerance: Duration,
    ) -> Self {
        Self {
            max,
            window,
            interval,
            tolerance,
            burst,
        }
    }

    /// The most events in any window.
    #[must_use]
    pub const fn max(&self) -> u32 {
        self.max
    }

    /// The window.
    #[must_use]
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// How many events a fresh limiter allows at once.
    #[must_use]
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// The steady pace after a burst: one event per interval.
    #[must_use]
    pub const fn interval(&self) -> Duration {
        self.interval
    }
}

/// The state of one rate limit for one subject (a user, a client): one instant, or none
/// for a limiter that has seen nothing. Store it; [`check`](Self::check) returns the new
/// one.
///
/// ```
/// use password_mgmt::{RateDecision, RateLimit, RateLimiter};
/// use password_mgmt::time::{Duration, UtcDateTime};
///
/// let limit = RateLimit::new(3, Duration::minutes(10))?; // burst 3, then one per 10 min
/// let now = UtcDateTime::from_unix_timestamp(1_800_000_000)?;
/// let mut limiter = RateLimiter::new();
/// for _ in 0..3 {
///     let check = limiter.check(&limit, now);
///     assert_eq!(check.decision, RateDecision::Allowed);
///     limiter = check.limiter;
/// }
/// let check = limiter.check(&limit, now);
/// assert_eq!(check.decision, RateDecision::Limited { retry_after: Duration::minutes(10) });
/// assert_eq!(check.decision.retry_after_seconds(), Some(600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateLimiter(Option<UtcDateTime>);

/// What [`RateLimiter::check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateDecision {
    /// The event may proceed.
    Allowed,
    /// Too many events: answer 429 and tell the caller to wait.
    Limited {
        /// How long until the next event would be allowed.
        retry_after: Duration,
    },
}

impl RateDecision {
    /// Whether the event may proceed.
    #[must_use]
    pub const fn is_allowed(self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// The wait in whole seconds, rounded up (for the `Retry-After` header), when limited.
    #[must_use]
    pub fn retry_after_seconds(self) -> Option<u64> {
        match self {
            Self::Allowed => None,
            Self::Limited { retry_after } => Some(ceil_seconds(retry_after)),
        }
    }
}

/// `d` in whole seconds, rounded up; 0 for a negative `d`.
pub(crate) fn ceil_seconds(d: Duration) -> u64 {
    let whole = u64::try_from(d.whole_seconds()).unwrap_or(0);
    whole.saturating_add(u64::from(d.subsec_nanoseconds() > 0))
}

/// What [`RateLimiter::check`] returns: the decision and the state to store back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the updated limiter must be stored back when the event was allowed"]
#[non_exhaustive]
pub struct RateCheck {
    /// The decision.
    pub decision: RateDecision,
    /// The limiter after this check; store it (compare-and-set) when allowed. A limited
    /// check leaves it unchanged.
    pub limiter: RateLimiter,
}

impl RateLimiter {
    /// Length of the encoded limiter, format version 1.
    pub const ENCODED_LEN: usize = 1 + TAT_LEN;
    const VERSION: u8 = 1;

    /// A limiter that has seen no event.
    #[must_use]
    pub const fn new() -> Self {
        Self(None)
    }

    /// Checks one event at `now` against `limit`.
    pub fn check(&self, limit: &RateLimit, now: UtcDateTime) -> RateCheck {
        let (decision, tat) = gcra(self.0, limit, now);
        RateCheck {
            decision,
            limiter: Self(tat),
        }
    }

    /// The wait before the next event would be allowed, without recording one.
    #[must_use]
    pub fn peek(&self, limit: &RateLimit, now: UtcDateTime) -> RateDecision {
        gcra(self.0, limit, now).0
    }

    /// Whether this state was written by a clock running ahead of `now`: its arrival time
    /// is further ahead than `max` events up to `now` could have put it. Such state refuses
    /// events until real time catches up; log it, and reset it
    /// ([`RateLimiter::new`]) if you trust `now` more than the node that wrote it.
    #[must_use]
    pub fn from_the_future(&self, limit: &RateLimit, now: UtcDateTime) -> bool {
        from_the_future(self.0, limit, now)
    }

    /// The limiter as bytes: version `1`, then the arrival time (flag byte, Unix seconds
    /// `i64` and nanoseconds `u32`, big-endian; all zero for a fresh limiter).
    #[must_use]
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0; Self::ENCODED_LEN];
        fill(&mut out, &[&[Self::VERSION], &encode_tat(self.0)]);
        out
    }

    /// Decodes a limiter from any bytes.
    ///
    /// # Errors
    /// [`Error::Record`] for the wrong length, an unknown version, or an impossible field.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        versioned(bytes, Self::VERSION, Self::ENCODED_LEN)
            .and_then(|body| decode_tat(body, "arrivalTime"))
            .map(Self)
            .map_err(Error::Record)
    }
}

/// The GCRA step: the decision, and the arrival time to store.
pub(crate) fn gcra(
    tat: Option<UtcDateTime>,
    limit: &RateLimit,
    now: UtcDateTime,
) -> (RateDecision, Option<UtcDateTime>) {
    let tat_now = tat.unwrap_or(now);
    let allowed_from = tat_now
        .checked_sub(limit.tolerance)
        .unwrap_or(UtcDateTime::MIN);
    let next = tat_now.max(now).checked_add(limit.interval);
    match next {
        Some(next) if allowed_from <= now => (RateDecision::Allowed, Some(next)),
        // At the end of time the arrival time cannot advance: refuse rather than let
        // every later event through.
        None => (
            RateDecision::Limited {
                retry_after: limit.interval,
            },
            tat,
        ),
        Some(_) => {
            #[allow(
                clippy::arithmetic_side_effects,
                reason = "the difference of two UtcDateTimes always fits a Duration"
            )]
            let retry_after = allowed_from - now;
            (RateDecision::Limited { retry_after }, tat)
        }
    }
}

/// Whether a stored arrival time lies further ahead of `now` than any sequence of events
/// at or before `now` could have put it: the state was written by a clock that ran ahead.
pub(crate) fn from_the_future(
    tat: Option<UtcDateTime>,
    limit: &RateLimit,
    now: UtcDateTime,
) -> bool {
    let lead = limit.tolerance.saturating_add(limit.interval);
    tat.is_some_and(|t| now.checked_add(lead).is_some_and(|latest| t > latest))
}

/// Encoded length of an optional arrival time: flag, seconds, nanoseconds.
pub(crate) const TAT_LEN: usize = 1 + 8 + 4;

/// An optional instant as `TAT_LEN` bytes: flag, Unix seconds, nanoseconds (all zero when
/// absent).
pub(crate) fn encode_tat(tat: Option<UtcDateTime>) -> [u8; TAT_LEN] {
    let mut bytes = [0u8; TAT_LEN];
    if let Some(t) = tat {
        let secs = t.unix_timestamp().to_be_bytes();
        let nanos = t.nanosecond().to_be_bytes();
        fill(&mut bytes, &[&[1], &secs, &nanos]);
    }
    bytes
}

/// Reads an optional instant written by [`encode_tat`], strictly.
pub(crate) fn decode_tat(
    bytes: &[u8],
    field: &'static str,
) -> Result<Option<UtcDateTime>, RecordError> {
    let invalid = RecordError::InvalidField(field);
    let (&flag, rest) = bytes.split_first().ok_or(invalid)?;
    let (secs, rest) = rest.split_first_chunk::<8>().ok_or(invalid)?;
    let nanos = rest.first_chunk::<4>().ok_or(invalid)?;
    match flag {
        0 if secs.iter().chain(nanos).all(|&b| b == 0) => Ok(None),
        1 => UtcDateTime::from_unix_timestamp(i64::from_be_bytes(*secs))
            .ok()
            .and_then(|t| t.replace_nanosecond(u32::from_be_bytes(*nanos)).ok())
            .map(Some)
            .ok_or(invalid),
        _ => Err(invalid),
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at most {} per {}", self.max, self.window)
    }
}
