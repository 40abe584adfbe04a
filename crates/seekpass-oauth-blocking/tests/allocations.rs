//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{TokenSource, UreqSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

#[test]
fn the_hot_path_allocates_nothing() {
    let server = DemoServer::start(Duration::from_secs(3600)).unwrap();
    let config = Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap();
    let source = TokenSource::builder(config).build(UreqSender::new());
    // The first call fetches; the second makes this thread's copy of the token.
    assert!(
        ALLOCATOR.allocations_in(|| drop(source.authorization().unwrap())) > 0,
        "the counter counts"
    );
    drop(source.authorization().unwrap());
    let n = ALLOCATOR.allocations_in(|| {
        for _ in 0..10_000 {
            std::hint::black_box(source.authorization().unwrap());
        }
    });
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}

/// The names of this process's threads that are the driver's short-lived refresh threads
/// (`seekpass-oauth refresh`, cut to the kernel's 15 characters).
#[cfg(target_os = "linux")]
fn refresh_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("seekpass-oauth"))
        .count()
}

/// A token of six seconds, then every refresh refused: the refresh is due at half its life and
/// backs off while the token is still served, until 5.4 s. Two threads call throughout. Only a
/// call that hands work to a new short-lived thread allocates (the spawn): one per attempt, and
/// at most one more per calling thread per attempt. That one is a call that found work due
/// while the attempt ran (the first demand after the attempt took the demand, or the back-off's
/// end) and reached the spawn only after the attempt's thread had ended: the step it starts
/// finds nothing to do. Unloaded, one such call in two attempts is typical (3 allocating calls
/// for 2 attempts); with both cores busy, 7 for 3 attempts was measured. Every other call
/// allocates nothing, and the refresh threads end.
#[test]
#[cfg(target_os = "linux")]
fn through_the_refresh_window_and_its_back_off_only_starting_a_refresh_allocates() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    use seekpass_oauth::http::Response;
    use seekpass_oauth::{TransportError, TransportErrorKind};

    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let sender = move |_request, _deadline, _max_body| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            let body = seekpass_oauth_testkit::body::token("six-seconds", 6);
            Ok(Response::new(body.into_bytes()))
        } else {
            Err(TransportError::new(
                TransportErrorKind::ConnectionRefused,
                "refused",
            ))
        }
    };
    let config = seekpass_oauth_testkit::demo::config("http://127.0.0.1:9", CLIENT_SECRET);
    let source = TokenSource::builder(config).build(sender);
    let token = source.token().unwrap();
    let started = Instant::now();
    // Stop a little before the token stops being served (5.4 s, less the coarse clock's margin).
    let until = started + Duration::from_millis(5_200);
    let calls = move |source: &TokenSource| {
        let mut allocating = 0;
        while Instant::now() < until {
            let n = ALLOCATOR.allocations_in(|| {
                std::hint::black_box(source.authorization().unwrap());
            });
            allocating += usize::from(n > 0);
        }
        allocating
    };
    let other = {
        let source = source.clone();
        std::thread::spawn(move || {
            drop(source.authorization().unwrap()); // this thread's copy of the token
            calls(&source)
        })
    };
    let allocating = calls(&source) + other.join().unwrap();
    let attempts = sent.load(Ordering::SeqCst) - 1;
    assert!(attempts >= 1, "the refresh ran: {attempts} attempts");
    let backing_off = matches!(
        source.state(),
        seekpass_oauth_blocking::State::Expiring {
            last_error: Some(_),
            ..
        }
    );
    assert!(
        backing_off,
        "the refresh failed and backs off: {:?}",
        source.state()
    );
    let threads = 2;
    assert!(
        allocating <= (1 + threads) * attempts,
        "{allocating} allocating calls for {attempts} refresh attempts"
    );
    assert_eq!(
        source.token().unwrap().id(),
        token.id(),
        "still the first token"
    );
    // Every refresh thread has ended (each lives for one attempt).
    let deadline = Instant::now() + Duration::from_secs(5);
    while refresh_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "a refresh thread is still running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// With no token and every attempt refused, a caller polling `try_served` in a loop starts a
/// short-lived thread only when work is due: the first demand, and each attempt at the end of
/// its back-off (plus at most one hand-off of demand per attempt, as above), not one per call.
#[test]
fn try_served_in_a_loop_through_an_outage_starts_threads_only_when_work_is_due() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    use seekpass_oauth::{TransportError, TransportErrorKind};

    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let sender = move |_request, _deadline, _max_body| {
        counter.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::new(
            TransportErrorKind::ConnectionRefused,
            "refused",
        ))
    };
    let config = seekpass_oauth_testkit::demo::config("http://127.0.0.1:9", CLIENT_SECRET);
    let source = TokenSource::builder(config).build(sender);
    let until = Instant::now() + Duration::from_millis(3_500);
    let (mut calls, mut allocating) = (0, 0);
    while Instant::now() < until {
        let n = ALLOCATOR.allocations_in(|| assert!(source.try_served().is_none()));
        allocating += usize::from(n > 0);
        calls += 1;
    }
    let attempts = sent.load(Ordering::SeqCst);
    assert!(attempts >= 2, "attempts at 0 s, 1 s, 3 s: {attempts}");
    assert!(
        allocating <= 2 * attempts,
        "{allocating} calls of {calls} started a thread, for {attempts} attempts"
    );
}
