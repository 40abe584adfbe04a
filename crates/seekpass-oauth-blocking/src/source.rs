//! The token source: a handle any number of threads share. No background thread: with no usable
//! token the caller that finds work due does it, one at a time, while the others wait for the
//! new token; work that falls due while a token is usable (a refresh) goes to a short-lived
//! thread that ends with it, and every caller keeps getting the still-valid token at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{Config, Event, StoreError, StoreErrorKind, Token, TokenId};
use seekpass_oauth_driver::{
    clock, Engine, Error, Health, Kick, SecretSource, Served, Settings, State,
};

use crate::changes::Changes;
use crate::sender::Sender;
use crate::store::Store;

/// A SEEK Pass token for any number of threads. Cheap to clone; every clone shares one
/// machine, so fifty threads asking at once cause one token request.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    sender: Box<dyn Sender>,
    store: Option<Box<dyn Store>>,
    /// Held by the one thread doing the machine's I/O; never by the hot path.
    io: Mutex<()>,
    /// A short-lived thread is doing work that fell due while a token was usable.
    in_background: AtomicBool,
    /// Bumped after every step and answer; waiting threads sleep on it.
    changes: Changes,
}

/// Configures a [`TokenSource`]: `TokenSource::builder(config)…build(sender)`.
#[must_use = "a builder does nothing until built"]
pub struct Builder {
    config: Config,
    settings: Settings,
    store: Option<Box<dyn Store>>,
}

impl Builder {
    /// Transient failures in a row after which callers get [`Error::GaveUp`] (default 5).
    /// The machine keeps retrying on its back-off while callers keep asking.
    pub fn max_attempts(mut self, attempts: u32) -> Builder {
        self.settings.max_attempts = attempts.max(1);
        self
    }

    /// The longest a caller waits for a token before [`Error::TimedOut`] (default 60 s).
    pub fn max_wait(mut self, wait: Duration) -> Builder {
        self.settings.max_wait = wait;
        self
    }

    /// Called with each of the machine's events, on the thread that drives it: hand them to
    /// `log`, `tracing` or metrics. No event holds a secret.
    pub fn on_event(mut self, handler: impl Fn(&Event) + Send + Sync + 'static) -> Builder {
        self.settings.on_event = Some(Arc::new(handler));
        self
    }

    /// Reads the client secret again from `source` and rotates to it when it changes (the
    /// token is kept; see [`SecretSource`] for when each kind is read): a file or a variable
    /// every [`CHECK_INTERVAL`](crate::CHECK_INTERVAL), any source once more when the token
    /// endpoint answers `invalid_client`, before waiting callers are told. A read that fails
    /// keeps the last good secret and is reported once as
    /// [`Event::SecretUnreadable`](seekpass_oauth::Event::SecretUnreadable). Reads run on
    /// a thread that may block: the caller waiting for a token, or a short-lived refresh thread. Start the configuration from the same source with
    /// [`SecretSource::credentials`].
    pub fn client_secret_source(mut self, source: SecretSource) -> Builder {
        self.settings.secret_source = Some(source);
        self
    }

    /// The store the token is shared through, for a configuration with
    /// [`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share). Without one, such a
    /// configuration fetches on its own, as if the store were down.
    pub fn store(mut self, store: impl Store) -> Builder {
        self.store = Some(Box::new(store));
        self
    }

    /// The source, sending with `sender`. Nothing is sent before the first demand (or at once
    /// with `RefreshMode::Always`, on the first call).
    pub fn build(self, sender: impl Sender) -> TokenSource {
        TokenSource {
            inner: Arc::new(Inner {
                engine: Engine::new(self.config, self.settings),
                sender: Box::new(sender),
                store: self.store,
                io: Mutex::new(()),
                in_background: AtomicBool::new(false),
                changes: Changes::default(),
            }),
        }
    }

    /// The source, sending with ureq (rustls) and the configuration's request deadline.
    #[cfg(feature = "ureq")]
    pub fn build_with_ureq(self) -> TokenSource {
        let sender = crate::UreqSender::new();
        self.build(sender)
    }
}

impl TokenSource {
    /// A builder for a source with `config`.
    pub fn builder(config: Config) -> Builder {
        Builder {
            config,
            settings: Settings::default(),
            store: None,
        }
    }

    /// A source for `config` with the default settings, sending with ureq (rustls).
    #[cfg(feature = "ureq")]
    #[must_use]
    pub fn new(config: Config) -> TokenSource {
        TokenSource::builder(config).build_with_ureq()
    }

    /// The `Authorization` value to send with an API call: `Bearer …`, marked sensitive.
    ///
    /// With a usable token held this takes no lock, allocates nothing and never waits, even
    /// while another thread is refreshing. Otherwise it waits (at most the configured
    /// `max_wait`) for a token, fetching it itself if no other thread is.
    #[inline]
    pub fn authorization(&self) -> Result<HeaderValue, Error> {
        if let Some(authorization) = self.inner.engine.read_authorization() {
            return Ok(authorization);
        }
        self.served().map(|served| served.authorization)
    }

    /// Like [`TokenSource::authorization`], with the token's id to pass to
    /// [`TokenSource::invalidate`] if the API rejects it.
    // Always inlined: out of line, moving the token out of its result stalls on a partly
    // forwarded store (measured with `perf` on the hot-path bench: 2 ns of 53).
    #[inline(always)]
    pub fn served(&self) -> Result<Served, Error> {
        let (served, kick) = self.inner.engine.read();
        match served {
            Some(served) if kick == Kick::No => Ok(served),
            Some(served) => {
                // Work is due (a refresh, say) while the token is usable: a short-lived thread
                // does it, store operations and all, and this caller is served at once.
                Inner::work_in_background(&self.inner);
                Ok(served)
            }
            None => self.inner.wait_for_token(),
        }
    }

    /// The usable token at once, or `None`: never waits. Records demand like
    /// [`TokenSource::authorization`]; when work is due (the first demand with no usable
    /// token, a refresh, the end of a back-off) a short-lived thread does it, so a later call
    /// finds the token. Calls in between start nothing.
    #[must_use]
    pub fn try_served(&self) -> Option<Served> {
        let (served, kick) = self.inner.engine.read();
        if kick == Kick::Yes {
            Inner::work_in_background(&self.inner);
        }
        served
    }

    /// The whole token (its scope, lifetime, times), waiting for one like
    /// [`TokenSource::authorization`].
    pub fn token(&self) -> Result<Token, Error> {
        loop {
            let served = self.served()?;
            // The state is read after the header: a token replaced in between is newer.
            if let Some(token) = self.inner.engine.state().token() {
                if token.id() >= served.token {
                    return Ok(token.clone());
                }
            }
        }
    }

    /// Reports that the API rejected `token` (a 401): it is no longer served and one new
    /// token is fetched, however many threads report it. Returns whether this report was the
    /// one taken. A token fetched to replace a refused one and refused again soon is kept for
    /// a growing hold (see [`TokenClient::invalidate`](seekpass_oauth::TokenClient::invalidate)):
    /// its reports are then not taken, and the caller passes the 401 on.
    pub fn invalidate(&self, token: TokenId) -> bool {
        let taken = self.inner.engine.invalidate(token);
        self.inner.changes.bump();
        taken
    }

    /// Replaces the configuration (rotated credentials, other scopes): the old token is
    /// dropped if what is sent changes, and a give-up is cleared.
    pub fn reconfigure(&self, config: Config) {
        self.inner.engine.reconfigure(config);
        self.inner.changes.bump();
    }

    /// The token's state now.
    #[must_use]
    pub fn state(&self) -> State {
        self.inner.engine.state()
    }

    /// How well the source can serve now, for a readiness probe or an alert: ready (and how
    /// long the token lasts), degraded (still serving, but fetching the next token fails: for how
    /// long, the last error, the next try) or unavailable. Never unavailable while a token is
    /// served. Reads a lock the driver holds only between sends; asks for nothing.
    #[must_use]
    pub fn health(&self) -> Health {
        self.inner.engine.health()
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Steps and sends until the machine has nothing to do before a later moment; returns
    /// that moment. Holding `io` makes this the one thread doing I/O.
    fn drive(&self, io: MutexGuard<'_, ()>) -> Option<Instant> {
        let wake_at = loop {
            let step = self.engine.step();
            if let Some(work) = step.store {
                let result = match &self.store {
                    Some(store) => store.run(&work.command, work.deadline),
                    None => Err(StoreError::new(
                        StoreErrorKind::Unavailable,
                        "the configuration shares its token but the source has no store: give one to the builder",
                    )),
                };
                self.engine.feed_store(work.id, result);
                self.changes.bump();
                continue;
            }
            if let Some(work) = step.secret {
                self.engine.feed_secret(work.run());
                self.changes.bump();
                continue;
            }
            let Some(send) = step.transmit else {
                break step.wake_at;
            };
            let answer = self.sender.send(send.request, send.deadline, send.max_body);
            self.engine.feed(send.id, answer);
            self.changes.bump();
        };
        drop(io);
        self.changes.bump();
        wake_at
    }

    /// Hands the work due to a thread of its own that ends with it, unless one is at it already.
    /// If no thread can be started, the caller does the work itself.
    fn work_in_background(inner: &Arc<Inner>) {
        if inner.in_background.swap(true, Ordering::AcqRel) {
            return;
        }
        let worker = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("seekpass-oauth refresh".into())
            .spawn(move || {
                if let Ok(io) = worker.io.try_lock() {
                    worker.drive(io);
                }
                worker.in_background.store(false, Ordering::Release);
            });
        if spawned.is_err() {
            inner.in_background.store(false, Ordering::Release);
            if let Ok(io) = inner.io.try_lock() {
                inner.drive(io);
            }
        }
    }

    /// No usable token: fetch one (or wait for the thread fetching it), bounded by `max_wait`.
    fn wait_for_token(&self) -> Result<Served, Error> {
        let started = Instant::now();
        let give_up_at = clock::later(started, self.engine.settings().max_wait);
        let _waiting = self.engine.waiting();
        loop {
            let mut seen = self.changes.seen();
            if let Some(served) = self.engine.read().0 {
                return Ok(served);
            }
            if let Some(error) = self.engine.gave_up() {
                return Err(error);
            }
            let now = Instant::now();
            if now >= give_up_at {
                return Err(Error::TimedOut {
                    waited: now.saturating_duration_since(started),
                });
            }
            let io = match self.io.try_lock() {
                Ok(io) => Some(io),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                // Another thread is sending: wait for its answer.
                Err(TryLockError::WouldBlock) => None,
            };
            let wake_at = match io {
                Some(io) => {
                    let wake_at = self.drive(io);
                    seen = self.changes.seen();
                    wake_at
                }
                None => Some(give_up_at),
            };
            if self.engine.read().0.is_some() || self.engine.gave_up().is_some() {
                continue;
            }
            // A back-off is in force (or another thread is sending): sleep until the machine's
            // next moment, an answer, or the end of the wait.
            let until = wake_at.unwrap_or(give_up_at).min(give_up_at);
            self.changes.wait(seen, until);
        }
    }
}
