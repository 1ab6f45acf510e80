//! Percent-decoding of URL components (RFC 3986 §2.1) into a caller's buffer.
//!
//! iPXE percent-encodes `:` when it expands `${mac}` inside a URL, so every value the
//! router reads goes through here first.

/// Why a percent-encoded component could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentError {
    /// A `%` not followed by two hexadecimal digits.
    BadEscape,
    /// The decoded text does not fit the buffer.
    TooLong,
}

/// Decodes `input` into `out`, returning the decoded bytes.
///
/// `+` is kept as is: the values this crate reads (UUIDs, MAC addresses, driver names)
/// never contain spaces, so form-style `+` is simply an invalid character for them.
///
/// ```
/// let mut buf = [0u8; 32];
/// let mac = ipxe_config::percent::decode(b"52%3A54%3a00", &mut buf).unwrap();
/// assert_eq!(mac, b"52:54:00");
/// ```
pub fn decode<'b>(input: &[u8], out: &'b mut [u8]) -> Result<&'b [u8], PercentError> {
    let mut len = 0;
    let mut rest = input;
    while let Some((&first, tail)) = rest.split_first() {
        let (byte, next) = if first == b'%' {
            match tail {
                [high, low, next @ ..] => (
                    hex_value(*high).zip(hex_value(*low)).map(|(h, l)| h << 4 | l).ok_or(PercentError::BadEscape)?,
                    next,
                ),
                _ => return Err(PercentError::BadEscape),
            }
        } else {
            (first, tail)
        };
        *out.get_mut(len).ok_or(PercentError::TooLong)? = byte;
        len += 1;
        rest = next;
    }
    out.get(..len).ok_or(PercentError::TooLong)
}

/// The value of one ASCII hexadecimal digit.
pub(crate) fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_plain_bytes() {
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"a%2Db%2fc", &mut buf), Ok(&b"a-b/c"[..]));
    }

    #[test]
    fn rejects_truncated_and_non_hex_escapes() {
        let mut buf = [0u8; 16];
        assert_eq!(decode(b"ab%4", &mut buf), Err(PercentError::BadEscape));
        assert_eq!(decode(b"ab%", &mut buf), Err(PercentError::BadEscape));
        assert_eq!(decode(b"%zz", &mut buf), Err(PercentError::BadEscape));
    }

    #[test]
    fn refuses_to_truncate() {
        let mut buf = [0u8; 2];
        assert_eq!(decode(b"abc", &mut buf), Err(PercentError::TooLong));
    }
}
