//! The token source: a cheap handle for any number of tasks, and the one driver task that
//! does the machine's I/O.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use event_listener::Event as Signal;
use futures_lite::future;
use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{Config, Event, Token, TokenId};
use seekpass_oauth_driver::{
    clock, Engine, Error, Health, Kick, SecretSource, Served, Settings, State,
};

use crate::by_deadline;
use crate::sender::Sender;
use crate::store::Store;
use crate::timer::Timer;

/// A SEEK Pass token for any number of tasks. Cheap to clone (`Send + Sync`); every clone
/// shares one machine and one driver task, so fifty tasks asking at once cause one token
/// request. The driver task ends when the last clone is dropped.
///
/// See the [crate docs](crate) for an example.
#[derive(Clone)]
pub struct TokenSource {
    handle: Arc<Handle>,
}

/// Held by every clone of a source; its drop (the last clone's) stops the driver.
struct Handle {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    timer: Box<dyn Timer>,
    /// Callers → driver: the machine has something to do.
    wake: Signal,
    /// Driver → callers: a step or an answer changed what is served.
    changed: Signal,
    /// Every handle is gone: the driver ends.
    closed: AtomicBool,
    /// The driver future was dropped or finished: waiting is pointless.
    stopped: AtomicBool,
}

/// The driver task: spawn it on your runtime. It ends when the last [`TokenSource`] clone is
/// dropped; if it is dropped first (its runtime shut down), callers get
/// [`Error::DriverStopped`].
#[must_use = "the driver does nothing unless spawned"]
pub struct Driver {
    future: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Driver {
    /// A driver running `future`.
    pub(crate) fn new(future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Driver {
        Driver { future }
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.future.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

/// A caller's wait for the driver, boxed so a ready [`TokenFuture`] or
/// [`PoolFuture`](crate::PoolFuture) stays small.
pub(crate) type Waiting<'a> = Pin<Box<dyn Future<Output = Result<Served, Error>> + Send + 'a>>;

/// The answer of [`TokenSource::authorization`] or [`TokenSource::served`]. Like any future
/// it does nothing until polled: its first poll reads the token, and is ready at once with a
/// usable token held; otherwise it waits for the driver (boxing that wait, so the ready case
/// stays small and allocation-free).
#[must_use = "futures do nothing unless awaited"]
pub struct TokenFuture<'a, T> {
    shared: &'a Shared,
    wait: Option<Waiting<'a>>,
    output: PhantomData<fn() -> T>,
}

/// What a [`TokenFuture`] can answer with: the header value alone, or with the token's id.
pub trait FromServed: private::Sealed {
    /// Takes what it needs.
    fn from_served(served: Served) -> Self;
}

impl FromServed for HeaderValue {
    #[inline]
    fn from_served(served: Served) -> HeaderValue {
        served.authorization
    }
}

impl FromServed for Served {
    #[inline]
    fn from_served(served: Served) -> Served {
        served
    }
}

mod private {
    use seekpass_oauth::http::HeaderValue;
    use std::hash::Hash;

    use seekpass_oauth_driver::{Engine, PoolEngine, Served};

    pub trait Sealed: Sized {
        /// The value at once when nothing else is due, read into the output in place; `None`
        /// sends the future to the engine's full read.
        fn read_ready(engine: &Engine) -> Option<Self>;

        /// [`Sealed::read_ready`] for a pool's `key`.
        fn read_ready_pool<K: Eq + Hash + Clone>(engine: &PoolEngine<K>, key: &K) -> Option<Self>;
    }

    impl Sealed for HeaderValue {
        #[inline]
        fn read_ready(engine: &Engine) -> Option<HeaderValue> {
            engine.read_authorization()
        }

        #[inline]
        fn read_ready_pool<K: Eq + Hash + Clone>(
            engine: &PoolEngine<K>,
            key: &K,
        ) -> Option<HeaderValue> {
            engine.read_authorization(key)
        }
    }

    impl Sealed for Served {
        #[inline]
        fn read_ready(_: &Engine) -> Option<Served> {
            None
        }

        #[inline]
        fn read_ready_pool<K: Eq + Hash + Clone>(_: &PoolEngine<K>, _: &K) -> Option<Served> {
            None
        }
    }
}

impl<T: FromServed> Future for TokenFuture<'_, T> {
    type Output = Result<T, Error>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let shared = self.shared;
        if self.wait.is_none() {
            // Read here, not when the future is made: the served value goes straight into the
            // output (moved through the future, it stalled on partly forwarded stores).
            if let Some(ready) = T::read_ready(&shared.engine) {
                return Poll::Ready(Ok(ready));
            }
            let (served, kick) = shared.engine.read();
            if let Some(served) = served {
                if kick == Kick::Yes {
                    shared.wake.notify(1);
                }
                return Poll::Ready(Ok(T::from_served(served)));
            }
        }
        let wait = self
            .wait
            .get_or_insert_with(|| Box::pin(shared.wait_for_token()));
        wait.as_mut()
            .poll(cx)
            .map(|result| result.map(T::from_served))
    }
}

impl<T> std::fmt::Debug for TokenFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFuture")
            .field("waiting", &self.wait.is_some())
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenSource`].
#[must_use = "a builder does nothing until built"]
pub struct Builder {
    config: Config,
    settings: Settings,
    store: Option<Box<dyn Store>>,
}

impl Builder {
    /// The store the token is shared through, for a configuration with
    /// [`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share). Without one, such a
    /// configuration fetches on its own, as if the store were down.
    pub fn store(mut self, store: impl Store) -> Builder {
        self.store = Some(Box::new(store));
        self
    }

    /// Transient failures in a row after which waiting callers get [`Error::GaveUp`]
    /// (default 5). The machine keeps retrying on its back-off while callers keep asking.
    pub fn max_attempts(mut self, attempts: u32) -> Builder {
        self.settings.max_attempts = attempts.max(1);
        self
    }

    /// The longest a caller waits for a token before [`Error::TimedOut`] (default 60 s).
    pub fn max_wait(mut self, wait: Duration) -> Builder {
        self.settings.max_wait = wait;
        self
    }

    /// Called with each of the machine's events, on the driver task: hand them to `log`,
    /// `tracing` or metrics. No event holds a secret.
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
    /// `blocking`'s thread pool, off the runtime's threads. Start the configuration from the same source with
    /// [`SecretSource::credentials`].
    pub fn client_secret_source(mut self, source: SecretSource) -> Builder {
        self.settings.secret_source = Some(source);
        self
    }

    /// The source and its driver, sending with `sender` and waiting on `timer`. Spawn the
    /// driver on the runtime the timer belongs to.
    pub fn build(self, sender: impl Sender, timer: impl Timer) -> (TokenSource, Driver) {
        let shared = Arc::new(Shared {
            engine: Engine::new(self.config, self.settings),
            timer: Box::new(timer),
            wake: Signal::new(),
            changed: Signal::new(),
            closed: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        let driver = Driver {
            // The guard is made here, not in the task, so even a driver dropped before its first
            // poll tells the callers.
            future: Box::pin(drive(Running(Arc::clone(&shared)), sender, self.store)),
        };
        let source = TokenSource {
            handle: Arc::new(Handle { shared }),
        };
        (source, driver)
    }

    /// The source, with its driver spawned on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    #[cfg(feature = "tokio")]
    pub fn spawn(self, sender: impl Sender) -> TokenSource {
        let (source, driver) = self.build(sender, crate::TokioTimer);
        tokio::spawn(driver);
        source
    }

    /// The source and its driver on async-io's timer, for smol or async-std:
    /// `smol::spawn(driver).detach()` or `async_std::task::spawn(driver)`.
    #[cfg(feature = "smol")]
    pub fn build_smol(self, sender: impl Sender) -> (TokenSource, Driver) {
        self.build(sender, crate::AsyncIoTimer)
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

    /// A source for `config` with the default settings, sending with reqwest (rustls), its
    /// driver task spawned onto the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When reqwest cannot build its client (no TLS roots could be loaded).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    #[cfg(all(feature = "tokio", feature = "reqwest"))]
    pub fn new(config: Config) -> Result<TokenSource, crate::ReqwestSenderError> {
        Ok(TokenSource::builder(config).spawn(crate::ReqwestSender::new()?))
    }

    /// The `Authorization` value to send with an API call: `Bearer …`, marked sensitive.
    ///
    /// With a usable token held the future is ready at once: no lock, no allocation, no wait,
    /// even while the driver is refreshing. Otherwise it waits (at most the configured
    /// `max_wait`) for the driver's answer.
    #[inline]
    pub fn authorization(&self) -> TokenFuture<'_, HeaderValue> {
        self.future()
    }

    /// Like [`TokenSource::authorization`], with the token's id to pass to
    /// [`TokenSource::invalidate`] if the API rejects it.
    #[inline]
    pub fn served(&self) -> TokenFuture<'_, Served> {
        self.future()
    }

    /// A future that reads the cell when first polled.
    #[inline]
    fn future<T: FromServed>(&self) -> TokenFuture<'_, T> {
        TokenFuture {
            shared: &self.handle.shared,
            wait: None,
            output: PhantomData,
        }
    }

    /// The usable token at once, or `None`: never waits. Records demand like
    /// [`TokenSource::authorization`], so the driver fetches one.
    #[must_use]
    pub fn try_served(&self) -> Option<Served> {
        let shared = &self.handle.shared;
        let (served, kick) = shared.engine.read();
        if kick == Kick::Yes {
            shared.wake.notify(1);
        }
        served
    }

    /// The whole token (its scope, lifetime, times), waiting for one like
    /// [`TokenSource::authorization`].
    pub async fn token(&self) -> Result<Token, Error> {
        loop {
            let served = self.served().await?;
            if let Some(token) = self.handle.shared.engine.state().token() {
                if token.id() >= served.token {
                    return Ok(token.clone());
                }
            }
        }
    }

    /// Reports that the API rejected `token` (a 401): it is no longer served and one new
    /// token is fetched, however many tasks report it. Returns whether this report was the
    /// one taken. A token fetched to replace a refused one and refused again soon is kept for
    /// a growing hold (see [`TokenClient::invalidate`](seekpass_oauth::TokenClient::invalidate)):
    /// its reports are then not taken, and the caller passes the 401 on.
    pub fn invalidate(&self, token: TokenId) -> bool {
        let shared = &self.handle.shared;
        let taken = shared.engine.invalidate(token);
        shared.wake.notify(1);
        taken
    }

    /// Replaces the configuration (rotated credentials, other scopes): the old token is
    /// dropped if what is sent changes, and a give-up is cleared.
    pub fn reconfigure(&self, config: Config) {
        let shared = &self.handle.shared;
        shared.engine.reconfigure(config);
        shared.wake.notify(1);
        shared.changed.notify(usize::MAX);
    }

    /// The configured token URL, whose origin [`BearerAuth`](crate::BearerAuth) authorizes
    /// by default.
    #[must_use]
    pub fn token_uri(&self) -> seekpass_oauth::http::Uri {
        self.handle.shared.engine.token_uri()
    }

    /// The token's state now.
    #[must_use]
    pub fn state(&self) -> State {
        self.handle.shared.engine.state()
    }

    /// How well the source can serve now, for a readiness probe or an alert: ready (and how
    /// long the token lasts), degraded (still serving, but fetching the next token fails: for how
    /// long, the last error, the next try) or unavailable. Never unavailable while a token is
    /// served. Reads a lock the driver holds only between sends; asks for nothing.
    #[must_use]
    pub fn health(&self) -> Health {
        self.handle.shared.engine.health()
    }
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("engine", &self.handle.shared.engine)
            .finish_non_exhaustive()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify(usize::MAX);
    }
}

impl Shared {
    /// No usable token: wait for the driver's answer, bounded by `max_wait`.
    async fn wait_for_token(&self) -> Result<Served, Error> {
        let started = Instant::now();
        let mut timeout = self
            .timer
            .sleep_until(clock::later(started, self.engine.settings().max_wait));
        let _waiting = self.engine.waiting();
        loop {
            let changed = self.changed.listen();
            if let Some(served) = self.engine.read().0 {
                return Ok(served);
            }
            if let Some(error) = self.engine.gave_up() {
                return Err(error);
            }
            if self.stopped.load(Ordering::Acquire) {
                return Err(Error::DriverStopped);
            }
            self.wake.notify(1);
            if !by_deadline::changed(changed, &mut timeout).await {
                return Err(Error::TimedOut {
                    waited: started.elapsed(),
                });
            }
        }
    }
}

/// Marks the driver stopped however its future ends, so no caller waits for it in vain.
struct Running(Arc<Shared>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.changed.notify(usize::MAX);
    }
}

/// The driver task: step, send, feed, and sleep until the machine's next moment or a
/// caller's nudge; end when every handle is gone.
async fn drive(running: Running, sender: impl Sender, store: Option<Box<dyn Store>>) {
    let shared = &running.0;
    loop {
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        // Listen before stepping, so a nudge that arrives meanwhile is not lost.
        let wake = shared.wake.listen();
        let step = shared.engine.step();
        shared.changed.notify(usize::MAX);
        if let Some(work) = step.store {
            let missing = "the configuration shares its token but the source has no store: give one to the builder";
            let result =
                by_deadline::run_store(&*shared.timer, store.as_deref(), &work, missing).await;
            shared.engine.feed_store(work.id, result);
            continue;
        }
        if let Some(work) = step.secret {
            let result = blocking::unblock(move || work.run()).await;
            shared.engine.feed_secret(result);
            continue;
        }
        if let Some(outgoing) = step.transmit {
            let id = outgoing.id;
            let answer = by_deadline::send(&*shared.timer, &sender, outgoing).await;
            shared.engine.feed(id, answer);
            continue;
        }
        match step.wake_at {
            Some(at) => {
                let sleep = shared.timer.sleep_until(at);
                future::or(wake, sleep).await;
            }
            None => wake.await,
        }
    }
}
