//! Replicas sharing one token through a real Redis (`interop/redis/server.sh`, `REDIS_URL`,
//! with an ACL user limited to the token keys): each `TokenSource` here is a replica with its
//! own machine, all against one demo token endpoint.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, Event, Share, StoreErrorKind};
use seekpass_oauth_blocking::{RedisStore, TokenSource, UreqSender};
use seekpass_oauth_demo::DemoServer;
use seekpass_oauth_testkit::interop::server_url;
use seekpass_oauth_testkit::redis::OwnRedis;

/// A key prefix of its own per test, so tests sharing the server never meet.
fn prefix(test: &str) -> String {
    format!("seekpass-oauth:test:{test}:{}:", std::process::id())
}

fn replica(
    demo: &DemoServer,
    url: &str,
    prefix: &str,
    seed: u64,
    events: Arc<Events>,
) -> TokenSource {
    let config = Config::builder(
        Endpoint::base_url(&demo.base_url()).unwrap(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .share(Share::new().prefix(prefix))
    .jitter_seed(seed)
    .build()
    .unwrap();
    TokenSource::builder(config)
        .store(RedisStore::open(url).unwrap())
        .on_event(move |e| events.record(e))
        .build(UreqSender::new())
}

#[derive(Default)]
struct Events {
    adopted: AtomicUsize,
    store_failed: AtomicUsize,
    denied: AtomicUsize,
}

impl Events {
    fn record(&self, event: &Event) {
        match event {
            Event::TokenAdopted { .. } => {
                self.adopted.fetch_add(1, Ordering::Relaxed);
            }
            Event::StoreFailed { error, .. } => {
                self.store_failed.fetch_add(1, Ordering::Relaxed);
                if error.kind() == StoreErrorKind::Denied {
                    self.denied.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
}

/// `n` replicas asking at the same moment; returns their tokens' texts.
fn cold_start(replicas: &[TokenSource]) -> Vec<String> {
    let barrier = Arc::new(Barrier::new(replicas.len()));
    let threads: Vec<_> = replicas
        .iter()
        .cloned()
        .map(|source| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                source
                    .token()
                    .unwrap()
                    .access_token()
                    .expose_secret()
                    .to_owned()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
fn eight_replicas_starting_together_cause_one_token_request() {
    let url = server_url("REDIS_URL");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let events = Arc::new(Events::default());
    let prefix = prefix("cold");
    let replicas: Vec<_> = (0..8)
        .map(|i| replica(&demo, &url, &prefix, i, events.clone()))
        .collect();
    let tokens = cold_start(&replicas);
    assert_eq!(demo.token_requests(), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(events.adopted.load(Ordering::Relaxed), 7);
    assert_eq!(events.store_failed.load(Ordering::Relaxed), 0);
}

#[test]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
fn a_burst_of_401s_across_replicas_leads_to_one_new_token() {
    let url = server_url("REDIS_URL");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let events = Arc::new(Events::default());
    let prefix = prefix("burst");
    let replicas: Vec<_> = (0..6)
        .map(|i| replica(&demo, &url, &prefix, i, events.clone()))
        .collect();
    let first = cold_start(&replicas);
    assert_eq!(demo.token_requests(), 1);
    // The API rejects the shared token: every replica reports it.
    demo.revoke_all();
    for source in &replicas {
        let served = source.served().unwrap();
        assert!(source.invalidate(served.token));
    }
    let second = cold_start(&replicas);
    assert_eq!(demo.token_requests(), 2, "one new token for the fleet");
    assert!(second.iter().all(|t| *t == second[0] && *t != first[0]));
}

#[test]
fn with_the_store_down_every_replica_still_gets_a_token_on_its_own() {
    // A loopback port nobody listens on.
    let url = format!(
        "redis://127.0.0.1:{}/0",
        seekpass_oauth_testkit::net::closed_port()
    );
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let events = Arc::new(Events::default());
    let replicas: Vec<_> = (0..4)
        .map(|i| replica(&demo, &url, &prefix("down"), i, events.clone()))
        .collect();
    let started = std::time::Instant::now();
    let tokens = cold_start(&replicas);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(tokens.len(), 4);
    assert_eq!(
        demo.token_requests(),
        4,
        "each on its own, as without sharing"
    );
    assert_eq!(events.store_failed.load(Ordering::Relaxed), 4);
}

#[test]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
fn a_wrong_password_is_named_and_costs_only_the_sharing() {
    let url = server_url("REDIS_URL");
    let wrong = url.replacen("seekpass:", "seekpass:wrong-", 1);
    assert_ne!(wrong, url, "REDIS_URL names the ACL user seekpass");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let events = Arc::new(Events::default());
    let source = replica(&demo, &wrong, &prefix("denied"), 1, events.clone());
    assert!(source.authorization().is_ok());
    assert_eq!(events.denied.load(Ordering::Relaxed), 1);
    // A key outside the ACL's pattern is refused too, and named the same way.
    let events = Arc::new(Events::default());
    let source = replica(&demo, &url, "other-app:", 2, events.clone());
    assert!(source.authorization().is_ok());
    assert_eq!(events.denied.load(Ordering::Relaxed), 1);
}

#[test]
#[ignore = "needs redis-server on the PATH: interop/redis/server.sh install (bash .ci/run does)"]
fn a_store_behind_tls_is_trusted_through_its_ca_and_refused_without_it() {
    let dir = std::env::temp_dir().join(format!("seekpass-redis-tls-{}", std::process::id()));
    let ca = seekpass_oauth_testkit::tls::PrivateCa::new(&dir).unwrap();
    let redis = OwnRedis::with_tls(&dir.join("redis"), &ca).unwrap();
    let url = redis.start(None);
    // No URL in the message: the password is in it.
    assert!(url.starts_with("rediss://"), "not a TLS URL");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let prefix = prefix("tls");
    let config = |seed| {
        Config::builder(
            Endpoint::base_url(&demo.base_url()).unwrap(),
            Credentials::new("demo-client", "demo-secret"),
        )
        .share(Share::new().prefix(&prefix))
        .jitter_seed(seed)
        .build()
        .unwrap()
    };
    // Trusting the private CA: the second replica adopts the first one's token.
    let events = Arc::new(Events::default());
    let trusting: Vec<_> = (0..2)
        .map(|i| {
            let events = events.clone();
            TokenSource::builder(config(i))
                .store(RedisStore::with_ca_files(&url, &[ca.pem_file().to_owned()]).unwrap())
                .on_event(move |e| events.record(e))
                .build(UreqSender::new())
        })
        .collect();
    for source in &trusting {
        source.token().unwrap();
    }
    assert_eq!(demo.token_requests(), 1);
    assert_eq!(events.adopted.load(Ordering::Relaxed), 1);
    assert_eq!(events.store_failed.load(Ordering::Relaxed), 0);
    // Trusting only the system's CAs: the store is refused, the token is still served.
    let failures = Arc::new(Mutex::new(Vec::new()));
    let seen = failures.clone();
    let untrusting = TokenSource::builder(config(9))
        .store(RedisStore::open(&url).unwrap())
        .on_event(move |e| {
            if let Event::StoreFailed { error, .. } = e {
                seen.lock().unwrap().push(error.to_string());
            }
        })
        .build(UreqSender::new());
    untrusting.token().unwrap();
    let failures = failures.lock().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].to_lowercase().contains("certificate"),
        "{failures:?}"
    );
    assert!(
        !failures[0].contains("seekpass-interop-not-a-secret"),
        "{failures:?}"
    );
}
