//! The client side: [`PasswordEncryptor`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::TryCryptoRng;
use rsa::pkcs1::RsaPublicKeyRef;
use rsa::pkcs8::der::{Decode, Document};
use rsa::pkcs8::{EncodePublicKey, SubjectPublicKeyInfoRef};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, PublicKey};
use sha2::Sha256;

use super::{
    EncryptedPassword, KeyPolicy, NewPassword, PublicKeyId, Scheme, base64_of, bound_label,
    check_identity_id, decode_base64, map_rsa_error, small_int, trim_leading_zeros,
};
use crate::error::{Error, KeyError, Violation, ViolationKind};

/// Encrypts passwords under a published RSA public key, for one [`Scheme`] (the client
/// side).
///
/// Parse the key once ([`from_spki_base64`](Self::from_spki_base64) takes the API's
/// `publicKey` as is) and encrypt any number of passwords with it. Holds no secret.
///
/// ```
/// use password_mgmt::{NewPassword, PasswordEncryptor, Scheme};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// # let public_key = include_str!("../../tests/data/keys/rsa2048.spki.b64").trim();
/// let encryptor = PasswordEncryptor::from_spki_base64(public_key, Scheme::Pkcs1v15)?;
/// assert_eq!((encryptor.max_password_len(), encryptor.ciphertext_len()), (245, 256));
/// assert_eq!(encryptor.public_exponent(), 65_537);
///
/// let mut rng = ChaCha20Rng::seed_from_u64(1);
/// let encrypted = encryptor.encrypt(&mut rng, &NewPassword { identity_id: "abby", password: "correct horse" })?;
/// assert_eq!(encrypted.as_bytes().len(), 256);
///
/// let too_long = "x".repeat(246);
/// let err = encryptor.encrypt(&mut rng, &NewPassword { identity_id: "abby", password: &too_long }).unwrap_err();
/// assert_eq!(err.to_string(), "invalid input: password must be at most 245 bytes long, got 246 bytes");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone)]
pub struct PasswordEncryptor {
    key: PublicKey,
    scheme: Scheme,
    id: PublicKeyId,
    bits: u32,
    /// The modulus, big-endian, without leading zeros.
    modulus: Vec<u8>,
    exponent: u64,
    /// The key re-encoded as `SubjectPublicKeyInfo` DER (canonical, whatever the input was).
    spki_der: Vec<u8>,
}

impl PasswordEncryptor {
    /// Parses the standard base64 of an X.509 `SubjectPublicKeyInfo` DER RSA key (the API's
    /// `publicKey`), under [`KeyPolicy::STRICT`], to encrypt with `scheme` (the one the
    /// server's key serves). Surrounding white space is ignored.
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Base64`], or as [`from_spki_der`](Self::from_spki_der).
    pub fn from_spki_base64(text: &str, scheme: Scheme) -> Result<Self, Error> {
        Self::from_spki_base64_with(text, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_spki_base64`](Self::from_spki_base64), under `policy`.
    ///
    /// # Errors
    /// As [`from_spki_base64`](Self::from_spki_base64).
    pub fn from_spki_base64_with(
        text: &str,
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Self, Error> {
        let der = decode_base64(text)?;
        Self::from_spki_der_with(&der, scheme, policy)
    }

    /// Parses a PEM `PUBLIC KEY` document, under [`KeyPolicy::STRICT`].
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Pem`], or as [`from_spki_der`](Self::from_spki_der).
    pub fn from_spki_pem(pem: &str, scheme: Scheme) -> Result<Self, Error> {
        Self::from_spki_pem_with(pem, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_spki_pem`](Self::from_spki_pem), under `policy`.
    ///
    /// # Errors
    /// As [`from_spki_pem`](Self::from_spki_pem).
    pub fn from_spki_pem_with(pem: &str, scheme: Scheme, policy: KeyPolicy) -> Result<Self, Error> {
        let (label, doc) = Document::from_pem(pem).map_err(|_| KeyError::Pem)?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Pem.into());
        }
        Self::from_spki_der_with(doc.as_bytes(), scheme, policy)
    }

    /// Parses an X.509 `SubjectPublicKeyInfo` DER RSA key, under [`KeyPolicy::STRICT`].
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Malformed`] for bytes that are not such a structure,
    /// [`KeyError::NotRsa`] for a key of another algorithm, [`KeyError::ModulusSize`] and
    /// [`KeyError::Exponent`] for an RSA key outside the policy.
    pub fn from_spki_der(der: &[u8], scheme: Scheme) -> Result<Self, Error> {
        Self::from_spki_der_with(der, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_spki_der`](Self::from_spki_der), under `policy`.
    ///
    /// # Errors
    /// As [`from_spki_der`](Self::from_spki_der).
    pub fn from_spki_der_with(
        der: &[u8],
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Self, Error> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        if spki.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
            return Err(KeyError::NotRsa.into());
        }
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Malformed)?;
        let rsa_key = RsaPublicKeyRef::from_der(bits).map_err(|_| KeyError::Malformed)?;
        policy.check(
            rsa_key.modulus.as_bytes(),
            rsa_key.public_exponent.as_bytes(),
        )?;
        let key = PublicKey::try_from(spki).map_err(|_| KeyError::Malformed)?;
        Self::from_checked(key, scheme)
    }

    /// Wraps a key that already passed a [`KeyPolicy`].
    pub(super) fn from_checked(key: PublicKey, scheme: Scheme) -> Result<Self, Error> {
        let n = key.n_bytes();
        let e = key.e_bytes();
        let spki_der = key
            .to_public_key_der()
            .map_err(|_| KeyError::Malformed)?
            .into_vec();
        Ok(Self {
            id: PublicKeyId::of_rsa(&n, &e),
            bits: super::bit_length(&n),
            modulus: trim_leading_zeros(&n).to_vec(),
            exponent: small_int(&e).ok_or(KeyError::Exponent)?,
            key,
            scheme,
            spki_der,
        })
    }

    /// Encrypts the UTF-8 bytes of the new password, for its identity, under this
    /// encryptor's scheme.
    ///
    /// The ciphertext is as long as the modulus; its `Display` is the standard base64 the
    /// API's `encryptedPassword` carries. Encryption is randomized: the same password
    /// gives a different ciphertext every time.
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `password` when it is empty, holds a control character
    ///   (which the server's decryption refuses as garbage), or is longer than
    ///   [`max_password_len`](Self::max_password_len) bytes (never truncated), or naming
    ///   `identityId` when that is blank or longer than 256 bytes;
    /// * [`Error::Rng`] when the RNG fails.
    pub fn encrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        new: &NewPassword<'_>,
    ) -> Result<EncryptedPassword, Error> {
        check_identity_id(new.identity_id)?;
        let max = self.max_password_len();
        let message = new.password.as_bytes();
        if message.is_empty() {
            return Err(Violation::new("password", ViolationKind::Empty).into());
        }
        if new.password.chars().any(char::is_control) {
            return Err(Violation::new("password", ViolationKind::ControlCharacter).into());
        }
        if message.len() > max {
            return Err(Violation::new(
                "password",
                ViolationKind::TooLong {
                    max,
                    found: message.len(),
                },
            )
            .into());
        }
        let result = match self.scheme {
            Scheme::Pkcs1v15 => self.key.encrypt(rng, Pkcs1v15Encrypt, message),
            Scheme::OaepSha256 => self.key.encrypt(rng, Oaep::<Sha256>::new(), message),
            Scheme::OaepSha256Bound => {
                let label = bound_label(self.id, new.identity_id);
                self.key
                    .encrypt(rng, Oaep::<Sha256>::new_with_label(label), message)
            }
        };
        let ciphertext: Vec<u8> =
            result.map_err(|e| map_rsa_error(&e, Error::Key(KeyError::Malformed)))?;
        Ok(EncryptedPassword::from_bytes(ciphertext))
    }

    /// Whether `policy` allows passwords longer than this key and scheme carry (64
    /// characters of four-byte UTF-8 are 256 bytes; 2048-bit OAEP-SHA256 carries 190):
    /// [`PasswordPolicy::transport_gap`](crate::PasswordPolicy::transport_gap) for
    /// [`max_password_len`](Self::max_password_len). Check it when a policy or a key is
    /// configured, and choose a larger key when it reports a gap.
    ///
    /// ```
    /// use password_mgmt::{PasswordEncryptor, PasswordPolicy, Scheme};
    ///
    /// # let public_key = include_str!("../../tests/data/keys/rsa2048.spki.b64").trim();
    /// let policy = PasswordPolicy::from_lines(["passwordMinLength is 15", "passwordMaxLength is 64"])?;
    /// let oaep = PasswordEncryptor::from_spki_base64(public_key, Scheme::OaepSha256)?;
    /// let gap = oaep.transport_gap(&policy).expect("190 bytes cannot carry 64 four-byte characters");
    /// assert_eq!(gap.guaranteed_chars(), 47);
    /// let pkcs1 = oaep.with_scheme(Scheme::Pkcs1v15); // 245 bytes: still short of 256
    /// assert!(pkcs1.transport_gap(&policy).is_some());
    /// # Ok::<(), password_mgmt::Error>(())
    /// ```
    #[must_use]
    pub fn transport_gap(
        &self,
        policy: &crate::PasswordPolicy,
    ) -> Option<crate::policy::TransportGap> {
        policy.transport_gap(self.max_password_len())
    }

    /// The scheme this encryptor encrypts with.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The same key, to encrypt with another scheme (for a client that tries what a server
    /// serves; the server's key decrypts only its own).
    #[must_use]
    pub fn with_scheme(&self, scheme: Scheme) -> Self {
        Self {
            scheme,
            ..self.clone()
        }
    }

    /// The longest password, in bytes of UTF-8, this scheme can carry under this key:
    /// `k - 11` for PKCS#1 v1.5 and `k - 66` for OAEP-SHA256, where `k` is the modulus
    /// length in bytes (245 and 190 for 2048 bits).
    #[must_use]
    pub fn max_password_len(&self) -> usize {
        self.scheme.max_plaintext_len(self.key.size())
    }

    /// The length of every ciphertext, in bytes: the modulus length (256 for 2048 bits).
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        self.key.size()
    }

    /// The key's id (`publicKeyId`).
    #[must_use]
    pub const fn public_key_id(&self) -> PublicKeyId {
        self.id
    }

    /// The modulus length in bits.
    #[must_use]
    pub const fn modulus_bits(&self) -> u32 {
        self.bits
    }

    /// The modulus `n`, big-endian, without leading zero bytes.
    #[must_use]
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The public exponent `e` (65537 unless the key policy allowed another).
    #[must_use]
    pub const fn public_exponent(&self) -> u64 {
        self.exponent
    }

    /// The key as X.509 `SubjectPublicKeyInfo` DER.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key as the standard base64 of its `SubjectPublicKeyInfo` DER: the API's
    /// `publicKey`.
    #[must_use]
    pub fn to_spki_base64(&self) -> String {
        base64_of(&self.spki_der)
    }
}

impl fmt::Debug for PasswordEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordEncryptor")
            .field("public_key_id", &self.id)
            .field("scheme", &self.scheme)
            .field("modulus_bits", &self.bits)
            .finish_non_exhaustive()
    }
}
