//! The keyed pool the drivers share: the core's [`TokenPool`] behind a mutex, stepped by the
//! driver, and each key's token published for callers in a concurrent map they read without
//! that mutex (`pool/keys.rs`).
//!
//! A driver loops on [`PoolEngine::step`]: it resolves a key with the caller's resolver, sends
//! a request or performs a store operation, feeds the result back, and rests until the moment
//! the step names (or a caller's kick). Callers read [`PoolEngine::read`] (the hot path) and,
//! with no token or a kick, [`PoolEngine::lookup`], which records their demand in the pool.

use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use seekpass_oauth::http::{HeaderValue, Response};
use seekpass_oauth::{
    Config, Event, Lookup, PoolLimits, PoolOutput, RequestId, StoreAnswer, StoreError, StoreId,
    Time, TokenId, TokenPool, TransportError,
};

use crate::cell::{Kick, Served};
use crate::clock::Timeline;
use crate::engine::{Outgoing, Settings, StoreWork};
use crate::error::Error;
use crate::health::Health;
use crate::state::State;

use keys::Keys;

mod keys;
#[cfg(test)]
mod tests;

/// Called with each event of each key, on the thread that steps the pool.
pub type PoolEventHandler<K> = Arc<dyn Fn(&K, &Event) + Send + Sync>;

/// How often the use callers record in the map is reported to the pool, so a key in use is
/// never evicted as idle: keep [`PoolLimits::idle_after`] well above it.
pub const USE_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// What a pool driver is configured with.
pub struct PoolSettings<K> {
    /// The pool's bounds.
    pub limits: PoolLimits,
    /// Transient failures in a row after which a key's callers are turned away.
    pub max_attempts: u32,
    /// The longest a caller waits for a key's token.
    pub max_wait: Duration,
    /// Called with each key's events.
    pub on_event: Option<PoolEventHandler<K>>,
}

impl<K> Default for PoolSettings<K> {
    /// A single source's defaults for giving up and waiting, and the pool's default limits.
    fn default() -> PoolSettings<K> {
        let single = Settings::default();
        PoolSettings {
            limits: PoolLimits::default(),
            max_attempts: single.max_attempts,
            max_wait: single.max_wait,
            on_event: None,
        }
    }
}

/// The next thing a pool driver does, from [`PoolEngine::step`].
#[derive(Debug)]
pub enum PoolStep<K> {
    /// Ask the resolver for this key's configuration and feed it to
    /// [`PoolEngine::resolved`].
    Resolve(K),
    /// Send this key's request and feed the answer to [`PoolEngine::feed`].
    Send(K, Outgoing),
    /// Perform this key's store operation and feed the result to [`PoolEngine::feed_store`].
    Store(K, StoreWork),
    /// Nothing to do before this moment (`None`: until a caller asks or something is fed).
    Rest(Option<Instant>),
}

/// What the slow path found for a key, from [`PoolEngine::lookup`].
#[derive(Debug)]
pub enum Found {
    /// The key's usable token.
    Served(Served),
    /// None yet: the key is being resolved or its token fetched.
    Pending,
    /// The key's callers are turned away.
    Failed(Error),
}

/// The pool shared by a driver and its callers.
pub struct PoolEngine<K> {
    machine: Mutex<TokenPool<K>>,
    keys: Keys<K>,
    timeline: Timeline,
    settings: PoolSettings<K>,
    /// When the use callers recorded is next reported to the pool.
    next_use_report: Mutex<Time>,
}

impl<K: Eq + Hash + Clone> PoolEngine<K> {
    /// An empty pool, created now.
    #[must_use]
    pub fn new(settings: PoolSettings<K>) -> PoolEngine<K> {
        PoolEngine {
            machine: Mutex::new(TokenPool::new(settings.limits.clone())),
            keys: Keys::new(),
            timeline: Timeline::start(),
            settings,
            next_use_report: Mutex::new(Time::ZERO),
        }
    }

    /// The driver's settings.
    #[must_use]
    pub fn settings(&self) -> &PoolSettings<K> {
        &self.settings
    }

    /// Now, on the machine's clock.
    #[must_use]
    pub fn now(&self) -> Time {
        self.timeline.now()
    }

    /// `time` as an `Instant`.
    #[must_use]
    pub fn instant(&self, time: Time) -> Instant {
        self.timeline.instant(time)
    }

    /// The hot path: `key`'s usable token and whether the driver needs a nudge (then call
    /// [`PoolEngine::lookup`]).
    #[inline]
    pub fn read(&self, key: &K) -> (Option<Served>, Kick) {
        self.keys.read(key)
    }

    /// `key`'s `Authorization` value alone, only when [`PoolEngine::read`] would serve it with
    /// no nudge (`None`: take the full read).
    #[inline]
    #[must_use]
    pub fn read_authorization(&self, key: &K) -> Option<HeaderValue> {
        self.keys.read_authorization(key)
    }

    /// The slow path: records demand for `key` in the pool (a new key is resolved, a due
    /// refresh starts) and says what there is to serve, and whether the pool must now be
    /// stepped: new demand can make a request due, or bring the next one forward.
    pub fn lookup(&self, key: &K) -> (Found, Kick) {
        let now = self.now();
        let mut machine = self.machine();
        let found = match machine.token(key, now) {
            Lookup::Token(token) => Some(Served {
                authorization: token.authorization().clone(),
                token: token.id(),
            }),
            Lookup::Unknown => return (Found::Failed(Error::UnknownKey), Kick::No),
            _ => None,
        };
        self.keys.asked(key);
        // The use report counts as work due too: a caller kicked past it must get the pool
        // stepped, or every later call would find it still due and take this slow path.
        let kick = if self.due(&machine, now) {
            Kick::Yes
        } else {
            Kick::No
        };
        drop(machine);
        let found = match found {
            Some(served) => Found::Served(served),
            None => self.keys.gave_up(key).map_or(Found::Pending, Found::Failed),
        };
        (found, kick)
    }

    /// Whether the pool has work due now: a driver with no worker running starts one.
    #[must_use]
    pub fn work_due(&self) -> bool {
        let now = self.now();
        self.due(&self.machine(), now)
    }

    /// Whether the pool has work due at `now`, or the callers' use is due to be reported.
    fn due(&self, machine: &TokenPool<K>, now: Time) -> bool {
        machine.poll_needed(now) || now >= *self.use_report()
    }

    /// Polls the pool until it has something for the driver to do or nothing before a later
    /// moment; delivers events (counting each key's failures) and publishes tokens meanwhile.
    pub fn step(&self) -> PoolStep<K> {
        let now = self.now();
        let mut events = Vec::new();
        let mut machine = self.machine();
        self.report_use(&mut machine, now);
        // `Err(at)`: rest until `at`, the pool's next moment (`None`: none).
        let step: Result<PoolStep<K>, Option<Time>> = loop {
            match machine.poll(now) {
                PoolOutput::Resolve { key } => break Ok(PoolStep::Resolve(key)),
                PoolOutput::Transmit { key, transmit } => {
                    // The request took the key's demand: the next call past the refresh
                    // moment asks again.
                    self.publish(&machine, &key, now);
                    let max_body = machine
                        .config(&key)
                        .map_or(0, |c| c.max_response_body().saturating_add(1));
                    let deadline = self.instant(transmit.deadline());
                    let (id, request) = transmit.into_parts();
                    let outgoing = Outgoing {
                        id,
                        request,
                        deadline,
                        max_body,
                    };
                    break Ok(PoolStep::Send(key, outgoing));
                }
                PoolOutput::Store { key, op } => {
                    let deadline = self.instant(op.deadline());
                    let (id, command) = op.into_parts();
                    let work = StoreWork {
                        id,
                        command,
                        deadline,
                    };
                    break Ok(PoolStep::Store(key, work));
                }
                PoolOutput::Event { key, event } => {
                    self.count(&key, &event, now);
                    self.publish(&machine, &key, now);
                    events.push((key, event));
                }
                PoolOutput::Evicted { key, .. } | PoolOutput::Unknown { key } => {
                    self.keys.remove(&key);
                }
                PoolOutput::Timeout(at) => break Err(Some(at)),
                _ => break Err(None),
            }
        };
        let step = step.unwrap_or_else(|at| {
            // The use report is a moment too: a blocking driver's callers kick it.
            let report = *self.use_report();
            let at = at.map_or(report, |at| at.min(report));
            self.keys.set_wake(Some(at), now);
            PoolStep::Rest(Some(self.instant(at)))
        });
        drop(machine);
        if let Some(handler) = &self.settings.on_event {
            for (key, event) in &events {
                handler(key, event);
            }
        }
        step
    }

    /// Feeds `key`'s configuration from the resolver (`None`: the key is unknown).
    pub fn resolved(&self, key: &K, config: Option<Config>) {
        let now = self.now();
        let mut machine = self.machine();
        // Refused only if the key was evicted or timed out meanwhile: a caller asks again.
        let _refused_if_stale = machine.resolved(key, config, now);
        self.publish(&machine, key, now);
    }

    /// Feeds the answer to `key`'s request `id`.
    pub fn feed(&self, key: &K, id: RequestId, answer: Result<Response<Vec<u8>>, TransportError>) {
        let now = self.now();
        let mut machine = self.machine();
        // Refused if the request is no longer in flight (past its deadline, evicted).
        let _refused_if_stale = match answer {
            Ok(response) => machine.handle_response(key, id, response, now),
            Err(error) => machine.handle_transport_error(key, id, error, now),
        };
        self.publish(&machine, key, now);
    }

    /// Feeds the result of `key`'s store operation `id`.
    pub fn feed_store(&self, key: &K, id: StoreId, result: Result<StoreAnswer, StoreError>) {
        let now = self.now();
        let mut machine = self.machine();
        let _refused_if_stale = machine.handle_store(key, id, result, now);
        self.publish(&machine, key, now);
    }

    /// Reports that the API rejected `key`'s `token`: see
    /// [`TokenClient::invalidate`](seekpass_oauth::TokenClient::invalidate).
    pub fn invalidate(&self, key: &K, token: TokenId) -> bool {
        let now = self.now();
        let mut machine = self.machine();
        let taken = machine.invalidate(key, token, now);
        self.publish(&machine, key, now);
        self.keys.set_wake(Some(now), now);
        taken
    }

    /// Drops `key` at once, wiping its secret and token; a later call resolves it again.
    pub fn forget(&self, key: &K) -> bool {
        let mut machine = self.machine();
        let forgotten = machine.forget(key);
        // Under the pool's lock: a step publishing the key again between the two would lose
        // its record, and its callers would stay on the slow path until the next publish.
        self.keys.remove(key);
        drop(machine);
        forgotten
    }

    /// `key`'s token state (`None` while the key has no machine).
    #[must_use]
    pub fn state(&self, key: &K) -> Option<State> {
        let now = self.now();
        self.machine().state(key, now).map(|s| State::of(&s))
    }

    /// How well `key` can be served now (`None` while the key has no machine).
    #[must_use]
    pub fn health(&self, key: &K) -> Option<Health> {
        let now = self.now();
        let machine = self.machine();
        let state = machine.state(key, now)?;
        let (failing_since, next_moment) = self.keys.failing(key);
        Some(Health::of(&state, failing_since, next_moment, now))
    }

    fn publish(&self, machine: &TokenPool<K>, key: &K, now: Time) {
        let state = machine.state(key, now);
        self.keys
            .publish(key, state.as_ref().and_then(|s| s.token()), now);
    }

    /// Counts `key`'s failures towards giving up; a token ends the count.
    fn count(&self, key: &K, event: &Event, now: Time) {
        match event {
            Event::TokenAcquired { .. } | Event::TokenAdopted { .. } => self.keys.succeeded(key),
            Event::AttemptFailed {
                class,
                error,
                next_attempt,
                ..
            } => self.keys.failed(
                key,
                *class,
                error,
                *next_attempt,
                self.settings.max_attempts,
                now,
            ),
            _ => {}
        }
    }

    /// Every [`USE_REPORT_INTERVAL`], tells the pool which keys callers used meanwhile.
    fn report_use(&self, machine: &mut TokenPool<K>, now: Time) {
        let mut next = self.use_report();
        if now < *next {
            return;
        }
        for key in self.keys.take_used() {
            machine.touch(&key, now);
        }
        *next = now.saturating_add(USE_REPORT_INTERVAL);
    }

    fn machine(&self) -> MutexGuard<'_, TokenPool<K>> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn use_report(&self) -> MutexGuard<'_, Time> {
        self.next_use_report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K> std::fmt::Debug for PoolEngine<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolEngine")
            .field("max_attempts", &self.settings.max_attempts)
            .field("max_wait", &self.settings.max_wait)
            .finish_non_exhaustive()
    }
}
