//! Numeric tokens: [`TokenLength`] (6 to 18 digits), the secret [`DigitToken`], and the
//! [`Candidate`] a user types.
//!
//! # How a token is drawn
//! A token of `n` digits is a uniform integer in `[0, 10^n)`, written with leading zeros.
//! Each draw takes one 64-bit word `x` from the caller's RNG and keeps it only if
//! `x < ZONE`, where `ZONE = 2^64 - (2^64 mod 10^n)` is the largest multiple of `10^n` that
//! fits below `2^64`. Every residue modulo `10^n` then has exactly `ZONE / 10^n` preimages,
//! so the result has no modulo bias; no floating point is involved. The `n` low decimal
//! digits of an accepted `x` are peeled off with the constant divisor 10 (which compilers
//! turn into a multiplication on common 64-bit targets, so its timing does not depend on
//! the digits); they *are* `x mod 10^n`.
//!
//! The chance that a draw is rejected is `(2^64 mod 10^n) / 2^64`: about `2.4e-2` for 18
//! digits and below `1e-13` for 6. The loop gives up after [`DigitToken::MAX_DRAWS`] draws
//! with [`RngError::Stuck`]; a working RNG gets there with probability below `10^-100`.
//!
//! What is public: the token's length, and how many words were drawn (which is independent
//! of the value finally accepted).

use core::fmt;

use rand_core::{CryptoRng, TryCryptoRng};
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, RngError, Violation, ViolationKind, check_range};

/// The number of digits in a token: 6 to 18 inclusive (the API's `length`).
///
/// ```
/// use password_mgmt::TokenLength;
///
/// assert_eq!(TokenLength::new(8)?.get(), 8);
/// assert_eq!(TokenLength::default(), TokenLength::DEFAULT);
/// assert!(TokenLength::new(19).is_err());
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenLength(u8);

impl TokenLength {
    /// The shortest token: 6 digits.
    pub const MIN: Self = Self(6);
    /// The longest token: 18 digits, the API's maximum.
    pub const MAX: Self = Self(18);
    /// The API's default: 6 digits.
    pub const DEFAULT: Self = Self(6);
    /// The API's name for this value in a token request.
    pub(crate) const FIELD: &'static str = "length";

    /// A token length of `digits` digits.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `length` and the range 6..=18 when `digits` is outside it.
    pub fn new(digits: u8) -> Result<Self, Error> {
        Self::checked(Self::FIELD, i64::from(digits)).map_err(Error::from)
    }

    /// Checks a raw caller value, naming `field` in the violation.
    pub(crate) fn checked(field: &'static str, digits: i64) -> Result<Self, Violation> {
        check_range(field, digits, Self::MIN.0, Self::MAX.0).map(Self)
    }

    /// The number of digits.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// `2^64 - (2^64 mod 10^n)`: draws at or above it are rejected.
    pub(crate) const fn zone(self) -> u64 {
        #[allow(
            clippy::indexing_slicing,
            reason = "self.0 <= 18 by construction; ZONES has 19 entries"
        )]
        let zone = ZONES[self.0 as usize];
        zone
    }
}

/// `ZONES[n] = u64::MAX - (u64::MAX % 10^n)`, computed at compile time (a table lookup
/// instead of a 64-bit division on every draw).
///
/// `u64::MAX % m == (2^64 - 1) mod m == (2^64 mod m) - 1`, because 2^64 is never a multiple
/// of 10^n (it has no factor 5). Hence `u64::MAX - (u64::MAX % m)` is exactly
/// `2^64 - (2^64 mod m)`, the largest multiple of `m` that is at most `2^64 - 1`. A unit
/// test checks every entry against 128-bit arithmetic.
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "evaluated at compile time over 19 fixed entries; 10^n >= 1"
)]
const ZONES: [u64; 19] = {
    let mut zones = [0u64; 19];
    let mut m = 1u64;
    let mut n = 0;
    while n < zones.len() {
        zones[n] = u64::MAX - (u64::MAX % m);
        if n < 18 {
            m *= 10;
        }
        n += 1;
    }
    zones
};

impl Default for TokenLength {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<i64> for TokenLength {
    type Error = Error;

    /// # Errors
    /// As [`TokenLength::new`].
    fn try_from(digits: i64) -> Result<Self, Error> {
        Self::checked(Self::FIELD, digits).map_err(Error::from)
    }
}

impl fmt::Display for TokenLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} digits", self.0)
    }
}

/// A numeric one-time token: exactly [`TokenLength`] ASCII digits, leading zeros kept.
///
/// A secret. It has no `Display`, its `Debug` shows only the length, equality is
/// constant-time ([`ConstantTimeEq`]; there is deliberately no `PartialEq`), it cannot be
/// cloned, and its digits are wiped when it is dropped. Read it with
/// [`as_str`](Self::as_str) to hand it to the delivery channel (mail, SMS, help desk).
///
/// It lives on the stack: generating one never allocates.
///
/// ```
/// use password_mgmt::{DigitToken, TokenLength};
/// use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
///
/// let mut rng = ChaCha20Rng::seed_from_u64(7);
/// let token = DigitToken::generate(&mut rng, TokenLength::new(8)?)?;
/// assert_eq!(token.as_str().len(), 8);
/// assert!(token.as_str().bytes().all(|b| b.is_ascii_digit()));
/// assert_eq!(format!("{token:?}"), "DigitToken { length: 8, .. }");
/// # Ok::<(), password_mgmt::Error>(())
/// ```
pub struct DigitToken {
    /// ASCII digits in `[..len]`; zeros after.
    digits: [u8; Self::CAPACITY],
    len: TokenLength,
}

impl DigitToken {
    /// The most draws one token may take before the RNG is declared stuck.
    pub const MAX_DRAWS: u32 = 64;
    const CAPACITY: usize = TokenLength::MAX.0 as usize;

    /// Draws a uniformly random token of `len` digits from an infallible cryptographic RNG.
    ///
    /// # Errors
    /// [`Error::Rng`] with [`RngError::Stuck`] if the RNG returns [`Self::MAX_DRAWS`]
    /// unusable words in a row (for a working RNG, probability below `10^-100`).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, len: TokenLength) -> Result<Self, Error> {
        Self::try_generate(rng, len)
    }

    /// Draws a uniformly random token of `len` digits from a fallible cryptographic RNG
    /// (for example `getrandom::SysRng`).
    ///
    /// # Errors
    /// [`Error::Rng`]: [`RngError::Failed`] when the RNG reports an error, and
    /// [`RngError::Stuck`] as for [`generate`](Self::generate).
    pub fn try_generate<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        len: TokenLength,
    ) -> Result<Self, Error> {
        let zone = len.zone();
        for _ in 0..Self::MAX_DRAWS {
            let mut x = rng
                .try_next_u64()
                .map_err(|_| Error::Rng(RngError::Failed))?;
            if x < zone {
                let token = Self::from_low_digits(x, len);
                x.zeroize();
                return Ok(token);
            }
        }
        Err(Error::Rng(RngError::Stuck))
    }

    /// Draws a token from the operating system's RNG.
    ///
    /// # Errors
    /// As [`try_generate`](Self::try_generate).
    #[cfg(feature = "getrandom")]
    pub fn from_os_rng(len: TokenLength) -> Result<Self, Error> {
        Self::try_generate(&mut getrandom::SysRng, len)
    }

    /// The `len` low decimal digits of `x`, most significant first.
    ///
    /// Beyond 9 digits, `x` is split at `10^9` (a constant divisor, so a multiplication)
    /// and the two halves are peeled independently: two short dependency chains instead
    /// of one long one.
    fn from_low_digits(x: u64, len: TokenLength) -> Self {
        const SPLIT: u64 = 1_000_000_000;
        let mut digits = [0u8; Self::CAPACITY];
        let n = usize::from(len.get());
        if let Some((head, tail)) = digits
            .get_mut(..n)
            .and_then(|d| d.split_at_mut_checked(n.saturating_sub(9)))
        {
            let (mut high, mut low) = if head.is_empty() {
                (0, x)
            } else {
                (x / SPLIT, x % SPLIT)
            };
            peel(tail, &mut low);
            peel(head, &mut high);
            high.zeroize();
            low.zeroize();
        }
        Self { digits, len }
    }

    /// The digits, e.g. `"09087713"`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The first `len` bytes are ASCII digits by construction, so both steps succeed;
        // the empty fallbacks exist only because the library never panics.
        let bytes = self
            .digits
            .get(..usize::from(self.len.get()))
            .unwrap_or_default();
        core::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The digits as ASCII bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.as_str().as_bytes()
    }

    /// The number of digits.
    #[must_use]
    pub const fn len(&self) -> TokenLength {
        self.len
    }
}

/// Writes the `out.len()` low decimal digits of `x` into `out`, most significant first,
/// dividing by the constant 10 only.
fn peel(out: &mut [u8], x: &mut u64) {
    for d in out.iter_mut().rev() {
        // `x % 10 < 10`, so the sum is an ASCII digit and the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::arithmetic_side_effects)]
        {
            *d = b'0' + (*x % 10) as u8;
            *x /= 10;
        }
    }
}

impl ConstantTimeEq for DigitToken {
    /// Constant-time in the digits; the lengths are public and compared as well.
    fn ct_eq(&self, other: &Self) -> Choice {
        self.len.get().ct_eq(&other.len.get())
            & self.digits.as_slice().ct_eq(other.digits.as_slice())
    }
}

impl fmt::Debug for DigitToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigitToken")
            .field("length", &self.len.get())
            .finish_non_exhaustive()
    }
}

impl Drop for DigitToken {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl ZeroizeOnDrop for DigitToken {}

/// What a user typed as a code: any text up to [`MAX_LEN`](Self::MAX_LEN) bytes.
///
/// A type of its own so that it cannot be swapped with a user id at a call site. Any
/// text is accepted, not only digits, so that a malformed code still reaches verification
/// and counts as a failed attempt ([`Outcome::Malformed`](crate::Outcome::Malformed));
/// only text longer than the bound is refused outright, since it can never be a token.
/// Nothing is normalised: strip spaces or dashes the user may type before you build it, if
/// you want to forgive them.
///
/// It may be the token itself, so its `Debug` shows only the length.
///
/// ```
/// use password_mgmt::Candidate;
///
/// let typed = Candidate::new("0908 7713")?; // malformed, but an attempt all the same
/// assert_eq!(format!("{typed:?}"), "Candidate { length: 9, .. }");
/// assert!(Candidate::new(&"1".repeat(65)).is_err());
/// # Ok::<(), password_mgmt::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Candidate<'a>(&'a str);

impl<'a> Candidate<'a> {
    /// The longest candidate accepted, in bytes of UTF-8.
    pub const MAX_LEN: usize = 64;

    /// The text a user typed.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `digitToken` when `text` is longer than
    /// [`MAX_LEN`](Self::MAX_LEN) bytes.
    pub fn new(text: &'a str) -> Result<Self, Error> {
        if text.len() > Self::MAX_LEN {
            return Err(Violation::new(
                "digitToken",
                ViolationKind::TooLong {
                    max: Self::MAX_LEN,
                    found: text.len(),
                },
            )
            .into());
        }
        Ok(Self(text))
    }

    /// The text's bytes.
    pub(crate) const fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("length", &self.0.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn zone_is_the_largest_multiple_of_the_modulus_below_2_pow_64() {
        for n in TokenLength::MIN.0..=TokenLength::MAX.0 {
            let len = TokenLength(n);
            let m = u128::from(10u64.pow(u32::from(n)));
            let zone = u128::from(len.zone());
            let two64 = 1u128 << 64;
            assert_eq!(zone % m, 0, "n = {n}");
            assert!(zone < two64 && two64 - zone < m, "n = {n}");
        }
    }

    #[test]
    fn low_digits_keep_leading_zeros() {
        let t = DigitToken::from_low_digits(9_087_713, TokenLength::new(8).unwrap());
        assert_eq!(t.as_str(), "09087713");
        let t = DigitToken::from_low_digits(123_000_000_042, TokenLength::new(6).unwrap());
        assert_eq!(t.as_str(), "000042");
    }
}
