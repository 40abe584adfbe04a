//! The blocking driver against a real Doorkeeper (`.ci/run` starts it; see
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{Config, FailureClass, RequestBody, TransportError};
use seekpass_oauth_blocking::{Sender, TokenSource, UreqSender};
use seekpass_oauth_testkit::demo::config;
use seekpass_oauth_testkit::interop::{issued, issuing_config, server_url, token_info};
use seekpass_oauth_testkit::load::together;

/// Counts the requests it sends.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>, UreqSender);

impl Sender for Counting {
    fn send(
        &self,
        request: Request<RequestBody>,
        deadline: Instant,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        self.1.send(request, deadline, max_body)
    }
}

/// Fifty threads on a cold source for `config`: exactly one token request, and the token works
/// at `base`'s API. `server` names the case in a failure.
fn fifty_cold_threads_cause_one_request(base: &str, config: Config, server: &str) {
    let sender = Counting::default();
    let source = TokenSource::builder(config).build(sender.clone());
    let s = source.clone();
    let mut tokens: Vec<_> = together(50, move || s.served().unwrap());
    tokens.dedup_by_key(|t| t.token);
    assert_eq!(tokens.len(), 1, "{server}");
    assert_eq!(sender.0.load(Ordering::SeqCst), 1, "{server}");
    let (status, body) = token_info(base, tokens[0].authorization.as_bytes()).unwrap();
    assert_eq!(status, 200, "{server}: {body}");
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn fifty_threads_on_a_cold_source_cause_exactly_one_token_request() {
    let base = server_url("DOORKEEPER_URL");
    fifty_cold_threads_cause_one_request(&base, config(&base, "demo-secret"), "DOORKEEPER_URL");
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn a_wrong_secret_reaches_every_waiting_thread_promptly() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::default();
    let source = TokenSource::builder(config(&base, "wrong")).build(sender.clone());
    let started = Instant::now();
    let s = source.clone();
    for result in together(20, move || s.authorization()) {
        let error = result.unwrap_err();
        assert_eq!(error.class(), FailureClass::Permanent);
        assert!(error.to_string().contains("invalid_client"), "{error}");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(sender.0.load(Ordering::SeqCst), 1);
}

#[test]
#[ignore = "needs DOORKEEPER_SHORT_URL: a Doorkeeper with 20 s tokens from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn a_busy_source_on_twenty_second_tokens_is_refreshed_ahead_and_every_token_is_accepted() {
    let base = server_url("DOORKEEPER_SHORT_URL");
    let sender = Counting::default();
    let source = TokenSource::builder(config(&base, "demo-secret")).build(sender.clone());
    source.authorization().unwrap();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let slow = Arc::new(AtomicUsize::new(0));
    let (s, ids, slow_calls, b) = (
        source.clone(),
        Arc::clone(&seen),
        Arc::clone(&slow),
        base.clone(),
    );
    together(4, move || {
        let end = Instant::now() + Duration::from_secs(45);
        let mut checked = Instant::now();
        while Instant::now() < end {
            let asked = Instant::now();
            let served = s.served().expect("a token at every call");
            // Only the call that sends a refresh waits, for that one round trip.
            if asked.elapsed() > Duration::from_millis(200) {
                slow_calls.fetch_add(1, Ordering::SeqCst);
            }
            ids.lock().unwrap().insert(served.token);
            if checked.elapsed() > Duration::from_secs(1) {
                let (status, body) = token_info(&b, served.authorization.as_bytes()).unwrap();
                assert_eq!(status, 200, "Doorkeeper refused a served token: {body}");
                checked = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let tokens = seen.lock().unwrap().len();
    assert!(tokens >= 3, "{tokens} tokens in 45 s of 20 s tokens");
    assert_eq!(
        sender.0.load(Ordering::SeqCst),
        tokens,
        "one request per token"
    );
    assert_eq!(
        slow.load(Ordering::SeqCst),
        0,
        "no call waited on a refresh"
    );
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn a_revoked_token_met_by_fifty_threads_is_replaced_once() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::default();
    let source = TokenSource::builder(config(&base, "demo-secret")).build(sender.clone());
    let revoked = source.token().unwrap();
    let status = seekpass_oauth_testkit::interop::revoke(
        &base,
        revoked.access_token().expose_secret(),
        "demo-client",
        "demo-secret",
    )
    .unwrap();
    assert_eq!(status, 200);
    let (s, b) = (source.clone(), base.clone());
    let statuses = together(50, move || {
        // What an API client does: the call, and after a 401 for the token, one retry.
        let served = s.served().unwrap();
        let (status, _) = token_info(&b, served.authorization.as_bytes()).unwrap();
        if status != 401 {
            return status;
        }
        s.invalidate(served.token);
        let served = s.served().unwrap();
        token_info(&b, served.authorization.as_bytes()).unwrap().0
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        sender.0.load(Ordering::SeqCst),
        2,
        "one invalidation, one new token"
    );
}

#[test]
#[ignore = "needs DOORKEEPER_REVOKE_URL and DOORKEEPER_REUSE_URL: Doorkeepers from interop/doorkeeper/server.sh (bash .ci/run starts them)"]
fn fifty_cold_threads_cause_one_token_request_whichever_way_the_server_issues() {
    for (var, client) in [
        ("DOORKEEPER_REVOKE_URL", "issuing-1"),
        ("DOORKEEPER_REUSE_URL", "issuing-2"),
    ] {
        let base = server_url(var);
        fifty_cold_threads_cause_one_request(&base, issuing_config(&base, client), var);
    }
}

/// Two sources that do not share (two processes, in effect) against a server that revokes the
/// client's token on each issue, each calling the API 20 times a second and reporting every 401:
/// each new token revokes the other's, and the refusal holds (`RetryPolicy::refused_tokens`) slow
/// the fight to a handful of tokens.
#[test]
#[ignore = "needs DOORKEEPER_REVOKE_URL: a Doorkeeper from interop/doorkeeper/server.sh with ISSUING=revoke (bash .ci/run starts it)"]
fn two_unshared_sources_fighting_over_revoke_on_issue_settle_to_a_few_tokens() {
    let base = server_url("DOORKEEPER_REVOKE_URL");
    let client = "issuing-3";
    let before = issued(&base, client).unwrap().len();
    let run = Duration::from_secs(20);
    let sources: Vec<_> = (0..2)
        .map(|_| TokenSource::builder(issuing_config(&base, client)).build(UreqSender::new()))
        .collect();
    // One after the other, as two processes started a moment apart: the second's token
    // revokes the first's. (Two first requests at once can both find no token to revoke.)
    for source in &sources {
        source.served().unwrap();
    }
    let started = Instant::now();
    let threads: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let base = base.clone();
            std::thread::spawn(move || {
                let (mut ok, mut refused) = (0_u32, 0_u32);
                while started.elapsed() < run {
                    let served = source.served().unwrap();
                    let (status, _) = token_info(&base, served.authorization.as_bytes()).unwrap();
                    if status == 200 {
                        ok += 1;
                    } else {
                        assert_eq!(status, 401);
                        refused += 1;
                        source.invalidate(served.token);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                (ok, refused)
            })
        })
        .collect();
    let counts: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let issued = issued(&base, client).unwrap().len() - before;
    println!("revoke on issue, two unshared sources, 20 s at 20 calls/s each: {issued} tokens issued; (API 200s, 401s) per source: {counts:?}");
    // Without the holds: a token per refusal, hundreds. With them: each source's replacements,
    // refused at once by the other's next token, are held back 1, 2, 4, 8 s…: at most 7 each.
    assert!(issued <= 14, "{issued} tokens in 20 s");
    // The fight happened: tokens were revoked under the callers.
    assert!(
        issued >= 3 && counts.iter().all(|(_, refused)| *refused > 0),
        "{issued} {counts:?}"
    );
    assert!(counts.iter().all(|(ok, _)| *ok > 0), "{counts:?}");
}

/// Two unshared sources against a server that reuses the client's unexpired token (20-second
/// tokens): they get the same token, and as it nears its end each refresh gets it again with
/// less time left, until a new one is issued. Every API call succeeds, and the requests stay few.
#[test]
#[ignore = "needs DOORKEEPER_REUSE_URL: a Doorkeeper from interop/doorkeeper/server.sh with ISSUING=reuse (bash .ci/run starts it)"]
fn two_unshared_sources_on_a_reusing_server_share_its_token_and_every_call_succeeds() {
    let base = server_url("DOORKEEPER_REUSE_URL");
    let client = "issuing-4";
    let before = issued(&base, client).unwrap().len();
    let sender = Counting::default();
    let run = Duration::from_secs(45);
    let sources: Vec<_> = (0..2)
        .map(|_| TokenSource::builder(issuing_config(&base, client)).build(sender.clone()))
        .collect();
    let started = Instant::now();
    let threads: Vec<_> = sources
        .into_iter()
        .map(|source| {
            let base = base.clone();
            std::thread::spawn(move || {
                let mut tokens = BTreeSet::new();
                let mut calls = 0_u32;
                while started.elapsed() < run {
                    let served = source.served().unwrap();
                    let (status, body) =
                        token_info(&base, served.authorization.as_bytes()).unwrap();
                    assert_eq!(status, 200, "{body}");
                    tokens.insert(served.authorization.as_bytes().to_vec());
                    calls += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                (tokens, calls)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let issued = issued(&base, client).unwrap().len() - before;
    let requests = sender.0.load(Ordering::SeqCst);
    let calls: u32 = results.iter().map(|(_, c)| c).sum();
    println!("reuse, two unshared sources, 45 s of 20 s tokens: {issued} tokens issued, {requests} token requests, {calls} API calls, all 200");
    // The server handed both sources its one live token: between them they used no more
    // tokens than it issued (two sources of their own would use twice as many).
    let used: BTreeSet<_> = results.iter().flat_map(|(t, _)| t.iter()).collect();
    assert_eq!(
        used.len(),
        issued,
        "{} tokens used, {issued} issued",
        used.len()
    );
    // A token lives 20 s: 45 s needs 3 or 4. Each source asks once before a token's end (and
    // gets it back) and once when it expires.
    assert!((2..=4).contains(&issued), "{issued} tokens");
    assert!(requests <= 16, "{requests} token requests in 45 s");
}
