//! Credentials or scopes changed at runtime (rule 8).

use seekpass_oauth::{Credentials, Event, InputError, Scope, TimingPolicy};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn new_credentials_drop_the_old_token_and_fetch_a_new_one() {
    let mut s = Scenario::new();
    let old = s.drive_to_fresh(7200);
    s.demand();
    s.at_secs(10);
    let rotated = builder()
        .credentials(Credentials::new(CLIENT_ID, "rotated-secret"))
        .build()
        .unwrap();
    s.client.reconfigure(rotated, s.now);
    assert!(
        s.demand().is_none(),
        "the old token is not served for the new configuration"
    );
    let id = s.expect_request();
    let body = String::from_utf8(s.sent[1].1.body().to_vec()).unwrap();
    assert!(body.contains("client_secret=rotated-secret"), "{body}");
    s.succeed(id, 7200);
    assert_ne!(s.demand().unwrap().id(), old.id());
}

#[test]
fn new_scopes_drop_the_old_token() {
    let mut s = Scenario::new();
    s.drive_to_fresh(7200);
    s.demand();
    s.at_secs(10);
    let more = builder()
        .scope(Scope::WRITE_MICROCREDENTIAL)
        .build()
        .unwrap();
    s.client.reconfigure(more, s.now);
    assert!(s.demand().is_none());
    s.expect_request();
    let body = String::from_utf8(s.sent[1].1.body().to_vec()).unwrap();
    assert!(
        body.contains("scope=write.education+write.microcredential"),
        "{body}"
    );
}

#[test]
fn a_request_in_flight_is_abandoned_and_its_answer_refused() {
    let mut s = Scenario::new();
    s.demand();
    let stale = s.expect_request();
    s.at_secs(2);
    let rotated = builder()
        .credentials(Credentials::new(CLIENT_ID, "rotated-secret"))
        .build()
        .unwrap();
    s.client.reconfigure(rotated, s.now);
    let fresh = s.expect_request();
    assert!(s
        .events
        .contains(&Event::RequestAbandoned { request: stale }));
    let late = s
        .client
        .handle_response(stale, response(200, &token_body("old", 7200)), s.now);
    assert_eq!(late, Err(InputError::StaleRequest(stale)));
    s.succeed(fresh, 7200);
    assert!(s.demand().is_some());
}

#[test]
fn a_permanent_failure_is_retried_at_once_after_a_fix() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.respond(id, 401, r#"{"error":"invalid_client"}"#);
    s.at_secs(5);
    s.demand();
    s.expect_no_request();
    let fixed = builder()
        .credentials(Credentials::new(CLIENT_ID, "the-right-secret"))
        .build()
        .unwrap();
    s.client.reconfigure(fixed, s.now);
    s.expect_request();
}

#[test]
fn policy_changes_alone_keep_the_token() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    let tuned = builder()
        .timing(TimingPolicy::default().expiry_margin(secs(60)))
        .build()
        .unwrap();
    s.client.reconfigure(tuned, s.now);
    assert_eq!(s.demand().unwrap().id(), token.id());
    s.expect_no_request();
}

#[test]
fn an_unused_machine_reconfigured_stays_idle() {
    let mut s = Scenario::new();
    s.client.reconfigure(
        builder()
            .scope(Scope::WRITE_MICROCREDENTIAL)
            .build()
            .unwrap(),
        s.now,
    );
    s.expect_no_request();
    assert_eq!(s.wake, None);
}
