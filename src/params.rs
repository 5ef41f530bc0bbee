//! Token parameters: how long a token lives ([`TokenTtl`]), how many failures lock it
//! ([`AttemptLimit`]), both with its length in [`TokenParams`]; and whom a token is for
//! ([`Subject`]: tenant, user and [`Purpose`]), which its MAC binds.
//!
//! Below the record, the request and the org config, which all use them.

use core::fmt;

use time::Duration;

use crate::digit_token::TokenLength;
use crate::error::{Error, Violation, ViolationKind, check_range};

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

/// Validated parameters for [`UserState::issue`](crate::UserState::issue): token length,
/// lifetime, attempt limit.
///
/// Made by [`DigitTokenRequest::resolve`](crate::DigitTokenRequest::resolve), or directly:
///
/// ```
/// use password_mgmt::{AttemptLimit, TokenLength, TokenParams, TokenTtl};
///
/// let params = TokenParams::new(TokenLength::new(8)?, TokenTtl::from_minutes(10)?)
///     .with_attempt_limit(AttemptLimit::new(3)?);
/// assert_eq!(params.attempt_limit().get(), 3);
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenParams {
    length: TokenLength,
    ttl: TokenTtl,
    attempt_limit: AttemptLimit,
}

impl TokenParams {
    /// Parameters with the default attempt limit.
    #[must_use]
    pub const fn new(length: TokenLength, ttl: TokenTtl) -> Self {
        Self {
            length,
            ttl,
            attempt_limit: AttemptLimit::DEFAULT,
        }
    }

    /// The same parameters with another attempt limit.
    #[must_use]
    pub const fn with_attempt_limit(self, attempt_limit: AttemptLimit) -> Self {
        Self {
            attempt_limit,
            ..self
        }
    }

    /// Digits in the token.
    #[must_use]
    pub const fn length(&self) -> TokenLength {
        self.length
    }

    /// How long the token stays valid.
    #[must_use]
    pub const fn ttl(&self) -> TokenTtl {
        self.ttl
    }

    /// Failed attempts that lock the token.
    #[must_use]
    pub const fn attempt_limit(&self) -> AttemptLimit {
        self.attempt_limit
    }
}

/// Whom a token is for, and what for. The record's MAC binds all three fields, so a
/// record made for one tenant, user or purpose never verifies for another under the same key.
///
/// The fields are named, so that a call site cannot swap them silently:
///
/// ```
/// use password_mgmt::{Purpose, Subject};
///
/// let subject = Subject { tenant: "acme", user: "Abby.Smith", purpose: Purpose::PASSWORD_RESET };
/// assert_eq!(subject.purpose.as_str(), "password-reset");
/// ```
///
/// Each is compared byte for byte: normalise case and Unicode (if you want to) before you
/// build the subject, the same way at issue and at verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subject<'a> {
    /// The tenant (org) the user belongs to: not blank, at most
    /// [`MAX_TENANT_LEN`](Self::MAX_TENANT_LEN) bytes.
    pub tenant: &'a str,
    /// The user (the API's `userId`): not blank, at most
    /// [`MAX_USER_LEN`](Self::MAX_USER_LEN) bytes.
    pub user: &'a str,
    /// What the token is for.
    pub purpose: Purpose,
}

impl Subject<'_> {
    /// The longest tenant name accepted, in bytes of UTF-8.
    pub const MAX_TENANT_LEN: usize = 128;
    /// The longest user id accepted, in bytes of UTF-8.
    pub const MAX_USER_LEN: usize = 256;

    /// Checks the tenant and the user id, reporting both problems at once.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let (tenant, user) = (
            check_name("tenant", self.tenant, Self::MAX_TENANT_LEN),
            check_user_id(self.user),
        );
        if tenant.is_ok() && user.is_ok() {
            return Ok(());
        }
        let found: alloc::vec::Vec<Violation> =
            [tenant, user].into_iter().filter_map(Result::err).collect();
        crate::error::Violations::into_result(found, || ())
    }
}

/// What a token is for, bound into its MAC: a token issued for one purpose never verifies
/// for another. 1 to [`MAX_LEN`](Self::MAX_LEN) bytes of `a`-`z`, `0`-`9`, `-`, `.`, `_`
/// and `:`.
///
/// ```
/// use password_mgmt::Purpose;
///
/// let unlock = Purpose::new("account-unlock")?;
/// assert_ne!(unlock, Purpose::PASSWORD_RESET);
/// assert!(Purpose::new("Password Reset").is_err());
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Purpose(&'static str);

impl Purpose {
    /// Resetting a password: the API's digit tokens.
    pub const PASSWORD_RESET: Self = Self("password-reset");
    /// The longest name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// A purpose named `name`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `purpose` when `name` is empty, longer than
    /// [`MAX_LEN`](Self::MAX_LEN) bytes, or has a character outside `a`-`z`, `0`-`9`, `-`,
    /// `.`, `_`, `:`.
    pub fn new(name: &'static str) -> Result<Self, Error> {
        const FIELD: &str = "purpose";
        if name.len() > Self::MAX_LEN {
            return Err(Violation::new(
                FIELD,
                ViolationKind::TooLong {
                    max: Self::MAX_LEN,
                    found: name.len(),
                },
            )
            .into());
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._:".contains(&b);
        if name.is_empty() || !name.bytes().all(allowed) {
            return Err(Violation::new(
                FIELD,
                ViolationKind::Format {
                    expected: "1 to 64 characters of a-z, 0-9, '-', '.', '_' and ':'",
                },
            )
            .into());
        }
        Ok(Self(name))
    }

    /// The name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Checks a user id: not blank (empty or only white space), at most
/// [`Subject::MAX_USER_LEN`] bytes.
pub(crate) fn check_user_id(user_id: &str) -> Result<(), Violation> {
    check_name("userId", user_id, Subject::MAX_USER_LEN)
}

/// Checks a name: not blank, at most `max` bytes.
fn check_name(field: &'static str, name: &str, max: usize) -> Result<(), Violation> {
    if name.len() > max {
        return Err(Violation::new(
            field,
            ViolationKind::TooLong {
                max,
                found: name.len(),
            },
        ));
    }
    if name.trim().is_empty() {
        return Err(Violation::new(field, ViolationKind::Blank));
    }
    Ok(())
}
