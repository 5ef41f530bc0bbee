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

/// Deserializes a field, prefixing any error with the field's API name, once.
///
/// `serde_json` alone names no field in a type error (`invalid type: string "8", expected
/// i64`), so the prefix is what tells the client which field it was. A deserializer that
/// tracks the path itself (`serde_path_to_error`, which axum's `Json` extractor uses)
/// already prints `length: ` before the error; prefixing as well would name the field
/// twice (`length: length: invalid type ...`). Such a deserializer is recognised by its
/// type's name. That name is meant for diagnostics, and this is one: if it ever changed,
/// the field would be named twice again, never not at all.
fn named<'de, D, T>(deserializer: D, field: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let tracks_path = core::any::type_name::<D>().starts_with("serde_path_to_error::");
    T::deserialize(deserializer).map_err(|e| {
        if tracks_path {
            e
        } else {
            de::Error::custom(format_args!("{field}: {e}"))
        }
    })
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
    /// The 200 body for a token whose issuance was stored.
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
/// wiped on drop. Check a user's code with [`UserState::verify`](crate::UserState::verify).
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
    /// The encryptor for `publicKey`, with the scheme the server's key serves (the API's
    /// recipe is [`Scheme::Pkcs1v15`](crate::Scheme::Pkcs1v15); the response does not say).
    ///
    /// # Errors
    /// [`Error::Key`] as [`PasswordEncryptor::from_spki_base64`], with
    /// [`KeyError::Malformed`](crate::KeyError::Malformed) when `publicKey` is absent.
    pub fn encryptor(&self, scheme: crate::Scheme) -> Result<PasswordEncryptor, Error> {
        let key = self
            .public_key
            .as_deref()
            .ok_or(Error::Key(crate::KeyError::Malformed))?;
        PasswordEncryptor::from_spki_base64(key, scheme)
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

        impl core::str::FromStr for $name {
            type Err = core::convert::Infallible;

            /// The known value with this text, or `Unknown` keeping it.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(match text {
                    $($text => Self::$variant,)*
                    _ => Self::Unknown(text.into()),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
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
    /// The error body for `code`, with the API's generic message for it
    /// ([`DetailCode::message`]) and one cause per item of `causes` (none: no `causes`).
    ///
    /// ```
    /// use password_mgmt::{DetailCode, wire::{ErrorResponse, TrackingId}};
    ///
    /// let id = TrackingId::from_bytes([0xab; 16]);
    /// let body = ErrorResponse::new(DetailCode::NotFound, id, ["no password change has this requestId".into()]);
    /// assert_eq!(body.detail_code.as_deref(), Some("404 Not found"));
    /// assert_eq!(body.tracking_id.as_deref(), Some("abababababababababababababababab"));
    /// assert_eq!(body.causes.unwrap().len(), 1);
    /// ```
    #[must_use]
    pub fn new(
        code: DetailCode,
        tracking_id: TrackingId,
        causes: impl IntoIterator<Item = String>,
    ) -> Self {
        let causes: Vec<ErrorMessage> = causes.into_iter().map(ErrorMessage::english).collect();
        Self {
            detail_code: Some(code.as_str().into()),
            tracking_id: Some(format!("{tracking_id}")),
            messages: Some(alloc::vec![ErrorMessage::english(code.message().into())]),
            causes: (!causes.is_empty()).then_some(causes),
        }
    }

    /// The error body for `error`.
    ///
    /// The detail code is [`Error::detail_code`] (use [`DetailCode::http_status`] for the
    /// status). Invalid input gets one cause per violation, each naming its field once, and
    /// a refused password one per broken rule (by counts); a
    /// refusal the caller can act on (digit tokens disabled, a locked-out user, a rate
    /// limit, an undecryptable password) gets the error's own message; internal faults get
    /// no cause, so that nothing about keys, records or the RNG reaches a client (log the
    /// error on your side with the tracking id).
    #[must_use]
    pub fn from_error(error: &Error, tracking_id: TrackingId) -> Self {
        let causes: Vec<String> = match error {
            Error::Invalid(violations) => violations
                .as_slice()
                .iter()
                .map(|v| format!("{v}"))
                .collect(),
            Error::PolicyRefused(rules) => {
                rules.as_slice().iter().map(|r| format!("{r}")).collect()
            }
            Error::DigitTokenDisabled
            | Error::Decryption
            | Error::UserLockedOut
            | Error::RateLimited { .. } => alloc::vec![format!("{error}")],
            _ => Vec::new(),
        };
        Self::new(error.detail_code(), tracking_id, causes)
    }
}

/// The `trackingId` of an error body: 16 random bytes, written as 32 lower-case hex
/// digits. Log it beside the error's detail, so that a client's report can be matched.
///
/// ```
/// use password_mgmt::wire::TrackingId;
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// let id = TrackingId::generate(&mut ChaCha20Rng::seed_from_u64(1));
/// assert_eq!(id.to_string().len(), 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrackingId([u8; 16]);

impl TrackingId {
    /// A tracking id from its bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A fresh random tracking id from an infallible RNG.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A fresh random tracking id from a fallible RNG.
    ///
    /// # Errors
    /// [`Error::Rng`] when the RNG fails.
    pub fn try_generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        rng.try_fill_bytes(&mut bytes)
            .map_err(|_| Error::Rng(RngError::Failed))?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for TrackingId {
    /// 32 lower-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
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
    /// The API's 429 body. Send it with a `Retry-After` header of
    /// [`RetryAfter::seconds`](crate::RetryAfter::seconds) (every refusal carries a
    /// [`RetryAfter`](crate::RetryAfter)).
    #[must_use]
    pub fn new() -> Self {
        Self {
            message: Some(DetailCode::TooManyRequests.message().into()),
        }
    }
}
