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
