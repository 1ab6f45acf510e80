//! Decoding the escapes of a JSON string (RFC 8259 §7) into a caller's buffer.
//!
//! serde-json-core can unescape strings itself, but refuses surrogate-pair escapes
//! (`\ud83d\ude00`), which Python's `json.dumps` — and so Ironic's API — writes for every
//! character outside the Basic Multilingual Plane: one emoji in a node's `description`
//! would have made the whole inventory unloadable. The loader therefore reads strings
//! raw and decodes them here, straight into the string pool.

/// Why a JSON string's escapes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnescapeError {
    /// A `\` not followed by a valid escape, or a lone or malformed surrogate.
    InvalidEscape,
    /// The decoded text does not fit the buffer.
    TooLong,
}

/// Decodes the contents of a JSON string (without its quotes) into `out`, returning the
/// number of bytes written. The result is valid UTF-8 whenever `raw` is.
///
/// ```
/// # use ipxe_config::json_string::unescape;
/// let mut out = [0u8; 32];
/// let len = unescape(r"http:\/\/x\/k \ud83d\ude00 \u00e9", &mut out).unwrap();
/// assert_eq!(core::str::from_utf8(&out[..len]).unwrap(), "http://x/k 😀 é");
/// ```
pub fn unescape(raw: &str, out: &mut [u8]) -> Result<usize, UnescapeError> {
    let mut written = 0;
    let mut put = |bytes: &[u8]| -> Result<(), UnescapeError> {
        let end = written + bytes.len();
        out.get_mut(written..end).ok_or(UnescapeError::TooLong)?.copy_from_slice(bytes);
        written = end;
        Ok(())
    };
    let mut rest = raw.as_bytes();
    while let Some(backslash) = rest.iter().position(|&b| b == b'\\') {
        let (plain, escape) = rest.split_at(backslash);
        put(plain)?;
        let (decoded, consumed) = decode_escape(escape)?;
        let mut utf8 = [0u8; 4];
        put(decoded.encode_utf8(&mut utf8).as_bytes())?;
        rest = escape.get(consumed..).unwrap_or_default();
    }
    put(rest)?;
    Ok(written)
}

/// The decoded text of a JSON string: `raw` itself when it has no escapes (no copy, no
/// second UTF-8 check: most keys and values have none), else decoded into `out`. Text
/// longer than `out` is [`UnescapeError::TooLong`] either way, so callers see one limit.
///
/// ```
/// # use ipxe_config::json_string::unescaped;
/// let mut out = [0u8; 16];
/// assert_eq!(unescaped("http://x", &mut out), Ok("http://x"));
/// assert_eq!(unescaped(r"http:\/\/x", &mut out), Ok("http://x"));
/// ```
pub fn unescaped<'a>(raw: &'a str, out: &'a mut [u8]) -> Result<&'a str, UnescapeError> {
    if !raw.as_bytes().contains(&b'\\') {
        return if raw.len() <= out.len() { Ok(raw) } else { Err(UnescapeError::TooLong) };
    }
    let len = unescape(raw, out)?;
    // Decoded escapes are whole scalar values, so valid input stays valid UTF-8.
    core::str::from_utf8(out.get(..len).unwrap_or_default()).map_err(|_| UnescapeError::InvalidEscape)
}

/// Decodes the escape at the start of `escape` (which begins with `\`); returns the
/// character and how many bytes it took.
fn decode_escape(escape: &[u8]) -> Result<(char, usize), UnescapeError> {
    let simple = match escape.get(1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return decode_unicode(escape),
        _ => return Err(UnescapeError::InvalidEscape),
    };
    Ok((simple, 2))
}

/// `\uXXXX`, or a `\uD8xx\uDCxx` surrogate pair.
fn decode_unicode(escape: &[u8]) -> Result<(char, usize), UnescapeError> {
    let first = hex4(escape.get(2..6))?;
    if !(0xD800..0xE000).contains(&first) {
        return char::from_u32(first).map(|c| (c, 6)).ok_or(UnescapeError::InvalidEscape);
    }
    if first >= 0xDC00 || escape.get(6..8) != Some(b"\\u") {
        return Err(UnescapeError::InvalidEscape);
    }
    let second = hex4(escape.get(8..12))?;
    if !(0xDC00..0xE000).contains(&second) {
        return Err(UnescapeError::InvalidEscape);
    }
    let scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
    char::from_u32(scalar).map(|c| (c, 12)).ok_or(UnescapeError::InvalidEscape)
}

fn hex4(digits: Option<&[u8]>) -> Result<u32, UnescapeError> {
    let digits = digits.ok_or(UnescapeError::InvalidEscape)?;
    digits.iter().try_fold(0u32, |value, &digit| {
        crate::percent::hex_value(digit).map(|d| value << 4 | u32::from(d)).ok_or(UnescapeError::InvalidEscape)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &str) -> Result<heapless::String<64>, UnescapeError> {
        let mut out = [0u8; 64];
        let len = unescape(raw, &mut out)?;
        Ok(heapless::String::try_from(core::str::from_utf8(&out[..len]).unwrap()).unwrap())
    }

    #[test]
    fn decodes_every_escape() {
        assert_eq!(decoded(r#"a\"b\\c\/d\b\f\n\r\t"#).unwrap(), "a\"b\\c/d\u{8}\u{c}\n\r\t");
        assert_eq!(decoded(r"\u0041\u00e9\u20ac\ud83d\ude00").unwrap(), "Aé€😀");
        assert_eq!(decoded("plain é").unwrap(), "plain é");
    }

    #[test]
    fn refuses_malformed_escapes() {
        for raw in [r"\x", r"\", r"\u12", r"\u12zz", r"\ud83d", r"\ud83dx", r"\ude00", r"\ud83d\u0041"] {
            assert_eq!(decoded(raw), Err(UnescapeError::InvalidEscape), "{raw}");
        }
    }

    #[test]
    fn refuses_to_truncate() {
        let mut out = [0u8; 3];
        assert_eq!(unescape(r"ab\/c", &mut out), Err(UnescapeError::TooLong));
        // The same limit whether or not the text needed decoding.
        assert_eq!(unescaped("abcd", &mut out), Err(UnescapeError::TooLong));
        assert_eq!(unescaped(r"ab\/c", &mut out), Err(UnescapeError::TooLong));
        assert_eq!(unescaped("abc", &mut out), Ok("abc"));
        assert_eq!(unescaped(r"\u00e9", &mut out), Ok("é"));
    }
}
