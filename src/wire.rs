//! The API's JSON bodies as serde types (crate feature `serde`), with the API's exact field
//! names and optionality, and conversions into and out of the crate's validated types.
//!
//! * **Input is checked twice.** Deserializing checks the JSON types; a wrong type is an
//!   error that names the field (`length: invalid type: string "8", expected i64`).
//!   Converting into the crate's types (for example [`DigitTokenRequest::resolve`]) then
//!   checks ranges and reports every violation, naming each field.
//! * **Unknown fields are ignored**: the API adds fields over time.
//! * **Enums may grow**: a `state` or `localeOrigin` this crate does not know deserializes
//!   to an `Unknown` variant that keeps the text, instead of failing.
//! * **`digitToken` is a JSON string**, always: the number `9087713` in one of the seed's
//!   examples has lost the leading zero of `"09087713"`, so a number is refused with an
//!   error that says so. The token is a secret: [`TokenText`] has a redacted `Debug` and
//!   is wiped on drop.
//! * **`publicKeyId` stays a string.** The API treats it as opaque (its examples are
//!   base64 of a UUID); this crate's servers publish an RFC 7638 thumbprint
//!   ([`PublicKeyId`](crate::PublicKeyId)), and a key ring matches the text either way.
//!
//! ```
//! use password_mgmt::wire;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let org = password_mgmt::PasswordOrgConfig::new(&wire::PasswordOrgConfig {
//!     digit_token_enabled: Some(true),
//!     ..Default::default()
//! }.into())?;
//! let body = r#"{"userId":"Abby.Smith","length":8,"durationMinutes":5}"#;
//! let request: wire::DigitTokenRequest = serde_json::from_str(body)?;
//! let params = request.resolve(&org)?;
//! assert_eq!(params.length().get(), 8);
//!
//! let bad: Result<wire::DigitTokenRequest, _> = serde_json::from_str(r#"{"userId":"a","length":"8"}"#);
//! assert!(bad.unwrap_err().to_string().starts_with("length: invalid type: string \"8\""));
//! # Ok(())
//! # }
//! ```

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::TryCryptoRng;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::error::{DetailCode, Error, RngError};
use crate::{
    EncryptedPassword, Issued, PasswordEncryptor, PasswordOrgConfigInput, PasswordPolicy,
    TokenParams,
};

/// Deserializes a field, prefixing any error with the field's API name.
fn named<'de, D, T>(deserializer: D, field: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map_err(|e| de::Error::custom(format_args!("{field}: {e}")))
}

/// One deserializer function per field name, for `#[serde(deserialize_with = ...)]`.
macro_rules! named_fields {
    ($($function:ident => $field:literal),* $(,)?) => {$(
        pub(super) fn $function<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
            named(d, $field)
        }
    )*};
}

/// The per-field deserializers, in their own namespace.
mod field {
    use super::{Deserialize, Deserializer, named};

    named_fields! {
    user_id => "userId",
    digit_token => "digitToken",
    length => "length",
    duration_minutes => "durationMinutes",
    request_id => "requestId",
    custom_instructions_enabled => "customInstructionsEnabled",
    digit_token_enabled => "digitTokenEnabled",
    digit_token_duration_minutes => "digitTokenDurationMinutes",
    digit_token_length => "digitTokenLength",
    user_name => "userName",
    source_name => "sourceName",
    identity_id => "identityId",
    source_id => "sourceId",
    public_key_id => "publicKeyId",
    public_key => "publicKey",
    accounts => "accounts",
    account_id => "accountId",
    account_name => "accountName",
    policies => "policies",
    encrypted_password => "encryptedPassword",
    state => "state",
    errors => "errors",
    source_ids => "sourceIds",
    detail_code => "detailCode",
    tracking_id => "trackingId",
    messages => "messages",
    causes => "causes",
    locale => "locale",
    locale_origin => "localeOrigin",
    text => "text",
    error => "error",
    message => "message",
    }
}

/// Body of "generate a digit token" (`POST /generate-password-reset-token/digit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigitTokenRequest {
    /// `userId` (required).
    #[serde(deserialize_with = "field::user_id")]
    pub user_id: String,
    /// `length`: digits, 6 to 18; absent takes the org's value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::length"
    )]
    pub length: Option<i64>,
    /// `durationMinutes`: lifetime, 1 to 60; absent takes the org's value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::duration_minutes"
    )]
    pub duration_minutes: Option<i64>,
}

impl DigitTokenRequest {
    /// The request as the crate's [`crate::DigitTokenRequest`], borrowing the user id.
    #[must_use]
    pub fn as_request(&self) -> crate::DigitTokenRequest<'_> {
        crate::DigitTokenRequest {
            user_id: &self.user_id,
            length: self.length,
            duration_minutes: self.duration_minutes,
        }
    }

    /// Checks the request against the org config; see [`crate::DigitTokenRequest::resolve`].
    ///
    /// # Errors
    /// As [`crate::DigitTokenRequest::resolve`].
    pub fn resolve(&self, org: &crate::PasswordOrgConfig) -> Result<TokenParams, Error> {
        self.as_request().resolve(org)
    }
}

/// The 200 response of "generate a digit token".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigitTokenResponse {
    /// `digitToken`: always a JSON string of 6 to 18 digits.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::digit_token"
    )]
    pub digit_token: Option<TokenText>,
    /// `requestId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::request_id"
    )]
    pub request_id: Option<String>,
}

impl From<&Issued> for DigitTokenResponse {
    fn from(issued: &Issued) -> Self {
        Self {
            digit_token: Some(TokenText(Zeroizing::new(issued.token.as_str().into()))),
            request_id: Some(format!("{}", issued.request_id)),
        }
    }
}

/// A digit token as text on the wire: 6 to 18 ASCII digits, leading zeros kept.
///
/// A secret: `Debug` shows only the length, equality is constant-time, and the text is
/// wiped on drop. Check a user's code with [`IssuedToken::verify`](crate::IssuedToken::verify).
#[derive(Clone, Default)]
pub struct TokenText(Zeroizing<String>);

impl TokenText {
    /// The digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Equality so that the wire types can derive it; constant-time in the digits (lengths are
// public). Check a user's code with `IssuedToken::verify`, not with this.
impl PartialEq for TokenText {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_bytes(), other.0.as_bytes()).into()
    }
}

impl Eq for TokenText {}

impl fmt::Debug for TokenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenText")
            .field("length", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl Serialize for TokenText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TokenText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Digits;

        impl Visitor<'_> for Digits {
            type Value = TokenText;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of 6 to 18 digits")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenText, E> {
                if (6..=18).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(TokenText(Zeroizing::new(v.into())))
                } else {
                    Err(E::custom("expected a string of 6 to 18 digits (0-9)"))
                }
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<TokenText, E> {
                Err(E::custom(
                    "must be a JSON string, not a number: a number loses \
                     leading zeros (9087713 for \"09087713\")",
                ))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TokenText, E> {
                self.visit_u64(v.unsigned_abs())
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<TokenText, E> {
                self.visit_u64(0)
            }
        }

        deserializer.deserialize_any(Digits)
    }
}

/// The password org config body (create, get and update): every field optional, as
/// "unspecified fields will use default value".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordOrgConfig {
    /// `customInstructionsEnabled`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::custom_instructions_enabled"
    )]
    pub custom_instructions_enabled: Option<bool>,
    /// `digitTokenEnabled`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::digit_token_enabled"
    )]
    pub digit_token_enabled: Option<bool>,
    /// `digitTokenDurationMinutes`: 1 to 60.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::digit_token_duration_minutes"
    )]
    pub digit_token_duration_minutes: Option<i64>,
    /// `digitTokenLength`: 6 to 18.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::digit_token_length"
    )]
    pub digit_token_length: Option<i64>,
}

impl From<PasswordOrgConfig> for PasswordOrgConfigInput {
    fn from(w: PasswordOrgConfig) -> Self {
        Self {
            custom_instructions_enabled: w.custom_instructions_enabled,
            digit_token_enabled: w.digit_token_enabled,
            digit_token_duration_minutes: w.digit_token_duration_minutes,
            digit_token_length: w.digit_token_length,
        }
    }
}

impl From<&crate::PasswordOrgConfig> for PasswordOrgConfig {
    fn from(config: &crate::PasswordOrgConfig) -> Self {
        let input = config.to_input();
        Self {
            custom_instructions_enabled: input.custom_instructions_enabled,
            digit_token_enabled: input.digit_token_enabled,
            digit_token_duration_minutes: input.digit_token_duration_minutes,
            digit_token_length: input.digit_token_length,
        }
    }
}

/// Body of "query password info" (`POST /query-password-info`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordInfoQuery {
    /// `userName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::user_name"
    )]
    pub user_name: Option<String>,
    /// `sourceName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::source_name"
    )]
    pub source_name: Option<String>,
}

/// The 200 response of "query password info".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordInfo {
    /// `identityId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::identity_id"
    )]
    pub identity_id: Option<String>,
    /// `sourceId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::source_id"
    )]
    pub source_id: Option<String>,
    /// `publicKeyId`: opaque text naming the key; send it back with the password.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::public_key_id"
    )]
    pub public_key_id: Option<String>,
    /// `publicKey`: standard base64 of the RSA key's X.509 `SubjectPublicKeyInfo` DER.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::public_key"
    )]
    pub public_key: Option<String>,
    /// `accounts`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::accounts"
    )]
    pub accounts: Option<Vec<PasswordInfoAccount>>,
    /// `policies`: lines of the form `NAME is VALUE`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::policies"
    )]
    pub policies: Option<Vec<String>>,
}

impl PasswordInfo {
    /// The encryptor for `publicKey`.
    ///
    /// # Errors
    /// [`Error::Key`] as [`PasswordEncryptor::from_spki_base64`], with
    /// [`KeyError::Malformed`](crate::KeyError::Malformed) when `publicKey` is absent.
    pub fn encryptor(&self) -> Result<PasswordEncryptor, Error> {
        let key = self
            .public_key
            .as_deref()
            .ok_or(Error::Key(crate::KeyError::Malformed))?;
        PasswordEncryptor::from_spki_base64(key)
    }

    /// The policy from `policies` (an empty policy when absent).
    ///
    /// # Errors
    /// [`Error::Policy`] as [`PasswordPolicy::from_lines`].
    pub fn policy(&self) -> Result<PasswordPolicy, Error> {
        PasswordPolicy::from_lines(self.policies.iter().flatten())
    }
}

/// One account in [`PasswordInfo::accounts`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordInfoAccount {
    /// `accountId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::account_id"
    )]
    pub account_id: Option<String>,
    /// `accountName`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::account_name"
    )]
    pub account_name: Option<String>,
}

/// Body of "set identity's password" (`POST /set-password`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChangeRequest {
    /// `identityId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::identity_id"
    )]
    pub identity_id: Option<String>,
    /// `encryptedPassword`: standard base64 of the RSA ciphertext.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::encrypted_password"
    )]
    pub encrypted_password: Option<String>,
    /// `publicKeyId`: the id that came with the public key.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::public_key_id"
    )]
    pub public_key_id: Option<String>,
    /// `accountId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::account_id"
    )]
    pub account_id: Option<String>,
    /// `sourceId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::source_id"
    )]
    pub source_id: Option<String>,
}

impl PasswordChangeRequest {
    /// The ciphertext, parsed.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `encryptedPassword` when it is absent, empty or not
    /// standard base64.
    pub fn encrypted_password(&self) -> Result<EncryptedPassword, Error> {
        EncryptedPassword::from_base64(self.encrypted_password.as_deref().unwrap_or_default())
    }
}

/// The 202 response of "set identity's password".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChangeResponse {
    /// `requestId`: the id to ask the status with.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::request_id"
    )]
    pub request_id: Option<String>,
    /// `state`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::state"
    )]
    pub state: Option<PasswordState>,
}

/// The 200 response of "get password change request status".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordStatus {
    /// `requestId`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::request_id"
    )]
    pub request_id: Option<String>,
    /// `state`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::state"
    )]
    pub state: Option<PasswordState>,
    /// `errors`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::errors"
    )]
    pub errors: Option<Vec<String>>,
    /// `sourceIds`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::source_ids"
    )]
    pub source_ids: Option<Vec<String>>,
}

/// Serializes and deserializes an open enum: known names, or the text kept in `Unknown`.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know yet (the API may add values); the text is kept.
            Unknown(String),
        }

        impl $name {
            /// The value as the API writes it.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Unknown(text) => text,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(match text.as_str() {
                    $($text => Self::$variant,)*
                    _ => Self::Unknown(text),
                })
            }
        }
    };
}

open_enum! {
    /// The state of a password change (`state`).
    PasswordState {
        /// `IN_PROGRESS`.
        InProgress => "IN_PROGRESS",
        /// `FINISHED`.
        Finished => "FINISHED",
        /// `FAILED`.
        Failed => "FAILED",
    }
}

open_enum! {
    /// How the locale of an error message was chosen (`localeOrigin`).
    LocaleOrigin {
        /// `DEFAULT`: the system default.
        Default => "DEFAULT",
        /// `REQUEST`: from the request's `Accept-Language`.
        Request => "REQUEST",
    }
}

/// The error body of 400, 403, 404 and 500 responses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// `detailCode`, e.g. `400.1 Bad Request Content`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::detail_code"
    )]
    pub detail_code: Option<String>,
    /// `trackingId`: 32 lower-case hex digits.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::tracking_id"
    )]
    pub tracking_id: Option<String>,
    /// `messages`: the generic, localized reason.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::messages"
    )]
    pub messages: Option<Vec<ErrorMessage>>,
    /// `causes`: the detailed reasons.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::causes"
    )]
    pub causes: Option<Vec<ErrorMessage>>,
}

impl ErrorResponse {
    /// The error body for `error`, with a tracking id drawn from `rng`.
    ///
    /// The message is the API's generic text for the detail code. Invalid input gets one
    /// cause per violation; a disabled feature and an undecryptable password get the
    /// error's own message as their cause; internal faults get no cause, so that nothing
    /// about keys, records or the RNG reaches a client (log the error on your side with
    /// the tracking id). Use [`DetailCode::http_status`] on
    /// [`Error::detail_code`] for the status.
    ///
    /// # Errors
    /// [`Error::Rng`] when the RNG fails.
    pub fn from_error<R: TryCryptoRng + ?Sized>(error: &Error, rng: &mut R) -> Result<Self, Error> {
        let code = error.detail_code();
        let generic = match code {
            DetailCode::BadRequestContent => {
                "The request was syntactically correct but its content is semantically invalid."
            }
            DetailCode::Forbidden => {
                "The server understood the request but refuses to authorize it."
            }
            DetailCode::InternalFault => "An internal fault occurred.",
        };
        let causes: Vec<ErrorMessage> = match error {
            Error::Invalid(violations) => violations
                .as_slice()
                .iter()
                .map(|v| ErrorMessage::english(format!("{v}")))
                .collect(),
            Error::DigitTokenDisabled | Error::Decryption => {
                alloc::vec![ErrorMessage::english(format!("{error}"))]
            }
            _ => Vec::new(),
        };
        Ok(Self {
            detail_code: Some(code.as_str().into()),
            tracking_id: Some(tracking_id(rng)?),
            messages: Some(alloc::vec![ErrorMessage::english(generic.into())]),
            causes: (!causes.is_empty()).then_some(causes),
        })
    }
}

/// 16 random bytes as 32 lower-case hex digits.
fn tracking_id<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    rng.try_fill_bytes(&mut bytes)
        .map_err(|_| Error::Rng(RngError::Failed))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// One message of an [`ErrorResponse`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// `locale`: a BCP 47 language tag, e.g. `en-US`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::locale"
    )]
    pub locale: Option<String>,
    /// `localeOrigin` (may be `null`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::locale_origin"
    )]
    pub locale_origin: Option<LocaleOrigin>,
    /// `text`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::text"
    )]
    pub text: Option<String>,
}

impl ErrorMessage {
    fn english(text: String) -> Self {
        Self {
            locale: Some("en-US".into()),
            locale_origin: Some(LocaleOrigin::Default),
            text: Some(text),
        }
    }
}

/// The body of a 401 response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unauthorized {
    /// `error`: what was wrong with the credentials.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::error"
    )]
    pub error: Option<String>,
}

/// The body of a 429 response (with a `Retry-After` header saying how long to wait).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TooManyRequests {
    /// `message`. The API's example is `" Rate Limit Exceeded "`, spaces included; this
    /// crate writes `"Rate Limit Exceeded"`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "field::message"
    )]
    pub message: Option<String>,
}

impl TooManyRequests {
    /// The body for a [`RateDecision::Limited`](crate::RateDecision::Limited), and the
    /// value of the `Retry-After` header in whole seconds; `None` when the decision allows.
    #[must_use]
    pub fn for_decision(decision: crate::RateDecision) -> Option<(Self, u64)> {
        let seconds = decision.retry_after_seconds()?;
        let body = Self {
            message: Some("Rate Limit Exceeded".into()),
        };
        Some((body, seconds))
    }
}
