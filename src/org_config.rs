//! The org-level password settings: [`PasswordOrgConfig`], built and updated from raw
//! [`PasswordOrgConfigInput`] with every violation reported at once.

use alloc::vec::Vec;

use crate::digit_token::TokenLength;
use crate::error::{Error, RecordError, Violations};
use crate::params::TokenTtl;
use crate::stored::{Reader, versioned};

/// The password org config, validated (the API's "password org config").
///
/// | API field | accessor | allowed | default |
/// |---|---|---|---|
/// | `customInstructionsEnabled` | [`custom_instructions_enabled`](Self::custom_instructions_enabled) | | `false` |
/// | `digitTokenEnabled` | [`digit_token_enabled`](Self::digit_token_enabled) | | `false` |
/// | `digitTokenDurationMinutes` | [`digit_token_duration`](Self::digit_token_duration) | 1..=60 | 5 |
/// | `digitTokenLength` | [`digit_token_length`](Self::digit_token_length) | 6..=18 | 6 |
///
/// ```
/// use password_mgmt::{PasswordOrgConfig, PasswordOrgConfigInput};
///
/// // Create: fields left out take the API's defaults.
/// let config = PasswordOrgConfig::new(&PasswordOrgConfigInput {
///     digit_token_enabled: Some(true),
///     digit_token_length: Some(9),
///     ..Default::default()
/// })?;
/// assert_eq!(config.digit_token_duration().minutes(), 5);
///
/// // Update: fields left out keep their values; the result is checked the same way.
/// let config = config.update(&PasswordOrgConfigInput {
///     digit_token_duration_minutes: Some(10),
///     ..Default::default()
/// })?;
/// assert_eq!((config.digit_token_length().get(), config.digit_token_duration().minutes()), (9, 10));
///
/// // Every violation at once, each naming the field and its range.
/// let err = config
///     .update(&PasswordOrgConfigInput {
///         digit_token_duration_minutes: Some(0),
///         digit_token_length: Some(-3),
///         ..Default::default()
///     })
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid input: digitTokenDurationMinutes must be from 1 to 60 inclusive, got 0; \
///      digitTokenLength must be from 6 to 18 inclusive, got -3"
/// );
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PasswordOrgConfig {
    custom_instructions_enabled: bool,
    digit_token_enabled: bool,
    digit_token_duration: TokenTtl,
    digit_token_length: TokenLength,
}

impl PasswordOrgConfig {
    /// The API's defaults: custom instructions off, digit tokens off, 5 minutes, 6 digits.
    pub const DEFAULT: Self = Self {
        custom_instructions_enabled: false,
        digit_token_enabled: false,
        digit_token_duration: TokenTtl::DEFAULT,
        digit_token_length: TokenLength::DEFAULT,
    };

    /// Creates a config from raw values; absent fields take the defaults.
    ///
    /// # Errors
    /// [`Error::Invalid`] listing every out-of-range field (`digitTokenDurationMinutes`
    /// outside 1..=60, `digitTokenLength` outside 6..=18).
    pub fn new(input: &PasswordOrgConfigInput) -> Result<Self, Error> {
        Self::DEFAULT.update(input)
    }

    /// Applies a partial update; absent fields keep their current values.
    ///
    /// # Errors
    /// As [`new`](Self::new). On error nothing is applied.
    pub fn update(&self, input: &PasswordOrgConfigInput) -> Result<Self, Error> {
        let mut found = Vec::new();
        let mut next = *self;
        if let Some(on) = input.custom_instructions_enabled {
            next.custom_instructions_enabled = on;
        }
        if let Some(on) = input.digit_token_enabled {
            next.digit_token_enabled = on;
        }
        if let Some(minutes) = input.digit_token_duration_minutes {
            match TokenTtl::checked("digitTokenDurationMinutes", minutes) {
                Ok(ttl) => next.digit_token_duration = ttl,
                Err(v) => found.push(v),
            }
        }
        if let Some(digits) = input.digit_token_length {
            match TokenLength::checked("digitTokenLength", digits) {
                Ok(len) => next.digit_token_length = len,
                Err(v) => found.push(v),
            }
        }
        Violations::into_result(found, || next)
    }

    /// Whether custom password instructions are enabled (`customInstructionsEnabled`).
    #[must_use]
    pub const fn custom_instructions_enabled(&self) -> bool {
        self.custom_instructions_enabled
    }

    /// Whether digit tokens may be issued (`digitTokenEnabled`).
    #[must_use]
    pub const fn digit_token_enabled(&self) -> bool {
        self.digit_token_enabled
    }

    /// The default token lifetime (`digitTokenDurationMinutes`).
    #[must_use]
    pub const fn digit_token_duration(&self) -> TokenTtl {
        self.digit_token_duration
    }

    /// The default token length (`digitTokenLength`).
    #[must_use]
    pub const fn digit_token_length(&self) -> TokenLength {
        self.digit_token_length
    }

    /// Length of the encoded config, format version 1.
    pub const ENCODED_LEN: usize = 4;
    const VERSION: u8 = 1;

    /// The config as bytes, to store: version `1`, a flag byte (bit 0
    /// `customInstructionsEnabled`, bit 1 `digitTokenEnabled`), the duration in minutes and
    /// the token length.
    ///
    /// ```
    /// use password_mgmt::{PasswordOrgConfig, PasswordOrgConfigInput};
    ///
    /// let config = PasswordOrgConfig::new(&PasswordOrgConfigInput {
    ///     digit_token_enabled: Some(true),
    ///     ..Default::default()
    /// })?;
    /// assert_eq!(config.encode(), [1, 0b10, 5, 6]);
    /// assert_eq!(PasswordOrgConfig::decode(&config.encode())?, config);
    /// assert!(PasswordOrgConfig::decode(&[1, 0b10, 61, 6]).is_err()); // validated on load
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    #[must_use]
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let flags =
            u8::from(self.custom_instructions_enabled) | (u8::from(self.digit_token_enabled) << 1);
        [
            Self::VERSION,
            flags,
            self.digit_token_duration.minutes(),
            self.digit_token_length.get(),
        ]
    }

    /// Decodes a stored config from any bytes, checking every field as
    /// [`new`](Self::new) does.
    ///
    /// # Errors
    /// [`Error::Record`]: the wrong length, an unknown version, or a field no config can
    /// hold (named).
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let body = versioned(bytes, Self::VERSION, Self::ENCODED_LEN).map_err(Error::Record)?;
        let invalid = |field| Error::Record(RecordError::InvalidField(field));
        let [flags, minutes, digits] = Reader(body).take().ok_or(invalid("config"))?;
        if flags > 0b11 {
            return Err(invalid("flags"));
        }
        Ok(Self {
            custom_instructions_enabled: flags & 1 == 1,
            digit_token_enabled: flags & 0b10 == 0b10,
            digit_token_duration: TokenTtl::checked(TokenTtl::FIELD, minutes.into())
                .map_err(|_| invalid("digitTokenDurationMinutes"))?,
            digit_token_length: TokenLength::checked(TokenLength::FIELD, digits.into())
                .map_err(|_| invalid("digitTokenLength"))?,
        })
    }

    /// The config as raw values with every field present (for echoing it).
    #[must_use]
    pub fn to_input(&self) -> PasswordOrgConfigInput {
        PasswordOrgConfigInput {
            custom_instructions_enabled: Some(self.custom_instructions_enabled),
            digit_token_enabled: Some(self.digit_token_enabled),
            digit_token_duration_minutes: Some(self.digit_token_duration.minutes().into()),
            digit_token_length: Some(self.digit_token_length.get().into()),
        }
    }
}

impl Default for PasswordOrgConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Raw org-config values as a caller hands them in; `None` means "not given".
///
/// Integers are `i64` so that absurd values (negative, zero, huge) reach the checks and
/// are reported, instead of being cut down by a conversion on the way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PasswordOrgConfigInput {
    /// `customInstructionsEnabled`.
    pub custom_instructions_enabled: Option<bool>,
    /// `digitTokenEnabled`.
    pub digit_token_enabled: Option<bool>,
    /// `digitTokenDurationMinutes`: 1 to 60.
    pub digit_token_duration_minutes: Option<i64>,
    /// `digitTokenLength`: 6 to 18.
    pub digit_token_length: Option<i64>,
}
