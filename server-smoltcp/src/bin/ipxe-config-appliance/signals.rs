//! SIGHUP (reload the inventory) and SIGINT/SIGTERM (stop), as flags the main loop reads.
//!
//! The handlers only store to atomics, which is async-signal-safe. They are installed
//! without `SA_RESTART`, so a signal interrupts the `poll(2)` wait and is seen at once.

use std::sync::atomic::{AtomicBool, Ordering};

static RELOAD: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_reload(_signal: libc::c_int) {
    RELOAD.store(true, Ordering::SeqCst);
}

extern "C" fn on_stop(_signal: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handlers.
pub fn install() -> std::io::Result<()> {
    for (signal, handler) in
        [(libc::SIGHUP, on_reload as extern "C" fn(libc::c_int)), (libc::SIGINT, on_stop), (libc::SIGTERM, on_stop)]
    {
        #[allow(unsafe_code)] // reason: sigaction(2) with a zeroed struct and a handler that only touches atomics
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            libc::sigemptyset(&raw mut action.sa_mask);
            libc::sigaction(signal, &raw const action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether a reload was asked for since the last call.
pub fn take_reload() -> bool {
    RELOAD.swap(false, Ordering::SeqCst)
}

/// Whether the program should stop.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
