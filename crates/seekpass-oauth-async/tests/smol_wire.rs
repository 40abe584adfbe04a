//! The async driver on async-io (smol's and async-std's reactor and timer) with the core's
//! wire codec over async-io's `TcpStream`: no tokio, no HTTP client.

use std::time::{Duration, Instant};

use seekpass_oauth::FailureClass;
use seekpass_oauth_async::{Error, TokenSource, WireSender};
use seekpass_oauth_demo::CLIENT_SECRET;
use seekpass_oauth_testkit::demo::start as demo;
use seekpass_oauth_testkit::load::together;
use seekpass_oauth_testkit::net::silent_server;

/// `n` callers on threads of their own, released together; their results.
fn run<T: Send + 'static>(
    source: &TokenSource,
    n: usize,
    call: impl Fn(TokenSource) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let source = source.clone();
    together(n, move || call(source.clone()))
}

#[test]
fn fifty_callers_on_a_cold_source_cause_exactly_one_token_request() {
    let (server, config) = demo(Duration::from_secs(60));
    let (source, driver) = TokenSource::builder(config).build_smol(WireSender::plain_tcp());
    let driver = std::thread::spawn(move || async_io::block_on(driver));
    let mut ids = run(&source, 50, |s| {
        async_io::block_on(s.served()).unwrap().token
    });
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(server.token_requests(), 1);
    drop(source);
    driver.join().expect("the driver ends with the last handle");
}

#[test]
fn a_permanent_failure_reaches_every_caller() {
    let (server, _) = demo(Duration::from_secs(60));
    let config = seekpass_oauth_testkit::demo::config(&server.base_url(), "wrong");
    let (source, driver) = TokenSource::builder(config).build_smol(WireSender::plain_tcp());
    std::thread::spawn(move || async_io::block_on(driver));
    for result in run(&source, 20, |s| async_io::block_on(s.authorization())) {
        assert_eq!(result.unwrap_err().class(), FailureClass::Permanent);
    }
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn a_server_that_never_answers_meets_the_deadline_and_the_attempt_limit() {
    let config = seekpass_oauth_testkit::demo::config(&silent_server(), CLIENT_SECRET)
        .to_builder()
        .request_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let (source, driver) = TokenSource::builder(config)
        .max_attempts(2)
        .build_smol(WireSender::plain_tcp());
    std::thread::spawn(move || async_io::block_on(driver));
    let started = Instant::now();
    for result in run(&source, 10, |s| async_io::block_on(s.authorization())) {
        assert!(
            matches!(result, Err(Error::GaveUp { attempts: 2, .. })),
            "{result:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));
}
