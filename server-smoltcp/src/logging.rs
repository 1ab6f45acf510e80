//! One logging shim for the whole crate, so the backend is chosen by feature.
//!
//! With the `log` feature the macros forward to the `log` crate; without it they compile
//! to nothing, yet still type-check their arguments (so a firmware build cannot break a
//! log line that the host build uses).

#[cfg(feature = "log")]
macro_rules! server_log {
    (error, $($arg:tt)+) => { ::log::error!($($arg)+) };
    (warn, $($arg:tt)+) => { ::log::warn!($($arg)+) };
    (info, $($arg:tt)+) => { ::log::info!($($arg)+) };
    (debug, $($arg:tt)+) => { ::log::debug!($($arg)+) };
}

#[cfg(not(feature = "log"))]
macro_rules! server_log {
    ($level:ident, $($arg:tt)+) => {{
        if false {
            let _ = ::core::format_args!($($arg)+);
        }
    }};
}

macro_rules! log_error { ($($arg:tt)+) => { server_log!(error, $($arg)+) }; }
macro_rules! log_warn { ($($arg:tt)+) => { server_log!(warn, $($arg)+) }; }
macro_rules! log_info { ($($arg:tt)+) => { server_log!(info, $($arg)+) }; }
macro_rules! log_debug { ($($arg:tt)+) => { server_log!(debug, $($arg)+) }; }

/// Writes bytes that came off the wire (or out of the inventory) into a log line with
/// anything but printable ASCII escaped as `\xNN`, so a value cannot forge log lines.
/// Escaping every byte of 0x80 and above, not just C0 controls, is what keeps out what
/// common tools also take for a line break: NEL (U+0085, `\xc2\x85`), the other C1
/// controls, and the Unicode line and paragraph separators U+2028 and U+2029.
pub(crate) struct Escaped<'b>(pub &'b [u8]);

/// A `Display` value (a refusal naming an inventory field, say) written escaped like
/// [`Escaped`], piece by piece as it formats itself, without a buffer.
pub(crate) struct EscapedDisplay<'v, T: ?Sized>(pub &'v T);

impl<T: core::fmt::Display + ?Sized> core::fmt::Display for EscapedDisplay<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Escaping<'f, 'g>(&'f mut core::fmt::Formatter<'g>);
        impl core::fmt::Write for Escaping<'_, '_> {
            fn write_str(&mut self, text: &str) -> core::fmt::Result {
                write!(self.0, "{}", Escaped(text.as_bytes()))
            }
        }
        core::fmt::write(&mut Escaping(f), format_args!("{}", self.0))
    }
}

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let printable = |byte: &u8| byte.is_ascii_graphic() || *byte == b' ';
        let mut rest = self.0;
        while !rest.is_empty() {
            // Runs of printable bytes go out in one piece: this is on every request's
            // access-log line, and a call per character cost more than the rest of the line.
            let run = rest.iter().position(|byte| !printable(byte)).unwrap_or(rest.len());
            let (text, after) = rest.split_at(run);
            f.write_str(core::str::from_utf8(text).unwrap_or_default())?;
            let Some((&byte, after)) = after.split_first() else { break };
            write!(f, "\\x{byte:02x}")?;
            rest = after;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Escaped, EscapedDisplay};

    struct Line {
        bytes: [u8; 64],
        len: usize,
    }

    impl core::fmt::Write for Line {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            let end = self.len + text.len();
            self.bytes.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(text.as_bytes());
            self.len = end;
            Ok(())
        }
    }

    fn escaped(bytes: &[u8]) -> Line {
        let mut line = Line { bytes: [0; 64], len: 0 };
        core::fmt::Write::write_fmt(&mut line, format_args!("{}", Escaped(bytes))).unwrap();
        line
    }

    /// Every character a log reader might take for the end of a line, or a terminal for
    /// a command: C0 and C1 controls, DEL, NEL, the Unicode separators, bidirectional
    /// overrides, a byte-order mark.
    const HOSTILE: [char; 12] = [
        '\r', '\n', '\u{0b}', '\u{0c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}', '\u{2029}', '\u{202e}',
        '\u{feff}',
    ];

    #[test]
    fn no_control_or_separator_survives_in_a_log_line() {
        for hostile in HOSTILE.into_iter().chain((0..0x20u8).map(char::from)).chain('\u{80}'..='\u{9f}') {
            let mut encoded = [0u8; 4];
            let value = hostile.encode_utf8(&mut encoded);
            for line in [escaped(value.as_bytes()), displayed(&format_args!("a{value}b"))] {
                let text = core::str::from_utf8(line.bytes.get(..line.len).unwrap()).unwrap();
                assert!(text.bytes().all(|byte| byte.is_ascii_graphic() || byte == b' '), "{hostile:?} gave {text:?}");
            }
        }
    }

    fn displayed(value: &dyn core::fmt::Display) -> Line {
        let mut line = Line { bytes: [0; 64], len: 0 };
        core::fmt::Write::write_fmt(&mut line, format_args!("{}", EscapedDisplay(value))).unwrap();
        line
    }

    #[test]
    fn a_display_value_is_escaped_as_it_is_written() {
        let line = displayed(&format_args!("node has {}", "ipmi\u{2028}forged"));
        assert_eq!(line.bytes.get(..line.len), Some(&b"node has ipmi\\xe2\\x80\\xa8forged"[..]));
    }

    #[test]
    fn printable_ascii_passes_and_everything_else_is_escaped() {
        for (input, output) in [
            (&b"/boot.ipxe?a=b c"[..], &b"/boot.ipxe?a=b c"[..]),
            (b"", b""),
            (b"\r\nforged 200", b"\\x0d\\x0aforged 200"),
            (b"a\x00b\x7f\xc3\xa9", b"a\\x00b\\x7f\\xc3\\xa9"),
            (b"\t", b"\\x09"),
        ] {
            let line = escaped(input);
            assert_eq!(line.bytes.get(..line.len), Some(output), "{input:?}");
        }
    }
}
