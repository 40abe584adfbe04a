//! The async pool: one driver task for every key, one token per key for any number of tasks,
//! unknown keys refused, one key's failure or slowness kept from the others, the shared
//! limits, and a hot path that allocates nothing.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{FailureClass, PoolLimits, RequestBody, TransportError};
use seekpass_oauth_async::{Error, Sender, SourcePool};
use seekpass_oauth_testkit::pool::{config, token, Answer, PoolEndpoint};

/// The test kit's endpoint, its delays waited on tokio's timer.
struct Endpoint(PoolEndpoint);

impl Sender for Endpoint {
    async fn send(
        &self,
        request: Request<RequestBody>,
        _max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let (delay, response) = self.0.start(&request);
        tokio::time::sleep(delay).await;
        self.0.end();
        Ok(response)
    }
}

fn pool(endpoint: &PoolEndpoint, limits: PoolLimits) -> SourcePool<u32> {
    SourcePool::builder(|key: &u32| {
        let key = *key;
        async move { (key % 100 != 13).then(|| config(key)) }
    })
    .limits(limits)
    .spawn(Endpoint(endpoint.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_cost_one_request_per_key_and_each_key_has_its_own_token() {
    let endpoint = PoolEndpoint::issuing();
    let pool = pool(&endpoint, PoolLimits::default());
    let mut calls = Vec::new();
    for key in 20..40u32 {
        for _ in 0..10 {
            let pool = pool.clone();
            calls.push(tokio::spawn(async move {
                (key, pool.authorization(&key).await)
            }));
        }
    }
    for call in calls {
        let (key, header) = call.await.unwrap();
        let expected = format!("Bearer {}", token(key, 1));
        assert_eq!(header.unwrap().to_str().unwrap(), expected, "key {key}");
    }
    for key in 20..40 {
        assert_eq!(endpoint.sent(key), 1, "key {key}");
    }
}

#[tokio::test]
async fn a_key_the_resolver_does_not_know_is_refused_without_a_request() {
    let endpoint = PoolEndpoint::issuing();
    let pool = pool(&endpoint, PoolLimits::default());
    let error = pool.authorization(&13).await.unwrap_err();
    assert!(matches!(error, Error::UnknownKey), "{error}");
    assert_eq!(endpoint.total(), 0);
    assert!(pool.authorization(&14).await.is_ok());
}

#[tokio::test]
async fn one_keys_refused_credentials_leave_the_other_keys_served() {
    let endpoint = PoolEndpoint::new(|key| match key {
        1 => Answer::Status(401, r#"{"error":"invalid_client"}"#),
        _ => Answer::Token {
            expires_in: 7200,
            after: Duration::ZERO,
        },
    });
    let pool = pool(&endpoint, PoolLimits::default());
    let refused = pool.authorization(&1).await.unwrap_err();
    assert_eq!(refused.class(), FailureClass::Permanent, "{refused}");
    assert!(pool.authorization(&2).await.is_ok());
    assert_eq!(pool.health(&1).unwrap().name(), "unavailable");
    assert_eq!(pool.health(&2).unwrap().name(), "ready");
}

/// Key 1's endpoint takes 2 s; key 2's caller, arriving while key 1's request is out, is
/// served within a second: the one driver task runs both requests at once.
#[tokio::test]
async fn a_slow_key_does_not_hold_up_another_keys_callers() {
    let endpoint = PoolEndpoint::new(|key| Answer::Token {
        expires_in: 7200,
        after: Duration::from_millis(if key == 1 { 2_000 } else { 0 }),
    });
    let pool = pool(&endpoint, PoolLimits::default());
    let slow = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.authorization(&1).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert!(pool.authorization(&2).await.is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(slow.await.unwrap().is_ok());
}

#[tokio::test]
async fn no_more_than_max_in_flight_requests_are_out_across_keys() {
    let endpoint = PoolEndpoint::new(|_| Answer::Token {
        expires_in: 7200,
        after: Duration::from_millis(50),
    });
    let pool = pool(&endpoint, PoolLimits::default().max_in_flight(3));
    let calls: Vec<_> = (1..=12u32)
        .map(|key| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.authorization(&key).await })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap().is_ok());
    }
    assert_eq!(endpoint.total(), 12);
    assert_eq!(endpoint.most_in_flight(), 3);
}

#[tokio::test]
async fn invalidate_fetches_the_keys_next_token_and_forget_resolves_it_again() {
    let endpoint = PoolEndpoint::issuing();
    let pool = pool(&endpoint, PoolLimits::default());
    let first = pool.served(&5).await.unwrap();
    assert!(pool.invalidate(&5, first.token));
    let second = pool.served(&5).await.unwrap();
    assert_ne!(second.token, first.token);
    assert!(pool.forget(&5));
    assert!(pool.state(&5).is_none());
    assert!(pool.authorization(&5).await.is_ok());
    assert_eq!(endpoint.sent(5), 3);
}

#[tokio::test]
async fn the_driver_ends_with_the_last_handle_and_a_dropped_driver_is_reported() {
    let endpoint = PoolEndpoint::issuing();
    let (pool, driver) = SourcePool::builder(|key: &u32| {
        let key = *key;
        async move { Some(config(key)) }
    })
    .build(Endpoint(endpoint.clone()), seekpass_oauth_async::TokioTimer);
    let task = tokio::spawn(driver);
    assert!(pool.authorization(&1).await.is_ok());
    drop(pool);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the driver ended")
        .unwrap();

    let (pool, driver) = SourcePool::builder(|key: &u32| {
        let key = *key;
        async move { Some(config(key)) }
    })
    .build(Endpoint(endpoint), seekpass_oauth_async::TokioTimer);
    drop(driver);
    let error = pool.authorization(&1).await.unwrap_err();
    assert!(matches!(error, Error::DriverStopped), "{error}");
}

/// Four-second tokens, refreshed from 2 s on, and the refresh held at the endpoint until the
/// test lets it go: meanwhile every call is served the old token at once (a call that waited
/// would fail its 100 ms `max_wait`), the caller's demand at the refresh moment having reached
/// the driver; then the new token replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_runs_in_the_driver_while_callers_keep_being_served() {
    use std::sync::Arc;
    use tokio::sync::Notify;

    struct Held(Arc<Notify>, std::sync::atomic::AtomicU32);
    impl Sender for Held {
        async fn send(
            &self,
            _request: Request<RequestBody>,
            _max_body: usize,
        ) -> Result<Response<Vec<u8>>, TransportError> {
            let n = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n > 1 {
                self.0.notified().await;
            }
            let body = seekpass_oauth_testkit::body::token(&token(1, n), 4);
            Ok(seekpass_oauth_testkit::body::response(200, &body))
        }
    }
    let release = Arc::new(Notify::new());
    let pool = SourcePool::builder(|key: &u32| {
        let key = *key;
        async move { Some(config(key)) }
    })
    .max_wait(Duration::from_millis(100))
    .spawn(Held(
        Arc::clone(&release),
        std::sync::atomic::AtomicU32::new(0),
    ));
    let first = pool.served(&1).await.unwrap().token;
    assert_eq!(pool.state(&1).unwrap().name(), "fresh");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !matches!(
        pool.state(&1).unwrap(),
        seekpass_oauth_async::State::Expiring {
            refreshing: true,
            ..
        }
    ) {
        assert_eq!(pool.served(&1).await.unwrap().token, first);
        assert!(Instant::now() < deadline, "the refresh never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..1_000 {
        assert_eq!(
            pool.served(&1).await.unwrap().token,
            first,
            "the old token, at once"
        );
    }
    release.notify_one();
    while pool.served(&1).await.unwrap().token == first {
        assert!(Instant::now() < deadline, "the new token never came");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
