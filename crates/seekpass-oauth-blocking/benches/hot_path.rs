//! The hot path of the blocking driver: `authorization()` with a usable token held, on one
//! thread and on every core at once, against the approach of a machine behind a mutex that
//! clones the token on every call (`Mutex<TokenClient>` + `Token::clone`), in the same run.
//!
//! `cargo bench -p seekpass-oauth-blocking --bench hot_path`

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use seekpass_oauth::{Config, Credentials, Endpoint, Origin, Output, TokenClient};
use seekpass_oauth_blocking::{Sender, TokenSource, UreqSender};
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

/// The machine behind a mutex, a token clone per call: what a caller writes by hand. Driven
/// to its first token against the demo server.
fn baseline_with_token(server: &DemoServer) -> Arc<(Mutex<TokenClient>, Origin)> {
    let origin = Origin::new(Instant::now());
    let now = || origin.time(Instant::now());
    let mut machine = TokenClient::new(config(server), now());
    let sender = UreqSender::new();
    while machine.token(now()).is_none() {
        if let Output::Transmit(transmit) = machine.poll(now()) {
            let (id, request) = transmit.into_parts();
            let deadline = Instant::now() + Duration::from_secs(30);
            let response = sender.send(request, deadline, 65_536).unwrap();
            machine.handle_response(id, response, now()).unwrap();
        }
    }
    Arc::new((Mutex::new(machine), origin))
}

fn bench(c: &mut Criterion) {
    let server = DemoServer::start(Duration::from_secs(86_400)).unwrap();
    let source = TokenSource::builder(config(&server)).build(UreqSender::new());
    source.authorization().unwrap();
    let baseline = baseline_with_token(&server);

    let mut group = c.benchmark_group("blocking_authorization");
    group.bench_function("one_thread", |b| {
        b.iter(|| black_box(source.authorization().unwrap()))
    });
    let s = source.clone();
    group.bench_function("every_core", move |b| {
        b.iter_custom(|iters| {
            let s = s.clone();
            on_threads(cores(), iters, move || {
                black_box(s.authorization().unwrap());
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

fn mutex_token(m: &(Mutex<TokenClient>, Origin)) -> seekpass_oauth::Token {
    let mut machine = m.0.lock().unwrap();
    machine.token(m.1.time(Instant::now())).cloned().unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
