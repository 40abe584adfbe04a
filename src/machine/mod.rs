//! The token machine: its inputs, its one output and the dispatch between them.
//!
//! Inputs: [`TokenClient::poll`] (time passing), [`TokenClient::token`] (demand),
//! [`TokenClient::handle_response`], [`TokenClient::handle_transport_error`],
//! [`TokenClient::handle_store`], [`TokenClient::invalidate`] and [`TokenClient::reconfigure`].
//! Outputs come only from `poll`. The state diagram is in the crate docs.
//!
//! The rooms:
//!
//! | file | what it owns |
//! |---|---|
//! | `mod.rs` | the machine's fields, every input, what time alone changes (`advance`) |
//! | `deadline.rs` | the moments time alone acts on, read by both `advance` and `next_wake` |
//! | `flight.rs` | the request in flight: emitting it, redirects, matching answers |
//! | `acquire.rs` | how an attempt ends: a token taken up (fetched or adopted) or a failure and its back-off |
//! | `build.rs` | the one token builder, shared by fetching and adopting |
//! | `coordinator.rs` | the sharing sub-machine: every change of phase through the store, with its own diagram and table |
//! | `rotation.rs` | a change of the client secret alone: the token kept, a failed attempt retried with the new secret |
//! | `due.rs` | what the state implies: the token to serve, whether a request is wanted and when, the next wake |
//! | `pooled.rs` | what a [`TokenPool`](crate::TokenPool) needs: ids that never repeat for a key, the request permit |

use std::borrow::Cow;
use std::collections::VecDeque;

use http::{HeaderValue, Response};

use crate::classify::classify;
use crate::config::Config;
use crate::error::{InputError, TokenError, TransportError};
use crate::event::Event;
use crate::ids::{RequestId, StoreId, TokenId};
use crate::output::Output;
use crate::redact::Redactor;
use crate::request::PreparedRequest;
use crate::retry_after::retry_after;
use crate::rng::Rng;
use crate::secret::AccessToken;
use crate::state::TokenState;
use crate::store::{StoreAnswer, StoreError, StoreErrorKind, StoreOp, StoredValue};
use crate::store_key::Keys;
use crate::time::Time;
use crate::token::Token;

use coordinator::{Answered, Coordinator};
use deadline::Deadline;
use flight::{Failure, Flight, Hop};
use refusal::{Refusals, TokenRefusals};

mod acquire;
mod build;
mod coordinator;
mod deadline;
mod due;
mod flight;
mod pooled;
mod refusal;
mod rotation;

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
    /// A followed redirect waiting to be emitted: the same attempt, continued. Boxed, as is
    /// the failure: both are rare, and inline they would cost every idle machine (a pool holds
    /// thousands) about 230 bytes.
    hop: Option<Box<Hop>>,
    failure: Option<Box<Failure>>,
    consecutive_failures: u32,
    /// A token was asked for since the last request was emitted.
    demand: bool,
    last_emit: Option<Time>,
    next_request: u64,
    next_token: u64,
    events: VecDeque<Event>,
    /// Present when the configuration shares its token through a store.
    shared: Option<Box<Coordinator>>,
    /// The API's refusals of recent tokens (see `refusal.rs`).
    refusals: Refusals,
    /// The request in flight was sent with a secret a rotation has since replaced (see
    /// `rotation.rs`).
    sent_with_old_secret: bool,
    /// Whether a request may start when one is due: always, except for a machine in a
    /// [`TokenPool`](crate::TokenPool) waiting for the pool's permit (see `pooled.rs`).
    permit: bool,
    /// Store operation ids are never reused: a sub-machine replaced by a reconfiguration hands
    /// its count on, so an answer to one of its operations cannot match a new one.
    retired_ops: u64,
}

/// The last acquired token and what has happened to it since.
struct Current {
    token: Token,
    invalidated: bool,
    /// The API's refusals of it.
    refusals: TokenRefusals,
    expiry_reported: bool,
    /// The token's value in the store, when it is the fleet's shared token: what a
    /// compare-and-delete must match to forget it.
    stored: Option<StoredValue>,
    /// The server handed back the token it had already issued (Doorkeeper's
    /// `reuse_access_token`): it will until the token expires, so once it is no longer served
    /// the next request waits for its expiry.
    reused: bool,
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
            shared: Coordinator::new(&config, &mut rng, 0),
            refusals: Refusals::default(),
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
            sent_with_old_secret: false,
            permit: true,
            retired_ops: 0,
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
            || self.shared.as_ref().is_some_and(|s| s.busy());
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
            || self
                .deadlines()
                .into_iter()
                .flatten()
                .any(|d| now >= d.at())
            || self.shared.as_ref().is_some_and(|s| s.ready_to_send())
            || self.wants_request(now)
    }

    // ----- inputs --------------------------------------------------------------------------

    /// Asks for the token at `now`: the hot path. Returns it while it is usable; `None`
    /// otherwise, in which case poll the machine (a request may now be due) and ask again when
    /// it has answered.
    ///
    /// Every call counts as demand: in [`RefreshMode::WhileUsed`](crate::RefreshMode::WhileUsed) it is what keeps refreshes
    /// ahead of expiry.
    #[inline]
    pub fn token(&mut self, now: Time) -> Option<&Token> {
        self.demand(now);
        let now = self.now;
        self.usable(now)
    }

    /// Records at `now` that a token is wanted, without reading it: what a driver does with
    /// the demand its callers recorded elsewhere (in a lock-free cell, say). [`TokenClient::token`]
    /// does this too.
    #[inline]
    pub fn demand(&mut self, now: Time) {
        self.now = self.now.max(now);
        self.demand = true;
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
            return self.emit_hop(*hop);
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
        let Some(shared) = self.shared.as_mut() else {
            return Err(InputError::UnknownStoreOp(id));
        };
        let flight = shared.take_op(id)?;
        let answer = match result {
            Ok(answer) => answer,
            Err(error) => {
                self.store_failed(flight.command(), error, now);
                return Ok(());
            }
        };
        let serve_until = self.usable(now).map(|t| t.serve_until);
        let (Some(share), Some(shared)) = (self.config.share(), self.shared.as_mut()) else {
            return Ok(());
        };
        match shared.answered(flight, answer, now, share, serve_until) {
            Answered::Done => {}
            Answered::Read {
                found,
                sent_at,
                then,
            } => {
                let adopted = match found {
                    Some((value, ttl)) => self.read_found(sent_at, value, ttl, now),
                    None => false,
                };
                let requests_allowed = now >= self.gate();
                let lock_ttl = self.config.request_deadline;
                if let Some(shared) = self.shared.as_mut() {
                    shared.after_read(then, adopted, requests_allowed, lock_ttl);
                }
            }
            Answered::Wrong { command, error } => self.store_failed(command, error, now),
        }
        Ok(())
    }

    /// Reports that the API rejected `token` (a 401). If it is the current token it stops
    /// being served and one refresh starts (once the minimum request interval and any back-off
    /// allow); further reports for it, and reports for older tokens, change nothing. Returns
    /// whether the report was taken.
    ///
    /// A refusal is evidence, not a command: when a token fetched to replace a refused one is
    /// refused too, within a minute of its issue, the cause is likely not the token, and its
    /// refusals are not taken for a hold that doubles with each such token
    /// ([`RetryPolicy::refused_tokens`](crate::RetryPolicy::refused_tokens), 1 s to 5 min by
    /// default); [`Event::TokenRefusedAgain`] says so. Meanwhile the token is still served and
    /// the caller passes the 401 on. A refusal long after issue is taken at once.
    pub fn invalidate(&mut self, token: TokenId, now: Time) -> bool {
        self.advance(now);
        if !self.refusal_taken(token, self.now) {
            return false;
        }
        let Some(current) = self.current.as_mut() else {
            return false;
        };
        current.invalidated = true;
        self.demand = true;
        self.events.push_back(Event::TokenInvalidated { token });
        if let (Some(value), Some(shared)) = (current.stored.clone(), self.shared.as_mut()) {
            shared.forget(value, self.now);
        }
        true
    }

    /// Replaces the configuration.
    ///
    /// - Policy changes alone keep everything.
    /// - A new client secret alone (a rotation: the same token URL, client id, scopes, client
    ///   authentication and extra parameters) keeps the current token served until its normal
    ///   refresh, which sends the new secret; a failed attempt is retried with it at once, and
    ///   a request in flight is kept ([`Event::SecretRotated`]).
    /// - Any other change to what is sent (the client id, scopes, endpoint, client
    ///   authentication, extra parameters) drops the current token, abandons a request in
    ///   flight, resets back-off, and fetches a new token if the old one was in use.
    pub fn reconfigure(&mut self, config: Config, now: Time) {
        self.advance(now);
        let prepared = PreparedRequest::new(&config);
        if prepared != self.prepared {
            let secret = config.credentials.client_secret();
            let new_secret = secret != self.config.credentials.client_secret();
            if !config.issues_same_tokens_as(&self.config) {
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
                self.refusals = Refusals::default();
                self.sent_with_old_secret = false;
            } else if new_secret {
                self.rotate_secret();
            }
            // Only a new secret moves the redactor on: another change that keeps the secret
            // must not push the previous one out while its echoes may still arrive.
            if new_secret {
                self.redactor = self.redactor.rotated(secret.expose_secret());
            }
            self.prepared = prepared;
        }
        let keys = config.share.as_ref().map(|share| Keys::new(&config, share));
        if keys.as_ref() != self.shared.as_ref().map(|s| s.keys()) {
            // The old lock, if held, expires on its own; answers to old operations are refused.
            self.retired_ops = self.store_ops_issued();
            self.shared = Coordinator::new(&config, &mut self.rng, self.retired_ops);
        }
        self.config = config;
    }

    // ----- transitions ---------------------------------------------------------------------

    /// Moves time forward (never back) and applies what time alone changes: a passed deadline
    /// and a token reaching the end of its serving time.
    fn advance(&mut self, now: Time) -> Time {
        self.now = self.now.max(now);
        let now = self.now;
        for deadline in self.deadlines().into_iter().flatten() {
            if now < deadline.at() {
                continue;
            }
            match deadline {
                Deadline::Request(_) => {
                    if let Some(flight) = self.flight.take() {
                        let after = flight.deadline.saturating_duration_since(flight.emitted_at);
                        self.fail(flight.id, TokenError::DeadlineExceeded { after }, None, now);
                    }
                }
                Deadline::StoreOp(_) => {
                    if let Some(op) = self.shared.as_mut().and_then(|s| s.take_late(now)) {
                        let error = StoreError::new(
                            StoreErrorKind::Timeout,
                            format!("no answer within {} ms", op.allowed().as_millis()),
                        );
                        self.store_failed(op.command(), error, now);
                    }
                }
                Deadline::ServeUntil(_) => {
                    if let Some(current) = &mut self.current {
                        current.expiry_reported = true;
                        let token = current.token.id;
                        self.events.push_back(Event::TokenExpired { token });
                    }
                }
                Deadline::RequestDue(_) => {}
            }
        }
        now
    }

    /// The moments at which time alone changes something: the deadlines of the request and the
    /// store operation in flight, and the end of the current token's serving time (until
    /// reported).
    fn deadlines(&self) -> [Option<Deadline>; 3] {
        [
            self.flight.as_ref().map(|f| Deadline::Request(f.deadline)),
            self.shared
                .as_ref()
                .and_then(|s| s.op_deadline())
                .map(Deadline::StoreOp),
            self.current
                .as_ref()
                .filter(|c| !c.invalidated && !c.expiry_reported)
                .map(|c| Deadline::ServeUntil(c.token.serve_until)),
        ]
    }

    /// Starts an acquisition through the store, or says to fetch directly (see
    /// [`Coordinator::begin`]).
    fn ask_store_first(&mut self, now: Time) -> bool {
        let serve_until = self.usable(now).map(|t| t.serve_until);
        match (self.config.share(), self.shared.as_mut()) {
            (Some(share), Some(shared)) => shared.begin(now, share, serve_until, &mut self.rng),
            _ => false,
        }
    }

    /// Emits the next queued store operation if none is in flight.
    fn send_store(&mut self, now: Time) -> Option<StoreOp> {
        let share = self.config.share()?;
        self.shared.as_mut()?.send(now, share)
    }

    /// One more than the highest store operation id issued, by this sub-machine or any it
    /// replaced.
    fn store_ops_issued(&self) -> u64 {
        self.shared
            .as_ref()
            .map_or(self.retired_ops, |s| s.next_op().max(self.retired_ops))
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
            .field("sharing", &self.shared.as_ref().map(|s| s.phase()))
            .finish_non_exhaustive()
    }
}
