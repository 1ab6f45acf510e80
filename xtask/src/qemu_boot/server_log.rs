//! What a scenario reads from the appliance it boots from, whichever kind it is: the
//! host process ([`super::appliance::Appliance`]) or the UEFI image in a second VM
//! ([`super::firmware_vm::FirmwareVm`]). Both log one line per request in one format.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Log lines with the time they were read, measured from the guest's power-on.
pub type LogLines = Arc<Mutex<Vec<(Duration, String)>>>;

pub trait ServerLog {
    /// The lines read so far.
    fn lines(&self) -> &LogLines;

    /// Why the appliance is gone, if it is.
    fn exited(&mut self) -> Option<String>;

    /// Asks the appliance to reload its inventory now.
    fn reload(&self) -> Result<(), String>;

    /// The first log line matching `wanted` and when it was read, if any yet.
    fn find(&self, wanted: &dyn Fn(&str) -> bool) -> Option<(Duration, String)> {
        let lines = self.lines().lock().ok()?;
        lines.iter().find(|(_, line)| wanted(line)).cloned()
    }

    /// Waits up to `timeout` for a log line matching `wanted`.
    fn wait_for(&mut self, what: &str, timeout: Duration, wanted: &dyn Fn(&str) -> bool) -> Result<Duration, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((at, _)) = self.find(wanted) {
                return Ok(at);
            }
            if let Some(why) = self.exited() {
                return Err(format!("{why} before {what}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("no {what} in the appliance log within {timeout:?}"));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last `count` log lines.
    fn tail(&self, count: usize) -> String {
        let Ok(lines) = self.lines().lock() else { return String::new() };
        let start = lines.len().saturating_sub(count);
        lines[start..].iter().map(|(at, line)| format!("[{:6.2}s] {line}\n", at.as_secs_f64())).collect()
    }
}
