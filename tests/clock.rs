//! A clock that goes backwards, and server clock skew seen through `created_at`.

use seekpass_oauth::{Event, Time};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn a_clock_going_backwards_never_revives_or_extends_a_token() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.at_secs(7200);
    assert!(s.demand().is_none());
    s.at_secs(100);
    assert!(
        s.demand().is_none(),
        "an earlier reading does not bring the token back"
    );
    assert_eq!(s.state_name(), "expired");
    s.poll();
    assert!(s
        .events
        .contains(&Event::TokenExpired { token: token.id() }));
}

#[test]
fn a_backwards_clock_during_a_request_does_not_lengthen_the_token() {
    let mut s = Scenario::new();
    s.at_secs(1000);
    s.demand();
    let id = s.expect_request();
    s.at_secs(10).succeed(id, 7200);
    let token = s.state().token().unwrap().clone();
    assert_eq!(token.requested_at(), Time::from_secs(1000));
    assert_eq!(token.expires_at(), Time::from_secs(8200));
}

fn wall_clock_scenario(created_at: u64, now_secs: u64) -> Vec<Event> {
    let mut s = Scenario::with(builder().wall_clock(true));
    s.at_secs(now_secs);
    s.demand();
    let id = s.expect_request();
    let body = format!(
        r#"{{"access_token":"abc","token_type":"Bearer","expires_in":7200,"created_at":{created_at}}}"#
    );
    s.respond(id, 200, &body);
    s.events
        .into_iter()
        .filter(|e| matches!(e, Event::ClockSkew { .. }))
        .collect()
}

#[test]
fn skew_is_reported_on_a_wall_clock() {
    let now = 1_795_798_685;
    assert_eq!(wall_clock_scenario(now, now), vec![]);
    assert_eq!(
        wall_clock_scenario(now + 3, now),
        vec![],
        "within the threshold"
    );
    // The threshold is 5 s past either end of the round trip, inclusive.
    assert_eq!(
        wall_clock_scenario(now + 5, now),
        vec![],
        "at the threshold"
    );
    assert_eq!(
        wall_clock_scenario(now - 5, now),
        vec![],
        "at the threshold"
    );
    assert_eq!(
        wall_clock_scenario(now + 6, now),
        vec![Event::ClockSkew {
            created_at: now + 6,
            skew_secs: 6
        }]
    );
    assert_eq!(
        wall_clock_scenario(now - 6, now),
        vec![Event::ClockSkew {
            created_at: now - 6,
            skew_secs: -6
        }]
    );
    assert_eq!(
        wall_clock_scenario(now + 60, now),
        vec![Event::ClockSkew {
            created_at: now + 60,
            skew_secs: 60
        }]
    );
    assert_eq!(
        wall_clock_scenario(now - 120, now),
        vec![Event::ClockSkew {
            created_at: now - 120,
            skew_secs: -120
        }]
    );
}

#[test]
fn skew_is_not_reported_on_a_monotonic_clock() {
    let mut s = Scenario::new();
    s.drive_to_fresh(7200); // created_at 1795798685 against a clock at zero
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::ClockSkew { .. })));
}
