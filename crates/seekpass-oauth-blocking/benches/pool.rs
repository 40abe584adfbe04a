//! The pool's hot path: `SourcePool::authorization(&key)` on a pool of 10,000 keys with usable
//! tokens, on one thread and on every core at once, each thread walking the keys in its own
//! order; against 10,000 separate `TokenSource`s (one per key, found in a `Vec`) in the same
//! run. The walk over all 10,000 keys reads memory no cache holds; the `hot_` cases walk the
//! 100 keys a skewed load asks for most, which stay cached.
//!
//! `cargo bench -p seekpass-oauth-blocking --bench pool`

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::PoolLimits;
use seekpass_oauth_blocking::{SourcePool, TokenSource};
use seekpass_oauth_testkit::baseline::one_thread_and_every_core;
use seekpass_oauth_testkit::pool::{config, PoolEndpoint};

const KEYS: u32 = 10_000;

/// Where the next thread starts its walk: threads start far apart, so they do not ask for
/// the same key at the same moment.
static NEXT_START: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// Where this thread is in its walk over the keys.
    static AT: Cell<u32> = Cell::new(NEXT_START.fetch_add(KEYS / 7 + 1, Ordering::Relaxed) % KEYS);
}

/// The next key of this thread's walk: a stride coprime with `KEYS`, so every key comes up.
fn next_key() -> u32 {
    AT.with(|at| {
        let key = (at.get() + 7_919) % KEYS;
        at.set(key);
        key
    })
}

/// The hot keys: the first 100.
const HOT: u32 = 100;

/// The next key of this thread's walk over the hot keys.
fn next_hot_key() -> u32 {
    next_key() % HOT
}

fn bench(c: &mut Criterion) {
    let endpoint = PoolEndpoint::issuing();
    let sender = endpoint.clone();
    let limits = PoolLimits::default()
        .max_entries(KEYS as usize)
        .max_per_second(1_000_000);
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .limits(limits)
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    let sources: Arc<Vec<TokenSource>> = Arc::new(
        (0..KEYS)
            .map(|key| {
                let sender = endpoint.clone();
                TokenSource::builder(config(key))
                    .build(move |request, _deadline, _max_body| sender.answer(&request))
            })
            .collect(),
    );
    for key in 0..KEYS {
        pool.authorization(&key).unwrap();
        sources[key as usize].authorization().unwrap();
    }

    let mut group = c.benchmark_group("pool_authorization");
    let hot_pool = pool.clone();
    one_thread_and_every_core(&mut group, "pool_", move || {
        black_box(pool.authorization(&next_key()).unwrap());
    });
    let hot_sources = Arc::clone(&sources);
    one_thread_and_every_core(&mut group, "separate_sources_", move || {
        black_box(sources[next_key() as usize].authorization().unwrap());
    });
    one_thread_and_every_core(&mut group, "hot_pool_", move || {
        black_box(hot_pool.authorization(&next_hot_key()).unwrap());
    });
    one_thread_and_every_core(&mut group, "hot_separate_sources_", move || {
        black_box(
            hot_sources[next_hot_key() as usize]
                .authorization()
                .unwrap(),
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
