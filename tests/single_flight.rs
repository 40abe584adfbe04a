//! At most one request in flight, deadlines, and answers that come too late (rules 4 and 5).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{
    Event, InputError, RequestId, Time, TokenError, TokenState, TransportError, TransportErrorKind,
};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn demand_while_in_flight_never_makes_a_second_request() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    for t in 0..29 {
        s.at_secs(t);
        for _ in 0..50 {
            assert!(s.demand().is_none());
        }
        s.expect_no_request();
        assert!(!s.client.poll_needed(s.now));
    }
    s.at_secs(29).succeed(id, 7200);
    assert!(s.demand().is_some());
}

#[test]
fn the_deadline_is_a_transport_failure() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let deadline = s.sent[0].0;
    assert_eq!(deadline, id);
    assert_eq!(s.wake, Some(Time::from_secs(30)), "woken at the deadline");
    s.at_millis(29_999).expect_no_request();
    s.at_secs(30);
    assert!(s.client.poll_needed(s.now));
    s.poll();
    let TokenState::Failed { error, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert!(matches!(error, TokenError::DeadlineExceeded { after, .. } if *after == secs(30)));
    assert!(matches!(s.failures()[0], Event::AttemptFailed { request, .. } if *request == id));

    // The late answer is refused and changes nothing.
    let before = format!("{:?}", s.client);
    let late = s
        .client
        .handle_response(id, response(200, &token_body("late", 7200)), s.now);
    assert_eq!(late, Err(InputError::StaleRequest(id)));
    assert_eq!(format!("{:?}", s.client), before);
    assert!(s.demand().is_none());
}

#[test]
fn the_deadline_is_configurable() {
    let mut s = Scenario::with(builder().request_deadline(secs(5)));
    s.at_secs(2);
    s.demand();
    let now = s.now;
    let seekpass_oauth::Output::Transmit(t) = s.client.poll(now) else {
        panic!("no request")
    };
    // The transmit says when to give up, so the caller's HTTP timeout can match it.
    assert_eq!(t.deadline(), Time::from_secs(7));
    s.poll();
    assert_eq!(s.wake, Some(Time::from_secs(7)));
}

#[test]
fn an_answer_fed_after_its_deadline_is_refused() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.at_secs(31);
    let late = s
        .client
        .handle_response(id, response(200, &token_body("late", 7200)), s.now);
    assert_eq!(late, Err(InputError::StaleRequest(id)));
    s.poll();
    assert_eq!(s.state_name(), "failed");
}

#[test]
fn unknown_and_repeated_ids_are_refused_without_changing_state() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let unknown = s.client.handle_transport_error(
        issued_elsewhere(5),
        TransportError::new(TransportErrorKind::Io, "x"),
        s.now,
    );
    assert!(matches!(unknown, Err(InputError::UnknownRequest(_))));
    assert!(matches!(
        s.state(),
        TokenState::Unfetched { fetching: true }
    ));

    s.succeed(id, 7200);
    let again = s
        .client
        .handle_response(id, response(200, &token_body("again", 7200)), s.now);
    assert_eq!(again, Err(InputError::StaleRequest(id)));
    assert_eq!(s.state_name(), "fresh");
    assert_eq!(again.unwrap_err().to_string(), "request #0 is no longer in flight (answered, timed out or abandoned); its answer is ignored");
}

/// The `n`-th id another machine issues: one this scenario's machine has not issued yet.
fn issued_elsewhere(n: u64) -> RequestId {
    let mut other = seekpass_oauth::TokenClient::new(builder().build().unwrap(), Time::ZERO);
    let mut last = None;
    let mut now = Time::ZERO;
    while last.map_or(true, |id: RequestId| id.get() < n) {
        now = now.saturating_add(secs(3600));
        other.token(now);
        loop {
            match other.poll(now) {
                seekpass_oauth::Output::Transmit(tx) => {
                    last = Some(tx.id());
                    let failure = TransportError::new(TransportErrorKind::Io, "");
                    other.handle_transport_error(tx.id(), failure, now).unwrap();
                }
                seekpass_oauth::Output::Event(_) => {}
                _ => break,
            }
        }
    }
    let id = last.unwrap();
    assert_eq!(id.get(), n);
    id
}

#[test]
fn a_transport_timeout_reported_by_the_caller_frees_the_slot() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.advance(secs(10));
    s.client
        .handle_transport_error(
            id,
            TransportError::new(TransportErrorKind::Timeout, "10 s"),
            s.now,
        )
        .unwrap();
    s.poll();
    s.now = s.last_failure_next_attempt();
    s.demand();
    s.expect_request();
}

#[test]
fn requests_are_never_closer_than_the_minimum_interval() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    // A server that answers instantly with a token that is already nearly dead.
    s.respond(id, 200, &token_body("tiny", 1));
    let mut last = Time::ZERO;
    for ms in (0..10_000).step_by(10) {
        s.at_millis(ms);
        s.demand();
        for id in s.poll() {
            assert!(s.now.saturating_duration_since(last) >= secs(1) || last == Time::ZERO);
            last = s.now;
            s.respond(id, 200, &token_body("tiny", 1));
        }
    }
    assert!(s.sent.len() <= 11, "{} requests in 10 s", s.sent.len());
}
