//! What an idle entry of the keyed pool costs: the heap bytes a pool of 1,000 keys, each with a
//! two-hour token and nothing to do, holds beyond its keys' configurations, per key. Counted by
//! a global allocator for this thread's allocations (`docs/pool.md` states the figure).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::TokenPool;
use seekpass_oauth_testkit::alloc::CountingAllocator;
use seekpass_oauth_testkit::pool::{config_bytes, room_for, PoolScenario};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const KEYS: u32 = 1_000;

#[test]
fn an_idle_entry_holds_at_most_2_kib_beyond_its_configuration() {
    // A configuration alone: its inline size and what it keeps on the heap.
    let config_bytes = config_bytes(&ALLOCATOR, KEYS);

    let limits = room_for(KEYS);
    let mut kept = None;
    let pool_heap = ALLOCATOR.bytes_kept_by(|| {
        let mut s = PoolScenario::new(limits);
        s.warm(0..KEYS);
        // Only the pool is kept: the scenario's logs are freed here, and not counted.
        kept = Some(s.pool);
    });
    let pool = kept.unwrap();
    assert_eq!(pool.len(), KEYS as usize);
    let inline = std::mem::size_of::<TokenPool<u32>>() as isize;
    let per_entry = (pool_heap + inline) / KEYS as isize;
    let beyond = per_entry - config_bytes;
    eprintln!("per idle entry: {per_entry} bytes, of which the configuration {config_bytes}: {beyond} beyond it");
    // Measured: 1,616 bytes (docs/pool.md has what they are). The goal is 2,048 with the
    // driver's record of the key (`crates/seekpass-oauth-driver/src/pool/tests.rs`).
    assert!(beyond <= 2_048, "{beyond} bytes beyond the configuration");
}
