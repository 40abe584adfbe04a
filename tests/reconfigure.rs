//! Credentials or scopes changed at runtime (rule 8), and a rotation of the secret alone, which
//! keeps the token (`src/machine/rotation.rs`).

use proptest::prelude::*;
use seekpass_oauth::{Credentials, Event, InputError, Scope, Time, TimingPolicy};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn another_client_drops_the_old_token_and_fetches_a_new_one() {
    let mut s = Scenario::new();
    let old = s.drive_to_fresh(7200);
    s.demand();
    s.at_secs(10);
    let other = builder()
        .credentials(Credentials::new("other-client", "other-secret"))
        .build()
        .unwrap();
    s.client.reconfigure(other, s.now);
    assert!(
        s.demand().is_none(),
        "the old token is not served for the new configuration"
    );
    let id = s.expect_request();
    assert!(s.last_body().contains("client_id=other-client"));
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
    let body = s.last_body();
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
    let other = builder()
        .scope(Scope::WRITE_MICROCREDENTIAL)
        .build()
        .unwrap();
    s.client.reconfigure(other, s.now);
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

#[test]
fn a_new_secret_alone_keeps_the_token_until_its_refresh_which_sends_the_new_secret() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.demand();
    s.at_secs(600);
    s.rotate_secret("rotated-secret");
    assert_eq!(s.demand().unwrap().id(), token.id(), "still served");
    s.expect_no_request();
    assert!(s.events.contains(&Event::SecretRotated {
        retry_now: false,
        in_flight: false
    }));
    s.now = token.refresh_at();
    s.demand();
    s.expect_request();
    assert!(s.last_body().contains("client_secret=rotated-secret"));
}

#[test]
fn a_failed_refresh_is_retried_at_once_with_the_new_secret() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.demand();
    s.now = token.refresh_at();
    let id = s.expect_request();
    // The server already holds the new secret.
    s.respond(id, 401, r#"{"error":"invalid_client"}"#);
    s.demand();
    s.expect_no_request();
    // Past the minimum interval between requests, which a rotation does not lift.
    s.now = token.refresh_at().saturating_add(secs(5));
    s.demand();
    s.expect_no_request();
    s.rotate_secret("rotated-secret");
    assert_eq!(s.demand().unwrap().id(), token.id());
    s.expect_request();
    assert!(s.last_body().contains("client_secret=rotated-secret"));
    assert!(s.events.contains(&Event::SecretRotated {
        retry_now: true,
        in_flight: false
    }));
}

#[test]
fn a_request_out_with_the_old_secret_is_kept_and_its_refusal_retried_at_once() {
    let mut s = Scenario::new();
    s.demand();
    let old = s.expect_request();
    s.at_secs(1);
    s.rotate_secret("rotated-secret");
    s.expect_no_request();
    s.respond(old, 401, r#"{"error":"invalid_client"}"#);
    s.demand();
    let again = s.expect_request();
    assert!(s.last_body().contains("client_secret=rotated-secret"));
    // The new secret's own refusal backs off as any permanent failure does.
    s.respond(again, 401, r#"{"error":"invalid_client"}"#);
    s.demand();
    s.expect_no_request();
    assert!(s.last_failure_next_attempt() >= s.now.saturating_add(secs(60)));
}

#[test]
fn a_request_out_with_the_old_secret_that_succeeds_is_served_and_the_mark_ends_with_it() {
    let mut s = Scenario::new();
    s.demand();
    let old = s.expect_request();
    s.rotate_secret("rotated-secret");
    s.succeed(old, 7200);
    let token = s.demand().unwrap().clone();
    s.now = token.refresh_at();
    let refresh = s.expect_request();
    s.respond(refresh, 401, r#"{"error":"invalid_client"}"#);
    s.demand();
    s.expect_no_request();
}

#[test]
fn a_new_user_agent_alone_is_no_rotation_and_keeps_everything() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.demand();
    s.now = token.refresh_at();
    let id = s.expect_request();
    s.respond(id, 401, r#"{"error":"invalid_client"}"#);
    s.now = token.refresh_at().saturating_add(secs(5));
    let named = builder().user_agent_product("AcmeSIS/4.2").build().unwrap();
    s.client.reconfigure(named, s.now);
    assert_eq!(s.demand().unwrap().id(), token.id());
    // The back-off of the failure stands: only a new secret ends it.
    s.expect_no_request();
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::SecretRotated { .. })));
}

#[test]
fn the_previous_secret_stays_redacted_when_a_later_change_keeps_the_new_one() {
    let mut s = Scenario::new();
    s.rotate_secret("rotated-secret");
    // Another change, the rotated secret kept: the first secret's echo is still stripped.
    let more = builder()
        .credentials(Credentials::new(CLIENT_ID, "rotated-secret"))
        .scope(Scope::WRITE_MICROCREDENTIAL)
        .build()
        .unwrap();
    s.client.reconfigure(more, s.now);
    s.demand();
    let id = s.expect_request();
    s.respond(id, 200, &format!("not json {SECRET} rotated-secret"));
    let shown = format!("{:?}", s.events);
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains("rotated-secret"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

proptest! {
    /// Whatever happened before it (refreshes failing transiently or for good), a rotation of the
    /// secret alone never shortens the token being served: a twin machine fed the same inputs
    /// without the rotation serves the same token at every moment until it ends.
    #[test]
    fn a_rotation_never_shortens_a_served_token(
        expires_in in 120u64..20_000,
        rotate_at in 0.0f64..1.0,
        steps in proptest::collection::vec((1u64..900, 0u8..3), 1..40),
    ) {
        let mut rotated = Scenario::new();
        let mut twin = Scenario::new();
        let token = rotated.drive_to_fresh(expires_in);
        twin.drive_to_fresh(expires_in);
        let serve_until = token.serve_until();
        let rotation = Time::ZERO.saturating_add(
            serve_until.saturating_duration_since(Time::ZERO).mul_f64(rotate_at),
        );
        let mut done = false;
        for (step, answer) in steps {
            let now = rotated.now.saturating_add(secs(step));
            if now >= serve_until {
                break;
            }
            if !done && now >= rotation {
                rotated.now = rotation;
                rotated.rotate_secret("rotated-secret");
                done = true;
            }
            for s in [&mut rotated, &mut twin] {
                s.now = now;
                s.demand();
                for id in s.poll() {
                    match answer {
                        0 => s.respond(id, 503, ""),
                        1 => s.respond(id, 401, r#"{"error":"invalid_client"}"#),
                        _ => s.respond(id, 500, "{}"),
                    };
                }
            }
            let served = rotated.demand().map(|t| t.id());
            prop_assert_eq!(served, twin.demand().map(|t| t.id()));
            prop_assert_eq!(served, Some(token.id()));
        }
    }
}
