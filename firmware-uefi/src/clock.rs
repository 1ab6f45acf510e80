//! The appliance's clock: the CPU's cycle counter, calibrated once against boot services'
//! `Stall`. The UEFI runtime clock only counts whole seconds (its nanoseconds read 0 on
//! OVMF), far too coarse for TCP timers; the counter is read without a firmware call.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use smoltcp::time::Instant;

/// How long the calibration stalls: the two counter reads cost well under a microsecond,
/// so 20 ms gives the rate to a few parts in 100,000 beside `Stall`'s own accuracy, and
/// start-up waits no longer.
const CALIBRATION: Duration = Duration::from_millis(20);

/// Counter ticks per second (0 until calibrated) and the reading at calibration. Whole
/// ticks per microsecond would put the 19.2 MHz counter of many arm64 boards 1% off (read
/// as 19).
static TICKS_PER_SECOND: AtomicU64 = AtomicU64::new(0);
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
    let micros = CALIBRATION.as_micros().max(1);
    let rate = u128::from(after.wrapping_sub(before)) * 1_000_000 / micros;
    let rate = u64::try_from(rate).unwrap_or(u64::MAX).max(1);
    TICKS_PER_SECOND.store(rate, Ordering::Relaxed);
    START.store(before, Ordering::Relaxed);
    rate / 1_000_000
}

/// Microseconds since calibration.
pub fn now() -> Instant {
    let rate = u128::from(TICKS_PER_SECOND.load(Ordering::Relaxed).max(1));
    let elapsed = u128::from(ticks().wrapping_sub(START.load(Ordering::Relaxed)));
    let micros = elapsed * 1_000_000 / rate;
    Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
}
