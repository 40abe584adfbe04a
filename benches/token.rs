//! The hot path and one full refresh cycle, with serde_json's parse of the same body as the
//! floor for response handling. Run with `cargo bench --bench token`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use seekpass_oauth::http::Response;
use seekpass_oauth::{Config, Credentials, Endpoint, Output, Scope, Time, TokenClient};

const BODY: &[u8] = br#"{"access_token":"w7Ev7uW_dIZm-_Ms1QUeYDCuHWJE3qYF-BjgWB79kGA","token_type":"Bearer","expires_in":7200,"scope":"write.education","created_at":1795798685}"#;

fn client() -> TokenClient {
    let config = Config::builder(
        Endpoint::staging(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()
    .expect("valid configuration");
    TokenClient::new(config, Time::ZERO)
}

fn success() -> Response<&'static [u8]> {
    let mut r = Response::new(BODY);
    r.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8".parse().expect("header"),
    );
    r
}

/// A client with a request in flight, and that request's id.
fn in_flight() -> (TokenClient, seekpass_oauth::RequestId) {
    let mut c = client();
    c.token(Time::ZERO);
    let Output::Transmit(t) = c.poll(Time::ZERO) else {
        unreachable!("a request is due")
    };
    (c, t.id())
}

fn drain(c: &mut TokenClient, now: Time) {
    while let Output::Event(e) = c.poll(now) {
        black_box(e);
    }
}

fn benches(c: &mut Criterion) {
    let (mut fresh, id) = in_flight();
    fresh
        .handle_response(id, success(), Time::ZERO)
        .expect("in flight");
    drain(&mut fresh, Time::ZERO);
    let now = Time::from_secs(10);
    c.bench_function("hot_path_authorization", |b| {
        b.iter(|| black_box(fresh.authorization(black_box(now)).is_some()))
    });

    c.bench_function("build_request", |b| {
        b.iter_batched(
            || {
                let mut c = client();
                c.token(Time::ZERO);
                c
            },
            |mut c| black_box(c.poll(Time::ZERO)),
            BatchSize::SmallInput,
        )
    });

    c.bench_function("refresh_cycle", |b| {
        b.iter_batched(
            || {
                let mut c = client();
                c.token(Time::ZERO);
                c
            },
            |mut c| {
                let Output::Transmit(t) = c.poll(Time::ZERO) else {
                    unreachable!()
                };
                c.handle_response(t.id(), success(), Time::ZERO)
                    .expect("in flight");
                drain(&mut c, Time::ZERO);
                black_box(c.authorization(Time::ZERO).is_some())
            },
            BatchSize::SmallInput,
        )
    });

    c.bench_function("handle_success_response", |b| {
        b.iter_batched(
            in_flight,
            |(mut c, id)| c.handle_response(id, success(), Time::ZERO),
            BatchSize::SmallInput,
        )
    });

    let answer = success();
    c.bench_function("classify_success_response", |b| {
        b.iter(|| black_box(seekpass_oauth::__bench::classify(black_box(&answer)).is_ok()))
    });

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Plain<'a> {
        access_token: &'a str,
        token_type: &'a str,
        expires_in: u64,
        scope: &'a str,
        created_at: u64,
    }
    c.bench_function("floor_serde_json_plain_struct", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Plain<'_>>(black_box(BODY)).is_ok()))
    });
}

criterion_group!(token, benches);
criterion_main!(token);
