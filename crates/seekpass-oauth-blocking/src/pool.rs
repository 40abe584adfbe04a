//! A pool of token sources, one per key (an institution, a tenant), for a platform holding one
//! client credential per institution it serves. No long-lived thread: each request, store
//! operation and resolution runs on a short-lived worker thread that ends when nothing is due,
//! never on a caller's thread, so a slow key never holds up another key's callers.

use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{Config, Event, PoolLimits, StoreError, StoreErrorKind, TokenId};
use seekpass_oauth_driver::{
    clock, Error, Found, Health, Kick, PoolEngine, PoolSettings, PoolStep, Served, State,
};

use crate::changes::Changes;
use crate::sender::Sender;
use crate::store::Store;

/// The caller's resolver: a key's configuration (its credentials, scopes, sharing), or `None`
/// for a key it does not know. Called on a worker thread, once per key until the key is
/// evicted; it may block (a database, a vault).
pub type Resolver<K> = Box<dyn Fn(&K) -> Option<Config> + Send + Sync>;

/// SEEK Pass tokens for many keys, for any number of threads: one token machine per key,
/// created on the key's first call from the configuration the resolver gives, within the
/// bounds of [`PoolLimits`] (entries, idle eviction, requests in flight and per second
/// across keys). Cheap to clone; clones share the pool.
///
/// ```no_run
/// use seekpass_oauth::{Config, Credentials, Endpoint};
/// use seekpass_oauth_blocking::SourcePool;
///
/// let pool = SourcePool::builder(|institution: &u32| {
///     // Look the institution's credentials up where they are kept.
///     let secret = std::env::var(format!("SECRET_{institution}")).ok()?;
///     let credentials = Credentials::new(format!("inst-{institution}"), secret);
///     Config::builder(Endpoint::staging(), credentials).build().ok()
/// })
/// .build_with_ureq();
/// let header = pool.authorization(&42)?;
/// # Ok::<(), seekpass_oauth_blocking::Error>(())
/// ```
pub struct SourcePool<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for SourcePool<K> {
    fn clone(&self) -> SourcePool<K> {
        SourcePool {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<K> {
    engine: PoolEngine<K>,
    resolver: Resolver<K>,
    sender: Box<dyn Sender>,
    store: Option<Box<dyn Store>>,
    /// Worker threads running now.
    workers: AtomicUsize,
    /// Bumped after every answer; waiting callers sleep on it.
    changes: Changes,
}

/// Configures a [`SourcePool`]: `SourcePool::builder(resolver)…build(sender)`.
#[must_use = "a builder does nothing until built"]
pub struct PoolBuilder<K> {
    resolver: Resolver<K>,
    settings: PoolSettings<K>,
    store: Option<Box<dyn Store>>,
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static> PoolBuilder<K> {
    /// The pool's bounds (default [`PoolLimits::default`]).
    pub fn limits(mut self, limits: PoolLimits) -> PoolBuilder<K> {
        self.settings.limits = limits;
        self
    }

    /// Transient failures in a row after which a key's callers get [`Error::GaveUp`]
    /// (default 5).
    pub fn max_attempts(mut self, attempts: u32) -> PoolBuilder<K> {
        self.settings.max_attempts = attempts.max(1);
        self
    }

    /// The longest a caller waits for a key's token before [`Error::TimedOut`] (default 60 s).
    pub fn max_wait(mut self, wait: Duration) -> PoolBuilder<K> {
        self.settings.max_wait = wait;
        self
    }

    /// Called with each key's events, on a worker thread. No event holds a secret.
    pub fn on_event(
        mut self,
        handler: impl Fn(&K, &Event) + Send + Sync + 'static,
    ) -> PoolBuilder<K> {
        self.settings.on_event = Some(Arc::new(handler));
        self
    }

    /// The store every key whose configuration shares its token
    /// ([`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share)) shares it through.
    pub fn store(mut self, store: impl Store) -> PoolBuilder<K> {
        self.store = Some(Box::new(store));
        self
    }

    /// The pool, sending with `sender`.
    pub fn build(self, sender: impl Sender) -> SourcePool<K> {
        SourcePool {
            inner: Arc::new(Inner {
                engine: PoolEngine::new(self.settings),
                resolver: self.resolver,
                sender: Box::new(sender),
                store: self.store,
                workers: AtomicUsize::new(0),
                changes: Changes::default(),
            }),
        }
    }

    /// The pool, sending with ureq (rustls).
    #[cfg(feature = "ureq")]
    pub fn build_with_ureq(self) -> SourcePool<K> {
        self.build(crate::UreqSender::new())
    }
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static> SourcePool<K> {
    /// A builder for a pool whose keys' configurations come from `resolver`.
    pub fn builder(
        resolver: impl Fn(&K) -> Option<Config> + Send + Sync + 'static,
    ) -> PoolBuilder<K> {
        PoolBuilder {
            resolver: Box::new(resolver),
            settings: PoolSettings::default(),
            store: None,
        }
    }

    /// The `Authorization` value for an API call on behalf of `key`: `Bearer …`, marked
    /// sensitive. With a usable token held this reads a lock-free map without the pool's lock
    /// and never waits, and allocates nothing once this thread has read the key's token;
    /// otherwise it waits (at most `max_wait`) for the
    /// key's token. [`Error::UnknownKey`] if the resolver does not know the key.
    #[inline]
    pub fn authorization(&self, key: &K) -> Result<HeaderValue, Error> {
        if let Some(authorization) = self.inner.engine.read_authorization(key) {
            return Ok(authorization);
        }
        self.served(key).map(|served| served.authorization)
    }

    /// Like [`SourcePool::authorization`], with the token's id to pass to
    /// [`SourcePool::invalidate`] if the API rejects it.
    #[inline]
    pub fn served(&self, key: &K) -> Result<Served, Error> {
        let (served, kick) = self.inner.engine.read(key);
        match served {
            Some(served) if kick == Kick::No => Ok(served),
            Some(served) => {
                // A refresh (or another key's work) is due while this token is usable: record
                // the demand and hand the work to a worker; this caller is served at once.
                if self.inner.engine.lookup(key).1 == Kick::Yes {
                    Inner::start_worker(&self.inner);
                }
                Ok(served)
            }
            None => self.wait_for(key),
        }
    }

    /// Reports that the API rejected `key`'s `token` (a 401): it is no longer served and one
    /// new token is fetched, however many threads report it (see
    /// [`TokenClient::invalidate`](seekpass_oauth::TokenClient::invalidate)). Returns whether
    /// this report was the one taken.
    pub fn invalidate(&self, key: &K, token: TokenId) -> bool {
        let taken = self.inner.engine.invalidate(key, token);
        Inner::kick(&self.inner);
        self.inner.changes.bump();
        taken
    }

    /// Drops `key` at once, wiping its secret and token; its next call resolves it again
    /// (after an institution's credentials were revoked, say). Returns whether it was held.
    pub fn forget(&self, key: &K) -> bool {
        self.inner.engine.forget(key)
    }

    /// `key`'s token state (`None` while the key has no token machine).
    #[must_use]
    pub fn state(&self, key: &K) -> Option<State> {
        self.inner.engine.state(key)
    }

    /// How well `key` can be served now (`None` while the key has no token machine).
    #[must_use]
    pub fn health(&self, key: &K) -> Option<Health> {
        self.inner.engine.health(key)
    }

    /// No usable token for `key`: records demand, lets a worker do what is due, and waits for
    /// a change (an answer, a failure) until the token comes or `max_wait` passes.
    fn wait_for(&self, key: &K) -> Result<Served, Error> {
        let started = Instant::now();
        let give_up_at = clock::later(started, self.inner.engine.settings().max_wait);
        loop {
            let seen = self.inner.changes.seen();
            let (found, kick) = self.inner.engine.lookup(key);
            if kick == Kick::Yes {
                Inner::start_worker(&self.inner);
            }
            match found {
                Found::Served(served) => return Ok(served),
                Found::Failed(error) => return Err(error),
                Found::Pending => {}
            }
            let now = Instant::now();
            if now >= give_up_at {
                return Err(Error::TimedOut {
                    waited: now.saturating_duration_since(started),
                });
            }
            // Woken by any answer; a back-off's end is a worker's to notice, so look again
            // at least every second.
            let until = give_up_at.min(clock::later(now, Duration::from_secs(1)));
            self.inner.changes.wait(seen, until);
        }
    }
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static> Inner<K> {
    /// Starts a worker if work is due (see [`Inner::start_worker`]).
    fn kick(inner: &Arc<Inner<K>>) {
        if inner.engine.work_due() {
            Inner::start_worker(inner);
        }
    }

    /// Starts a worker for work a lookup found due, if fewer than the pool's requests in flight
    /// (plus one for resolutions and store work) are running. If no thread can be started, the
    /// caller does the work itself.
    fn start_worker(inner: &Arc<Inner<K>>) {
        let cap = inner
            .engine
            .settings()
            .limits
            .max_in_flight
            .max(1)
            .saturating_add(1);
        let running = inner.workers.fetch_add(1, Ordering::AcqRel);
        if running >= cap {
            inner.workers.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let worker = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("seekpass-oauth pool".into())
            .spawn(move || worker.work());
        if spawned.is_err() {
            inner.work();
        }
    }

    /// Does what is due, one step at a time, until nothing is; then ends (counted out of
    /// `workers`, unless work fell due meanwhile).
    fn work(&self) {
        loop {
            match self.engine.step() {
                PoolStep::Resolve(key) => {
                    let config = (self.resolver)(&key);
                    self.engine.resolved(&key, config);
                }
                PoolStep::Send(key, send) => {
                    let answer = self.sender.send(send.request, send.deadline, send.max_body);
                    self.engine.feed(&key, send.id, answer);
                }
                PoolStep::Store(key, work) => {
                    let result = match &self.store {
                        Some(store) => store.run(&work.command, work.deadline),
                        None => Err(StoreError::new(
                            StoreErrorKind::Unavailable,
                            "the key's configuration shares its token but the pool has no store: give one to the builder",
                        )),
                    };
                    self.engine.feed_store(&key, work.id, result);
                }
                PoolStep::Rest(_) => {
                    self.changes.bump();
                    self.workers.fetch_sub(1, Ordering::AcqRel);
                    // Work that fell due after the last step and before the count went down
                    // found this worker still counted: it is this worker's.
                    if !self.engine.work_due() {
                        return;
                    }
                    self.workers.fetch_add(1, Ordering::AcqRel);
                    continue;
                }
            }
            self.changes.bump();
        }
    }
}

impl<K> std::fmt::Debug for SourcePool<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourcePool")
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}
