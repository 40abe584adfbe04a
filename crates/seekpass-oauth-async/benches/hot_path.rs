//! The hot path of the async driver: `authorization().await` with a usable token held, on one
//! thread and on every core at once, against two hand-written alternatives in the same run: the
//! machine behind a mutex (`Mutex<TokenClient>`, cloning the `Authorization` value) and the
//! value behind a read-write lock (`RwLock<HeaderValue>` with its deadline). All three read the
//! same clock and clone only the header value (see the test kit's `baseline`). Each call's future is polled once with a no-op waker: with a token held it is
//! ready at once, so this measures the call, not an executor.
//!
//! `cargo bench -p seekpass-oauth-async --bench hot_path`

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, Sender, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::baseline::{one_thread_and_every_core, MutexBaseline, RwLockBaseline};
use seekpass_oauth_testkit::future::ready;

fn config(server: &DemoServer) -> Config {
    Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = DemoServer::start(Duration::from_secs(86_400)).unwrap();
    let source = runtime.block_on(async {
        let source = TokenSource::builder(config(&server)).spawn(ReqwestSender::new().unwrap());
        source.authorization().await.unwrap();
        source
    });
    let sender = ReqwestSender::new().unwrap();
    let baseline = Arc::new(MutexBaseline::new(config(&server), |request| {
        runtime.block_on(sender.send(request, 65_536)).unwrap()
    }));
    let rwlock = Arc::new(RwLockBaseline::new(baseline.snapshot()));

    let mut group = c.benchmark_group("async_authorization");
    let s = source.clone();
    one_thread_and_every_core(&mut group, "", move || {
        black_box(ready(s.authorization()).unwrap());
    });
    one_thread_and_every_core(&mut group, "mutex_clone_", move || {
        black_box(baseline.authorization());
    });
    one_thread_and_every_core(&mut group, "rwlock_value_", move || {
        black_box(rwlock.authorization());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
