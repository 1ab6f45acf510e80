//! A `log` backend that formats each line on the stack and writes it with one `write(2)`:
//! no allocation, no lock, no buffering that could lose lines on a crash.
//!
//! Levels follow `RUST_LOG` conventions: a bare level (`info`) sets the default, and
//! `target=level` (`ipxe_config_server::dhcp=debug`) applies to targets starting with it.

use crate::log_line::LogLine;
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

impl Log for FdLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level_for(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let elapsed = self.start.elapsed();
        let line =
            LogLine::<MAX_LINE>::format(elapsed.as_secs(), elapsed.subsec_millis(), record.level(), *record.args());
        let (bytes, len) = line.terminated();
        let line = bytes.get(..len).unwrap_or_default();
        let mut written = 0;
        while let Some(rest) = line.get(written..).filter(|rest| !rest.is_empty()) {
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
}
