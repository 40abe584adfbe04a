//! Every failure class, back-off, `Retry-After`, and what the state says meanwhile.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::http::StatusCode;
use seekpass_oauth::{
    ErrorCode, Event, FailureClass, Time, TokenError, TokenState, TransportError,
    TransportErrorKind,
};
use seekpass_oauth_testkit::scenario::*;

const INVALID_CLIENT: &str = r#"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#;

fn failed_once(status: u16, body: &str) -> Scenario {
    let mut s = Scenario::new();
    s.answer_first(status, body);
    s
}

fn class_of(s: &Scenario) -> FailureClass {
    match s.failures().last() {
        Some(Event::AttemptFailed { class, .. }) => *class,
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_client_is_permanent_and_says_what_to_do() {
    let s = failed_once(401, INVALID_CLIENT);
    assert_eq!(class_of(&s), FailureClass::Permanent);
    let TokenState::Failed {
        error,
        next_attempt,
        fetching: false,
    } = s.state()
    else {
        panic!("{:?}", s.state())
    };
    assert_eq!(error.code(), Some(&ErrorCode::InvalidClient));
    assert!(
        error
            .to_string()
            .contains("check CLIENT_ID and CLIENT_SECRET"),
        "{error}"
    );
    // A long back-off: 2.5-5 minutes.
    assert!(next_attempt >= Time::from_secs(150) && next_attempt <= Time::from_secs(300));
}

#[test]
fn permanent_failures_are_not_retried_in_a_hot_loop() {
    let mut s = failed_once(400, r#"{"error":"invalid_scope"}"#);
    // Keep asking every second for an hour.
    for t in 1..3600 {
        s.at_secs(t);
        s.demand();
        for id in s.poll() {
            s.respond(id, 400, r#"{"error":"invalid_scope"}"#);
        }
    }
    // 5 min, then 10, 20, 40 (with jitter): a handful of attempts in the hour.
    assert!(s.sent.len() <= 6, "{} attempts", s.sent.len());
    assert!(s.sent.len() >= 3, "{} attempts", s.sent.len());
}

#[test]
fn transient_failures_back_off_exponentially() {
    let mut s = failed_once(503, "");
    assert_eq!(class_of(&s), FailureClass::Transient);
    let mut gaps = Vec::new();
    let mut last = s.now;
    for _ in 0..8 {
        s.now = s.last_failure_next_attempt();
        s.demand();
        let id = s.expect_request();
        gaps.push(s.now.saturating_duration_since(last).as_millis());
        last = s.now;
        s.respond(id, 503, "");
    }
    // Each wait is at least half the full delay 1, 2, 4... s and at most the full delay.
    for (n, gap) in gaps.iter().enumerate() {
        let full = 1000u128 << n;
        assert!(
            *gap >= full / 2 && *gap <= full.max(1000),
            "attempt {n}: {gap} ms, {gaps:?}"
        );
    }
}

#[test]
fn transient_statuses() {
    for status in [408, 425, 429, 500, 502, 503, 504] {
        assert_eq!(
            class_of(&failed_once(status, "")),
            FailureClass::Transient,
            "{status}"
        );
    }
    for status in [400, 401, 403, 404, 405] {
        assert_eq!(
            class_of(&failed_once(status, "")),
            FailureClass::Permanent,
            "{status}"
        );
    }
}

#[test]
fn wrong_url_says_so() {
    let s = failed_once(404, "");
    let TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert!(error.to_string().contains("check SEEK_PASS_URL"), "{error}");
}

#[test]
fn html_error_pages_are_classified_by_status() {
    let s = failed_once(502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    let TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert_eq!(error.status(), Some(StatusCode::BAD_GATEWAY));
    assert_eq!(error.code(), None);
    assert!(
        error.to_string().contains("502 Bad Gateway</h1>"),
        "{error}"
    );
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let resp = seekpass_oauth::http::Response::builder()
        .status(429)
        .header("retry-after", "120")
        .body(Vec::new())
        .unwrap();
    s.client.handle_response(id, resp, s.now).unwrap();
    s.poll();
    let Event::AttemptFailed {
        retry_after,
        next_attempt,
        ..
    } = s.failures()[0]
    else {
        panic!()
    };
    assert_eq!(*retry_after, Some(secs(120)));
    assert_eq!(*next_attempt, Time::from_secs(120));
    s.at_secs(119);
    s.demand();
    s.expect_no_request();
    s.at_secs(120);
    s.expect_request();
}

#[test]
fn retry_after_as_an_http_date_is_honoured_and_capped() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let resp = seekpass_oauth::http::Response::builder()
        .status(503)
        .header("date", "Sun, 06 Nov 1994 08:49:37 GMT")
        .header("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT")
        .body(Vec::new())
        .unwrap();
    s.client.handle_response(id, resp, s.now).unwrap();
    s.poll();
    assert_eq!(s.last_failure_next_attempt(), Time::from_secs(30));

    s.now = Time::from_secs(30);
    s.demand();
    let id = s.expect_request();
    let resp = seekpass_oauth::http::Response::builder()
        .status(503)
        .header("retry-after", "86400")
        .body(Vec::new())
        .unwrap();
    s.client.handle_response(id, resp, s.now).unwrap();
    s.poll();
    assert_eq!(s.last_failure_next_attempt(), Time::from_secs(30 + 600));
}

#[test]
fn transport_failures_are_transient() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.client
        .handle_transport_error(
            id,
            TransportError::new(TransportErrorKind::Connect, "connection refused"),
            s.now,
        )
        .unwrap();
    s.poll();
    assert_eq!(class_of(&s), FailureClass::Transient);
    let TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert!(matches!(error, TokenError::Transport(_)));
    assert!(error.to_string().contains("connection refused"));
}

#[test]
fn a_failed_refresh_keeps_serving_the_old_token_until_it_expires() {
    let mut s = Scenario::new();
    let token = s.drive_to_failed_refresh(7200);
    let TokenState::Expiring {
        token: served,
        refreshing: false,
        last_error: Some(_),
    } = s.state()
    else {
        panic!("{:?}", s.state())
    };
    assert_eq!(served.id(), token.id());
    assert_eq!(s.demand().unwrap().id(), token.id());
    // Retries continue while it is still served.
    s.now = s.last_failure_next_attempt();
    s.demand();
    let id = s.expect_request();
    s.respond(id, 503, "");
    // Once its serving time ends with the refresh still failing, the state is Failed.
    s.now = token.serve_until();
    assert!(s.demand().is_none());
    assert_eq!(s.state_name(), "failed");
}

#[test]
fn success_resets_the_back_off() {
    let mut s = failed_once(503, "");
    s.now = s.last_failure_next_attempt();
    s.demand();
    let id = s.expect_request();
    s.respond(id, 503, "");
    s.now = s.last_failure_next_attempt();
    s.demand();
    let id = s.expect_request();
    s.succeed(id, 60);
    // The token dies with nobody asking; the next failure starts again from the first delay.
    s.advance(secs(120));
    s.demand();
    let id = s.expect_request();
    let before = s.now;
    s.respond(id, 503, "");
    let wait = s
        .last_failure_next_attempt()
        .saturating_duration_since(before);
    assert!(wait <= secs(1), "{wait:?}");
}

#[test]
fn a_2xx_that_is_not_a_token_is_an_error_with_an_excerpt() {
    let s = failed_once(200, "<html>captive portal</html>");
    assert_eq!(class_of(&s), FailureClass::Transient);
    let TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert!(error.to_string().contains("captive portal"), "{error}");

    let s = failed_once(200, r#"{"error":"invalid_client"}"#);
    assert_eq!(class_of(&s), FailureClass::Permanent);
}

#[test]
fn bodies_over_the_limit_are_refused_before_parsing() {
    let mut s = Scenario::with(builder().max_response_body(100));
    s.demand();
    let id = s.expect_request();
    s.respond(id, 200, &token_body(&"A".repeat(200), 7200));
    let TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert!(
        matches!(error, TokenError::BodyTooLarge { limit: 100, .. }),
        "{error:?}"
    );
}
