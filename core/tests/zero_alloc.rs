//! Proof that the core never allocates: a counting global allocator watches this thread
//! while the fixture inventories load and every golden case renders.

// A global allocator cannot be written without `unsafe`; it only forwards to `System`.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ipxe_config::{render, Route};

struct CountingAllocator;

thread_local! {
    // const-initialised, so touching them never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are
// thread-local cells, which do not allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|count| count.set(count.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `work` and returns how many allocations it made on this thread.
fn allocations_during(work: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|count| count.set(0));
    COUNTING.with(|on| on.set(true));
    work();
    COUNTING.with(|on| on.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_sees_allocations() {
    // A test that cannot fail is a defect: prove the allocator is really counting.
    let counted = allocations_during(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(counted, 1);
}

#[test]
fn loading_and_rendering_every_golden_case_allocates_nothing() {
    let inventory_json = std::fs::read(common::fixture("inventory.json")).expect("fixture");
    let ironic_json = std::fs::read(common::fixture("ironic-detail.json")).expect("fixture");
    let cases = common::golden_cases();
    let mut storage = common::Storage::new(64, 64, 16 * 1024);
    let mut ironic_storage = common::Storage::new(8, 8, 4096);
    let mut out = vec![0u8; 4096];
    let mut rendered_bytes = 0;

    let counted = allocations_during(|| {
        ironic_storage.load(&ironic_json).expect("ironic fixture loads");
        let inventory = storage.load(&inventory_json).expect("fixture loads");
        for case in &cases {
            let route = Route::parse(case.target.as_bytes()).expect("valid target");
            rendered_bytes += render(&inventory, &case.config, &route, &mut out).expect("fits").len;
        }
    });
    assert!(rendered_bytes > cases.len() * 100, "every case rendered a script");
    assert_eq!(counted, 0, "allocations while loading and rendering");
}
