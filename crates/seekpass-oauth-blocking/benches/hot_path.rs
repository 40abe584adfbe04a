//! The hot path of the blocking driver: `authorization()` with a usable token held, on one
//! thread and on every core at once, against two hand-written alternatives in the same run: the
//! machine behind a mutex (`Mutex<TokenClient>`, cloning the `Authorization` value) and the
//! value behind a read-write lock (`RwLock<HeaderValue>` with its deadline). All three read the
//! same clock and clone only the header value (see the test kit's `baseline`).
//!
//! `cargo bench -p seekpass-oauth-blocking --bench hot_path`

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{Sender, TokenSource, UreqSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::baseline::{one_thread_and_every_core, MutexBaseline, RwLockBaseline};

fn config(server: &DemoServer) -> Config {
    Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let server = DemoServer::start(Duration::from_secs(86_400)).unwrap();
    let source = TokenSource::builder(config(&server)).build(UreqSender::new());
    source.authorization().unwrap();
    let sender = UreqSender::new();
    let baseline = Arc::new(MutexBaseline::new(config(&server), |request| {
        let deadline = Instant::now() + Duration::from_secs(30);
        sender.send(request, deadline, 65_536).unwrap()
    }));
    let rwlock = Arc::new(RwLockBaseline::new(baseline.snapshot()));

    let mut group = c.benchmark_group("blocking_authorization");
    let s = source.clone();
    one_thread_and_every_core(&mut group, "", move || {
        black_box(s.authorization().unwrap());
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
