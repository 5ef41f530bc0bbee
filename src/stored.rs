//! The byte formats of stored state (token records, rate limiters, guess budgets): the
//! shared pieces of their encoders and strict decoders.

use crate::error::RecordError;

/// Copies `parts` one after another into `out` (whose length is their total length; every
/// caller's sizes are fixed and checked at compile time).
pub(crate) fn fill(out: &mut [u8], parts: &[&[u8]]) {
    let mut rest = out;
    for part in parts {
        let Some((head, tail)) = core::mem::take(&mut rest).split_at_mut_checked(part.len()) else {
            return;
        };
        head.copy_from_slice(part);
        rest = tail;
    }
}

/// Checks the version byte, then the length; returns the bytes after the version.
pub(crate) fn versioned(bytes: &[u8], version: u8, len: usize) -> Result<&[u8], RecordError> {
    let wrong_length = RecordError::WrongLength {
        expected: len,
        found: bytes.len(),
    };
    let (&v, body) = bytes.split_first().ok_or(wrong_length)?;
    if v != version {
        return Err(RecordError::UnknownVersion(v));
    }
    if bytes.len() != len {
        return Err(wrong_length);
    }
    Ok(body)
}

/// Reads fixed-size fields from the front of a byte string.
pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl Reader<'_> {
    /// The next `N` bytes, or `None` when fewer are left.
    pub(crate) fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
}

/// A compare-and-set write: the bytes the store must still hold, and the bytes to put
/// there instead. What a service performs before it may act on a result of this crate.
///
/// Write [`replacement`](Self::replacement) only if the stored value is still
/// [`expected`](Self::expected) (SQL: `UPDATE ... SET state = :replacement WHERE key = :key
/// AND state = :expected`; Redis: `WATCH`/`MULTI`), in one atomic step; when it is not,
/// nothing is written: read the state again and redo the call. A missing value stands for
/// the fresh state, whose encoding is then `expected`: insert it if absent, or use an
/// upsert whose update applies only when the stored value equals `expected`.
///
/// Not secret: the state holds MACs and counters, never a token.
#[derive(Clone, PartialEq, Eq, Hash)]
#[must_use = "a state update does nothing until the service writes it with a compare-and-set"]
pub struct StateUpdate<const N: usize> {
    expected: [u8; N],
    replacement: [u8; N],
}

impl<const N: usize> StateUpdate<N> {
    pub(crate) const fn new(expected: [u8; N], replacement: [u8; N]) -> Self {
        Self {
            expected,
            replacement,
        }
    }

    /// The encoding of the state the call read: the store must still hold it.
    #[must_use]
    pub const fn expected(&self) -> &[u8; N] {
        &self.expected
    }

    /// The encoding of the new state, to store in its place.
    #[must_use]
    pub const fn replacement(&self) -> &[u8; N] {
        &self.replacement
    }
}

impl<const N: usize> core::fmt::Debug for StateUpdate<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StateUpdate")
            .field("bytes", &N)
            .finish_non_exhaustive()
    }
}
