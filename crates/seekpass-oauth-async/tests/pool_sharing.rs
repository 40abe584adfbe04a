//! Async pools on two replicas sharing every key's token through a real Redis, against a real
//! Doorkeeper: the second replica adopts each key's token from Redis, so each application has
//! one row in `oauth_access_tokens`, and each key's token is its own application's. Marked
//! ignored in a plain `cargo test`; `.ci/run` starts both servers and runs it with
//! `--include-ignored`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth_async::{RedisStore, ReqwestSender, SourcePool};
use seekpass_oauth_testkit::interop::{
    issued, pool_config, pool_credentials, server_url, token_info,
};

/// The pool applications used here: on the server below no other test touches them.
const KEYS: std::ops::RangeInclusive<u32> = 1..=20;

fn replica(base: &str, redis: &str, prefix: &str) -> SourcePool<u32> {
    let (base, prefix) = (base.to_owned(), prefix.to_owned());
    SourcePool::builder(move |key: &u32| {
        let config = pool_config(&base, *key, Some(&prefix));
        async move { Some(config) }
    })
    .store(RedisStore::open(redis).unwrap())
    .spawn(ReqwestSender::new().unwrap())
}

/// Application `key`'s rows in `oauth_access_tokens`.
fn rows(base: &str, key: u32) -> usize {
    issued(base, &pool_credentials(key).0).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs REDIS_URL and DOORKEEPER_REVOKE_URL: a Redis and a Doorkeeper from interop/ (bash .ci/run starts them)"]
async fn a_second_replica_adopts_every_keys_token_from_redis() {
    let redis = server_url("REDIS_URL");
    // The Doorkeeper that revokes a client's previous token when it issues another: a second
    // request for a key would also leave the first replica's token refused.
    let base = server_url("DOORKEEPER_REVOKE_URL");
    let prefix = format!("seekpass-oauth:test:async-pool:{}:", std::process::id());
    let first = replica(&base, &redis, &prefix);
    let second = replica(&base, &redis, &prefix);
    // Rows from an earlier run against the same server stay; this run adds one per application.
    let before: Vec<usize> = KEYS.map(|key| rows(&base, key)).collect();
    for key in KEYS {
        first.served(&key).await.unwrap();
    }
    for key in KEYS {
        let header = second.authorization(&key).await.unwrap();
        assert_eq!(
            header,
            first.authorization(&key).await.unwrap(),
            "key {key}"
        );
        let (client_id, _) = pool_credentials(key);
        let added = rows(&base, key) - before[(key - 1) as usize];
        assert_eq!(added, 1, "{client_id}: one row in oauth_access_tokens");
        let (status, body) = token_info(&base, header.as_bytes()).unwrap();
        assert_eq!(status, 200, "key {key}: {body}");
        assert!(
            body.contains(&format!("\"uid\":\"{client_id}\"")),
            "key {key}: {body}"
        );
    }
}
