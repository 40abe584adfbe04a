//! Redirects from the token endpoint: 307/308 to the same origin are followed with the same
//! POST; everything else is a permanent error that names the Location.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Event, FailureClass, RedirectRefusal, RequestId, Time, TokenError, TokenState,
};
use seekpass_oauth_testkit::scenario::*;

const TOKEN_URL: &str = "https://app.seekpass-staging.com/api/partner/v1/oauth/token.json";

fn redirect(s: &mut Scenario, id: RequestId, status: u16, location: &str) {
    let r = Response::builder()
        .status(status)
        .header("location", location)
        .body(Vec::new())
        .unwrap();
    s.client.handle_response(id, r, s.now).unwrap();
}

fn refusal(s: &Scenario) -> (RedirectRefusal, String) {
    match s.state() {
        TokenState::Failed {
            error: e @ TokenError::Redirect { refusal, .. },
            ..
        } => {
            assert_eq!(e.class(), FailureClass::Permanent);
            (*refusal, e.to_string())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_same_origin_307_resends_the_same_post() {
    let mut s = Scenario::new();
    s.demand();
    let first = s.expect_request();
    s.advance(secs(2));
    redirect(&mut s, first, 307, "/api/partner/v1/oauth/token");
    let second = s.expect_request();
    let (a, b) = (&s.sent[0].1, &s.sent[1].1);
    assert_eq!(a.uri(), TOKEN_URL);
    assert_eq!(
        b.uri(),
        "https://app.seekpass-staging.com/api/partner/v1/oauth/token"
    );
    assert_eq!(a.method(), b.method());
    assert_eq!(a.headers(), b.headers());
    assert_eq!(a.body(), b.body());
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::RedirectFollowed { request, .. } if *request == first)));
    s.advance(secs(2)).succeed(second, 7200);
    let token = s.demand().unwrap();
    assert_eq!(
        token.requested_at(),
        Time::ZERO,
        "the lifetime starts at the first request"
    );
}

#[test]
fn up_to_three_hops_then_refused() {
    let mut s = Scenario::new();
    s.demand();
    let mut id = s.expect_request();
    for hop in 1..=3 {
        redirect(&mut s, id, 308, &format!("/hop{hop}"));
        id = s.expect_request();
    }
    redirect(&mut s, id, 308, "/hop4");
    s.expect_no_request();
    assert_eq!(refusal(&s).0, RedirectRefusal::TooManyHops);
}

#[test]
fn loops_are_refused() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    redirect(&mut s, id, 307, "/elsewhere");
    let id = s.expect_request();
    redirect(&mut s, id, 307, TOKEN_URL);
    s.expect_no_request();
    assert_eq!(refusal(&s).0, RedirectRefusal::Loop);
}

#[test]
fn method_changing_redirects_are_refused_and_named() {
    for status in [301, 302, 303] {
        let mut s = Scenario::new();
        s.demand();
        let id = s.expect_request();
        redirect(&mut s, id, status, "https://app.seekpass-staging.com/login");
        s.expect_no_request();
        let (why, text) = refusal(&s);
        assert_eq!(why, RedirectRefusal::MethodChange);
        assert!(
            text.contains("https://app.seekpass-staging.com/login"),
            "{text}"
        );
        assert!(text.contains("configure it as the token URL"), "{text}");
    }
}

#[test]
fn credentials_go_nowhere_new() {
    let cases = [
        ("https://evil.example/token", RedirectRefusal::OtherOrigin),
        (
            "https://app.seekpass-staging.com:8443/token",
            RedirectRefusal::OtherOrigin,
        ),
        (
            "http://app.seekpass-staging.com/token",
            RedirectRefusal::Downgrade,
        ),
    ];
    for (location, expected) in cases {
        let mut s = Scenario::new();
        s.demand();
        let id = s.expect_request();
        redirect(&mut s, id, 307, location);
        s.expect_no_request();
        assert_eq!(s.sent.len(), 1, "{location}");
        assert_eq!(refusal(&s).0, expected, "{location}");
    }
}

#[test]
fn a_redirect_without_location_is_refused() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let r = Response::builder().status(308).body(Vec::new()).unwrap();
    s.client.handle_response(id, r, s.now).unwrap();
    s.poll();
    assert_eq!(refusal(&s).0, RedirectRefusal::MissingLocation);
}

#[test]
fn a_redirected_attempt_is_still_one_request_in_flight_with_one_deadline() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.at_secs(20);
    redirect(&mut s, id, 307, "/next");
    for _ in 0..10 {
        s.demand();
    }
    let next = s.expect_request();
    s.expect_no_request();
    assert_eq!(
        s.wake,
        Some(Time::from_secs(30)),
        "the first request's deadline still holds"
    );
    s.at_secs(30);
    s.poll();
    assert!(matches!(
        s.state(),
        TokenState::Failed {
            error: TokenError::DeadlineExceeded { .. },
            ..
        }
    ));
    let late = s
        .client
        .handle_response(next, response(200, &token_body("late", 60)), s.now);
    assert!(late.is_err());
}

#[test]
fn a_followed_redirect_waiting_to_be_sent_counts_as_fetching_and_needs_a_poll() {
    let mut s = Scenario::new();
    s.demand();
    let first = s.expect_request();
    redirect(&mut s, first, 307, "/api/partner/v1/oauth/token");
    // The first request is answered, the second not yet emitted: still fetching.
    assert!(
        matches!(s.state(), TokenState::Unfetched { fetching: true }),
        "{:?}",
        s.state()
    );
    // Once the event is taken, the pending request alone still needs a poll.
    let now = s.now;
    assert!(matches!(
        s.client.poll(now),
        seekpass_oauth::Output::Event(Event::RedirectFollowed { .. })
    ));
    assert!(s.client.poll_needed(now));
    assert!(matches!(
        s.client.poll(now),
        seekpass_oauth::Output::Transmit(_)
    ));
}

#[test]
fn a_location_is_shown_without_its_user_information_or_query() {
    for (status, location) in [
        (
            302,
            "https://user:SECRET@login.example.com/sso?session=SECRET",
        ),
        (307, "https://elsewhere.example/token?key=SECRET"),
        (307, "/api/partner/v1/oauth/token?sig=SECRET"),
    ] {
        let mut s = Scenario::new();
        s.demand();
        let id = s.expect_request();
        redirect(&mut s, id, status, location);
        s.poll();
        let shown = format!("{:?} {:?}", s.state(), s.events);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}
