//! Fresh → expiring → refreshed, and when requests happen at all (rules 1, 2, 3 and 9).

use seekpass_oauth::{Event, RefreshMode, Time, TimingPolicy, TokenClient, TokenState};
use seekpass_oauth_testkit::scenario::*;

#[test]
fn first_fetch_waits_for_demand() {
    let mut s = Scenario::new();
    s.expect_no_request();
    assert_eq!(s.wake, None, "idle before the first demand");
    assert_eq!(s.state_name(), "unfetched");
    s.at_secs(3600).expect_no_request();

    assert!(s.demand().is_none());
    assert!(s.client.poll_needed(s.now));
    let id = s.expect_request();
    assert!(matches!(
        s.state(),
        TokenState::Unfetched { fetching: true }
    ));
    s.succeed(id, 7200);
    assert_eq!(s.state_name(), "fresh");
}

#[test]
fn always_mode_fetches_at_once_and_keeps_refreshing_unasked() {
    let mut s = Scenario::with(builder().refresh_mode(RefreshMode::Always));
    let id = s.expect_request();
    s.succeed(id, 7200);
    let refresh_at = s.state().token().unwrap().refresh_at();
    assert_eq!(s.wake, Some(refresh_at));
    let ids = s.sleep_until_wake();
    assert_eq!(ids.len(), 1, "refreshed although nobody asked");
}

#[test]
fn lifetime_counts_from_emission_not_from_the_answer() {
    let mut s = Scenario::new();
    s.at_secs(100);
    s.demand();
    let id = s.expect_request();
    // The answer takes 20 s to arrive.
    s.at_secs(120).succeed(id, 7200);
    let token = s.demand().unwrap();
    assert_eq!(token.requested_at(), Time::from_secs(100));
    assert_eq!(token.expires_at(), Time::from_secs(7300));
    assert_eq!(token.serve_until(), Time::from_secs(7300 - 30));
}

#[test]
fn fresh_then_expiring_then_refreshed_while_still_served() {
    let mut s = Scenario::new();
    let first = s.drive_to_fresh(7200);
    s.demand();
    s.poll();
    let refresh_at = first.refresh_at();
    // Default margins: refresh due between half the lifetime and 5 min before expiry.
    assert!(refresh_at >= Time::from_secs(3600) && refresh_at <= Time::from_secs(7200 - 300));
    assert_eq!(s.wake, Some(refresh_at));

    // Just before: still fresh, nothing sent.
    s.now = refresh_at.saturating_sub(secs(1));
    s.demand();
    s.expect_no_request();
    assert_eq!(s.state_name(), "fresh");

    // At the refresh moment: one request, and the old token is still served meanwhile.
    let id = s.sleep_until_wake();
    assert_eq!(id.len(), 1);
    assert!(matches!(
        s.state(),
        TokenState::Expiring {
            refreshing: true,
            ..
        }
    ));
    assert_eq!(s.demand().unwrap().id(), first.id());

    s.advance(secs(1)).succeed(id[0], 7200);
    let second = s.demand().unwrap();
    assert_ne!(second.id(), first.id());
    assert_eq!(s.state_name(), "fresh");
}

#[test]
fn token_stops_being_served_at_the_expiry_margin() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    // Nobody asked since acquisition, so no refresh ran; at serve_until the token is gone.
    s.at_millis(7_169_999);
    assert!(s.state().token().is_some());
    s.at_millis(7_170_000);
    assert!(s.demand().is_none());
    assert_eq!(s.state_name(), "expired");
    s.poll();
    assert!(s
        .events
        .iter()
        .any(|e| *e == Event::TokenExpired { token: token.id() }));
}

#[test]
fn a_busy_service_never_waits_for_a_refresh() {
    let mut s = Scenario::new();
    s.drive_to_fresh(7200);
    s.take_events();
    // Ask every 10 s for 10 hours, answering refreshes after 2 s.
    let mut pending = None;
    for step in 0..3600u64 {
        s.at_secs(step * 10);
        assert!(s.demand().is_some(), "no token at {}", s.now);
        if let Some((id, at)) = pending {
            if s.now >= at {
                s.succeed(id, 7200);
                pending = None;
            }
        }
        for id in s.poll() {
            pending = Some((id, s.now.saturating_add(secs(2))));
        }
    }
    assert!(s.sent.len() >= 5, "{} requests", s.sent.len());
}

#[test]
fn an_idle_service_costs_nothing_after_one_lifetime() {
    let mut s = Scenario::new();
    s.drive_to_fresh(7200);
    // Used once, right after the fetch: that use earns one refresh ahead of expiry...
    s.at_secs(60);
    s.demand();
    let ids = s.sleep_until_wake();
    assert_eq!(ids.len(), 1);
    s.succeed(ids[0], 7200);
    // ...and then nobody asks for a day: no further request.
    let day = Time::from_secs(86_400);
    while let Some(wake) = s.wake {
        if wake > day {
            break;
        }
        s.now = wake;
        assert!(s.poll().is_empty());
    }
    assert_eq!(s.sent.len(), 2);
    assert_eq!(s.state_name(), "expired");
}

#[test]
fn demand_after_the_refresh_moment_triggers_the_refresh() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    s.now = token.refresh_at();
    s.expect_no_request(); // due, but unused since fetched
    assert_eq!(s.state_name(), "expiring");
    s.advance(secs(5));
    assert!(s.demand().is_some(), "still served");
    assert!(s.client.poll_needed(s.now), "the driver must be woken");
    s.expect_request();
}

#[test]
fn thirty_second_tokens_are_not_refetched_on_every_call() {
    let mut s = Scenario::new();
    s.drive_to_fresh(30);
    for ms in (0..60_000).step_by(100) {
        s.at_millis(ms);
        s.demand();
        let ids = s.poll();
        for id in ids {
            s.succeed(id, 30);
        }
    }
    // 60 s of 30 s tokens refreshed at 7.5-15 s: at most one request per 7.5 s.
    assert!(s.sent.len() <= 9, "{} requests", s.sent.len());
    assert!(s.sent.len() >= 4, "{} requests", s.sent.len());
}

#[test]
fn margins_larger_than_the_lifetime_break_nothing() {
    let timing = TimingPolicy::default()
        .refresh_margin(secs(86_400))
        .expiry_margin(secs(86_400))
        .refresh_jitter(secs(86_400));
    let mut s = Scenario::with(builder().timing(timing));
    let token = s.drive_to_fresh(60);
    assert_eq!(token.serve_until(), Time::from_secs(54));
    assert!(token.refresh_at() >= Time::from_secs(15) && token.refresh_at() <= Time::from_secs(30));
}

#[test]
fn jitter_is_deterministic_per_seed_and_spreads_a_fleet() {
    let refresh_at = |seed: u64| {
        let mut s = Scenario::with(builder().jitter_seed(seed));
        s.drive_to_fresh(7200).refresh_at()
    };
    assert_eq!(refresh_at(1), refresh_at(1));
    let fleet: std::collections::BTreeSet<Time> = (0..200).map(refresh_at).collect();
    assert!(
        fleet.len() > 150,
        "only {} distinct refresh moments",
        fleet.len()
    );

    let no_jitter = |seed: u64| {
        let timing = TimingPolicy::default().refresh_jitter(secs(0));
        let mut s = Scenario::with(builder().jitter_seed(seed).timing(timing));
        s.drive_to_fresh(7200).refresh_at()
    };
    assert_eq!(no_jitter(1), no_jitter(2));
    assert_eq!(no_jitter(1), Time::from_secs(7200 - 15 * 60));
}

#[test]
fn machines_created_at_different_moments_jitter_differently_with_one_seed() {
    let config = builder().build().unwrap();
    let mut a = TokenClient::new(config.clone(), Time::from_millis(1));
    let mut b = TokenClient::new(config, Time::from_millis(2));
    let refresh = |c: &mut TokenClient| {
        c.token(Time::from_secs(1));
        let seekpass_oauth::Output::Transmit(t) = c.poll(Time::from_secs(1)) else {
            panic!("no request")
        };
        c.handle_response(
            t.id(),
            response(200, &token_body("abc", 7200)),
            Time::from_secs(1),
        )
        .unwrap();
        c.token(Time::from_secs(1)).unwrap().refresh_at()
    };
    assert_ne!(refresh(&mut a), refresh(&mut b));
}

#[test]
fn acquisition_events_say_what_was_granted_and_when_the_refresh_is() {
    let mut s = Scenario::new();
    let token = s.drive_to_fresh(7200);
    let events = s.take_events();
    assert!(
        matches!(
            &events[..],
            [
                Event::TokenAcquired { token: t, lifetime, .. },
                Event::RefreshScheduled { token: r, at },
            ] if *t == token.id() && *r == token.id() && *lifetime == secs(7200) && *at == token.refresh_at()
        ),
        "{events:?}"
    );
}

#[test]
fn demand_alone_starts_a_fetch_without_reading_the_token() {
    let mut s = Scenario::new();
    s.expect_no_request(); // nobody asked: WhileUsed fetches nothing
    s.client.demand(s.now);
    let id = s.expect_request();
    s.succeed(id, 7200);
    assert_eq!(s.state_name(), "fresh");
}
