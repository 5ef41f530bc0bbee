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
use zeroize::Zeroizing;

use crate::encryption::{
    EncryptedPassword, PasswordKeyPair, PasswordSubmission, PublicKeyId, Scheme,
};
use crate::error::{Error, Violation, ViolationKind};
use crate::key_id::KeyId;
use crate::policy::{PasswordPolicy, PolicyContext};
use crate::token_key::{TokenKey, TokenKeys};

/// The MAC keys of token records: one current key, older keys still accepted.
///
/// Hand it to [`UserState::issue`](crate::UserState::issue) (which uses the current key)
/// and [`UserState::verify`](crate::UserState::verify) (which uses the key the record
/// names).
///
/// ```
/// use password_mgmt::{
///     Candidate, Error, Outcome, Purpose, Subject, TokenKey, TokenKeyRing, TokenParams,
///     UserLimits, UserState,
/// };
/// use password_mgmt::time::UtcDateTime;
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(3);
/// let (limits, now) = (UserLimits::default(), UtcDateTime::from_unix_timestamp(1_800_000_000)?);
/// let subject = Subject { tenant: "acme", user: "u", purpose: Purpose::PASSWORD_RESET };
/// let mut ring = TokenKeyRing::new(TokenKey::from_bytes(&[1; 32]));
/// let issuance = UserState::new().issue(&mut rng, &ring, &subject, &TokenParams::default(), &limits, now)?;
/// let state = UserState::decode(issuance.update().expect("issued").replacement())?;
/// let issued = issuance.stored()?;
/// let code = Candidate::new(issued.token.as_str())?;
///
/// let old = ring.rotate(TokenKey::from_bytes(&[2; 32])); // new tokens use the new key
/// let check = state.verify(&ring, &subject, &code, &limits, now)?; // the old record still verifies
/// assert!(check.update().is_some());
/// assert_eq!(check.stored(), Outcome::Accepted);
///
/// ring.retire(old); // a live record under a retired key is a clear error, not a mismatch
/// assert!(matches!(state.verify(&ring, &subject, &code, &limits, now), Err(Error::UnknownTokenKey { .. })));
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
}

impl TokenKeys for TokenKeyRing {
    fn current(&self) -> &TokenKey {
        &self.current
    }

    fn get(&self, id: KeyId) -> Option<&TokenKey> {
        core::iter::once(&self.current)
            .chain(&self.accepted)
            .find(|k| k.id() == id)
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

/// The RSA key pairs of password encryption, indexed by [`PublicKeyId`]: one current
/// (published) pair per [`Scheme`], older ones still decrypting. See the
/// [module docs](self) for a schedule.
///
/// ```
/// use password_mgmt::{NewPassword, PasswordKeyPair, PasswordKeyRing, Scheme};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// # let (pem_a, pem_b) = (include_str!("../tests/data/keys/rsa2048.pk8.pem"), include_str!("../tests/data/keys/rsa3072.pk8.pem"));
/// let mut rng = ChaCha20Rng::seed_from_u64(4);
/// let mut ring = PasswordKeyRing::new(PasswordKeyPair::from_pkcs8_pem(pem_a, Scheme::Pkcs1v15)?);
///
/// // A client fetches the current key...
/// let current = ring.current(Scheme::Pkcs1v15).expect("one current key per scheme served");
/// let fetched_id = current.public_key_id().to_string();
/// let new = NewPassword { identity_id: "abby", password: "new password" };
/// let encrypted = current.encryptor().encrypt(&mut rng, &new)?;
///
/// // ... the server rotates in the meantime ...
/// let next = PasswordKeyPair::from_pkcs8_pem(pem_b, Scheme::Pkcs1v15)?;
/// let next_id = next.public_key_id();
/// ring.add(next)?;
/// ring.set_current(next_id)?;
///
/// // ... and the client's request still decrypts, by the id it names.
/// let password = ring.decrypt(&mut rng, &fetched_id, &encrypted, "abby")?;
/// assert_eq!(password.as_str(), "new password");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
pub struct PasswordKeyRing {
    pairs: Vec<PasswordKeyPair>,
    /// The published pair of each scheme that has one (at most one per scheme).
    current: Vec<PublicKeyId>,
}

impl PasswordKeyRing {
    /// A ring with one key pair, current for its scheme.
    #[must_use]
    pub fn new(current: PasswordKeyPair) -> Self {
        let id = current.public_key_id();
        Self {
            pairs: alloc::vec![current],
            current: alloc::vec![id],
        }
    }

    fn find(&self, id: PublicKeyId) -> Option<&PasswordKeyPair> {
        self.pairs.iter().find(|p| p.public_key_id() == id)
    }

    /// Adds a key pair that decrypts but is not published (unless no pair of its scheme
    /// is: then it becomes current for its scheme). A pair already in the ring is not
    /// added twice.
    ///
    /// # Errors
    /// [`Error::Key`] with [`KeyError::SchemeConflict`](crate::KeyError::SchemeConflict)
    /// when the same key is in the ring for another scheme: one key, one scheme (or a
    /// weakness of one scheme would open the other's ciphertexts).
    pub fn add(&mut self, pair: PasswordKeyPair) -> Result<(), Error> {
        let id = pair.public_key_id();
        match self.find(id) {
            Some(held) if held.scheme() == pair.scheme() => return Ok(()),
            Some(_) => return Err(crate::error::KeyError::SchemeConflict.into()),
            None => {}
        }
        if self.current(pair.scheme()).is_none() {
            self.current.push(id);
        }
        self.pairs.push(pair);
        Ok(())
    }

    /// Publishes the key pair with this id for its scheme; the pair published before for
    /// that scheme keeps decrypting.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `publicKeyId` when no pair in the ring has it.
    pub fn set_current(&mut self, id: PublicKeyId) -> Result<(), Error> {
        let scheme = self.find(id).ok_or_else(unknown_key)?.scheme();
        let pairs = &self.pairs;
        self.current.retain(|c| {
            pairs
                .iter()
                .find(|p| p.public_key_id() == *c)
                .is_some_and(|p| p.scheme() != scheme)
        });
        self.current.push(id);
        Ok(())
    }

    /// Removes a key pair; requests naming it are refused from now on. A current pair
    /// cannot be retired (publish another first). Returns whether a pair was removed.
    pub fn retire(&mut self, id: PublicKeyId) -> bool {
        if self.current.contains(&id) {
            return false;
        }
        let before = self.pairs.len();
        self.pairs.retain(|p| p.public_key_id() != id);
        self.pairs.len() != before
    }

    /// The published key pair for `scheme`, if the ring serves it: its
    /// [`public_key_base64`](PasswordKeyPair::public_key_base64) and
    /// [`public_key_id`](PasswordKeyPair::public_key_id) go into "query password info".
    #[must_use]
    pub fn current(&self, scheme: Scheme) -> Option<&PasswordKeyPair> {
        self.current
            .iter()
            .filter_map(|id| self.find(*id))
            .find(|p| p.scheme() == scheme)
    }

    /// Every key pair in the ring, current ones first.
    pub fn pairs(&self) -> impl Iterator<Item = &PasswordKeyPair> {
        let current = self.current.iter().filter_map(|id| self.find(*id));
        let others = self
            .pairs
            .iter()
            .filter(|p| !self.current.contains(&p.public_key_id()));
        current.chain(others)
    }

    /// The key pair a request names by its `publicKeyId` text.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `publicKeyId` (a 400) when no pair in the ring has that id,
    /// whether it was retired, never existed, or is not an id at all.
    pub fn get(&self, public_key_id: &str) -> Result<&PasswordKeyPair, Error> {
        let id: PublicKeyId = public_key_id.parse().map_err(|_| unknown_key())?;
        self.find(id).ok_or_else(unknown_key)
    }

    /// The set-password flow's one call: finds the key the submission names, decrypts the
    /// password for its identity, and checks it against `policy` (with `context`).
    ///
    /// Its refusals tell a client only what it can act on, and never which step of
    /// decryption failed: every failure to decrypt (bad padding, a forged or truncated
    /// ciphertext, a plaintext that is empty, not UTF-8 or holds a control character, a
    /// bound ciphertext sent for another identity) is the one [`Error::Decryption`], so a
    /// forged ciphertext and a broken one get the same body. A password that decrypts but
    /// breaks the policy is [`Error::PolicyRefused`], listing the broken rules by counts;
    /// see the [module docs](crate::encryption) for the one bit that leaks under
    /// PKCS#1 v1.5 and not under OAEP. All map to the API's 400
    /// ([`wire::ErrorResponse::from_error`](crate::wire)).
    ///
    /// ```
    /// use password_mgmt::{
    ///     Error, NewPassword, PasswordKeyPair, PasswordKeyRing, PasswordPolicy, PasswordSubmission,
    ///     PolicyContext, Scheme,
    /// };
    /// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
    ///
    /// # let pem = include_str!("../tests/data/keys/rsa3072.pk8.pem");
    /// let mut rng = ChaCha20Rng::seed_from_u64(7);
    /// let ring = PasswordKeyRing::new(PasswordKeyPair::from_pkcs8_pem(pem, Scheme::OaepSha256Bound)?);
    /// let key = ring.current(Scheme::OaepSha256Bound).expect("served");
    /// let policy = PasswordPolicy::from_lines(["passwordMinLength is 15", "passwordMaxLength is 64"])?;
    /// let context = PolicyContext::default();
    ///
    /// let submit = |rng: &mut ChaCha20Rng, password| -> Result<String, Error> {
    ///     let encrypted = key.encryptor().encrypt(rng, &NewPassword { identity_id: "abby", password })?.to_string();
    ///     let key_id = key.public_key_id().to_string();
    ///     let submission = PasswordSubmission { identity_id: "abby", public_key_id: &key_id, encrypted_password: &encrypted };
    ///     Ok(ring.open_password(rng, &submission, &policy, &context)?.to_string())
    /// };
    /// assert_eq!(submit(&mut rng, "correct horse battery staple")?, "correct horse battery staple");
    /// assert!(matches!(submit(&mut rng, "too short"), Err(Error::PolicyRefused(_))));
    ///
    /// // A ciphertext replayed for another identity: the one decryption failure.
    /// let encrypted = key.encryptor().encrypt(&mut rng, &NewPassword { identity_id: "abby", password: "correct horse battery staple" })?.to_string();
    /// let key_id = key.public_key_id().to_string();
    /// let replay = PasswordSubmission { identity_id: "mallory", public_key_id: &key_id, encrypted_password: &encrypted };
    /// assert_eq!(ring.open_password(&mut rng, &replay, &policy, &context).unwrap_err(), Error::Decryption);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// * [`Error::Invalid`] naming `publicKeyId` (no such key here), `encryptedPassword`
    ///   (not base64, empty, longer than the modulus) or `identityId` (blank, too long):
    ///   all public facts about the request;
    /// * [`Error::Decryption`] for every failure to decrypt;
    /// * [`Error::PolicyRefused`] when the password breaks the policy;
    /// * [`Error::Rng`] when the RNG fails.
    pub fn open_password<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        submission: &PasswordSubmission<'_>,
        policy: &PasswordPolicy,
        context: &PolicyContext<'_>,
    ) -> Result<Zeroizing<String>, Error> {
        let pair = self.get(submission.public_key_id)?;
        let encrypted = EncryptedPassword::from_base64(submission.encrypted_password)?;
        let password = pair.decrypt(rng, &encrypted, submission.identity_id)?;
        policy.enforce(&password, context)?;
        Ok(password)
    }

    /// Decrypts a password for `identity_id` with the key pair the request names.
    ///
    /// # Errors
    /// As [`get`](Self::get), then as [`PasswordKeyPair::decrypt`].
    pub fn decrypt<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        public_key_id: &str,
        encrypted: &EncryptedPassword,
        identity_id: &str,
    ) -> Result<Zeroizing<String>, Error> {
        self.get(public_key_id)?
            .decrypt(rng, encrypted, identity_id)
    }
}

impl fmt::Debug for PasswordKeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others: Vec<PublicKeyId> = self
            .pairs
            .iter()
            .map(PasswordKeyPair::public_key_id)
            .filter(|id| !self.current.contains(id))
            .collect();
        f.debug_struct("PasswordKeyRing")
            .field("current", &self.current)
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
