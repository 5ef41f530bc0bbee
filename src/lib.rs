//! The embeddable, I/O-free core of a password-management service.
//!
//! It issues and checks numeric password-reset tokens ("digit tokens"), validates the
//! org-level password settings, and encrypts and decrypts passwords in transit, after a
//! cloud identity product's Password Management API.
//! Every function is a pure computation over values the caller hands in: the crate reads no
//! clock, opens no file or socket, starts no thread and seeds no RNG of its own. Time comes
//! in as [`time::UtcDateTime`], randomness as a [`rand_core`] RNG, keys and stored records
//! as values. The service around it owns HTTP, storage and the delivery of tokens.
//!
//! # The whole flow: store what you verify
//! One [`UserState`] per user holds the live token record, the guess budget, the count of
//! consecutive failures and the request limiter. Issuing and verifying each return the
//! compare-and-set write to perform first, and give their result (the token, the outcome)
//! only through a method named for that step: `stored()`.
//!
//! ```
//! use password_mgmt::{
//!     Candidate, DigitTokenRequest, Outcome, PasswordOrgConfig, PasswordOrgConfigInput,
//!     Purpose, Subject, TokenKey, UserLimits, UserState,
//! };
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! use time::{Duration, UtcDateTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any cryptographic RNG; in production `getrandom::SysRng` (see `TokenKey::from_os_rng`).
//! let mut rng = ChaCha20Rng::seed_from_u64(2026);
//! // One MAC key per deployment (or a `TokenKeyRing`), loaded from your secret store.
//! let key = TokenKey::from_bytes(&[0x5a; 32]);
//! let limits = UserLimits::default(); // 10 failures an hour, 100 a day, 100 in a row
//! let now = UtcDateTime::from_unix_timestamp(1_795_000_000)?;
//!
//! // 1. An admin enables digit tokens for the org.
//! let org = PasswordOrgConfig::new(&PasswordOrgConfigInput {
//!     digit_token_enabled: Some(true),
//!     digit_token_length: Some(8),
//!     ..Default::default()
//! })?;
//!
//! // 2. A help-desk agent asks for a token for a user; missing values take the org's.
//! let request = DigitTokenRequest { user_id: "Abby.Smith", length: None, duration_minutes: Some(10) };
//! let params = request.resolve(&org)?;
//! let subject = Subject { tenant: "acme", user: request.user_id, purpose: Purpose::PASSWORD_RESET };
//!
//! // 3. Issue: compare-and-set the user's state, then deliver the token.
//! let mut stored = UserState::new().encode(); // a user without a row has the fresh state
//! let issuance = UserState::decode(&stored)?.issue(&mut rng, &key, &subject, &params, &limits, now)?;
//! if let Some(update) = issuance.update() {
//!     assert_eq!(update.expected(), &stored);
//!     stored = *update.replacement(); // UPDATE ... SET state = :new WHERE state = :old
//! }
//! let issued = issuance.stored()?; // or `Error::RateLimited`: a 429
//! assert_eq!(issued.token.as_str().len(), 8);
//!
//! // 4. The user types a wrong code, then the right one. Each attempt: read, verify,
//! //    compare-and-set (retry from the read on a conflict), and only then the outcome.
//! let wrong = if issued.token.as_str() == "00000000" { "11111111" } else { "00000000" };
//! for (typed, minutes, expected) in [
//!     (wrong, 2, Outcome::Mismatch { attempts_left: 4 }),
//!     (issued.token.as_str(), 3, Outcome::Accepted),
//!     (issued.token.as_str(), 4, Outcome::AlreadyUsed), // single use
//! ] {
//!     let at = now + Duration::minutes(minutes);
//!     let verification = UserState::decode(&stored)?.verify(&key, &subject, &Candidate::new(typed)?, &limits, at)?;
//!     if let Some(update) = verification.update() {
//!         stored = *update.replacement();
//!     }
//!     assert_eq!(verification.stored(), expected);
//! }
//!
//! // A token dies at its expiry instant; the state knows it.
//! let state = UserState::decode(&stored)?;
//! assert_eq!(state.record().map(|r| r.expires_at()), Some(issued.expires_at));
//! # Ok(())
//! # }
//! ```
//!
//! # Passwords in transit
//! The client encrypts a new password under the server's published RSA key; the server
//! decrypts it. Each key serves one [`Scheme`]. See [`encryption`] for the recipe and the
//! threat model.
//! ```
//! use password_mgmt::{NewPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! # fn main() -> Result<(), password_mgmt::Error> {
//! # let pem = include_str!("../tests/data/keys/rsa2048.pk8.pem");
//! let mut rng = ChaCha20Rng::seed_from_u64(5);
//! let server = PasswordKeyPair::from_pkcs8_pem(pem, Scheme::Pkcs1v15)?; // or PasswordKeyPair::generate
//!
//! // "Query password info" hands the client `publicKey`, `publicKeyId` and `identityId`.
//! let client = PasswordEncryptor::from_spki_base64(&server.public_key_base64(), Scheme::Pkcs1v15)?;
//! let new = NewPassword { identity_id: "2c9180835d2e5168015d32f890ca1581", password: "new password" };
//! let encrypted_password = client.encrypt(&mut rng, &new)?.to_string();
//!
//! // "Set password" hands the server `encryptedPassword` for `identityId`.
//! let password = server.decrypt(&mut rng, &encrypted_password.parse()?, new.identity_id)?;
//! assert_eq!(password.as_str(), "new password");
//! # Ok(())
//! # }
//! ```
//!
//! # Security properties
//! * Tokens are uniform over all `10^n` values (rejection sampling, no modulo bias) and
//!   keep their leading zeros. See [`digit_token`].
//! * The stored record holds a keyed MAC of the token and of its [`Subject`] (tenant, user,
//!   purpose), never the token, and the comparison is constant-time. See [`user_state`] for
//!   what the service must do around it (one state per user, compare-and-set).
//! * Guessing is bounded per token (attempt limit), per user across tokens (10 failures an
//!   hour, 100 a day, 100 in a row: [`UserLimits`]), and token requests per user (built
//!   in) and per client ([`RateLimiter`]); see [`limits`] for the resulting odds. Keys
//!   rotate through [`TokenKeyRing`] and [`PasswordKeyRing`].
//! * Passwords travel RSA-encrypted; PKCS#1 v1.5 decryption uses implicit rejection (no
//!   padding oracle) and is always blinded. See [`encryption`] for what that does and does
//!   not protect.
//! * Secrets ([`DigitToken`], [`TokenKey`], [`PasswordKeyPair`]) have no `Display`, a
//!   redacted `Debug` and no `PartialEq`, and are wiped on drop. Tokens compare in
//!   constant time ([`subtle::ConstantTimeEq`] on [`DigitToken`]); keys are told apart by
//!   their public ids ([`KeyId`], [`PublicKeyId`]), never by comparing key material.
//!   Decrypted passwords come back as [`zeroize::Zeroizing`] strings: wiped on drop, but
//!   ordinary strings otherwise, so do not log them. Error messages carry numbers and
//!   field names, never values.
//! * Wiping is best effort, as everywhere in Rust: it reaches the values this crate and its
//!   dependencies own, not copies the compiler leaves on the stack when a value moves, nor
//!   registers. It shortens the life of a secret in memory; it is no guarantee.
//! * No `unsafe`; no panics on any input; no arithmetic that can overflow.
//!
//! # Crate features
//! * `std` (default): implements nothing extra; forwards `std` to dependencies.
//!   Without default features the crate is `#![no_std]` and needs only `alloc`.
//! * `getrandom` (default): conveniences that draw from the operating system's RNG
//!   ([`TokenKey::from_os_rng`], [`DigitToken::from_os_rng`]), and the re-exported
//!   [`getrandom`] crate, whose `getrandom::SysRng` can be handed to every function that
//!   takes an RNG.
//! * `serde`: the API's JSON bodies as serde types, in [`wire`] (off by default).

#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod broken_rule;
pub mod digit_token;
pub mod encryption;
mod error;
pub mod issued;
mod key_id;
pub mod key_ring;
pub mod limits;
mod org_config;
mod params;
pub mod policy;
pub mod rate_limit;
mod request;
mod retry_after;
mod stored;
mod token_key;
pub mod user_state;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod wire;

pub use digit_token::{Candidate, DigitToken, TokenLength};
pub use encryption::{
    EncryptedPassword, KeyPolicy, NewPassword, PasswordEncryptor, PasswordKeyPair,
    PasswordSubmission, PublicKeyId, Scheme,
};
pub use error::{
    DetailCode, Error, KeyError, PolicyError, PolicyErrors, RecordError, RngError, Violation,
    ViolationKind, Violations,
};
pub use issued::{IssuedToken, Outcome};
pub use key_id::KeyId;
pub use key_ring::{PasswordKeyRing, TokenKeyRing};
pub use limits::UserLimits;
pub use org_config::{PasswordOrgConfig, PasswordOrgConfigInput};
pub use params::{AttemptLimit, Purpose, Subject, TokenParams, TokenTtl};
pub use policy::{
    BrokenRule, BrokenRules, NistGap, PasswordPolicy, PasswordUse, PolicyContext, PolicyReport,
    Requirement, TransportGap,
};
pub use rate_limit::{RateCheck, RateDecision, RateLimit, RateLimiter};
pub use request::{DigitTokenRequest, RequestId};
pub use retry_after::RetryAfter;
pub use stored::StateUpdate;
pub use token_key::{TokenKey, TokenKeys};
pub use user_state::{Issuance, Issued, UserState, UserStateUpdate, Verification};

#[cfg(feature = "getrandom")]
pub use getrandom;
pub use rand_core;
pub use rsa;
pub use subtle;
pub use time;
pub use zeroize;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
