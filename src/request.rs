//! Token requests: a raw [`DigitTokenRequest`] resolved against the org config into
//! [`TokenParams`], and the [`RequestId`] that names each request.

use core::fmt;
use core::str::FromStr;

use rand_core::TryCryptoRng;

use crate::digit_token::TokenLength;
use crate::error::{Error, RngError, Violation, ViolationKind, Violations};
use crate::org_config::PasswordOrgConfig;
use crate::params::{Subject, TokenParams, TokenTtl, check_user_id};

/// A request for a digit token, as the API receives it (`userId`, `length`,
/// `durationMinutes`): raw values, checked by [`resolve`](Self::resolve).
///
/// ```
/// use password_mgmt::{DigitTokenRequest, PasswordOrgConfig, PasswordOrgConfigInput};
///
/// let org = PasswordOrgConfig::new(&PasswordOrgConfigInput {
///     digit_token_enabled: Some(true),
///     ..Default::default()
/// })?;
/// let request = DigitTokenRequest { user_id: "Abby.Smith", length: Some(8), duration_minutes: None };
/// let params = request.resolve(&org)?;
/// assert_eq!(params.length().get(), 8);
/// assert_eq!(params.ttl().minutes(), 5); // the org's value
///
/// let bad = DigitTokenRequest { user_id: " ", length: Some(5), duration_minutes: Some(61) };
/// let err = bad.resolve(&org).unwrap_err();
/// assert_eq!(err.violations().len(), 3); // every problem at once
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DigitTokenRequest<'a> {
    /// The user the token is for (`userId`): not blank, at most
    /// [`MAX_USER_ID_LEN`](Self::MAX_USER_ID_LEN) bytes; compared byte for byte.
    pub user_id: &'a str,
    /// Digits in the token (`length`), 6 to 18; `None` takes the org's value.
    pub length: Option<i64>,
    /// Lifetime in minutes (`durationMinutes`), 1 to 60; `None` takes the org's value.
    pub duration_minutes: Option<i64>,
}

impl DigitTokenRequest<'_> {
    /// The longest user id accepted, in bytes of UTF-8.
    pub const MAX_USER_ID_LEN: usize = Subject::MAX_USER_LEN;

    /// Checks the request against `org` and fills in the org's values for missing ones.
    ///
    /// # Errors
    /// * [`Error::DigitTokenDisabled`] when the org has digit tokens disabled (checked first);
    /// * [`Error::Invalid`] listing every problem: `userId` blank or too long, `length`
    ///   outside 6..=18, `durationMinutes` outside 1..=60.
    pub fn resolve(&self, org: &PasswordOrgConfig) -> Result<TokenParams, Error> {
        if !org.digit_token_enabled() {
            return Err(Error::DigitTokenDisabled);
        }
        let mut found = alloc::vec::Vec::new();
        if let Err(v) = check_user_id(self.user_id) {
            found.push(v);
        }
        let length = match self.length {
            None => Some(org.digit_token_length()),
            Some(n) => TokenLength::checked(TokenLength::FIELD, n)
                .map_err(|v| found.push(v))
                .ok(),
        };
        let ttl = match self.duration_minutes {
            None => Some(org.digit_token_duration()),
            Some(m) => TokenTtl::checked(TokenTtl::FIELD, m)
                .map_err(|v| found.push(v))
                .ok(),
        };
        Violations::into_result(found, || {
            TokenParams::new(length.unwrap_or_default(), ttl.unwrap_or_default())
        })
    }
}

/// The reference of a token request (`requestId`): a random UUID version 4.
///
/// Prints in the hyphenated lower-case form, e.g. `e1267ecd-fcd9-4c73-9c55-12555efad136`,
/// and parses from it. Not a secret.
///
/// ```
/// use password_mgmt::RequestId;
///
/// let id: RequestId = "e1267ecd-fcd9-4c73-9c55-12555efad136".parse()?;
/// assert_eq!(id.to_string(), "e1267ecd-fcd9-4c73-9c55-12555efad136");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId([u8; 16]);

impl RequestId {
    /// A fresh random id (UUID version 4, RFC 9562 variant).
    ///
    /// # Errors
    /// [`Error::Rng`] when a fallible RNG fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        rng.try_fill_bytes(&mut bytes)
            .map_err(|_| Error::Rng(RngError::Failed))?;
        if let Some(b) = bytes.get_mut(6) {
            *b = (*b & 0x0f) | 0x40; // version 4
        }
        if let Some(b) = bytes.get_mut(8) {
            *b = (*b & 0x3f) | 0x80; // variant 0b10
        }
        Ok(Self(bytes))
    }

    /// The id's 16 bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

impl FromStr for RequestId {
    type Err = Error;

    /// Parses the hyphenated form (8-4-4-4-12 hex digits, either case). Any UUID version
    /// is accepted, since ids may come from other systems.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `requestId` for anything else.
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::from(Violation::new(
                "requestId",
                ViolationKind::Format {
                    expected: "a UUID as 8-4-4-4-12 hex digits",
                },
            ))
        };
        let mut bytes = [0u8; 16];
        let mut hex = s
            .bytes()
            .enumerate()
            .filter(|(i, _)| !matches!(i, 8 | 13 | 18 | 23));
        if s.len() != 36
            || s.bytes()
                .enumerate()
                .any(|(i, c)| matches!(i, 8 | 13 | 18 | 23) && c != b'-')
        {
            return Err(invalid());
        }
        for b in &mut bytes {
            let (Some((_, hi)), Some((_, lo))) = (hex.next(), hex.next()) else {
                return Err(invalid());
            };
            let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) else {
                return Err(invalid());
            };
            *b = (hi << 4) | lo;
        }
        Ok(Self(bytes))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}
