//! The MAC key under which token records are made: [`TokenKey`].

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand_core::TryCryptoRng;
use sha2::Sha256;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, RngError, Violation, ViolationKind};
use crate::key_id::KeyId;

/// Domain tag of the key-id derivation; token MACs use a different tag.
const KEY_ID_TAG: &[u8] = b"password-mgmt/v1/key-id\0";

/// Domain tag of token MACs (version 2: they bind tenant and purpose), zero-padded to one
/// SHA-256 block so that the keyed state absorbs it once, at key creation: each token MAC
/// then hashes only its own fields, one block for a short subject.
pub(crate) const TOKEN_MAC_TAG: &[u8; 64] =
    b"password-mgmt/v2/digit-token\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// A 32-byte HMAC-SHA256 key that makes and checks [`IssuedToken`](crate::IssuedToken) records.
///
/// A secret: no `Display`, a `Debug` that shows only the [`KeyId`], no `Clone`, and wiped on
/// drop. It keeps the HMAC state with the key and the token MAC's domain tag already
/// absorbed (inner and outer pads, one tag block), so each MAC costs three SHA-256
/// compressions fewer than keying afresh. That state is as
/// secret as the key; the SHA-256 states inside it are wiped when they are dropped (the
/// `zeroize` feature of `sha2`).
///
/// The key must be 32 uniformly random bytes (from [`generate`](Self::generate) or a
/// secret manager), never a password: see [`KeyId`]. Keep one key per deployment in your
/// secret store and load it with
/// [`from_bytes`](Self::from_bytes) or [`from_slice`](Self::from_slice) on every node.
///
/// ```
/// use password_mgmt::TokenKey;
///
/// let key = TokenKey::from_bytes(&[7u8; 32]);
/// assert_eq!(key.id().to_string().len(), 16); // 8 bytes in hex
/// assert!(format!("{key:?}").starts_with("TokenKey { id: "));
/// ```
pub struct TokenKey {
    /// Keyed, with [`TOKEN_MAC_TAG`] absorbed.
    token_mac: Hmac<Sha256>,
    id: KeyId,
}

impl TokenKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A key from its 32 bytes. The caller keeps (and should wipe) its own copy.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; Self::LEN]) -> Self {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104), so
        // keying with the padded block is the same MAC and needs no fallible call.
        let mut block = Zeroizing::new([0u8; 64]);
        fill_prefix(block.as_mut_slice(), bytes);
        let mac = <Hmac<Sha256> as KeyInit>::new((&*block).into());
        let mut id_mac = mac.clone();
        id_mac.update(KEY_ID_TAG);
        let digest: [u8; 32] = id_mac.finalize().into_bytes().into();
        // A 32-byte digest always has an 8-byte head; the fallback is never taken.
        let id = digest.first_chunk().copied().unwrap_or_default();
        let mut token_mac = mac;
        token_mac.update(TOKEN_MAC_TAG);
        Self {
            token_mac,
            id: KeyId::from_bytes(id),
        }
    }

    /// A key from a byte slice, which must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `tokenKey` when the slice is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: &[u8; Self::LEN] = bytes.try_into().map_err(|_| {
            Violation::new(
                "tokenKey",
                ViolationKind::WrongLength {
                    expected: Self::LEN,
                    found: bytes.len(),
                },
            )
        })?;
        Ok(Self::from_bytes(array))
    }

    /// A fresh random key from a cryptographic RNG (infallible ones included).
    ///
    /// # Errors
    /// [`Error::Rng`] when a fallible RNG fails.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; Self::LEN]);
        rng.try_fill_bytes(bytes.as_mut_slice())
            .map_err(|_| Error::Rng(RngError::Failed))?;
        Ok(Self::from_bytes(&bytes))
    }

    /// A fresh random key from the operating system's RNG.
    ///
    /// # Errors
    /// [`Error::Rng`] when the OS RNG fails.
    #[cfg(feature = "getrandom")]
    pub fn from_os_rng() -> Result<Self, Error> {
        Self::generate(&mut getrandom::SysRng)
    }

    /// The public id of this key, recorded in every record it makes.
    #[must_use]
    pub const fn id(&self) -> KeyId {
        self.id
    }

    /// The keyed HMAC state with [`TOKEN_MAC_TAG`] absorbed, ready for a token MAC's fields.
    pub(crate) fn token_mac(&self) -> Hmac<Sha256> {
        self.token_mac.clone()
    }
}

/// Copies `src` into the front of `dst` (`src` is the shorter).
fn fill_prefix(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

// `Hmac<Sha256>` holds two SHA-256 cores and a block buffer; each wipes itself in its own
// `Drop` (the `zeroize` feature of `sha2`, which turns on `digest`'s and `block-buffer`'s).
impl ZeroizeOnDrop for TokenKey {}

// Fails to compile if that feature is ever lost.
const _: () = {
    const fn wipes_on_drop<T: ZeroizeOnDrop>() {}
    wipes_on_drop::<sha2::block_api::Sha256VarCore>();
    wipes_on_drop::<hmac::digest::block_api::Buffer<sha2::block_api::Sha256VarCore>>();
};

/// The token MAC keys a service holds: one to issue with, any number to verify with.
///
/// Implemented by a single [`TokenKey`] and by a [`TokenKeyRing`](crate::TokenKeyRing);
/// every call that issues or verifies takes either.
pub trait TokenKeys: sealed::Sealed {
    /// The key new tokens are made under.
    fn current(&self) -> &TokenKey;

    /// The key with this id, if held.
    fn get(&self, id: KeyId) -> Option<&TokenKey>;
}

impl TokenKeys for TokenKey {
    fn current(&self) -> &TokenKey {
        self
    }

    fn get(&self, id: KeyId) -> Option<&TokenKey> {
        (self.id == id).then_some(self)
    }
}

pub(crate) mod sealed {
    /// Only this crate's key holders implement [`TokenKeys`](super::TokenKeys).
    #[allow(
        unreachable_pub,
        reason = "a sealed trait: public but unnameable outside"
    )]
    pub trait Sealed {}

    impl Sealed for super::TokenKey {}
    impl Sealed for crate::key_ring::TokenKeyRing {}
}
