//! The async pool against a real Doorkeeper seeded with 200 applications, one per institution a
//! platform serves: 25 concurrent cold callers for each of the 200 keys cost exactly one row per
//! application in `oauth_access_tokens`; every key's API call through `BearerAuth` carries its
//! own application's token; one application's secret changed on the server fails that key
//! alone, after one token request, while the 199 others keep answering 200. Marked ignored in a
//! plain `cargo test`; `.ci/run` starts the server and runs it with `--include-ignored`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use seekpass_oauth::{ErrorCode, Event, FailureClass};
use seekpass_oauth_async::{BearerAuth, Error, PoolKey, ReqwestSender, SourcePool};
use seekpass_oauth_testkit::demo::Institution;
use seekpass_oauth_testkit::interop::{
    change_secret, issued, pool_config, pool_credentials, revoke, server_url, POOL_APPLICATIONS,
};

const CALLERS_PER_KEY: usize = 25;

/// The application whose secret is changed on the server.
const ROTATED: u32 = 7;

/// Per key: tokens acquired, attempts failed (from the pool's events).
type Counts = Arc<Mutex<HashMap<u32, (u32, u32)>>>;

fn pool(base: &str, counts: &Counts) -> SourcePool<Institution> {
    let base = base.to_owned();
    let counts = Arc::clone(counts);
    SourcePool::builder(move |key: &Institution| {
        let config = (1..=POOL_APPLICATIONS)
            .contains(&key.0)
            .then(|| pool_config(&base, key.0, None));
        async move { config }
    })
    .on_event(move |key, event| {
        let mut counts = counts.lock().unwrap();
        let entry = counts.entry(key.0).or_default();
        match event {
            Event::TokenAcquired { .. } => entry.0 += 1,
            Event::AttemptFailed { .. } => {
                // Shown with a failure: what the server or the network answered.
                eprintln!("key {}: {event:?}", key.0);
                entry.1 += 1;
            }
            _ => {}
        }
    })
    .spawn(ReqwestSender::new().unwrap())
}

/// Application `key`'s rows in `oauth_access_tokens`.
fn rows(base: &str, key: u32) -> usize {
    issued(base, &pool_credentials(key).0).unwrap().len()
}

/// `token/info` for `key` through the pool's middleware: the status and the body.
async fn info(
    api: &ClientWithMiddleware,
    base: &str,
    key: u32,
) -> Result<(StatusCode, String), reqwest_middleware::Error> {
    let response = api
        .get(format!("{base}/api/partner/v1/oauth/token/info"))
        .with_extension(Institution(key))
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.text().await.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn two_hundred_institutions_cost_one_token_each_and_a_changed_secret_fails_its_key_alone() {
    let base = server_url("DOORKEEPER_URL");
    let counts = Counts::default();
    let pool = pool(&base, &counts);
    let keys = 1..=POOL_APPLICATIONS;
    // The seeded secret, which an earlier run against the same server changed.
    let (client_id, secret) = pool_credentials(ROTATED);
    change_secret(&base, &client_id, &secret).unwrap();
    // Rows from an earlier run against the same server stay; this run adds one per application.
    let before: HashMap<u32, usize> = keys.clone().map(|key| (key, rows(&base, key))).collect();

    // Every key cold, 25 callers each, all at once.
    let callers: Vec<_> = keys
        .clone()
        .flat_map(|key| (0..CALLERS_PER_KEY).map(move |_| key))
        .map(|key| {
            let pool = pool.clone();
            tokio::spawn(async move { (key, pool.served(&Institution(key)).await) })
        })
        .collect();
    let mut tokens = HashMap::new();
    for caller in callers {
        let (key, served) = caller.await.unwrap();
        let token = served.unwrap_or_else(|e| panic!("key {key}: {e}")).token;
        assert_eq!(
            *tokens.entry(key).or_insert(token),
            token,
            "key {key}: one token"
        );
    }
    for key in keys.clone() {
        let added = rows(&base, key) - before[&key];
        assert_eq!(added, 1, "pool-{key}: one row in oauth_access_tokens");
    }

    // Each key's API call carries its own application's token.
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::pool(
            pool.clone(),
            PoolKey::extension(),
            &base.parse().unwrap(),
        ))
        .build();
    for key in keys.clone() {
        let (status, body) = info(&api, &base, key).await.unwrap();
        assert_eq!(status, StatusCode::OK, "key {key}: {body}");
        let uid = format!("\"uid\":\"pool-{key}\"");
        assert!(
            body.contains(&uid),
            "key {key} was served another application's token: {body}"
        );
    }

    // An administrator changes one application's secret and revokes its token.
    let new_secret = "pool-secret-changed";
    change_secret(&base, &client_id, new_secret).unwrap();
    let header = pool.authorization(&Institution(ROTATED)).await.unwrap();
    let token = header.to_str().unwrap().strip_prefix("Bearer ").unwrap();
    assert_eq!(revoke(&base, token, &client_id, new_secret).unwrap(), 200);

    let calls: Vec<_> = (0..CALLERS_PER_KEY)
        .map(|_| ROTATED)
        .chain(keys.clone().filter(|key| *key != ROTATED))
        .map(|key| {
            let (api, base) = (api.clone(), base.clone());
            tokio::spawn(async move { (key, info(&api, &base, key).await) })
        })
        .collect();
    for call in calls {
        match call.await.unwrap() {
            (ROTATED, outcome) => {
                let error = outcome.expect_err("the changed secret fails the key's calls");
                let reqwest_middleware::Error::Middleware(error) = error else {
                    panic!("not the token's error: {error}")
                };
                let error = error.downcast_ref::<Error>().unwrap();
                assert_eq!(error.class(), FailureClass::Permanent, "{error}");
                let code = error.token_error().and_then(|e| e.code());
                assert_eq!(code, Some(&ErrorCode::InvalidClient), "{error}");
            }
            (key, outcome) => {
                let (status, body) = outcome.unwrap();
                assert_eq!(status, StatusCode::OK, "key {key}: {body}");
            }
        }
    }
    let counts = counts.lock().unwrap();
    assert_eq!(
        counts[&ROTATED],
        (1, 1),
        "key {ROTATED}: one token, then one failed request"
    );
    for key in keys.filter(|key| *key != ROTATED) {
        assert_eq!(counts[&key], (1, 0), "key {key}: one token and no failure");
        assert_eq!(rows(&base, key) - before[&key], 1, "pool-{key}");
    }
}
