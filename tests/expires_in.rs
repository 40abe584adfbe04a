//! What each form of `expires_in` leads to (rule 6).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{
    FailureClass, LifetimeSource, MissingExpiresIn, ResponseProblem, Time, TimingPolicy,
    TokenError, TokenState,
};
use seekpass_oauth_testkit::scenario::*;

fn answer(s: &mut Scenario, expires_in_json: &str) {
    s.demand();
    let id = s.expect_request();
    let body =
        format!(r#"{{"access_token":"abc","token_type":"Bearer","expires_in":{expires_in_json}}}"#);
    s.respond(id, 200, &body);
}

fn problem(s: &Scenario) -> (ResponseProblem, FailureClass) {
    match s.state() {
        TokenState::Failed {
            error: e @ TokenError::InvalidResponse { problem, .. },
            ..
        } => (problem.clone(), e.class()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_numeric_string_is_accepted() {
    let mut s = Scenario::new();
    answer(&mut s, r#""7199""#);
    let token = s.demand().unwrap();
    assert_eq!(token.lifetime(), secs(7199));
    assert_eq!(token.lifetime_source(), LifetimeSource::ExpiresIn);
}

#[test]
fn missing_means_the_assumed_lifetime_by_default() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.respond(id, 200, r#"{"access_token":"abc","token_type":"Bearer"}"#);
    let token = s.demand().unwrap();
    assert_eq!(token.lifetime(), secs(15 * 60));
    assert_eq!(token.lifetime_source(), LifetimeSource::Assumed);
    // Neither "valid forever" nor "fetch on every call": refreshed ahead of the assumed end.
    assert!(token.refresh_at() < Time::from_secs(900) && token.refresh_at() > Time::from_secs(300));
}

#[test]
fn missing_can_be_configured_as_an_error() {
    let timing = TimingPolicy::default().missing_expires_in(MissingExpiresIn::Reject);
    let mut s = Scenario::with(builder().timing(timing));
    answer(&mut s, "null");
    assert_eq!(
        problem(&s),
        (ResponseProblem::MissingExpiresIn, FailureClass::Permanent)
    );
}

#[test]
fn zero_and_negative_are_an_already_expired_token_retried_soon() {
    for value in ["0", "-60", "\"0\"", "-0.5"] {
        let mut s = Scenario::new();
        answer(&mut s, value);
        assert_eq!(
            problem(&s),
            (ResponseProblem::AlreadyExpired, FailureClass::Transient),
            "{value}"
        );
    }
}

#[test]
fn fractions_are_kept_to_the_millisecond() {
    let mut s = Scenario::new();
    answer(&mut s, "90.5");
    assert_eq!(s.demand().unwrap().expires_at(), Time::from_millis(90_500));
}

#[test]
fn huge_values_are_capped_without_overflow() {
    for value in [
        "18446744073709551615",
        "1e300",
        "\"99999999999999999999999999\"",
    ] {
        let mut s = Scenario::new();
        s.at_secs(u64::MAX / 1000 - 10);
        answer(&mut s, value);
        let token = s.demand().unwrap();
        assert_eq!(token.lifetime(), secs(86_400), "{value}");
        assert_eq!(token.lifetime_source(), LifetimeSource::Capped);
        assert_eq!(
            token.expires_at(),
            Time::MAX,
            "saturates at the end of time"
        );
    }
}

#[test]
fn garbage_is_a_permanent_invalid_field() {
    for value in [r#""two hours""#, "true", "{}"] {
        let mut s = Scenario::new();
        answer(&mut s, value);
        let (problem, class) = problem(&s);
        assert!(
            matches!(
                problem,
                ResponseProblem::InvalidField {
                    field: "expires_in",
                    ..
                }
            ),
            "{value}"
        );
        assert_eq!(class, FailureClass::Permanent);
    }
}
