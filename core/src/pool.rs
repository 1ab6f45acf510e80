//! A deduplicated string pool in caller-provided memory.
//!
//! Records refer to strings by a 4-byte [`StrRef`]; each distinct string is stored once
//! (10,000 nodes sharing one deploy kernel URL store it once). An entry is a 2-byte
//! little-endian length followed by the bytes. A caller-provided open-addressing table
//! of entry references finds an existing copy in O(1) during load.

use crate::hash::fnv1a;

/// A reference to a string in the pool, or none: one more than the entry's offset, so
/// that none is zero and an empty record is all zero bytes (a `static` of empty records
/// then lies in `.bss`, not in the firmware image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrRef(u32);

impl StrRef {
    /// No string (the field was absent, `null` or masked).
    pub const NONE: StrRef = StrRef(0);

    /// The entry's offset in the pool; `None` for [`StrRef::NONE`].
    fn offset(self) -> Option<usize> {
        usize::try_from(self.0.checked_sub(1)?).ok()
    }

    /// Whether this refers to a string.
    pub fn is_some(self) -> bool {
        self != Self::NONE
    }
}

/// Why a string could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The pool's bytes are used up.
    PoolFull,
    /// The deduplication table has no free slot.
    IndexFull,
    /// One string is longer than [`MAX_STRING`].
    TooLong,
}

/// The longest single string the pool stores, in bytes.
pub const MAX_STRING: usize = 4096;

/// Read-only view of a filled pool.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'s> {
    bytes: &'s [u8],
}

impl Pool<'static> {
    /// A pool with no strings.
    pub const EMPTY: Pool<'static> = Pool { bytes: &[] };
}

impl<'s> Pool<'s> {
    pub(crate) fn new(bytes: &'s [u8]) -> Self {
        Self { bytes }
    }

    /// The string behind `reference`, if any.
    pub fn get(self, reference: StrRef) -> Option<&'s str> {
        let start = reference.offset()?;
        let header = self.bytes.get(start..start + 2)?;
        let len = usize::from(u16::from_le_bytes([*header.first()?, *header.get(1)?]));
        let text = self.bytes.get(start + 2..start + 2 + len)?;
        core::str::from_utf8(text).ok()
    }

    /// Bytes of the pool in use.
    pub fn used(self) -> usize {
        self.bytes.len()
    }
}

/// The pool while an inventory is being loaded.
pub(crate) struct PoolBuilder<'s> {
    bytes: &'s mut [u8],
    len: usize,
    index: &'s mut [u32],
}

impl<'s> PoolBuilder<'s> {
    pub(crate) fn new(bytes: &'s mut [u8], index: &'s mut [u32]) -> Self {
        index.fill(0);
        Self { bytes, len: 0, index }
    }

    /// Stores `text` once, returning the reference to the existing copy when there is one.
    #[cfg(test)]
    pub(crate) fn intern(&mut self, text: &str) -> Result<StrRef, PoolError> {
        let room = self.staging();
        if text.len() > MAX_STRING {
            return Err(PoolError::TooLong);
        }
        room.get_mut(..text.len()).ok_or(PoolError::PoolFull)?.copy_from_slice(text.as_bytes());
        self.commit(text.len())
    }

    /// Where the next string is written (after the room for its length), at most
    /// [`MAX_STRING`] bytes: callers decode into it, check it with [`Self::staged`], then
    /// [`Self::commit`] it. Nothing staged counts until committed.
    pub(crate) fn staging(&mut self) -> &mut [u8] {
        let start = self.len + 2;
        let end = (start + MAX_STRING).min(self.bytes.len());
        self.bytes.get_mut(start..end).unwrap_or_default()
    }

    /// The first `len` staged bytes, if they are UTF-8.
    pub(crate) fn staged(&self, len: usize) -> Option<&str> {
        let start = self.len + 2;
        core::str::from_utf8(self.bytes.get(start..start + len)?).ok()
    }

    /// Keeps the first `len` staged bytes as a string, or returns the existing copy.
    pub(crate) fn commit(&mut self, len: usize) -> Result<StrRef, PoolError> {
        let start = self.len;
        let text_range = start + 2..start + 2 + len;
        let staged = self.bytes.get(text_range.clone()).ok_or(PoolError::PoolFull)?;
        let slots = self.index.len();
        if slots == 0 {
            return Err(PoolError::IndexFull);
        }
        let mut slot = fnv1a(staged) as usize % slots;
        for _ in 0..slots {
            let entry = *self.index.get(slot).ok_or(PoolError::IndexFull)?;
            if entry == 0 {
                let offset = u32::try_from(start).map_err(|_| PoolError::PoolFull)?;
                let reference = offset.checked_add(1).ok_or(PoolError::PoolFull)?;
                let header = u16::try_from(len).map_err(|_| PoolError::TooLong)?.to_le_bytes();
                self.bytes.get_mut(start..start + 2).ok_or(PoolError::PoolFull)?.copy_from_slice(&header);
                self.len = text_range.end;
                if let Some(cell) = self.index.get_mut(slot) {
                    *cell = reference;
                }
                return Ok(StrRef(reference));
            }
            // The table holds references, and zero (none) marks a free slot.
            let existing = StrRef(entry);
            if self.entry_bytes(existing) == Some(staged) {
                return Ok(existing);
            }
            slot = (slot + 1) % slots;
        }
        Err(PoolError::IndexFull)
    }

    /// The bytes of a committed entry.
    fn entry_bytes(&self, reference: StrRef) -> Option<&[u8]> {
        let start = reference.offset()?;
        let header = self.bytes.get(start..start + 2)?;
        let len = usize::from(u16::from_le_bytes([*header.first()?, *header.get(1)?]));
        self.bytes.get(start + 2..start + 2 + len)
    }

    /// Bytes and deduplication slots available, for error messages.
    /// A string already committed, while loading.
    pub(crate) fn peek(&self, reference: StrRef) -> Option<&str> {
        let start = reference.offset()?;
        Pool { bytes: self.bytes.get(..self.len)? }.get(reference).filter(|_| start < self.len)
    }

    pub(crate) fn capacity(&self) -> (usize, usize) {
        (self.bytes.len(), self.index.len())
    }

    pub(crate) fn finish(self) -> Pool<'s> {
        let len = self.len;
        let bytes: &'s [u8] = self.bytes;
        Pool { bytes: bytes.get(..len).unwrap_or_default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_each_distinct_string_once() {
        let mut bytes = [0u8; 64];
        let mut index = [0u32; 8];
        let mut pool = PoolBuilder::new(&mut bytes, &mut index);
        let a = pool.intern("http://x/kernel").unwrap();
        let b = pool.intern("http://x/ramdisk").unwrap();
        assert_eq!(pool.intern("http://x/kernel").unwrap(), a);
        assert_ne!(a, b);
        let view = pool.finish();
        assert_eq!(view.used(), 2 * 2 + 15 + 16);
        assert_eq!(view.get(a), Some("http://x/kernel"));
        assert_eq!(view.get(b), Some("http://x/ramdisk"));
        assert_eq!(view.get(StrRef::NONE), None);
    }

    /// The string at offset 0 is a reference like any other; none stays zero, which keeps
    /// empty records all zero bytes.
    #[test]
    fn the_first_string_is_not_none() {
        let mut bytes = [0u8; 16];
        let mut index = [0u32; 4];
        let mut pool = PoolBuilder::new(&mut bytes, &mut index);
        let first = pool.intern("a").unwrap();
        assert!(first.is_some());
        assert_eq!(StrRef::NONE.0, 0);
        assert_eq!(pool.finish().get(first), Some("a"));
    }

    #[test]
    fn reports_which_limit_is_hit() {
        let mut bytes = [0u8; 8];
        let mut index = [0u32; 4];
        let mut pool = PoolBuilder::new(&mut bytes, &mut index);
        assert_eq!(pool.intern("0123456789"), Err(PoolError::PoolFull));
        let mut bytes = [0u8; 64];
        let mut index = [0u32; 1];
        let mut pool = PoolBuilder::new(&mut bytes, &mut index);
        pool.intern("a").unwrap();
        assert_eq!(pool.intern("b"), Err(PoolError::IndexFull));
    }
}
