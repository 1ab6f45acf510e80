//! The appliance's clock: the CPU's cycle counter, calibrated once against boot services'
//! `Stall`. The UEFI runtime clock only counts whole seconds (its nanoseconds read 0 on
//! OVMF), far too coarse for TCP timers; the counter is read without a firmware call.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use smoltcp::time::Instant;

/// How long the calibration stalls: the two counter reads cost well under a microsecond,
/// so 20 ms puts the rate within a few parts per million, and start-up waits no longer.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Counter ticks per microsecond (0 until calibrated) and the reading at calibration.
static TICKS_PER_MICRO: AtomicU64 = AtomicU64::new(0);
static START: AtomicU64 = AtomicU64::new(0);

#[cfg(target_arch = "x86_64")]
fn ticks() -> u64 {
    // SAFETY: RDTSC reads a counter; it has no memory effects and every x86_64 CPU has it.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::x86_64::_rdtsc()
    }
}

#[cfg(target_arch = "aarch64")]
fn ticks() -> u64 {
    let value: u64;
    // SAFETY: reading the virtual counter register, which UEFI firmware enables for EL1/EL2.
    #[allow(unsafe_code)]
    unsafe {
        core::arch::asm!("mrs {}, cntvct_el0", out(reg) value, options(nomem, nostack));
    }
    value
}

/// Measures the counter's rate; returns it in MHz for the start-up line.
pub fn calibrate() -> u64 {
    let before = ticks();
    uefi::boot::stall(CALIBRATION);
    let after = ticks();
    let micros = u64::try_from(CALIBRATION.as_micros()).unwrap_or(u64::MAX);
    let rate = (after.wrapping_sub(before) / micros).max(1);
    TICKS_PER_MICRO.store(rate, Ordering::Relaxed);
    START.store(before, Ordering::Relaxed);
    rate
}

/// Microseconds since calibration.
pub fn now() -> Instant {
    let rate = TICKS_PER_MICRO.load(Ordering::Relaxed).max(1);
    let elapsed = ticks().wrapping_sub(START.load(Ordering::Relaxed)) / rate;
    Instant::from_micros(i64::try_from(elapsed).unwrap_or(i64::MAX))
}
