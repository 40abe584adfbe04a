//! Replicas sharing one token through a real Redis (`interop/redis/server.sh`, `REDIS_URL`,
//! an ACL user limited to the token keys), on tokio and on async-io (smol, async-std): each
//! `TokenSource` is a replica with its own machine and driver task.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, Event, Share, StoreAnswer, StoreCommand};
use seekpass_oauth_async::{RedisStore, ReqwestSender, Store, TokenSource, WireSender};
use seekpass_oauth_demo::DemoServer;
use seekpass_oauth_testkit::interop::server_url;
use seekpass_oauth_testkit::relay::Relay;

fn config(demo: &DemoServer, prefix: &str, seed: u64) -> Config {
    Config::builder(
        Endpoint::base_url(&demo.base_url()).unwrap(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .share(Share::new().prefix(prefix))
    .jitter_seed(seed)
    .build()
    .unwrap()
}

fn counting(adopted: &Arc<AtomicUsize>) -> impl Fn(&Event) + Send + Sync + 'static {
    let adopted = adopted.clone();
    move |event| {
        if matches!(event, Event::TokenAdopted { .. }) {
            adopted.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
async fn on_tokio_eight_replicas_starting_together_cause_one_token_request() {
    let url = server_url("REDIS_URL");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let prefix = format!("seekpass-oauth:test:async-tokio:{}:", std::process::id());
    let adopted = Arc::new(AtomicUsize::new(0));
    let replicas: Vec<TokenSource> = (0..8)
        .map(|i| {
            TokenSource::builder(config(&demo, &prefix, i))
                .store(RedisStore::open(&url).unwrap())
                .on_event(counting(&adopted))
                .spawn(ReqwestSender::new().unwrap())
        })
        .collect();
    let calls: Vec<_> = replicas
        .iter()
        .cloned()
        .map(|source| tokio::spawn(async move { source.token().await.unwrap() }))
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(
            call.await
                .unwrap()
                .access_token()
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(demo.token_requests(), 1);
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(adopted.load(Ordering::Relaxed), 7);
    // A burst of 401s across the replicas: one new token.
    demo.revoke_all();
    for source in &replicas {
        let served = source.served().await.unwrap();
        assert!(source.invalidate(served.token));
    }
    for source in &replicas {
        let token = source.token().await.unwrap();
        assert_ne!(token.access_token().expose_secret(), tokens[0]);
    }
    assert_eq!(demo.token_requests(), 2);
}

#[test]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
fn on_async_io_replicas_share_one_token_and_survive_the_store_going_away() {
    let url = server_url("REDIS_URL");
    let demo = DemoServer::start(Duration::from_secs(600)).unwrap();
    let prefix = format!("seekpass-oauth:test:async-io:{}:", std::process::id());
    let adopted = Arc::new(AtomicUsize::new(0));
    let mut drivers = Vec::new();
    let replicas: Vec<TokenSource> = (0..4)
        .map(|i| {
            let (source, driver) = TokenSource::builder(config(&demo, &prefix, i))
                .store(RedisStore::open(&url).unwrap())
                .on_event(counting(&adopted))
                .build_smol(WireSender::plain_tcp());
            drivers.push(std::thread::spawn(move || async_io::block_on(driver)));
            source
        })
        .collect();
    for source in &replicas {
        async_io::block_on(source.token()).unwrap();
    }
    assert_eq!(demo.token_requests(), 1);
    assert_eq!(adopted.load(Ordering::Relaxed), 3);

    // A store nobody listens on: a fresh replica still gets its token, on its own, at once.
    let dead = format!(
        "redis://127.0.0.1:{}/0",
        seekpass_oauth_testkit::net::closed_port()
    );
    let (lonely, driver) = TokenSource::builder(config(&demo, &prefix, 9))
        .store(RedisStore::open(&dead).unwrap())
        .build_smol(WireSender::plain_tcp());
    drivers.push(std::thread::spawn(move || async_io::block_on(driver)));
    let started = std::time::Instant::now();
    async_io::block_on(lonely.token()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(demo.token_requests(), 2);
    drop(replicas);
    drop(lonely);
    for driver in drivers {
        driver.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL: a Redis from interop/redis/server.sh (bash .ci/run starts it)"]
async fn a_working_connection_is_kept_and_a_broken_one_opened_again() {
    let url = server_url("REDIS_URL");
    let target = url.rsplit_once('@').unwrap().1;
    let relay = Relay::to(target.split('/').next().unwrap().parse().unwrap());
    let store = RedisStore::open(&relay.url_through(&url)).unwrap();
    let read = StoreCommand::Read {
        key: format!("seekpass-oauth:test:reconnect:{}", std::process::id()),
    };
    for _ in 0..3 {
        let answer = store.run(&read).await.unwrap();
        assert!(matches!(answer, StoreAnswer::Missing), "{answer:?}");
    }
    assert_eq!(relay.connections(), 1, "one connection, kept");

    // As a Redis restart or failover would: the operation that meets the broken connection
    // fails, and the next opens a new one.
    relay.cut();
    assert!(store.run(&read).await.is_err());
    let answer = store.run(&read).await.unwrap();
    assert!(matches!(answer, StoreAnswer::Missing), "{answer:?}");
    assert_eq!(relay.connections(), 2);
}
