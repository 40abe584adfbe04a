//! The blocking driver against a real Doorkeeper (`.ci/run` starts it; see
//! `interop/doorkeeper/server.sh`). Marked ignored in a plain `cargo test`; `.ci/run` runs them with
//! `--include-ignored`, and a missing server fails them.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{FailureClass, RequestBody, TransportError};
use seekpass_oauth_blocking::{Sender, TokenSource, UreqSender};
use seekpass_oauth_testkit::demo::config;
use seekpass_oauth_testkit::interop::{server_url, token_info};
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

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn fifty_threads_on_a_cold_source_cause_exactly_one_token_request() {
    let base = server_url("DOORKEEPER_URL");
    let sender = Counting::default();
    let source = TokenSource::builder(config(&base, "demo-secret")).build(sender.clone());
    let s = source.clone();
    let mut tokens: Vec<_> = together(50, move || s.served().unwrap());
    tokens.dedup_by_key(|t| t.token);
    assert_eq!(tokens.len(), 1);
    assert_eq!(sender.0.load(Ordering::SeqCst), 1);
    let (status, body) = token_info(&base, tokens[0].authorization.as_bytes()).unwrap();
    assert_eq!(status, 200, "{body}");
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
