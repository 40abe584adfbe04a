//! The drivers' telemetry through a scripted run (features `tracing` and `metrics`): the metrics
//! `metrics`' debugging recorder saw, with exact values, and the spans a `tracing` subscriber
//! printed, with no secret or token in any of them.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use seekpass_oauth::{Credentials, Share};
use seekpass_oauth_blocking::{FileStore, TokenSource, UreqSender};
use seekpass_oauth_driver::telemetry::{METRICS, SPANS};
use seekpass_oauth_testkit::secrets::{temp_dir, SecretServer};

/// Everything the subscriber prints.
#[derive(Clone, Default)]
struct Printed(Arc<Mutex<Vec<u8>>>);

impl Write for Printed {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_scripted_run_is_counted_exactly_and_traced_without_secrets() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let printed = Printed::default();
    let writer = printed.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    let server = SecretServer::start("the-secret");
    let dir = temp_dir();
    let config = server
        .config(Credentials::new("id", "the-secret"))
        .share(Share::new())
        .build()
        .unwrap();
    let source = TokenSource::builder(config)
        .store(FileStore::new(dir.path().join("store")))
        .build(UreqSender::new());
    // The first token; then the API refuses it and a second is fetched.
    let first = source.served().unwrap();
    assert!(source.invalidate(first.token));
    source.served().unwrap();
    // Another source, whose secret the server refuses: its first attempt fails for good.
    let refusing = SecretServer::start("another-secret");
    let wrong = TokenSource::builder(
        refusing
            .config(Credentials::new("id", "the-secret"))
            .build()
            .unwrap(),
    )
    .build(UreqSender::new());
    assert!(wrong.authorization().is_err());

    let mut counters = BTreeMap::new();
    let mut gauges = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        assert!(
            METRICS.contains(&key.name()),
            "an undocumented metric: {name}"
        );
        match value {
            DebugValue::Counter(n) => drop(counters.insert(name, n)),
            DebugValue::Gauge(g) => drop(gauges.insert(name, g.into_inner())),
            DebugValue::Histogram(h) => drop(histograms.insert(name, h.len())),
        }
    }
    let expected: BTreeMap<String, u64> = [
        (
            "seekpass_oauth_token_requests_total{outcome=success,reason=first}",
            1,
        ),
        (
            "seekpass_oauth_token_requests_total{outcome=success,reason=invalidated}",
            1,
        ),
        (
            "seekpass_oauth_token_requests_total{outcome=permanent,reason=first}",
            1,
        ),
        ("seekpass_oauth_invalidations_total{}", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let tokens: BTreeMap<String, u64> = counters
        .iter()
        .filter(|(k, _)| !k.starts_with("seekpass_oauth_store_operations_total"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    assert_eq!(tokens, expected, "all counters: {counters:#?}");
    let store: BTreeMap<&str, u64> = counters
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("seekpass_oauth_store_operations_total")
                .map(|k| (k, *v))
        })
        .collect();
    // Each token: read (none), lock, read again (none), write, unlock; the refusal: forget.
    assert_eq!(
        store,
        [
            ("{command=forget,outcome=done}", 1),
            ("{command=lock,outcome=done}", 2),
            ("{command=read,outcome=missing}", 4),
            ("{command=unlock,outcome=done}", 2),
            ("{command=write,outcome=done}", 2),
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        histograms,
        [
            (
                "seekpass_oauth_token_request_duration_seconds{outcome=permanent}".to_owned(),
                1
            ),
            (
                "seekpass_oauth_token_request_duration_seconds{outcome=success}".to_owned(),
                2
            ),
        ]
        .into_iter()
        .collect()
    );
    // Set last by the refusing source, which has no token.
    assert_eq!(
        gauges.get("seekpass_oauth_token_remaining_seconds{}"),
        Some(&0.0)
    );

    let text = String::from_utf8(printed.0.lock().unwrap().clone()).unwrap();
    for span in SPANS {
        assert!(text.contains(span), "{span} in {text}");
    }
    assert!(text.contains("attempt=1 reason=\"first\""), "{text}");
    assert!(text.contains("status=200"), "{text}");
    assert!(
        text.contains("status=401 outcome=\"permanent\" error=\"invalid_client\""),
        "{text}"
    );
    for secret in ["the-secret", "token-1", "token-2"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}
