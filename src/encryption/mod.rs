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
//! # One scheme per key
//! Every key serves exactly one [`Scheme`], fixed when it is generated or imported, and
//! decryption takes no scheme: it uses the key's. A service that offers two schemes holds
//! two keys, each with its own `publicKeyId` (a [`PasswordKeyRing`](crate::PasswordKeyRing)
//! holds one current key per scheme). So a weakness of one scheme (a PKCS#1 v1.5 timing
//! oracle, say) never opens ciphertexts of the other, and "prefer OAEP" means something.
//!
//! * [`Scheme::Pkcs1v15`]: the API's recipe, for every client of the API.
//! * [`Scheme::OaepSha256`]: RSAES-OAEP with SHA-256 for the label hash and for MGF1, empty
//!   label. Its padding is checked by a scheme with a security proof, not by implicit
//!   rejection.
//! * [`Scheme::OaepSha256Bound`]: the same with a label that binds the identity the
//!   password is for and the key: a captured ciphertext cannot be replayed to set another
//!   identity's password, nor sent under another key.
//!
//! ```
//! use password_mgmt::{EncryptedPassword, NewPassword, PasswordEncryptor, PasswordKeyPair, Scheme};
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//!
//! # fn main() -> Result<(), password_mgmt::Error> {
//! # let pkcs8_pem = include_str!("../../tests/data/keys/rsa2048.pk8.pem");
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//!
//! // Server: load the key pair (from PKCS#8) for its scheme; publish its public half and id.
//! let server = PasswordKeyPair::from_pkcs8_pem(pkcs8_pem, Scheme::OaepSha256Bound)?;
//! let (public_key, public_key_id) = (server.public_key_base64(), server.public_key_id());
//!
//! // Client: parse the published key once, encrypt any number of passwords.
//! let client = PasswordEncryptor::from_spki_base64(&public_key, Scheme::OaepSha256Bound)?;
//! assert_eq!(client.public_key_id(), public_key_id);
//! let new = NewPassword { identity_id: "2c9180835d2e5168015d32f890ca1581", password: "Pässwörd-密码-🔑" };
//! let wire: String = client.encrypt(&mut rng, &new)?.to_string(); // `encryptedPassword`
//!
//! // Server: decrypt what arrived for that identity, with blinding from its own RNG.
//! let arrived: EncryptedPassword = wire.parse()?;
//! let password = server.decrypt(&mut rng, &arrived, "2c9180835d2e5168015d32f890ca1581")?;
//! assert_eq!(password.as_str(), "Pässwörd-密码-🔑");
//! // The same ciphertext, replayed for another identity, does not decrypt.
//! assert!(server.decrypt(&mut rng, &arrived, "2c9180835d2e5168015d32f890ca1582").is_err());
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
//! * **So a wrong PKCS#1 v1.5 ciphertext gives a wrong password, not an error.** Usually
//!   the garbage is not UTF-8, or is empty, or holds a control character, and
//!   [`PasswordKeyPair::decrypt`] refuses it as [`Error::Decryption`]; rarely it decrypts to
//!   a short printable string, which comes back as a "password" and then fails the policy.
//!   The set-password flow must answer every failure of decryption the same way
//!   ([`PasswordKeyRing::open_password`](crate::PasswordKeyRing::open_password) does); what
//!   it cannot hide is that such a garbage password broke the policy. That one bit about a
//!   forged ciphertext's plaintext is what PKCS#1 v1.5 leaks and OAEP does not: a forged
//!   OAEP ciphertext fails the padding check (one [`Error::Decryption`]) with overwhelming
//!   probability.
//! * **What PKCS#1 v1.5 and unlabeled OAEP cannot protect against: replay.** A captured
//!   `encryptedPassword` can be sent again, for another identity or another account. Only
//!   [`Scheme::OaepSha256Bound`] binds the identity (and the key) into the ciphertext.
//!   Under the other schemes, limit where a ciphertext can be replayed by other means
//!   (TLS, short-lived keys, one use per request id).
//! * **Timing.** Decryption is always blinded with the caller's RNG; the big-number
//!   arithmetic (`crypto-bigint`) is constant-time. The `rsa` crate's own documentation
//!   still lists the Marvin timing attack as open (RustCrypto/RSA issue 626), so treat the
//!   private key operation as best-effort constant-time, rate-limit set-password requests,
//!   and prefer OAEP keys where you control the clients. The UTF-8 and control-character
//!   checks stop at the first bad byte; their cost is tiny beside the RSA operation.
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

use alloc::borrow::Cow;
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

/// The RSA encryption scheme a key serves. See the [module docs](self).
///
/// Its configuration form ([`FromStr`], [`Display`](fmt::Display)) is [`as_str`](Self::as_str).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// RSAES-PKCS1-v1_5 (RFC 8017 section 7.2): the API's recipe, Java's
    /// `RSA/ECB/PKCS1Padding`.
    Pkcs1v15,
    /// RSAES-OAEP (RFC 8017 section 7.1) with SHA-256 for the label hash and for MGF1, and
    /// an empty label. In Java: `RSA/ECB/OAEPWithSHA-256AndMGF1Padding` *with*
    /// `new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT)`
    /// (without it Java uses SHA-1 for MGF1, and the two ends will not agree).
    OaepSha256,
    /// As [`OaepSha256`](Self::OaepSha256), with the label
    /// `"password-mgmt/v1 oaep-label\0" ‖ publicKeyId ‖ identityId` (the key's id as its
    /// 43 base64url characters, then the identity id, all UTF-8; the id's fixed length
    /// makes the split unambiguous). In Java: `new PSource.PSpecified(label)` in the
    /// `OAEPParameterSpec`.
    OaepSha256Bound,
}

impl Scheme {
    /// Padding overhead in bytes: 11 for PKCS#1 v1.5, `2 * 32 + 2` for OAEP with SHA-256.
    const fn overhead(self) -> usize {
        match self {
            Self::Pkcs1v15 => 11,
            Self::OaepSha256 | Self::OaepSha256Bound => 66,
        }
    }

    /// The longest plaintext, in bytes, for a modulus of `modulus_len` bytes.
    pub(crate) const fn max_plaintext_len(self, modulus_len: usize) -> usize {
        modulus_len.saturating_sub(self.overhead())
    }

    /// Whether the ciphertext binds the identity and the key (an OAEP label).
    #[must_use]
    pub const fn binds_identity(self) -> bool {
        matches!(self, Self::OaepSha256Bound)
    }

    /// The scheme's name in configuration and logs: `pkcs1v15`, `oaep-sha256` or
    /// `oaep-sha256-bound`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pkcs1v15 => "pkcs1v15",
            Self::OaepSha256 => "oaep-sha256",
            Self::OaepSha256Bound => "oaep-sha256-bound",
        }
    }

    const ALL: [Self; 3] = [Self::Pkcs1v15, Self::OaepSha256, Self::OaepSha256Bound];
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scheme {
    type Err = Error;

    /// Parses [`as_str`](Self::as_str)'s names.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `scheme` for any other text.
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                Violation::new(
                    "scheme",
                    ViolationKind::Unknown {
                        expected: "one of pkcs1v15, oaep-sha256, oaep-sha256-bound",
                    },
                )
                .into()
            })
    }
}

/// The OAEP label of [`Scheme::OaepSha256Bound`] for a key and an identity.
pub(crate) fn bound_label(key: PublicKeyId, identity_id: &str) -> alloc::boxed::Box<[u8]> {
    const TAG: &[u8] = b"password-mgmt/v1 oaep-label\0";
    let key = alloc::string::ToString::to_string(&key);
    [TAG, key.as_bytes(), identity_id.as_bytes()]
        .concat()
        .into()
}

/// Checks an identity id: not blank, at most 256 bytes.
pub(crate) fn check_identity_id(identity_id: &str) -> Result<(), Error> {
    const FIELD: &str = "identityId";
    const MAX: usize = 256;
    if identity_id.len() > MAX {
        return Err(Violation::new(
            FIELD,
            ViolationKind::TooLong {
                max: MAX,
                found: identity_id.len(),
            },
        )
        .into());
    }
    if identity_id.trim().is_empty() {
        return Err(Violation::new(FIELD, ViolationKind::Blank).into());
    }
    Ok(())
}

/// A new password and the identity it is for: what a client encrypts.
///
/// The fields are named so that a call site cannot swap them. The identity is bound into
/// the ciphertext under [`Scheme::OaepSha256Bound`]; under the other schemes it is only
/// checked (not blank, at most 256 bytes). `Debug` shows the identity, never the password.
#[derive(Clone, Copy)]
pub struct NewPassword<'a> {
    /// The identity whose password it is (the API's `identityId`).
    pub identity_id: &'a str,
    /// The password.
    pub password: &'a str,
}

/// An encrypted new password as a set-password request carries it: the raw text of
/// `identityId`, `publicKeyId` and `encryptedPassword`, for
/// [`PasswordKeyRing::open_password`](crate::PasswordKeyRing::open_password).
///
/// Not secret (the ciphertext opens only with the private key). The fields are named so
/// that a call site cannot swap them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordSubmission<'a> {
    /// `identityId`: whose password it is.
    pub identity_id: &'a str,
    /// `publicKeyId`: the key the client encrypted under.
    pub public_key_id: &'a str,
    /// `encryptedPassword`: standard base64 of the ciphertext.
    pub encrypted_password: &'a str,
}

impl fmt::Debug for NewPassword<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPassword")
            .field("identity_id", &self.identity_id)
            .finish_non_exhaustive()
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

    /// The ciphertext as long as the modulus: left-padded with zeros when shorter (some
    /// clients strip leading zero bytes, about one ciphertext in 256; Java and OpenSSL pad
    /// them back too), refused when longer (public information either way).
    pub(crate) fn padded_for(&self, modulus_len: usize) -> Result<Cow<'_, [u8]>, Error> {
        if self.0.is_empty() {
            return Err(Violation::new(Self::FIELD, ViolationKind::Blank).into());
        }
        match modulus_len.checked_sub(self.0.len()) {
            Some(0) => Ok(Cow::Borrowed(&self.0)),
            Some(missing) => {
                let mut padded = alloc::vec![0u8; missing];
                padded.extend_from_slice(&self.0);
                Ok(Cow::Owned(padded))
            }
            None => Err(Violation::new(
                Self::FIELD,
                ViolationKind::TooLong {
                    max: modulus_len,
                    found: self.0.len(),
                },
            )
            .into()),
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
/// use password_mgmt::{KeyPolicy, PasswordEncryptor, Scheme};
///
/// let policy = KeyPolicy::STRICT.allowing_any_exponent();
/// # let spki = include_str!("../../tests/data/keys/rsa2048.spki.b64").trim();
/// let encryptor = PasswordEncryptor::from_spki_base64_with(spki, Scheme::Pkcs1v15, policy)?;
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
