//! The server's one clock. Every instant the server hands to the crate comes from here:
//! the system clock in production, a settable fixed clock in tests.

use std::fmt;
use std::sync::Mutex;

use password_mgmt::time::{Duration, UtcDateTime};

/// A source of "now".
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> UtcDateTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UtcDateTime {
        UtcDateTime::now()
    }
}

/// A clock that stands still until told to move (tests).
#[derive(Debug)]
pub struct FixedClock(Mutex<UtcDateTime>);

impl FixedClock {
    /// A clock reading `at`.
    #[must_use]
    pub const fn new(at: UtcDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Sets the reading.
    pub fn set(&self, at: UtcDateTime) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the reading forward (or back, for a negative `by`), saturating at the ends of
    /// time.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now = now.checked_add(by).unwrap_or(if by.is_negative() {
            UtcDateTime::MIN
        } else {
            UtcDateTime::MAX
        });
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UtcDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Milliseconds since the Unix epoch, as stored in the database (saturating).
#[must_use]
pub fn to_millis(at: UtcDateTime) -> i64 {
    let nanos = at.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

/// The instant `millis` milliseconds after the Unix epoch (saturating at the ends of time).
#[must_use]
pub fn from_millis(millis: i64) -> UtcDateTime {
    UtcDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap_or(
        if millis < 0 {
            UtcDateTime::MIN
        } else {
            UtcDateTime::MAX
        },
    )
}

/// `at + seconds`, saturating.
#[must_use]
pub fn plus_seconds(at: UtcDateTime, seconds: u64) -> UtcDateTime {
    let by = Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX));
    at.checked_add(by).unwrap_or(UtcDateTime::MAX)
}
