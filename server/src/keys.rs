//! Key files: the RSA key ring for passwords in transit, the token MAC key ring, and the
//! server's own JWT signing key. Every error names the setting and the file, never key
//! material. Rotation is by restart: the previous keys listed in the config stay accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use password_mgmt::rsa::pkcs8::LineEnding;
use password_mgmt::rsa::pkcs8::der::SecretDocument;
use password_mgmt::zeroize::Zeroizing;
use password_mgmt::{PasswordKeyPair, PasswordKeyRing, Scheme, TokenKey, TokenKeyRing};

use crate::config::{ConfigError, env_name};
use crate::entropy::Entropy;

fn read_secret(setting: &str, path: &Path) -> Result<Zeroizing<String>, ConfigError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| {
            ConfigError::new(format!(
                "{setting} ({}): cannot read {}: {e}",
                env_name(setting),
                path.display()
            ))
        })
}

/// Reads one RSA PKCS#8 PEM key pair, for `scheme`.
///
/// # Errors
/// [`ConfigError`] naming `setting` and the file.
pub fn read_password_key(
    setting: &str,
    path: &Path,
    scheme: Scheme,
) -> Result<PasswordKeyPair, ConfigError> {
    let pem = read_secret(setting, path)?;
    PasswordKeyPair::from_pkcs8_pem(&pem, scheme).map_err(|e| {
        ConfigError::new(format!(
            "{setting}: {} is not a usable key: {e}",
            path.display()
        ))
    })
}

/// The password key ring: `current` published, `previous` still accepted, all serving
/// `scheme`.
///
/// # Errors
/// As [`read_password_key`].
pub fn password_ring(
    current: &Path,
    previous: &[PathBuf],
    scheme: Scheme,
) -> Result<PasswordKeyRing, ConfigError> {
    let mut ring = PasswordKeyRing::new(read_password_key("keys.password_key", current, scheme)?);
    for path in previous {
        ring.add(read_password_key("keys.password_previous", path, scheme)?)
            .map_err(|e| ConfigError::new(format!("keys.password_previous: {e}")))?;
    }
    Ok(ring)
}

/// Reads a token MAC key file: 32 bytes in base64 (white space ignored).
///
/// # Errors
/// [`ConfigError`] naming `setting` and the file.
pub fn read_token_key(setting: &str, path: &Path) -> Result<TokenKey, ConfigError> {
    let text = read_secret(setting, path)?;
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    let bytes = Base64::decode_vec(&compact)
        .map(Zeroizing::new)
        .map_err(|_| ConfigError::new(format!("{setting}: {} is not base64", path.display())))?;
    TokenKey::from_slice(&bytes).map_err(|_| {
        ConfigError::new(format!(
            "{setting}: {} must hold exactly 32 bytes",
            path.display()
        ))
    })
}

/// The token key ring: `current` issues, `previous` still verify.
///
/// # Errors
/// As [`read_token_key`].
pub fn token_ring(current: &Path, previous: &[PathBuf]) -> Result<TokenKeyRing, ConfigError> {
    let mut ring = TokenKeyRing::new(read_token_key("keys.token_mac_key", current)?);
    for path in previous {
        ring.accept(read_token_key("keys.token_mac_previous", path)?);
    }
    Ok(ring)
}

/// A new token MAC key file's contents: 32 random bytes in base64, and a newline.
///
/// # Errors
/// When the RNG fails.
pub fn new_token_key_file(
    rng: &mut Entropy,
) -> Result<Zeroizing<String>, crate::entropy::EntropyError> {
    let bytes = Zeroizing::new(rng.bytes::<32>()?);
    Ok(Zeroizing::new(format!(
        "{}\n",
        Base64::encode_string(&*bytes)
    )))
}

/// The fixed DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410), followed by the
/// 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The server's own JWT signing key (Ed25519, `EdDSA`), with its public JWK.
pub struct SigningKey {
    encoding: EncodingKey,
    jwk: Jwk,
    kid: String,
}

impl SigningKey {
    /// Reads an Ed25519 PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey
    /// -algorithm ed25519` writes it).
    ///
    /// # Errors
    /// [`ConfigError`] naming `jwt.signing_key` for another format or algorithm.
    pub fn from_pkcs8_pem(path: &Path, pem: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(format!(
                "jwt.signing_key: {} is not an Ed25519 PKCS#8 PEM private key",
                path.display()
            ))
        };
        let (label, doc) = SecretDocument::from_pem(pem).map_err(|_| bad())?;
        let der = doc.as_bytes();
        if label != "PRIVATE KEY" || der.len() != 48 || !der.starts_with(&ED25519_PKCS8_PREFIX) {
            return Err(bad());
        }
        Self::from_pkcs8_der(der).map_err(|_| bad())
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        let encoding = EncodingKey::from_ed_der(der);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(Self { encoding, jwk, kid })
    }

    /// Reads the key file `jwt.signing_key` names.
    ///
    /// # Errors
    /// As [`from_pkcs8_pem`](Self::from_pkcs8_pem).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let pem = read_secret("jwt.signing_key", path)?;
        Self::from_pkcs8_pem(path, &pem)
    }

    /// A fresh key, and its PKCS#8 PEM to write to a file.
    ///
    /// # Errors
    /// [`ConfigError`] when the RNG fails.
    pub fn generate(rng: &mut Entropy) -> Result<(Self, Zeroizing<String>), ConfigError> {
        let seed = Zeroizing::new(
            rng.bytes::<32>()
                .map_err(|e| ConfigError::new(format!("cannot generate a signing key: {e}")))?,
        );
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&ED25519_PKCS8_PREFIX);
        der.extend_from_slice(&*seed);
        let doc = SecretDocument::try_from(der.as_slice())
            .map_err(|e| ConfigError::new(format!("cannot encode a signing key: {e}")))?;
        let pem = doc
            .to_pem("PRIVATE KEY", LineEnding::LF)
            .map_err(|e| ConfigError::new(format!("cannot encode a signing key: {e}")))?;
        let key = Self::from_pkcs8_der(&der)
            .map_err(|e| ConfigError::new(format!("cannot use a new signing key: {e}")))?;
        Ok((key, pem))
    }

    /// The key id (`kid`): the RFC 7638 thumbprint of the public key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (with `kid`, `alg` and `use`).
    #[must_use]
    pub const fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The private key, to sign with.
    #[must_use]
    pub const fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
