//! The `log` backend: each line formatted on the stack, in the host binary's layout
//! (`seconds.millis LEVEL message`), and written to the firmware console (ConOut, which
//! OVMF and most server firmware mirror to the serial port).

use core::fmt::Write;

use ipxe_config_server::log_line::LogLine;

use log::{LevelFilter, Log, Metadata, Record};

use crate::clock;

/// Longest line written; longer messages end in `…`.
const MAX_LINE: usize = 512;

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

/// Makes the console the `log` backend, at `info`.
pub fn install() {
    // Fails only if a logger is installed already, which this image does once.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// Writes `text` and a line break to the console.
pub fn write_line(text: &str) {
    uefi::system::with_stdout(|out| {
        // A console that refuses a line has nowhere to report it either.
        let _ = out.write_str(text);
        let _ = out.write_str("\n");
    });
}

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // The clock starts at zero when the image does: never negative.
        let micros = u64::try_from(clock::now().total_micros()).unwrap_or(0);
        let millis = u32::try_from(micros / 1000 % 1000).unwrap_or(0);
        let line = LogLine::<MAX_LINE>::format(micros / 1_000_000, millis, record.level(), *record.args());
        write_line(line.as_str());
    }

    fn flush(&self) {}
}
