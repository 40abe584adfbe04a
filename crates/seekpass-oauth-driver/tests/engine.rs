//! The shared driver core without any I/O: answers are fed by hand, as a driver would.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::Arc;
use std::time::{Duration, Instant};

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, Credentials, Endpoint, FailureClass, TransportError, TransportErrorKind,
};
use seekpass_oauth_driver::{Engine, Error, Kick, Settings, Step};
use seekpass_oauth_testkit::body::minimal;

fn engine(settings: Settings) -> Engine {
    let config = Config::builder(Endpoint::staging(), Credentials::new("id", "secret"))
        .build()
        .unwrap();
    Engine::new(config, settings)
}

/// Steps until a request comes out and answers it with `answer`; the step after.
fn answer(engine: &Engine, answer: Result<Response<Vec<u8>>, TransportError>) -> Step {
    let step = engine.step();
    let outgoing = step.transmit.expect("a request to send");
    engine.feed(outgoing.id, answer);
    engine.step()
}

fn refused() -> TransportError {
    TransportError::new(TransportErrorKind::Connect, "refused")
}

#[test]
fn nothing_is_sent_before_the_first_demand() {
    let engine = engine(Settings::default());
    let step = engine.step();
    assert!(step.transmit.is_none());
    assert!(step.wake_at.is_none());
    let (token, kick) = engine.read();
    assert!(token.is_none());
    assert_eq!(
        kick,
        Kick::Yes,
        "the first demand with no token nudges the driver"
    );
    assert!(engine.step().transmit.is_some());
}

#[test]
fn a_token_is_served_from_the_cell_and_its_header_is_sensitive() {
    let engine = engine(Settings::default());
    let _ = engine.read();
    let _ = answer(&engine, Ok(minimal("abc", 7200)));
    let (served, kick) = engine.read();
    let served = served.expect("a token");
    assert_eq!(kick, Kick::No);
    assert_eq!(served.authorization.as_bytes(), b"Bearer abc");
    assert!(served.authorization.is_sensitive());
    assert_eq!(engine.state().name(), "fresh");
}

#[test]
fn each_thread_serves_its_own_copy_of_the_header() {
    let engine = Arc::new(engine(Settings::default()));
    let _ = engine.read();
    let _ = answer(&engine, Ok(minimal("abc", 7200)));
    let here = engine.read().0.unwrap().authorization;
    let again = engine.read().0.unwrap().authorization;
    assert_eq!(
        here.as_bytes().as_ptr(),
        again.as_bytes().as_ptr(),
        "one copy per thread"
    );
    let e = Arc::clone(&engine);
    let there = std::thread::spawn(move || e.read().0.unwrap().authorization)
        .join()
        .unwrap();
    assert_eq!(there, here);
    assert_ne!(
        there.as_bytes().as_ptr(),
        here.as_bytes().as_ptr(),
        "another thread clones another allocation"
    );
}

#[test]
fn an_invalidated_token_is_no_longer_served_and_one_refresh_starts() {
    let engine = engine(Settings::default());
    let _ = engine.read();
    let _ = answer(&engine, Ok(minimal("abc", 7200)));
    let first = engine.read().0.unwrap();
    assert!(engine.invalidate(first.token));
    assert!(!engine.invalidate(first.token), "taken once");
    let (served, kick) = engine.read();
    assert!(served.is_none());
    assert_eq!(kick, Kick::Yes);
    // The minimum interval between requests (1 s) holds the refresh back a moment.
    let step = engine.step();
    assert!(step.transmit.is_some() || step.wake_at.is_some());
}

#[test]
fn a_waiting_caller_keeps_asking_through_a_failed_attempt() {
    let engine = engine(Settings::default());
    let _ = engine.read();
    let waiting = engine.waiting();
    let step = answer(&engine, Err(refused()));
    assert!(
        step.wake_at.is_some(),
        "the retry is scheduled for the waiting caller"
    );
    drop(waiting);

    let engine = self::engine(Settings::default());
    let _ = engine.read();
    let step = answer(&engine, Err(refused()));
    assert!(
        step.wake_at.is_none(),
        "nobody waits: the machine waits for demand"
    );
}

#[test]
fn demand_recorded_after_the_last_step_reaches_the_machine_at_the_refresh_moment() {
    let engine = engine(Settings::default());
    let _ = engine.read();
    // A 40-second token is refreshed at 20 s and served until 36 s.
    let step = answer(&engine, Ok(minimal("abc", 40)));
    let wake_at = step.wake_at.expect("a moment to step again");
    let until = wake_at.saturating_duration_since(Instant::now());
    assert!(
        until <= Duration::from_secs(20),
        "the driver steps at the refresh moment, not at the end of serving: {until:?}"
    );
}

#[test]
fn failures_become_a_give_up_that_every_caller_sees_until_a_token_arrives() {
    let engine = engine(Settings {
        max_attempts: 2,
        ..Settings::default()
    });
    let _ = engine.read();
    let _waiting = engine.waiting();
    let _ = answer(&engine, Err(refused()));
    assert!(
        engine.gave_up().is_none(),
        "one transient failure is not enough"
    );
    std::thread::sleep(Duration::from_millis(1100)); // the minimum request interval
    let step = engine.step();
    let outgoing = match step.transmit {
        Some(o) => o,
        None => {
            std::thread::sleep(
                step.wake_at
                    .unwrap()
                    .saturating_duration_since(Instant::now()),
            );
            engine.step().transmit.expect("the retry")
        }
    };
    engine.feed(outgoing.id, Err(refused()));
    let _ = engine.step();
    match engine.gave_up() {
        Some(Error::GaveUp {
            class, attempts, ..
        }) => {
            assert_eq!((class, attempts), (FailureClass::Transient, 2));
        }
        other => panic!("{other:?}"),
    }
    let config = Config::builder(Endpoint::staging(), Credentials::new("id", "other"))
        .build()
        .unwrap();
    engine.reconfigure(config);
    assert!(engine.gave_up().is_none(), "a new configuration clears it");
}

#[test]
fn a_permanent_failure_gives_up_at_once_and_the_error_says_so() {
    let engine = engine(Settings::default());
    let _ = engine.read();
    let body = r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#;
    let response = Response::builder()
        .status(401)
        .body(body.as_bytes().to_vec())
        .unwrap();
    let _ = answer(&engine, Ok(response));
    let error = engine.gave_up().expect("given up");
    assert_eq!(error.class(), FailureClass::Permanent);
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert!(
        !format!("{error} {error:?}").contains("secret"),
        "no secret shown"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn events_reach_the_handler_in_order() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let engine = engine(Settings {
        on_event: Some(Arc::new(move |e| s.lock().unwrap().push(format!("{e:?}")))),
        ..Settings::default()
    });
    let _ = engine.read();
    let _ = answer(&engine, Ok(minimal("abc", 7200)));
    let seen = seen.lock().unwrap();
    assert!(seen[0].starts_with("TokenAcquired"), "{seen:?}");
    assert!(seen[1].starts_with("RefreshScheduled"), "{seen:?}");
    assert!(
        !seen.iter().any(|e| e.contains("abc")),
        "no event holds the token"
    );
}
