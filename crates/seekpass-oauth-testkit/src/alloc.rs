//! A global allocator that counts the allocations one thread makes while it is measuring, so a
//! test can say "this call allocates nothing" while other threads (a demo server, a driver task)
//! allocate freely.
//!
//! ```
//! use seekpass_oauth_testkit::alloc::CountingAllocator;
//!
//! #[global_allocator]
//! static ALLOCATOR: CountingAllocator = CountingAllocator::new();
//!
//! assert_eq!(ALLOCATOR.allocations_in(|| drop(std::hint::black_box(Box::new(1)))), 1);
//! assert_eq!(ALLOCATOR.allocations_in(|| {}), 0);
//! ```
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    /// This thread's count: threads measuring at once never see each other's allocations.
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Bytes this thread allocated and freed while measuring.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static FREED: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, counting allocations and reallocations made by a thread inside
/// [`CountingAllocator::allocations_in`], each thread on its own.
pub struct CountingAllocator;

impl CountingAllocator {
    /// The allocator; install it with `#[global_allocator]`.
    #[must_use]
    pub const fn new() -> CountingAllocator {
        CountingAllocator
    }

    /// How many allocations (and reallocations) this thread made while running `f`.
    pub fn allocations_in(&self, f: impl FnOnce()) -> usize {
        let before = COUNT.with(Cell::get);
        MEASURING.with(|m| m.set(true));
        f();
        MEASURING.with(|m| m.set(false));
        COUNT.with(Cell::get).saturating_sub(before)
    }

    /// The bytes this thread allocated while running `f` and did not free by its end: what
    /// the values `f` made and kept hold on the heap.
    pub fn bytes_kept_by(&self, f: impl FnOnce()) -> isize {
        let (allocated, freed) = (ALLOCATED.with(Cell::get), FREED.with(Cell::get));
        self.allocations_in(f);
        let allocated = ALLOCATED.with(Cell::get).saturating_sub(allocated);
        let freed = FREED.with(Cell::get).saturating_sub(freed);
        isize::try_from(allocated).unwrap_or(isize::MAX)
            - isize::try_from(freed).unwrap_or(isize::MAX)
    }

    fn bytes(&self, counter: &'static std::thread::LocalKey<Cell<usize>>, n: usize) {
        if MEASURING.try_with(Cell::get).unwrap_or(false) {
            let _ = counter.try_with(|c| c.set(c.get().saturating_add(n)));
        }
    }

    fn note(&self) {
        // `try_with`: during thread teardown the flags may be gone; nothing is measured then.
        if MEASURING.try_with(Cell::get).unwrap_or(false) {
            let _ = COUNT.try_with(|c| c.set(c.get().saturating_add(1)));
        }
    }
}

impl Default for CountingAllocator {
    fn default() -> CountingAllocator {
        CountingAllocator::new()
    }
}

// SAFETY: every call is passed on unchanged to the system allocator; counting touches only
// const-initialised thread-locals, which do not allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note();
        self.bytes(&ALLOCATED, layout.size());
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.bytes(&FREED, layout.size());
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note();
        self.bytes(&FREED, layout.size());
        self.bytes(&ALLOCATED, new_size);
        // SAFETY: as for `dealloc`, and the caller's contract for `realloc` is the system's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
