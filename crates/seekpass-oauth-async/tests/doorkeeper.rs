//! The async driver and its middleware against a real Doorkeeper (`.ci/run` starts it; see
//! `interop/doorkeeper/server.sh`). Marked ignored in a plain `cargo test`; `.ci/run` runs them with
//! `--include-ignored`, and a missing server fails them.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{FailureClass, RequestBody, TransportError};
use seekpass_oauth_async::{BearerAuth, ReqwestSender, Sender, TokenSource};
use seekpass_oauth_testkit::interop::{revoke, server_url, token_info};

/// Counts the requests it sends.
#[derive(Clone)]
struct Counting(Arc<AtomicUsize>, ReqwestSender);

impl Counting {
    fn new() -> Counting {
        Counting(Arc::default(), ReqwestSender::new().unwrap())
    }
    fn sent(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Sender for Counting {
    async fn send(
        &self,
        request: Request<RequestBody>,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        self.1.send(request, max_body).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn fifty_tasks_on_a_cold_source_cause_exactly_one_token_request() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::new();
    let source = TokenSource::builder(seekpass_oauth_testkit::demo::config(&base, "demo-secret"))
        .spawn(sender.clone());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.served().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap());
    }
    tokens.dedup_by_key(|t| t.token);
    assert_eq!(tokens.len(), 1);
    assert_eq!(sender.sent(), 1);
    let (status, body) = token_info(&base, tokens[0].authorization.as_bytes()).unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn a_wrong_secret_reaches_every_waiting_task_promptly() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::new();
    let source = TokenSource::builder(seekpass_oauth_testkit::demo::config(&base, "wrong"))
        .spawn(sender.clone());
    let started = Instant::now();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.authorization().await })
        })
        .collect();
    for task in tasks {
        let error = task.await.unwrap().unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent);
        assert!(error.to_string().contains("invalid_client"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(sender.sent(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs DOORKEEPER_SHORT_URL: a Doorkeeper with 20 s tokens from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn a_busy_source_on_twenty_second_tokens_never_makes_a_caller_wait() {
    let base = server_url("DOORKEEPER_SHORT_URL");
    let sender = Counting::new();
    let source = TokenSource::builder(seekpass_oauth_testkit::demo::config(&base, "demo-secret"))
        .spawn(sender.clone());
    source.authorization().await.unwrap();
    let end = Instant::now() + Duration::from_secs(45);
    let mut seen = BTreeSet::new();
    let mut checked = Instant::now();
    while Instant::now() < end {
        let served = source
            .try_served()
            .expect("a usable token at every call after the first");
        seen.insert(served.token);
        if checked.elapsed() > Duration::from_secs(1) {
            let b = base.clone();
            let (status, body) = tokio::task::spawn_blocking(move || {
                token_info(&b, served.authorization.as_bytes()).unwrap()
            })
            .await
            .unwrap();
            assert_eq!(status, 200, "Doorkeeper refused a served token: {body}");
            checked = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen.len() >= 3,
        "{} tokens in 45 s of 20 s tokens",
        seen.len()
    );
    assert_eq!(sender.sent(), seen.len(), "one request per token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn a_revoked_token_meets_fifty_callers_through_the_middleware_and_is_replaced_once() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::new();
    let source = TokenSource::builder(seekpass_oauth_testkit::demo::config(&base, "demo-secret"))
        .spawn(sender.clone());
    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::new(source.clone()).only_for(&base.parse().unwrap()))
        .build();
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    assert_eq!(
        api.get(&info).send().await.unwrap().status(),
        StatusCode::OK
    );
    let revoked = source.token().await.unwrap();
    assert_eq!(sender.sent(), 1);

    let (b, t) = (
        base.clone(),
        revoked.access_token().expose_secret().to_owned(),
    );
    let status = tokio::task::spawn_blocking(move || revoke(&b, &t, "demo-client", "demo-secret"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    let (b, h) = (base.clone(), revoked.authorization().clone());
    let (status, _) = tokio::task::spawn_blocking(move || token_info(&b, h.as_bytes()).unwrap())
        .await
        .unwrap();
    assert_eq!(status, 401, "Doorkeeper refuses the revoked token");

    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (api, info) = (api.clone(), info.clone());
            tokio::spawn(async move { api.get(&info).send().await.unwrap().status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(sender.sent(), 2, "one invalidation, one new token");
    assert_ne!(source.served().await.unwrap().token, revoked.id());
}
