//! A platform's keyed pool against one simulated token endpoint, on a simulated clock: many
//! institutions with skewed demand (a few hot, many rare), or all of them cold at once. No I/O,
//! no threads. Shared by `examples/pool.rs` and `tests/pool_simulation.rs`.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::time::Duration;

use seekpass_oauth::{PoolLimits, PoolOutput, RequestId, Time, TimingPolicy, TokenPool};

use crate::body::{response, token as token_body};
use crate::pool::{config, config_with};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Platform {
    /// Institutions (keys).
    pub institutions: u32,
    /// The most popular institutions, each asked for about every `hot_every`.
    pub hot: u32,
    pub hot_every: Duration,
    /// The next ones, each asked for about every `warm_every`.
    pub warm: u32,
    pub warm_every: Duration,
    /// Every other institution is asked for about this many times a day, at random moments.
    pub rare_per_day: f64,
    /// `expires_in` of every token issued.
    pub lifetime: Duration,
    /// How long the token endpoint takes to answer.
    pub latency: Duration,
    pub length: Duration,
    pub limits: PoolLimits,
    /// Every institution's timing policy (the configuration's default if `None`).
    pub timing: Option<TimingPolicy>,
    pub seed: u64,
}

impl Platform {
    /// The timing a pool's keys are best given: refreshes due 5 minutes before expiry, spread
    /// over 5 more (the default spreads them from half the lifetime on, to spread a fleet of
    /// replicas; one process's keys are spread by the pool's rate limit instead).
    pub fn pool_timing() -> TimingPolicy {
        TimingPolicy::default()
            .refresh_margin(Duration::from_secs(300))
            .refresh_jitter(Duration::from_secs(300))
    }

    /// 10,000 institutions over 24 hours: 50 hot (every second), 450 warm (every minute), the
    /// rest three times a day; two-hour tokens, 200 ms answers; at most 2,000 entries.
    pub fn default_day() -> Platform {
        Platform {
            institutions: 10_000,
            hot: 50,
            hot_every: Duration::from_secs(1),
            warm: 450,
            warm_every: Duration::from_secs(60),
            rare_per_day: 3.0,
            lifetime: Duration::from_secs(7200),
            latency: Duration::from_millis(200),
            length: Duration::from_secs(24 * 3600),
            limits: PoolLimits::default().max_entries(2_000),
            timing: None,
            seed: 19,
        }
    }
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Token requests sent.
    pub requests: u64,
    /// (institution, token lifetime window) pairs with at least one call: "active key per
    /// lifetime".
    pub active_key_lifetimes: u64,
    /// Calls made, and calls that found a usable token.
    pub calls: u64,
    pub served: u64,
    pub most_entries: usize,
    pub most_in_flight: usize,
    /// The most requests started within any one second.
    pub most_per_second: usize,
    pub evicted: u64,
    /// When the last institution of a cold start got its first token, and the requests sent
    /// by then (later ones are refreshes).
    pub all_served_at: Option<Time>,
    pub requests_to_serve_all: u64,
}

impl Report {
    /// Token requests per active key per token lifetime.
    pub fn requests_per_active_key_lifetime(&self) -> f64 {
        self.requests as f64 / self.active_key_lifetimes.max(1) as f64
    }
}

/// A small deterministic generator (xorshift64*), so runs repeat exactly.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An exponential wait with mean `mean` (a Poisson process's gaps).
    fn gap(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(-(1.0 - self.unit()).ln())
    }
}

/// A call for a key (`None`) or the answer to its request (`Some`), at a time, with a sequence
/// number.
type Due = (Time, u64, u32, Option<RequestId>);

struct Sim {
    pool: TokenPool<u32>,
    now: Time,
    report: Report,
    /// Calls (`None`) and answers to requests (`Some`) still to come, by time; the sequence
    /// number keeps the order stable.
    agenda: BinaryHeap<Reverse<Due>>,
    seq: u64,
    started: Vec<Time>,
    active: BTreeSet<(u32, u64)>,
    /// Institutions still waiting for their first token, in a cold start.
    unserved: Option<BTreeSet<u32>>,
    lifetime: Duration,
    latency: Duration,
    timing: Option<TimingPolicy>,
    made: HashMap<u32, u32>,
}

impl Sim {
    fn new(platform: &Platform) -> Sim {
        Sim {
            pool: TokenPool::new(platform.limits.clone()),
            now: Time::ZERO,
            report: Report::default(),
            agenda: BinaryHeap::new(),
            seq: 0,
            started: Vec::new(),
            active: BTreeSet::new(),
            unserved: None,
            lifetime: platform.lifetime,
            latency: platform.latency,
            timing: platform.timing.clone(),
            made: HashMap::new(),
        }
    }

    fn schedule(&mut self, at: Time, key: u32, answer: Option<RequestId>) {
        self.seq += 1;
        self.agenda.push(Reverse((at, self.seq, key, answer)));
    }

    /// A caller asks for `key`'s token; whether it was served.
    fn call(&mut self, key: u32) -> bool {
        self.report.calls += 1;
        let window = self.now.as_millis() / self.lifetime.as_millis().max(1) as u64;
        self.active.insert((key, window));
        let served = self.pool.token(&key, self.now).token().is_some();
        if served {
            self.report.served += 1;
            self.first_token(key);
        }
        served
    }

    /// `key` has a token: in a cold start, one fewer to wait for.
    fn first_token(&mut self, key: u32) {
        if let Some(unserved) = &mut self.unserved {
            unserved.remove(&key);
            if unserved.is_empty() && self.report.all_served_at.is_none() {
                self.report.all_served_at = Some(self.now);
                self.report.requests_to_serve_all = self.report.requests;
            }
        }
    }

    /// Polls until the pool rests; its next moment.
    fn settle(&mut self) -> Option<Time> {
        loop {
            match self.pool.poll(self.now) {
                PoolOutput::Resolve { key } => {
                    let config = match &self.timing {
                        Some(timing) => config_with(key, timing.clone()),
                        None => config(key),
                    };
                    self.pool.resolved(&key, Some(config), self.now).unwrap();
                }
                PoolOutput::Transmit { key, transmit } => {
                    self.report.requests += 1;
                    self.started.push(self.now);
                    let at = self.now.saturating_add(self.latency);
                    self.schedule(at, key, Some(transmit.id()));
                }
                PoolOutput::Evicted { .. } => self.report.evicted += 1,
                PoolOutput::Timeout(at) => return Some(at),
                PoolOutput::Idle => return None,
                _ => {}
            }
            self.report.most_entries = self.report.most_entries.max(self.pool.len());
            self.report.most_in_flight = self.report.most_in_flight.max(self.pool.in_flight());
        }
    }

    fn answer(&mut self, key: u32, id: RequestId) {
        let n = self.made.entry(key).or_default();
        *n += 1;
        let body = token_body(&format!("tok-{key}-{n}"), self.lifetime.as_secs());
        // An evicted key's answer is refused: the pool counted it until now.
        let taken = self
            .pool
            .handle_response(&key, id, response(200, &body), self.now);
        if taken.is_ok() {
            self.first_token(key);
        }
    }

    /// Runs until `end`: each moment's calls and answers, then the pool. After each call,
    /// `next_call(key, now, served)` says when that key calls again.
    fn run(&mut self, end: Time, mut next_call: impl FnMut(u32, Time, bool) -> Option<Time>) {
        let mut wake = self.settle();
        loop {
            let next = self.agenda.peek().map(|Reverse((at, ..))| *at);
            let at = match (next, wake) {
                (Some(a), Some(w)) => a.min(w),
                (a, w) => match a.or(w) {
                    Some(at) => at,
                    None => break,
                },
            };
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            while let Some(Reverse((at, _, key, answer))) = self.agenda.peek().copied() {
                if at > self.now {
                    break;
                }
                self.agenda.pop();
                match answer {
                    Some(id) => self.answer(key, id),
                    None => {
                        let served = self.call(key);
                        if let Some(next) = next_call(key, self.now, served) {
                            self.schedule(next, key, None);
                        }
                    }
                }
            }
            wake = self.settle();
        }
        self.report.active_key_lifetimes = self.active.len() as u64;
        self.report.most_per_second = most_within_a_second(&self.started);
    }
}

fn most_within_a_second(started: &[Time]) -> usize {
    let mut most = 0;
    let mut first = 0;
    for (i, t) in started.iter().enumerate() {
        while started[first].saturating_add(Duration::from_secs(1)) <= *t {
            first += 1;
        }
        most = most.max(i + 1 - first);
    }
    most
}

/// A day of skewed demand.
pub fn day(platform: &Platform) -> Report {
    let mut sim = Sim::new(platform);
    let mut draw = Draw(platform.seed.max(1));
    let end = Time::ZERO.saturating_add(platform.length);
    let mean = |key: u32| -> Duration {
        if key < platform.hot {
            platform.hot_every
        } else if key < platform.hot + platform.warm {
            platform.warm_every
        } else {
            Duration::from_secs_f64(86_400.0 / platform.rare_per_day)
        }
    };
    for key in 0..platform.institutions {
        let first = Time::ZERO.saturating_add(draw.gap(mean(key)));
        sim.schedule(first, key, None);
    }
    sim.run(end, |key, now, _served| {
        Some(now.saturating_add(draw.gap(mean(key))))
    });
    sim.report
}

/// Every institution asks at once, and again every `retry` until served.
pub fn cold_start(platform: &Platform, retry: Duration) -> Report {
    let mut sim = Sim::new(platform);
    sim.unserved = Some((0..platform.institutions).collect());
    for key in 0..platform.institutions {
        sim.schedule(Time::ZERO, key, None);
    }
    let end = Time::ZERO.saturating_add(platform.length);
    sim.run(end, |_key, now, served| {
        (!served).then(|| now.saturating_add(retry))
    });
    sim.report
}
