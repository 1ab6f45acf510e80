//! Allocations per request in the host appliance's steady state.
//!
//! The appliance is set up as `ipxe-config-appliance` sets itself up by default (buffers
//! from `host::leak_buffers`, DHCP and router advertisements on, a `DirectoryFiles` file
//! root, the `FdLogger` at `info`, here writing to /dev/null, and a microsecond clock for
//! the access log), then serves a warm-up round and 10,000 requests over the in-memory
//! link: scripts by MAC and by UUID, the chain script, an error script, a file, `HEAD`,
//! a `404`, and a new connection for every fourth request. A counting global allocator
//! counts every allocation in the process during those requests (the client side
//! allocates nothing by construction). Prints `allocations_per_request=<value>`, which
//! `cargo xtask bench` requires to be 0.
//!
//! `cargo bench -p ipxe-config-server --bench alloc_per_request` (`-- --test`: 1,000 requests).

// Benchmark set-up: a panic here is a broken harness, not an input path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
// A global allocator is unsafe to implement; this one only counts and forwards to the system's.
#![allow(unsafe_code)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use ipxe_config_server::host::{DirectoryFiles, FdLogger};
use smoltcp::time::Instant;

use support::{binary_sizes, settings, World, SCRIPT_BY_MAC, SCRIPT_BY_UUID};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The binary's clock: microseconds since start-up.
fn clock() -> Instant {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let elapsed = START.get_or_init(std::time::Instant::now).elapsed();
    Instant::from_micros(i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
}

/// One request of the cycle: method, target, expected status, whether it opens a new
/// connection (with `Connection: close`).
type Request = (&'static str, &'static str, u16, bool);

const CYCLE: [Request; 8] = [
    ("GET", SCRIPT_BY_MAC, 200, true),
    ("GET", SCRIPT_BY_UUID, 200, false),
    ("GET", SCRIPT_BY_MAC, 200, false),
    ("GET", "/boot.ipxe", 200, false),
    ("GET", SCRIPT_BY_MAC, 200, true),
    ("GET", "/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000006-0000-4000-8000-000000000006", 200, false),
    ("GET", "/images/ipa.kernel", 200, false),
    ("HEAD", "/images/ipa.kernel", 200, false),
];

fn serve(w: &mut World<DirectoryFiles>, (method, target, status, new_connection): Request, index: usize) {
    if new_connection {
        // Done with the keep-alive connection: close it as a client would.
        w.close();
        w.connect();
    }
    w.send_request(method, target, !new_connection);
    let response = w.read_response(method != "HEAD");
    if response.status != status {
        COUNTING.store(false, Ordering::SeqCst);
        panic!("request {index} ({method} {target}): status {}, expected {status}", response.status);
    }
    w.received.drain(..response.head_len + response.body_len);
    if new_connection {
        w.close();
        w.connect();
    }
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--test");
    let requests: u32 = if quick { 1_000 } else { 10_000 };

    // The counter itself works.
    COUNTING.store(true, Ordering::SeqCst);
    drop(std::hint::black_box(vec![1u8; 16]));
    COUNTING.store(false, Ordering::SeqCst);
    assert_eq!(ALLOCATIONS.swap(0, Ordering::SeqCst), 1, "the counting allocator counts");

    // Start-up, as the binary's: everything here may allocate.
    let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
    FdLogger::new(devnull.into_raw_fd(), Some("info")).install().expect("logger");
    let root = std::env::temp_dir().join(format!("ipxe-config-alloc-bench-{}", std::process::id()));
    std::fs::create_dir_all(root.join("images")).expect("file root");
    std::fs::write(root.join("images/ipa.kernel"), vec![0x5a; 200_000]).expect("file");
    let sizes = binary_sizes();
    let files = DirectoryFiles::open(&root).expect("file root");
    let mut settings = settings();
    settings.clock = Some(clock);
    let mut w = World::new(settings, &sizes, files);
    w.connect();
    // Warm-up: the whole cycle twice, outside the window.
    for (index, request) in CYCLE.iter().chain(CYCLE.iter()).enumerate() {
        serve(&mut w, *request, index);
    }

    COUNTING.store(true, Ordering::SeqCst);
    for (index, request) in CYCLE.iter().cycle().take(requests as usize).enumerate() {
        serve(&mut w, *request, index);
    }
    COUNTING.store(false, Ordering::SeqCst);

    let allocations = u32::try_from(ALLOCATIONS.load(Ordering::SeqCst)).unwrap_or(u32::MAX);
    let open_files = w.appliance.files_mut().open_count();
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(open_files, 0, "every response closed its file");
    println!("requests={requests} allocations={allocations}");
    println!("allocations_per_request={}", f64::from(allocations) / f64::from(requests));
}
