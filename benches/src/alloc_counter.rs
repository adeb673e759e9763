//! Counts heap allocations made by the current thread, and the bytes live on the
//! heap of the whole process.
//!
//! Install [`CountingAllocator`] as the global allocator of a bench or test binary,
//! then measure a closure with [`allocations_during`] or [`bytes_held_during`], or
//! read [`live_bytes`].
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated and not yet freed, by every thread.
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialized and without destructor, so reading it never allocates.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting each allocation and reallocation per thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// plain thread-local cell that neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: as for `dealloc`, with the caller's guarantee on `new_size`.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        // On failure the old block stays allocated.
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

/// Runs `f` and returns its result with the number of allocations it made on this
/// thread. Meaningful only when [`CountingAllocator`] is the global allocator.
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = f();
    let after = ALLOCATIONS.with(Cell::get);
    (result, after - before)
}

/// Bytes the process has allocated and not freed, counted since it started.
/// Meaningful only when [`CountingAllocator`] is the global allocator.
pub fn live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Runs `f` and returns its result with the bytes left allocated while it ran
/// (allocated minus freed), its result's own heap included. Counts the whole
/// process, so other threads must be idle meanwhile. Meaningful only when
/// [`CountingAllocator`] is the global allocator.
pub fn bytes_held_during<R>(f: impl FnOnce() -> R) -> (R, i64) {
    let before = live_bytes();
    let result = f();
    let after = live_bytes();
    let held = i64::try_from(after).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
    (result, held)
}
