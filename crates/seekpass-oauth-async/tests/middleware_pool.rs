//! `BearerAuth` over a `SourcePool`, against the demo server: each request carries its own key's
//! token, a refused token is replaced for its key alone, and a request bound for the API without
//! a key, or with one the resolver does not know, is never sent.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use seekpass_oauth_async::{BearerAuth, Error, PoolKey, ReqwestSender, SourcePool};
use seekpass_oauth_demo::DemoServer;
use seekpass_oauth_testkit::demo::{pool_resolver, start as demo, Institution};
use seekpass_oauth_testkit::net::recording_server;

fn demo_pool(server: &DemoServer) -> SourcePool<Institution> {
    SourcePool::builder(pool_resolver(&server.base_url())).spawn(ReqwestSender::new().unwrap())
}

fn client(auth: BearerAuth<seekpass_oauth_async::PoolAuth<Institution>>) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .build()
}

async fn header(pool: &SourcePool<Institution>, key: u32) -> Option<String> {
    let value = pool.authorization(&Institution(key)).await.unwrap();
    Some(value.to_str().unwrap().to_owned())
}

/// The token error a middleware failure carries.
fn token_error(error: reqwest_middleware::Error) -> Error {
    match error {
        reqwest_middleware::Error::Middleware(error) => error.downcast::<Error>().unwrap(),
        other => panic!("not the token's error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_carries_its_keys_token_and_none_goes_without_a_key() {
    let (server, _) = demo(Duration::from_secs(600));
    let (api_base, seen) = recording_server();
    let pool = demo_pool(&server);
    let api = client(BearerAuth::pool(
        pool.clone(),
        PoolKey::extension(),
        &api_base.parse().unwrap(),
    ));
    let url = format!("{api_base}/x");
    for key in [1, 2, 1] {
        let request = api.get(&url).with_extension(Institution(key));
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::NO_CONTENT
        );
    }
    let (one, two) = (header(&pool, 1).await, header(&pool, 2).await);
    assert_ne!(one, two, "each key has a token of its own");
    assert_eq!(*seen.lock().unwrap(), vec![one.clone(), two, one]);
    assert_eq!(server.token_requests(), 2, "one token per key");

    let error = token_error(api.get(&url).send().await.unwrap_err());
    assert!(matches!(error, Error::NoKey), "{error}");
    let unknown = api.get(&url).with_extension(Institution(1_000));
    let error = token_error(unknown.send().await.unwrap_err());
    assert!(matches!(error, Error::UnknownKey), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 3, "neither request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_other_origins_need_no_key_and_carry_no_token() {
    let (server, _) = demo(Duration::from_secs(600));
    let (elsewhere, seen) = recording_server();
    let pool = demo_pool(&server);
    let api = client(BearerAuth::pool(
        pool,
        PoolKey::extension(),
        &server.base_url().parse().unwrap(),
    ));
    let response = api.get(format!("{elsewhere}/x")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(seen.lock().unwrap().as_slice(), &[None]);
    assert_eq!(server.token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_replaced_for_its_key_alone() {
    let (server, _) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let pool = demo_pool(&server);
    // The key from a header the platform sets on its own requests.
    let key = PoolKey::from_fn(|head| {
        let value = head.headers.get("x-institution")?.to_str().ok()?;
        value.parse().ok().map(Institution)
    });
    let api = client(BearerAuth::pool(pool.clone(), key, &base.parse().unwrap()));
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    let status = |key: u32| {
        let request = api.get(&info).header("x-institution", key.to_string());
        async move { request.send().await.unwrap().status() }
    };
    for key in [1, 2] {
        assert_eq!(status(key).await, StatusCode::OK);
    }
    let token = |key: u32| {
        let pool = pool.clone();
        async move { pool.served(&Institution(key)).await.unwrap().token }
    };
    let (one, two) = (token(1).await, token(2).await);
    let value = header(&pool, 1).await.unwrap();
    assert!(server.revoke(value.strip_prefix("Bearer ").unwrap()));

    assert_eq!(
        status(1).await,
        StatusCode::OK,
        "sent again with a new token"
    );
    assert_eq!(status(2).await, StatusCode::OK);
    assert_ne!(token(1).await, one, "key 1 has a new token");
    assert_eq!(token(2).await, two, "key 2 kept its own");
    assert_eq!(server.token_requests(), 3);

    // Key 13's secret is wrong: its requests fail with the endpoint's answer, the others go on.
    let error = api.get(&info).header("x-institution", "13").send().await;
    let error = token_error(error.unwrap_err());
    assert!(error.token_error().is_some(), "{error}");
    assert_eq!(status(2).await, StatusCode::OK);
}
