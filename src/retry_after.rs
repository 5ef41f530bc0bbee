//! [`RetryAfter`]: how long a refused caller must wait, and the `Retry-After` header's
//! seconds, computed in one place for every refusal (rate limits, guess budgets).

use core::fmt;

use time::Duration;

/// How long until a refused event would be allowed: always positive.
///
/// Every refusal in this crate carries one ([`RateDecision::Limited`](crate::RateDecision::Limited),
/// [`Outcome::BudgetExhausted`](crate::Outcome::BudgetExhausted),
/// [`Error::RateLimited`](crate::Error::RateLimited)), and [`seconds`](Self::seconds) is the
/// one rounding rule for the HTTP `Retry-After` header.
///
/// ```
/// use password_mgmt::RetryAfter;
/// use password_mgmt::time::Duration;
///
/// let wait = RetryAfter::new(Duration::milliseconds(1_500)).unwrap();
/// assert_eq!(wait.seconds(), 2); // rounded up: retrying after 1 s would be refused again
/// assert_eq!(wait.to_string(), "2");
/// assert!(RetryAfter::new(Duration::ZERO).is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetryAfter(Duration);

impl RetryAfter {
    /// A wait of `wait`; `None` unless it is positive.
    #[must_use]
    pub fn new(wait: Duration) -> Option<Self> {
        wait.is_positive().then_some(Self(wait))
    }

    /// A wait of `wait`, or of one nanosecond if `wait` is not positive (a refusal always
    /// has a wait; every caller passes a positive one).
    pub(crate) fn positive(wait: Duration) -> Self {
        Self(wait.max(Duration::NANOSECOND))
    }

    /// The wait, exactly.
    #[must_use]
    pub const fn duration(self) -> Duration {
        self.0
    }

    /// The wait in whole seconds, rounded up (at least 1): the value of the `Retry-After`
    /// header (RFC 9110 section 10.2.3), after which a retry is allowed.
    #[must_use]
    pub fn seconds(self) -> u64 {
        let whole = u64::try_from(self.0.whole_seconds()).unwrap_or(u64::MAX);
        whole.saturating_add(u64::from(self.0.subsec_nanoseconds() > 0))
    }
}

impl fmt::Display for RetryAfter {
    /// The header value: [`seconds`](Self::seconds).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.seconds())
    }
}
