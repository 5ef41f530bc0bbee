//! Key rotation: a [`TokenKeyRing`] for the MAC keys of token records and a
//! [`PasswordKeyRing`] for the RSA keys of password encryption.
//!
//! Each ring has one *current* key (used to issue tokens, or published in "query password
//! info") and older keys that are still *accepted* for the values made under them. A value
//! made under a key no longer in the ring is a clear error, never a mismatch.
//!
//! # A rotation schedule that fails no one
//! Token MAC keys (tokens live at most 60 minutes):
//! 1. Put the new key on every node as an accepted, not current, key. Wait until every node
//!    has it.
//! 2. Make it current everywhere ([`TokenKeyRing::rotate`]): new tokens use it, records
//!    made a moment ago under the old key still verify.
//! 3. Retire the old key ([`TokenKeyRing::retire`]) once the longest token lifetime (60
//!    minutes, or your org's `digitTokenDurationMinutes`) has passed since step 2.
//!
//! Password RSA keys (clients fetch `publicKey`, then send the password encrypted under it):
//! 1. Generate the next key pair and add it to every node's ring ([`PasswordKeyRing::add`])
//!    without publishing it. Wait until every node has it.
//! 2. Publish it ([`PasswordKeyRing::set_current`]). A client that fetched the previous key
//!    a moment ago still succeeds: the request names the key by `publicKeyId`, and the
//!    previous key is still in the ring.
//! 3. Retire the previous key ([`PasswordKeyRing::retire`]) only after the longest time a
//!    client may hold a fetched key before using it (say a day, if clients cache password
//!    info), since step 2. A client later than that gets a 400 naming `publicKeyId` and
//!    fetches the key again.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use rand_core::TryCryptoRng;
use time::UtcDateTime;
use zeroize::Zeroizing;

use crate::encryption::{EncryptedPassword, PasswordKeyPair, PublicKeyId, Scheme};
use crate::error::{Error, Violation, ViolationKind};
use crate::guess_budget::{BudgetedVerification, GuessBudget, GuessLimits};
use crate::issued::{IssuedToken, Outcome, Verification};
use crate::token_key::{KeyId, TokenKey};

/// The MAC keys of token records: one current key, older keys still accepted.
///
/// ```
/// use password_mgmt::{issue, Outcome, TokenKey, TokenKeyRing, TokenParams};
/// use password_mgmt::time::UtcDateTime;
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(3);
/// let now = UtcDateTime::from_unix_timestamp(1_800_000_000)?;
/// let mut ring = TokenKeyRing::new(TokenKey::from_bytes(&[1; 32]));
/// let issued = issue(&mut rng, ring.current(), "u", &TokenParams::default(), now)?;
///
/// let old = ring.rotate(TokenKey::from_bytes(&[2; 32])); // new tokens use the new key
/// let key = ring.key_for(&issued.record)?;               // the old record still verifies
/// assert_eq!(issued.record.verify(key, "u", issued.token.as_str(), now)?.outcome, Outcome::Accepted);
///
/// ring.retire(old);
/// assert!(ring.key_for(&issued.record).is_err()); // a clear error, not a mismatch
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenKeyRing {
    current: TokenKey,
    accepted: Vec<TokenKey>,
}

impl TokenKeyRing {
    /// A ring with one key, current.
    #[must_use]
    pub const fn new(current: TokenKey) -> Self {
        Self {
            current,
            accepted: Vec::new(),
        }
    }

    /// Adds a key that is accepted for verifying but not used for issuing (a key about to
    /// become current, or one recently retired from issuing). A key already in the ring is
    /// not added twice.
    pub fn accept(&mut self, key: TokenKey) {
        if !self.contains(key.id()) {
            self.accepted.push(key);
        }
    }

    /// Makes `key` current; the previous current key stays accepted. Returns the previous
    /// key's id, to retire later.
    pub fn rotate(&mut self, key: TokenKey) -> KeyId {
        let id = key.id();
        self.accepted.retain(|k| k.id() != id);
        let previous = core::mem::replace(&mut self.current, key);
        let previous_id = previous.id();
        if previous_id != id {
            self.accepted.push(previous);
        }
        previous_id
    }

    /// Removes an accepted key; records made under it are refused from now on. The current
    /// key cannot be retired (rotate first). Returns whether a key was removed.
    pub fn retire(&mut self, id: KeyId) -> bool {
        let before = self.accepted.len();
        self.accepted.retain(|k| k.id() != id);
        self.accepted.len() != before
    }

    /// The key to issue with.
    #[must_use]
    pub const fn current(&self) -> &TokenKey {
        &self.current
    }

    /// Whether a key with this id is in the ring (current or accepted).
    #[must_use]
    pub fn contains(&self, id: KeyId) -> bool {
        self.current.id() == id || self.accepted.iter().any(|k| k.id() == id)
    }

    /// The key the record was made under.
    ///
    /// # Errors
    /// [`Error::UnknownTokenKey`] when that key is not in the ring (retired, or never
    /// known to this node).
    pub fn key_for(&self, record: &IssuedToken) -> Result<&TokenKey, Error> {
        let id = record.key_id();
        core::iter::once(&self.current)
            .chain(&self.accepted)
            .find(|k| k.id() == id)
            .ok_or(Error::UnknownTokenKey { record: id })
    }

    /// [`IssuedToken::verify`] with the key the record names. A record whose key was
    /// retired but which has expired anyway is [`Outcome::Expired`], as the user should
    /// hear, not a key error.
    ///
    /// # Errors
    /// [`Error::UnknownTokenKey`] for a live record whose key is not in the ring, then as
    /// [`IssuedToken::verify`].
    pub fn verify(
        &self,
        record: &IssuedToken,
        user_id: &str,
        candidate: &str,
        now: UtcDateTime,
    ) -> Result<Verification, Error> {
        match self.key_for(record) {
            Ok(key) => record.verify(key, user_id, candidate, now),
            Err(_) if now >= record.expires_at() => Ok(Verification {
                outcome: Outcome::Expired,
                record: record.clone(),
            }),
            Err(e) => Err(e),
        }
    }

    /// [`IssuedToken::verify_with_budget`] with the key the record names; expired records
    /// under retired keys as in [`verify`](Self::verify).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_with_budget(
        &self,
        record: &IssuedToken,
        budget: &GuessBudget,
        limits: &GuessLimits,
        user_id: &str,
        candidate: &str,
        now: UtcDateTime,
    ) -> Result<BudgetedVerification, Error> {
        match self.key_for(record) {
            Ok(key) => record.verify_with_budget(key, budget, limits, user_id, candidate, now),
            Err(_) if now >= record.expires_at() => Ok(BudgetedVerification {
                outcome: Outcome::Expired,
                record: record.clone(),
                budget: *budget,
            }),
            Err(e) => Err(e),
        }
    }
}

impl fmt::Debug for TokenKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let accepted: Vec<KeyId> = self.accepted.iter().map(TokenKey::id).collect();
        f.debug_struct("TokenKeyRing")
            .field("current", &self.current.id())
            .field("accepted", &accepted)
            .finish()
    }
}

/// The RSA key pairs of password encryption, indexed by [`PublicKeyId`]: the current one
/// is published, older ones still decrypt. See the [module docs](self) for a schedule.
///
/// ```
/// use password_mgmt::{PasswordKeyPair, PasswordKeyRing, Scheme};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// # let (pem_a, pem_b) = (include_str!("../tests/data/keys/rsa2048.pk8.pem"), include_str!("../tests/data/keys/rsa3072.pk8.pem"));
/// let mut rng = ChaCha20Rng::seed_from_u64(4);
/// let mut ring = PasswordKeyRing::new(PasswordKeyPair::from_pkcs8_pem(pem_a)?);
///
/// // A client fetches the current key...
/// let fetched_id = ring.current().public_key_id().to_string();
/// let encrypted = ring.current().encryptor().encrypt(&mut rng, "new password", Scheme::Pkcs1v15)?;
///
/// // ... the server rotates in the meantime ...
/// let next = PasswordKeyPair::from_pkcs8_pem(pem_b)?;
/// let next_id = next.public_key_id();
/// ring.add(next);
/// ring.set_current(next_id)?;
///
/// // ... and the client's request still decrypts, by the id it names.
/// let password = ring.decrypt(&mut rng, &fetched_id, &encrypted, Scheme::Pkcs1v15)?;
/// assert_eq!(password.as_str(), "new password");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
pub struct PasswordKeyRing {
    current: PasswordKeyPair,
    others: Vec<PasswordKeyPair>,
}

impl PasswordKeyRing {
    /// A ring with one key pair, current.
    #[must_use]
    pub const fn new(current: PasswordKeyPair) -> Self {
        Self {
            current,
            others: Vec::new(),
        }
    }

    fn pairs(&self) -> impl Iterator<Item = &PasswordKeyPair> {
        core::iter::once(&self.current).chain(&self.others)
    }

    /// Adds a key pair that decrypts but is not published. A pair whose id is already in
    /// the ring is not added twice.
    pub fn add(&mut self, pair: PasswordKeyPair) {
        let id = pair.public_key_id();
        if !self.pairs().any(|p| p.public_key_id() == id) {
            self.others.push(pair);
        }
    }

    /// Publishes the key pair with this id; the previously published one keeps decrypting.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `publicKeyId` when no pair in the ring has it.
    pub fn set_current(&mut self, id: PublicKeyId) -> Result<(), Error> {
        if self.current.public_key_id() == id {
            return Ok(());
        }
        let slot = self
            .others
            .iter_mut()
            .find(|p| p.public_key_id() == id)
            .ok_or_else(unknown_key)?;
        core::mem::swap(slot, &mut self.current);
        Ok(())
    }

    /// Removes a key pair; requests naming it are refused from now on. The current pair
    /// cannot be retired (publish another first). Returns whether a pair was removed.
    pub fn retire(&mut self, id: PublicKeyId) -> bool {
        let before = self.others.len();
        self.others.retain(|p| p.public_key_id() != id);
        self.others.len() != before
    }

    /// The published key pair: its [`public_key_base64`](PasswordKeyPair::public_key_base64)
    /// and [`public_key_id`](PasswordKeyPair::public_key_id) go into "query password info".
    #[must_use]
    pub const fn current(&self) -> &PasswordKeyPair {
        &self.current
    }

    /// The key pair a request names by its `publicKeyId` text.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `publicKeyId` (a 400) when no pair in the ring has that id,
    /// whether it was retired, never existed, or is not an id at all.
    pub fn get(&self, public_key_id: &str) -> Result<&PasswordKeyPair, Error> {
        let id: PublicKeyId = public_key_id.parse().map_err(|_| unknown_key())?;
        self.pairs()
            .find(|p| p.public_key_id() == id)
            .ok_or_else(unknown_key)
    }

    /// Decrypts a password with the key pair the request names.
    ///
    /// # Errors
    /// As [`get`](Self::get), then as [`PasswordKeyPair::decrypt`].
    pub fn decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        public_key_id: &str,
        encrypted: &EncryptedPassword,
        scheme: Scheme,
    ) -> Result<Zeroizing<String>, Error> {
        self.get(public_key_id)?.decrypt(rng, encrypted, scheme)
    }
}

impl fmt::Debug for PasswordKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others: Vec<PublicKeyId> = self
            .others
            .iter()
            .map(PasswordKeyPair::public_key_id)
            .collect();
        f.debug_struct("PasswordKeyRing")
            .field("current", &self.current.public_key_id())
            .field("others", &others)
            .finish()
    }
}

fn unknown_key() -> Error {
    Violation::new(
        "publicKeyId",
        ViolationKind::Unknown {
            expected: "the id of a key this server holds (fetch the current key again)",
        },
    )
    .into()
}
