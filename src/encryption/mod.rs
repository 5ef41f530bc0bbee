//! Passwords encrypted in transit: the client's [`PasswordEncryptor`] and the server's
//! [`PasswordKeyPair`].
//!
//! # The API's recipe
//! 1. "Query password info" returns `publicKey`, the standard base64 of an X.509
//!    `SubjectPublicKeyInfo` DER RSA key, and `publicKeyId`.
//! 2. The client encrypts the UTF-8 bytes of the new password with RSA PKCS#1 v1.5 (Java's
//!    `RSA/ECB/PKCS1Padding`) and sends the standard base64 of the ciphertext as
//!    `encryptedPassword`, with the `publicKeyId`.
//! 3. The server decrypts with the private key named by `publicKeyId`.
//!
//! [`Scheme::Pkcs1v15`] is that recipe and the default, for compatibility with every client
//! of the API. [`Scheme::OaepSha256`] (RSAES-OAEP with SHA-256 for the label hash and for
//! MGF1) is the better choice where both ends are yours: its padding is checked by a proof,
//! not by implicit rejection.
//!
//! ```
//! use password_mgmt::{EncryptedPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! # fn main() -> Result<(), password_mgmt::Error> {
//! # let pkcs8_pem = include_str!("../../tests/data/keys/rsa2048.pk8.pem");
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//!
//! // Server: load the key pair (from PKCS#8) and publish its public half and id.
//! let server = PasswordKeyPair::from_pkcs8_pem(pkcs8_pem)?;
//! let (public_key, public_key_id) = (server.public_key_base64(), server.public_key_id());
//!
//! // Client: parse the published key once, encrypt any number of passwords.
//! let client = PasswordEncryptor::from_spki_base64(&public_key)?;
//! assert_eq!(client.public_key_id(), public_key_id);
//! let encrypted = client.encrypt(&mut rng, "Pässwörd-密码-🔑", Scheme::Pkcs1v15)?;
//! let wire: String = encrypted.to_string(); // `encryptedPassword`
//!
//! // Server: decrypt what arrived, with blinding from its own RNG.
//! let arrived: EncryptedPassword = wire.parse()?;
//! let password = server.decrypt(&mut rng, &arrived, Scheme::Pkcs1v15)?;
//! assert_eq!(password.as_str(), "Pässwörd-密码-🔑");
//! # Ok(())
//! # }
//! ```
//!
//! # Threat model
//! <div class="warning">
//!
//! * **PKCS#1 v1.5 has no padding oracle here, by construction of `rsa` 0.10.** Its
//!   decryption performs *implicit rejection* (draft-irtf-cfrg-rsa-guidance, section 7.2):
//!   a ciphertext with bad padding decrypts to a deterministic pseudo-random message
//!   derived from the private key and the ciphertext, not to an error. This crate relies on
//!   it and does not reimplement it; its tests run the draft's known-answer vectors through
//!   [`PasswordKeyPair::decrypt_bytes`].
//! * **So a wrong ciphertext gives a wrong password, not an error.** Usually the garbage
//!   is not UTF-8 and [`PasswordKeyPair::decrypt`] returns [`Error::Decryption`]; about one
//!   forged ciphertext in a hundred decrypts to valid UTF-8 (often to the *empty* string)
//!   and comes back as a "password". The set-password flow must refuse an empty password
//!   and check the policy, and its response **must not reveal which step failed**: answer
//!   every failure of decryption, UTF-8 and policy the same way, after the same delay. The
//!   UTF-8 check itself is not constant-time (it stops at the first invalid byte); its
//!   cost is tiny beside the RSA operation, but it is one more reason to answer slowly and
//!   uniformly.
//! * **OAEP** decryption failures are all one [`Error::Decryption`].
//! * **Timing.** Decryption is always blinded with the caller's RNG; the big-number
//!   arithmetic (`crypto-bigint`) is constant-time. The `rsa` crate's own documentation
//!   still lists the Marvin timing attack as open (RustCrypto/RSA issue 626), so treat the
//!   private key operation as best-effort constant-time, rate-limit set-password requests,
//!   and prefer OAEP where you control the clients.
//! * What stays public: the ciphertext's length, and the length of the decrypted password.
//!
//! </div>
//!
//! # Secrets
//! Plaintext passwords come back as [`Zeroizing`] strings. The private key
//! ([`rsa::PrivateKey`]) wipes itself on drop, as do exported PKCS#8 documents. Passwords
//! and keys never appear in `Debug` output or error messages.

mod private;
mod public;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, KeyError, RngError, Violation, ViolationKind};

pub use private::PasswordKeyPair;
pub use public::PasswordEncryptor;

/// The RSA encryption scheme a password is encrypted with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// RSAES-PKCS1-v1_5 (RFC 8017 section 7.2): the API's recipe, Java's
    /// `RSA/ECB/PKCS1Padding`. The default, for compatibility.
    #[default]
    Pkcs1v15,
    /// RSAES-OAEP (RFC 8017 section 7.1) with SHA-256 for the label hash and for MGF1, and
    /// an empty label. In Java: `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` *with*
    /// `new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT)`
    /// (without it Java uses SHA-1 for MGF1, and the two ends will not agree).
    OaepSha256,
}

impl Scheme {
    /// Padding overhead in bytes: 11 for PKCS#1 v1.5, `2 * 32 + 2` for OAEP with SHA-256.
    const fn overhead(self) -> usize {
        match self {
            Self::Pkcs1v15 => 11,
            Self::OaepSha256 => 66,
        }
    }

    /// The longest plaintext, in bytes, for a modulus of `modulus_len` bytes.
    pub(crate) const fn max_plaintext_len(self, modulus_len: usize) -> usize {
        modulus_len.saturating_sub(self.overhead())
    }
}

/// An encrypted password: the RSA ciphertext that travels as `encryptedPassword`.
///
/// `Display` and [`FromStr`] use standard base64 with padding, as the API does. Not a
/// secret (only the private key opens it).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncryptedPassword(Vec<u8>);

impl EncryptedPassword {
    const FIELD: &'static str = "encryptedPassword";

    /// Parses the standard base64 (with padding) of a ciphertext.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `encryptedPassword` when the text is not standard base64
    /// with padding, or is empty.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        match Base64::decode_vec(text) {
            Ok(bytes) if !bytes.is_empty() => Ok(Self(bytes)),
            Ok(_) => Err(Violation::new(Self::FIELD, ViolationKind::Blank).into()),
            Err(_) => Err(Violation::new(
                Self::FIELD,
                ViolationKind::Format {
                    expected: "standard base64 with padding",
                },
            )
            .into()),
        }
    }

    /// A ciphertext from its raw bytes.
    #[must_use]
    pub const fn from_bytes(ciphertext: Vec<u8>) -> Self {
        Self(ciphertext)
    }

    /// The ciphertext's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Checks that the ciphertext is exactly as long as the modulus (public information).
    pub(crate) fn checked_for(&self, modulus_len: usize) -> Result<&[u8], Error> {
        if self.0.len() == modulus_len {
            Ok(&self.0)
        } else {
            Err(Violation::new(
                Self::FIELD,
                ViolationKind::WrongLength {
                    expected: modulus_len,
                    found: self.0.len(),
                },
            )
            .into())
        }
    }
}

impl fmt::Display for EncryptedPassword {
    /// Standard base64 with padding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Base64::encode_string(&self.0))
    }
}

impl fmt::Debug for EncryptedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedPassword")
            .field("bytes", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl FromStr for EncryptedPassword {
    type Err = Error;

    /// As [`EncryptedPassword::from_base64`].
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::from_base64(text)
    }
}

/// The id of a password encryption key (`publicKeyId`): the RFC 7638 JWK SHA-256
/// thumbprint of the RSA public key, in base64url without padding (43 characters).
///
/// Every node computes the same id for the same key, from the key alone.
///
/// ```
/// use password_mgmt::PublicKeyId;
///
/// // RFC 7638, section 3.1.
/// let id: PublicKeyId = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".parse()?;
/// assert_eq!(id.to_string(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKeyId([u8; 32]);

impl PublicKeyId {
    /// The thumbprint of the RSA public key with big-endian modulus `n` and exponent `e`.
    ///
    /// RFC 7638: SHA-256 over `{"e":"…","kty":"RSA","n":"…"}`, the members in that order,
    /// no white space, each integer in base64url without padding and without leading zero
    /// bytes.
    pub(crate) fn of_rsa(n: &[u8], e: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"{\"e\":\"");
        hash.update(Base64UrlUnpadded::encode_string(trim_leading_zeros(e)));
        hash.update(b"\",\"kty\":\"RSA\",\"n\":\"");
        hash.update(Base64UrlUnpadded::encode_string(trim_leading_zeros(n)));
        hash.update(b"\"}");
        Self(hash.finalize().into())
    }

    /// The 32 bytes of the SHA-256 thumbprint.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Display for PublicKeyId {
    /// Base64url without padding, 43 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Base64UrlUnpadded::encode_string(&self.0))
    }
}

impl fmt::Debug for PublicKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKeyId({self})")
    }
}

impl FromStr for PublicKeyId {
    type Err = Error;

    /// Parses the 43-character base64url form.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `publicKeyId` for anything else.
    fn from_str(text: &str) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        match Base64UrlUnpadded::decode(text, &mut bytes) {
            Ok(decoded) if decoded.len() == 32 => Ok(Self(bytes)),
            _ => Err(Violation::new(
                "publicKeyId",
                ViolationKind::Format {
                    expected: "a SHA-256 thumbprint as 43 characters of base64url without padding",
                },
            )
            .into()),
        }
    }
}

/// Which RSA keys are accepted, on import and on parsing a published key.
///
/// [`KeyPolicy::STRICT`] (what the plain constructors use) accepts a modulus of 2048 to
/// 8192 bits and the public exponent 65537 only. Other odd exponents from 3 to `2^33 - 1`
/// can be allowed for keys made elsewhere.
///
/// ```
/// use password_mgmt::{KeyPolicy, PasswordEncryptor};
///
/// let policy = KeyPolicy::STRICT.allowing_any_exponent();
/// # let spki = include_str!("../../tests/data/keys/rsa2048.spki.b64").trim();
/// let encryptor = PasswordEncryptor::from_spki_base64_with(spki, policy)?;
/// assert_eq!(encryptor.modulus_bits(), 2048);
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPolicy {
    any_exponent: bool,
}

impl KeyPolicy {
    /// The shortest modulus accepted, in bits.
    pub const MIN_BITS: u16 = 2048;
    /// The longest modulus accepted, in bits.
    pub const MAX_BITS: u16 = 8192;
    /// 2048- to 8192-bit moduli, exponent 65537.
    pub const STRICT: Self = Self {
        any_exponent: false,
    };
    /// The public exponent everyone uses: `2^16 + 1`.
    pub const F4: u64 = 65_537;
    /// The largest exponent allowed by [`allowing_any_exponent`](Self::allowing_any_exponent).
    pub const MAX_EXPONENT: u64 = (1 << 33) - 1;

    /// This policy, also accepting odd public exponents from 3 to `2^33 - 1`.
    #[must_use]
    pub const fn allowing_any_exponent(self) -> Self {
        Self { any_exponent: true }
    }

    /// Checks a modulus and a public exponent given as big-endian bytes.
    fn check(self, n: &[u8], e: &[u8]) -> Result<(), KeyError> {
        let bits = bit_length(n);
        let (min, max) = (Self::MIN_BITS.into(), Self::MAX_BITS.into());
        if !(min..=max).contains(&bits) {
            return Err(KeyError::ModulusSize { bits, min, max });
        }
        let e = small_int(e).ok_or(KeyError::Exponent)?;
        let allowed = if self.any_exponent {
            e % 2 == 1 && (3..=Self::MAX_EXPONENT).contains(&e)
        } else {
            e == Self::F4
        };
        if allowed {
            Ok(())
        } else {
            Err(KeyError::Exponent)
        }
    }
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self::STRICT
    }
}

/// The bytes without their leading zeros.
fn trim_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// The number of significant bits of a big-endian unsigned integer (saturating: any
/// integer too large to count in a `u32` is far outside every policy anyway).
fn bit_length(bytes: &[u8]) -> u32 {
    let bytes = trim_leading_zeros(bytes);
    let Some(first) = bytes.first() else {
        return 0;
    };
    let whole = u32::try_from(bytes.len())
        .unwrap_or(u32::MAX)
        .saturating_mul(8);
    whole.saturating_sub(first.leading_zeros())
}

/// A big-endian unsigned integer of at most 8 significant bytes.
fn small_int(bytes: &[u8]) -> Option<u64> {
    let bytes = trim_leading_zeros(bytes);
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// An `rsa` error from an operation that uses the RNG: an RNG failure is its own error,
/// anything else is `otherwise`.
fn map_rsa_error(e: &rsa::Error, otherwise: Error) -> Error {
    match e {
        rsa::Error::Rng => Error::Rng(RngError::Failed),
        _ => otherwise,
    }
}

/// Standard base64 of a DER document.
fn base64_of(der: &[u8]) -> String {
    Base64::encode_string(der)
}

/// Decodes standard base64 into a zeroizing buffer (key material may pass through it).
fn decode_base64(text: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    Base64::decode_vec(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Base64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0, 0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f; 256]), 2047);
        assert_eq!(bit_length(&[0xff; 256]), 2048);
    }

    #[test]
    fn small_ints() {
        assert_eq!(small_int(&[1, 0, 1]), Some(65_537));
        assert_eq!(small_int(&[0, 0, 1, 0, 1]), Some(65_537));
        assert_eq!(small_int(&[1; 8]), Some(0x0101_0101_0101_0101));
        assert_eq!(small_int(&[1; 9]), None);
        assert_eq!(small_int(&[]), Some(0));
    }

    #[test]
    fn policy_exponents() {
        let n = [0xff; 256];
        assert!(KeyPolicy::STRICT.check(&n, &[1, 0, 1]).is_ok());
        assert_eq!(KeyPolicy::STRICT.check(&n, &[3]), Err(KeyError::Exponent));
        let any = KeyPolicy::STRICT.allowing_any_exponent();
        assert!(any.check(&n, &[3]).is_ok());
        assert!(any.check(&n, &[1, 0xff, 0xff, 0xff, 0xff]).is_ok());
        for bad in [&[1u8][..], &[4], &[2, 0, 0, 0, 1], &[0; 0]] {
            assert_eq!(any.check(&n, bad), Err(KeyError::Exponent), "{bad:?}");
        }
        assert_eq!(
            any.check(&[0x7f; 256], &[3]),
            Err(KeyError::ModulusSize {
                bits: 2047,
                min: 2048,
                max: 8192
            })
        );
    }
}
