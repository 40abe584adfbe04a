//! A pool of token sources, one per key (an institution, a tenant), for a platform holding one
//! client credential per institution it serves: cheap handles for any number of tasks, and one
//! driver task for every key, with each key's resolution, request and store operation running
//! concurrently inside it, so a slow key never holds up another.

use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use event_listener::Event as Signal;
use futures_lite::future;
use seekpass_oauth::http::{HeaderValue, Response};
use seekpass_oauth::{
    Config, Event, PoolLimits, RequestId, StoreAnswer, StoreError, StoreId, TokenId, TransportError,
};
use seekpass_oauth_driver::{
    clock, Error, Found, Health, Kick, Outgoing, PoolEngine, PoolSettings, PoolStep, Served, State,
    StoreWork,
};

use crate::by_deadline;
use crate::sender::Sender;
use crate::source::{Driver, FromServed, Waiting};
use crate::store::Store;
use crate::timer::Timer;

/// What a resolver returns: the key's configuration, or `None` for a key it does not know.
pub type ResolveFuture = Pin<Box<dyn Future<Output = Option<Config>> + Send>>;

/// The caller's resolver: a key's configuration, looked up asynchronously (a database, a
/// vault), once per key until the key is evicted.
pub type AsyncResolver<K> = Box<dyn Fn(&K) -> ResolveFuture + Send + Sync>;

/// SEEK Pass tokens for many keys, for any number of tasks: one token machine per key, created
/// on the key's first call from the configuration the resolver gives, within the bounds of
/// [`PoolLimits`], all driven by one task. Cheap to clone; the driver ends when the last clone
/// is dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), seekpass_oauth_async::Error> {
/// use seekpass_oauth::{Config, Credentials, Endpoint};
/// use seekpass_oauth_async::{SourcePool, ReqwestSender};
///
/// let pool = SourcePool::builder(|institution: &u32| {
///     let institution = *institution;
///     async move {
///         // Look the institution's credentials up where they are kept.
///         let secret = std::env::var(format!("SECRET_{institution}")).ok()?;
///         let credentials = Credentials::new(format!("inst-{institution}"), secret);
///         Config::builder(Endpoint::staging(), credentials).build().ok()
///     }
/// })
/// .spawn(ReqwestSender::new().expect("TLS roots"));
/// let header = pool.authorization(&42).await?;
/// # Ok(()) }
/// ```
pub struct SourcePool<K> {
    handle: Arc<Handle<K>>,
}

impl<K> Clone for SourcePool<K> {
    fn clone(&self) -> SourcePool<K> {
        SourcePool {
            handle: Arc::clone(&self.handle),
        }
    }
}

/// Held by every clone of a pool; its drop (the last clone's) stops the driver.
struct Handle<K> {
    shared: Arc<Shared<K>>,
}

struct Shared<K> {
    engine: PoolEngine<K>,
    timer: Box<dyn Timer>,
    /// Callers → driver: the pool has something to do.
    wake: Signal,
    /// Driver → callers: a step or an answer changed what is served.
    changed: Signal,
    closed: AtomicBool,
    stopped: AtomicBool,
}

/// Configures a [`SourcePool`]: `SourcePool::builder(resolver)…build(sender, timer)`.
#[must_use = "a builder does nothing until built"]
pub struct PoolBuilder<K> {
    resolver: AsyncResolver<K>,
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

    /// Called with each key's events, on the driver task. No event holds a secret.
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

    /// The pool and its driver, sending with `sender` and waiting on `timer`. Spawn the
    /// driver on the runtime the timer belongs to.
    pub fn build(self, sender: impl Sender, timer: impl Timer) -> (SourcePool<K>, Driver) {
        let shared = Arc::new(Shared {
            engine: PoolEngine::new(self.settings),
            timer: Box::new(timer),
            wake: Signal::new(),
            changed: Signal::new(),
            closed: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        let running = Running(Arc::clone(&shared));
        let driver = Driver::new(Box::pin(drive(running, sender, self.store, self.resolver)));
        let pool = SourcePool {
            handle: Arc::new(Handle { shared }),
        };
        (pool, driver)
    }

    /// The pool, with its driver spawned on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    #[cfg(feature = "tokio")]
    pub fn spawn(self, sender: impl Sender) -> SourcePool<K> {
        let (pool, driver) = self.build(sender, crate::TokioTimer);
        tokio::spawn(driver);
        pool
    }

    /// The pool and its driver on async-io's timer, for smol or async-std.
    #[cfg(feature = "smol")]
    pub fn build_smol(self, sender: impl Sender) -> (SourcePool<K>, Driver) {
        self.build(sender, crate::AsyncIoTimer)
    }
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static> SourcePool<K> {
    /// A builder for a pool whose keys' configurations come from `resolver`.
    pub fn builder<F, R>(resolver: R) -> PoolBuilder<K>
    where
        R: Fn(&K) -> F + Send + Sync + 'static,
        F: Future<Output = Option<Config>> + Send + 'static,
    {
        PoolBuilder {
            resolver: Box::new(move |key: &K| -> ResolveFuture { Box::pin(resolver(key)) }),
            settings: PoolSettings::default(),
            store: None,
        }
    }

    /// The `Authorization` value for an API call on behalf of `key`: `Bearer …`, marked
    /// sensitive. With a usable token held the future is ready at its first poll, reading a
    /// lock-free map without the pool's lock, and allocating nothing once this thread has read
    /// the key's token; otherwise it waits (at most `max_wait`) for the driver. [`Error::UnknownKey`] if the resolver does not know
    /// the key.
    #[inline]
    pub fn authorization<'a>(&'a self, key: &'a K) -> PoolFuture<'a, K, HeaderValue> {
        self.future(key)
    }

    /// Like [`SourcePool::authorization`], with the token's id to pass to
    /// [`SourcePool::invalidate`] if the API rejects it.
    #[inline]
    pub fn served<'a>(&'a self, key: &'a K) -> PoolFuture<'a, K, Served> {
        self.future(key)
    }

    /// A future that reads `key`'s token when first polled.
    #[inline]
    fn future<'a, T: FromServed>(&'a self, key: &'a K) -> PoolFuture<'a, K, T> {
        PoolFuture {
            shared: &self.handle.shared,
            key,
            wait: None,
            output: PhantomData,
        }
    }

    /// Reports that the API rejected `key`'s `token` (a 401): see
    /// [`TokenClient::invalidate`](seekpass_oauth::TokenClient::invalidate). Returns whether
    /// this report was the one taken.
    pub fn invalidate(&self, key: &K, token: TokenId) -> bool {
        let shared = &self.handle.shared;
        let taken = shared.engine.invalidate(key, token);
        shared.wake.notify(1);
        taken
    }

    /// Drops `key` at once, wiping its secret and token; its next call resolves it again.
    /// Returns whether it was held.
    pub fn forget(&self, key: &K) -> bool {
        self.handle.shared.engine.forget(key)
    }

    /// `key`'s token state (`None` while the key has no token machine).
    #[must_use]
    pub fn state(&self, key: &K) -> Option<State> {
        self.handle.shared.engine.state(key)
    }

    /// How well `key` can be served now (`None` while the key has no token machine).
    #[must_use]
    pub fn health(&self, key: &K) -> Option<Health> {
        self.handle.shared.engine.health(key)
    }
}

/// The answer of [`SourcePool::authorization`] or [`SourcePool::served`]. Like any future it
/// does nothing until polled: its first poll reads the key's token, and is ready at once with
/// a usable token held; otherwise it waits for the driver (boxing that wait, so the ready case
/// stays small and allocation-free), as [`TokenFuture`](crate::TokenFuture) does for one
/// source.
#[must_use = "futures do nothing unless awaited"]
pub struct PoolFuture<'a, K, T> {
    shared: &'a Shared<K>,
    key: &'a K,
    wait: Option<Waiting<'a>>,
    output: PhantomData<fn() -> T>,
}

impl<K: Eq + Hash + Clone + Send + Sync + 'static, T: FromServed> Future for PoolFuture<'_, K, T> {
    type Output = Result<T, Error>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `TokenFuture`'s poll with the key's read and wait. Kept apart, not shared through a
        // function taking the two as closures: that cost a source's ready poll 20 ns.
        let (shared, key) = (self.shared, self.key);
        if self.wait.is_none() {
            if let Some(ready) = T::read_ready_pool(&shared.engine, key) {
                return Poll::Ready(Ok(ready));
            }
            let (served, kick) = shared.engine.read(key);
            if let Some(served) = served {
                if kick == Kick::Yes && shared.engine.lookup(key).1 == Kick::Yes {
                    shared.wake.notify(1);
                }
                return Poll::Ready(Ok(T::from_served(served)));
            }
        }
        let wait = self
            .wait
            .get_or_insert_with(|| Box::pin(shared.wait_for(key)));
        wait.as_mut()
            .poll(cx)
            .map(|result| result.map(T::from_served))
    }
}

impl<K, T> std::fmt::Debug for PoolFuture<'_, K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolFuture")
            .field("waiting", &self.wait.is_some())
            .finish_non_exhaustive()
    }
}

impl<K> std::fmt::Debug for SourcePool<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourcePool")
            .field("engine", &self.handle.shared.engine)
            .finish_non_exhaustive()
    }
}

impl<K> Drop for Handle<K> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify(usize::MAX);
    }
}

impl<K: Eq + Hash + Clone> Shared<K> {
    /// No usable token for `key`: record demand, nudge the driver, and wait for a change until
    /// the token comes, the key's callers are turned away, or `max_wait` passes.
    async fn wait_for(&self, key: &K) -> Result<Served, Error> {
        let started = Instant::now();
        let mut timeout = self
            .timer
            .sleep_until(clock::later(started, self.engine.settings().max_wait));
        loop {
            let changed = self.changed.listen();
            let (found, kick) = self.engine.lookup(key);
            if kick == Kick::Yes {
                self.wake.notify(1);
            }
            match found {
                Found::Served(served) => return Ok(served),
                Found::Failed(error) => return Err(error),
                Found::Pending => {}
            }
            if self.stopped.load(Ordering::Acquire) {
                return Err(Error::DriverStopped);
            }
            if !by_deadline::changed(changed, &mut timeout).await {
                return Err(Error::TimedOut {
                    waited: started.elapsed(),
                });
            }
        }
    }
}

/// Marks the driver stopped however its future ends, so no caller waits for it in vain.
struct Running<K>(Arc<Shared<K>>);

impl<K> Drop for Running<K> {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.changed.notify(usize::MAX);
    }
}

/// A piece of work the driver runs concurrently with the others, and what it ended with.
type Work<'a, K> = Pin<Box<dyn Future<Output = Done<K>> + Send + 'a>>;

enum Done<K> {
    /// Boxed: a configuration is large, and every other piece's result moves through here.
    Resolved(K, Option<Box<Config>>),
    Sent(K, RequestId, Result<Response<Vec<u8>>, TransportError>),
    Stored(K, StoreId, Result<StoreAnswer, StoreError>),
}

/// The driver task: step the pool, start each piece of work it names, and wait for the first
/// of: a piece finishing, a caller's nudge, the pool's next moment; end when every handle is
/// gone.
async fn drive<K: Eq + Hash + Clone + Send + Sync + 'static>(
    running: Running<K>,
    sender: impl Sender,
    store: Option<Box<dyn Store>>,
    resolver: AsyncResolver<K>,
) {
    let shared = &*running.0;
    let (sender, store) = (&sender, store.as_deref());
    let mut working: Vec<Work<'_, K>> = Vec::new();
    loop {
        if shared.closed.load(Ordering::Acquire) {
            return;
        }
        // Listen before stepping, so a nudge that arrives meanwhile is not lost.
        let wake = shared.wake.listen();
        let rest = loop {
            match shared.engine.step() {
                PoolStep::Resolve(key) => {
                    let resolving = resolver(&key);
                    working.push(Box::pin(async move {
                        let config = resolving.await;
                        Done::Resolved(key, config.map(Box::new))
                    }));
                }
                PoolStep::Send(key, outgoing) => {
                    working.push(Box::pin(send(shared, sender, key, outgoing)));
                }
                PoolStep::Store(key, work) => {
                    working.push(Box::pin(run_store(shared, store, key, work)));
                }
                PoolStep::Rest(at) => break at,
            }
        };
        shared.changed.notify(usize::MAX);
        let sleep = async {
            match rest {
                Some(at) => shared.timer.sleep_until(at).await,
                None => future::pending().await,
            }
            None
        };
        let woken = async {
            wake.await;
            None
        };
        let finished = async { Some(NextDone(&mut working).await) };
        match future::or(finished, future::or(woken, sleep)).await {
            Some(Done::Resolved(key, config)) => shared.engine.resolved(&key, config.map(|c| *c)),
            Some(Done::Sent(key, id, answer)) => shared.engine.feed(&key, id, answer),
            Some(Done::Stored(key, id, result)) => shared.engine.feed_store(&key, id, result),
            None => {}
        }
    }
}

async fn send<K>(shared: &Shared<K>, sender: &impl Sender, key: K, outgoing: Outgoing) -> Done<K> {
    let id = outgoing.id;
    let answer = by_deadline::send(&*shared.timer, sender, outgoing).await;
    Done::Sent(key, id, answer)
}

async fn run_store<K>(
    shared: &Shared<K>,
    store: Option<&dyn Store>,
    key: K,
    work: StoreWork,
) -> Done<K> {
    let missing = "the key's configuration shares its token but the pool has no store: give one to the builder";
    let result = by_deadline::run_store(&*shared.timer, store, &work, missing).await;
    Done::Stored(key, work.id, result)
}

/// The first piece of work to finish, taken out of the list; pending while the list is empty.
/// Every piece is polled until one is ready, so each has registered its waker.
struct NextDone<'w, 'a, K>(&'w mut Vec<Work<'a, K>>);

impl<K> Future for NextDone<'_, '_, K> {
    type Output = Done<K>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Done<K>> {
        let working = &mut *self.get_mut().0;
        let ready =
            working
                .iter_mut()
                .enumerate()
                .find_map(|(i, work)| match work.as_mut().poll(cx) {
                    Poll::Ready(done) => Some((i, done)),
                    Poll::Pending => None,
                });
        match ready {
            Some((i, done)) => {
                drop(working.swap_remove(i));
                Poll::Ready(done)
            }
            None => Poll::Pending,
        }
    }
}
