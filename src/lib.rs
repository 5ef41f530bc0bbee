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
//! # The whole flow
//! ```
//! use password_mgmt::{
//!     issue, DigitTokenRequest, IssuedToken, Outcome, PasswordOrgConfig, PasswordOrgConfigInput,
//!     TokenKey,
//! };
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! use time::{Duration, UtcDateTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any cryptographic RNG; in production `getrandom::SysRng` (see `TokenKey::from_os_rng`).
//! let mut rng = ChaCha20Rng::seed_from_u64(2026);
//! // One MAC key per deployment, loaded from your secret store.
//! let key = TokenKey::from_bytes(&[0x5a; 32]);
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
//!
//! // 3. Issue: deliver `token`, store `record` (58 bytes), answer with `request_id`.
//! let issued = issue(&mut rng, &key, request.user_id, &params, now)?;
//! assert_eq!(issued.token.as_str().len(), 8);
//! let stored: [u8; IssuedToken::ENCODED_LEN] = issued.record.encode();
//!
//! // 4. The user types a wrong code, then the right one.
//! let record = IssuedToken::decode(&stored)?;
//! let wrong = if issued.token.as_str() == "00000000" { "11111111" } else { "00000000" };
//! let first = record.verify(&key, "Abby.Smith", wrong, now + Duration::minutes(2))?;
//! assert_eq!(first.outcome, Outcome::Mismatch { attempts_left: 4 });
//! // ... store `first.record` with a compare-and-set against `stored` ...
//! let second = first.record.verify(&key, "Abby.Smith", issued.token.as_str(), now + Duration::minutes(3))?;
//! assert_eq!(second.outcome, Outcome::Accepted);
//!
//! // A token is single-use, and dies at its expiry instant.
//! let again = second.record.verify(&key, "Abby.Smith", issued.token.as_str(), now + Duration::minutes(4))?;
//! assert_eq!(again.outcome, Outcome::AlreadyUsed);
//! let late = record.verify(&key, "Abby.Smith", issued.token.as_str(), record.expires_at())?;
//! assert_eq!(late.outcome, Outcome::Expired);
//! # Ok(())
//! # }
//! ```
//!
//! # Passwords in transit
//! The client encrypts a new password under the server's published RSA key; the server
//! decrypts it. See [`encryption`] for the recipe and the threat model.
//! ```
//! use password_mgmt::{PasswordEncryptor, PasswordKeyPair, Scheme};
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! # fn main() -> Result<(), password_mgmt::Error> {
//! # let pem = include_str!("../tests/data/keys/rsa2048.pk8.pem");
//! let mut rng = ChaCha20Rng::seed_from_u64(5);
//! let server = PasswordKeyPair::from_pkcs8_pem(pem)?; // or PasswordKeyPair::generate
//!
//! // "Query password info" hands the client `publicKey` and `publicKeyId`.
//! let client = PasswordEncryptor::from_spki_base64(&server.public_key_base64())?;
//! let encrypted_password = client.encrypt(&mut rng, "new password", Scheme::Pkcs1v15)?.to_string();
//!
//! // "Set password" hands the server `encryptedPassword`.
//! let password = server.decrypt(&mut rng, &encrypted_password.parse()?, Scheme::Pkcs1v15)?;
//! assert_eq!(password.as_str(), "new password");
//! # Ok(())
//! # }
//! ```
//!
//! # Security properties
//! * Tokens are uniform over all `10^n` values (rejection sampling, no modulo bias) and
//!   keep their leading zeros. See [`digit_token`].
//! * The stored record holds a keyed MAC of the token, never the token, and the comparison
//!   is constant-time. See [`issued`] for what the service must do around it
//!   (one record per user, compare-and-set, rate limits).
//! * Guessing is bounded per token (attempt limit), per user across tokens
//!   ([`GuessBudget`]), and token requests per user and client ([`RateLimiter`]); see
//!   [`guess_budget`] for the resulting odds. Keys rotate through [`TokenKeyRing`] and
//!   [`PasswordKeyRing`].
//! * Passwords travel RSA-encrypted; PKCS#1 v1.5 decryption uses implicit rejection (no
//!   padding oracle) and is always blinded. See [`encryption`] for what that does and does
//!   not protect.
//! * Secrets ([`DigitToken`], [`TokenKey`], [`PasswordKeyPair`]) have no `Display`, a
//!   redacted `Debug`, no `PartialEq` (use [`subtle::ConstantTimeEq`]) and are wiped on
//!   drop. Decrypted passwords come back as [`zeroize::Zeroizing`] strings: wiped on drop,
//!   but ordinary strings otherwise, so do not log them. Error messages carry numbers and
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

pub mod digit_token;
pub mod encryption;
mod error;
pub mod guess_budget;
pub mod issued;
pub mod key_ring;
mod org_config;
pub mod policy;
pub mod rate_limit;
mod request;
mod stored;
mod token_key;
#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
pub mod wire;

pub use digit_token::{DigitToken, TokenLength};
pub use encryption::{
    EncryptedPassword, KeyPolicy, PasswordEncryptor, PasswordKeyPair, PublicKeyId, Scheme,
};
pub use error::{
    DetailCode, Error, KeyError, PolicyError, PolicyErrors, RecordError, RngError, Violation,
    ViolationKind, Violations,
};
pub use guess_budget::{BudgetedVerification, GuessBudget, GuessLimits};
pub use issued::{AttemptLimit, Issued, IssuedToken, Outcome, TokenTtl, Verification, issue};
pub use key_ring::{PasswordKeyRing, TokenKeyRing};
pub use org_config::{PasswordOrgConfig, PasswordOrgConfigInput};
pub use policy::{BrokenRule, NistGap, PasswordPolicy, PolicyContext, PolicyReport, Requirement};
pub use rate_limit::{RateCheck, RateDecision, RateLimit, RateLimiter};
pub use request::{DigitTokenRequest, RequestId, TokenParams};
pub use token_key::{KeyId, TokenKey};

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
