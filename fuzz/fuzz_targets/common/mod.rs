//! What the server's fuzz targets share beyond the test kit: a logger that formats every
//! log line the appliance writes and counts the errors among them.
//!
//! Each target builds a fresh appliance per input over the kit's in-memory link, so no
//! state (sockets, leases, ARP entries) carries from one input to the next and every
//! crash replays alone.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ipxe_config_testkit::link::Wire;

/// Frames the link holds each way: far more than a 4 KiB TCP window or a DHCP exchange
/// puts in flight, so nothing is dropped; the targets test the appliance, not loss
/// recovery (each checks [`Wire::dropped`] at the end).
const LINK_SLOTS: usize = 64;

/// A fresh link for one input.
pub fn wire() -> Wire {
    Wire::new(LINK_SLOTS)
}

/// Error-level log lines so far. The appliance logs an error only for a configuration
/// it cannot serve (a script larger than its buffer, a DHCP URL over 255 bytes), never
/// for what a client sends, so any error during a run is a finding.
pub fn errors_logged() -> usize {
    ERRORS.load(Ordering::Relaxed)
}

static ERRORS: AtomicUsize = AtomicUsize::new(0);

/// Installs the logger (once): every line is formatted, so the `Display` code of access
/// lines (escaped request targets, MACs) runs on fuzzed bytes, then dropped; errors are
/// printed and counted.
pub fn install_logger() {
    static LOGGER: Formatting = Formatting;
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

struct Formatting;

/// Counts what is written and keeps nothing.
struct Discard(usize);

impl fmt::Write for Discard {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

impl log::Log for Formatting {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let mut sink = Discard(0);
        let _ = write!(sink, "{}", record.args());
        if record.level() == log::Level::Error {
            ERRORS.fetch_add(1, Ordering::Relaxed);
            eprintln!("appliance logged an error: {}", record.args());
        }
    }

    fn flush(&self) {}
}
