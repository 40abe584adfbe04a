//! The async driver and its middleware against a real Doorkeeper (`.ci/run` starts it; see
//! `interop/doorkeeper/server.sh`). Marked ignored in a plain `cargo test`; `.ci/run` runs them with
//! `--include-ignored`, and a missing server fails them.
//!
//! Also against Doorkeeper's two options that change issuing (`server.sh start DIR LIFETIME
//! reuse|revoke`): `DOORKEEPER_REVOKE_URL` revokes a client's token when it issues the next
//! (`revoke_previous_client_credentials_token`), `DOORKEEPER_REUSE_URL` answers with the client's
//! unexpired token, 20-second ones (`reuse_access_token`); each of those tests has its own
//! seeded client.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{Config, FailureClass, RequestBody, TransportError};
use seekpass_oauth_async::{BearerAuth, ReqwestSender, Sender, TokenSource};
use seekpass_oauth_testkit::interop::{issued, issuing_config, revoke, server_url, token_info};

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

/// Fifty tasks on a cold source for `config`: exactly one token request, and the token works
/// at `base`'s API. `server` names the case in a failure.
async fn fifty_cold_tasks_cause_one_request(base: &str, config: Config, server: &str) {
    let sender = Counting::new();
    let source = TokenSource::builder(config).spawn(sender.clone());
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
    assert_eq!(tokens.len(), 1, "{server}");
    assert_eq!(sender.sent(), 1, "{server}");
    let (status, body) = token_info(base, tokens[0].authorization.as_bytes()).unwrap();
    assert_eq!(status, 200, "{server}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
async fn fifty_tasks_on_a_cold_source_cause_exactly_one_token_request() {
    let base = server_url("DOORKEEPER_URL");
    let config = seekpass_oauth_testkit::demo::config(&base, "demo-secret");
    fifty_cold_tasks_cause_one_request(&base, config, "DOORKEEPER_URL").await;
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

/// The issue times of `client`'s tokens, from a blocking task.
async fn issued_count(base: &str, client: &'static str) -> usize {
    let base = base.to_owned();
    tokio::task::spawn_blocking(move || issued(&base, client).unwrap().len())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_REVOKE_URL and DOORKEEPER_REUSE_URL: Doorkeepers from interop/doorkeeper/server.sh (bash .ci/run starts them)"]
async fn fifty_cold_tasks_cause_one_token_request_whichever_way_the_server_issues() {
    for (var, client) in [
        ("DOORKEEPER_REVOKE_URL", "issuing-5"),
        ("DOORKEEPER_REUSE_URL", "issuing-6"),
    ] {
        let base = server_url(var);
        fifty_cold_tasks_cause_one_request(&base, issuing_config(&base, client), var).await;
    }
}

/// Two `BearerAuth` clients with sources that do not share (two processes, in effect), calling
/// the API 20 times a second each against a server that revokes the client's token on each
/// issue: the refusal holds slow the fight to a handful of tokens, and the 401s that remain are
/// passed through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs DOORKEEPER_REVOKE_URL: a Doorkeeper from interop/doorkeeper/server.sh with ISSUING=revoke (bash .ci/run starts it)"]
async fn two_unshared_middleware_clients_fighting_over_revoke_on_issue_settle() {
    let base = server_url("DOORKEEPER_REVOKE_URL");
    let client = "issuing-7";
    let before = issued_count(&base, client).await;
    let run = Duration::from_secs(20);
    let info = format!("{base}/api/partner/v1/oauth/token/info");
    // One after the other, as two processes started a moment apart: the second's token
    // revokes the first's. (Two first requests at once can both find no token to revoke.)
    let mut sources = Vec::new();
    for _ in 0..2 {
        let source = TokenSource::builder(issuing_config(&base, client))
            .spawn(ReqwestSender::new().unwrap());
        source.served().await.unwrap();
        sources.push(source);
    }
    let started = Instant::now();
    let callers: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
                .with(BearerAuth::new(source))
                .build();
            let info = info.clone();
            tokio::spawn(async move {
                let (mut ok, mut refused) = (0_u32, 0_u32);
                while started.elapsed() < run {
                    match api.get(&info).send().await.unwrap().status() {
                        StatusCode::OK => ok += 1,
                        StatusCode::UNAUTHORIZED => refused += 1,
                        other => panic!("{other}"),
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                (ok, refused)
            })
        })
        .collect();
    let mut counts = Vec::new();
    for caller in callers {
        counts.push(caller.await.unwrap());
    }
    let issued = issued_count(&base, client).await - before;
    println!("revoke on issue, two unshared BearerAuth clients, 20 s at 20 calls/s each: {issued} tokens issued; (200s, 401s passed through) per client: {counts:?}");
    assert!(issued <= 14, "{issued} tokens in 20 s");
    // The fight happened: tokens were revoked under the callers.
    assert!(
        issued >= 3 && counts.iter().all(|(_, refused)| *refused > 0),
        "{issued} {counts:?}"
    );
    assert!(counts.iter().all(|(ok, _)| *ok > 0), "{counts:?}");
}
