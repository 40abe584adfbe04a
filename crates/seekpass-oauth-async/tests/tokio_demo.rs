//! The async driver on tokio and reqwest, against the embedded demo server.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth::{Event, FailureClass};
use seekpass_oauth_async::{Error, ReqwestSender, TokenSource};
use seekpass_oauth_demo::CLIENT_SECRET;
use seekpass_oauth_testkit::demo::start as demo;
use seekpass_oauth_testkit::events::Events;
use seekpass_oauth_testkit::net::silent_server;

fn sender() -> ReqwestSender {
    ReqwestSender::new().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_tasks_on_a_cold_source_cause_exactly_one_token_request() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config).spawn(sender());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.served().await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().token);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every task got the same token");
    assert_eq!(server.token_requests(), 1);
    // Asking again while it is fresh costs nothing.
    for _ in 0..1000 {
        source.authorization().await.unwrap();
    }
    assert_eq!(server.token_requests(), 1);
    assert_eq!(source.state().name(), "fresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_failure_reaches_every_waiting_task_at_once() {
    let (server, config) = demo(Duration::from_secs(60));
    let config = config
        .to_builder()
        .credentials(seekpass_oauth::Credentials::new("demo-client", "wrong"))
        .build()
        .unwrap();
    let source = TokenSource::builder(config).spawn(sender());
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.authorization().await })
        })
        .collect();
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent, "{error}");
        assert!(error.to_string().contains("invalid_client"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.token_requests(), 1);
    // A caller after them is told at once, without another request.
    assert!(source.authorization().await.is_err());
    assert_eq!(server.token_requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_meets_the_deadline_and_the_attempt_limit() {
    let base = silent_server();
    let config = seekpass_oauth_testkit::demo::config(&base, CLIENT_SECRET)
        .to_builder()
        .request_deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let events = Events::default();
    let source = TokenSource::builder(config)
        .max_attempts(2)
        .on_event(events.handler())
        .spawn(sender());
    let started = Instant::now();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.authorization().await })
        })
        .collect();
    for task in tasks {
        match task.await.unwrap().unwrap_err() {
            Error::GaveUp {
                class, attempts, ..
            } => {
                assert_eq!(class, FailureClass::Transient);
                assert_eq!(attempts, 2);
            }
            other => panic!("{other}"),
        }
    }
    // Two deadlines of 0.3 s and a back-off of about a second between them.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        events.count(|e| matches!(e, Event::AttemptFailed { .. })),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wait_is_bounded_when_nothing_answers() {
    let base = silent_server();
    let config = seekpass_oauth_testkit::demo::config(&base, CLIENT_SECRET);
    let source = TokenSource::builder(config)
        .max_wait(Duration::from_millis(400))
        .spawn(sender());
    let started = Instant::now();
    match source.authorization().await.unwrap_err() {
        Error::TimedOut { waited } => assert!(waited >= Duration::from_millis(400)),
        other => panic!("{other}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_ends_the_driver_task() {
    let (_server, config) = demo(Duration::from_secs(60));
    let (source, driver) =
        TokenSource::builder(config).build(sender(), seekpass_oauth_async::TokioTimer);
    let task = tokio::spawn(driver);
    source.authorization().await.unwrap();
    let clone = source.clone();
    drop(source);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!task.is_finished(), "a clone still holds the source");
    drop(clone);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the driver task ended")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_driver_is_reported_not_waited_for() {
    let (_server, config) = demo(Duration::from_secs(60));
    let (source, driver) =
        TokenSource::builder(config).build(sender(), seekpass_oauth_async::TokioTimer);
    drop(driver);
    assert!(matches!(
        source.authorization().await,
        Err(Error::DriverStopped)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidation_fetches_one_new_token_however_many_report_it() {
    let (server, config) = demo(Duration::from_secs(60));
    let events = Events::default();
    let source = TokenSource::builder(config)
        .on_event(events.handler())
        .spawn(sender());
    let first = source.served().await.unwrap();
    let taken: usize = (0..20)
        .map(|_| usize::from(source.invalidate(first.token)))
        .sum();
    assert_eq!(taken, 1);
    let second = source.served().await.unwrap();
    assert_ne!(second.token, first.token);
    assert_eq!(server.token_requests(), 2);
    assert_eq!(
        events.count(|e| matches!(e, Event::TokenInvalidated { .. })),
        1
    );
    assert_eq!(
        events.count(|e| matches!(e, Event::TokenAcquired { .. })),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_unavailable_before_the_first_token_and_ready_with_it() {
    let (_server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config).spawn(sender());
    assert_eq!(source.health().name(), "unavailable");
    source.authorization().await.unwrap();
    let health = source.health();
    assert_eq!(health.name(), "ready", "{health}");
    // A 60-second token is served for 54 s (nine tenths of its lifetime).
    let remaining = health.remaining().unwrap();
    assert!(remaining > Duration::from_secs(50) && remaining <= Duration::from_secs(54));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_reads_the_token_when_polled_not_when_made() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config).spawn(sender());
    // Made before any token exists and never polled: it asks for nothing.
    let unpolled = source.served();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.token_requests(),
        0,
        "an unpolled future asks for nothing"
    );
    drop(unpolled);
    let first = source.served().await.unwrap();
    // Made while the first token was usable, polled after it was invalidated: the new one.
    let made_early = source.served();
    assert!(source.invalidate(first.token));
    let second = made_early.await.unwrap();
    assert_ne!(
        second.token, first.token,
        "a future never serves a token invalidated before its poll"
    );
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfigure_clears_a_give_up_and_fetches_with_the_new_credentials() {
    let (server, good) = demo(Duration::from_secs(60));
    let bad = good
        .to_builder()
        .credentials(seekpass_oauth::Credentials::new("demo-client", "wrong"))
        .build()
        .unwrap();
    let source = TokenSource::builder(bad).spawn(sender());
    assert!(source.authorization().await.is_err());
    source.reconfigure(good);
    assert!(source.authorization().await.is_ok());
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_source_refreshes_ahead_and_no_caller_waits_after_the_first_token() {
    // 4-second tokens: refreshed from 2 s on, served until 3.6 s.
    let (server, config) = demo(Duration::from_secs(4));
    let source = TokenSource::builder(config).spawn(sender());
    source.authorization().await.unwrap();
    let end = Instant::now() + Duration::from_secs(9);
    let mut seen = std::collections::BTreeSet::new();
    while Instant::now() < end {
        let served = source
            .try_served()
            .expect("a usable token at every call after the first");
        seen.insert(served.token);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen.len() >= 3,
        "{} tokens in 9 s of 4 s tokens",
        seen.len()
    );
    assert_eq!(server.token_requests(), seen.len());
}

#[tokio::test]
async fn new_sends_with_reqwest_from_the_current_runtime() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::new(config).unwrap();
    source.authorization().await.unwrap();
    assert_eq!(server.token_requests(), 1);
}

/// `max_wait(Duration::MAX)` means "as long as it takes": no `Instant + Duration` overflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unbounded_wait_is_a_wait_not_a_panic() {
    let (server, config) = demo(Duration::from_secs(60));
    let source = TokenSource::builder(config)
        .max_wait(Duration::MAX)
        .spawn(sender());
    source.authorization().await.unwrap();
    assert_eq!(server.token_requests(), 1);
}
