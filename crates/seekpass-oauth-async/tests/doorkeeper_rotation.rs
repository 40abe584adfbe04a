//! A client secret rotated on a real Doorkeeper (through Rails, as an administrator does) while a
//! service calls the API through `BearerAuth` 50 times a second, its secret read from a file that
//! is replaced a second later. Marked ignored in a plain `cargo test`; `.ci/run` starts the server
//! and runs it with `--include-ignored`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use seekpass_oauth::{Config, Endpoint, ErrorCode, Event, TokenError};
use seekpass_oauth_async::{BearerAuth, ReqwestSender, SecretSource, TokenSource};
use seekpass_oauth_testkit::events::Events;
use seekpass_oauth_testkit::interop::{change_secret, issued, server_url};
use seekpass_oauth_testkit::secrets::{temp_dir, write_by_rename};

const CLIENT: &str = "rotation-client";

/// The run: long enough that the 20-second token taken before the rotation is refreshed after
/// it (the refresh falls between half and nine tenths of the lifetime).
const RUN: Duration = Duration::from_secs(30);

fn invalid_client(e: &Event) -> bool {
    matches!(e, Event::AttemptFailed { error, .. }
        if matches!(error, TokenError::OAuth { code: ErrorCode::InvalidClient, .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs DOORKEEPER_SHORT_URL: a Doorkeeper from interop/doorkeeper/server.sh with 20-second tokens (bash .ci/run starts it)"]
async fn a_secret_rotated_on_the_server_fails_no_api_call() {
    let base = server_url("DOORKEEPER_SHORT_URL");
    // Secrets of this run's own, so a second run against the same server starts clean.
    let old = format!("rotation-secret-{}-old", std::process::id());
    let new = format!("rotation-secret-{}-new", std::process::id());
    let (b, o) = (base.clone(), old.clone());
    tokio::task::spawn_blocking(move || change_secret(&b, CLIENT, &o))
        .await
        .unwrap()
        .unwrap();
    let before = issued(&base, CLIENT).unwrap().len();

    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, format!("{old}\n")).unwrap();
    let secret = SecretSource::file(&path);
    let config = Config::builder(
        Endpoint::base_url(&base).unwrap(),
        secret.credentials(CLIENT).unwrap(),
    )
    .build()
    .unwrap();
    let events = Events::new();
    let source = TokenSource::builder(config)
        .client_secret_source(secret)
        .on_event(events.handler())
        .spawn(ReqwestSender::new().unwrap());
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::new(source.clone()))
        .build();
    let info = format!("{base}/api/partner/v1/oauth/token/info");

    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    let mut calls = Vec::new();
    let (mut rotated_server, mut rotated_file) = (false, false);
    while started.elapsed() < RUN {
        ticks.tick().await;
        if !rotated_server && started.elapsed() >= Duration::from_secs(3) {
            // SEEK Pass changes the secret: from now on only the new one is accepted.
            let (b, n) = (base.clone(), new.clone());
            tokio::task::spawn_blocking(move || change_secret(&b, CLIENT, &n))
                .await
                .unwrap()
                .unwrap();
            rotated_server = true;
        }
        if !rotated_file && started.elapsed() >= Duration::from_secs(4) {
            // A second later the deployment's secret file follows.
            write_by_rename(&path, &format!("{new}\n"));
            rotated_file = true;
        }
        let (api, info) = (api.clone(), info.clone());
        calls.push(tokio::spawn(async move {
            api.get(&info).send().await.map(|r| r.status())
        }));
    }
    let total = calls.len();
    let mut failed = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(StatusCode::OK) => {}
            other => failed.push(format!("{other:?}")),
        }
    }
    let tokens = issued(&base, CLIENT).unwrap().len() - before;
    eprintln!(
        "{total} API calls in {RUN:?}, {} failed; {tokens} tokens issued; {} invalid_client",
        failed.len(),
        events.count(invalid_client)
    );
    assert!(total >= 1000, "about 50 calls a second: {total}");
    assert_eq!(failed, Vec::<String>::new(), "no API call fails");
    assert!(events.count(invalid_client) <= 1, "{:?}", events.all());
    assert_eq!(
        events.count(|e| matches!(e, Event::SecretRotated { .. })),
        1
    );
    assert!(
        tokens >= 2,
        "a token was fetched with the new secret: {tokens}"
    );
    // The token in use now was fetched with the new secret, after the rotation.
    let last = source.token().await.unwrap();
    let (status, _) = {
        let (b, h) = (base.clone(), last.authorization().clone());
        tokio::task::spawn_blocking(move || {
            seekpass_oauth_testkit::interop::token_info(&b, h.as_bytes()).unwrap()
        })
        .await
        .unwrap()
    };
    assert_eq!(status, 200);
    assert!(events.count(|e| matches!(e, Event::TokenAcquired { .. })) >= 2);
}
