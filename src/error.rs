//! Errors, and how each maps to the API's detail code and HTTP status.
//!
//! One crate-level [`Error`]. Where several values can be wrong at once (an org config, a
//! token request) it carries every [`Violation`], each naming the field by its API name and
//! the allowed range. No message ever contains a secret: violations report numbers and
//! lengths, never a token, a password, a key or a user id.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::broken_rule::BrokenRules;
use crate::key_id::KeyId;
use crate::retry_after::RetryAfter;

/// Everything that can go wrong in this crate.
///
/// `Clone` and cheap; [`detail_code`](Self::detail_code) gives the API's error category.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// One or more input values are out of bounds. Every violation found is listed.
    Invalid(Violations),
    /// Digit tokens are disabled in the org config (`digitTokenEnabled` is false).
    DigitTokenDisabled,
    /// Too many requests: a rate limit refused (the API's 429, with `Retry-After`).
    RateLimited {
        /// How long until a request would be allowed.
        retry_after: RetryAfter,
    },
    /// The user reached the cap on consecutive failed codes; no token is issued until the
    /// service unlocks the user ([`UserState::unlock`](crate::UserState::unlock)).
    UserLockedOut,
    /// The random number generator failed.
    Rng(RngError),
    /// A live token record was made under a [`TokenKey`](crate::TokenKey) the caller does
    /// not hold (retired, or not yet known to this node). A key-management fault, never a
    /// wrong guess: no attempt is counted.
    UnknownTokenKey {
        /// The id of the key the record was made under.
        record: KeyId,
    },
    /// Stored record bytes could not be decoded.
    Record(RecordError),
    /// `now` plus the token lifetime falls outside the range `time::UtcDateTime` represents.
    TimeOutOfRange,
    /// An RSA key was refused: malformed, not RSA, or outside the [`KeyPolicy`](crate::KeyPolicy).
    Key(KeyError),
    /// Password-policy lines could not be parsed, or their rules cannot hold together.
    /// Every problem is listed.
    Policy(PolicyErrors),
    /// A new password breaks the password policy; every broken rule is listed, by counts,
    /// never by characters (the API's 400).
    PolicyRefused(BrokenRules),
    /// An encrypted password could not be decrypted to a password.
    ///
    /// One variant for every cause (OAEP padding or label, a ciphertext out of range, a
    /// plaintext that is empty, not UTF-8 or holds a control character), so that a response
    /// cannot tell an attacker which. See the [`encryption`](crate::encryption) module for
    /// why.
    Decryption,
}

impl Error {
    /// The API's detail code (and HTTP status) for this error.
    ///
    /// ```
    /// use password_mgmt::{DetailCode, Error};
    ///
    /// assert_eq!(Error::DigitTokenDisabled.detail_code(), DetailCode::Forbidden);
    /// assert_eq!(DetailCode::Forbidden.http_status(), 403);
    /// ```
    #[must_use]
    pub const fn detail_code(&self) -> DetailCode {
        match self {
            Self::Invalid(_) | Self::PolicyRefused(_) | Self::Decryption => {
                DetailCode::BadRequestContent
            }
            Self::DigitTokenDisabled | Self::UserLockedOut => DetailCode::Forbidden,
            Self::RateLimited { .. } => DetailCode::TooManyRequests,
            Self::Rng(_)
            | Self::UnknownTokenKey { .. }
            | Self::Record(_)
            | Self::TimeOutOfRange
            | Self::Key(_)
            | Self::Policy(_) => DetailCode::InternalFault,
        }
    }

    /// A stable name of the variant for logs, e.g. `"rate_limited"`.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid",
            Self::DigitTokenDisabled => "digit_token_disabled",
            Self::RateLimited { .. } => "rate_limited",
            Self::UserLockedOut => "user_locked_out",
            Self::Rng(_) => "rng",
            Self::UnknownTokenKey { .. } => "unknown_token_key",
            Self::Record(_) => "record",
            Self::TimeOutOfRange => "time_out_of_range",
            Self::Key(_) => "key",
            Self::Policy(_) => "policy",
            Self::PolicyRefused(_) => "policy_refused",
            Self::Decryption => "decryption",
        }
    }

    /// The violations, when this is [`Error::Invalid`]; empty otherwise.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid(v) => v.as_slice(),
            _ => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(v) => write!(f, "invalid input: {v}"),
            Self::DigitTokenDisabled => {
                f.write_str("digit tokens are disabled in the password org config (digitTokenEnabled is false)")
            }
            Self::RateLimited { retry_after } => write!(
                f,
                "too many requests: retry after {retry_after} seconds"
            ),
            Self::UserLockedOut => f.write_str(
                "the user is locked out after too many consecutive failed codes; \
                 unlock the user before issuing a token",
            ),
            Self::Rng(e) => write!(f, "{e}"),
            Self::UnknownTokenKey { record } => write!(
                f,
                "the record was made under token key {record}, which is not among the keys \
                 given (retired, or not yet known to this node)"
            ),
            Self::Record(e) => write!(f, "stored record is not valid: {e}"),
            Self::TimeOutOfRange => f.write_str(
                "the token's expiry instant is outside the representable range of time::UtcDateTime",
            ),
            Self::Key(e) => write!(f, "RSA key refused: {e}"),
            Self::Policy(e) => write!(f, "password policy not usable: {e}"),
            Self::PolicyRefused(rules) => write!(f, "the password breaks the policy: {rules}"),
            Self::Decryption => f.write_str("the encrypted password could not be decrypted"),
        }
    }
}

impl core::error::Error for Error {}

/// The API's fine-grained error categories (`detailCode` in the error body).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DetailCode {
    /// `400.1 Bad Request Content`: the request is well-formed but a value is invalid.
    BadRequestContent,
    /// `401 Unauthorized`: no valid credentials. (The API's 401 body is
    /// `{"error": ...}`, not the error body; see `wire::Unauthorized`.)
    Unauthorized,
    /// `403 Forbidden`: the feature is disabled or the caller may not use it.
    Forbidden,
    /// `404 Not found`: the request names something that does not exist.
    NotFound,
    /// `429 Too Many Requests`: rate limited. (The API's 429 body is `{"message": ...}`
    /// with a `Retry-After` header; see `wire::TooManyRequests`.)
    TooManyRequests,
    /// `500.0 Internal Fault`: a fault on the service's side (RNG, keys, stored state).
    InternalFault,
    /// `503 Service Unavailable`: a dependency (the database) is away; retry later.
    ServiceUnavailable,
}

impl DetailCode {
    /// The code exactly as the API writes it, e.g. `"400.1 Bad Request Content"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BadRequestContent => "400.1 Bad Request Content",
            Self::Unauthorized => "401 Unauthorized",
            Self::Forbidden => "403 Forbidden",
            Self::NotFound => "404 Not found",
            Self::TooManyRequests => "429 Too Many Requests",
            Self::InternalFault => "500.0 Internal Fault",
            Self::ServiceUnavailable => "503 Service Unavailable",
        }
    }

    /// The HTTP status code that goes with it.
    #[must_use]
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BadRequestContent => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::TooManyRequests => 429,
            Self::InternalFault => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The API's generic message for the code (the error body's `messages`), e.g.
    /// `"An internal fault occurred."`.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::BadRequestContent => {
                "The request was syntactically correct but its content is semantically invalid."
            }
            Self::Unauthorized => {
                "The request lacks valid authentication credentials for the target resource."
            }
            Self::Forbidden => "The server understood the request but refuses to authorize it.",
            Self::NotFound => {
                "The server did not find a current representation for the target resource."
            }
            Self::TooManyRequests => "Rate Limit Exceeded",
            Self::InternalFault => "An internal fault occurred.",
            Self::ServiceUnavailable => {
                "The service is temporarily unavailable; retry after a while."
            }
        }
    }
}

impl fmt::Display for DetailCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the random number generator failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RngError {
    /// A fallible RNG ([`rand_core::TryRng`]) returned an error.
    Failed,
    /// The RNG returned [`MAX_DRAWS`](crate::DigitToken::MAX_DRAWS) out-of-range words in
    /// a row. A working RNG does this with probability below 10^-100; the RNG is broken.
    Stuck,
}

impl RngError {
    /// A stable name for logs: `failed` or `stuck`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Stuck => "stuck",
        }
    }
}

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed => f.write_str("the random number generator failed"),
            Self::Stuck => write!(
                f,
                "the random number generator returned {} unusable values in a row; it is broken",
                crate::DigitToken::MAX_DRAWS
            ),
        }
    }
}

/// Why stored record bytes could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordError {
    /// The byte string has the wrong length for its version.
    WrongLength {
        /// The length the version requires.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The first byte names a format version this build does not know.
    UnknownVersion(u8),
    /// A field holds a value no record can have; the field is named.
    InvalidField(&'static str),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongLength { expected, found } => {
                write!(f, "expected {expected} bytes, found {found}")
            }
            Self::UnknownVersion(v) => write!(f, "unknown format version {v}"),
            Self::InvalidField(name) => write!(f, "field `{name}` holds an impossible value"),
        }
    }
}

/// Why an RSA key was refused. Names what is wrong, never the key's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not standard base64 with padding.
    Base64,
    /// The text is not a PEM document with the expected label
    /// (`PUBLIC KEY` or `PRIVATE KEY`).
    Pem,
    /// The bytes are not a well-formed DER structure of the expected kind
    /// (X.509 `SubjectPublicKeyInfo`, or an unencrypted two-prime PKCS#8 RSA key whose
    /// parts are consistent).
    Malformed,
    /// The key's algorithm is not `rsaEncryption` (an EC or Ed25519 key, say).
    NotRsa,
    /// The modulus is shorter or longer than the policy allows.
    ModulusSize {
        /// The modulus length in bits.
        bits: u32,
        /// The shortest allowed.
        min: u32,
        /// The longest allowed.
        max: u32,
    },
    /// The public exponent is not 65537 and the policy does not allow others, or it is
    /// even, below 3 or above `2^33 - 1`.
    Exponent,
    /// The key is already in the key ring for another scheme: a key serves one scheme.
    SchemeConflict,
}

impl KeyError {
    /// A stable name for logs, e.g. `modulus_size`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Base64 => "base64",
            Self::Pem => "pem",
            Self::Malformed => "malformed",
            Self::NotRsa => "not_rsa",
            Self::ModulusSize { .. } => "modulus_size",
            Self::Exponent => "exponent",
            Self::SchemeConflict => "scheme_conflict",
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Base64 => f.write_str("not standard base64 with padding"),
            Self::Pem => f.write_str("not a PEM document with the expected label"),
            Self::Malformed => f.write_str("not a well-formed DER-encoded RSA key"),
            Self::NotRsa => f.write_str("not an RSA key"),
            Self::ModulusSize { bits, min, max } => write!(
                f,
                "the modulus has {bits} bits; it must have from {min} to {max}"
            ),
            Self::Exponent => f.write_str(
                "the public exponent is not 65537 (other odd exponents up to 2^33 - 1 only \
                 when the key policy allows them)",
            ),
            Self::SchemeConflict => f.write_str(
                "the key is already in the key ring for another scheme; a key serves one scheme",
            ),
        }
    }
}

/// A non-empty list of [`PolicyError`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyErrors(Vec<PolicyError>);

impl PolicyErrors {
    pub(crate) const fn new(errors: Vec<PolicyError>) -> Self {
        Self(errors)
    }

    /// The problems, in the order of the lines (conflicts last).
    #[must_use]
    pub fn as_slice(&self) -> &[PolicyError] {
        &self.0
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_joined(f, &self.0)
    }
}

/// Writes `items` separated by `"; "`.
fn write_joined<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("; ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// One problem with a password policy. Policy lines are not secret and are quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line that does not parse.
    Malformed {
        /// The line, as given.
        line: String,
        /// What was expected.
        reason: &'static str,
    },
    /// Rules that cannot hold together.
    Conflict {
        /// Which rules, e.g. `passwordMinLength > passwordMaxLength`.
        rules: &'static str,
        /// What the rules require.
        required: u32,
        /// What `passwordMaxLength` allows.
        allowed: u32,
    },
    /// A rule needs a special character, but the set of special characters is empty
    /// (`PasswordPolicy::with_special_chars("")`): `passwordMinSpecial` above 0, or
    /// `passwordMinCharType` 4.
    EmptySpecialSet {
        /// The rule's name, e.g. `passwordMinSpecial`.
        rule: &'static str,
        /// The rule's value.
        required: u32,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { line, reason } => write!(f, "policy line {line:?}: {reason}"),
            Self::Conflict {
                rules,
                required,
                allowed,
            } => write!(
                f,
                "the rules cannot hold together: {rules} ({required} required, {allowed} allowed)"
            ),
            Self::EmptySpecialSet { rule, required } => write!(
                f,
                "the rules cannot hold together: {rule} is {required}, which needs a special \
                 character, and the set of special characters is empty"
            ),
        }
    }
}

/// A non-empty list of [`Violation`]s, in the order the fields were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// The violations as a slice (never empty).
    #[must_use]
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// Turns collected violations into `Err(Error::Invalid)`, or `Ok(value)` when there are none.
    pub(crate) fn into_result<T>(
        found: Vec<Violation>,
        value: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        if found.is_empty() {
            Ok(value())
        } else {
            Err(Error::Invalid(Self(found)))
        }
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = core::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_joined(f, &self.0)
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl From<Violation> for Error {
    fn from(v: Violation) -> Self {
        Self::Invalid(Violations(alloc::vec![v]))
    }
}

/// One invalid value: which field (by its API name) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    field: &'static str,
    kind: ViolationKind,
}

impl Violation {
    pub(crate) const fn new(field: &'static str, kind: ViolationKind) -> Self {
        Self { field, kind }
    }

    /// The field's name as the API spells it, e.g. `"digitTokenLength"`.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with the value.
    #[must_use]
    pub const fn kind(&self) -> &ViolationKind {
        &self.kind
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match &self.kind {
            ViolationKind::OutOfRange { min, max, found } => {
                write!(
                    f,
                    "{field} must be from {min} to {max} inclusive, got {found}"
                )
            }
            ViolationKind::Blank => write!(f, "{field} must not be empty or only white space"),
            ViolationKind::Empty => write!(f, "{field} must not be empty"),
            ViolationKind::ControlCharacter => {
                write!(f, "{field} must not contain control characters")
            }
            ViolationKind::TooLong { max, found } => {
                write!(
                    f,
                    "{field} must be at most {max} bytes long, got {found} bytes"
                )
            }
            ViolationKind::WrongLength { expected, found } => {
                write!(
                    f,
                    "{field} must be exactly {expected} bytes long, got {found} bytes"
                )
            }
            ViolationKind::Format { expected } => write!(f, "{field} must be {expected}"),
            ViolationKind::Unknown { expected } => write!(f, "{field} is not {expected}"),
        }
    }
}

/// What is wrong with one value. Only numbers and lengths are reported, never the value's text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A number outside its inclusive range.
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// The value given.
        found: i64,
    },
    /// A string that is empty or only white space.
    Blank,
    /// A string that is empty (white space is allowed).
    Empty,
    /// A string with a control character (U+0000 to U+001F, U+007F to U+009F), which no
    /// keyboard types.
    ControlCharacter,
    /// A string longer than allowed (in bytes of UTF-8).
    TooLong {
        /// Longest allowed length in bytes.
        max: usize,
        /// The length given.
        found: usize,
    },
    /// A byte string of the wrong length.
    WrongLength {
        /// The required length in bytes.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A string not in the required format.
    Format {
        /// The format required, in words.
        expected: &'static str,
    },
    /// A reference to something that does not exist here (or is not a reference at all).
    Unknown {
        /// What it should name, in words.
        expected: &'static str,
    },
}

/// Checks `min <= value <= max`, naming `field` in the violation.
pub(crate) fn check_range<T>(
    field: &'static str,
    value: i64,
    min: T,
    max: T,
) -> Result<T, Violation>
where
    T: Copy + PartialOrd + Into<i64> + TryFrom<i64>,
{
    T::try_from(value)
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            Violation::new(
                field,
                ViolationKind::OutOfRange {
                    min: min.into(),
                    max: max.into(),
                    found: value,
                },
            )
        })
}
