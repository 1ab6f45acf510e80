//! After start-up, serving requests allocates nothing: 10,000 HTTP requests (scripts by
//! UUID and by MAC, the chain script, a file, HEAD, 404s, new connections) through the
//! appliance over the in-memory link, with info-level logging on, and a counting global
//! allocator that must stay at zero for the whole window.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
// A global allocator is unsafe to implement; it only forwards to the system allocator.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Harness, Options, DEPLOYING_NODE};
use ipxe_config_server::host::FdLogger;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only this test's thread, and only inside the window, is counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn ten_thousand_requests_allocate_nothing() {
    // The counter itself works.
    COUNTING.with(|c| c.set(true));
    drop(std::hint::black_box(vec![1u8; 16]));
    COUNTING.with(|c| c.set(false));
    assert_eq!(ALLOCATIONS.swap(0, Ordering::SeqCst), 1);

    // Start-up: everything below may allocate.
    let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    FdLogger::new(devnull.into_raw_fd(), Some("debug")).install().unwrap();
    let mut h = Harness::new(Options::new("no_alloc"));
    h.write_file("images/ipa.kernel", &vec![0x5a; 50_000]);
    let by_uuid = format!(
        "GET /v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE} HTTP/1.1\r\nHost: 10.99.0.1\r\n\r\n"
    );
    let requests: [(&[u8], u16, bool); 7] = [
        (by_uuid.as_bytes(), 200, true),
        (
            b"GET /v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A00%3A00%3A01 HTTP/1.1\r\nConnection: keep-alive\r\nUser-Agent: iPXE/1.0.0+git-20190125.36a4c85-5.1\r\nHost: 10.99.0.1\r\n\r\n",
            200,
            true,
        ),
        (b"GET /v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000006-0000-4000-8000-000000000006 HTTP/1.1\r\n\r\n", 200, true),
        (b"GET /boot.ipxe HTTP/1.1\r\n\r\n", 200, true),
        (b"GET /images/ipa.kernel HTTP/1.1\r\n\r\n", 200, true),
        (b"HEAD /images/ipa.kernel HTTP/1.1\r\n\r\n", 200, false),
        (b"GET /nothing/here HTTP/1.1\r\n\r\n", 404, true),
    ];
    h.connect(0);
    // Warm-up: one of each, outside the window.
    for (request, status, body) in requests {
        h.send(0, request);
        let (got, head, len) = h.read_response_in_place(0, body);
        assert_eq!(got, status);
        h.pending[0].drain(..head + len);
    }

    COUNTING.with(|c| c.set(true));
    let mut served = 0;
    while served < 10_000 {
        // A new connection every 500 requests: accepting and closing must not allocate either.
        if served % 500 == 499 {
            h.connect(0);
        }
        let (request, status, body) = requests[served % requests.len()];
        h.send(0, request);
        let (got, head, len) = h.read_response_in_place(0, body);
        if got != status {
            COUNTING.with(|c| c.set(false));
            panic!("request {served}: status {got}, expected {status}");
        }
        h.pending[0].drain(..head + len);
        served += 1;
    }
    COUNTING.with(|c| c.set(false));

    assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "allocations while serving {served} requests");
    assert_eq!(h.appliance.files_mut().open_count(), 0);
}
