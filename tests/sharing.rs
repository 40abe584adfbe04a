//! The sharing protocol one exchange at a time: a replica's reads, locks, writes and adoptions
//! against a scripted or in-memory store, on a simulated clock. Fleets of replicas with a faulty
//! store are in `sharing_fleet.rs`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::http::{header, HeaderValue, Response, StatusCode};
use seekpass_oauth::{
    Config, Credentials, Endpoint, Event, InputError, LifetimeSource, Scope, Share, StoreAnswer,
    StoreCommand, StoreError, StoreErrorKind, StoredValue, Time, TimingPolicy, TokenState,
};
use seekpass_oauth_testkit::body::minimal;
use seekpass_oauth_testkit::memory_store::MemoryStore;
use seekpass_oauth_testkit::scenario::{builder, secs, Scenario, CLIENT_ID, SECRET};

/// A token request must not be sent in this exchange.
fn no_request() -> Response<Vec<u8>> {
    panic!("no token request expected")
}

/// A 503 with a ten-minute `Retry-After`.
fn unavailable_for_ten_minutes() -> Response<Vec<u8>> {
    let mut response = Response::new(b"unavailable".to_vec());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let ten_minutes = HeaderValue::from_static("600");
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, ten_minutes);
    response
}

fn count(s: &Scenario, what: impl Fn(&Event) -> bool) -> usize {
    s.events.iter().filter(|e| what(e)).count()
}

#[test]
fn the_token_never_shows_in_store_operations_values_or_events() {
    const TOKEN: &str = "SECRET-TOKEN-xyz";
    let mut s = Scenario::shared();
    let id = s.to_fetching_under_lock();
    s.client
        .handle_response(id, minimal(TOKEN, 7200), s.now)
        .unwrap();
    let write = s.expect_store("write");
    let StoreCommand::Write { value, ttl, .. } = write.command() else {
        panic!("{write:?}")
    };
    assert!(String::from_utf8_lossy(value.as_bytes()).contains(TOKEN));
    assert!(*ttl < secs(7200) && *ttl > secs(7199), "{ttl:?}");
    let mut shown = format!(
        "{write:?} {write:#?} {value:?} {:?} {:#?}",
        s.client, s.events
    );
    // A value refused by another replica (another client) is described without being quoted.
    let other = Config::builder(Endpoint::staging(), Credentials::new("other", "s"));
    let mut other = Scenario::with(other.share(Share::new()));
    other.demand();
    let found = StoreAnswer::Found {
        value: value.clone(),
        ttl: Some(secs(100)),
    };
    shown.push_str(&format!("{found:?}"));
    other.store_answers("read", found).poll();
    shown.push_str(&format!("{:?} {:#?}", other.events, other.events));
    assert!(shown.contains("StoredTokenRefused"), "{shown}");
    assert!(!shown.contains(TOKEN) && !shown.contains(SECRET), "{shown}");
}

/// Between this replica's read (a miss) and its lock, another replica may write its token and
/// release the lock: the lock's winner reads again before it fetches, and adopts that token.
#[test]
fn the_lock_winner_reads_again_before_fetching() {
    let mut store = MemoryStore::new();
    let (mut first, mut late) = (Scenario::shared_replica(1), Scenario::shared_replica(2));
    first.demand();
    late.demand();
    // `late` reads: nothing yet.
    let read = late.expect_store("read");
    let missing = store.apply(read.command(), late.now);
    // Meanwhile `first` goes through the whole protocol and releases its lock.
    first.settle_with(&mut store, || minimal("first-token", 7200));
    assert!(first.demand().is_some());
    // `late` now takes the free lock, reads again, adopts and releases the lock: no request.
    late.answer_store(&read, Ok(missing));
    let performed = late.settle_with(&mut store, no_request);
    assert_eq!(performed, ["lock", "read", "unlock"]);
    let token = late.demand().unwrap();
    assert_eq!(token.access_token().expose_secret(), "first-token");
    assert!(store.keys(late.now).iter().all(|k| !k.ends_with(":lock")));
}

/// A driver hands the machine its callers' demand only now and then: an acquisition that the
/// store fails halfway must still end in a request, not wait for the next demand.
#[test]
fn a_store_failure_halfway_through_an_acquisition_fetches_at_once() {
    let mut s = Scenario::shared();
    s.demand(); // the only demand
    let read = s.expect_store("read");
    s.advance(Duration::from_millis(40));
    let refused = StoreError::new(StoreErrorKind::Unavailable, "Connection refused");
    s.answer_store(&read, Err(refused));
    assert!(s.client.poll_needed(s.now));
    let id = s.expect_request();
    let failed = |e: &Event| {
        matches!(
            e,
            Event::StoreFailed {
                command: "read",
                ..
            }
        )
    };
    assert_eq!(count(&s, failed), 1);
    // Fetched on its own, the token is this replica's, not the fleet's.
    s.succeed(id, 7200);
    assert!(!s.demand().unwrap().shared());
}

/// A store operation that meets its deadline fails by itself, naming the command and the time it
/// had.
#[test]
fn a_store_operation_past_its_deadline_fails_naming_the_command_and_the_time_it_had() {
    let mut s = Scenario::shared();
    s.demand();
    let read = s.expect_store("read");
    s.now = read.deadline();
    s.expect_request(); // fetched on its own at once
    let failure = s.events.iter().find_map(|e| match e {
        Event::StoreFailed { command, error, .. } => Some((*command, error.clone())),
        _ => None,
    });
    let (command, error) = failure.expect("a store failure");
    assert_eq!(command, "read");
    assert_eq!(error.kind(), StoreErrorKind::Timeout);
    let allowed = Share::new().timeout().as_millis();
    assert_eq!(error.message(), format!("no answer within {allowed} ms"));
}

/// While the store is asked, the state says a token is being fetched, and `poll_needed` is true
/// exactly when the machine has something to do: an operation to emit, not one in flight.
#[test]
fn while_the_store_is_asked_the_token_is_being_fetched_and_poll_is_needed_only_for_work() {
    let mut s = Scenario::shared();
    assert!(!s.client.poll_needed(s.now), "nothing asked for yet");
    s.demand();
    assert!(s.client.poll_needed(s.now), "a token is wanted");
    let read = s.expect_store("read");
    assert!(matches!(
        s.state(),
        TokenState::Unfetched { fetching: true }
    ));
    assert!(!s.client.poll_needed(s.now), "the read is in flight");
    s.answer_store(&read, Ok(StoreAnswer::Missing));
    assert!(s.client.poll_needed(s.now), "the lock is to be sent");
    let id = s
        .store_answers("lock", StoreAnswer::Done)
        .store_answers("read", StoreAnswer::Missing)
        .expect_request();
    s.succeed(id, 7200);
    s.store_answers("write", StoreAnswer::Done)
        .store_answers("unlock", StoreAnswer::Done);
    assert!(s.demand().unwrap().shared());
    assert!(!s.client.poll_needed(s.now), "settled: nothing to do");
}

/// A reconfiguration that keeps the store keys (a policy change) keeps the acquisition going;
/// one that changes them (another scope) starts over, refusing the old operations' answers:
/// the new exchange's ids follow the old ones, so a late answer cannot pass for a new one.
#[test]
fn a_reconfiguration_keeps_the_store_exchange_only_while_the_keys_stay_the_same() {
    let shared = || builder().share(Share::new());
    let mut s = Scenario::with(shared());
    s.demand();
    let read = s.expect_store("read");
    let policy = TimingPolicy::default().min_request_interval(secs(2));
    s.client
        .reconfigure(shared().timing(policy).build().unwrap(), s.now);
    let answer = |s: &mut Scenario, id| s.client.handle_store(id, Ok(StoreAnswer::Missing), s.now);
    assert_eq!(answer(&mut s, read.id()), Ok(()));
    let lock = s.expect_store("lock");
    let other_scope = shared()
        .scope(Scope::READ_DIGITAL_IDENTITY)
        .build()
        .unwrap();
    s.client.reconfigure(other_scope, s.now);
    let new_read = s.expect_store("read");
    assert!(new_read.id() > lock.id(), "{new_read:?} after {lock:?}");
    for old in [read.id(), lock.id()] {
        assert_eq!(answer(&mut s, old), Err(InputError::StaleStoreOp(old)));
    }
    assert_eq!(answer(&mut s, new_read.id()), Ok(()));
}

/// A replica that joins late in the shared token's life adopts it with its refresh moment
/// already passed: it goes on to refresh at once for the callers who asked, rather than waiting
/// for their next demand.
#[test]
fn a_token_adopted_with_its_refresh_due_is_refreshed_at_once() {
    let mut store = MemoryStore::new();
    let mut writer = Scenario::shared_replica(1);
    writer.demand();
    writer.settle_with(&mut store, || minimal("sixty", 60));
    // 50 s in, past the token's refresh window (30 to 45 s), a new replica asks once.
    let mut late = Scenario::shared_replica(2);
    late.at_secs(50);
    assert!(late.demand().is_none());
    let read = late.expect_store("read");
    let found = store.apply(read.command(), late.now);
    late.answer_store(&read, Ok(found));
    let adopted = late.state().token().unwrap().clone();
    assert!(adopted.refresh_at() <= late.now && adopted.serve_until() > late.now);
    // With no further demand, the refresh starts: a read, then the lock.
    let refresh = late.expect_store("read");
    assert!(matches!(refresh.command(), StoreCommand::Read { .. }));
}

/// Refreshes run only while the token is used: a replica that adopted a token and is not asked
/// for it again lets it go, as it would a token it fetched.
#[test]
fn an_idle_replica_does_not_refresh_an_adopted_token() {
    let mut store = MemoryStore::new();
    let mut writer = Scenario::shared_replica(1);
    writer.demand();
    writer.settle_with(&mut store, || minimal("shared-token", 7200));
    let mut idle = Scenario::shared_replica(2);
    assert!(idle.demand().is_none()); // the one demand
    assert_eq!(idle.settle_with(&mut store, no_request), ["read"]);
    assert!(idle.state().token().is_some_and(|t| t.shared()));
    // Nobody asks again: no store operation and no request until the token has expired.
    for minute in 1..=121 {
        idle.at_secs(minute * 60);
        assert!(idle.poll().is_empty(), "at minute {minute}");
        assert!(idle.store_ops.is_empty(), "at minute {minute}");
    }
}

/// During an outage of the token endpoint each replica's own requests back off, but it keeps
/// reading the store: the first replica to get through serves all of them within seconds,
/// whatever their back-off (here a `Retry-After` of ten minutes).
#[test]
fn a_replica_backing_off_adopts_a_peers_token_within_seconds() {
    let mut store = MemoryStore::new();
    let mut backing_off = Scenario::shared_replica(1);
    backing_off.demand();
    backing_off.settle_with(&mut store, unavailable_for_ten_minutes);
    // For the next minute it only reads: the store has nothing, and its own request waits for
    // the Retry-After.
    let mut reads = Vec::new();
    for second in 1..60 {
        assert!(backing_off.at_secs(second).demand().is_none());
        reads.extend(backing_off.settle_with(&mut store, no_request));
    }
    assert!(reads.iter().all(|op| *op == "read"), "{reads:?}");
    assert!(
        (10..=13).contains(&reads.len()),
        "one read every 5 s: {reads:?}"
    );
    // A new replica starts a minute later. The first one holds the lock for its Retry-After,
    // so the new one, with no token, waits the peer wait and then gets through on its own
    // (and writes its token for the others).
    let mut peer = Scenario::shared_replica(2);
    peer.at_secs(60);
    let step = Duration::from_millis(100);
    let peer_token = || minimal("peer-token", 7200);
    assert!(peer
        .run_until_token(&mut store, peer_token, step, secs(6))
        .is_some());
    // Within the read interval (5 s) the replica backing off has it, with no request.
    backing_off.now = peer.now;
    let adopted = backing_off.run_until_token(&mut store, no_request, step, secs(6));
    let text = adopted.map(|t| t.access_token().expose_secret().to_owned());
    assert_eq!(
        text.as_deref(),
        Some("peer-token"),
        "at {}",
        backing_off.now
    );
}

/// A store client that answers a read with "done", or a lock with a value, is not trusted: the
/// store counts as failed and the replica fetches on its own.
#[test]
fn an_answer_of_the_wrong_kind_is_a_protocol_failure() {
    let mut s = Scenario::shared();
    s.demand();
    s.store_answers("read", StoreAnswer::Done).expect_request();
    let failure = s.events.iter().find_map(|e| match e {
        Event::StoreFailed { error, .. } => Some(error.clone()),
        _ => None,
    });
    let failure = failure.expect("a store failure");
    assert_eq!(failure.kind(), StoreErrorKind::Protocol);
    assert!(
        failure.message().contains("done is no answer to read"),
        "{failure}"
    );
}

/// Store answers follow the same rules as token responses: one for an operation never issued,
/// already answered or past its deadline is refused and changes nothing.
#[test]
fn late_and_unknown_store_answers_are_refused() {
    let mut s = Scenario::shared();
    s.demand();
    let read = s.expect_store("read");
    s.answer_store(&read, Ok(StoreAnswer::Missing));
    let again = |s: &mut Scenario, id| s.client.handle_store(id, Ok(StoreAnswer::Done), s.now);
    // Answered already, before and while another operation is in flight.
    assert_eq!(
        again(&mut s, read.id()),
        Err(InputError::StaleStoreOp(read.id()))
    );
    let lock = s.expect_store("lock");
    assert_eq!(
        again(&mut s, read.id()),
        Err(InputError::StaleStoreOp(read.id()))
    );
    // Past its deadline: the lock operation fails by itself, and its answer is refused.
    s.now = lock.deadline();
    s.poll();
    let timed_out = |e: &Event| matches!(e, Event::StoreFailed { error, .. } if error.kind() == StoreErrorKind::Timeout);
    assert_eq!(count(&s, timed_out), 1);
    assert_eq!(
        again(&mut s, lock.id()),
        Err(InputError::StaleStoreOp(lock.id()))
    );
    // A machine that does not share refuses every store answer.
    let mut alone = Scenario::new();
    assert_eq!(
        again(&mut alone, lock.id()),
        Err(InputError::UnknownStoreOp(lock.id()))
    );
}

/// A stored value for the scenarios' client, as a replica of this version writes it.
fn value(token: &str, lifetime_ms: u64, scope: &str) -> StoredValue {
    let json = format!(
        r#"{{"v":1,"client_id":"{CLIENT_ID}","access_token":"{token}","scope":"{scope}","lifetime_ms":{lifetime_ms},"lifetime_source":"expires_in"}}"#
    );
    StoredValue::new(json.into_bytes())
}

/// Asks for a token and answers the read with `value` and `ttl`; returns whether it was adopted
/// (else the replica went for the lock, which is left to another replica).
fn offer(s: &mut Scenario, value: StoredValue, ttl: Duration) -> bool {
    s.demand();
    let adopted = |s: &Scenario| count(s, |e| matches!(e, Event::TokenAdopted { .. }));
    let before = adopted(s);
    let found = StoreAnswer::Found {
        value,
        ttl: Some(ttl),
    };
    s.store_answers("read", found).poll();
    match s.store_ops.front().map(|op| op.command().name()) {
        Some("lock") => {
            s.store_answers("lock", StoreAnswer::Refused);
            false
        }
        // Adopted (a refresh may start at once for a token adopted late in its life).
        _ => adopted(s) > before,
    }
}

#[test]
fn a_stored_lifetime_over_the_longest_believed_is_capped() {
    let day = secs(86_400);
    let mut s = Scenario::shared_replica(6);
    assert!(offer(&mut s, value("long", 2 * 86_400_000, ""), 2 * day));
    let token = s.demand().unwrap();
    assert_eq!(token.lifetime(), day);
    assert_eq!(token.lifetime_source(), LifetimeSource::Capped);
    assert!(token.expires_at() <= Time::ZERO.saturating_add(day));
    // Exactly the longest believed is taken as it is.
    let mut s = Scenario::shared_replica(7);
    assert!(offer(&mut s, value("day", 86_400_000, ""), day));
    let token = s.demand().unwrap();
    assert_eq!(token.lifetime_source(), LifetimeSource::ExpiresIn);
}

/// A replica adopts a stored token only if it is better than its own: one that expires no
/// later than its own usable token is not (it goes for the lock to refresh); once its own was
/// rejected, any other stored token is.
#[test]
fn only_a_stored_token_better_than_its_own_is_adopted() {
    let mut s = Scenario::shared_replica(8);
    assert!(offer(&mut s, value("mine", 7_200_000, ""), secs(7200)));
    let mine = s.demand().unwrap();
    // At its refresh moment, a stored token expiring sooner than its own is not taken.
    s.now = mine.refresh_at();
    assert!(!offer(&mut s, value("older", 7_200_000, ""), secs(60)));
    assert_eq!(s.demand().unwrap().id(), mine.id());
    // Rejected by the API, its own is worth nothing: the same older token is adopted.
    // (Still waiting for the lock's holder, well within the peer wait.)
    s.advance(Duration::from_millis(300));
    assert!(s.client.invalidate(mine.id(), s.now));
    // The rejected token is forgotten first.
    s.store_answers("forget", StoreAnswer::Refused);
    assert!(offer(&mut s, value("older", 7_200_000, ""), secs(60)));
    assert_eq!(s.demand().unwrap().access_token().expose_secret(), "older");
}

/// The granted scope is shown in events: a stored scope that holds the client secret is not
/// adopted.
#[test]
fn a_stored_scope_echoing_the_secret_is_not_adopted() {
    let mut s = Scenario::shared_replica(9);
    let echo = value("tok", 7_200_000, &format!("write.education {SECRET}"));
    assert!(!offer(&mut s, echo, secs(3600)));
    assert!(s.demand().is_none());
}

/// A replica whose fetch under the lock fails keeps the lock for its back-off (at most the peer
/// wait without a `Retry-After`), so the fleet backs off with it instead of taking turns.
#[test]
fn a_failed_fetch_under_the_lock_keeps_the_lock_for_the_back_off() {
    let mut s = Scenario::shared();
    let id = s.to_fetching_under_lock();
    s.respond(id, 503, "");
    let write = s.expect_store("write");
    let StoreCommand::Write { key, value, ttl } = write.command() else {
        panic!("{write:?}")
    };
    assert!(key.ends_with(":lock"), "{key}");
    assert!(!value.as_bytes().is_empty(), "the owner mark");
    let backoff = s
        .last_failure_next_attempt()
        .saturating_duration_since(s.now);
    assert_eq!(*ttl, backoff.min(Share::new().wait_for_peer()));
}

/// Two configurations that differ only in an extra parameter (`audience`) get different tokens
/// from the server, so sharing one store they keep to their own: neither adopts the other's.
#[test]
fn configurations_differing_only_in_an_extra_parameter_do_not_share_a_token() {
    let mut store = MemoryStore::new();
    let replica = |audience: &str| {
        Scenario::with(
            builder()
                .share(Share::new())
                .extra_param("audience", audience),
        )
    };
    let mut a = replica("https://api-a.example/");
    a.demand();
    a.settle_with(&mut store, || minimal("token-for-a", 7200));
    assert_eq!(
        a.demand().unwrap().access_token().expose_secret(),
        "token-for-a"
    );
    let mut b = replica("https://api-b.example/");
    b.demand();
    let performed = b.settle_with(&mut store, || minimal("token-for-b", 7200));
    assert!(performed.contains(&"write"), "{performed:?}");
    assert_eq!(
        b.demand().unwrap().access_token().expose_secret(),
        "token-for-b"
    );
    assert_eq!(
        store
            .keys(b.now)
            .iter()
            .filter(|k| k.ends_with(":token"))
            .count(),
        2
    );
}
