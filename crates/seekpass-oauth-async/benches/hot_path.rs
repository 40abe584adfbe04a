//! The hot path of the async driver: `authorization().await` with a usable token held, on one
//! thread and on every core at once, against a machine behind a mutex that clones the token
//! on every call (`Mutex<TokenClient>` + `Token::clone`, the hand-written approach), in the
//! same run. Each call's future is polled once with a no-op waker: with a token held it is
//! ready at once, so this measures the call, not an executor.
//!
//! `cargo bench -p seekpass-oauth-async --bench hot_path`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::{Config, Credentials, Endpoint, Origin, Output, TokenClient};
use seekpass_oauth_async::{ReqwestSender, Sender, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::load::{cores, on_threads};

fn config(server: &DemoServer) -> Config {
    Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap()
}

/// Polls `future` once; it must be ready.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the hot path never waits with a token held"),
    }
}

/// The machine behind a mutex, driven to its first token against the demo server.
fn baseline_with_token(
    runtime: &tokio::runtime::Runtime,
    server: &DemoServer,
) -> Arc<(Mutex<TokenClient>, Origin)> {
    let origin = Origin::new(Instant::now());
    let now = || origin.time(Instant::now());
    let mut machine = TokenClient::new(config(server), now());
    let sender = ReqwestSender::new().unwrap();
    while machine.token(now()).is_none() {
        if let Output::Transmit(transmit) = machine.poll(now()) {
            let (id, request) = transmit.into_parts();
            let response = runtime.block_on(sender.send(request, 65_536)).unwrap();
            machine.handle_response(id, response, now()).unwrap();
        }
    }
    Arc::new((Mutex::new(machine), origin))
}

fn mutex_token(m: &(Mutex<TokenClient>, Origin)) -> seekpass_oauth::Token {
    let mut machine = m.0.lock().unwrap();
    machine.token(m.1.time(Instant::now())).cloned().unwrap()
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
    let baseline = baseline_with_token(&runtime, &server);

    let mut group = c.benchmark_group("async_authorization");
    group.bench_function("one_thread", |b| {
        b.iter(|| black_box(ready(source.authorization()).unwrap()))
    });
    let s = source.clone();
    group.bench_function("every_core", move |b| {
        b.iter_custom(|iters| {
            let s = s.clone();
            on_threads(cores(), iters, move || {
                black_box(ready(s.authorization()).unwrap());
            })
        })
    });
    let m = Arc::clone(&baseline);
    group.bench_function("mutex_clone_one_thread", move |b| {
        b.iter(|| black_box(mutex_token(&m)))
    });
    let m = Arc::clone(&baseline);
    group.bench_function("mutex_clone_every_core", move |b| {
        b.iter_custom(|iters| {
            let m = Arc::clone(&m);
            on_threads(cores(), iters, move || {
                black_box(mutex_token(&m));
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
