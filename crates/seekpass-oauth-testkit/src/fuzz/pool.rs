//! The keyed pool against its reference, driven by bytes (the `pool` fuzz target and
//! `tests/pool_model.rs`). The first byte picks the run:
//!
//! - **Twins** (even): limits never reached. The pool must behave, key by key, exactly as
//!   independent [`TokenClient`]s fed the same inputs at the same moments: the same requests,
//!   events and lookups, and a next wake that is the earliest of theirs (and of the idle
//!   deadlines). Faults on one key (refusals, 503s, transport failures, invalidations) thus
//!   change no other key's outputs.
//! - **Limited** (odd): small limits from the next bytes, unknown keys and `forget`. After every
//!   output: at most `max_entries` entries, at most `max_in_flight` requests counted and on the
//!   wire, at most `max_per_second` started in any second, no token served at or after its end,
//!   every wake in the future.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use seekpass_oauth::{
    PoolLimits, PoolOutput, RequestId, Time, TokenClient, TokenPool, TransportError,
    TransportErrorKind, POOL_WAITING_PIN,
};

use crate::body::{response, token as token_body};
use crate::pool::config;

/// One step of a run.
#[derive(Clone, Debug)]
pub enum Action {
    /// Time passes by this many milliseconds.
    Advance(u64),
    /// Time jumps to the pool's next wake.
    Sleep,
    /// A caller asks for the key's token.
    Ask(u32),
    /// The key's oldest request in flight gets a token of this many seconds.
    Succeed(u32, u64),
    /// The key's oldest request in flight is answered with this status and body.
    Fail(u32, u16, &'static str),
    /// The key's oldest request in flight fails in transport.
    Transport(u32),
    /// The API refuses the key's current token.
    Invalidate(u32),
    /// The caller forgets the key (limited runs only).
    Forget(u32),
}

const FAILURES: [(u16, &str); 4] = [
    (401, r#"{"error":"invalid_client"}"#),
    (400, r#"{"error":"invalid_scope"}"#),
    (503, ""),
    (429, r#"{"error":"slow_down"}"#),
];

const LIFETIMES: [u64; 4] = [7200, 120, 30, 0];

/// Decodes actions over `keys` keys: one byte each, some followed by an argument byte.
pub fn actions_from_bytes(bytes: &[u8], keys: u32) -> Vec<Action> {
    let mut bytes = bytes.iter().copied();
    let mut actions = Vec::new();
    while let Some(b) = bytes.next() {
        let key = u32::from(b >> 4) % keys;
        let mut arg = || usize::from(bytes.next().unwrap_or(0));
        actions.push(match b % 16 {
            0..=2 => Action::Advance((arg() as u64) * 997),
            3 => Action::Advance(3_600_000),
            4 | 5 => Action::Sleep,
            6..=8 => Action::Ask(key),
            9 | 10 => Action::Succeed(key, LIFETIMES[arg() % LIFETIMES.len()]),
            11 => {
                let (status, body) = FAILURES[arg() % FAILURES.len()];
                Action::Fail(key, status, body)
            }
            12 => Action::Transport(key),
            13 => Action::Invalidate(key),
            14 => Action::Forget(key),
            _ => Action::Ask((key + 1) % keys),
        });
    }
    actions
}

/// The fuzz target's check.
pub fn check_bytes(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        twins(&actions_from_bytes(rest, 4));
    } else {
        let Some((&shape, rest)) = rest.split_first() else {
            return;
        };
        let bounds = Bounds {
            max_entries: usize::from(shape % 4) + 1,
            max_in_flight: usize::from((shape >> 2) % 3) + 1,
            max_per_second: usize::from((shape >> 4) % 3) + 1,
        };
        limited(bounds, &actions_from_bytes(rest, 8));
    }
}

fn answer_text(n: u32) -> String {
    format!("tok{n}-{}", "B".repeat(30))
}

/// Runs `actions` on a pool whose limits are never reached and on one independent machine
/// per key, checking after each that they agree key by key.
pub fn twins(actions: &[Action]) {
    let idle_after = Duration::from_secs(10 * 365 * 86_400);
    let limits = PoolLimits::default()
        .max_in_flight(100)
        .max_per_second(1_000)
        .idle_after(idle_after);
    let mut t = Twins {
        pool: TokenPool::new(limits),
        refs: BTreeMap::new(),
        now: Time::ZERO,
        logs: (BTreeMap::new(), BTreeMap::new()),
        flights: (BTreeMap::new(), BTreeMap::new()),
        last_ask: BTreeMap::new(),
        waiting: BTreeMap::new(),
        idle_after,
        wake: None,
        made: 0,
    };
    for action in actions {
        t.apply(action);
        t.settle();
    }
}

type Logs = BTreeMap<u32, Vec<String>>;
type Flights = BTreeMap<u32, VecDeque<RequestId>>;

struct Twins {
    pool: TokenPool<u32>,
    refs: BTreeMap<u32, TokenClient>,
    now: Time,
    /// What the pool and the independent machines said, per key.
    logs: (Logs, Logs),
    flights: (Flights, Flights),
    last_ask: BTreeMap<u32, Time>,
    /// Keys whose last lookup found no token, and when: their entries are pinned for
    /// `POOL_WAITING_PIN` from then, and the pool wakes when the pin ends.
    waiting: BTreeMap<u32, Time>,
    idle_after: Duration,
    wake: Option<Time>,
    made: u32,
}

impl Twins {
    fn apply(&mut self, action: &Action) {
        let now = self.now;
        match *action {
            Action::Advance(ms) => self.now = now.saturating_add(Duration::from_millis(ms)),
            // To the next wake, short of the idle deadlines (which would evict).
            Action::Sleep => {
                let idle = self
                    .last_ask
                    .values()
                    .min()
                    .map(|t| t.saturating_add(self.idle_after));
                if let Some(wake) = self.wake.filter(|w| idle.is_none_or(|idle| *w < idle)) {
                    self.now = wake.max(now);
                }
            }
            Action::Ask(key) => {
                let pooled = self.pool.token(&key, now).token().map(|t| t.id());
                let alone = self
                    .refs
                    .get_mut(&key)
                    .and_then(|c| c.token(now).map(|t| t.id()));
                assert_eq!(pooled, alone, "key {key}'s lookup at {now}");
                self.last_ask.insert(key, now);
                if pooled.is_some() {
                    self.waiting.remove(&key);
                } else {
                    self.waiting.insert(key, now);
                }
            }
            Action::Succeed(key, expires_in) => {
                self.made += 1;
                let body = token_body(&answer_text(self.made), expires_in);
                self.answer(key, 200, &body);
            }
            Action::Fail(key, status, body) => self.answer(key, status, body),
            Action::Transport(key) => {
                let Some(id) = self.take_flight(key) else {
                    return;
                };
                let error = || TransportError::new(TransportErrorKind::ConnectionRefused, "reset");
                let pooled = self.pool.handle_transport_error(&key, id, error(), now);
                let alone = self.client(key).handle_transport_error(id, error(), now);
                assert_eq!(pooled, alone);
            }
            Action::Invalidate(key) => {
                let Some(client) = self.refs.get_mut(&key) else {
                    return;
                };
                let Some(token) = client.state(now).token().map(|t| t.id()) else {
                    return;
                };
                let alone = client.invalidate(token, now);
                assert_eq!(self.pool.invalidate(&key, token, now), alone);
            }
            Action::Forget(_) => {}
        }
    }

    fn client(&mut self, key: u32) -> &mut TokenClient {
        self.refs
            .get_mut(&key)
            .expect("a machine for a key with a request")
    }

    /// The key's oldest request in flight, the same in both.
    fn take_flight(&mut self, key: u32) -> Option<RequestId> {
        let pooled = self.flights.0.get_mut(&key).and_then(VecDeque::pop_front);
        let alone = self.flights.1.get_mut(&key).and_then(VecDeque::pop_front);
        assert_eq!(pooled, alone, "key {key}'s request in flight");
        pooled
    }

    fn answer(&mut self, key: u32, status: u16, body: &str) {
        let Some(id) = self.take_flight(key) else {
            return;
        };
        let now = self.now;
        let pooled = self
            .pool
            .handle_response(&key, id, response(status, body), now);
        let alone = self
            .client(key)
            .handle_response(id, response(status, body), now);
        assert_eq!(pooled, alone);
    }

    /// Polls the pool and every machine until they rest; compares what they said.
    fn settle(&mut self) {
        let now = self.now;
        let mut settled = false;
        for _ in 0..10_000 {
            match self.pool.poll(now) {
                PoolOutput::Resolve { key } => {
                    self.pool
                        .resolved(&key, Some(config(key)), now)
                        .expect("resolving");
                    let mut client = TokenClient::new(config(key), now);
                    client.demand(now);
                    self.refs.insert(key, client);
                }
                PoolOutput::Transmit { key, transmit } => {
                    let line = format!("send {} {:?}", transmit.id(), transmit.request().body());
                    self.logs.0.entry(key).or_default().push(line);
                    self.flights
                        .0
                        .entry(key)
                        .or_default()
                        .push_back(transmit.id());
                }
                PoolOutput::Event { key, event } => {
                    self.logs
                        .0
                        .entry(key)
                        .or_default()
                        .push(format!("{event:?}"));
                }
                PoolOutput::Timeout(at) => {
                    assert!(at > now, "a wake at {at}, not after {now}");
                    self.wake = Some(at);
                    settled = true;
                    break;
                }
                PoolOutput::Idle => {
                    self.wake = None;
                    settled = true;
                    break;
                }
                other => panic!("no limit is reached, yet {other:?}"),
            }
        }
        assert!(settled, "the pool did not settle");
        let mut wakes: Vec<Time> = Vec::new();
        for (key, client) in &mut self.refs {
            let log = self.logs.1.entry(*key).or_default();
            loop {
                match client.poll(now) {
                    seekpass_oauth::Output::Transmit(transmit) => {
                        log.push(format!(
                            "send {} {:?}",
                            transmit.id(),
                            transmit.request().body()
                        ));
                        self.flights
                            .1
                            .entry(*key)
                            .or_default()
                            .push_back(transmit.id());
                    }
                    seekpass_oauth::Output::Event(event) => log.push(format!("{event:?}")),
                    seekpass_oauth::Output::Timeout(at) => {
                        wakes.push(at);
                        break;
                    }
                    seekpass_oauth::Output::Idle => break,
                    other => panic!("a machine alone said {other:?}"),
                }
            }
        }
        let idle = self
            .last_ask
            .values()
            .map(|t| t.saturating_add(self.idle_after));
        let unpin = self
            .waiting
            .values()
            .map(|t| t.saturating_add(POOL_WAITING_PIN));
        let expected = wakes
            .into_iter()
            .chain(idle)
            .chain(unpin)
            .filter(|t| *t > now)
            .min();
        assert_eq!(
            self.logs.0, self.logs.1,
            "what the pool and the machines said at {now}"
        );
        assert_eq!(self.flights.0, self.flights.1);
        assert_eq!(self.wake, expected, "the pool's next wake at {now}");
    }
}

/// The limits of a limited run.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub max_entries: usize,
    pub max_in_flight: usize,
    pub max_per_second: usize,
}

/// Runs `actions` on a pool with these bounds (idle after 10 min, unknown keys remembered for
/// 30 s; keys 4 and 9 unknown), checking the bounds after every output.
pub fn limited(bounds: Bounds, actions: &[Action]) {
    let Bounds {
        max_entries,
        max_in_flight,
        max_per_second,
    } = bounds;
    let limits = PoolLimits::default()
        .max_entries(max_entries)
        .max_in_flight(max_in_flight)
        .max_per_second(max_per_second)
        .idle_after(Duration::from_secs(600))
        .remember_unknown(Duration::from_secs(30));
    let mut pool: TokenPool<u32> = TokenPool::new(limits);
    let mut now = Time::ZERO;
    let mut wake = None;
    let mut flights: Vec<(u32, RequestId, Time)> = Vec::new();
    let mut started: Vec<Time> = Vec::new();
    let mut made = 0;
    for action in actions {
        match *action {
            Action::Advance(ms) => now = now.saturating_add(Duration::from_millis(ms)),
            Action::Sleep => now = wake.unwrap_or(now).max(now),
            Action::Ask(key) => {
                if let Some(token) = pool.token(&key, now).token() {
                    assert!(token.serve_until() > now && token.expires_at() > now);
                }
            }
            Action::Succeed(key, _) | Action::Fail(key, _, _) | Action::Transport(key) => {
                let Some(at) = flights.iter().position(|f| f.0 == key) else {
                    continue;
                };
                let (_, id, _) = flights.remove(at);
                made += 1;
                let fed = match *action {
                    Action::Succeed(_, expires_in) => {
                        let body = token_body(&answer_text(made), expires_in);
                        pool.handle_response(&key, id, response(200, &body), now)
                    }
                    Action::Fail(_, status, body) => {
                        pool.handle_response(&key, id, response(status, body), now)
                    }
                    _ => {
                        let error =
                            TransportError::new(TransportErrorKind::ConnectionRefused, "reset");
                        pool.handle_transport_error(&key, id, error, now)
                    }
                };
                // An evicted or forgotten key's answer is refused; a live one's is taken
                // unless its deadline passed.
                let _refused_or_taken = fed;
            }
            Action::Invalidate(key) => {
                let token = pool
                    .state(&key, now)
                    .and_then(|s| s.token().map(|t| t.id()));
                if let Some(token) = token {
                    pool.invalidate(&key, token, now);
                }
            }
            Action::Forget(key) => {
                pool.forget(&key);
            }
        }
        let mut settled = false;
        for _ in 0..10_000 {
            let output = pool.poll(now);
            assert!(pool.len() <= max_entries, "{} entries", pool.len());
            assert!(
                pool.in_flight() <= max_in_flight,
                "{} in flight",
                pool.in_flight()
            );
            match output {
                PoolOutput::Resolve { key } => {
                    let config = (key % 5 != 4).then(|| config(key));
                    pool.resolved(&key, config, now).expect("resolving");
                }
                PoolOutput::Transmit { key, transmit } => {
                    started.push(now);
                    let second = started
                        .iter()
                        .filter(|t| t.saturating_add(Duration::from_secs(1)) > now);
                    assert!(
                        second.count() <= max_per_second,
                        "more than {max_per_second} in a second"
                    );
                    flights.push((key, transmit.id(), transmit.deadline()));
                    let on_the_wire = flights.iter().filter(|f| f.2 > now).count();
                    assert!(on_the_wire <= max_in_flight, "{on_the_wire} on the wire");
                }
                PoolOutput::Timeout(at) => {
                    assert!(at > now, "a wake at {at}, not after {now}");
                    wake = Some(at);
                    settled = true;
                    break;
                }
                PoolOutput::Idle => {
                    wake = None;
                    settled = true;
                    break;
                }
                _ => {}
            }
        }
        assert!(settled, "the pool did not settle");
        // A request past its deadline is the driver's to abandon.
        flights.retain(|f| f.2 > now);
    }
}
