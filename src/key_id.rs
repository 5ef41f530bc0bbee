//! [`KeyId`]: the public name of a token MAC key. Below every other module, so that errors
//! and records can name keys without depending on the keys themselves.

use core::fmt;

/// The public id of a [`TokenKey`](crate::TokenKey): the first 8 bytes of
/// `HMAC-SHA256(key, tag)`.
///
/// It names the key a record was made under, so that services can rotate keys and tell a
/// record made under another key from a wrong guess. It is derived one-way from the key,
/// but it is a check value: whoever sees it (it is in every stored state, and in
/// [`Error::UnknownTokenKey`](crate::Error::UnknownTokenKey) messages) can test guesses of
/// the key against it. That is harmless for a key of 32 uniformly random bytes
/// ([`TokenKey::generate`](crate::TokenKey::generate)) and fatal for a password or other
/// guessable key. Two different keys share an id with probability `2^-64`.
///
/// ```
/// use password_mgmt::{KeyId, TokenKey};
///
/// let id = TokenKey::from_bytes(&[7; 32]).id();
/// assert_eq!(KeyId::from_bytes(id.to_bytes()), id);
/// assert_eq!(id.to_string().len(), 16); // lower-case hex
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; KeyId::LEN]);

impl KeyId {
    /// Length in bytes.
    pub const LEN: usize = 8;

    /// A key id from its bytes (as stored).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// The id's bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; Self::LEN] {
        self.0
    }
}

impl fmt::Display for KeyId {
    /// Lower-case hex, 16 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}
