//! The server side: [`PasswordKeyPair`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::TryCryptoRng;
use rsa::pkcs1::RsaPrivateKeyRef;
use rsa::pkcs8::der::{Decode, SecretDocument};
use rsa::pkcs8::{EncodePrivateKey, LineEnding, PrivateKeyInfoRef};
use rsa::{Oaep, Pkcs1v15Encrypt, PrivateKey};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::{
    EncryptedPassword, KeyPolicy, PasswordEncryptor, PublicKeyId, Scheme, bound_label,
    check_identity_id, decode_base64, map_rsa_error,
};
use crate::error::{Error, KeyError, RngError, check_range};

/// An RSA key pair that decrypts passwords under one [`Scheme`] (the server side).
///
/// Generate one ([`generate`](Self::generate)) or import it from PKCS#8
/// ([`from_pkcs8_der`](Self::from_pkcs8_der), [`from_pkcs8_pem`](Self::from_pkcs8_pem),
/// [`from_pkcs8_base64`](Self::from_pkcs8_base64)), naming the scheme it serves;
/// publish [`public_key_base64`](Self::public_key_base64) and
/// [`public_key_id`](Self::public_key_id) in "query password info"; [`decrypt`](Self::decrypt)
/// what clients send. A secret: its `Debug` shows only the public id and size, it cannot be
/// cloned, and the private key is wiped on drop.
///
/// Read the [module docs](super) on what PKCS#1 v1.5 decryption means for the
/// set-password flow.
pub struct PasswordKeyPair {
    key: PrivateKey,
    public: PasswordEncryptor,
}

impl PasswordKeyPair {
    /// Generates a fresh key pair with a modulus of `bits` bits and exponent 65537.
    ///
    /// 2048 to 8192 bits; 3072 is a good default (128-bit security). Generation takes
    /// about a second for 3072 bits in release builds, and grows quickly with size.
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `bits` outside 2048..=8192;
    /// * [`Error::Rng`] when the RNG fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        bits: u32,
        scheme: Scheme,
    ) -> Result<Self, Error> {
        let bits = check_range(
            "bits",
            bits.into(),
            KeyPolicy::MIN_BITS,
            KeyPolicy::MAX_BITS,
        )?;
        let key = PrivateKey::new(rng, bits.into())
            .map_err(|e| map_rsa_error(&e, Error::Rng(RngError::Failed)))?;
        Self::from_checked(key, scheme)
    }

    /// Imports an unencrypted PKCS#8 DER RSA private key, under [`KeyPolicy::STRICT`].
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Malformed`] for bytes that are not an unencrypted
    /// two-prime PKCS#8 RSA key with consistent parts, [`KeyError::NotRsa`] for another
    /// algorithm, [`KeyError::ModulusSize`] and [`KeyError::Exponent`] outside the policy.
    pub fn from_pkcs8_der(der: &[u8], scheme: Scheme) -> Result<Self, Error> {
        Self::from_pkcs8_der_with(der, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_pkcs8_der`](Self::from_pkcs8_der), under `policy`.
    ///
    /// # Errors
    /// As [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_pkcs8_der_with(
        der: &[u8],
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Self, Error> {
        let info = PrivateKeyInfoRef::from_der(der).map_err(|_| KeyError::Malformed)?;
        if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
            return Err(KeyError::NotRsa.into());
        }
        let rsa_key = RsaPrivateKeyRef::from_der(info.private_key.as_bytes())
            .map_err(|_| KeyError::Malformed)?;
        policy.check(
            rsa_key.modulus.as_bytes(),
            rsa_key.public_exponent.as_bytes(),
        )?;
        let key = PrivateKey::try_from(info).map_err(|_| KeyError::Malformed)?;
        Self::from_checked(key, scheme)
    }

    /// Imports a PEM `PRIVATE KEY` (unencrypted PKCS#8) document, under [`KeyPolicy::STRICT`].
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Pem`], or as [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_pkcs8_pem(pem: &str, scheme: Scheme) -> Result<Self, Error> {
        Self::from_pkcs8_pem_with(pem, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_pkcs8_pem`](Self::from_pkcs8_pem), under `policy`.
    ///
    /// # Errors
    /// As [`from_pkcs8_pem`](Self::from_pkcs8_pem).
    pub fn from_pkcs8_pem_with(
        pem: &str,
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Self, Error> {
        let (label, doc) = SecretDocument::from_pem(pem).map_err(|_| KeyError::Pem)?;
        if label != "PRIVATE KEY" {
            return Err(KeyError::Pem.into());
        }
        Self::from_pkcs8_der_with(doc.as_bytes(), scheme, policy)
    }

    /// Imports the standard base64 of an unencrypted PKCS#8 DER RSA private key (as secret
    /// stores often hold it), under [`KeyPolicy::STRICT`]. Surrounding white space is
    /// ignored; the decoded bytes are wiped after use.
    ///
    /// # Errors
    /// [`Error::Key`]: [`KeyError::Base64`], or as [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_pkcs8_base64(text: &str, scheme: Scheme) -> Result<Self, Error> {
        Self::from_pkcs8_base64_with(text, scheme, KeyPolicy::STRICT)
    }

    /// As [`from_pkcs8_base64`](Self::from_pkcs8_base64), under `policy`.
    ///
    /// # Errors
    /// As [`from_pkcs8_base64`](Self::from_pkcs8_base64).
    pub fn from_pkcs8_base64_with(
        text: &str,
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Self, Error> {
        let der = decode_base64(text)?;
        Self::from_pkcs8_der_with(&der, scheme, policy)
    }

    fn from_checked(key: PrivateKey, scheme: Scheme) -> Result<Self, Error> {
        let public = PasswordEncryptor::from_checked(key.to_public_key(), scheme)?;
        Ok(Self { key, public })
    }

    /// The scheme this key serves.
    #[must_use]
    pub const fn scheme(&self) -> Scheme {
        self.public.scheme()
    }

    /// The private key as unencrypted PKCS#8 DER, wiped when dropped.
    ///
    /// # Errors
    /// [`Error::Key`] if the key cannot be encoded (not expected for a key this type holds).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let doc = self.key.to_pkcs8_der().map_err(|_| KeyError::Malformed)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The private key as a PEM `PRIVATE KEY` document (LF line endings), wiped when dropped.
    ///
    /// # Errors
    /// As [`to_pkcs8_der`](Self::to_pkcs8_der).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, Error> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::Malformed.into())
    }

    /// The public half, to encrypt with (or to hand to clients in process).
    #[must_use]
    pub const fn encryptor(&self) -> &PasswordEncryptor {
        &self.public
    }

    /// The public key as the API's `publicKey`: standard base64 of its
    /// `SubjectPublicKeyInfo` DER.
    #[must_use]
    pub fn public_key_base64(&self) -> String {
        self.public.to_spki_base64()
    }

    /// The public key's id (`publicKeyId`): its RFC 7638 thumbprint.
    #[must_use]
    pub const fn public_key_id(&self) -> PublicKeyId {
        self.public.public_key_id()
    }

    /// Decrypts an encrypted password for `identity_id` to the password, wiped when dropped.
    ///
    /// Blinded with `rng`. Read the [module docs](super) first: under PKCS#1 v1.5 a
    /// ciphertext with bad padding does not fail here but yields a pseudo-random message,
    /// refused as [`Error::Decryption`] when it is empty, not UTF-8, or holds a control
    /// character (U+0000 to U+001F, U+007F to U+009F), which no keyboard types. The
    /// identity is bound under [`Scheme::OaepSha256Bound`] and only checked otherwise.
    /// A ciphertext shorter than the modulus is left-padded with zeros.
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `encryptedPassword` when the ciphertext is longer than
    ///   the modulus (public information), or `identityId` when blank or over 256 bytes;
    /// * [`Error::Decryption`] for any other failure: an OAEP padding or label error, a
    ///   ciphertext not below the modulus, a plaintext that is empty, not UTF-8 or holds a
    ///   control character. One variant, deliberately;
    /// * [`Error::Rng`] when the RNG fails.
    pub fn decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        encrypted: &EncryptedPassword,
        identity_id: &str,
    ) -> Result<Zeroizing<String>, Error> {
        let mut bytes = self.decrypt_bytes(rng, encrypted, identity_id)?;
        match String::from_utf8(core::mem::take(&mut *bytes)) {
            Ok(password) if !password.is_empty() && !password.chars().any(char::is_control) => {
                Ok(Zeroizing::new(password))
            }
            Ok(mut garbage) => {
                garbage.zeroize();
                Err(Error::Decryption)
            }
            Err(not_utf8) => {
                not_utf8.into_bytes().zeroize();
                Err(Error::Decryption)
            }
        }
    }

    /// Decrypts to the raw plaintext bytes, wiped when dropped; no check of their content.
    ///
    /// For protocols whose plaintext is not text, and for known-answer tests. Under
    /// PKCS#1 v1.5 a ciphertext with bad padding yields the deterministic synthetic message
    /// of implicit rejection, not an error.
    ///
    /// # Errors
    /// As [`decrypt`](Self::decrypt), but for the checks of the plaintext.
    pub fn decrypt_bytes<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        encrypted: &EncryptedPassword,
        identity_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        check_identity_id(identity_id)?;
        let ciphertext = encrypted.padded_for(self.public.ciphertext_len())?;
        let result = match self.scheme() {
            Scheme::Pkcs1v15 => self.key.decrypt_blinded(rng, Pkcs1v15Encrypt, &ciphertext),
            Scheme::OaepSha256 => self
                .key
                .decrypt_blinded(rng, Oaep::<Sha256>::new(), &ciphertext),
            Scheme::OaepSha256Bound => {
                let label = bound_label(self.public_key_id(), identity_id);
                self.key
                    .decrypt_blinded(rng, Oaep::<Sha256>::new_with_label(label), &ciphertext)
            }
        };
        result
            .map(Zeroizing::new)
            .map_err(|e| map_rsa_error(&e, Error::Decryption))
    }
}

impl fmt::Debug for PasswordKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordKeyPair")
            .field("public_key_id", &self.public.public_key_id())
            .field("scheme", &self.scheme())
            .field("modulus_bits", &self.public.modulus_bits())
            .finish_non_exhaustive()
    }
}
