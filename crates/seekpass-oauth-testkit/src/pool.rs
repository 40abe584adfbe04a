//! A [`TokenPool`] on a fake clock with a resolver and a scripted server, and a token endpoint
//! for the drivers' pools: keys are `u32` institution numbers, each with a client id
//! (`institution-N`) and secret of its own.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{
    Config, Credentials, Endpoint, Event, Eviction, PoolLimits, PoolOutput, RequestBody, RequestId,
    Scope, Share, StoreOp, Time, TimingPolicy, TokenPool, Transmit, TransportError,
};

use crate::body::{response, token as token_body};

/// Key `key`'s configuration: client `institution-{key}`, its own secret, jitter seed 7.
pub fn config(key: u32) -> Config {
    Config::builder(
        Endpoint::staging(),
        Credentials::new(format!("institution-{key}"), secret(key)),
    )
    .scope(Scope::WRITE_EDUCATION)
    .jitter_seed(7)
    .build()
    .unwrap()
}

/// [`config`] with `timing`.
pub fn config_with(key: u32, timing: TimingPolicy) -> Config {
    Config::builder(
        Endpoint::staging(),
        Credentials::new(format!("institution-{key}"), secret(key)),
    )
    .scope(Scope::WRITE_EDUCATION)
    .jitter_seed(7)
    .timing(timing)
    .build()
    .unwrap()
}

/// [`config`], its token shared through the pool's store under keys starting with `prefix`.
pub fn shared_config(key: u32, prefix: &str) -> Config {
    Config::builder(
        Endpoint::staging(),
        Credentials::new(format!("institution-{key}"), secret(key)),
    )
    .scope(Scope::WRITE_EDUCATION)
    .jitter_seed(7)
    .share(Share::new().prefix(prefix))
    .build()
    .unwrap()
}

/// Limits that `keys` keys never reach: all of them held, requested and started at once.
pub fn room_for(keys: u32) -> PoolLimits {
    PoolLimits::default()
        .max_entries(keys as usize)
        .max_in_flight(keys as usize)
        .max_per_second(1_000_000)
}

/// What one of [`config`]'s configurations costs, inline and on the heap, counted by
/// `allocator` over `keys` of them: the base a pool's memory per key is measured beyond.
pub fn config_bytes(allocator: &crate::alloc::CountingAllocator, keys: u32) -> isize {
    let mut configs = Vec::with_capacity(keys as usize);
    let heap = allocator.bytes_kept_by(|| {
        for key in 0..keys {
            configs.push(config(key));
        }
    });
    heap / keys.max(1) as isize + std::mem::size_of::<Config>() as isize
}

/// Key `key`'s client secret.
pub fn secret(key: u32) -> String {
    format!("secret-of-institution-{key}")
}

/// The access token the scripted server issues for key `key`'s `n`th request.
pub fn token(key: u32, n: u32) -> String {
    format!("token-{key}-{n}-{}", "A".repeat(24))
}

/// A pool, its clock, and everything it asked for, tagged by key.
pub struct PoolScenario {
    pub pool: TokenPool<u32>,
    pub now: Time,
    /// Requests emitted and not yet answered, oldest first.
    pub in_flight: Vec<(u32, Transmit)>,
    pub events: Vec<(u32, Event)>,
    pub evicted: Vec<(u32, Eviction)>,
    pub unknown: Vec<u32>,
    pub stores: Vec<(u32, StoreOp)>,
    /// Keys whose configuration was asked for and not yet given.
    pub resolving: Vec<u32>,
    /// How many requests each key has sent.
    pub sent: BTreeMap<u32, u32>,
    pub wake: Option<Time>,
}

impl PoolScenario {
    pub fn new(limits: PoolLimits) -> PoolScenario {
        PoolScenario {
            pool: TokenPool::new(limits),
            now: Time::ZERO,
            in_flight: Vec::new(),
            events: Vec::new(),
            evicted: Vec::new(),
            unknown: Vec::new(),
            stores: Vec::new(),
            resolving: Vec::new(),
            sent: BTreeMap::new(),
            wake: None,
        }
    }

    pub fn at_millis(&mut self, t: u64) -> &mut PoolScenario {
        self.now = Time::from_millis(t);
        self
    }

    /// Polls until Timeout or Idle (a busy loop fails the test); collects what it said.
    pub fn poll(&mut self) -> &mut PoolScenario {
        for _ in 0..100_000 {
            match self.pool.poll(self.now) {
                PoolOutput::Resolve { key } => self.resolving.push(key),
                PoolOutput::Transmit { key, transmit } => {
                    *self.sent.entry(key).or_default() += 1;
                    self.in_flight.push((key, transmit));
                }
                PoolOutput::Store { key, op } => self.stores.push((key, op)),
                PoolOutput::Event { key, event } => self.events.push((key, event)),
                PoolOutput::Evicted { key, reason } => self.evicted.push((key, reason)),
                PoolOutput::Unknown { key } => self.unknown.push(key),
                PoolOutput::Timeout(at) => {
                    assert!(at > self.now, "Timeout({at}) is not after {}", self.now);
                    self.wake = Some(at);
                    return self;
                }
                PoolOutput::Idle => {
                    self.wake = None;
                    return self;
                }
                other => panic!("an output this kit does not know: {other:?}"),
            }
        }
        panic!("poll did not settle: busy loop");
    }

    /// Asks for each key's token (recording demand) and polls.
    pub fn ask(&mut self, keys: impl IntoIterator<Item = u32>) -> &mut PoolScenario {
        for key in keys {
            let _lookup = self.pool.token(&key, self.now);
        }
        self.poll()
    }

    /// Whether `key` has a usable token now (a lookup: records demand).
    pub fn served(&mut self, key: u32) -> bool {
        self.pool.token(&key, self.now).token().is_some()
    }

    /// Gives every key being resolved its configuration ([`config`]) and polls.
    pub fn resolve_all(&mut self) -> &mut PoolScenario {
        for key in std::mem::take(&mut self.resolving) {
            self.pool
                .resolved(&key, Some(config(key)), self.now)
                .unwrap();
        }
        self.poll()
    }

    /// The keys with a request in flight, in the order they were sent.
    pub fn flying(&self) -> Vec<u32> {
        self.in_flight.iter().map(|(key, _)| *key).collect()
    }

    /// Takes `key`'s request in flight.
    pub fn take_request(&mut self, key: u32) -> RequestId {
        let at = self
            .in_flight
            .iter()
            .position(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("no request in flight for key {key}"));
        self.in_flight.remove(at).1.id()
    }

    /// Answers `key`'s request in flight with `status` and `body`, then polls.
    pub fn respond(&mut self, key: u32, status: u16, body: &str) -> &mut PoolScenario {
        let id = self.take_request(key);
        self.pool
            .handle_response(&key, id, response(status, body), self.now)
            .unwrap();
        self.poll()
    }

    /// Answers `key`'s request in flight with its next token, valid `expires_in` seconds.
    pub fn succeed(&mut self, key: u32, expires_in: u64) -> &mut PoolScenario {
        let n = self.sent.get(&key).copied().unwrap_or_default();
        self.respond(key, 200, &token_body(&token(key, n), expires_in))
    }

    /// Answers every request in flight with a token valid `expires_in` seconds.
    pub fn succeed_all(&mut self, expires_in: u64) -> &mut PoolScenario {
        for key in self.flying() {
            self.succeed(key, expires_in);
        }
        self
    }

    /// From nothing to a usable token for each of `keys` (with room in the budget for all).
    pub fn warm(&mut self, keys: impl IntoIterator<Item = u32> + Clone) -> &mut PoolScenario {
        self.ask(keys.clone()).resolve_all().succeed_all(7200);
        for key in keys {
            assert!(self.served(key), "key {key} has a token");
        }
        self.poll()
    }
}

/// The key a token request is for, from its `client_id=institution-N` form field.
pub fn key_of(body: &[u8]) -> Option<u32> {
    form_urlencoded::parse(body)
        .find(|(name, _)| name == "client_id")
        .and_then(|(_, id)| id.strip_prefix("institution-")?.parse().ok())
}

/// How [`PoolEndpoint`] answers a key's request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// A token of `expires_in` seconds, after `after`.
    Token { expires_in: u64, after: Duration },
    /// This status and body at once.
    Status(u16, &'static str),
}

/// A token endpoint for a pool's tests, as a blocking sender: each key's requests answered as
/// `answer(key)` says, with the requests per key and the most in flight at once counted.
#[derive(Clone)]
pub struct PoolEndpoint {
    inner: Arc<EndpointState>,
}

struct EndpointState {
    answer: Box<dyn Fn(u32) -> Answer + Send + Sync>,
    sent: Mutex<BTreeMap<u32, u32>>,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl PoolEndpoint {
    pub fn new(answer: impl Fn(u32) -> Answer + Send + Sync + 'static) -> PoolEndpoint {
        PoolEndpoint {
            inner: Arc::new(EndpointState {
                answer: Box::new(answer),
                sent: Mutex::new(BTreeMap::new()),
                in_flight: AtomicUsize::new(0),
                most: AtomicUsize::new(0),
            }),
        }
    }

    /// Every key gets a two-hour token at once.
    pub fn issuing() -> PoolEndpoint {
        PoolEndpoint::new(|_| Answer::Token {
            expires_in: 7200,
            after: Duration::ZERO,
        })
    }

    /// Answers `request` (blocking for the answer's delay).
    pub fn answer(
        &self,
        request: &Request<RequestBody>,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let (delay, response) = self.start(request);
        std::thread::sleep(delay);
        self.end();
        Ok(response)
    }

    /// Counts `request` as sent and in flight; the delay to wait before answering with the
    /// response, and then to call [`PoolEndpoint::end`] (an async test waits on its timer).
    pub fn start(&self, request: &Request<RequestBody>) -> (Duration, Response<Vec<u8>>) {
        let key = key_of(request.body().as_bytes()).expect("a pool test request");
        let n = {
            let mut sent = self.inner.sent.lock().unwrap();
            let n = sent.entry(key).or_default();
            *n += 1;
            *n
        };
        let now = self.inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.most.fetch_max(now, Ordering::SeqCst);
        match (self.inner.answer)(key) {
            Answer::Token { expires_in, after } => (
                after,
                response(200, &token_body(&token(key, n), expires_in)),
            ),
            Answer::Status(status, body) => (Duration::ZERO, response(status, body)),
        }
    }

    /// A request started with [`PoolEndpoint::start`] is answered.
    pub fn end(&self) {
        self.inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    /// Requests key `key` sent.
    pub fn sent(&self, key: u32) -> u32 {
        self.inner
            .sent
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or_default()
    }

    /// Requests sent in all.
    pub fn total(&self) -> u32 {
        self.inner.sent.lock().unwrap().values().sum()
    }

    /// The most requests in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.inner.most.load(Ordering::SeqCst)
    }
}

/// Keys in the drivers' pool benches.
pub const BENCH_KEYS: u32 = 10_000;

/// The hot keys of the pool benches: the first 100, which a skewed load asks for most.
pub const BENCH_HOT: u32 = 100;

/// Where the next thread starts its walk: threads start far apart, so they do not ask for
/// the same key at the same moment.
static NEXT_START: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// Where this thread is in its walk over the keys.
    static AT: Cell<u32> =
        Cell::new(NEXT_START.fetch_add(BENCH_KEYS / 7 + 1, Ordering::Relaxed) % BENCH_KEYS);
}

/// The next key of this thread's walk over all [`BENCH_KEYS`]: a stride coprime with their
/// number, so every key comes up, and consecutive keys are far apart in memory.
pub fn next_key() -> u32 {
    AT.with(|at| {
        let key = (at.get() + 7_919) % BENCH_KEYS;
        at.set(key);
        key
    })
}

/// The next key of this thread's walk over the [`BENCH_HOT`] keys.
pub fn next_hot_key() -> u32 {
    next_key() % BENCH_HOT
}
