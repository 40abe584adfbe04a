//! The token machine. Every state transition lives in this file.
//!
//! Inputs: [`TokenClient::poll`] (time passing), [`TokenClient::token`] (demand),
//! [`TokenClient::handle_response`], [`TokenClient::handle_transport_error`],
//! [`TokenClient::handle_store`], [`TokenClient::invalidate`] and [`TokenClient::reconfigure`].
//! Outputs come only from `poll`.

use std::borrow::Cow;
use std::collections::VecDeque;

use http::header::LOCATION;
use http::{HeaderValue, Response, Uri};

use crate::classify::{classify, TokenResponse};
use crate::config::Config;
use crate::error::{InputError, ResponseProblem, TokenError, TransportError};
use crate::event::Event;
use crate::ids::{RequestId, StoreId, TokenId};
use crate::output::Output;
use crate::policy::RefreshMode;
use crate::redact::Redactor;
use crate::redirect;
use crate::request::PreparedRequest;
use crate::retry_after::retry_after;
use crate::rng::Rng;
use crate::scope::Scopes;
use crate::secret::{sensitive_header, AccessToken};
use crate::shared_token::{self, SharedToken};
use crate::state::TokenState;
use crate::store::{StoreAnswer, StoreCommand, StoreError, StoreErrorKind, StoreOp, StoredValue};
use crate::store_key::Keys;
use crate::time::Time;
use crate::token::{LifetimeSource, Token};

/// Server clock differences smaller than this are not reported: `created_at` has one-second
/// resolution and a request takes time.
const SKEW_THRESHOLD_SECS: u64 = 5;

/// The client-credentials token machine: one per configuration, shared by every caller that
/// needs a token (behind a mutex or in an actor task).
///
/// See the [crate docs](crate) for the driver loop and the state diagram.
pub struct TokenClient {
    config: Config,
    prepared: PreparedRequest,
    redactor: Redactor,
    rng: Rng,
    /// The latest time seen. Earlier times fed later are raised to it, so a clock that goes
    /// backwards can never make a token live longer.
    now: Time,
    current: Option<Current>,
    /// The token a reconfiguration dropped: no longer served, but still stripped from server
    /// text until a new one is acquired.
    retired_token: Option<AccessToken>,
    flight: Option<Flight>,
    /// A followed redirect waiting to be emitted: the same attempt, continued.
    hop: Option<Hop>,
    failure: Option<Failure>,
    consecutive_failures: u32,
    /// A token was asked for since the last request was emitted.
    demand: bool,
    last_emit: Option<Time>,
    next_request: u64,
    next_token: u64,
    events: VecDeque<Event>,
    /// Present when the configuration shares its token through a store.
    shared: Option<Box<Shared>>,
}

/// The last acquired token and what has happened to it since.
struct Current {
    token: Token,
    invalidated: bool,
    expiry_reported: bool,
    /// The token's value in the store, when it is the fleet's shared token: what a
    /// compare-and-delete must match to forget it.
    stored: Option<StoredValue>,
}

/// Coordination with the other replicas through the store (see `share.rs` for the protocol).
struct Shared {
    keys: Keys,
    /// This replica's part of every lock owner mark, drawn once.
    owner_mark: u64,
    locks_taken: u64,
    next_op: u64,
    /// The one store operation in flight.
    op: Option<StoreFlight>,
    /// Operations to emit, in order, once nothing is in flight.
    queue: VecDeque<(StoreCommand, Purpose)>,
    phase: Phase,
    failures_in_a_row: u32,
    /// After a store failure, the store is left alone until then.
    resume_at: Option<Time>,
    /// When the store last answered a read: while requests back off, the next read is due
    /// an interval later.
    last_read: Option<Time>,
}

/// How far this replica's current acquisition has gone through the store.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// No acquisition under way through the store.
    Idle,
    /// A read or a lock is queued or in flight.
    Asking { wait: PeerWait },
    /// Another replica holds the lock: read again at `until`.
    Waiting { wait: PeerWait, until: Time },
    /// Fetching from the token endpoint; release `lock` afterwards (if taken) and write the token
    /// for the others.
    Fetching { lock: Option<String> },
}

/// How long this replica waits for another replica's fetch before fetching on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PeerWait {
    /// When the acquisition began.
    since: Time,
    /// With no usable token: a draw between half the peer wait and all of it, so replicas
    /// that lose a dead holder's lock together do not all fetch at once (the first one's token
    /// is adopted by those still waiting).
    without_token: core::time::Duration,
    /// Reads so far that found the lock held: the interval between reads doubles with each.
    polls: u32,
    /// [`Share::peer_wait`](crate::Share::peer_wait).
    peer_wait: core::time::Duration,
}

impl PeerWait {
    /// Whether to stop waiting at `now`.
    fn over(self, now: Time, serve_until: Option<Time>) -> bool {
        now >= self.end(serve_until)
    }

    /// When the wait ends. With no usable token, after `without_token`. With a token served
    /// until `serve_until`, while a fetch of its own still fits before then: the peer wait
    /// before it, or halfway there if that is later. A long-lived token's replicas so keep
    /// waiting on the lock while its holders retry an unavailable token endpoint one at a time,
    /// instead of all fetching at once.
    fn end(self, serve_until: Option<Time>) -> Time {
        match serve_until {
            Some(until) => {
                let half = until
                    .saturating_duration_since(self.since)
                    .checked_div(2)
                    .unwrap_or_default();
                until.saturating_sub(self.peer_wait.min(half))
            }
            None => self.since.saturating_add(self.without_token),
        }
    }

    /// The next read after the lock was found held at `now`: the poll interval, doubling with
    /// each such read up to `cap` (a slow or failing holder is not polled four times a
    /// second for minutes), and never past the end of the wait.
    fn next_read(
        &mut self,
        now: Time,
        first: core::time::Duration,
        cap: core::time::Duration,
        serve_until: Option<Time>,
    ) -> Time {
        let doublings = self.polls.min(16);
        self.polls = self.polls.saturating_add(1);
        let interval = first
            .checked_mul(1u32 << doublings)
            .unwrap_or(cap)
            .min(cap.max(first));
        let end = self.end(serve_until).max(now.saturating_add(first));
        now.saturating_add(interval).min(end)
    }
}

/// Why a store operation was sent, to read its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    Read,
    Lock(String),
    /// The read again once the lock is ours: another replica may have written its token and
    /// released the lock between this replica's first read and its lock.
    Recheck(String),
    /// Write, unlock, forget: their answers change nothing.
    Housekeeping,
}

struct StoreFlight {
    id: StoreId,
    sent_at: Time,
    deadline: Time,
    command: &'static str,
    purpose: Purpose,
}

/// The one request in flight.
struct Flight {
    id: RequestId,
    /// When the attempt started (its first request, before any redirect): the start of the
    /// token's lifetime.
    emitted_at: Time,
    /// The attempt's deadline, shared by its redirects.
    deadline: Time,
    /// Where it went, when not the configured URI.
    target: Option<Uri>,
    /// Every URI this attempt has been sent to, for redirect loops and the hop limit.
    visited: Vec<Uri>,
}

/// The next leg of an attempt that was redirected.
struct Hop {
    target: Uri,
    visited: Vec<Uri>,
    emitted_at: Time,
    deadline: Time,
}

/// The last attempt failed; no attempt before `retry_at`.
struct Failure {
    error: TokenError,
    retry_at: Time,
}

impl TokenClient {
    /// A machine for `config`, created at `now`. Nothing is sent until [`TokenClient::poll`]
    /// says so. The jitter generator is seeded from the configured seed and `now`.
    #[must_use]
    pub fn new(config: Config, now: Time) -> TokenClient {
        let seed = config.jitter_seed ^ now.as_millis().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = Rng::new(seed);
        TokenClient {
            prepared: PreparedRequest::new(&config),
            redactor: Redactor::new(config.credentials.client_secret().expose_secret()),
            shared: Shared::new(&config, &mut rng),
            rng,
            config,
            now,
            current: None,
            retired_token: None,
            flight: None,
            hop: None,
            failure: None,
            consecutive_failures: 0,
            demand: false,
            last_emit: None,
            next_request: 0,
            next_token: 0,
            events: VecDeque::with_capacity(8),
        }
    }

    /// The configuration in force.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- getters -------------------------------------------------------------------------

    /// The token's state at `now`. A pure getter: it records no demand.
    #[must_use]
    pub fn state(&self, now: Time) -> TokenState<'_> {
        let now = now.max(self.now);
        let fetching = self.flight.is_some()
            || self.hop.is_some()
            || self.shared.as_ref().is_some_and(|s| s.phase != Phase::Idle);
        let last_error = self.failure.as_ref().map(|f| &f.error);
        if let Some(token) = self.usable(now) {
            return if fetching || last_error.is_some() || now >= token.refresh_at {
                TokenState::Expiring {
                    token,
                    refreshing: fetching,
                    last_error,
                }
            } else {
                TokenState::Fresh(token)
            };
        }
        match (&self.failure, &self.current) {
            (Some(f), _) => TokenState::Failed {
                error: &f.error,
                next_attempt: f.retry_at,
                fetching,
            },
            (None, Some(_)) => TokenState::Expired { fetching },
            (None, None) => TokenState::Unfetched { fetching },
        }
    }

    /// Whether [`TokenClient::poll`] at `now` has something to do (a request to send, an event,
    /// a deadline passed). Check it after [`TokenClient::token`] to know whether to wake the
    /// driver.
    #[must_use]
    pub fn poll_needed(&self, now: Time) -> bool {
        let now = now.max(self.now);
        !self.events.is_empty()
            || self.hop.is_some()
            || self.flight.as_ref().is_some_and(|f| now >= f.deadline)
            || self.shared.as_ref().is_some_and(|s| match &s.op {
                Some(op) => now >= op.deadline,
                None => !s.queue.is_empty(),
            })
            || self.expiry_due(now)
            || self.wants_request(now)
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Asks for the token at `now`: the hot path. Returns it while it is usable; `None`
    /// otherwise, in which case poll the machine (a request may now be due) and ask again when
    /// it has answered.
    ///
    /// Every call counts as demand: in [`RefreshMode::WhileUsed`] it is what keeps refreshes
    /// ahead of expiry.
    #[inline]
    pub fn token(&mut self, now: Time) -> Option<&Token> {
        self.now = self.now.max(now);
        self.demand = true;
        let now = self.now;
        self.usable(now)
    }

    /// The `Authorization` header value of the usable token (see [`TokenClient::token`]).
    #[inline]
    pub fn authorization(&mut self, now: Time) -> Option<&HeaderValue> {
        self.token(now).map(Token::authorization)
    }

    /// Advances to `now` and returns the next thing to do. Call it until it returns
    /// [`Output::Timeout`] or [`Output::Idle`]; calling it again at the same moment is harmless.
    pub fn poll(&mut self, now: Time) -> Output {
        let now = self.advance(now);
        if let Some(event) = self.events.pop_front() {
            return Output::Event(event);
        }
        if let Some(hop) = self.hop.take() {
            return self.emit_hop(hop);
        }
        if let Some(op) = self.send_store(now) {
            return Output::Store(op);
        }
        if self.wants_request(now) {
            if !self.ask_store_first(now) {
                return self.emit(now);
            }
            if let Some(op) = self.send_store(now) {
                return Output::Store(op);
            }
        }
        match self.next_wake(now) {
            Some(at) => Output::Timeout(at),
            None => Output::Idle,
        }
    }

    /// Feeds the answer to request `id`. A response for a request that is not in flight
    /// (unknown, already answered, past its deadline, abandoned) is refused and changes
    /// nothing.
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        id: RequestId,
        response: Response<B>,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let flight = self.take_flight(id)?;
        if response.status().is_redirection() {
            self.redirect(flight, &response, now);
            return Ok(());
        }
        let latest = self.latest_token();
        match classify(&response, self.config.max_body, &self.redactor, latest) {
            Ok(answer) => self.acquire(&flight, response.status(), answer, now),
            Err(error) => {
                let wall = self.config.wall_clock.then_some(now);
                let wait = retry_after(response.headers(), wall);
                self.fail(flight.id, error, wait, now);
            }
        }
        Ok(())
    }

    /// Feeds a transport failure (connect, TLS, I/O, the caller's own timeout) for request
    /// `id`. Refused, changing nothing, if the request is not in flight.
    pub fn handle_transport_error(
        &mut self,
        id: RequestId,
        error: TransportError,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let flight = self.take_flight(id)?;
        self.fail(flight.id, TokenError::Transport(error), None, now);
        Ok(())
    }

    /// Feeds the result of store operation `id`: what the store answered, or why the operation
    /// failed (the driver's timeout included). Refused, changing nothing, if the operation is not
    /// in flight.
    pub fn handle_store(
        &mut self,
        id: StoreId,
        result: Result<StoreAnswer, StoreError>,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let flight = self.take_store_op(id)?;
        let answer = match result {
            Ok(answer) => answer,
            Err(error) => {
                self.store_failed(flight.command, error, now);
                return Ok(());
            }
        };
        let intervals = self
            .config
            .share()
            .map(|s| (s.interval(), s.backoff_read_interval()))
            .unwrap_or_default();
        let serve_until = self.usable(now).map(|t| t.serve_until);
        let Some(shared) = self.shared.as_mut() else {
            return Ok(());
        };
        shared.failures_in_a_row = 0;
        shared.resume_at = None;
        if flight.purpose == Purpose::Read {
            shared.last_read = Some(now);
        }
        let mut wait = match shared.phase {
            Phase::Asking { wait } => wait,
            _ => PeerWait {
                since: now,
                without_token: core::time::Duration::ZERO,
                polls: 0,
                peer_wait: core::time::Duration::ZERO,
            },
        };
        match (flight.purpose, answer) {
            (Purpose::Read, StoreAnswer::Found { value, ttl }) => {
                if !self.read_found(flight.sent_at, value, ttl, now) {
                    self.lock_when_allowed(now);
                }
            }
            (Purpose::Read, StoreAnswer::Missing) => self.lock_when_allowed(now),
            (Purpose::Lock(owner), StoreAnswer::Done) => {
                let key = shared.keys.token.clone();
                shared
                    .queue
                    .push_front((StoreCommand::Read { key }, Purpose::Recheck(owner)));
            }
            (Purpose::Recheck(owner), StoreAnswer::Found { value, ttl }) => {
                if self.read_found(flight.sent_at, value, ttl, now) {
                    if let Some(shared) = self.shared.as_mut() {
                        shared.unlock(Some(owner));
                    }
                } else if let Some(shared) = self.shared.as_mut() {
                    shared.phase = Phase::Fetching { lock: Some(owner) };
                }
            }
            (Purpose::Recheck(owner), StoreAnswer::Missing) => {
                shared.phase = Phase::Fetching { lock: Some(owner) };
            }
            (Purpose::Lock(_), StoreAnswer::Refused) => {
                let (first, cap) = intervals;
                let until = wait.next_read(now, first, cap, serve_until);
                shared.phase = Phase::Waiting { wait, until };
            }
            (Purpose::Housekeeping, _) => {}
            (_, answer) => {
                let error = StoreError::new(
                    StoreErrorKind::Protocol,
                    format!(
                        "{} is no answer to {}",
                        answer_name(&answer),
                        flight.command
                    ),
                );
                self.store_failed(flight.command, error, now);
            }
        }
        Ok(())
    }

    /// Reports that the API rejected `token` (a 401). If it is the current token it stops
    /// being served and one refresh starts (once the minimum request interval and any back-off
    /// allow); further reports for it, and reports for older tokens, change nothing. Returns
    /// whether the report was taken.
    pub fn invalidate(&mut self, token: TokenId, now: Time) -> bool {
        self.advance(now);
        match &mut self.current {
            Some(current) if current.token.id == token && !current.invalidated => {
                current.invalidated = true;
                self.demand = true;
                self.events.push_back(Event::TokenInvalidated { token });
                let now = self.now;
                if let (Some(value), Some(shared)) = (
                    current.stored.clone(),
                    self.shared.as_mut().filter(|s| !s.resting(now)),
                ) {
                    let key = shared.keys.token.clone();
                    shared
                        .queue
                        .push_back((StoreCommand::Forget { key, value }, Purpose::Housekeeping));
                }
                true
            }
            _ => false,
        }
    }

    /// Replaces the configuration. If what is sent changes (credentials, scopes, endpoint,
    /// client authentication, extra parameters), the current token is dropped, a request in
    /// flight is abandoned, back-off is reset, and a new token is fetched if the old one was
    /// in use. Policy changes alone keep the current token.
    pub fn reconfigure(&mut self, config: Config, now: Time) {
        self.advance(now);
        let prepared = PreparedRequest::new(&config);
        if prepared != self.prepared {
            if let Some(flight) = self.flight.take() {
                self.events
                    .push_back(Event::RequestAbandoned { request: flight.id });
                self.demand = true;
            }
            if self.hop.take().is_some() {
                self.demand = true;
            }
            if let Some(current) = self.current.take() {
                self.retired_token = Some(current.token.access_token);
                self.demand = true;
            }
            self.failure = None;
            self.consecutive_failures = 0;
            self.redactor = self
                .redactor
                .rotated(config.credentials.client_secret().expose_secret());
            self.prepared = prepared;
        }
        let keys = config.share.as_ref().map(|share| Keys::new(&config, share));
        if keys.as_ref() != self.shared.as_ref().map(|s| &s.keys) {
            // The old lock, if held, expires on its own; answers to old operations are refused.
            self.shared = Shared::new(&config, &mut self.rng);
        }
        self.config = config;
    }

    // ----- transitions ---------------------------------------------------------------------

    /// Moves time forward (never back) and applies what time alone changes: a passed deadline
    /// and a token reaching the end of its serving time.
    fn advance(&mut self, now: Time) -> Time {
        self.now = self.now.max(now);
        let now = self.now;
        if let Some(flight) = self.flight.as_ref().filter(|f| now >= f.deadline) {
            let (id, after) = (
                flight.id,
                flight.deadline.saturating_duration_since(flight.emitted_at),
            );
            self.flight = None;
            self.fail(id, TokenError::DeadlineExceeded { after }, None, now);
        }
        let late = self.shared.as_mut().and_then(|s| {
            let due = s.op.as_ref().is_some_and(|op| now >= op.deadline);
            if due {
                s.op.take()
            } else {
                None
            }
        });
        if let Some(op) = late {
            let waited = op.deadline.saturating_duration_since(op.sent_at);
            let error = StoreError::new(
                StoreErrorKind::Timeout,
                format!("no answer within {} ms", waited.as_millis()),
            );
            self.store_failed(op.command, error, now);
        }
        if self.expiry_due(now) {
            if let Some(current) = &mut self.current {
                current.expiry_reported = true;
                let token = current.token.id;
                self.events.push_back(Event::TokenExpired { token });
            }
        }
        now
    }

    fn emit(&mut self, now: Time) -> Output {
        self.last_emit = Some(now);
        self.demand = false;
        let deadline = now.saturating_add(self.config.request_deadline);
        self.send(Flight {
            id: RequestId(0),
            emitted_at: now,
            deadline,
            target: None,
            visited: Vec::new(),
        })
    }

    /// Sends the next leg of a redirected attempt: same body, same lifetime start, same
    /// deadline.
    fn emit_hop(&mut self, hop: Hop) -> Output {
        self.send(Flight {
            id: RequestId(0),
            emitted_at: hop.emitted_at,
            deadline: hop.deadline,
            target: Some(hop.target),
            visited: hop.visited,
        })
    }

    fn send(&mut self, mut flight: Flight) -> Output {
        flight.id = RequestId(self.next_request);
        self.next_request = self.next_request.saturating_add(1);
        let transmit = self
            .prepared
            .transmit(flight.id, flight.deadline, flight.target.as_ref());
        self.flight = Some(flight);
        Output::Transmit(transmit)
    }

    /// A 3xx answer: a 307/308 to the same origin continues the attempt; anything else fails
    /// it permanently (see `redirect.rs` for the rules and how they differ from `curl -L`).
    fn redirect<B>(&mut self, flight: Flight, response: &Response<B>, now: Time) {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let current = flight
            .target
            .as_ref()
            .unwrap_or(self.prepared.uri())
            .clone();
        let mut visited = flight.visited;
        if visited.is_empty() {
            visited.push(current.clone());
        }
        match redirect::follow(status, location.as_deref(), &current, &visited) {
            Ok(target) => {
                visited.push(target.clone());
                self.events.push_back(Event::RedirectFollowed {
                    request: flight.id,
                    status,
                    location: self.redacting().clean(&target.to_string()),
                });
                self.hop = Some(Hop {
                    target,
                    visited,
                    emitted_at: flight.emitted_at,
                    deadline: flight.deadline,
                });
            }
            Err(refusal) => {
                let error = TokenError::Redirect {
                    status,
                    location: location.map(|l| self.redacting().clean(&l)),
                    refusal,
                };
                self.fail(flight.id, error, None, now);
            }
        }
    }

    fn take_flight(&mut self, id: RequestId) -> Result<Flight, InputError> {
        match self.flight.take() {
            Some(flight) if flight.id == id => Ok(flight),
            other => {
                self.flight = other;
                if id.0 >= self.next_request {
                    Err(InputError::UnknownRequest(id))
                } else {
                    Err(InputError::StaleRequest(id))
                }
            }
        }
    }

    fn acquire(
        &mut self,
        flight: &Flight,
        status: http::StatusCode,
        answer: TokenResponse,
        now: Time,
    ) {
        let invalid = |problem| TokenError::InvalidResponse {
            status,
            problem,
            excerpt: None,
        };
        let (lifetime, lifetime_source) = match self.config.timing.lifetime(answer.expires_in) {
            Ok(l) => l,
            Err(problem) => return self.fail(flight.id, invalid(problem), None, now),
        };
        let granted = match &answer.scope {
            None => self.config.scopes.clone(),
            // Scopes are shown in events; a server echoing the secret there is refused.
            Some(scope) if self.redacting().contains_secret(scope) => {
                let problem = ResponseProblem::InvalidField {
                    field: "scope",
                    detail: "contains the client secret".into(),
                };
                return self.fail(flight.id, invalid(problem), None, now);
            }
            Some(scope) => match Scopes::parse(scope) {
                Ok(granted) => granted,
                Err(e) => {
                    let problem = ResponseProblem::InvalidField {
                        field: "scope",
                        detail: self.redacting().clean(&e.to_string()),
                    };
                    return self.fail(flight.id, invalid(problem), None, now);
                }
            },
        };
        let reissued = self
            .current
            .as_ref()
            .is_some_and(|c| c.invalidated && c.token.access_token == answer.access_token);
        if reissued {
            return self.fail(flight.id, TokenError::RejectedTokenReissued, None, now);
        }
        let Some(authorization) = bearer(&answer.access_token) else {
            // Unreachable for a b64token; refused rather than trusted.
            return self.fail(
                flight.id,
                invalid(ResponseProblem::InvalidAccessToken),
                None,
                now,
            );
        };
        // A token fetched through the store is written back for the other replicas and follows
        // the shared refresh window; one fetched on its own (store unavailable) follows the usual.
        let lock = self.end_fetch(now);
        let schedule = match (&lock, &self.config.share) {
            (Some(_), Some(share)) => {
                let (margin, spread) = share.refresh_window(lifetime);
                self.config
                    .timing
                    .schedule_within(lifetime, margin, spread, &mut self.rng)
            }
            _ => self.config.timing.schedule(lifetime, &mut self.rng),
        };
        let requested_at = flight.emitted_at;
        let missing = self.config.scopes.missing_from(&granted);
        let token = Token {
            id: self.next_token_id(),
            access_token: answer.access_token,
            authorization,
            scope: granted.clone(),
            lifetime,
            lifetime_source,
            requested_at,
            expires_at: requested_at.saturating_add(lifetime),
            serve_until: requested_at.saturating_add(schedule.serve_for),
            refresh_at: requested_at.saturating_add(schedule.refresh_after),
            created_at: answer.created_at,
            shared: lock.is_some(),
        };

        self.events.push_back(Event::TokenAcquired {
            token: token.id,
            lifetime,
            lifetime_source,
            scope: granted.clone(),
        });
        if !missing.is_empty() {
            self.events.push_back(Event::ScopeNarrowed {
                requested: self.config.scopes.clone(),
                granted,
                missing,
            });
        }
        if let Some(skew) = self.skew(answer.created_at, requested_at, now) {
            self.events.push_back(skew);
        }
        let stored = lock.map(|lock| self.write_shared(&token, lock, now));
        self.take_up(token, stored);
    }

    /// Makes `token` the current one: served from now on, failures forgotten.
    fn take_up(&mut self, token: Token, stored: Option<StoredValue>) {
        self.events.push_back(Event::RefreshScheduled {
            token: token.id,
            at: token.refresh_at,
        });
        self.current = Some(Current {
            token,
            invalidated: false,
            expiry_reported: false,
            stored,
        });
        self.retired_token = None;
        self.failure = None;
        self.consecutive_failures = 0;
    }

    fn next_token_id(&mut self) -> TokenId {
        let id = TokenId(self.next_token);
        self.next_token = self.next_token.saturating_add(1);
        id
    }

    // ----- sharing through the store -------------------------------------------------------

    /// Starts an acquisition through the store, or says to fetch directly: without sharing,
    /// while the store rests after a failure, once the lock is ours, or when a replica with no
    /// usable token has waited for another's fetch long enough.
    fn ask_store_first(&mut self, now: Time) -> bool {
        let serve_until = self.usable(now).map(|t| t.serve_until);
        let Some(share) = self.config.share() else {
            return false;
        };
        let half = share.wait_for_peer().checked_div(2).unwrap_or_default();
        let Some(shared) = self.shared.as_mut().filter(|s| !s.resting(now)) else {
            return false;
        };
        let wait = match shared.phase {
            Phase::Fetching { .. } => return false,
            Phase::Asking { .. } => return true,
            Phase::Idle => {
                // The demand so far is answered when a token is adopted or a request emitted.
                PeerWait {
                    since: now,
                    without_token: half.saturating_add(self.rng.duration_up_to(half)),
                    polls: 0,
                    peer_wait: share.wait_for_peer(),
                }
            }
            Phase::Waiting { wait, .. } => {
                if wait.over(now, serve_until) {
                    shared.phase = Phase::Fetching { lock: None };
                    return false;
                }
                wait
            }
        };
        shared.phase = Phase::Asking { wait };
        let key = shared.keys.token.clone();
        shared
            .queue
            .push_back((StoreCommand::Read { key }, Purpose::Read));
        true
    }

    /// Emits the next queued store operation if none is in flight.
    fn send_store(&mut self, now: Time) -> Option<StoreOp> {
        let timeout = self.config.share()?.timeout();
        let shared = self.shared.as_mut()?;
        if shared.op.is_some() {
            return None;
        }
        let (command, purpose) = shared.queue.pop_front()?;
        let id = StoreId(shared.next_op);
        shared.next_op = shared.next_op.saturating_add(1);
        let deadline = now.saturating_add(timeout);
        shared.op = Some(StoreFlight {
            id,
            sent_at: now,
            deadline,
            command: command.name(),
            purpose,
        });
        Some(StoreOp {
            id,
            deadline,
            command,
        })
    }

    fn take_store_op(&mut self, id: StoreId) -> Result<StoreFlight, InputError> {
        let Some(shared) = self.shared.as_mut() else {
            return Err(InputError::UnknownStoreOp(id));
        };
        match shared.op.take() {
            Some(op) if op.id == id => Ok(op),
            other => {
                shared.op = other;
                if id.0 >= shared.next_op {
                    Err(InputError::UnknownStoreOp(id))
                } else {
                    Err(InputError::StaleStoreOp(id))
                }
            }
        }
    }

    /// The store holds no token this replica can adopt: try the lock if a request of its own is
    /// allowed now; while its requests back off, the read was only a look for a peer's token.
    fn lock_when_allowed(&mut self, now: Time) {
        if now >= self.gate() {
            self.lock();
        } else if let Some(shared) = self.shared.as_mut() {
            shared.phase = Phase::Idle;
        }
    }

    /// Try the lock, so one replica fetches.
    fn lock(&mut self) {
        let ttl = self.config.request_deadline;
        let Some(shared) = self.shared.as_mut() else {
            return;
        };
        let owner = format!("{:016x}.{}", shared.owner_mark, shared.locks_taken);
        shared.locks_taken = shared.locks_taken.saturating_add(1);
        let key = shared.keys.lock.clone();
        let command = StoreCommand::Lock {
            key,
            owner: owner.clone(),
            ttl,
        };
        shared.queue.push_front((command, Purpose::Lock(owner)));
    }

    /// The store answered a read with a value: adopt it if it is a usable token newer than this
    /// replica's own. Returns whether it was adopted.
    fn read_found(
        &mut self,
        sent_at: Time,
        value: StoredValue,
        ttl: Option<core::time::Duration>,
        now: Time,
    ) -> bool {
        let decoded = match ttl.filter(|t| !t.is_zero()) {
            None => Err("it has no expiry".to_owned()),
            Some(ttl) => {
                shared_token::decode(value.as_bytes(), self.config.credentials.client_id())
                    .map(|token| (token, ttl))
            }
        };
        match decoded {
            Ok((token, ttl)) => self.adopt(token, &value, sent_at, ttl, now),
            Err(problem) => {
                let problem = self.redacting().clean(&problem);
                self.events.push_back(Event::StoredTokenRefused { problem });
                false
            }
        }
    }

    /// Takes up a token another replica stored, read at `sent_at` with `ttl` left, if it is
    /// better than this replica's own and still servable. Returns whether it was.
    fn adopt(
        &mut self,
        stored: SharedToken,
        value: &StoredValue,
        sent_at: Time,
        ttl: core::time::Duration,
        now: Time,
    ) -> bool {
        let Some(share) = self.config.share() else {
            return false;
        };
        let (lifetime, lifetime_source) =
            if stored.lifetime > self.config.timing.max_lifetime_believed() {
                (
                    self.config.timing.max_lifetime_believed(),
                    LifetimeSource::Capped,
                )
            } else {
                (stored.lifetime, stored.lifetime_source)
            };
        // The store measured `ttl` after the read was sent: counted from the send, the token is
        // believed to expire no later than it does.
        let expires_at = sent_at.saturating_add(ttl.min(lifetime));
        let same_as_ours = self.current.as_ref().is_some_and(|c| {
            c.token.access_token == stored.access_token
                || (!c.invalidated && c.token.expires_at >= expires_at)
        });
        if same_as_ours {
            return false;
        }
        let granted = match &stored.scope {
            None => self.config.scopes.clone(),
            Some(scope) if self.redacting().contains_secret(scope) => return false,
            Some(scope) => match Scopes::parse(scope) {
                Ok(granted) => granted,
                Err(_) => {
                    self.events.push_back(Event::StoredTokenRefused {
                        problem: "its scope is not a list of scope tokens".to_owned(),
                    });
                    return false;
                }
            },
        };
        let Some(authorization) = bearer(&stored.access_token) else {
            return false;
        };
        let (margin, spread) = share.refresh_window(lifetime);
        let schedule = self
            .config
            .timing
            .schedule_within(lifetime, margin, spread, &mut self.rng);
        // Counted back from the expiry, so a token adopted late is never served longer.
        let before_expiry = |offset| expires_at.saturating_sub(lifetime.saturating_sub(offset));
        let serve_until = before_expiry(schedule.serve_for);
        if serve_until <= now {
            return false;
        }
        let token = Token {
            id: self.next_token_id(),
            access_token: stored.access_token,
            authorization,
            scope: granted.clone(),
            lifetime,
            lifetime_source,
            requested_at: expires_at.saturating_sub(lifetime),
            expires_at,
            serve_until,
            refresh_at: before_expiry(schedule.refresh_after),
            created_at: stored.created_at,
            shared: true,
        };
        self.events.push_back(Event::TokenAdopted {
            token: token.id,
            lifetime,
            remaining: expires_at.saturating_duration_since(now),
            scope: granted,
        });
        if let Some(shared) = self.shared.as_mut() {
            shared.phase = Phase::Idle;
        }
        // The adoption answers the demand that started it, as a request would; unless the token
        // was adopted late in its life with its refresh already due, for the same callers.
        if token.refresh_at > now {
            self.demand = false;
        }
        self.take_up(token, Some(value.clone()));
        true
    }

    /// Ends a fetch. Returns the lock to release (`Some(None)` when none was taken) if the token
    /// is to be shared: the fetch went through the store and the store is not resting.
    fn end_fetch(&mut self, now: Time) -> Option<Option<String>> {
        let shared = self.shared.as_mut()?;
        let Phase::Fetching { lock } = core::mem::replace(&mut shared.phase, Phase::Idle) else {
            return None;
        };
        (!shared.resting(now)).then_some(lock)
    }

    /// Queues the write of a fetched `token` for the other replicas and the release of `lock`;
    /// returns the stored value.
    fn write_shared(&mut self, token: &Token, lock: Option<String>, now: Time) -> StoredValue {
        let value = shared_token::encode(self.config.credentials.client_id(), token);
        let margin = self.config.share().map(|s| s.timeout()).unwrap_or_default();
        // Less the operation's deadline: the store starts counting when the write arrives.
        let ttl = token
            .expires_at
            .saturating_duration_since(now)
            .saturating_sub(margin);
        if let Some(shared) = self.shared.as_mut() {
            if !ttl.is_zero() {
                let key = shared.keys.token.clone();
                let write = StoreCommand::Write {
                    key,
                    value: value.clone(),
                    ttl,
                };
                shared.queue.push_back((write, Purpose::Housekeeping));
            }
            shared.unlock(lock);
        }
        value
    }

    /// A store operation failed or timed out: fetch on our own and leave the store alone for a
    /// while.
    fn store_failed(&mut self, command: &'static str, error: StoreError, now: Time) {
        let error = {
            let message = self.redacting().clean(error.message());
            error.with_message(message)
        };
        let (Some(share), Some(shared)) = (self.config.share(), self.shared.as_mut()) else {
            return;
        };
        shared.failures_in_a_row = shared.failures_in_a_row.saturating_add(1);
        let retry_at = now.saturating_add(share.backoff(shared.failures_in_a_row));
        shared.resume_at = Some(retry_at);
        shared.queue.clear();
        if matches!(shared.phase, Phase::Asking { .. } | Phase::Waiting { .. }) {
            shared.phase = Phase::Idle;
        }
        self.events.push_back(Event::StoreFailed {
            command,
            error,
            retry_at,
        });
    }

    /// The latest token issued, still held or retired by a reconfiguration.
    fn latest_token(&self) -> Option<&str> {
        self.current
            .as_ref()
            .map(|c| &c.token.access_token)
            .or(self.retired_token.as_ref())
            .map(AccessToken::expose_secret)
    }

    /// The redactor for server text shown in an error or event: the secrets and the latest
    /// token.
    fn redacting(&self) -> Cow<'_, Redactor> {
        self.redactor.with_token(self.latest_token())
    }

    fn fail(
        &mut self,
        request: RequestId,
        error: TokenError,
        retry_after: Option<core::time::Duration>,
        now: Time,
    ) {
        let lock = self.end_fetch(now);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let class = error.class();
        let delay =
            self.config
                .retry
                .delay(class, self.consecutive_failures, retry_after, &mut self.rng);
        // The reported moment is the real one: the minimum request interval may end later.
        let next_attempt = now.saturating_add(delay).max(self.interval_gate());
        let hold = self.config.share().map(|s| s.wait_for_peer());
        if let (Some(Some(owner)), Some(shared), Some(hold)) = (lock, self.shared.as_mut(), hold) {
            // The fleet backs off with the holder: it keeps the lock for its back-off instead
            // of handing it to the next replica at once: for a server's `Retry-After`, all of
            // it; otherwise at most the peer wait. So an unavailable token endpoint sees one
            // attempt every few seconds from the whole fleet, and the first success after it
            // returns serves every replica.
            let backoff = next_attempt.saturating_duration_since(now);
            let key = shared.keys.lock.clone();
            let write = StoreCommand::Write {
                key,
                value: StoredValue::new(owner.into_bytes()),
                ttl: if retry_after.is_some() {
                    backoff
                } else {
                    backoff.min(hold)
                },
            };
            shared.queue.push_back((write, Purpose::Housekeeping));
        }
        self.events.push_back(Event::AttemptFailed {
            request,
            class,
            status: error.status(),
            code: error.code().cloned(),
            retry_after,
            next_attempt,
            error: error.clone(),
        });
        self.failure = Some(Failure {
            error,
            retry_at: next_attempt,
        });
    }

    // ----- derived facts -------------------------------------------------------------------

    fn usable(&self, now: Time) -> Option<&Token> {
        self.current
            .as_ref()
            .filter(|c| !c.invalidated && now < c.token.serve_until)
            .map(|c| &c.token)
    }

    fn expiry_due(&self, now: Time) -> bool {
        self.current
            .as_ref()
            .is_some_and(|c| !c.invalidated && !c.expiry_reported && now >= c.token.serve_until)
    }

    fn wanted(&self) -> bool {
        self.demand
            || self.config.refresh_mode == RefreshMode::Always
            // An acquisition under way through the store runs to its end.
            || self.shared.as_ref().is_some_and(|s| s.phase != Phase::Idle)
    }

    /// The earliest moment the rate limits allow another request: the minimum interval since
    /// the last one and any back-off.
    fn gate(&self) -> Time {
        let backoff = self.failure.as_ref().map_or(Time::ZERO, |f| f.retry_at);
        self.interval_gate().max(backoff)
    }

    /// The end of the minimum request interval since the last emission.
    fn interval_gate(&self) -> Time {
        self.last_emit.map_or(Time::ZERO, |t| {
            t.saturating_add(self.config.timing.min_interval())
        })
    }

    /// The moment a request becomes due, if one is wanted at all.
    fn request_due_at(&self, now: Time) -> Option<Time> {
        if self.flight.is_some() || self.hop.is_some() || !self.wanted() {
            return None;
        }
        let gate = self.gate();
        let at = match self.usable(now) {
            Some(token) => gate.max(token.refresh_at),
            None => gate,
        };
        match self.shared.as_ref().filter(|s| !s.resting(now)) {
            // One store operation at a time: the acquisition waits for the one in flight.
            Some(s) if s.op.is_some() || !s.queue.is_empty() => None,
            Some(s) => match s.phase {
                Phase::Asking { .. } => None,
                Phase::Waiting { until, .. } => Some(at.max(until)),
                // Backing off after a failure: read the store for a peer's token meanwhile.
                Phase::Idle if self.failure.is_some() => {
                    let wanted_from = self.usable(now).map_or(Time::ZERO, |t| t.refresh_at);
                    let every = self
                        .config
                        .share()
                        .map(|share| share.backoff_read_interval())
                        .unwrap_or_default();
                    let read = s
                        .last_read
                        .map_or(wanted_from, |r| r.saturating_add(every))
                        .max(wanted_from);
                    Some(at.min(read))
                }
                Phase::Idle | Phase::Fetching { .. } => Some(at),
            },
            None => Some(at),
        }
    }

    fn wants_request(&self, now: Time) -> bool {
        self.request_due_at(now).is_some_and(|at| now >= at)
    }

    fn next_wake(&self, now: Time) -> Option<Time> {
        let deadline = self.flight.as_ref().map(|f| f.deadline);
        let store = self
            .shared
            .as_ref()
            .and_then(|s| s.op.as_ref().map(|op| op.deadline));
        let request = self.request_due_at(now);
        let expiry = self
            .current
            .as_ref()
            .filter(|c| !c.invalidated && !c.expiry_reported)
            .map(|c| c.token.serve_until);
        [deadline, store, request, expiry]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// A `ClockSkew` event if the server's `created_at` lies outside the request's round trip
    /// by more than the threshold, on a wall clock.
    fn skew(&self, created_at: Option<u64>, sent: Time, received: Time) -> Option<Event> {
        let created_at = created_at.filter(|_| self.config.wall_clock)?;
        let sent = sent.as_millis() / 1000;
        let received = received.as_millis().div_ceil(1000);
        let skew_secs = if created_at > received.saturating_add(SKEW_THRESHOLD_SECS) {
            i64::try_from(created_at.saturating_sub(received)).unwrap_or(i64::MAX)
        } else if created_at.saturating_add(SKEW_THRESHOLD_SECS) < sent {
            i64::try_from(sent.saturating_sub(created_at)).map_or(i64::MIN, i64::saturating_neg)
        } else {
            return None;
        };
        Some(Event::ClockSkew {
            created_at,
            skew_secs,
        })
    }
}

impl core::fmt::Debug for TokenClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenClient")
            .field("endpoint", &self.config.endpoint)
            .field("client_id", &self.config.credentials.client_id())
            .field("state", &self.state(self.now).name())
            .field("now", &self.now)
            .field("token", &self.current.as_ref().map(|c| c.token.id))
            .field("in_flight", &self.flight.as_ref().map(|f| f.id))
            .field("consecutive_failures", &self.consecutive_failures)
            .field("sharing", &self.shared.as_ref().map(|s| &s.phase))
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn new(config: &Config, rng: &mut Rng) -> Option<Box<Shared>> {
        let share = config.share.as_ref()?;
        Some(Box::new(Shared {
            keys: Keys::new(config, share),
            owner_mark: rng.next_u64(),
            locks_taken: 0,
            next_op: 0,
            op: None,
            queue: VecDeque::new(),
            phase: Phase::Idle,
            failures_in_a_row: 0,
            resume_at: None,
            last_read: None,
        }))
    }

    /// The store is being left alone after a failure.
    fn resting(&self, now: Time) -> bool {
        self.resume_at.is_some_and(|at| now < at)
    }

    fn unlock(&mut self, lock: Option<String>) {
        if let Some(owner) = lock {
            let key = self.keys.lock.clone();
            self.queue
                .push_back((StoreCommand::Unlock { key, owner }, Purpose::Housekeeping));
        }
    }
}

/// `Bearer <token>` as a sensitive header value in a buffer of its own, wiped when dropped.
/// `None` only for a token that is no valid header value, which a b64token never is.
fn bearer(token: &AccessToken) -> Option<HeaderValue> {
    let text = token.expose_secret();
    let mut value = Vec::with_capacity(text.len().saturating_add(7));
    value.extend_from_slice(b"Bearer ");
    value.extend_from_slice(text.as_bytes());
    sensitive_header(value)
}

fn answer_name(answer: &StoreAnswer) -> &'static str {
    match answer {
        StoreAnswer::Found { .. } => "a value",
        StoreAnswer::Missing => "a missing key",
        StoreAnswer::Done => "done",
        StoreAnswer::Refused => "refused",
    }
}
