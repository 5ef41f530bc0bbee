//! The server's one source of randomness, handed to the crate on every call: the operating
//! system's RNG in production, a seeded ChaCha20 in tests.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use password_mgmt::getrandom::SysRng;
use password_mgmt::rand_core::{TryCryptoRng, TryRng};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

/// A cheap, cloneable handle on the server's RNG; every clone draws from the same source.
#[derive(Clone)]
pub struct Entropy(Arc<Source>);

enum Source {
    Os,
    Seeded(Box<Mutex<ChaCha20Rng>>),
}

impl Entropy {
    /// The operating system's RNG.
    #[must_use]
    pub fn os() -> Self {
        Self(Arc::new(Source::Os))
    }

    /// A deterministic ChaCha20 stream (tests only: never in production).
    #[must_use]
    pub fn seeded(seed: u64) -> Self {
        Self(Arc::new(Source::Seeded(Box::new(Mutex::new(
            ChaCha20Rng::seed_from_u64(seed),
        )))))
    }

    /// `N` random bytes.
    ///
    /// # Errors
    /// [`EntropyError`] when the operating system's RNG fails.
    pub fn bytes<const N: usize>(&mut self) -> Result<[u8; N], EntropyError> {
        let mut out = [0u8; N];
        self.try_fill_bytes(&mut out)?;
        Ok(out)
    }

    /// `N` random bytes as lower-case hex.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes).
    pub fn hex<const N: usize>(&mut self) -> Result<String, EntropyError> {
        Ok(hex(&self.bytes::<N>()?))
    }
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl fmt::Debug for Entropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match *self.0 {
            Source::Os => "os",
            Source::Seeded(_) => "seeded",
        };
        f.debug_tuple("Entropy").field(&kind).finish()
    }
}

/// The operating system's RNG failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntropyError;

impl fmt::Display for EntropyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operating system's random number generator failed")
    }
}

impl std::error::Error for EntropyError {}

impl TryRng for Entropy {
    type Error = EntropyError;

    fn try_next_u32(&mut self) -> Result<u32, EntropyError> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }

    fn try_next_u64(&mut self) -> Result<u64, EntropyError> {
        Ok(u64::from_le_bytes(self.bytes::<8>()?))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), EntropyError> {
        match &*self.0 {
            Source::Os => SysRng.try_fill_bytes(dst).map_err(|_| EntropyError),
            Source::Seeded(rng) => {
                let mut rng = rng.lock().unwrap_or_else(PoisonError::into_inner);
                match rng.try_fill_bytes(dst) {
                    Ok(()) => Ok(()),
                    Err(never) => match never {},
                }
            }
        }
    }
}

impl TryCryptoRng for Entropy {}
