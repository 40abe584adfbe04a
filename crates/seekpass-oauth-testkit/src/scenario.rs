//! A fake clock, a scripted server and a scripted store, so each scenario is one screen long:
//! `Scenario::shared()` reaches any phase of the sharing protocol in a line
//! ([`Scenario::to_waiting`], [`Scenario::to_fetching_under_lock`]).

use std::collections::VecDeque;
use std::time::Duration;

use seekpass_oauth::http::{Request, StatusCode};

pub use crate::body::{response, token as token_body};
use seekpass_oauth::{
    Config, ConfigBuilder, Credentials, Endpoint, Event, Output, RequestBody, RequestId, Scope,
    Share, StoreAnswer, StoreError, StoreOp, Time, Token, TokenClient, TokenState,
};

use crate::memory_store::MemoryStore;

pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "demo-secret-Zq9";

/// The configuration most scenarios use: staging, one scope, jitter seed 7.
pub fn builder() -> ConfigBuilder {
    Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
        .scope(Scope::WRITE_EDUCATION)
        .jitter_seed(7)
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A machine on a fake clock, with everything it said recorded.
pub struct Scenario {
    pub client: TokenClient,
    pub now: Time,
    pub events: Vec<Event>,
    pub sent: Vec<(RequestId, Request<RequestBody>)>,
    pub wake: Option<Time>,
    /// Store operations emitted and not yet answered, oldest first.
    pub store_ops: VecDeque<StoreOp>,
    next_token: u32,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario::new()
    }
}

impl Scenario {
    /// A scenario with [`builder`]'s configuration, at time zero.
    pub fn new() -> Scenario {
        Scenario::with(builder())
    }

    pub fn with(builder: ConfigBuilder) -> Scenario {
        Scenario::with_config(builder.build().unwrap())
    }

    pub fn with_config(config: Config) -> Scenario {
        Scenario {
            client: TokenClient::new(config, Time::ZERO),
            now: Time::ZERO,
            events: Vec::new(),
            sent: Vec::new(),
            wake: None,
            store_ops: VecDeque::new(),
            next_token: 0,
        }
    }

    /// Moves the fake clock to `t` seconds (may go backwards, like a bad clock).
    pub fn at_secs(&mut self, t: u64) -> &mut Scenario {
        self.now = Time::from_secs(t);
        self
    }

    pub fn at_millis(&mut self, t: u64) -> &mut Scenario {
        self.now = Time::from_millis(t);
        self
    }

    pub fn advance(&mut self, d: Duration) -> &mut Scenario {
        self.now = self.now.saturating_add(d);
        self
    }

    /// Asks for a token (the hot path), returning a copy of it if usable.
    pub fn demand(&mut self) -> Option<Token> {
        self.client.token(self.now).cloned()
    }

    pub fn state(&self) -> TokenState<'_> {
        self.client.state(self.now)
    }

    pub fn state_name(&self) -> &'static str {
        self.state().name()
    }

    /// Polls until Timeout or Idle (bounded: a busy loop fails the test). Returns the ids of the
    /// requests emitted.
    pub fn poll(&mut self) -> Vec<RequestId> {
        let mut ids = Vec::new();
        for _ in 0..1000 {
            match self.client.poll(self.now) {
                Output::Transmit(t) => {
                    let (id, request) = t.into_parts();
                    ids.push(id);
                    self.sent.push((id, request));
                }
                Output::Event(e) => self.events.push(e),
                Output::Store(op) => self.store_ops.push_back(op),
                Output::Timeout(at) => {
                    assert!(
                        at > self.now,
                        "Timeout({at}) is not after now ({})",
                        self.now
                    );
                    self.wake = Some(at);
                    return ids;
                }
                Output::Idle => {
                    self.wake = None;
                    return ids;
                }
            }
        }
        panic!("poll did not settle: busy loop");
    }

    /// Polls and expects exactly one request.
    pub fn expect_request(&mut self) -> RequestId {
        let ids = self.poll();
        assert_eq!(ids.len(), 1, "expected one request, got {ids:?}");
        ids[0]
    }

    pub fn expect_no_request(&mut self) {
        let ids = self.poll();
        assert!(ids.is_empty(), "expected no request, got {ids:?}");
    }

    /// Answers request `id` with `status` and `body`, then polls.
    pub fn respond(&mut self, id: RequestId, status: u16, body: &str) -> &mut Scenario {
        self.client
            .handle_response(id, response(status, body), self.now)
            .expect("response accepted");
        let ids = self.poll();
        assert!(ids.is_empty(), "a request right after an answer: {ids:?}");
        self
    }

    /// Asks for a token and answers the request that follows with `status` and `body`.
    pub fn answer_first(&mut self, status: u16, body: &str) -> &mut Scenario {
        self.demand();
        let id = self.expect_request();
        self.respond(id, status, body)
    }

    /// Answers request `id` with a fresh token of `expires_in` seconds; returns the token text.
    pub fn succeed(&mut self, id: RequestId, expires_in: u64) -> String {
        self.next_token += 1;
        let token = format!("tok{}-{}", self.next_token, "A".repeat(40));
        self.respond(id, 200, &token_body(&token, expires_in));
        token
    }

    /// From nothing to a fresh token of `expires_in` seconds fetched at the current time. The
    /// token has not been asked for since it arrived.
    pub fn drive_to_fresh(&mut self, expires_in: u64) -> Token {
        assert!(self.demand().is_none());
        let id = self.expect_request();
        self.succeed(id, expires_in);
        let token = self.state().token().expect("fresh token").clone();
        assert_eq!(self.state_name(), "fresh");
        token
    }

    /// From nothing to a fresh, used token of `expires_in` seconds whose refresh, at its due
    /// moment, was answered 503. Returns the token (still served).
    pub fn drive_to_failed_refresh(&mut self, expires_in: u64) -> Token {
        let token = self.drive_to_fresh(expires_in);
        self.demand();
        self.now = token.refresh_at();
        let id = self.expect_request();
        self.respond(id, 503, "");
        token
    }

    /// Reconfigures with [`builder`]'s configuration and `secret`: a rotation, nothing else
    /// changed.
    pub fn rotate_secret(&mut self, secret: &str) -> &mut Scenario {
        let rotated = builder()
            .credentials(Credentials::new(CLIENT_ID, secret))
            .build()
            .unwrap();
        self.client.reconfigure(rotated, self.now);
        self
    }

    /// The form body of the last request sent.
    pub fn last_body(&self) -> String {
        let (_, request) = self.sent.last().expect("a request was sent");
        String::from_utf8(request.body().to_vec()).unwrap()
    }

    /// Runs the clock forward to the next wake-up and polls there.
    pub fn sleep_until_wake(&mut self) -> Vec<RequestId> {
        let at = self.wake.expect("a wake-up time");
        self.now = at;
        self.poll()
    }

    /// The events recorded so far, and forgets them.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn failures(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::AttemptFailed { .. }))
            .collect()
    }

    pub fn last_failure_next_attempt(&self) -> Time {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::AttemptFailed { next_attempt, .. } => Some(*next_attempt),
                _ => None,
            })
            .expect("a failure")
    }

    pub fn last_status(&self) -> Option<StatusCode> {
        self.events.iter().rev().find_map(|e| match e {
            Event::AttemptFailed { status, .. } => Some(*status),
            _ => None,
        })?
    }
}

/// Sharing through a store.
impl Scenario {
    /// A scenario whose configuration shares its token through a store with the default
    /// [`Share`] settings.
    pub fn shared() -> Scenario {
        Scenario::shared_replica(7)
    }

    /// Replica `n` of a fleet sharing its token: [`Scenario::shared`] with jitter seed `n`, so
    /// replicas draw their own refresh moments and lock owner marks.
    pub fn shared_replica(n: u64) -> Scenario {
        Scenario::with(builder().share(Share::new()).jitter_seed(n))
    }

    /// Polls and expects exactly one store operation, named `name` (`"read"`, `"lock"`,
    /// `"write"`, `"unlock"`, `"forget"`); returns it.
    pub fn expect_store(&mut self, name: &str) -> StoreOp {
        if self.store_ops.is_empty() {
            let ids = self.poll();
            assert!(ids.is_empty(), "a request before the store: {ids:?}");
        }
        let op = self
            .store_ops
            .pop_front()
            .unwrap_or_else(|| panic!("expected a store {name}, got none"));
        assert_eq!(op.command().name(), name, "{op:?}");
        op
    }

    /// Polls and expects no store operation.
    pub fn expect_no_store(&mut self) {
        self.poll();
        assert!(self.store_ops.is_empty(), "{:?}", self.store_ops);
    }

    /// Feeds `result` for store operation `op` (without polling: the next `expect_…` does).
    pub fn answer_store(
        &mut self,
        op: &StoreOp,
        result: Result<StoreAnswer, StoreError>,
    ) -> &mut Scenario {
        self.client
            .handle_store(op.id(), result, self.now)
            .expect("store answer accepted");
        self
    }

    /// Expects a store operation named `name` and answers it with `answer`.
    pub fn store_answers(&mut self, name: &str, answer: StoreAnswer) -> &mut Scenario {
        let op = self.expect_store(name);
        self.answer_store(&op, Ok(answer))
    }

    /// From a cold start with a token asked for: the read misses, the lock is another
    /// replica's. The machine now waits for that replica's token.
    pub fn to_waiting(&mut self) -> &mut Scenario {
        assert!(self.demand().is_none());
        self.store_answers("read", StoreAnswer::Missing)
            .store_answers("lock", StoreAnswer::Refused)
    }

    /// From a cold start with a token asked for: the read misses, the lock is taken, the read
    /// again misses; returns the token request then emitted under the lock.
    pub fn to_fetching_under_lock(&mut self) -> RequestId {
        assert!(self.demand().is_none());
        self.store_answers("read", StoreAnswer::Missing)
            .store_answers("lock", StoreAnswer::Done)
            .store_answers("read", StoreAnswer::Missing)
            .expect_request()
    }

    /// Performs every store operation on `store` and answers every token request with
    /// `answer`, until the machine settles; returns the names of the store commands performed,
    /// in order.
    pub fn settle_with(
        &mut self,
        store: &mut MemoryStore,
        answer: impl Fn() -> seekpass_oauth::http::Response<Vec<u8>>,
    ) -> Vec<&'static str> {
        let mut performed = Vec::new();
        for _ in 0..1000 {
            let ids = self.poll();
            for id in &ids {
                self.client
                    .handle_response(*id, answer(), self.now)
                    .expect("response accepted");
            }
            let Some(op) = self.store_ops.pop_front() else {
                if ids.is_empty() {
                    return performed;
                }
                continue;
            };
            performed.push(op.command().name());
            let result = store.apply(op.command(), self.now);
            self.client
                .handle_store(op.id(), Ok(result), self.now)
                .expect("store answer accepted");
        }
        panic!("the machine and the store did not settle");
    }

    /// Asks for a token, settles with `store` and `answer`, and steps the clock by `step` until
    /// a token is usable or `limit` has passed; returns the token.
    pub fn run_until_token(
        &mut self,
        store: &mut MemoryStore,
        answer: impl Fn() -> seekpass_oauth::http::Response<Vec<u8>>,
        step: Duration,
        limit: Duration,
    ) -> Option<Token> {
        let until = self.now.saturating_add(limit);
        loop {
            if let Some(token) = self.demand() {
                return Some(token);
            }
            self.settle_with(store, &answer);
            if self.state().token().is_some() {
                continue;
            }
            if self.now >= until {
                return None;
            }
            self.advance(step);
        }
    }
}
