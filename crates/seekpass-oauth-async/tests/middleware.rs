//! `BearerAuth` with reqwest-middleware against the demo server: the bearer on every request,
//! and a revoked token replaced once however many requests meet the 401.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use reqwest::StatusCode;
use seekpass_oauth_async::{BearerAuth, ReqwestSender, TokenSource};
use seekpass_oauth_testkit::demo::start as demo;
use seekpass_oauth_testkit::net::recording_server;

fn api(source: &TokenSource, base: &str) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::new(source.clone()).only_for(&base.parse().unwrap()))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_token_is_replaced_once_for_fifty_concurrent_requests() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = api(&source, &base);
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    let first = api.get(&info).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let before = source.served().await.unwrap().token;
    assert_eq!(server.token_requests(), 1);

    server.revoke_all();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (api, info) = (api.clone(), info.clone());
            tokio::spawn(async move { api.get(&info).send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(server.token_requests(), 2, "one new token for fifty 401s");
    assert_ne!(source.served().await.unwrap().token, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_never_see_the_token() {
    let (server, config) = demo(Duration::from_secs(600));
    let other = seekpass_oauth_demo::DemoServer::start(Duration::from_secs(600)).unwrap();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = api(&source, &server.base_url());
    let status = api
        .get(format!(
            "{}/api/partner/v1/oauth/token/info",
            other.base_url()
        ))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no bearer was sent");
    assert_eq!(server.token_requests(), 0, "and none was fetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_cannot_be_cloned_returns_the_401_and_still_invalidates() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = api(&source, &base);
    let first = source.served().await.unwrap().token;
    server.revoke_all();
    let stream = futures_lite::stream::once(Ok::<_, std::io::Error>(b"x".to_vec()));
    let response = api
        .get(format!("{base}/api/partner/v1/oauth/token/info"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_ne!(source.served().await.unwrap().token, first, "invalidated");
}

#[test]
fn only_a_refused_token_counts_as_a_rejection() {
    let response = |status: u16, challenge: Option<&str>| {
        let mut builder = seekpass_oauth::http::Response::builder().status(status);
        if let Some(c) = challenge {
            builder = builder.header("www-authenticate", c);
        }
        reqwest::Response::from(builder.body(Vec::<u8>::new()).unwrap())
    };
    use seekpass_oauth_async::rejects_token;
    assert!(rejects_token(&response(401, None)));
    assert!(rejects_token(&response(
        401,
        Some(
            r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#
        )
    )));
    assert!(rejects_token(&response(401, Some(r#"Bearer realm="api""#))));
    assert!(!rejects_token(&response(
        401,
        Some(r#"Bearer error="invalid_request""#)
    )));
    assert!(!rejects_token(&response(
        403,
        Some(r#"Bearer error="insufficient_scope""#)
    )));
    assert!(!rejects_token(&response(200, None)));
}

/// Every token refused as soon as it is used (the API revokes each on sight) for 20 s at 20
/// requests a second: a handful of token requests, and every 401 passed through once held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_that_persists_costs_a_handful_of_token_requests() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = api(&source, &base);
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    let mut every = tokio::time::interval(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let mut refused = 0;
    while started.elapsed() < Duration::from_secs(20) {
        every.tick().await;
        server.revoke_all();
        if api.get(&info).send().await.unwrap().status() == StatusCode::UNAUTHORIZED {
            refused += 1;
        }
    }
    let requests = server.token_requests();
    eprintln!("{refused} calls refused, {requests} token requests in 20 s");
    assert!(requests <= 8, "{requests} token requests");
    assert!(refused > 300, "the 401s were passed through: {refused}");
}

/// A revocation 2 s after issue: the call that meets it is answered with a new token at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_soon_after_issue_gets_a_new_token_within_half_a_second() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = api(&source, &base);
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    assert_eq!(
        api.get(&info).send().await.unwrap().status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.revoke_all();
    let started = std::time::Instant::now();
    let status = api.get(&info).send().await.unwrap().status();
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert_eq!(server.token_requests(), 2);
}

/// By default the token goes only to its token URL's origin; `any_origin` widens that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_only_the_token_urls_origin_gets_the_token() {
    let (server, config) = demo(Duration::from_secs(600));
    let (elsewhere, seen) = recording_server();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let client = |auth: BearerAuth| {
        reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(auth)
            .build()
    };
    let api = client(BearerAuth::new(source.clone()));
    let info = format!("{}/api/partner/v1/oauth/token/info", server.base_url());
    assert_eq!(
        api.get(&info).send().await.unwrap().status(),
        StatusCode::OK
    );
    api.get(&elsewhere).send().await.unwrap();
    let wide = client(BearerAuth::new(source.clone()).any_origin());
    wide.get(&elsewhere).send().await.unwrap();
    let bearer = source.served().await.unwrap().authorization;
    assert_eq!(
        *seen.lock().unwrap(),
        [None, Some(bearer.to_str().unwrap().to_owned())],
        "no bearer by default, the bearer with any_origin"
    );
}
