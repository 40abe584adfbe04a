//! `health()` through an outage script: before any token, ready, degraded while the token is
//! still served and its refresh fails, unavailable once it is not, ready again when the token
//! endpoint is back. The same engine serves the async driver's `health()`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth::{Credentials, FailureClass};
use seekpass_oauth_blocking::{Health, TokenSource, UreqSender};
use seekpass_oauth_testkit::secrets::SecretServer;

/// Calls `try_served` every 10 ms (the blocking driver works only when called) until `health()`
/// is `name`, for at most `within`; that health.
fn until(source: &TokenSource, name: &str, within: Duration) -> Health {
    let started = Instant::now();
    loop {
        let health = source.health();
        if health.name() == name {
            return health;
        }
        assert!(
            started.elapsed() < within,
            "not {name} within {within:?}: {health}"
        );
        let _ = source.try_served();
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn health_follows_an_outage_and_is_never_unavailable_while_a_token_is_served() {
    // Four-second tokens: refreshed after 2 s, served until 3.6 s.
    let server = SecretServer::with_lifetime("the-secret", 4);
    let config = server
        .config(Credentials::new("id", "the-secret"))
        .build()
        .unwrap();
    let source = TokenSource::builder(config).build(UreqSender::new());
    assert_eq!(
        source.health(),
        Health::Unavailable {
            failing_for: None,
            last_error: None,
            next_try: None
        },
        "no caller has asked yet"
    );

    source.authorization().unwrap();
    let Health::Ready { remaining } = source.health() else {
        panic!("{}", source.health())
    };
    assert!(remaining > Duration::from_secs(3) && remaining <= Duration::from_millis(3600));

    server.down(true);
    let degraded = until(&source, "degraded", Duration::from_secs(4));
    let Health::Degraded {
        remaining,
        failing_for,
        ref last_error,
        next_try,
    } = degraded
    else {
        unreachable!()
    };
    assert!(source.try_served().is_some(), "degraded still serves");
    assert!(remaining <= Duration::from_millis(1600), "{remaining:?}");
    assert!(failing_for < Duration::from_secs(1), "{failing_for:?}");
    assert_eq!(last_error.class(), FailureClass::Transient);
    assert!(last_error.to_string().contains("503"), "{last_error}");
    assert!(
        next_try.is_some_and(|d| d <= Duration::from_secs(2)),
        "{next_try:?}"
    );
    let line = degraded.to_string();
    assert!(
        line.starts_with("degraded: the token is served for "),
        "{line}"
    );
    assert!(!line.contains("token-1"), "no token in the line: {line}");

    let unavailable = until(&source, "unavailable", Duration::from_secs(3));
    assert!(source.try_served().is_none());
    let Health::Unavailable {
        failing_for: Some(failing_for),
        last_error: Some(last_error),
        ..
    } = &unavailable
    else {
        panic!("{unavailable}")
    };
    assert!(*failing_for >= Duration::from_secs(1), "{failing_for:?}");
    assert_eq!(last_error.class(), FailureClass::Transient);
    assert!(unavailable
        .to_string()
        .starts_with("unavailable: no token; attempts have failed for "));

    server.down(false);
    // The back-off in force then: 1 s doubling, jittered, from the first failure at 2 s.
    let ready = until(&source, "ready", Duration::from_secs(10));
    assert!(ready
        .remaining()
        .is_some_and(|r| r > Duration::from_secs(2)));
}
