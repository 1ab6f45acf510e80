//! Turning the C caller's pointers into Rust references, with the checks that can be made
//! (null, alignment, length) made first. Everything else these functions require is the
//! caller's part of the contract in `ipxe_config.h`.

use core::ffi::{c_char, CStr};
use core::ptr;
use core::slice;

/// A required pointer was null or misaligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPointer;

/// A C string that is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// Why a buffer argument is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadBuffer {
    /// Null (with a non-zero length, for outputs).
    Pointer,
    /// Longer than `PTRDIFF_MAX`.
    Length,
}

/// Checks that a pointer to one `T` is usable: non-null and aligned for `T`.
pub fn check<T>(pointer: *const T) -> Result<(), BadPointer> {
    if pointer.is_null() || !pointer.is_aligned() {
        Err(BadPointer)
    } else {
        Ok(())
    }
}

fn check_len(len: usize) -> Result<(), BadBuffer> {
    isize::try_from(len).map(drop).map_err(|_| BadBuffer::Length)
}

/// Stores `value` through an out-parameter without reading what was there (C callers
/// pass uninitialised structs).
///
/// # Safety
/// `pointer` must be valid for a write of one `T`.
pub unsafe fn put<T>(pointer: *mut T, value: T) -> Result<(), BadPointer> {
    check(pointer)?;
    // SAFETY: non-null and aligned (checked); valid for writes (caller).
    unsafe { ptr::write(pointer, value) };
    Ok(())
}

/// Borrows a struct the caller passed by pointer.
///
/// # Safety
/// `pointer` must point to an initialised `T` that is not written during `'a`.
pub unsafe fn borrow<'a, T>(pointer: *const T) -> Result<&'a T, BadPointer> {
    check(pointer)?;
    // SAFETY: non-null and aligned (checked); initialised and not mutated (caller).
    Ok(unsafe { &*pointer })
}

/// Borrows an input byte buffer. A null pointer is refused even with length 0, so a
/// caller's forgotten argument is reported rather than read as empty input.
///
/// # Safety
/// `pointer` must be valid for reads of `len` initialised bytes that are not written
/// during `'a`.
pub unsafe fn input<'a>(pointer: *const u8, len: usize) -> Result<&'a [u8], BadBuffer> {
    if pointer.is_null() {
        return Err(BadBuffer::Pointer);
    }
    check_len(len)?;
    // SAFETY: non-null, `len <= isize::MAX` (checked); readable, initialised and not
    // mutated for `'a` (caller). `u8` has alignment 1.
    Ok(unsafe { slice::from_raw_parts(pointer, len) })
}

/// Borrows an output byte buffer, zero-filling it first: Rust references must point to
/// initialised bytes and C buffers often come straight from `malloc`. `NULL` with length
/// 0 is an empty buffer (a size query).
///
/// # Safety
/// `pointer` must be valid for writes of `len` bytes that nothing else accesses during
/// `'a`.
pub unsafe fn output<'a>(pointer: *mut u8, len: usize) -> Result<&'a mut [u8], BadBuffer> {
    if pointer.is_null() {
        return if len == 0 { Ok(&mut []) } else { Err(BadBuffer::Pointer) };
    }
    check_len(len)?;
    // SAFETY: non-null, `len <= isize::MAX` (checked); writable and exclusively ours for
    // `'a` (caller). The bytes are written before the reference is made.
    unsafe {
        ptr::write_bytes(pointer, 0, len);
        Ok(slice::from_raw_parts_mut(pointer, len))
    }
}

/// Reads a nullable C string as UTF-8; `NULL` is `None`.
///
/// # Safety
/// A non-null `pointer` must point to a NUL-terminated string that stays valid and
/// unchanged during `'a`.
pub unsafe fn c_text<'a>(pointer: *const c_char) -> Result<Option<&'a str>, NotUtf8> {
    if pointer.is_null() {
        return Ok(None);
    }
    // SAFETY: non-null (checked); NUL-terminated and unchanged for `'a` (caller).
    let text = unsafe { CStr::from_ptr(pointer) };
    text.to_str().map(Some).map_err(|_| NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_misaligned_pointers_are_refused() {
        assert_eq!(check(ptr::null::<u64>()), Err(BadPointer));
        let word = 0u64;
        #[allow(clippy::cast_ptr_alignment)] // Misaligned on purpose.
        let misaligned = (&raw const word).cast::<u8>().wrapping_add(1).cast::<u32>();
        assert_eq!(check(misaligned), Err(BadPointer));
        assert_eq!(check(&raw const word), Ok(()));
        // SAFETY: null is refused before any access.
        assert_eq!(unsafe { put(ptr::null_mut::<u32>(), 1) }, Err(BadPointer));
    }

    #[test]
    fn buffers_check_null_and_length() {
        // SAFETY: every call below is refused before any access, or has length 0.
        unsafe {
            assert_eq!(input(ptr::null(), 0), Err(BadBuffer::Pointer));
            assert_eq!(output(ptr::null_mut(), 0).map(|b| b.len()), Ok(0));
            assert_eq!(output(ptr::null_mut(), 1).map(|b| b.len()), Err(BadBuffer::Pointer));
            let byte = 0u8;
            assert_eq!(input(&raw const byte, usize::MAX), Err(BadBuffer::Length));
            assert_eq!(c_text(ptr::null()), Ok(None));
            assert_eq!(c_text(c"\xc3".as_ptr()), Err(NotUtf8));
        }
    }
}
