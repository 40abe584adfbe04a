//! What a caller would write by hand instead of a driver, for the drivers' hot-path benchmarks
//! to be measured against in the same run. Both read the same clocks as the drivers (the
//! coarse monotonic and wall clocks on Linux, so a suspend counts, as it must for a
//! hand-written cache too) and clone only the `Authorization` value, so a comparison measures
//! the design, not the clock or an allocation.

use std::sync::{Mutex, RwLock};

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use seekpass_oauth::http::{HeaderValue, Request, Response};
use seekpass_oauth::{Config, Output, RequestBody, Time, TokenClient};

use seekpass_oauth_driver::clock::{self, Reading};

use crate::load::{cores, on_threads};

/// Benchmarks `call` twice in `group`: as `{prefix}one_thread` on the benchmark's thread, and as
/// `{prefix}every_core` on every core at once (the time per call each thread sees while the
/// others call too). `call` should `black_box` what it computes.
pub fn one_thread_and_every_core<F>(group: &mut BenchmarkGroup<'_, WallTime>, prefix: &str, call: F)
where
    F: Fn() + Clone + Send + Sync + 'static,
{
    let one = call.clone();
    group.bench_function(format!("{prefix}one_thread"), move |b| b.iter(&one));
    group.bench_function(format!("{prefix}every_core"), move |b| {
        b.iter_custom(|iters| on_threads(cores(), iters, call.clone()))
    });
}

/// Now, as a [`Time`] on the drivers' hot-path clocks: the time since the first call by
/// whichever clock moved further, so a suspend counts.
#[must_use]
pub fn now() -> Time {
    static START: std::sync::OnceLock<Reading> = std::sync::OnceLock::new();
    let start = *START.get_or_init(clock::now);
    let millis = clock::now().since(start).as_millis();
    Time::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// The token machine behind a mutex: every call locks it, asks for the token and clones its
/// `Authorization` value.
pub struct MutexBaseline(Mutex<TokenClient>);

impl MutexBaseline {
    /// A machine for `config` driven to its first token with `send`.
    ///
    /// # Panics
    ///
    /// When `send` gives no answer the machine takes, or no token comes of it.
    pub fn new(
        config: Config,
        mut send: impl FnMut(Request<RequestBody>) -> Response<Vec<u8>>,
    ) -> MutexBaseline {
        let mut machine = TokenClient::new(config, now());
        for _ in 0..100 {
            if machine.token(now()).is_some() {
                return MutexBaseline(Mutex::new(machine));
            }
            if let Output::Transmit(transmit) = machine.poll(now()) {
                let (id, request) = transmit.into_parts();
                machine
                    .handle_response(id, send(request), now())
                    .expect("the answer is taken");
            }
        }
        panic!("no token after 100 polls");
    }

    /// The `Authorization` value, as the hot path would get it.
    ///
    /// # Panics
    ///
    /// When the token is no longer usable (a benchmark outlived it).
    pub fn authorization(&self) -> HeaderValue {
        let mut machine = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        machine
            .authorization(now())
            .cloned()
            .expect("a usable token")
    }

    /// The same token's value and the end of its serving time, for an [`RwLockBaseline`].
    pub fn snapshot(&self) -> (HeaderValue, Time) {
        let mut machine = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let token = machine.token(now()).expect("a usable token");
        (token.authorization().clone(), token.serve_until())
    }
}

/// The `Authorization` value and its serving deadline behind a read-write lock: every call
/// takes the read lock, checks the deadline and clones the value.
pub struct RwLockBaseline(RwLock<(HeaderValue, Time)>);

impl RwLockBaseline {
    /// Holds `value`, served until `serve_until`.
    #[must_use]
    pub fn new((value, serve_until): (HeaderValue, Time)) -> RwLockBaseline {
        RwLockBaseline(RwLock::new((value, serve_until)))
    }

    /// The `Authorization` value while it is served.
    ///
    /// # Panics
    ///
    /// When the value is no longer served (a benchmark outlived it).
    pub fn authorization(&self) -> HeaderValue {
        let held = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(now() < held.1, "the token is no longer served");
        held.0.clone()
    }
}
