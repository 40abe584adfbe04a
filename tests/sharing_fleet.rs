//! A fleet of replicas sharing one token through a store: many machines, one in-memory store
//! with faults injected, a simulated clock (proptest). The token endpoint always answers; what is
//! under test is the coordination and what a misbehaving store can cost. The protocol's single
//! exchanges are in `sharing.rs`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use proptest::prelude::*;
use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Event, Output, RequestId, Share, StoreAnswer, StoreCommand,
    StoreError, StoreErrorKind, StoreId, Time, TimingPolicy, TokenClient,
};
use seekpass_oauth_testkit::memory_store::MemoryStore;

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
/// `Share`: its refresh window opens `margin + spread` before expiry, never before half the
/// lifetime.
fn refresh_interval(lifetime: Duration) -> Duration {
    let (margin, spread) = Share::new().refresh_window(lifetime);
    lifetime.saturating_sub(margin + spread).max(lifetime / 2)
}

/// The longest a replica may be without a token beyond what it is without sharing (its own
/// request's round trip), with the default settings: waiting for a peer, a poll, store
/// operations timing out, and the minimum request interval.
fn sharing_allowance(plan: &Plan) -> Duration {
    let share = Share::new();
    share.wait_for_peer()
        + share.read_interval()
        + 3 * share.timeout()
        + 2 * plan.store_latency
        + TimingPolicy::default().min_interval()
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
