//! Replicas sharing one token through a store: many machines, one in-memory store with faults
//! injected, a simulated clock (proptest). The token endpoint always answers; what is under test
//! is the coordination and what a misbehaving store can cost.

#[path = "../examples/fleet/store.rs"]
#[allow(dead_code)]
mod store;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use proptest::prelude::*;
use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Event, Output, RequestId, Share, StoreAnswer, StoreCommand,
    StoreError, StoreErrorKind, StoreId, StoredValue, Time, TokenClient,
};
use store::MemoryStore;

/// How the store behaves during a window.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Every operation fails at once (connection refused).
    Down,
    /// No operation is answered (the machine's deadline fires).
    Hang,
    /// Writes are acknowledged and lost.
    LoseWrites,
}

#[derive(Clone, Debug)]
struct Plan {
    replicas: usize,
    /// Each replica's start, after the first.
    starts: Vec<Duration>,
    lifetime: Duration,
    http_latency: Duration,
    store_latency: Duration,
    /// Windows of store misbehaviour: start, length, kind.
    faults: Vec<(Duration, Duration, Fault)>,
    /// Moments the store loses everything.
    restarts: Vec<Duration>,
    /// A replica that dies (its lock, if it holds one, stays until it expires) at a moment.
    vanish: Option<(usize, Duration)>,
    /// The API rejects the shared token at this moment: every replica reports a 401 for it.
    reject_at: Option<Duration>,
    length: Duration,
}

#[derive(Debug, Default)]
struct Outcome {
    /// When each token request was sent.
    requests: Vec<Time>,
    /// Per live replica, the longest stretch without a usable token (its first one included).
    longest_gap: Vec<Duration>,
    /// Per live replica, the longest stretch without a usable token after its first one.
    later_gap: Vec<Duration>,
    adopted: u64,
    store_failures: u64,
    /// Forget operations that deleted the rejected token, and those that found another.
    forgotten: (u64, u64),
    /// Lock operations the store performed.
    locks: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Tick,
    Wake,
    Http,
    Store,
}

const TICK: Duration = Duration::from_secs(5);

struct Replica {
    client: TokenClient,
    alive: bool,
    start: Time,
    http: Option<(RequestId, Time)>,
    store: Option<(StoreId, StoreCommand)>,
    wake: Option<Time>,
    /// When the token last served stops being served (the start while none has been).
    served_until: Time,
    lacking_since: Option<Time>,
    longest_gap: Duration,
    later_gap: Duration,
    had_token: bool,
    /// Callers asked since the driver last stepped.
    demand: bool,
    rejected: bool,
}

fn config(replica: usize) -> Config {
    Config::builder(Endpoint::staging(), Credentials::new("sim", "sim-secret"))
        .jitter_seed(0x5eed_0000 + replica as u64)
        .share(Share::new())
        .build()
        .unwrap()
}

fn at(d: Duration) -> Time {
    Time::ZERO.saturating_add(d)
}

fn run(plan: &Plan) -> Outcome {
    let end = at(plan.length);
    let mut store = MemoryStore::new();
    let mut outcome = Outcome::default();
    // Every token issued and the moment it truly expires: its request's emission plus its
    // lifetime is the earliest the server can have issued it.
    let mut expiry: HashMap<String, Time> = HashMap::new();
    let mut queue: BinaryHeap<Reverse<(Time, Kind, usize)>> = BinaryHeap::new();
    let mut replicas: Vec<Replica> = (0..plan.replicas)
        .map(|r| {
            let start = at(plan
                .starts
                .get(r.wrapping_sub(1))
                .copied()
                .unwrap_or_default());
            queue.push(Reverse((start, Kind::Tick, r)));
            Replica {
                client: TokenClient::new(config(r), start),
                alive: true,
                start,
                http: None,
                store: None,
                wake: None,
                served_until: start,
                lacking_since: None,
                longest_gap: Duration::ZERO,
                later_gap: Duration::ZERO,
                had_token: false,
                demand: false,
                rejected: false,
            }
        })
        .collect();
    let fault_at = |t: Time| {
        plan.faults
            .iter()
            .find(|(s, len, _)| t >= at(*s) && t < at(*s + *len))
            .map(|f| f.2)
    };
    let mut restarts: Vec<Time> = plan.restarts.iter().map(|d| at(*d)).collect();
    restarts.sort();

    while let Some(Reverse((now, kind, r))) = queue.pop() {
        if now > end {
            break;
        }
        while restarts.first().is_some_and(|t| *t <= now) {
            restarts.remove(0);
            store.restart();
        }
        if let Some((victim, when)) = plan.vanish {
            if r == victim && now >= at(when) {
                replicas[r].alive = false;
            }
        }
        let replica = &mut replicas[r];
        if !replica.alive {
            continue;
        }
        match kind {
            Kind::Tick => queue.push(Reverse((now.saturating_add(TICK), Kind::Tick, r))),
            Kind::Wake if replica.wake != Some(now) => continue,
            Kind::Wake => replica.wake = None,
            Kind::Http => {
                let Some((id, sent)) = replica.http.take() else {
                    continue;
                };
                let text = format!("tok-{r}-{}", sent.as_millis());
                expiry.insert(text.clone(), sent.saturating_add(plan.lifetime));
                let body = format!(
                    r#"{{"access_token":"{text}","token_type":"Bearer","expires_in":{}}}"#,
                    plan.lifetime.as_secs()
                );
                let _ = replica
                    .client
                    .handle_response(id, Response::new(body.into_bytes()), now);
            }
            Kind::Store => {
                let Some((id, command)) = replica.store.take() else {
                    continue;
                };
                let result = match fault_at(now) {
                    Some(Fault::Down) => Err(StoreError::new(
                        StoreErrorKind::Unavailable,
                        "Connection refused",
                    )),
                    Some(Fault::Hang) => continue,
                    Some(Fault::LoseWrites) if matches!(command, StoreCommand::Write { .. }) => {
                        Ok(StoreAnswer::Done)
                    }
                    _ => Ok(store.apply(&command, now)),
                };
                if let (StoreCommand::Forget { .. }, Ok(answer)) = (&command, &result) {
                    match answer {
                        StoreAnswer::Done => outcome.forgotten.0 += 1,
                        _ => outcome.forgotten.1 += 1,
                    }
                }
                let _ = replica.client.handle_store(id, result, now);
            }
        }
        if plan.reject_at.is_some_and(|t| now >= at(t)) && !replica.rejected {
            if let Some(id) = replica.client.token(now).map(|t| t.id()) {
                replica.rejected = true;
                assert!(replica.client.invalidate(id, now));
            }
        }
        // A busy service, seen through a driver: callers ask at every tick and are served from
        // the driver's copy, which records their demand; the driver hands it to the machine
        // when it steps (at the machine's moments, the refresh moment, and each answer), and
        // steps at every moment while a caller waits with no token.
        let usable = replica.client.state(now).token().is_some();
        if kind == Kind::Tick {
            let first_demand = !std::mem::replace(&mut replica.demand, true);
            if let Some(token) = replica.client.state(now).token() {
                let text = token.access_token().expose_secret();
                assert!(
                    now < expiry[text],
                    "replica {r} served {text} at {now}, past expiry"
                );
                // Served from the copy, with no step; except that the first demand after the
                // refresh moment nudges the driver (a token idle then is in use again).
                if !(first_demand && now >= token.refresh_at()) {
                    continue;
                }
            }
        }
        let served = if std::mem::take(&mut replica.demand) || !usable {
            replica.client.token(now)
        } else {
            replica.client.state(now).token()
        };
        match served {
            Some(token) => {
                let text = token.access_token().expose_secret();
                let expires = expiry[text];
                assert!(
                    now < expires,
                    "replica {r} served {text} at {now}, at or after its expiry {expires}"
                );
                replica.served_until = token.serve_until();
                if let Some(since) = replica.lacking_since.take() {
                    let gap = now.saturating_duration_since(since);
                    replica.longest_gap = replica.longest_gap.max(gap);
                    if replica.had_token {
                        replica.later_gap = replica.later_gap.max(gap);
                    }
                }
                replica.had_token = true;
            }
            None => {
                if std::env::var_os("SIM_DEBUG").is_some() {
                    eprintln!("{now} r{r} NO TOKEN");
                }
                if replica.lacking_since.is_none() {
                    replica.lacking_since = Some(replica.served_until.min(now));
                }
            }
        }
        loop {
            match replica.client.poll(now) {
                Output::Transmit(t) => {
                    outcome.requests.push(now);
                    replica.http = Some((t.id(), now));
                    queue.push(Reverse((
                        now.saturating_add(plan.http_latency),
                        Kind::Http,
                        r,
                    )));
                }
                Output::Store(op) => {
                    if std::env::var_os("SIM_DEBUG").is_some() {
                        eprintln!("{now} r{r} store {}", op.command().name());
                    }
                    replica.store = Some(op.into_parts());
                    let answer = now.saturating_add(plan.store_latency);
                    queue.push(Reverse((answer, Kind::Store, r)));
                }
                Output::Event(Event::TokenAdopted {
                    token, remaining, ..
                }) => {
                    if std::env::var_os("SIM_DEBUG").is_some() {
                        eprintln!("{now} r{r} adopted {token} {remaining:?}");
                    }
                    outcome.adopted += 1
                }
                Output::Event(Event::StoreFailed { .. }) => outcome.store_failures += 1,
                Output::Event(e) => {
                    if std::env::var_os("SIM_DEBUG").is_some() {
                        eprintln!("{now} r{r} {e:?}");
                    }
                }
                out @ (Output::Timeout(_) | Output::Idle) => {
                    // As the drivers do: wake at the machine's moment, and at the token's
                    // refresh moment to hand it the callers' demand.
                    let refresh = replica
                        .client
                        .state(now)
                        .token()
                        .map(|t| t.refresh_at())
                        .filter(|t| *t > now);
                    let at = match out {
                        Output::Timeout(t) => Some(refresh.map_or(t, |r| r.min(t))),
                        _ => refresh,
                    };
                    // The latest answer names the moment, as a driver sleeps until the moment
                    // its last step named (an earlier one is not kept).
                    replica.wake = at;
                    if std::env::var_os("SIM_DEBUG").is_some()
                        && r == 1
                        && now > Time::from_secs(370)
                        && now < Time::from_secs(390)
                    {
                        eprintln!("{now} r{r} kind {kind:?} wake {at:?} refresh {refresh:?}");
                    }
                    if let Some(t) = at {
                        queue.push(Reverse((t, Kind::Wake, r)));
                    }
                    break;
                }
            }
        }
    }
    for replica in replicas.iter_mut().filter(|r| r.alive) {
        if let Some(since) = replica.lacking_since {
            let gap = end.saturating_duration_since(since);
            replica.longest_gap = replica.longest_gap.max(gap);
            if replica.had_token {
                replica.later_gap = replica.later_gap.max(gap);
            }
        }
        let _ = replica.start;
        outcome.longest_gap.push(replica.longest_gap);
        outcome.later_gap.push(replica.later_gap);
    }
    outcome.locks = store.applied.get("lock").copied().unwrap_or_default();
    outcome
}

/// The shortest time between two fleet refreshes of a token of `lifetime` with the default
/// `Share`: its refresh window ends 5 min (at most a quarter of the lifetime) before expiry
/// and opens 5 min earlier, never before half the lifetime.
fn refresh_interval(lifetime: Duration) -> Duration {
    let margin = Duration::from_secs(300).min(lifetime / 4);
    let earliest = lifetime - margin;
    earliest
        .saturating_sub(Duration::from_secs(300))
        .max(lifetime / 2)
}

/// The longest a replica may be without a token beyond what it is without sharing (its own
/// request's round trip): waiting for a peer, a poll, store operations timing out, and the
/// simulation's tick.
fn sharing_allowance(plan: &Plan) -> Duration {
    let share = Share::new();
    let _ = share;
    Duration::from_secs(5) // peer wait
        + Duration::from_millis(250) // poll interval
        + 3 * Duration::from_millis(250) // store timeouts
        + 2 * plan.store_latency
        + Duration::from_secs(1) // the minimum request interval
}

fn healthy(replicas: usize, lifetime_mins: u64) -> Plan {
    Plan {
        replicas,
        starts: (1..replicas)
            .map(|i| Duration::from_millis(i as u64 * 7))
            .collect(),
        lifetime: Duration::from_secs(lifetime_mins * 60),
        http_latency: Duration::from_millis(120),
        store_latency: Duration::from_millis(2),
        faults: Vec::new(),
        restarts: Vec::new(),
        vanish: None,
        reject_at: None,
        length: Duration::from_secs(lifetime_mins * 60 * 4),
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Down),
        Just(Fault::Hang),
        Just(Fault::LoseWrites)
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        2usize..7,
        prop_oneof![1u64..20, 20u64..130],
        10u64..800,
        1u64..30,
        prop::collection::vec((0u64..3, 0u64..400), 6),
        prop::collection::vec((0u64..10_000, 1u64..900, fault()), 0..3),
        prop::collection::vec(0u64..10_000, 0..2),
        prop::option::of((0usize..6, 0u64..10_000)),
    )
        .prop_map(
            |(replicas, mins, http_ms, store_ms, starts, faults, restarts, vanish)| {
                let lifetime = Duration::from_secs(mins * 60);
                let within = |permille: u64| lifetime * 3 * permille as u32 / 10_000;
                Plan {
                    replicas,
                    // Most start together (a deploy); some join up to a few minutes later.
                    starts: starts
                        .iter()
                        .map(|&(late, s)| Duration::from_secs(if late == 0 { s } else { s % 3 }))
                        .collect(),
                    lifetime,
                    http_latency: Duration::from_millis(http_ms),
                    store_latency: Duration::from_millis(store_ms),
                    faults: faults
                        .into_iter()
                        .map(|(s, len, f)| (within(s), Duration::from_secs(len), f))
                        .collect(),
                    restarts: restarts.into_iter().map(within).collect(),
                    vanish: vanish.map(|(r, t)| (r % replicas, within(t))),
                    reject_at: None,
                    length: lifetime * 4,
                }
            },
        )
}

#[test]
fn a_cold_start_and_steady_state_cost_the_fleet_one_request_per_refresh_interval() {
    for (replicas, mins) in [(2, 20), (8, 120), (30, 60)] {
        let plan = healthy(replicas, mins);
        let outcome = run(&plan);
        let first_lifetime = outcome
            .requests
            .iter()
            .filter(|t| **t < at(plan.lifetime / 2))
            .count();
        assert_eq!(
            first_lifetime, 1,
            "{replicas} replicas: {:?}",
            outcome.requests
        );
        let bound =
            1 + (plan.length.as_secs() / refresh_interval(plan.lifetime).as_secs()) as usize;
        assert!(
            outcome.requests.len() <= bound,
            "{} requests, at most {bound}: {:?}",
            outcome.requests.len(),
            outcome.requests
        );
        assert!(outcome.adopted >= (replicas as u64 - 1) * 4, "{outcome:?}");
        let allowance = plan.http_latency + sharing_allowance(&plan);
        assert!(
            outcome.longest_gap.iter().all(|g| *g <= allowance),
            "{outcome:?}"
        );
        assert!(outcome.later_gap.iter().all(|g| g.is_zero()), "{outcome:?}");
    }
}

#[test]
fn a_lock_holder_that_vanishes_at_a_cold_start_delays_the_others_by_the_peer_wait_at_most() {
    let mut plan = healthy(5, 60);
    // Replica 0 takes the lock first and dies before its answer arrives.
    plan.vanish = Some((0, Duration::from_millis(50)));
    let outcome = run(&plan);
    assert_eq!(outcome.longest_gap.len(), 4);
    let gap = *outcome.longest_gap.iter().max().unwrap();
    assert!(
        gap >= Duration::from_millis(2500),
        "they waited for the peer: {gap:?}"
    );
    assert!(
        gap <= plan.http_latency + sharing_allowance(&plan),
        "{gap:?}"
    );
    // After its wait each fetched on its own or adopted an earlier one's: never more than
    // without sharing.
    let cold: Vec<_> = outcome
        .requests
        .iter()
        .filter(|t| **t < Time::from_secs(10))
        .collect();
    assert!((2..=5).contains(&cold.len()), "{cold:?}");
    let steady = outcome.requests.len() - cold.len();
    let bound = 1 + (plan.length.as_secs() / refresh_interval(plan.lifetime).as_secs()) as usize;
    assert!(steady <= bound, "{:?}", outcome.requests);
}

#[test]
fn a_dead_store_costs_each_replica_its_own_tokens_and_nothing_more() {
    let mut plan = healthy(4, 60);
    plan.faults = vec![(Duration::ZERO, plan.length, Fault::Down)];
    let outcome = run(&plan);
    assert_eq!(outcome.adopted, 0);
    // Each replica fetched on its own, as it would without sharing (one per refresh, at least
    // half a lifetime apart).
    assert!(
        outcome.requests.len() <= 4 * (1 + 4 * 2),
        "{:?}",
        outcome.requests
    );
    assert!(outcome.requests.len() >= 4 * 4);
    assert!(outcome
        .longest_gap
        .iter()
        .all(|g| *g <= plan.http_latency + sharing_allowance(&plan))); // Every refresh ran ahead of expiry: the store failing at each one cost no token.
    assert!(outcome.later_gap.iter().all(|g| g.is_zero()), "{outcome:?}");
}

#[test]
fn a_burst_of_401s_across_the_fleet_leads_to_one_new_token() {
    let mut plan = healthy(6, 60);
    plan.length = Duration::from_secs(20 * 60);
    plan.reject_at = Some(Duration::from_secs(10 * 60));
    let outcome = run(&plan);
    let after: Vec<_> = outcome
        .requests
        .iter()
        .filter(|t| **t >= Time::from_secs(600))
        .collect();
    assert_eq!(after.len(), 1, "{:?}", outcome.requests);
    // The first report deleted the shared token; the others found it gone or replaced.
    assert_eq!(outcome.forgotten.0, 1, "{outcome:?}");
    assert_eq!(outcome.forgotten.1, 5, "{outcome:?}");
    let allowance = plan.http_latency + sharing_allowance(&plan) + TICK;
    assert!(
        outcome.longest_gap.iter().all(|g| *g <= allowance),
        "{outcome:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the store does, no token is served at or after its expiry (checked inside
    /// `run`); a replica waits for its first token no longer than it would alone plus the
    /// sharing allowance; and once it has one it is never without one (refreshes run ahead of
    /// expiry, store or no store).
    #[test]
    fn store_faults_never_cost_a_replica_its_token(plan in plan()) {
        let outcome = run(&plan);
        let allowance = plan.http_latency + sharing_allowance(&plan);
        for gap in &outcome.longest_gap {
            prop_assert!(*gap <= allowance, "gap {gap:?} over {allowance:?}: {outcome:?}");
        }
        for gap in &outcome.later_gap {
            prop_assert!(gap.is_zero(), "a replica lost its token for {gap:?}: {outcome:?}");
        }
    }

    /// After the last fault the fleet is back to one token request per refresh interval within
    /// one lifetime (plus the store back-off's cap).
    #[test]
    fn a_store_that_comes_back_is_used_again_within_a_lifetime(plan in plan()) {
        let outcome = run(&plan);
        let last_fault = plan
            .faults
            .iter()
            .map(|(s, len, _)| *s + *len)
            .chain(plan.restarts.iter().copied())
            .chain(plan.vanish.map(|(_, t)| t))
            .max()
            .unwrap_or_default();
        let settled = at(last_fault + plan.lifetime + Duration::from_secs(60));
        let window = plan.length.saturating_sub(last_fault + plan.lifetime + Duration::from_secs(60));
        let after: Vec<_> = outcome.requests.iter().filter(|t| **t >= settled).collect();
        let bound = 1 + (window.as_secs() / refresh_interval(plan.lifetime).as_secs()) as usize;
        prop_assert!(after.len() <= bound, "{} requests after {settled}, at most {bound}: {:?}", after.len(), outcome.requests);
    }
}

/// Polls until the machine emits a store operation or a request, or settles.
fn next_out(client: &mut TokenClient, now: Time, shown: &mut String) -> Option<Output> {
    loop {
        match client.poll(now) {
            Output::Event(e) => shown.push_str(&format!("{e:?} {e}\n", e = EventText(&e))),
            Output::Timeout(_) | Output::Idle => return None,
            other => return Some(other),
        }
    }
}

/// A token endpoint's success carrying `text`, living `expires_in` seconds.
fn token_response(text: &str, expires_in: u64) -> Response<Vec<u8>> {
    let body =
        format!(r#"{{"access_token":"{text}","token_type":"Bearer","expires_in":{expires_in}}}"#);
    Response::new(body.into_bytes())
}

/// Drives `client` at `now` until it settles: store operations performed on `store`, token
/// requests answered with `answer`.
fn settle(
    client: &mut TokenClient,
    store: &mut MemoryStore,
    now: Time,
    answer: impl Fn() -> Response<Vec<u8>>,
    shown: &mut String,
) {
    while let Some(out) = next_out(client, now, shown) {
        match out {
            Output::Store(op) => {
                let result = store.apply(op.command(), now);
                client.handle_store(op.id(), Ok(result), now).unwrap();
            }
            Output::Transmit(t) => client.handle_response(t.id(), answer(), now).unwrap(),
            other => panic!("{other:?}"),
        }
    }
}

struct EventText<'a>(&'a Event);

impl std::fmt::Display for EventText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#?}", self.0)
    }
}

impl std::fmt::Debug for EventText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[test]
fn the_token_never_shows_in_store_operations_values_or_events() {
    const TOKEN: &str = "SECRET-TOKEN-xyz";
    let mut shown = String::new();
    let mut client = TokenClient::new(config(0), Time::ZERO);
    let now = Time::ZERO;
    assert!(client.token(now).is_none());
    let Some(Output::Store(read)) = next_out(&mut client, now, &mut shown) else {
        panic!("a read first")
    };
    assert!(matches!(read.command(), StoreCommand::Read { .. }));
    client
        .handle_store(read.id(), Ok(StoreAnswer::Missing), now)
        .unwrap();
    let Some(Output::Store(lock)) = next_out(&mut client, now, &mut shown) else {
        panic!("then the lock")
    };
    client
        .handle_store(lock.id(), Ok(StoreAnswer::Done), now)
        .unwrap();
    let Some(Output::Store(recheck)) = next_out(&mut client, now, &mut shown) else {
        panic!("then the read again")
    };
    client
        .handle_store(recheck.id(), Ok(StoreAnswer::Missing), now)
        .unwrap();
    let Some(Output::Transmit(t)) = next_out(&mut client, now, &mut shown) else {
        panic!("then the request")
    };
    let body = format!(r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":7200}}"#);
    client
        .handle_response(t.id(), Response::new(body.into_bytes()), now)
        .unwrap();
    let Some(Output::Store(write)) = next_out(&mut client, now, &mut shown) else {
        panic!("then the write")
    };
    let StoreCommand::Write { value, ttl, .. } = write.command() else {
        panic!("{write:?}")
    };
    assert!(std::str::from_utf8(value.as_bytes())
        .unwrap()
        .contains(TOKEN));
    assert!(*ttl < Duration::from_secs(7200) && *ttl > Duration::from_secs(7199));
    shown.push_str(&format!("{write:?} {write:#?} {value:?} {client:?}"));
    // A value refused by another replica is described without being quoted.
    let mut other = TokenClient::new(
        Config::builder(Endpoint::staging(), Credentials::new("other", "s"))
            .share(Share::new())
            .build()
            .unwrap(),
        now,
    );
    other.token(now);
    let Some(Output::Store(read)) = next_out(&mut other, now, &mut shown) else {
        panic!("a read")
    };
    let found = StoreAnswer::Found {
        value: value.clone(),
        ttl: Some(Duration::from_secs(100)),
    };
    shown.push_str(&format!("{found:?}"));
    other.handle_store(read.id(), Ok(found), now).unwrap();
    let _ = next_out(&mut other, now, &mut shown);
    assert!(shown.contains("StoredTokenRefused"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains("sim-secret"), "{shown}");
}

/// Between this replica's read (a miss) and its lock, another replica may write its token and
/// release the lock: the lock's winner reads again before it fetches, and adopts that token.
#[test]
fn the_lock_winner_reads_again_before_fetching() {
    let mut shown = String::new();
    let now = Time::ZERO;
    let mut store = MemoryStore::new();
    let mut first = TokenClient::new(config(1), now);
    let mut late = TokenClient::new(config(2), now);
    first.token(now);
    late.token(now);
    // `late` reads: nothing yet.
    let Some(Output::Store(read)) = next_out(&mut late, now, &mut shown) else {
        panic!("a read")
    };
    let missing = store.apply(read.command(), now);
    // Meanwhile `first` goes through the whole protocol and releases its lock.
    settle(
        &mut first,
        &mut store,
        now,
        || token_response("first-token", 7200),
        &mut shown,
    );
    assert!(first.token(now).is_some());
    // `late` now takes the free lock, reads again, adopts and releases the lock: no request.
    late.handle_store(read.id(), Ok(missing), now).unwrap();
    let mut sent = Vec::new();
    while let Some(out) = next_out(&mut late, now, &mut shown) {
        match out {
            Output::Store(op) => {
                sent.push(op.command().name());
                let answer = store.apply(op.command(), now);
                late.handle_store(op.id(), Ok(answer), now).unwrap();
            }
            other => panic!("no request expected: {other:?}"),
        }
    }
    assert_eq!(sent, ["lock", "read", "unlock"]);
    assert_eq!(
        late.token(now).unwrap().access_token().expose_secret(),
        "first-token"
    );
    assert!(store.keys(now).iter().all(|k| !k.ends_with(":lock")));
}

/// A driver hands the machine its callers' demand only now and then: an acquisition that the
/// store fails halfway must still end in a request, not wait for the next demand.
#[test]
fn a_store_failure_halfway_through_an_acquisition_fetches_at_once() {
    let mut shown = String::new();
    let now = Time::ZERO;
    let mut client = TokenClient::new(config(3), now);
    client.token(now); // the only demand
    let Some(Output::Store(read)) = next_out(&mut client, now, &mut shown) else {
        panic!("a read")
    };
    let later = Time::from_millis(40);
    let refused = StoreError::new(StoreErrorKind::Unavailable, "Connection refused");
    client.handle_store(read.id(), Err(refused), later).unwrap();
    assert!(client.poll_needed(later));
    let Some(Output::Transmit(_)) = next_out(&mut client, later, &mut shown) else {
        panic!("the request, at once: {shown}")
    };
    assert!(shown.contains("StoreFailed"), "{shown}");
}

/// A replica that joins late in the shared token's life adopts it with its refresh moment
/// already passed: it goes on to refresh at once for the callers who asked, rather than waiting
/// for their next demand.
#[test]
fn a_token_adopted_with_its_refresh_due_is_refreshed_at_once() {
    let mut shown = String::new();
    let mut store = MemoryStore::new();
    let mut now = Time::ZERO;
    let mut writer = TokenClient::new(config(1), now);
    writer.token(now);
    settle(
        &mut writer,
        &mut store,
        now,
        || token_response("sixty", 60),
        &mut shown,
    );
    // 50 s in, past the token's refresh window (30 to 45 s), a new replica asks once.
    now = Time::from_secs(50);
    let mut late = TokenClient::new(config(2), now);
    assert!(late.token(now).is_none());
    let Some(Output::Store(read)) = next_out(&mut late, now, &mut shown) else {
        panic!("a read")
    };
    let found = store.apply(read.command(), now);
    late.handle_store(read.id(), Ok(found), now).unwrap();
    let adopted = late.state(now).token().unwrap();
    assert!(adopted.refresh_at() <= now && adopted.serve_until() > now);
    // With no further demand, the refresh starts: a read, then the lock.
    let Some(Output::Store(again)) = next_out(&mut late, now, &mut shown) else {
        panic!("the refresh, at once: {shown}")
    };
    assert!(
        matches!(again.command(), StoreCommand::Read { .. }),
        "{again:?}"
    );
}

/// Refreshes run only while the token is used: a replica that adopted a token and is not asked
/// for it again lets it go, as it would a token it fetched.
#[test]
fn an_idle_replica_does_not_refresh_an_adopted_token() {
    let mut shown = String::new();
    let now = Time::ZERO;
    let mut store = MemoryStore::new();
    let mut writer = TokenClient::new(config(1), now);
    writer.token(now);
    settle(
        &mut writer,
        &mut store,
        now,
        || token_response("shared-token", 7200),
        &mut shown,
    );
    let mut idle = TokenClient::new(config(2), now);
    assert!(idle.token(now).is_none()); // the one demand
    let Some(Output::Store(read)) = next_out(&mut idle, now, &mut shown) else {
        panic!("a read")
    };
    let found = store.apply(read.command(), now);
    idle.handle_store(read.id(), Ok(found), now).unwrap();
    assert!(idle.state(now).token().is_some_and(|t| t.shared()));
    // Nobody asks again: no store operation and no request until the token has expired.
    for minute in 1..=121 {
        let later = Time::from_secs(minute * 60);
        assert!(
            next_out(&mut idle, later, &mut shown).is_none(),
            "at minute {minute}"
        );
    }
}

/// Even a short-lived shared token leaves its replicas a window to spread their refresh
/// moments over (its refresh margin is at most a quarter of its life): the first replica
/// refreshes and the rest adopt, instead of the whole fleet reaching for the lock at once.
#[test]
fn replicas_of_a_short_lived_token_spread_their_refreshes() {
    let mut plan = healthy(30, 1);
    plan.length = Duration::from_secs(20 * 60);
    let outcome = run(&plan);
    let refreshes = outcome.requests.len() as u64;
    eprintln!("{} locks for {refreshes} requests", outcome.locks);
    assert!(
        outcome.locks <= 3 * refreshes,
        "{} locks for {refreshes} requests",
        outcome.locks
    );
    assert!(outcome.later_gap.iter().all(|g| g.is_zero()), "{outcome:?}");
}

/// A replica that dies holding the lock during a refresh leaves the lock for the request
/// deadline (30 s), longer than a short-lived token has left. The others, still serving their
/// token, stop waiting halfway to the end of its serving time and fetch on their own: none of
/// them goes without a token.
#[test]
fn a_lock_holder_that_vanishes_during_a_refresh_costs_no_replica_its_token() {
    let mut plan = healthy(4, 1);
    plan.length = Duration::from_secs(5 * 60);
    let first_refresh = run(&plan).requests[1];
    let mut holder_found = false;
    for victim in 0..4 {
        plan.vanish = Some((victim, Duration::from_millis(first_refresh.as_millis() + 1)));
        let outcome = run(&plan);
        assert!(outcome.later_gap.iter().all(|g| g.is_zero()), "{outcome:?}");
        // When the victim held the lock, the next request comes only once the others stop
        // waiting for it.
        holder_found |=
            outcome.requests[2].saturating_duration_since(first_refresh) > Duration::from_secs(1);
    }
    assert!(holder_found, "one of the plans kills the lock holder");
}

/// During an outage of the token endpoint each replica's own requests back off, but it keeps
/// reading the store: the first replica to get through serves all of them within seconds,
/// whatever their back-off (here a `Retry-After` of ten minutes).
#[test]
fn a_replica_backing_off_adopts_a_peers_token_within_seconds() {
    let mut shown = String::new();
    let mut store = MemoryStore::new();
    let mut now = Time::ZERO;
    let mut backing_off = TokenClient::new(config(1), now);
    backing_off.token(now);
    // Its attempt fails with a 503 and a ten-minute Retry-After.
    let unavailable = || {
        let mut response = Response::new(b"unavailable".to_vec());
        *response.status_mut() = seekpass_oauth::http::StatusCode::SERVICE_UNAVAILABLE;
        response.headers_mut().insert(
            seekpass_oauth::http::header::RETRY_AFTER,
            seekpass_oauth::http::HeaderValue::from_static("600"),
        );
        response
    };
    settle(&mut backing_off, &mut store, now, unavailable, &mut shown);
    assert!(backing_off.token(now).is_none());
    // For the next minute it only reads: the store has nothing, and its own request waits for
    // the Retry-After.
    let mut reads = 0;
    for second in 1..60 {
        now = Time::from_secs(second);
        backing_off.token(now);
        while let Some(out) = next_out(&mut backing_off, now, &mut shown) {
            let Output::Store(op) = out else {
                panic!("no request during the back-off: {out:?}")
            };
            assert!(matches!(op.command(), StoreCommand::Read { .. }), "{op:?}");
            reads += 1;
            let answer = store.apply(op.command(), now);
            backing_off.handle_store(op.id(), Ok(answer), now).unwrap();
        }
    }
    assert!((10..=13).contains(&reads), "one read every 5 s: {reads}");
    // A new replica starts a minute later. The first one holds the lock for its Retry-After,
    // so the new one, with no token, waits the peer wait and then gets through on its own.
    now = Time::from_secs(60);
    let mut peer = TokenClient::new(config(2), now);
    while peer.token(now).is_none() {
        match next_out(&mut peer, now, &mut shown) {
            Some(Output::Store(op)) => {
                let answer = store.apply(op.command(), now);
                peer.handle_store(op.id(), Ok(answer), now).unwrap();
            }
            Some(Output::Transmit(t)) => {
                let body =
                    r#"{"access_token":"peer-token","token_type":"Bearer","expires_in":7200}"#;
                peer.handle_response(t.id(), Response::new(body.as_bytes().to_vec()), now)
                    .unwrap();
            }
            _ => now = Time::from_millis(now.as_millis() + 100),
        }
    }
    assert!(now <= Time::from_secs(66), "{now}");
    // It writes its token for the others.
    while let Some(Output::Store(op)) = next_out(&mut peer, now, &mut shown) {
        let answer = store.apply(op.command(), now);
        peer.handle_store(op.id(), Ok(answer), now).unwrap();
    }
    // Within the read interval (5 s) the replica backing off has it, with no request.
    let until = now.saturating_add(Duration::from_secs(6));
    while now < until && backing_off.token(now).is_none() {
        match next_out(&mut backing_off, now, &mut shown) {
            Some(Output::Store(op)) => {
                let answer = store.apply(op.command(), now);
                backing_off.handle_store(op.id(), Ok(answer), now).unwrap();
            }
            Some(other) => panic!("no request during the back-off: {other:?}"),
            None => now = Time::from_millis(now.as_millis() + 100),
        }
    }
    assert_eq!(
        backing_off
            .token(now)
            .map(|t| t.access_token().expose_secret().to_owned()),
        Some("peer-token".to_owned()),
        "at {now}"
    );
}

/// A store client that answers a read with "done", or a lock with a value, is not trusted: the
/// store counts as failed and the replica fetches on its own.
#[test]
fn an_answer_of_the_wrong_kind_is_a_protocol_failure() {
    let mut shown = String::new();
    let now = Time::ZERO;
    let mut client = TokenClient::new(config(4), now);
    client.token(now);
    let Some(Output::Store(read)) = next_out(&mut client, now, &mut shown) else {
        panic!("a read")
    };
    client
        .handle_store(read.id(), Ok(StoreAnswer::Done), now)
        .unwrap();
    let Some(Output::Transmit(_)) = next_out(&mut client, now, &mut shown) else {
        panic!("a request of its own: {shown}")
    };
    assert!(shown.contains("Protocol"), "{shown}");
    assert!(shown.contains("done is no answer to read"), "{shown}");
}

/// Store answers follow the same rules as token responses: one for an operation never issued,
/// already answered or past its deadline is refused and changes nothing.
#[test]
fn late_and_unknown_store_answers_are_refused() {
    let mut shown = String::new();
    let now = Time::ZERO;
    let mut client = TokenClient::new(config(5), now);
    client.token(now);
    let Some(Output::Store(read)) = next_out(&mut client, now, &mut shown) else {
        panic!("a read")
    };
    assert_eq!(
        client.handle_store(read.id(), Ok(StoreAnswer::Missing), now),
        Ok(())
    );
    // Answered already, even while another operation is in flight.
    assert_eq!(
        client.handle_store(read.id(), Ok(StoreAnswer::Missing), now),
        Err(seekpass_oauth::InputError::StaleStoreOp(read.id()))
    );
    // Past its deadline: the lock operation fails by itself, and its answer is refused.
    let Some(Output::Store(lock)) = next_out(&mut client, now, &mut shown) else {
        panic!("the lock")
    };
    assert_eq!(
        client.handle_store(read.id(), Ok(StoreAnswer::Done), now),
        Err(seekpass_oauth::InputError::StaleStoreOp(read.id())),
        "an old id is not the answer to the operation in flight"
    );
    let late = lock.deadline();
    let _ = next_out(&mut client, late, &mut shown);
    assert!(shown.contains("Timeout"), "{shown}");
    assert_eq!(
        client.handle_store(lock.id(), Ok(StoreAnswer::Done), late),
        Err(seekpass_oauth::InputError::StaleStoreOp(lock.id()))
    );
    // A machine that does not share refuses every store answer.
    let mut alone = TokenClient::new(
        Config::builder(Endpoint::staging(), Credentials::new("sim", "sim-secret"))
            .build()
            .unwrap(),
        now,
    );
    assert_eq!(
        alone.handle_store(lock.id(), Ok(StoreAnswer::Done), now),
        Err(seekpass_oauth::InputError::UnknownStoreOp(lock.id()))
    );
}

/// A stored value for the `sim` client, as a replica of this version writes it.
fn value(token: &str, lifetime_ms: u64, scope: &str) -> StoredValue {
    let json = format!(
        r#"{{"v":1,"client_id":"sim","access_token":"{token}","scope":"{scope}","lifetime_ms":{lifetime_ms},"lifetime_source":"expires_in"}}"#
    );
    StoredValue::new(json.into_bytes())
}

/// Asks `client` for a token at `now` and answers its read with `value` and `ttl`; returns
/// whether it adopted it (else it goes for the lock).
fn offer(client: &mut TokenClient, now: Time, value: StoredValue, ttl: Duration) -> bool {
    let mut shown = String::new();
    client.token(now);
    let Some(Output::Store(read)) = next_out(client, now, &mut shown) else {
        panic!("a read: {shown}")
    };
    assert!(matches!(read.command(), StoreCommand::Read { .. }));
    let found = StoreAnswer::Found {
        value,
        ttl: Some(ttl),
    };
    client.handle_store(read.id(), Ok(found), now).unwrap();
    match next_out(client, now, &mut shown) {
        Some(Output::Store(op)) if matches!(op.command(), StoreCommand::Lock { .. }) => {
            // Leave the lock to another replica.
            client
                .handle_store(op.id(), Ok(StoreAnswer::Refused), now)
                .unwrap();
            false
        }
        // Adopted (a refresh may start at once for a token adopted late in its life).
        _ => shown.contains("TokenAdopted"),
    }
}

#[test]
fn a_stored_lifetime_over_the_longest_believed_is_capped() {
    let now = Time::ZERO;
    let day = Duration::from_secs(86_400);
    let mut client = TokenClient::new(config(6), now);
    assert!(offer(
        &mut client,
        now,
        value("long", 2 * 86_400_000, ""),
        2 * day
    ));
    let token = client.token(now).unwrap();
    assert_eq!(token.lifetime(), day);
    assert_eq!(
        token.lifetime_source(),
        seekpass_oauth::LifetimeSource::Capped
    );
    assert!(token.expires_at() <= Time::ZERO.saturating_add(day));
    // Exactly the longest believed is taken as it is.
    let mut client = TokenClient::new(config(7), now);
    assert!(offer(&mut client, now, value("day", 86_400_000, ""), day));
    let token = client.token(now).unwrap();
    assert_eq!(
        token.lifetime_source(),
        seekpass_oauth::LifetimeSource::ExpiresIn
    );
}

/// A replica adopts a stored token only if it is better than its own: one that expires no
/// later than its own usable token is not (it goes for the lock to refresh); once its own was
/// rejected, any other stored token is.
#[test]
fn only_a_stored_token_better_than_its_own_is_adopted() {
    let hour = Duration::from_secs(3600);
    let mut client = TokenClient::new(config(8), Time::ZERO);
    assert!(offer(
        &mut client,
        Time::ZERO,
        value("mine", 7_200_000, ""),
        2 * hour
    ));
    let mine = client.token(Time::ZERO).unwrap().id();
    // At its refresh moment, a stored token expiring sooner than its own is not taken.
    let refresh = client.token(Time::ZERO).unwrap().refresh_at();
    let older = value("older", 7_200_000, "");
    assert!(!offer(&mut client, refresh, older, Duration::from_secs(60)));
    assert_eq!(client.token(refresh).unwrap().id(), mine);
    // Rejected by the API, its own is worth nothing: the same older token is adopted.
    // (Still waiting for the lock's holder, well within the peer wait.)
    let later = refresh.saturating_add(Duration::from_millis(300));
    assert!(client.invalidate(mine, later));
    let mut client_ops = String::new();
    // The rejected token is forgotten first.
    let Some(Output::Store(forget)) = next_out(&mut client, later, &mut client_ops) else {
        panic!("forget: {client_ops}")
    };
    assert!(matches!(forget.command(), StoreCommand::Forget { .. }));
    client
        .handle_store(forget.id(), Ok(StoreAnswer::Refused), later)
        .unwrap();
    let older = value("older", 7_200_000, "");
    assert!(offer(&mut client, later, older, Duration::from_secs(60)));
    assert_eq!(
        client.token(later).unwrap().access_token().expose_secret(),
        "older"
    );
}

/// The granted scope is shown in events: a stored scope that holds the client secret is not
/// adopted.
#[test]
fn a_stored_scope_echoing_the_secret_is_not_adopted() {
    let now = Time::ZERO;
    let mut client = TokenClient::new(config(9), now);
    let echo = value("tok", 7_200_000, "write.education sim-secret");
    assert!(!offer(&mut client, now, echo, Duration::from_secs(3600)));
    assert!(client.token(now).is_none());
}
