//! `BearerLayer` around a hyper client, against the demo server: the bearer of a source or of a
//! pool's key on requests to the API's origin only, a refused token replaced once however many
//! requests meet the `401`, no replay without a replayable body, and a pool's request without
//! a key never sent.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use seekpass_oauth::http::{Request, StatusCode, Uri};
use seekpass_oauth_async::{
    Bearer, BearerLayer, CloneBody, Error, NoReplay, PoolKey, ReqwestSender, SourcePool,
    TokenSource,
};
use seekpass_oauth_demo::DemoServer;
use seekpass_oauth_testkit::demo::{pool_resolver, start as demo, Institution};
use seekpass_oauth_testkit::net::recording_server;
use tower::{Layer, Service, ServiceExt};

type Hyper<B> = Client<HttpConnector, B>;

fn hyper<B>() -> Hyper<B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Client::builder(TokioExecutor::new()).build_http()
}

fn info(base: &str) -> String {
    format!("{base}/api/partner/v1/oauth/token/info")
}

fn get(url: &str) -> Request<Full<Bytes>> {
    Request::get(url).body(Full::default()).unwrap()
}

/// The status of `request` through `service`.
async fn status<S, B>(service: &mut S, request: Request<B>) -> StatusCode
where
    S: Service<Request<B>, Response = hyper::Response<hyper::body::Incoming>>,
    S::Error: std::fmt::Debug,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

fn demo_pool(server: &DemoServer) -> SourcePool<Institution> {
    SourcePool::builder(pool_resolver(&server.base_url())).spawn(ReqwestSender::new().unwrap())
}

fn with_key<B>(mut request: Request<B>, key: u32) -> Request<B> {
    request.extensions_mut().insert(Institution(key));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_token_is_replaced_once_for_twenty_concurrent_requests() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let api = BearerLayer::new(source.clone())
        .replay(CloneBody)
        .layer(hyper::<Full<Bytes>>());
    assert_eq!(
        status(&mut api.clone(), get(&info(&base))).await,
        StatusCode::OK
    );
    let before = source.served().await.unwrap().token;

    server.revoke_all();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (mut api, url) = (api.clone(), info(&base));
            tokio::spawn(async move { status(&mut api, get(&url)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(server.token_requests(), 2, "one new token for twenty 401s");
    assert_ne!(source.served().await.unwrap().token, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_replay_the_401_is_returned_and_the_next_request_gets_a_new_token() {
    let (server, config) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let mut api: Bearer<_, TokenSource, NoReplay> =
        BearerLayer::new(source.clone()).layer(hyper::<Empty<Bytes>>());
    let first = source.served().await.unwrap().token;
    server.revoke_all();
    let request = Request::get(info(&base)).body(Empty::new()).unwrap();
    assert_eq!(status(&mut api, request).await, StatusCode::UNAUTHORIZED);
    assert_ne!(source.served().await.unwrap().token, first, "invalidated");
    let request = Request::get(info(&base)).body(Empty::new()).unwrap();
    assert_eq!(status(&mut api, request).await, StatusCode::OK);
    assert_eq!(server.token_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_never_see_the_token_unless_every_origin_is_allowed() {
    let (server, config) = demo(Duration::from_secs(600));
    let (elsewhere, seen) = recording_server();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    let mut api = BearerLayer::new(source.clone()).layer(hyper::<Full<Bytes>>());
    let request = get(&format!("{elsewhere}/x"));
    assert_eq!(status(&mut api, request).await, StatusCode::NO_CONTENT);
    assert_eq!(seen.lock().unwrap().as_slice(), &[None]);
    assert_eq!(server.token_requests(), 0, "no token was fetched");

    let mut api = BearerLayer::new(source.clone())
        .any_origin()
        .layer(hyper::<Full<Bytes>>());
    assert_eq!(
        status(&mut api, get(&format!("{elsewhere}/x"))).await,
        StatusCode::NO_CONTENT
    );
    let header = source.authorization().await.unwrap();
    let header = header.to_str().unwrap().to_owned();
    assert_eq!(seen.lock().unwrap()[1].as_deref(), Some(header.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_puts_each_keys_token_on_its_requests_and_never_sends_one_without_a_key() {
    let (server, _) = demo(Duration::from_secs(600));
    let (api_base, seen) = recording_server();
    let pool = demo_pool(&server);
    let base: Uri = api_base.parse().unwrap();
    let mut api =
        BearerLayer::pool(pool.clone(), PoolKey::extension(), &base).layer(hyper::<Full<Bytes>>());
    for key in [1, 2, 1] {
        let request = with_key(get(&format!("{api_base}/x")), key);
        assert_eq!(status(&mut api, request).await, StatusCode::NO_CONTENT);
    }
    let header = |key| {
        let pool = pool.clone();
        async move {
            let value = pool.authorization(&Institution(key)).await.unwrap();
            Some(value.to_str().unwrap().to_owned())
        }
    };
    let (one, two) = (header(1).await, header(2).await);
    assert_ne!(one, two, "each key has a token of its own");
    assert_eq!(*seen.lock().unwrap(), vec![one.clone(), two, one]);
    assert_eq!(server.token_requests(), 2, "one token per key");

    let error = api
        .ready()
        .await
        .unwrap()
        .call(get(&format!("{api_base}/x")))
        .await
        .unwrap_err();
    let error = error.downcast::<Error>().unwrap();
    assert!(matches!(*error, Error::NoKey), "{error}");
    let unknown = with_key(get(&format!("{api_base}/x")), 1_000);
    let error = api.ready().await.unwrap().call(unknown).await.unwrap_err();
    let error = error.downcast::<Error>().unwrap();
    assert!(matches!(*error, Error::UnknownKey), "{error}");
    assert_eq!(seen.lock().unwrap().len(), 3, "neither request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_refused_token_is_replaced_for_its_key_alone() {
    let (server, _) = demo(Duration::from_secs(600));
    let base = server.base_url();
    let pool = demo_pool(&server);
    let key = PoolKey::from_fn(|head| {
        let value = head.headers.get("x-institution")?.to_str().ok()?;
        value.parse().ok().map(Institution)
    });
    let mut api = BearerLayer::pool(pool.clone(), key, &base.parse().unwrap())
        .replay(CloneBody)
        .layer(hyper::<Full<Bytes>>());
    let request = |key: u32| {
        Request::get(info(&base))
            .header("x-institution", key.to_string())
            .body(Full::default())
            .unwrap()
    };
    for key in [1, 2] {
        assert_eq!(status(&mut api, request(key)).await, StatusCode::OK);
    }
    let token = |key| {
        let pool = pool.clone();
        async move { pool.served(&Institution(key)).await.unwrap().token }
    };
    let (one, two) = (token(1).await, token(2).await);
    let value = pool.authorization(&Institution(1)).await.unwrap();
    assert!(server.revoke(value.to_str().unwrap().strip_prefix("Bearer ").unwrap()));

    assert_eq!(
        status(&mut api, request(1)).await,
        StatusCode::OK,
        "replayed"
    );
    assert_eq!(status(&mut api, request(2)).await, StatusCode::OK);
    assert_ne!(token(1).await, one, "key 1 has a new token");
    assert_eq!(token(2).await, two, "key 2 kept its own");
    assert_eq!(server.token_requests(), 3);

    // Key 13's secret is wrong: its requests fail with the endpoint's answer, the others go on.
    let error = api
        .ready()
        .await
        .unwrap()
        .call(request(13))
        .await
        .unwrap_err();
    let error = error.downcast::<Error>().unwrap();
    assert!(error.token_error().is_some(), "{error}");
    assert_eq!(status(&mut api, request(2)).await, StatusCode::OK);
}
