//! The pool's hot path: `SourcePool::authorization(&key)` on a pool of 10,000 keys with usable
//! tokens, on one thread and on every core at once, each thread walking the keys in its own
//! order; against 10,000 separate `TokenSource`s (one per key, found in a `Vec`) in the same
//! run, and against a floor: the pool's own values in a plain `HashMap`, read with no lock and
//! no clock (on every core its threads clone the same values, so both write their reference
//! counts). The walk over all 10,000 keys reads memory no cache holds; the `hot_` cases walk
//! the 100 keys a skewed load asks for most, which stay cached.
//!
//! `cargo bench -p seekpass-oauth-blocking --bench pool`

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::PoolLimits;
use seekpass_oauth_blocking::{SourcePool, TokenSource};
use seekpass_oauth_testkit::baseline::one_thread_and_every_core;
use seekpass_oauth_testkit::pool::{config, next_hot_key, next_key, PoolEndpoint, BENCH_KEYS};

fn bench(c: &mut Criterion) {
    let endpoint = PoolEndpoint::issuing();
    let sender = endpoint.clone();
    let limits = PoolLimits::default()
        .max_entries(BENCH_KEYS as usize)
        .max_per_second(1_000_000);
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .limits(limits)
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    let sources: Arc<Vec<TokenSource>> = Arc::new(
        (0..BENCH_KEYS)
            .map(|key| {
                let sender = endpoint.clone();
                TokenSource::builder(config(key))
                    .build(move |request, _deadline, _max_body| sender.answer(&request))
            })
            .collect(),
    );
    for key in 0..BENCH_KEYS {
        pool.authorization(&key).unwrap();
        sources[key as usize].authorization().unwrap();
    }

    // The floor: the pool's own values in a plain map, read with no lock and no clock.
    let floor: Arc<HashMap<u32, HeaderValue>> = Arc::new(
        (0..BENCH_KEYS)
            .map(|key| (key, pool.authorization(&key).unwrap()))
            .collect(),
    );
    let hot_floor = Arc::clone(&floor);

    let mut group = c.benchmark_group("pool_authorization");
    one_thread_and_every_core(&mut group, "floor_map_", move || {
        black_box(floor[&next_key()].clone());
    });
    one_thread_and_every_core(&mut group, "hot_floor_map_", move || {
        black_box(hot_floor[&next_hot_key()].clone());
    });
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
