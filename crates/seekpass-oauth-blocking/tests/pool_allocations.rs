//! With usable tokens held, `SourcePool::authorization` allocates nothing: counted by a global
//! allocator for this thread's calls alone.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::PoolLimits;
use seekpass_oauth_blocking::SourcePool;
use seekpass_oauth_testkit::alloc::CountingAllocator;
use seekpass_oauth_testkit::pool::{config, PoolEndpoint};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

#[test]
fn the_pools_hot_path_allocates_nothing() {
    let endpoint = PoolEndpoint::issuing();
    let sender = endpoint.clone();
    // Room for the 100 first requests at once (20 a second by default).
    let limits = PoolLimits::default().max_per_second(1_000);
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .limits(limits)
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    let keys: Vec<u32> = (0..100).collect();
    for key in &keys {
        drop(pool.authorization(key).unwrap());
    }
    assert!(
        ALLOCATOR.allocations_in(|| drop(pool.authorization(&1_000).unwrap())) > 0,
        "the counter counts: a new key allocates"
    );
    // The new key's token leaves the pool a moment to step at soon (a worker thread the next
    // call starts, allocating), and a thread's first read of a key makes its stripe's copy of
    // the token: once per moment and per thread and token, not per call. One walk first.
    for key in &keys {
        drop(pool.authorization(key).unwrap());
    }
    let n = ALLOCATOR.allocations_in(|| {
        for i in 0..10_000 {
            let key = &keys[i % keys.len()];
            std::hint::black_box(pool.authorization(key).unwrap());
        }
    });
    assert_eq!(
        n, 0,
        "allocations in 10,000 calls over 100 keys with tokens held"
    );
}
