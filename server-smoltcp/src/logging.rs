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

/// Writes bytes that came off the wire into a log line with anything but printable
/// ASCII escaped, so a request target cannot forge log lines.
pub(crate) struct Escaped<'b>(pub &'b [u8]);

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
    use super::Escaped;

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
