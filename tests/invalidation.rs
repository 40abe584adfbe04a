//! The API rejected a token (rule 7).

use seekpass_oauth::{Event, TokenError, TokenState};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn a_rejected_token_stops_being_served_and_one_refresh_starts() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.take_events();
    s.at_secs(60);
    assert!(s.client.invalidate(token.id(), s.now));
    assert!(s.demand().is_none(), "the rejected token is not served");
    assert!(matches!(s.state(), TokenState::Expired { fetching: false }));
    let id = s.expect_request();
    assert_eq!(
        s.events,
        vec![Event::TokenInvalidated { token: token.id() }]
    );
    s.succeed(id, 7200);
    assert_ne!(s.demand().unwrap().id(), token.id());
}

#[test]
fn a_burst_of_reports_causes_one_refresh() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.at_secs(60);
    let taken: Vec<bool> = (0..100)
        .map(|_| s.client.invalidate(token.id(), s.now))
        .collect();
    assert_eq!(taken.iter().filter(|t| **t).count(), 1);
    let id = s.expect_request();
    // More reports while the refresh is in flight change nothing.
    for _ in 0..100 {
        assert!(!s.client.invalidate(token.id(), s.now));
    }
    s.expect_no_request();
    s.succeed(id, 7200);
    s.expect_no_request();
    assert_eq!(s.sent.len(), 2);
}

#[test]
fn a_report_for_an_older_token_is_ignored() {
    let mut s = Scenario::new();
    let old = s.drive_to_fresh(7200);
    s.client.invalidate(old.id(), s.now);
    s.at_secs(1);
    let id = s.expect_request();
    s.succeed(id, 7200);
    let current = s.demand().unwrap();
    s.take_events();
    // A request made with the old token comes back 401 late.
    assert!(!s.client.invalidate(old.id(), s.now));
    assert_eq!(s.demand().unwrap().id(), current.id());
    s.expect_no_request();
    assert!(s.events.is_empty());
}

#[test]
fn the_server_handing_back_the_rejected_token_is_a_failure_not_a_loop() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    let text = token.access_token().expose_secret().to_owned();
    s.at_secs(60);
    s.client.invalidate(token.id(), s.now);
    let id = s.expect_request();
    s.respond(id, 200, &token_body(&text, 7140));
    let TokenState::Failed { error, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert_eq!(error, &TokenError::RejectedTokenReissued);
    assert!(s.demand().is_none());
    // Retried after back-off; a different token then works.
    s.now = s.last_failure_next_attempt();
    s.demand();
    let id = s.expect_request();
    s.succeed(id, 7200);
    assert!(s.demand().is_some());
}

#[test]
fn invalidation_waits_for_a_back_off_in_force() {
    let mut s = Scenario::new();
    let token = s.drive_to_failed_refresh(7200);
    let retry_at = s.last_failure_next_attempt();
    s.client.invalidate(token.id(), s.now);
    assert_eq!(s.state_name(), "failed");
    s.expect_no_request();
    assert_eq!(s.wake, Some(retry_at));
    s.sleep_until_wake();
    assert_eq!(s.sent.len(), 3);
}

#[test]
fn an_invalidated_token_sets_no_alarm_for_its_own_expiry() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.advance(secs(10));
    assert!(s.client.invalidate(token.id(), s.now));
    let id = s.expect_request();
    // The refresh fails for good and nobody asks again: nothing is left to wake for, not even
    // the dead token's expiry.
    s.advance(secs(1))
        .respond(id, 401, r#"{"error":"invalid_client"}"#);
    s.poll();
    assert_eq!(s.wake, None, "woken for {:?}", s.wake);
    assert!(format!("{:?}", s.client).starts_with("TokenClient { endpoint: Endpoint(https://"));
}
