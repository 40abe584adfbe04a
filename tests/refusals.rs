//! The API's refusals as evidence, not commands: a 401 that is not about the token costs a
//! handful of token requests, not one per call; a revocation gets a new token at once.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Event, RetryPolicy, Time, TokenId};
use seekpass_oauth_testkit::scenario::*;

/// An API that refuses every token, called every `every` for `length`: each call that has a
/// token and sees it refused reports it, as `BearerAuth` does. Returns the token requests made
/// and how many reports were taken.
fn refused_throughout(s: &mut Scenario, every: Duration, length: Duration) -> (usize, usize) {
    let end = s.now.saturating_add(length);
    let (mut requests, mut taken) = (0, 0);
    while s.now < end {
        if let Some(token) = s.demand() {
            if s.client.invalidate(token.id(), s.now) {
                taken += 1;
            }
        }
        for id in s.poll() {
            requests += 1;
            s.succeed(id, 7200);
        }
        s.advance(every);
    }
    (requests, taken)
}

fn refused_again(events: &[Event]) -> Vec<(u32, Time)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TokenRefusedAgain {
                refusals,
                next_taken_at,
                ..
            } => Some((*refusals, *next_taken_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_401_that_is_not_about_the_token_costs_a_handful_of_token_requests() {
    // 20 s at 20 calls a second, every token refused.
    let mut s = Scenario::new();
    let (requests, taken) = refused_throughout(&mut s, Duration::from_millis(50), secs(20));
    assert!(requests <= 8, "{requests} token requests");
    assert_eq!(
        taken,
        requests - 1,
        "each token's refusal is taken once, after its hold, and costs one request"
    );
    // Holds of 1, 2, 4, 8 s after the first refused replacement: each said once.
    let said = refused_again(&s.events);
    assert_eq!(
        said.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        (1..=said.len() as u32).collect::<Vec<_>>()
    );
    assert!(said.len() >= 4, "{said:?}");
    // The token is served throughout a hold: calls meet the 401, not "no token".
    assert!(s.demand().is_some());
}

#[test]
fn holds_double_up_to_the_configured_cap() {
    let policy = RetryPolicy::default().refused_tokens(secs(2), secs(10));
    let mut s = Scenario::with(builder().retry(policy));
    refused_throughout(&mut s, Duration::from_millis(100), secs(120));
    let said = refused_again(&s.events);
    // A hold starts at the replacement's first refusal, one call (100 ms) after it came in.
    let mut last = Time::ZERO;
    let mut gaps = Vec::new();
    for (_, until) in &said {
        gaps.push(until.saturating_duration_since(last));
        last = *until;
    }
    // 2, 4, 8, then 10 s holds (each gap adds the call that met the next token).
    assert!(gaps.len() >= 6, "{gaps:?}");
    for (gap, hold) in gaps.iter().skip(1).zip([4, 8, 10, 10, 10]) {
        assert!(
            *gap >= secs(hold) && *gap <= secs(hold) + Duration::from_millis(300),
            "{gaps:?}"
        );
    }
    for gap in &gaps[3..] {
        assert!(
            *gap >= secs(10) && *gap <= secs(10) + Duration::from_millis(300),
            "{gaps:?}"
        );
    }
}

#[test]
fn a_revocation_soon_after_issue_is_taken_at_once() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.at_secs(2);
    assert!(s.client.invalidate(token.id(), s.now));
    assert!(s.demand().is_none());
    let id = s.expect_request();
    assert_eq!(
        s.now,
        Time::from_secs(2),
        "the new token is asked for at once"
    );
    s.succeed(id, 7200);
    assert!(refused_again(&s.events).is_empty());
}

#[test]
fn after_the_api_recovers_a_revocation_is_taken_at_once_again() {
    let mut s = Scenario::new();
    refused_throughout(&mut s, Duration::from_millis(50), secs(20));
    let token = s.demand().expect("served during the hold");
    // The API recovers; an hour later it revokes the token.
    s.advance(secs(3600));
    let current: TokenId = s.demand().map_or(token.id(), |t| t.id());
    for id in s.poll() {
        s.succeed(id, 7200);
    }
    let current = s.demand().map_or(current, |t| t.id());
    let before = refused_again(&s.events).len();
    assert!(s.client.invalidate(current, s.now));
    let id = s.expect_request();
    s.succeed(id, 7200);
    assert_eq!(refused_again(&s.events).len(), before, "no new hold");
}

#[test]
fn a_reconfiguration_starts_the_evidence_afresh() {
    let mut s = Scenario::new();
    refused_throughout(&mut s, Duration::from_millis(50), secs(20));
    let changed = builder()
        .scope(seekpass_oauth::Scope::WRITE_MICROCREDENTIAL)
        .build()
        .unwrap();
    s.client.reconfigure(changed, s.now);
    s.demand();
    let id = s.expect_request();
    s.succeed(id, 7200);
    let token = s.demand().unwrap();
    s.advance(secs(1));
    assert!(s.client.invalidate(token.id(), s.now), "taken at once");
}
