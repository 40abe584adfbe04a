//! Heap allocations on the hot path and in a refresh cycle, counted by a global allocator.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::http::Response;
use seekpass_oauth::{Config, Credentials, Endpoint, Output, Scope, Time, TokenClient};
use seekpass_oauth_testkit::alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const BODY: &[u8] = br#"{"access_token":"w7Ev7uW_dIZm-_Ms1QUeYDCuHWJE3qYF-BjgWB79kGA","token_type":"Bearer","expires_in":7200,"scope":"write.education","created_at":1795798685}"#;

fn client() -> TokenClient {
    let config = Config::builder(
        Endpoint::staging(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()
    .unwrap();
    TokenClient::new(config, Time::ZERO)
}

/// Emits the request, feeds Doorkeeper's success, drains the events.
fn refresh_cycle(c: &mut TokenClient) {
    c.token(Time::ZERO);
    let Output::Transmit(t) = c.poll(Time::ZERO) else {
        panic!("no request")
    };
    let id = t.id();
    drop(t);
    c.handle_response(id, Response::new(BODY), Time::ZERO)
        .unwrap();
    while let Output::Event(e) = c.poll(Time::ZERO) {
        drop(e);
    }
}

// One test only: the counter is global, and tests in one binary run in parallel.
#[test]
fn hot_path_allocates_nothing_and_a_refresh_cycle_little() {
    let mut c = client();
    refresh_cycle(&mut c);
    let now = Time::from_secs(10);
    let hot = ALLOCATOR.allocations_in(|| {
        for _ in 0..1000 {
            let header = c.authorization(now).expect("fresh");
            std::hint::black_box(header);
        }
    });
    assert_eq!(hot, 0, "the hot path allocated");

    let mut fresh = client();
    let cycle = ALLOCATOR.allocations_in(|| refresh_cycle(&mut fresh));
    eprintln!("allocations in one refresh cycle: {cycle}");
    assert!(cycle <= 12, "{cycle} allocations in one refresh cycle");
}
