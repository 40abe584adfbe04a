//! The blocking driver against the embedded demo server: single flight across threads,
//! failures that reach every waiting thread, bounded waits, refresh ahead of expiry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seekpass_oauth::{Credentials, Event, FailureClass};
use seekpass_oauth_blocking::{Error, TokenSource, UreqSender, WireSender};
use seekpass_oauth_demo::{CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::demo::{config, start as demo};
use seekpass_oauth_testkit::load::together;
use seekpass_oauth_testkit::net::silent_server;

#[test]
fn fifty_threads_on_a_cold_source_cause_exactly_one_token_request() {
    for sender in ["ureq", "wire"] {
        let (server, config) = demo(Duration::from_secs(60));
        let source = match sender {
            "ureq" => TokenSource::builder(config).build(UreqSender::new()),
            _ => TokenSource::builder(config).build(WireSender::plain_tcp()),
        };
        let s = source.clone();
        let mut ids: Vec<_> = together(50, move || s.served().unwrap().token);
        ids.dedup();
        assert_eq!(ids.len(), 1, "{sender}: every thread got the same token");
        assert_eq!(server.token_requests(), 1, "{sender}");
        for _ in 0..1000 {
            source.authorization().unwrap();
        }
        assert_eq!(server.token_requests(), 1, "{sender}");
    }
}

#[test]
fn a_permanent_failure_reaches_every_waiting_thread_at_once() {
    let (server, _) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config(&server.base_url(), "wrong")).build(UreqSender::new());
    let started = Instant::now();
    let s = source.clone();
    for result in together(20, move || s.authorization()) {
        let error = result.unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent, "{error}");
        assert!(error.to_string().contains("invalid_client"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn a_server_that_never_answers_meets_the_deadline_and_the_attempt_limit() {
    let base = silent_server();
    let config = config(&base, CLIENT_SECRET)
        .to_builder()
        .request_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let failures = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&failures);
    let source = TokenSource::builder(config)
        .max_attempts(2)
        .on_event(move |e| {
            if matches!(e, Event::AttemptFailed { .. }) {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build(WireSender::plain_tcp());
    let started = Instant::now();
    let s = source.clone();
    for result in together(10, move || s.authorization()) {
        match result.unwrap_err() {
            Error::GaveUp {
                class, attempts, ..
            } => assert_eq!((class, attempts), (FailureClass::Transient, 2)),
            other => panic!("{other}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failures.load(Ordering::SeqCst), 2);
}

#[test]
fn the_wait_is_bounded_while_another_thread_is_stuck_sending() {
    let base = silent_server();
    let config = config(&base, CLIENT_SECRET)
        .to_builder()
        .request_deadline(Duration::from_secs(2))
        .build()
        .unwrap();
    let source = TokenSource::builder(config)
        .max_wait(Duration::from_millis(300))
        .build(WireSender::plain_tcp());
    let s = source.clone();
    let started = Instant::now();
    let results = together(4, move || (s.authorization(), Instant::now()));
    // The thread that sends is held by its request's deadline; the others are released at
    // the end of their wait.
    let released_early = results
        .iter()
        .filter(|(r, at)| {
            matches!(r, Err(Error::TimedOut { .. })) && *at - started < Duration::from_secs(1)
        })
        .count();
    assert_eq!(released_early, 3, "{results:?}");
    assert!(results.iter().all(|(r, _)| r.is_err()));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_busy_source_refreshes_ahead_and_no_thread_waits_after_the_first_token() {
    // 4-second tokens: refreshed from 2 s on, served until 3.6 s.
    let (server, config) = demo(Duration::from_secs(4));
    let source = TokenSource::builder(config).build(UreqSender::new());
    source.authorization().unwrap();
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let seen = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let (s, slow, ids) = (source.clone(), Arc::clone(&slowest), Arc::clone(&seen));
    together(4, move || {
        let end = Instant::now() + Duration::from_secs(9);
        let mut waited_without_a_token = Duration::ZERO;
        while Instant::now() < end {
            let asked = Instant::now();
            let served = s.served().unwrap();
            let took = asked.elapsed();
            ids.lock().unwrap().insert(served.token);
            // Every call is served at once: a refresh runs on a thread of its own.
            if took > Duration::from_millis(50) {
                waited_without_a_token += took;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut slowest = slow.lock().unwrap();
        *slowest = (*slowest).max(waited_without_a_token);
    });
    let seen = seen.lock().unwrap().len();
    assert!(seen >= 3, "{seen} tokens in 9 s of 4 s tokens");
    assert_eq!(server.token_requests(), seen);
    assert!(
        *slowest.lock().unwrap() < Duration::from_secs(1),
        "a thread waited {:?} in all",
        slowest.lock().unwrap()
    );
}

/// A refresh that falls due while the token is usable is done by a short-lived thread: even
/// when the token endpoint takes 400 ms, no caller holding a usable token waits for it.
#[test]
fn a_slow_refresh_holds_up_no_caller() {
    use seekpass_oauth_blocking::Sender;
    // 4-second tokens: refreshed from 2 s on, served until 3.6 s.
    let (server, config) = demo(Duration::from_secs(4));
    let ureq = UreqSender::new();
    let sent = AtomicUsize::new(0);
    let slow = move |request, deadline, max_body| {
        if sent.fetch_add(1, Ordering::Relaxed) > 0 {
            std::thread::sleep(Duration::from_millis(400));
        }
        ureq.send(request, deadline, max_body)
    };
    let source = TokenSource::builder(config).build(slow);
    let first = source.served().unwrap().token;
    let end = Instant::now() + Duration::from_secs(6);
    let mut slowest = Duration::ZERO;
    let mut last = first;
    while Instant::now() < end {
        let asked = Instant::now();
        last = source.served().unwrap().token;
        slowest = slowest.max(asked.elapsed());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(last.get() >= first.get() + 2, "refreshed at least twice");
    assert!(server.token_requests() >= 3);
    assert!(
        slowest < Duration::from_millis(100),
        "a call took {slowest:?} while a token was usable"
    );
}

#[test]
fn invalidation_fetches_one_new_token_however_many_threads_report_it() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config).build(UreqSender::new());
    let first = source.served().unwrap();
    let s = source.clone();
    let token = first.token;
    let taken: usize = together(20, move || usize::from(s.invalidate(token)))
        .into_iter()
        .sum();
    assert_eq!(taken, 1);
    let s = source.clone();
    let mut after: Vec<_> = together(20, move || s.served().unwrap().token);
    after.dedup();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0], first.token);
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn reconfigure_clears_a_give_up_and_rotates_the_credentials() {
    let (server, good) = demo(Duration::from_secs(60));
    let bad = good
        .to_builder()
        .credentials(Credentials::new(CLIENT_ID, "wrong"))
        .build()
        .unwrap();
    let source = TokenSource::builder(bad).build(UreqSender::new());
    assert!(source.authorization().is_err());
    assert_eq!(source.state().name(), "failed");
    source.reconfigure(good);
    assert!(source.authorization().is_ok());
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn a_revoked_token_met_by_fifty_threads_is_replaced_once() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).build(UreqSender::new());
    source.authorization().unwrap();
    server.revoke_all();
    let s = source.clone();
    let statuses = together(50, move || {
        let served = s.served().unwrap();
        let info = |h: &seekpass_oauth::http::HeaderValue| {
            seekpass_oauth_testkit::interop::token_info(&base, h.as_bytes())
                .unwrap()
                .0
        };
        let first = info(&served.authorization);
        if first != 401 {
            return first;
        }
        s.invalidate(served.token);
        info(&s.served().unwrap().authorization)
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(server.token_requests(), 2, "one new token for fifty 401s");
}

#[test]
fn try_served_never_waits_and_a_short_lived_thread_fetches() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config).build(UreqSender::new());
    // A cold source: no token yet, and the call does not wait for one.
    assert!(source.try_served().is_none());
    let started = Instant::now();
    let served = loop {
        if let Some(served) = source.try_served() {
            break served;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no token");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(server.token_requests(), 1);
    assert_eq!(source.try_served().map(|s| s.token), Some(served.token));
}

/// `max_wait(Duration::MAX)` means "as long as it takes": no `Instant + Duration` overflow.
#[test]
fn an_unbounded_wait_is_a_wait_not_a_panic() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config)
        .max_wait(Duration::MAX)
        .build(UreqSender::new());
    source.authorization().unwrap();
    assert_eq!(server.token_requests(), 1);
}
