//! The blocking pool: one token per key for any number of threads, unknown keys refused, one
//! key's failure or slowness kept from the others, the shared limits, events tagged with keys.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seekpass_oauth::{Event, FailureClass, PoolLimits};
use seekpass_oauth_blocking::{Error, SourcePool};
use seekpass_oauth_testkit::pool::{config, token, Answer, PoolEndpoint};

fn pool(endpoint: &PoolEndpoint, limits: PoolLimits) -> SourcePool<u32> {
    let endpoint = endpoint.clone();
    SourcePool::builder(|key: &u32| (key % 100 != 13).then(|| config(*key)))
        .limits(limits)
        .build(move |request, _deadline, _max_body| endpoint.answer(&request))
}

/// Calls `f` on `threads` threads per key at once; every result.
fn at_once<T: Send + 'static>(
    keys: &[u32],
    threads: usize,
    f: impl Fn(u32) -> T + Send + Sync + 'static,
) -> Vec<(u32, T)> {
    let f = Arc::new(f);
    let handles: Vec<_> = keys
        .iter()
        .flat_map(|key| std::iter::repeat_n(*key, threads))
        .map(|key| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || (key, f(key)))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn concurrent_callers_cost_one_request_per_key_and_each_key_has_its_own_token() {
    let endpoint = PoolEndpoint::issuing();
    let pool = pool(&endpoint, PoolLimits::default());
    let keys: Vec<u32> = (20..40).collect();
    let caller = pool.clone();
    let results = at_once(&keys, 10, move |key| caller.authorization(&key));
    for (key, header) in results {
        let header = header.unwrap();
        let expected = format!("Bearer {}", token(key, 1));
        assert_eq!(header.to_str().unwrap(), expected, "key {key}");
    }
    for key in keys {
        assert_eq!(endpoint.sent(key), 1, "key {key}");
    }
}

#[test]
fn a_key_the_resolver_does_not_know_is_refused_without_a_request() {
    let endpoint = PoolEndpoint::issuing();
    let pool = pool(&endpoint, PoolLimits::default());
    let error = pool.authorization(&13).unwrap_err();
    assert!(matches!(error, Error::UnknownKey), "{error}");
    assert_eq!(error.class(), FailureClass::Permanent);
    assert!(error.to_string().contains("no configuration for this key"));
    assert_eq!(endpoint.total(), 0);
    assert!(pool.authorization(&14).is_ok());
}

#[test]
fn one_keys_refused_credentials_leave_the_other_keys_served() {
    let endpoint = PoolEndpoint::new(|key| match key {
        1 => Answer::Status(401, r#"{"error":"invalid_client"}"#),
        _ => Answer::Token {
            expires_in: 7200,
            after: Duration::ZERO,
        },
    });
    let pool = pool(&endpoint, PoolLimits::default());
    let refused = pool.authorization(&1).unwrap_err();
    assert_eq!(refused.class(), FailureClass::Permanent, "{refused}");
    assert!(pool.authorization(&2).is_ok());
    assert_eq!(pool.state(&1).unwrap().name(), "failed");
    assert_eq!(pool.health(&2).unwrap().name(), "ready");
    assert_eq!(pool.health(&1).unwrap().name(), "unavailable");
}

/// Key 1's endpoint takes 2 s to answer; key 2's caller, arriving while key 1's request is
/// out, is served within a second (its request runs on a worker of its own).
#[test]
fn a_slow_key_does_not_hold_up_another_keys_callers() {
    let endpoint = PoolEndpoint::new(|key| Answer::Token {
        expires_in: 7200,
        after: Duration::from_millis(if key == 1 { 2_000 } else { 0 }),
    });
    let pool = pool(&endpoint, PoolLimits::default());
    let slow = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.authorization(&1))
    };
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    assert!(pool.authorization(&2).is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(slow.join().unwrap().is_ok());
}

#[test]
fn no_more_than_max_in_flight_requests_are_out_across_keys() {
    let endpoint = PoolEndpoint::new(|_| Answer::Token {
        expires_in: 7200,
        after: Duration::from_millis(50),
    });
    let pool = pool(&endpoint, PoolLimits::default().max_in_flight(3));
    let keys: Vec<u32> = (1..=12).collect();
    let caller = pool.clone();
    let results = at_once(&keys, 2, move |key| caller.authorization(&key));
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(endpoint.total(), 12);
    assert!(
        endpoint.most_in_flight() <= 3,
        "{}",
        endpoint.most_in_flight()
    );
    assert_eq!(endpoint.most_in_flight(), 3, "the budget is used");
}

#[test]
fn invalidate_fetches_the_keys_next_token_and_forget_resolves_it_again() {
    let endpoint = PoolEndpoint::issuing();
    let resolved = Arc::new(Mutex::new(0));
    let count = Arc::clone(&resolved);
    let sender = endpoint.clone();
    let pool = SourcePool::builder(move |key: &u32| {
        *count.lock().unwrap() += 1;
        Some(config(*key))
    })
    .build(move |request, _deadline, _max_body| sender.answer(&request));
    let first = pool.served(&5).unwrap();
    assert!(pool.invalidate(&5, first.token));
    assert!(!pool.invalidate(&5, first.token), "taken once");
    let second = pool.served(&5).unwrap();
    assert_ne!(second.token, first.token);
    assert_eq!(endpoint.sent(5), 2);
    assert!(pool.forget(&5));
    assert!(pool.state(&5).is_none());
    assert!(pool.authorization(&5).is_ok());
    assert_eq!(*resolved.lock().unwrap(), 2, "resolved again after forget");
}

#[test]
fn events_reach_the_handler_tagged_with_their_key() {
    let endpoint = PoolEndpoint::issuing();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let sender = endpoint.clone();
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .on_event(move |key, event| {
            if matches!(event, Event::TokenAcquired { .. }) {
                log.lock().unwrap().push(*key);
            }
        })
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    pool.authorization(&7).unwrap();
    pool.authorization(&8).unwrap();
    // The worker hands events on after it lets go of the pool's lock, so a caller may be
    // served before the handler has run: wait for it (5 s at most).
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut keys = seen.lock().unwrap().clone();
    keys.sort_unstable();
    assert_eq!(keys, [7, 8]);
}

#[test]
fn a_caller_waits_at_most_max_wait() {
    let endpoint = PoolEndpoint::new(|_| Answer::Token {
        expires_in: 7200,
        after: Duration::from_millis(1_500),
    });
    let sender = endpoint.clone();
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .max_wait(Duration::from_millis(200))
        .build(move |request, _deadline, _max_body| sender.answer(&request));
    let error = pool.authorization(&1).unwrap_err();
    assert!(matches!(error, Error::TimedOut { .. }), "{error}");
}

/// Four-second tokens, refreshed from 2 s on (half their life), and the refresh held at the
/// endpoint until the test lets it go: meanwhile every call is served the old token at once (a
/// call that waited would fail: `max_wait` is 100 ms), and then the new token replaces it.
#[test]
fn a_refresh_runs_on_a_worker_while_callers_keep_being_served() {
    use seekpass_oauth_testkit::body::{response, token as token_body};
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let sent = Arc::new(Mutex::new(0));
    let (held, count) = (Arc::clone(&gate), Arc::clone(&sent));
    let pool = SourcePool::builder(|key: &u32| Some(config(*key)))
        .max_wait(Duration::from_millis(100))
        .build(move |_request, _deadline, _max_body| {
            let n = {
                let mut n = count.lock().unwrap();
                *n += 1;
                *n
            };
            if n > 1 {
                let (open, signal) = &*held;
                let _open = signal
                    .wait_while(open.lock().unwrap(), |open| !*open)
                    .unwrap();
            }
            Ok(response(200, &token_body(&token(1, n), 4)))
        });
    let first = pool.served(&1).unwrap().token;
    let deadline = Instant::now() + Duration::from_secs(10);
    while *sent.lock().unwrap() < 2 {
        assert_eq!(pool.served(&1).unwrap().token, first);
        assert!(Instant::now() < deadline, "the refresh never started");
    }
    for _ in 0..1_000 {
        assert_eq!(
            pool.served(&1).unwrap().token,
            first,
            "the old token, at once"
        );
    }
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    while pool.served(&1).unwrap().token == first {
        assert!(Instant::now() < deadline, "the new token never came");
    }
    assert_eq!(*sent.lock().unwrap(), 2);
}
