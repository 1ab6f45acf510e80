//! The `log` backend: each line formatted on the stack, in the host binary's layout
//! (`seconds.millis LEVEL message`), and written to the firmware console (ConOut, which
//! OVMF and most server firmware mirror to the serial port).

use core::fmt::{self, Write};

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

/// A line being built in a fixed buffer; what does not fit is cut.
struct Line {
    bytes: [u8; MAX_LINE],
    len: usize,
    cut: bool,
}

impl Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
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
        let mut line = Line { bytes: [0; MAX_LINE], len: 0, cut: false };
        let micros = clock::now().total_micros();
        let _ = write!(
            line,
            "{:>6}.{:03} {:<5} {}",
            micros / 1_000_000,
            micros / 1000 % 1000,
            record.level(),
            record.args()
        );
        if line.cut {
            let _ = line.write_str("…");
        }
        // Every byte came from a `str` write cut at a character boundary.
        if let Ok(text) = core::str::from_utf8(line.bytes.get(..line.len).unwrap_or_default()) {
            write_line(text);
        }
    }

    fn flush(&self) {}
}
