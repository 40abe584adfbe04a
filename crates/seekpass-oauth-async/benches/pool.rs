//! The async pool's hot path: `SourcePool::authorization(&key).await` on a pool of 10,000 keys
//! with usable tokens, on one thread and on every core at once, each thread walking the keys
//! in its own order; against 10,000 separate `TokenSource`s (one per key, found in a `Vec`)
//! in the same run. The walk over all 10,000 keys reads memory no cache holds; the `hot_`
//! cases walk the 100 keys a skewed load asks for most, which stay cached. Each call's future
//! is polled once with a no-op waker: with a token held it is ready at once, so this measures
//! the call, not an executor.
//!
//! `cargo bench -p seekpass-oauth-async --bench pool`

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::PoolLimits;
use seekpass_oauth_async::{ReqwestSender, SourcePool, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_SECRET};
use seekpass_oauth_testkit::baseline::one_thread_and_every_core;
use seekpass_oauth_testkit::demo::config;
use seekpass_oauth_testkit::future::ready;
use seekpass_oauth_testkit::pool::{next_hot_key, next_key, BENCH_KEYS};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The demo server knows one client: every key, and every separate source, uses it.
    let server = DemoServer::start(Duration::from_secs(86_400)).unwrap();
    let base = server.base_url();
    let sender = ReqwestSender::new().unwrap();
    let limits = PoolLimits::default()
        .max_entries(BENCH_KEYS as usize)
        .max_per_second(1_000_000);
    let (pool, sources) = runtime.block_on(async {
        let resolver_base = base.clone();
        let pool = SourcePool::builder(move |_key: &u32| {
            std::future::ready(Some(config(&resolver_base, CLIENT_SECRET)))
        })
        .limits(limits)
        .spawn(sender.clone());
        let sources: Vec<TokenSource> = (0..BENCH_KEYS)
            .map(|_| TokenSource::builder(config(&base, CLIENT_SECRET)).spawn(sender.clone()))
            .collect();
        for key in 0..BENCH_KEYS {
            pool.authorization(&key).await.unwrap();
            sources[key as usize].authorization().await.unwrap();
        }
        (pool, Arc::new(sources))
    });

    let mut group = c.benchmark_group("async_pool_authorization");
    let hot_pool = pool.clone();
    one_thread_and_every_core(&mut group, "pool_", move || {
        black_box(ready(pool.authorization(&next_key())).unwrap());
    });
    let hot_sources = Arc::clone(&sources);
    one_thread_and_every_core(&mut group, "separate_sources_", move || {
        black_box(ready(sources[next_key() as usize].authorization()).unwrap());
    });
    one_thread_and_every_core(&mut group, "hot_pool_", move || {
        black_box(ready(hot_pool.authorization(&next_hot_key())).unwrap());
    });
    one_thread_and_every_core(&mut group, "hot_separate_sources_", move || {
        black_box(ready(hot_sources[next_hot_key() as usize].authorization()).unwrap());
    });
    group.finish();
    drop(runtime);
}

criterion_group!(benches, bench);
criterion_main!(benches);
