//! The keyed pool, one rule per test: resolving keys, remembering unknown ones, the entry
//! bound and idle eviction, the shared request budget and its order, and ids that never repeat
//! for a key.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Event, Eviction, InputError, Lookup, PoolLimits, Time, POOL_WAITING_PIN};
use seekpass_oauth_testkit::body::response;
use seekpass_oauth_testkit::pool::{config, PoolScenario};

fn roomy() -> PoolLimits {
    PoolLimits::default().max_in_flight(100).max_per_second(100)
}

const MINUTE: u64 = 60_000;

#[test]
fn a_new_key_is_resolved_then_fetched_and_served_with_its_events_tagged() {
    let mut s = PoolScenario::new(roomy());
    s.ask([1]);
    assert_eq!(s.resolving, [1]);
    assert!(
        s.in_flight.is_empty(),
        "nothing is sent before the configuration"
    );
    s.resolve_all();
    assert_eq!(s.flying(), [1]);
    s.succeed(1, 7200);
    assert!(s.served(1));
    assert!(s
        .events
        .iter()
        .any(|(key, e)| *key == 1 && matches!(e, Event::TokenAcquired { .. })));
}

#[test]
fn an_unknown_key_is_remembered_for_remember_unknown_and_then_dropped() {
    let limits = roomy().remember_unknown(Duration::from_secs(60));
    let mut s = PoolScenario::new(limits);
    s.ask([9]);
    s.pool.resolved(&9, None, s.now).unwrap();
    s.resolving.clear();
    s.poll();
    assert_eq!(s.unknown, [9]);
    assert!(matches!(s.pool.token(&9, s.now), Lookup::Unknown));
    assert_eq!(s.wake, Some(Time::from_secs(60)));
    s.at_millis(MINUTE).poll();
    assert!(s.pool.is_empty(), "an unknown key is not kept");
    s.ask([9]);
    assert_eq!(s.resolving, [9], "asked about again");
}

#[test]
fn a_key_not_resolved_within_the_deadline_is_unknown_and_a_late_answer_refused() {
    let limits = roomy().resolve_deadline(Duration::from_secs(30));
    let mut s = PoolScenario::new(limits);
    s.ask([4]);
    assert_eq!(s.wake, Some(Time::from_secs(30)));
    s.at_millis(30_000).poll();
    assert_eq!(s.unknown, [4]);
    assert_eq!(
        s.pool.resolved(&4, Some(config(4)), s.now),
        Err(InputError::NotResolving)
    );
}

#[test]
fn beyond_max_entries_the_least_recently_asked_for_is_evicted() {
    let mut s = PoolScenario::new(roomy().max_entries(3));
    s.warm([1, 2, 3]);
    s.at_millis(1_000).ask([1]);
    s.at_millis(2_000).ask([4]);
    assert_eq!(s.evicted, [(2, Eviction::LeastRecentlyUsed)]);
    assert_eq!(s.pool.len(), 3);
    assert!(s.pool.state(&2, s.now).is_none());
    assert!(s.served(1) && s.served(3));
}

#[test]
fn an_entry_not_asked_for_within_idle_after_is_evicted() {
    let limits = roomy().idle_after(Duration::from_secs(600));
    let mut s = PoolScenario::new(limits);
    s.warm([1, 2]);
    s.at_millis(5 * MINUTE).ask([1]);
    s.at_millis(10 * MINUTE).poll();
    assert_eq!(s.evicted, [(2, Eviction::Idle)]);
    assert_eq!(s.wake, Some(Time::from_millis(15 * MINUTE)));
    s.at_millis(15 * MINUTE).poll();
    assert_eq!(s.evicted, [(2, Eviction::Idle), (1, Eviction::Idle)]);
    assert!(s.pool.is_empty());
}

#[test]
fn at_most_max_in_flight_requests_are_out_across_keys() {
    let mut s = PoolScenario::new(roomy().max_in_flight(2));
    s.ask(1..=5).resolve_all();
    assert_eq!(s.flying(), [1, 2]);
    assert_eq!(s.pool.in_flight(), 2);
    s.succeed(1, 7200);
    assert_eq!(s.flying(), [2, 3]);
    s.respond(2, 503, "").respond(3, 503, "");
    assert_eq!(s.flying(), [4, 5]);
    s.succeed_all(7200);
    assert_eq!(s.pool.in_flight(), 0);
}

#[test]
fn at_most_max_per_second_requests_start_in_any_second() {
    let mut s = PoolScenario::new(roomy().max_per_second(3));
    s.ask(1..=7).resolve_all();
    assert_eq!(s.flying(), [1, 2, 3]);
    assert_eq!(s.wake, Some(Time::from_secs(1)));
    s.succeed_all(7200);
    assert_eq!(s.flying(), [] as [u32; 0], "answers free no rate");
    s.at_millis(999).poll();
    assert!(s.in_flight.is_empty());
    s.at_millis(1_000).poll();
    assert_eq!(s.flying(), [4, 5, 6]);
    s.at_millis(2_000).poll();
    assert_eq!(s.flying(), [4, 5, 6, 7]);
}

#[test]
fn callers_waiting_for_a_first_token_go_before_refreshes() {
    let mut s = PoolScenario::new(roomy().max_in_flight(1));
    s.warm([1]);
    let refresh_at = s
        .pool
        .state(&1, s.now)
        .unwrap()
        .token()
        .unwrap()
        .refresh_at();
    // Just before key 1's refresh is due, key 3's first request takes the only permit.
    s.at_millis(refresh_at.as_millis() - 1_000)
        .ask([3])
        .resolve_all();
    assert_eq!(s.flying(), [3]);
    s.at_millis(refresh_at.as_millis()).ask([1]); // its refresh is due: it queues
    s.ask([2]).resolve_all(); // a caller waits for key 2's first token
    s.succeed(3, 7200);
    assert_eq!(s.flying(), [2], "the waiting caller's request goes first");
    s.succeed(2, 7200);
    assert_eq!(s.flying(), [1], "then the refresh");
}

#[test]
fn a_forgotten_entrys_request_counts_until_answered_and_its_answer_is_refused() {
    let mut s = PoolScenario::new(roomy().max_in_flight(1));
    s.ask([1]).resolve_all();
    let old = s.take_request(1);
    assert!(s.pool.forget(&1));
    s.ask([2]).resolve_all();
    assert!(
        s.in_flight.is_empty(),
        "key 1's request still holds the permit"
    );
    let answer = response(200, "{}");
    assert_eq!(
        s.pool.handle_response(&1, old, answer, s.now),
        Err(InputError::StaleRequest(old))
    );
    s.poll();
    assert_eq!(s.flying(), [2]);
}

#[test]
fn a_key_forgotten_and_asked_for_again_never_reuses_an_id() {
    let mut s = PoolScenario::new(roomy());
    s.ask([1]).resolve_all();
    let old = s.take_request(1);
    assert!(s.pool.forget(&1));
    s.ask([1]).resolve_all();
    let new = s.in_flight.iter().find(|(k, _)| *k == 1).unwrap().1.id();
    assert!(new > old, "{new} after {old}");
    let stale = s.pool.handle_response(&1, old, response(200, "{}"), s.now);
    assert_eq!(stale, Err(InputError::StaleRequest(old)));
    s.succeed(1, 7200);
    assert!(s.served(1));
}

/// Entries being resolved, with a request on the wire, or with a caller waiting for their first
/// token are not evicted for a new key: evicting them would waste the request and leave the
/// caller to start over (a cold start of more keys than entries would never finish). The new
/// key finds the pool full and gets in once an entry is served.
#[test]
fn a_full_pool_of_waiting_keys_admits_a_new_key_once_one_is_served() {
    let mut s = PoolScenario::new(roomy().max_entries(2).max_in_flight(1));
    s.ask([1, 2]).resolve_all();
    assert_eq!(s.flying(), [1]);
    assert!(matches!(s.pool.token(&3, s.now), Lookup::Full));
    assert_eq!(s.pool.len(), 2);
    assert!(s.evicted.is_empty());
    s.succeed(1, 7200);
    assert_eq!(
        s.flying(),
        [2],
        "key 2's caller still waits: it keeps its entry"
    );
    assert!(
        matches!(s.pool.token(&3, s.now), Lookup::Full),
        "key 1 is not served yet"
    );
    assert!(s.served(1));
    s.ask([3]);
    assert_eq!(s.evicted, [(1, Eviction::LeastRecentlyUsed)]);
    assert_eq!(s.resolving, [3]);
}

/// A caller who stops asking holds its key's entry for `POOL_WAITING_PIN` at most.
#[test]
fn a_waiting_callers_hold_on_its_entry_ends_after_the_waiting_pin() {
    let mut s = PoolScenario::new(roomy().max_entries(1));
    s.ask([1]).resolve_all();
    s.succeed(1, 7200); // a token nobody has come back for
    assert!(matches!(s.pool.token(&2, s.now), Lookup::Full));
    let pin_ends = POOL_WAITING_PIN.as_millis() as u64;
    s.at_millis(pin_ends).poll();
    s.ask([2]);
    assert_eq!(s.evicted, [(1, Eviction::LeastRecentlyUsed)]);
}

#[test]
fn one_keys_refused_credentials_leave_the_others_alone() {
    let mut s = PoolScenario::new(roomy());
    s.ask([1, 2]).resolve_all();
    s.respond(1, 401, r#"{"error":"invalid_client"}"#);
    s.succeed(2, 7200);
    assert!(s.served(2));
    assert_eq!(s.pool.state(&1, s.now).unwrap().name(), "failed");
    assert_eq!(s.pool.state(&2, s.now).unwrap().name(), "fresh");
}

#[test]
fn forget_drops_the_entry_and_a_later_lookup_resolves_the_key_again() {
    let mut s = PoolScenario::new(roomy());
    s.warm([1]);
    assert!(s.pool.forget(&1));
    assert!(!s.pool.forget(&1));
    assert!(s.pool.is_empty());
    s.ask([1]);
    assert_eq!(s.resolving, [1]);
}
