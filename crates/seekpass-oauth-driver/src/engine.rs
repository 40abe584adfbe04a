//! The machine behind a mutex, as every driver runs it: each step transfers the callers'
//! demand, polls the machine, delivers its events, counts failures towards giving up and
//! publishes the usable token to the [`TokenCell`]. A driver adds only the I/O: sending the
//! request a step returns, and waiting until the moment it names.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use seekpass_oauth::http::{HeaderValue, Request, Response};
use seekpass_oauth::{
    Config, ErrorCode, Event, FailureClass, Output, RequestBody, RequestId, StoreAnswer,
    StoreCommand, StoreError, StoreId, Time, TokenClient, TokenId, TransportError,
};

use crate::cell::{Kick, Served, TokenCell, Wake};
use crate::clock::Timeline;
use crate::error::Error;
use crate::health::Health;
use crate::secret_source::SecretSource;

use crate::state::State;
use crate::telemetry::{Reason, Telemetry};
pub use secret::SecretWork;
use secret::{with_secret, SecretWatch};

/// Called with each of the machine's events, on the thread or task that drives it.
pub type EventHandler = Arc<dyn Fn(&Event) + Send + Sync>;

/// How a driver behaves, beyond the machine's own configuration.
#[derive(Clone)]
pub struct Settings {
    /// Transient failures in a row after which waiting callers get the error.
    pub max_attempts: u32,
    /// The longest a caller waits for a token before [`Error::TimedOut`].
    pub max_wait: Duration,
    /// Receives every event.
    pub on_event: Option<EventHandler>,
    /// Where the client secret is read again from (see [`SecretSource`]); it replaces the
    /// configuration's secret whenever it changes.
    pub secret_source: Option<SecretSource>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_attempts: 5,
            max_wait: Duration::from_secs(60),
            on_event: None,
            secret_source: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("max_attempts", &self.max_attempts)
            .field("max_wait", &self.max_wait)
            .field("on_event", &self.on_event.as_ref().map(|_| "Fn(&Event)"))
            .field("secret_source", &self.secret_source)
            .finish()
    }
}

/// A request to send now; feed its answer with [`Engine::feed`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Outgoing {
    /// Names the answer when it is fed.
    pub id: RequestId,
    /// The token request.
    pub request: Request<RequestBody>,
    /// Past this the machine counts the request as failed: give up on the answer then.
    pub deadline: Instant,
    /// Read at most this many bytes of the body (one more tells the machine it was too long).
    pub max_body: usize,
}

/// A store operation to perform now; feed its result with [`Engine::feed_store`].
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreWork {
    /// Names the result when it is fed.
    pub id: StoreId,
    /// What to do on the store.
    pub command: StoreCommand,
    /// Past this the machine counts the operation as failed: give up on it then.
    pub deadline: Instant,
}

/// What a step leaves the driver to do: at most one of `transmit`, `store` and `secret`.
#[derive(Debug)]
#[must_use = "a request to send, a store operation to perform, or a moment to wait for"]
pub struct Step {
    /// A request to send now.
    pub transmit: Option<Outgoing>,
    /// A store operation to perform now (only with [`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share)).
    pub store: Option<StoreWork>,
    /// A read of the secret source to perform now (only with [`Settings::secret_source`]).
    pub secret: Option<SecretWork>,
    /// When to step again at the latest (`None`: only when a caller asks).
    pub wake_at: Option<Instant>,
}

impl Step {
    /// A step that only reads the secret source.
    fn reading(work: SecretWork) -> Step {
        Step {
            transmit: None,
            store: None,
            secret: Some(work),
            wake_at: None,
        }
    }
}

/// Failures counted towards giving up.
#[derive(Default)]
struct Attempts {
    transient_in_a_row: u32,
    gave_up: Option<Error>,
    /// The first failure since the last token (for [`Health`]).
    failing_since: Option<Time>,
    /// The machine's next moment when it last had nothing to send: the next attempt, while
    /// attempts fail.
    next_moment: Option<Time>,
}

/// The machine shared by a driver and its callers.
pub struct Engine {
    machine: Mutex<TokenClient>,
    timeline: Timeline,
    cell: TokenCell,
    attempts: Mutex<Attempts>,
    secret: Mutex<SecretWatch>,
    telemetry: Telemetry,
    settings: Settings,
    /// Callers waiting for a token: demand that lasts until they are served or give up, so a
    /// retry after a failed attempt is scheduled for them.
    waiting: AtomicUsize,
}

/// A caller waiting for a token, from [`Engine::waiting`]; dropped when it stops waiting.
#[derive(Debug)]
#[must_use = "the caller counts as waiting only while this is held"]
pub struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Engine {
    /// A machine for `config`, created now.
    #[must_use]
    pub fn new(config: Config, settings: Settings) -> Engine {
        let timeline = Timeline::start();
        Engine {
            machine: Mutex::new(TokenClient::new(config, timeline.now())),
            timeline,
            cell: TokenCell::new(),
            attempts: Mutex::new(Attempts::default()),
            secret: Mutex::new(SecretWatch::default()),
            telemetry: Telemetry::default(),
            settings,
            waiting: AtomicUsize::new(0),
        }
    }

    /// The driver's settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Now, on the machine's clock: it counts time the host spent suspended ([`Timeline`]).
    #[inline]
    #[must_use]
    pub fn now(&self) -> Time {
        self.timeline.now()
    }

    /// `time` as an `Instant`, for a timer or a deadline (saturating far in the future).
    #[must_use]
    pub fn instant(&self, time: Time) -> Instant {
        self.timeline.instant(time)
    }

    /// The hot path: the usable token and whether the driver needs a nudge.
    #[inline]
    pub fn read(&self) -> (Option<Served>, Kick) {
        self.cell.read()
    }

    /// The hot path for the header value alone (see [`TokenCell::read_authorization`]).
    #[inline]
    pub fn read_authorization(&self) -> Option<HeaderValue> {
        self.cell.read_authorization()
    }

    /// Counts the caller as waiting for a token until the guard is dropped: while anyone waits,
    /// every step counts as demand, so failed attempts are retried for them.
    pub fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        Waiting(&self.waiting)
    }

    /// Why callers are being turned away, if they are.
    #[must_use]
    pub fn gave_up(&self) -> Option<Error> {
        // While a read of the secret source is due, a waiting caller drives it first: a secret
        // fixed in its file ends a give-up (the blocking driver steps only for its callers).
        if self.secret_check_due() {
            return None;
        }
        self.attempts().gave_up.clone()
    }

    /// The token's state now.
    #[must_use]
    pub fn state(&self) -> State {
        let machine = self.machine();
        State::of(&machine.state(self.now()))
    }

    /// Runs the machine until it has a request to send or nothing to do before a later moment.
    pub fn step(&self) -> Step {
        if let Some(work) = self.secret_due() {
            return Step::reading(work);
        }
        let mut events = Vec::new();
        let step = {
            let mut machine = self.machine();
            let now = self.now();
            let demanded = self.cell.take_demand();
            if demanded | (self.waiting.load(Ordering::Acquire) > 0) {
                machine.demand(now);
            }
            // A request to send, a store operation, or the machine's next moment (`None`: none).
            let next = loop {
                match machine.poll(now) {
                    Output::Transmit(transmit) => break Ok(Ok(transmit)),
                    Output::Store(op) => break Ok(Err(op)),
                    Output::Event(event) => events.push(event),
                    Output::Timeout(at) => break Err(Some(at)),
                    Output::Idle => break Err(None),
                }
            };
            // The next moment to step at, on the machine's clock: a request's or a store
            // operation's deadline, or the machine's next moment.
            let (step, wake) = match next {
                Ok(Ok(transmit)) => {
                    let (id, request) = transmit.into_parts();
                    let attempt = self.attempts().transient_in_a_row.saturating_add(1);
                    self.telemetry
                        .request_sent(id, &machine.state(now), attempt);
                    let deadline = now.saturating_add(machine.config().request_deadline());
                    let step = Step {
                        transmit: Some(Outgoing {
                            id,
                            request,
                            deadline: self.instant(deadline),
                            max_body: machine.config().max_response_body().saturating_add(1),
                        }),
                        store: None,
                        secret: None,
                        wake_at: None,
                    };
                    (step, Some(deadline))
                }
                Ok(Err(op)) => {
                    let deadline = op.deadline();
                    let (id, command) = op.into_parts();
                    self.telemetry.store_sent(id, command.name());
                    let step = Step {
                        transmit: None,
                        store: Some(StoreWork {
                            id,
                            command,
                            deadline: self.instant(deadline),
                        }),
                        secret: None,
                        wake_at: None,
                    };
                    (step, Some(deadline))
                }
                // The machine refreshes only if the token was asked for since its request, and
                // callers record demand in the cell, not in the machine: so the driver also
                // steps at the refresh moment, to hand the machine that demand.
                Err(at) => {
                    self.attempts().next_moment = at;
                    let at = earliest(refresh_first(&machine, now, at), self.next_check());
                    let step = Step {
                        transmit: None,
                        store: None,
                        secret: None,
                        wake_at: at.map(|at| self.instant(at)),
                    };
                    (step, at)
                }
            };
            if demanded && step.transmit.is_none() && step.store.is_none() {
                // Nothing was emitted, so the machine still holds the callers' demand: the cell
                // keeps it too, and their next calls are no first demand that needs a step (a
                // caller polling through a back-off would otherwise wake the driver after every
                // step it made).
                self.cell.keep_demand();
            }
            self.publish(&machine, now, wake.map_or(Wake::Never, Wake::At));
            step
        };
        self.deliver(&events);
        // An event may have asked for a read of the secret source (`invalid_client`): it comes
        // before anything else, and before anyone is told of the failure.
        if step.transmit.is_none() && step.store.is_none() {
            if let Some(work) = self.secret_due() {
                return Step::reading(work);
            }
        }
        step
    }

    /// Feeds the answer to a request a step returned.
    pub fn feed(&self, id: RequestId, answer: Result<Response<Vec<u8>>, TransportError>) {
        let mut machine = self.machine();
        let now = self.now();
        self.telemetry
            .request_answered(id, answer.as_ref().ok().map(|r| r.status().as_u16()));
        // An answer that came after its deadline, or for an abandoned request, is refused and
        // changes nothing: the machine has moved on.
        let _ = match answer {
            Ok(response) => machine.handle_response(id, response, now),
            Err(error) => machine.handle_transport_error(id, error, now),
        };
        // The driver steps again at once; the moment to wake is set then.
        self.publish(&machine, now, Wake::Unchanged);
    }

    /// Feeds the result of a store operation a step returned.
    pub fn feed_store(&self, id: StoreId, result: Result<StoreAnswer, StoreError>) {
        let mut machine = self.machine();
        let now = self.now();
        self.telemetry.store_done(id, &result);
        // A result after its deadline is refused and changes nothing.
        let _ = machine.handle_store(id, result, now);
        self.publish(&machine, now, Wake::Unchanged);
    }

    /// Reports that the API rejected `token`; see [`TokenClient::invalidate`]. Returns
    /// whether the report was taken (false for repeats and older tokens).
    pub fn invalidate(&self, token: TokenId) -> bool {
        let mut machine = self.machine();
        let now = self.now();
        let taken = machine.invalidate(token, now);
        if taken {
            self.telemetry.cause(Reason::Invalidated);
        }
        // Taken, the token is no longer served; not taken, an event may say why (a refused
        // replacement): either way the driver steps now.
        self.publish(&machine, now, Wake::Now);
        taken
    }

    /// How well the source can serve now: see [`Health`].
    #[must_use]
    pub fn health(&self) -> Health {
        let machine = self.machine();
        let now = self.now();
        let attempts = self.attempts();
        Health::of(
            &machine.state(now),
            attempts.failing_since,
            attempts.next_moment,
            now,
        )
    }

    /// The configured token URL.
    pub fn token_uri(&self) -> seekpass_oauth::http::Uri {
        self.machine().config().endpoint().token_uri().clone()
    }

    /// Replaces the configuration; see [`TokenClient::reconfigure`]. Clears a give-up, and one
    /// held for a forced read of the secret source. With a secret source, the configuration's
    /// secret is replaced by the source's last good one (a file or variable is read again at
    /// once).
    pub fn reconfigure(&self, config: Config) {
        let mut machine = self.machine();
        let now = self.now();
        let config = match &self.settings.secret_source {
            Some(_) => with_secret(&config, machine.config().credentials().client_secret())
                .unwrap_or(config),
            None => config,
        };
        {
            // A give-up held for a forced read belongs to the old configuration.
            let mut watch = self.secret();
            watch.next_check = None;
            watch.forced = false;
            watch.held = None;
        }
        machine.reconfigure(config, now);
        *self.attempts() = Attempts::default();
        self.publish(&machine, now, Wake::Now);
    }

    fn publish(&self, machine: &TokenClient, now: Time, wake: Wake) {
        let token = machine.state(now).token();
        self.telemetry
            .remaining(token.map(|t| t.serve_until().saturating_duration_since(now)));
        self.cell.publish(token, wake, &self.timeline);
    }

    fn deliver(&self, events: &[Event]) {
        for event in events {
            self.telemetry.event(event);
            match event {
                Event::TokenAcquired { .. } | Event::TokenAdopted { .. } => {
                    *self.attempts() = Attempts::default();
                }
                Event::AttemptFailed { class, error, .. } => {
                    let now = self.now();
                    let mut attempts = self.attempts();
                    attempts.failing_since.get_or_insert(now);
                    if *class == FailureClass::Transient {
                        attempts.transient_in_a_row = attempts.transient_in_a_row.saturating_add(1);
                    }
                    if *class == FailureClass::Permanent
                        || attempts.transient_in_a_row >= self.settings.max_attempts
                    {
                        let gave_up = Error::GaveUp {
                            class: *class,
                            attempts: attempts.transient_in_a_row.max(1),
                            error: Box::new(error.clone()),
                        };
                        // `invalid_client` with a secret source: the source is read once more
                        // before anyone is told, and if the secret changed it is tried at once.
                        if self.settings.secret_source.is_some()
                            && error.code() == Some(&ErrorCode::InvalidClient)
                        {
                            let mut watch = self.secret();
                            watch.forced = true;
                            watch.held = Some(gave_up);
                        } else {
                            attempts.gave_up = Some(gave_up);
                        }
                    }
                }
                _ => {}
            }
            if let Some(handler) = &self.settings.on_event {
                handler(event);
            }
        }
    }

    fn machine(&self) -> MutexGuard<'_, TokenClient> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn attempts(&self) -> MutexGuard<'_, Attempts> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The earlier of two moments, either of which may be missing.
fn earliest(a: Option<Time>, b: Option<Time>) -> Option<Time> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The earlier of `at` and the usable token's refresh moment, if that is still to come.
fn refresh_first(machine: &TokenClient, now: Time, at: Option<Time>) -> Option<Time> {
    let refresh = machine
        .state(now)
        .token()
        .map(|t| t.refresh_at())
        .filter(|r| *r > now);
    earliest(at, refresh)
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state().name())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

mod secret;
#[cfg(test)]
mod secret_tests;
#[cfg(test)]
mod tests;
