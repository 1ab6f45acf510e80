//! A `log` backend that formats each line on the stack and writes it with one `write(2)`:
//! no allocation, no lock, no buffering that could lose lines on a crash.
//!
//! Levels follow `RUST_LOG` conventions: a bare level (`info`) sets the default, and
//! `target=level` (`ipxe_config_server::dhcp=debug`) applies to targets starting with it.

use core::fmt::{self, Write};
use std::os::fd::RawFd;
use std::string::{String, ToString};
use std::time::Instant;
use std::vec::Vec;

use log::{LevelFilter, Log, Metadata, Record};

/// Longest line written; longer messages end in `…`.
const MAX_LINE: usize = 1024;

/// Writes log lines to a file descriptor (stderr in the appliance).
#[derive(Debug)]
pub struct FdLogger {
    fd: RawFd,
    default: LevelFilter,
    /// `(target prefix, level)`, longest prefix first.
    directives: Vec<(String, LevelFilter)>,
    start: Instant,
}

impl FdLogger {
    /// A logger for `fd` configured by a `RUST_LOG`-style `spec` (`None`: `info`).
    /// Unknown words are ignored, as a typo must not silence the appliance.
    pub fn new(fd: RawFd, spec: Option<&str>) -> Self {
        let mut default = LevelFilter::Info;
        let mut directives = Vec::new();
        for directive in spec.unwrap_or("").split(',').map(str::trim).filter(|d| !d.is_empty()) {
            match directive.split_once('=') {
                Some((target, level)) => {
                    if let Ok(level) = level.trim().parse::<LevelFilter>() {
                        directives.push((target.trim().to_string(), level));
                    }
                }
                None => {
                    if let Ok(level) = directive.parse::<LevelFilter>() {
                        default = level;
                    }
                }
            }
        }
        directives.sort_by_key(|(target, _)| std::cmp::Reverse(target.len()));
        FdLogger { fd, default, directives, start: Instant::now() }
    }

    /// The most verbose level any directive enables, for `log::set_max_level`.
    pub fn max_level(&self) -> LevelFilter {
        self.directives.iter().map(|(_, level)| *level).fold(self.default, Ord::max)
    }

    fn level_for(&self, target: &str) -> LevelFilter {
        self.directives
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            .map_or(self.default, |(_, level)| *level)
    }

    /// Installs `self` as the global logger (once per process).
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let max = self.max_level();
        log::set_logger(std::boxed::Box::leak(std::boxed::Box::new(self)))?;
        log::set_max_level(max);
        Ok(())
    }
}

/// A line being built in a fixed buffer; what does not fit is cut.
struct Line {
    bytes: [u8; MAX_LINE],
    len: usize,
    cut: bool,
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Keep room for the ellipsis and the newline.
        let room = MAX_LINE.saturating_sub(self.len + 4);
        let take = if text.len() <= room {
            text.len()
        } else {
            self.cut = true;
            (0..=room).rev().find(|&at| text.is_char_boundary(at)).unwrap_or(0)
        };
        if let (Some(to), Some(from)) = (self.bytes.get_mut(self.len..self.len + take), text.as_bytes().get(..take)) {
            to.copy_from_slice(from);
            self.len += take;
        }
        Ok(())
    }
}

impl Log for FdLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut line = Line { bytes: [0; MAX_LINE], len: 0, cut: false };
        let elapsed = self.start.elapsed();
        let _ = write!(
            line,
            "{:>6}.{:03} {:<5} {}",
            elapsed.as_secs(),
            elapsed.subsec_millis(),
            record.level(),
            record.args()
        );
        if line.cut {
            let _ = line.write_str("…");
        }
        if let Some(end) = line.bytes.get_mut(line.len) {
            *end = b'\n';
            line.len += 1;
        }
        let mut written = 0;
        while let Some(rest) = line.bytes.get(written..line.len).filter(|rest| !rest.is_empty()) {
            #[allow(unsafe_code)] // reason: write(2) reads at most rest.len() bytes from rest
            let result = unsafe { libc::write(self.fd, rest.as_ptr().cast(), rest.len()) };
            match usize::try_from(result) {
                Ok(count) if count > 0 => written += count,
                _ => {
                    if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                        break;
                    }
                }
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn directives_pick_the_longest_prefix() {
        let logger = FdLogger::new(2, Some("warn,ipxe_config_server::dhcp=debug,bogus,x=nonsense"));
        assert_eq!(logger.level_for("ipxe_config_server::http"), LevelFilter::Warn);
        assert_eq!(logger.level_for("ipxe_config_server::dhcp"), LevelFilter::Debug);
        assert_eq!(logger.max_level(), LevelFilter::Debug);
        assert_eq!(FdLogger::new(2, None).max_level(), LevelFilter::Info);
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let mut line = Line { bytes: [0; MAX_LINE], len: 0, cut: false };
        for _ in 0..600 {
            line.write_str("é").unwrap();
        }
        assert!(line.cut);
        assert!(core::str::from_utf8(&line.bytes[..line.len]).is_ok());
    }
}
