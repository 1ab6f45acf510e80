//! The appliance's log lines, captured per test thread, so a test can check what an
//! operator would have read (and that no `status=5xx` was ever logged).

use std::cell::RefCell;
use std::sync::Once;

use log::{Level, LevelFilter, Log, Metadata, Record};

thread_local! {
    static LINES: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

struct Capture;

impl Log for Capture {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        // Only the appliance's own lines; the tests run it on their own thread.
        if record.target().starts_with("ipxe_config_server") {
            LINES.with(|lines| lines.borrow_mut().push((record.level(), record.args().to_string())));
        }
    }

    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

/// Starts capturing (once per test binary) and forgets what this thread captured so far.
pub fn start() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CAPTURE).expect("no other logger in this test binary");
        log::set_max_level(LevelFilter::Info);
    });
    take();
}

/// The lines this thread logged since the last call.
pub fn take() -> Vec<(Level, String)> {
    LINES.with(|lines| std::mem::take(&mut *lines.borrow_mut()))
}

/// Status codes of every access-log line in `lines`.
pub fn statuses(lines: &[(Level, String)]) -> Vec<u16> {
    lines
        .iter()
        .filter_map(|(_, line)| line.strip_prefix("http ")?.split(" status=").nth(1)?.split(' ').next()?.parse().ok())
        .collect()
}

/// Panics if any access-log line reports a 5xx.
pub fn assert_no_5xx(lines: &[(Level, String)]) {
    let server_errors: Vec<&String> = lines
        .iter()
        .filter(|(_, line)| {
            line.starts_with("http ")
                && line
                    .split(" status=")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .is_some_and(|s| s.starts_with('5'))
        })
        .map(|(_, line)| line)
        .collect();
    assert!(server_errors.is_empty(), "5xx sent: {server_errors:#?}");
}
