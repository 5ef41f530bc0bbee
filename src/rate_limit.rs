//! Rate limits as pure values: a [`RateLimit`] (how many events in what window) and a
//! [`RateLimiter`] (the state a service stores per client or per address), for the API's
//! 429.
//!
//! # The algorithm: GCRA
//! Each limiter keeps one instant, the *theoretical arrival time* (TAT) of the generic cell
//! rate algorithm, a token bucket written as a single timestamp. An event at `now` is
//! allowed when `TAT - tau <= now` (`tau`, the burst tolerance, is `(burst - 1) *
//! interval`); it then moves the TAT to `max(TAT, now) + interval`. GCRA was chosen over a
//! counter-and-timestamp token bucket because its state is one instant (14 bytes encoded),
//! it needs no refill arithmetic, and it gives an exact bound that can be stated and
//! tested:
//!
//! **At most `max` events are allowed in any window of length `window`** (any half-open
//! interval `[t, t + window)`, wherever it starts). [`RateLimit::new`] chooses the
//! parameters to make that hold: of `max` events, a burst of [`burst`](RateLimit::burst)
//! can come at once, and the rest are spread at one per [`interval`](RateLimit::interval).
//! With 10 per hour: a burst of 6, then one every 12 minutes.
//!
//! # Clocks
//! Nodes' clocks disagree a little, and the state one node writes is read by another.
//! * **The first event ever** (a fresh limiter, [`RateLimiter::new`]) is allowed.
//! * **A huge gap** since the last event is an ordinary gap: the limiter is as fresh again.
//! * **An instant before the last one** is an ordinary instant: the arrival time only
//!   moves forward, so a clock that steps back, or a node whose clock is behind, never buys
//!   events. The bound holds for every sequence of readings in which no reading is more
//!   than the limit's [clock tolerance](RateLimit::clock_tolerance) behind an earlier one,
//!   that is, as long as the nodes' clocks agree within the tolerance.
//! * **State from a clock further ahead than the tolerance** (its arrival time lies more
//!   than the tolerance beyond the latest one events up to `now` could produce) is
//!   *clamped* to that latest instant plus the tolerance: the most restrictive state a
//!   node within the tolerance could have written. It is never reset: a reset would hand
//!   out a fresh burst (two nodes 50 ms apart and one reset gave 12 events in 11 ms
//!   against a bound of 10 an hour). The clamp keeps the bound in the reading node's clock
//!   and spares users a lockout for as long as the faulty clock was ahead. Every check
//!   reports the [lead](RateCheck::clock_lead) it saw, so that the service can log it,
//!   and hands over the clamped state to store even when it refuses.
//! * **The end of time**: when the arrival time cannot advance past `UtcDateTime::MAX`,
//!   events are refused. Nothing overflows and nothing panics.
//!
//! # Recommended limits
//! | limit | value | why |
//! |---|---|---|
//! | token requests per user ([`UserLimits`](crate::UserLimits)) | `5/1h` | a user rarely needs more; every token costs a delivery (mail, SMS) |
//! | token requests per API client | `600/1h` | a help desk serving many users; stops a stolen client credential from flooding |
//! | code redemptions per client address | `30/10m` | a person types a few codes; a script is slowed to 3 a minute |
//! | failed guesses per user ([`UserLimits`](crate::UserLimits)) | `10/1h` and `100/1d`, at most 100 in a row | see [`limits`](crate::limits) |
//!
//! Like the per-user state, a limiter is state the service stores (per client, per
//! address) and writes back with a compare-and-set: [`RateCheck::update`].

use core::fmt;
use core::str::FromStr;

use time::{Duration, UtcDateTime};

use crate::error::{Error, RecordError, Violation, ViolationKind, Violations};
use crate::retry_after::RetryAfter;
use crate::stored::{StateUpdate, fill, versioned};

/// How many events are allowed in what window: at most [`max`](Self::max) in any window of
/// [`window`](Self::window). See the [module docs](self) for the exact guarantee.
///
/// Its configuration form is `N/W`: `N` events per window `W`, a whole number of seconds
/// (`s`), minutes (`m`), hours (`h`) or days (`d`).
///
/// ```
/// use password_mgmt::RateLimit;
/// use password_mgmt::time::Duration;
///
/// let limit: RateLimit = "10/1h".parse()?;
/// assert_eq!(limit, RateLimit::new(10, Duration::hours(1))?);
/// assert_eq!((limit.burst(), limit.interval()), (6, Duration::minutes(12)));
/// assert_eq!(limit.to_string(), "10/1h");
/// assert_eq!("100/24h".parse::<RateLimit>()?.to_string(), "100/1d");
/// assert!("10 per hour".parse::<RateLimit>().is_err());
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    max: u32,
    window: Duration,
    /// GCRA emission interval `T`.
    interval: Duration,
    /// GCRA burst tolerance `tau = (burst - 1) * T`.
    tau: Duration,
    burst: u32,
    clock_tolerance: Duration,
}

impl RateLimit {
    /// The most events a limit may allow per window.
    pub const MAX_EVENTS: u32 = 10_000;
    /// The shortest window: one second.
    pub const MIN_WINDOW: Duration = Duration::SECOND;
    /// The longest window: 366 days.
    pub const MAX_WINDOW: Duration = Duration::days(366);
    /// The clock tolerance of a new limit: 5 seconds (NTP keeps servers far closer).
    pub const DEFAULT_CLOCK_TOLERANCE: Duration = Duration::seconds(5);
    /// The largest clock tolerance accepted: 5 minutes.
    pub const MAX_CLOCK_TOLERANCE: Duration = Duration::minutes(5);

    /// At most `max` events in any window of length `window`, with the
    /// [default clock tolerance](Self::DEFAULT_CLOCK_TOLERANCE).
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
        let (min_s, max_s) = (
            Self::MIN_WINDOW.whole_seconds(),
            Self::MAX_WINDOW.whole_seconds(),
        );
        if window.subsec_nanoseconds() != 0 {
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
        Violations::into_result(found, || ())?;

        #[allow(
            clippy::arithmetic_side_effects,
            reason = "in range: window <= 366 days < 2^55 ns, 1 <= max <= 10^4, refill >= 1 where divided by"
        )]
        let (burst, interval_ns, tau_ns) = {
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
            Duration::nanoseconds(tau_ns),
        ))
    }

    pub(crate) const fn from_parts(
        max: u32,
        window: Duration,
        burst: u32,
        interval: Duration,
        tau: Duration,
    ) -> Self {
        Self {
            max,
            window,
            interval,
            tau,
            burst,
            clock_tolerance: Self::DEFAULT_CLOCK_TOLERANCE,
        }
    }

    /// The same limit with another clock tolerance: how far apart the clocks of the nodes
    /// that share this limiter's state may be (see the [module docs](self)).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `clockTolerance` when `tolerance` is negative or above
    /// [`MAX_CLOCK_TOLERANCE`](Self::MAX_CLOCK_TOLERANCE).
    pub fn with_clock_tolerance(self, tolerance: Duration) -> Result<Self, Error> {
        check_clock_tolerance(tolerance)?;
        Ok(Self {
            clock_tolerance: tolerance,
            ..self
        })
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

    /// How far ahead of a reader's clock stored state may be before it is clamped.
    #[must_use]
    pub const fn clock_tolerance(&self) -> Duration {
        self.clock_tolerance
    }
}

/// Checks a clock tolerance: 0 to [`RateLimit::MAX_CLOCK_TOLERANCE`].
pub(crate) fn check_clock_tolerance(tolerance: Duration) -> Result<(), Violation> {
    let max = RateLimit::MAX_CLOCK_TOLERANCE;
    if tolerance.is_negative() || tolerance > max {
        let ms = |d: Duration| i64::try_from(d.whole_milliseconds()).unwrap_or(i64::MAX);
        return Err(Violation::new(
            "clockTolerance",
            ViolationKind::OutOfRange {
                min: 0,
                max: ms(max),
                found: ms(tolerance),
            },
        ));
    }
    Ok(())
}

impl fmt::Display for RateLimit {
    /// The configuration form, `N/W` with the largest unit that divides the window:
    /// `10/1h`, `100/1d`, `5/90m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", self.max)?;
        write_duration(f, self.window)
    }
}

impl FromStr for RateLimit {
    type Err = Error;

    /// Parses the configuration form `N/W` (surrounding white space ignored): `10/1h`,
    /// `100/1d`, `30/10m`; the count of units may be left out (`10/h`).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `rateLimit` for text of another form, then as
    /// [`RateLimit::new`] for values out of range.
    fn from_str(text: &str) -> Result<Self, Error> {
        let format = || {
            Error::from(Violation::new(
                "rateLimit",
                ViolationKind::Format {
                    expected: "N/W, such as 10/1h: N events per W, a whole number of s, m, h or d",
                },
            ))
        };
        let (max, window) = text.trim().split_once('/').ok_or_else(format)?;
        let max = parse_digits(max).ok_or_else(format)?;
        let window = parse_duration(window, false).ok_or_else(format)?;
        Self::new(u32::try_from(max).unwrap_or(u32::MAX), window)
    }
}

/// A run of ASCII digits (nothing else) as a number.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A duration written as digits and a unit (`s`, `m`, `h`, `d`; also `ms` when
/// `allow_ms`), e.g. `15m`; the digits may be left out for one unit (`h`).
pub(crate) fn parse_duration(text: &str, allow_ms: bool) -> Option<Duration> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (count, unit) = text.split_at_checked(split)?;
    let count = if count.is_empty() {
        1
    } else {
        i64::try_from(parse_digits(count)?).ok()?
    };
    let unit = match unit {
        "ms" if allow_ms => Duration::MILLISECOND,
        "s" => Duration::SECOND,
        "m" => Duration::MINUTE,
        "h" => Duration::HOUR,
        "d" => Duration::DAY,
        _ => return None,
    };
    unit.checked_mul(i32::try_from(count).ok()?)
}

/// Writes `d` (non-negative) with the largest unit that divides it: `1d`, `90m`, `500ms`.
pub(crate) fn write_duration(f: &mut fmt::Formatter<'_>, d: Duration) -> fmt::Result {
    let ms = d.whole_milliseconds();
    for (unit, unit_ms) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms != 0 && ms.checked_rem(unit_ms) == Some(0) {
            return write!(f, "{}{unit}", ms.checked_div(unit_ms).unwrap_or(ms));
        }
    }
    write!(f, "{ms}ms")
}

/// The state of one rate limit for one subject (a client, an address): one instant, or
/// none for a limiter that has seen nothing. Store it; [`check`](Self::check) returns the
/// update to store.
///
/// ```
/// use password_mgmt::{RateLimit, RateLimiter};
/// use password_mgmt::time::{Duration, UtcDateTime};
///
/// let limit: RateLimit = "3/10m".parse()?; // burst 3, then one per 10 minutes
/// let now = UtcDateTime::from_unix_timestamp(1_800_000_000)?;
/// let mut stored = RateLimiter::new().encode();
/// for _ in 0..3 {
///     let check = RateLimiter::decode(&stored)?.check(&limit, now);
///     let update = check.update().expect("an allowed event changes the state");
///     // ... compare-and-set update.replacement() where the store holds update.expected() ...
///     stored = *update.replacement();
///     assert!(check.stored().is_allowed());
/// }
/// let check = RateLimiter::decode(&stored)?.check(&limit, now);
/// let retry_after = check.limited().expect("the fourth is limited");
/// assert_eq!((retry_after.duration(), retry_after.seconds()), (Duration::minutes(10), 600));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateLimiter(Option<Nanos>);

/// What [`RateLimiter::check`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateDecision {
    /// The event may proceed.
    Allowed,
    /// Too many events: answer 429 and tell the caller to wait.
    Limited {
        /// How long until the next event would be allowed.
        retry_after: RetryAfter,
    },
}

impl RateDecision {
    /// Whether the event may proceed.
    #[must_use]
    pub const fn is_allowed(self) -> bool {
        matches!(self, Self::Allowed)
    }

    /// The wait, when limited.
    #[must_use]
    pub const fn retry_after(self) -> Option<RetryAfter> {
        match self {
            Self::Allowed => None,
            Self::Limited { retry_after } => Some(retry_after),
        }
    }

    /// A stable name for logs: `allowed` or `limited`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Limited { .. } => "limited",
        }
    }
}

/// What [`RateLimiter::check`] returns. An allowed event counts only once its
/// [`update`](Self::update) is stored: store it (compare-and-set), then read the decision
/// with [`stored`](Self::stored).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "an allowed event counts only once `update()` is stored; then read `stored()`"]
pub struct RateCheck {
    decision: RateDecision,
    update: Option<StateUpdate<{ RateLimiter::ENCODED_LEN }>>,
    lead: Duration,
}

impl RateCheck {
    /// The write to perform before the event may proceed: `Some` when it is allowed, and
    /// when the stored state was clamped (see [`clock_lead`](Self::clock_lead)); a clamp
    /// must be stored even when the event is refused, or the next check would clamp anew
    /// from its own `now` and never let an event through.
    #[must_use]
    pub const fn update(&self) -> Option<&StateUpdate<{ RateLimiter::ENCODED_LEN }>> {
        self.update.as_ref()
    }

    /// The decision, once [`update`](Self::update) (if any) is stored.
    #[must_use]
    pub const fn stored(self) -> RateDecision {
        self.decision
    }

    /// The wait, when the event is refused (store [`update`](Self::update) all the same
    /// when there is one: a clamp).
    #[must_use]
    pub const fn limited(&self) -> Option<RetryAfter> {
        self.decision.retry_after()
    }

    /// How far the stored state was ahead of the latest state `now` allows (zero when it
    /// was not): a sign of a node whose clock runs ahead. Beyond the limit's
    /// [clock tolerance](RateLimit::clock_tolerance) the state was clamped; log it.
    #[must_use]
    pub const fn clock_lead(&self) -> Duration {
        self.lead
    }
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
        let step = gcra(self.0, limit, nanos(now));
        let update = step
            .changed()
            .then(|| StateUpdate::new(self.encode(), Self(step.after).encode()));
        RateCheck {
            decision: step.decision,
            update,
            lead: duration(step.lead),
        }
    }

    /// The decision an event at `now` would get, without recording one.
    #[must_use]
    pub fn peek(&self, limit: &RateLimit, now: UtcDateTime) -> RateDecision {
        gcra(self.0, limit, nanos(now)).decision
    }

    /// How far this state is ahead of the latest state events up to `now` could produce
    /// (zero when it is not); see [`RateCheck::clock_lead`].
    #[must_use]
    pub fn clock_lead(&self, limit: &RateLimit, now: UtcDateTime) -> Duration {
        duration(clamp(self.0, limit, nanos(now)).1)
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

/// An instant as nanoseconds since the Unix epoch, within `UtcDateTime`'s range: the
/// arithmetic of every limiter check, which on `UtcDateTime` itself (dates and times)
/// cost several times as much.
pub(crate) type Nanos = i128;

/// The last instant `UtcDateTime` represents, in [`Nanos`].
const MAX_NANOS: Nanos = UtcDateTime::MAX.unix_timestamp_nanos();

// Instants stay within 2^69 ns of the epoch and their differences within 2^70, where
// `split` is exact and the limiter arithmetic cannot overflow; `time`'s `large-dates`
// (about 2^75) would break that, and this stops the build instead.
const _: () = assert!(MAX_NANOS < 1 << 69 && UtcDateTime::MIN.unix_timestamp_nanos() > -(1 << 69));

/// `t` in [`Nanos`].
pub(crate) const fn nanos(t: UtcDateTime) -> Nanos {
    t.unix_timestamp_nanos()
}

/// A duration in nanoseconds (every limit's is below 2^56).
const fn ns(d: Duration) -> Nanos {
    d.whole_nanoseconds()
}

/// [`Nanos`] back as a duration (saturating; every value here is far inside the range).
pub(crate) fn duration(ns: Nanos) -> Duration {
    let (secs, sub) = split(ns);
    Duration::seconds(secs).saturating_add(Duration::nanoseconds(sub.into()))
}

/// `t` as whole seconds (rounded down) and the nanoseconds past them. Exact for
/// `|t| < 2^72` (so for every instant here, below 2^69, and every difference, below 2^70:
/// see the assertion below); beyond, the seconds saturate.
///
/// Dividing an `i128` by a constant is a library call that costs more than the rest of
/// a limiter check, so this divides `t >> 9` (rounded down: `t / 2^9`) by `1e9 / 2^9`
/// in `i64`, which rounds down twice to the same quotient.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "q * 1e9 <= t < 2^127 and 0 <= t - q * 1e9 < 1e9"
)]
fn split(t: Nanos) -> (i64, u32) {
    const SHIFT: u32 = 9;
    const REST: i64 = 1_000_000_000 >> SHIFT;
    let Ok(shifted) = i64::try_from(t >> SHIFT) else {
        return if t < 0 { (i64::MIN, 0) } else { (i64::MAX, 0) };
    };
    let secs = shifted.div_euclid(REST);
    let sub = u32::try_from(t - i128::from(secs) * 1_000_000_000).unwrap_or_default();
    (secs, sub)
}

/// One GCRA step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// The decision.
    pub(crate) decision: RateDecision,
    /// The stored arrival time as this step read it: clamped when it was too far ahead.
    pub(crate) before: Option<Nanos>,
    /// The arrival time after the event when allowed; `before` when limited.
    pub(crate) after: Option<Nanos>,
    /// How far the stored arrival time was ahead of the latest one `now` allows.
    pub(crate) lead: Nanos,
    /// Whether `before` differs from the stored arrival time (a clamp that must be stored,
    /// or the clamp would move with `now` and never let an event through).
    pub(crate) clamped: bool,
}

impl Step {
    /// Whether the state to store differs from the stored one.
    pub(crate) const fn changed(&self) -> bool {
        self.decision.is_allowed() || self.clamped
    }
}

/// The GCRA step: the decision, and the arrival times to store. `now` is within
/// `UtcDateTime`'s range, as every stored arrival time is.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "instants and limits are far inside i128: |t| < 2^69 ns, tau + interval < 2^57 ns"
)]
pub(crate) fn gcra(stored: Option<Nanos>, limit: &RateLimit, now: Nanos) -> Step {
    let (before, lead) = clamp(stored, limit, now);
    let clamped = before != stored;
    let tat_now = before.unwrap_or(now);
    let allowed_from = tat_now - ns(limit.tau);
    let next = tat_now.max(now) + ns(limit.interval);
    let limited = |wait| Step {
        decision: RateDecision::Limited {
            retry_after: RetryAfter::positive(duration(wait)),
        },
        before,
        after: before,
        lead,
        clamped,
    };
    if next > MAX_NANOS {
        // At the end of time the arrival time cannot advance: refuse rather than let
        // every later event through.
        limited(ns(limit.interval))
    } else if allowed_from <= now {
        Step {
            decision: RateDecision::Allowed,
            before,
            after: Some(next),
            lead,
            clamped,
        }
    } else {
        limited(allowed_from - now)
    }
}

/// The arrival time clamped to at most the tolerance beyond the latest one events up to
/// `now` can produce (`now + tau + interval`), and how far beyond that it was.
#[allow(
    clippy::arithmetic_side_effects,
    reason = "instants and limits are far inside i128: |t| < 2^69 ns, tau + interval < 2^57 ns"
)]
fn clamp(tat: Option<Nanos>, limit: &RateLimit, now: Nanos) -> (Option<Nanos>, Nanos) {
    let latest = now + ns(limit.tau) + ns(limit.interval);
    match tat {
        Some(t) if t > latest => {
            let lead = t - latest;
            let tolerance = ns(limit.clock_tolerance);
            if lead > tolerance {
                (Some((latest + tolerance).min(MAX_NANOS)), lead)
            } else {
                (tat, lead)
            }
        }
        _ => (tat, 0),
    }
}

/// How far a stored arrival time is ahead of the latest one events up to `now` could
/// produce (0 when it is not).
pub(crate) fn lead(stored: Option<Nanos>, limit: &RateLimit, now: Nanos) -> Nanos {
    clamp(stored, limit, now).1
}

/// Encoded length of an optional arrival time: flag, seconds, nanoseconds.
pub(crate) const TAT_LEN: usize = 1 + 8 + 4;

/// An optional instant as `TAT_LEN` bytes: flag, Unix seconds, nanoseconds (all zero when
/// absent).
pub(crate) fn encode_tat(tat: Option<Nanos>) -> [u8; TAT_LEN] {
    let mut bytes = [0u8; TAT_LEN];
    if let Some(t) = tat {
        // Within `UtcDateTime`'s range, so `split` does not saturate.
        let (secs, sub) = split(t);
        fill(&mut bytes, &[&[1], &secs.to_be_bytes(), &sub.to_be_bytes()]);
    }
    bytes
}

/// Reads an optional instant written by [`encode_tat`], strictly: it must be an instant
/// `UtcDateTime` represents.
pub(crate) fn decode_tat(bytes: &[u8], field: &'static str) -> Result<Option<Nanos>, RecordError> {
    let invalid = RecordError::InvalidField(field);
    let (&flag, rest) = bytes.split_first().ok_or(invalid)?;
    let (secs, rest) = rest.split_first_chunk::<8>().ok_or(invalid)?;
    let sub = rest.first_chunk::<4>().ok_or(invalid)?;
    match flag {
        0 if secs.iter().chain(sub).all(|&b| b == 0) => Ok(None),
        1 => UtcDateTime::from_unix_timestamp(i64::from_be_bytes(*secs))
            .ok()
            .and_then(|t| t.replace_nanosecond(u32::from_be_bytes(*sub)).ok())
            .map(|t| Some(nanos(t)))
            .ok_or(invalid),
        _ => Err(invalid),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use alloc::string::ToString;

    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, d) in [
            ("1s", Duration::SECOND),
            ("90m", Duration::minutes(90)),
            ("h", Duration::HOUR),
            ("24h", Duration::DAY),
            ("366d", Duration::days(366)),
        ] {
            assert_eq!(parse_duration(text, false), Some(d), "{text}");
        }
        assert_eq!(
            parse_duration("500ms", true),
            Some(Duration::milliseconds(500))
        );
        for bad in [
            "",
            "1",
            "1x",
            "-1h",
            "+1h",
            "1 h",
            "1H",
            "500ms",
            "99999999999d",
        ] {
            assert_eq!(parse_duration(bad, false), None, "{bad}");
        }
        let limit = RateLimit::new(5, Duration::minutes(90)).unwrap();
        assert_eq!(limit.to_string(), "5/90m");
        assert_eq!(
            RateLimit::new(5, Duration::seconds(61))
                .unwrap()
                .to_string(),
            "5/61s"
        );
    }

    #[test]
    fn split_rounds_down_like_euclidean_division() {
        let giga: Nanos = 1_000_000_000;
        for t in [
            0,
            1,
            -1,
            giga - 1,
            giga,
            -giga,
            -giga - 1,
            511,
            512,
            -512,
            -513,
            MAX_NANOS,
            nanos(UtcDateTime::MIN),
            1_795_000_000_123_456_789,
            -1_795_000_000_123_456_789,
        ] {
            let want = (
                i64::try_from(t.div_euclid(giga)).unwrap(),
                u32::try_from(t.rem_euclid(giga)).unwrap(),
            );
            assert_eq!(split(t), want, "{t}");
            assert_eq!(duration(t).whole_nanoseconds(), t, "{t}");
        }
        assert_eq!(split(i128::MAX), (i64::MAX, 0));
        assert_eq!(split(i128::MIN), (i64::MIN, 0));
    }

    #[test]
    fn a_lead_within_the_tolerance_is_kept_and_beyond_it_clamped() {
        let limit = RateLimit::new(10, Duration::hours(1)).unwrap();
        let now = nanos(UtcDateTime::from_unix_timestamp(1_800_000_000).unwrap());
        let latest = now + ns(limit.tau) + ns(limit.interval);
        let near = Some(latest + ns(Duration::seconds(3)));
        assert!(
            !gcra(near, &limit, now).changed(),
            "a refusal within the tolerance"
        );
        let far = Some(latest + ns(Duration::hours(2)));
        assert!(gcra(far, &limit, now).changed(), "a clamp");
        assert_eq!(clamp(near, &limit, now), (near, ns(Duration::seconds(3))));
        assert_eq!(
            clamp(far, &limit, now),
            (
                Some(latest + ns(limit.clock_tolerance)),
                ns(Duration::hours(2))
            )
        );
        assert_eq!(clamp(Some(latest), &limit, now), (Some(latest), 0));
    }
}
