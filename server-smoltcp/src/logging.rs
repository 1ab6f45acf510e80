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
        for &byte in self.0 {
            if byte.is_ascii_graphic() || byte == b' ' {
                core::fmt::Write::write_char(f, char::from(byte))?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}
