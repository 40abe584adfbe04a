//! The engine on a host that sleeps: this crate's tests move the boot and wall clocks while the
//! monotonic clock stands still (`clock::host`), as a suspend or a VM pause does. And each
//! thread's copies of the token, which go with their source; demand that ends with its waiter;
//! failures counted afresh after each token.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_testkit::body;

use super::*;
use crate::cell::Kick;
use crate::clock;

const HOUR: Duration = Duration::from_secs(3600);

/// The configuration every engine here runs with.
fn config() -> Config {
    Config::builder(
        Endpoint::base_url("http://127.0.0.1:9").unwrap(),
        Credentials::new("id", "secret"),
    )
    .build()
    .unwrap()
}

/// An engine holding a token of `lifetime` seconds, fetched now.
fn engine_with_token(lifetime: u64) -> Engine {
    engine_holding("issued-before-the-sleep", lifetime)
}

/// An engine holding the token `access_token` of `lifetime` seconds, fetched now.
fn engine_holding(access_token: &str, lifetime: u64) -> Engine {
    let engine = Engine::new(config(), Settings::default());
    let (served, _) = engine.read();
    assert!(served.is_none());
    let send = engine.step().transmit.expect("a first request");
    engine.feed(send.id, Ok(body::minimal(access_token, lifetime)));
    let _ = engine.step();
    let (served, kick) = engine.read();
    assert!(served.is_some(), "the token is served");
    assert_eq!(kick, Kick::No);
    engine
}

#[test]
fn a_token_that_ended_while_the_host_slept_is_never_served_and_a_new_one_is_asked_for() {
    let engine = engine_with_token(3600);
    clock::host(|h| h.slept += 2 * HOUR);
    let (served, kick) = engine.read();
    assert!(
        served.is_none(),
        "served a token that ended during the sleep"
    );
    assert_eq!(kick, Kick::Yes, "the driver is woken at once");
    let step = engine.step();
    assert!(step.transmit.is_some(), "a new token is asked for at once");
    assert!(
        matches!(engine.state(), State::Expired { fetching: true }),
        "{:?}",
        engine.state()
    );
}

#[test]
fn a_sleep_shorter_than_the_token_changes_nothing() {
    let engine = engine_with_token(3 * 3600);
    clock::host(|h| h.slept += Duration::from_secs(60));
    let (served, kick) = engine.read();
    assert!(served.is_some());
    assert_eq!(kick, Kick::No);
}

#[test]
fn a_paused_vm_whose_wall_clock_was_set_right_counts_the_pause() {
    let engine = engine_with_token(3600);
    // Boot time stood still with the VM; the guest's wall clock was corrected on resuming.
    clock::host(|h| h.wall_forward += 2 * HOUR);
    let (served, kick) = engine.read();
    assert!(served.is_none());
    assert_eq!(kick, Kick::Yes);
    // The machine's time took the wall clock's lead: it agrees the token is over.
    assert!(engine.step().transmit.is_some());
}

#[test]
fn a_wall_clock_stepped_back_never_lengthens_a_token() {
    let engine = engine_with_token(3600);
    let before = engine.now();
    clock::host(|h| h.wall_back += 2 * HOUR);
    let (served, _) = engine.read();
    assert!(
        served.is_some(),
        "the monotonic clock still says the token is good"
    );
    assert!(engine.now() >= before);
    // Then the host sleeps longer than the step back, past the token's end: the wall clock
    // ends it for callers, and the machine's boot clock agrees.
    clock::host(|h| h.slept += 3 * HOUR);
    assert!(engine.read().0.is_none());
    assert!(engine.step().transmit.is_some(), "a new token is asked for");
}

/// The gap the design leaves, pinned so a change to it is seen: after the wall clock was stepped
/// back further than the host then sleeps, neither hot-path clock shows the sleep, and the token
/// is served until the driver next steps; the driver's step (its timer, or any kick) reads the
/// boot clock and ends it.
#[test]
fn after_a_step_back_longer_than_a_sleep_the_drivers_next_step_ends_the_token() {
    let engine = engine_with_token(3600);
    clock::host(|h| h.wall_back += 3 * HOUR);
    clock::host(|h| h.slept += 2 * HOUR);
    assert!(engine.read().0.is_some(), "served until the driver steps");
    let step = engine.step();
    assert!(
        step.transmit.is_some(),
        "the boot clock ends it: a new token is asked for"
    );
    assert!(engine.read().0.is_none());
}

#[test]
fn a_dropped_sources_copies_go_at_once_here_and_at_the_next_copy_elsewhere() {
    let (a, b) = (engine_with_token(3600), engine_with_token(3600));
    let (a_id, b_id) = (a.cell.id(), b.cell.id());
    assert!(a.read().0.is_some() && b.read().0.is_some());
    let held = TokenCell::held_copies();
    assert!(held.contains(&a_id) && held.contains(&b_id), "{held:?}");
    let b = std::sync::Arc::new(b);
    let (go, went) = std::sync::mpsc::channel::<()>();
    let (done, finished) = std::sync::mpsc::channel::<Vec<u64>>();
    let other = {
        let b = std::sync::Arc::clone(&b);
        std::thread::spawn(move || {
            assert!(b.read().0.is_some());
            went.recv().unwrap();
            // A new snapshot of b to copy: the copy of the dropped a goes with it.
            assert!(b.read().0.is_some());
            done.send(TokenCell::held_copies()).unwrap();
        })
    };
    drop(a);
    // This thread's copy of the dropped source goes at once; the other source's stays.
    assert_eq!(TokenCell::held_copies(), vec![b_id]);
    let config = b.machine().config().clone();
    b.reconfigure(config);
    let _ = b.step();
    go.send(()).unwrap();
    let there = finished.recv().unwrap();
    other.join().unwrap();
    assert!(!there.contains(&a_id), "{there:?}");
    assert!(there.contains(&b_id), "{there:?}");
}

/// A platform may hold a source per institution and read thousands from one thread: each
/// source serves its own token, through the thread's index of copies, before and after
/// dropped sources' copies are pruned from it.
#[test]
fn one_thread_reading_many_sources_gets_each_ones_own_token() {
    let engines: Vec<Engine> = (0..40)
        .map(|i| engine_holding(&format!("institution-{i}"), 3600))
        .collect();
    let check = |engines: &[(usize, Engine)]| {
        for (i, engine) in engines {
            let served = engine.read().0.expect("the token");
            let expected = format!("Bearer institution-{i}");
            assert_eq!(served.authorization.to_str().unwrap(), expected);
            // The header value alone: the first copy is found in place, the others out of line.
            let alone = engine
                .read_authorization()
                .expect("the token, read in place");
            assert_eq!(alone.to_str().unwrap(), expected);
        }
    };
    let mut engines: Vec<(usize, Engine)> = engines.into_iter().enumerate().collect();
    check(&engines);
    // Every other source dropped: their copies go, the index is rebuilt.
    engines.retain(|(i, _)| i % 2 == 0);
    let mut held = TokenCell::held_copies();
    held.sort_unstable();
    let mut live: Vec<u64> = engines.iter().map(|(_, e)| e.cell.id()).collect();
    live.sort_unstable();
    assert_eq!(held, live);
    check(&engines);
    // A new snapshot of one source (not this thread's first copy): its stale copy is not
    // served alone, and the full read copies the snapshot into its existing place.
    let (_, last) = engines.last().unwrap();
    let config = last.machine().config().clone();
    last.reconfigure(config);
    let _ = last.step();
    assert!(last.read_authorization().is_none(), "the copy is stale");
    check(&engines);
}

/// `read_authorization` is `read` without the nudge: it serves this thread's copy only when a
/// full read would serve it and nudge nothing, and sends every other case to the full read.
#[test]
fn the_header_value_alone_is_served_only_when_nothing_else_is_due() {
    let unfetched = Engine::new(config(), Settings::default());
    assert_eq!(unfetched.read().1, Kick::Yes, "demand is recorded");
    assert!(unfetched.read_authorization().is_none(), "no token yet");
    let engine = engine_holding("read-alone", 3600);
    let alone = engine.read_authorization().expect("served alone");
    assert_eq!(alone.to_str().unwrap(), "Bearer read-alone");
    assert!(alone.is_sensitive());
    assert_eq!(alone, engine.read().0.unwrap().authorization);

    // The driver took the demand: the full read records it again.
    assert!(engine.cell.take_demand());
    assert!(engine.read_authorization().is_none(), "demand is recorded");
    assert_eq!(engine.read().1, Kick::No);
    assert!(engine.read_authorization().is_some());

    // A new snapshot: a full read copies it first.
    let config = engine.machine().config().clone();
    engine.reconfigure(config);
    let _ = engine.step();
    assert!(engine.read_authorization().is_none(), "the copy is stale");
    assert!(engine.read().0.is_some());
    assert!(engine.read_authorization().is_some());

    // The token ended while the host slept: nothing is served, and the full read nudges.
    clock::host(|h| h.slept += 2 * HOUR);
    assert!(engine.read_authorization().is_none());
    let (served, kick) = engine.read();
    assert!(served.is_none());
    assert_eq!(kick, Kick::Yes);
}

/// The driver's next moment (here, the token's refresh) ends the reads of the value alone,
/// though the token is still good: the full read serves it and nudges the driver.
#[test]
fn the_header_value_alone_is_not_served_past_the_drivers_next_moment() {
    let engine = engine_with_token(3600);
    assert!(engine.read_authorization().is_some());
    // Past the refresh moment (at most 90% of the lifetime), before the end.
    clock::host(|h| h.slept += Duration::from_secs(3420));
    assert!(engine.read_authorization().is_none());
    let (served, kick) = engine.read();
    assert!(served.is_some(), "the token is still served");
    assert_eq!(kick, Kick::Yes, "the driver is nudged to refresh");
}

/// A thread-local's destructor may ask for the token as its thread exits, after the thread's
/// copies are gone: it is served from the snapshot, not a panic.
#[test]
fn a_read_after_the_threads_copies_are_gone_is_served_from_the_snapshot() {
    struct ReadsOnDrop(Arc<Engine>, std::sync::mpsc::Sender<(bool, bool)>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            let alone = self.0.read_authorization();
            let (served, _) = self.0.read();
            let _ = self.1.send((alone.is_none(), served.is_some()));
        }
    }
    thread_local! {
        static LAST: std::cell::RefCell<Option<ReadsOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let engine = Arc::new(engine_with_token(3600));
    let (sent, received) = std::sync::mpsc::channel();
    let theirs = Arc::clone(&engine);
    std::thread::spawn(move || {
        // Made before the thread's copies, so destroyed after them.
        LAST.with(|last| *last.borrow_mut() = Some(ReadsOnDrop(Arc::clone(&theirs), sent)));
        assert!(theirs.read().0.is_some());
    })
    .join()
    .unwrap();
    assert_eq!(
        received.recv().unwrap(),
        (true, true),
        "the value alone is left to the full read, which serves the token"
    );
}

#[test]
fn a_caller_that_stopped_waiting_is_no_more_demand() {
    let engine = Engine::new(config(), Settings::default());
    let waiting = engine.waiting();
    let send = engine.step().transmit.expect("a waiting caller is demand");
    assert!(
        matches!(engine.state(), State::Unfetched { fetching: true }),
        "{:?}",
        engine.state()
    );
    engine.feed(send.id, Ok(body::minimal("waited-for", 3600)));
    drop(waiting);
    assert!(engine.step().transmit.is_none());
    // Past the refresh moment (at most 45 minutes into an hour), nobody has asked since the
    // request: under RefreshMode::WhileUsed no refresh goes out.
    clock::host(|h| h.slept += Duration::from_secs(2800));
    assert!(engine.step().transmit.is_none(), "{:?}", engine.state());
    let _again = engine.waiting();
    assert!(
        engine.step().transmit.is_some(),
        "a waiting caller is demand again"
    );
}

#[test]
fn a_token_ends_the_count_of_transient_failures() {
    let settings = Settings {
        max_attempts: 2,
        ..Settings::default()
    };
    let engine = Engine::new(config(), settings);
    let _waiting = engine.waiting();
    let fail = |engine: &Engine| {
        let send = engine.step().transmit.expect("an attempt");
        engine.feed(
            send.id,
            Err(seekpass_oauth::TransportError::new(
                seekpass_oauth::TransportErrorKind::Timeout,
                "no answer",
            )),
        );
        let _ = engine.step();
        // Past the back-off (1 s doubling, jittered).
        clock::host(|h| h.slept += Duration::from_secs(10));
    };
    fail(&engine);
    let send = engine.step().transmit.expect("the retry");
    engine.feed(send.id, Ok(body::minimal("after-one-failure", 3600)));
    let _ = engine.step();
    let token = engine.read().0.expect("the token").token;
    // Past the minimum interval between requests.
    clock::host(|h| h.slept += Duration::from_secs(2));
    assert!(engine.invalidate(token));
    // One failure after the token: the count starts again, so two attempts are not yet spent.
    fail(&engine);
    assert!(engine.gave_up().is_none(), "{:?}", engine.gave_up());
}
