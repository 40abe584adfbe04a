//! A sans-IO OAuth 2.0 client-credentials token machine for the SEEK Pass partner API.
//!
//! [`TokenClient`] takes credentials, scopes and the current time; it emits `http::Request`s for
//! you to send, is fed their answers (or transport failures), and tells you the token's state and
//! the next moment it needs to be woken. It never opens a socket, reads a clock, spawns a task,
//! sleeps or draws randomness, so the same machine serves tokio, async-std, blocking code and
//! constrained targets, and runs in tests at any simulated speed.
//!
//! # The driver loop
//!
//! ```
//! use seekpass_oauth::{Config, Credentials, Endpoint, Output, RequestBody, Scope, Time, TokenClient,
//!                      TransportError};
//!
//! // Your HTTP client goes here. This one answers like SEEK Pass does.
//! fn send(_request: http::Request<RequestBody>) -> Result<http::Response<Vec<u8>>, TransportError> {
//!     let body = r#"{"access_token":"w7Ev7uW_dIZm","token_type":"Bearer","expires_in":7200,
//!                    "scope":"write.education","created_at":1795798685}"#;
//!     Ok(http::Response::new(body.as_bytes().to_vec()))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder(Endpoint::staging(), Credentials::new("my-client", "my-secret"))
//!     .scope(Scope::WRITE_EDUCATION)
//!     .build()?;
//! let now = Time::ZERO; // from your clock: `Origin::time(Instant::now())`
//! let mut client = TokenClient::new(config, now);
//!
//! let authorization = loop {
//!     // The hot path: a usable token is returned at once.
//!     if let Some(token) = client.token(now) {
//!         break token.authorization().clone();
//!     }
//!     // Otherwise drive the machine until it has nothing left to do right now.
//!     loop {
//!         match client.poll(now) {
//!             Output::Transmit(transmit) => {
//!                 let (id, request) = transmit.into_parts();
//!                 match send(request) {
//!                     Ok(response) => client.handle_response(id, response, now)?,
//!                     Err(error) => client.handle_transport_error(id, error, now)?,
//!                 }
//!             }
//!             Output::Event(event) => println!("{event:?}"),
//!             // Only with `.share(…)`: see the `Share` docs and the driver crates.
//!             Output::Store(_) => unreachable!(),
//!             // Nothing more to do before `at`: a driver task sleeps until then (or until a
//!             // token is asked for) and polls again.
//!             Output::Timeout(_at) => break,
//!             Output::Idle => break,
//!         }
//!     }
//! };
//! assert!(authorization.is_sensitive());
//! # Ok(()) }
//! ```
//!
//! A long-running service runs the inner loop in a task of its own, woken at each
//! [`Output::Timeout`] and whenever [`TokenClient::poll_needed`] turns true after a call to
//! [`TokenClient::token`]. The driver crates do exactly that, with a lock-free hot path:
//! `seekpass-oauth-blocking` for threads and `seekpass-oauth-async` for tokio, smol and
//! async-std; the `seekpass-token` command is built on the first.
//!
//! # States
//!
//! ```text
//!                 first demand (or RefreshMode::Always)
//!   Unfetched ───────────────────────────────► request in flight ◄────────────────────┐
//!                                               │ 2xx token       │ error, transport   │
//!                                               ▼                 ▼ failure, deadline  │ back-off over,
//!   ┌────────────────────────────────────► Fresh            Failed ─────────────────────┤ demand
//!   │ refreshed                              │ refresh_at     (no usable token)         │
//!   │                                        ▼                  ▲                      │
//!   └──────────────────────────────────── Expiring ─────────────┤ serve_until passes   │
//!           (refresh in flight or due;       │ serve_until      │ with the last        │
//!            token still served)             │ or invalidate    │ attempt failed       │
//!                                            ▼                  │                      │
//!                                         Expired ──────────────┴──────────────────────┘
//!                                     (no usable token)          demand
//! ```
//!
//! With [`ConfigBuilder::share`], "request in flight" is reached through the store, so that one
//! replica of a fleet fetches and the others adopt its token:
//!
//! ```text
//!   request wanted ──► read ──── a token newer than ours ───────────────────────► adopted (Fresh)
//!                       │ none
//!                       ▼
//!                      lock ──── refused ──► Waiting: read again, 250 ms doubling ──► adopted,
//!                       │ taken              to 5 s, until the wait ends ─────────► request in flight
//!                       ▼                    (the peer wait with no token; while    (no lock)
//!                       │                     a fetch of its own still fits with one)
//!                  read again ── a token ──► adopted, unlock
//!                       │ none
//!                       ▼
//!               request in flight ── 2xx ──► write the token, unlock
//!                                   └─ failure ──► keep the lock for the back-off
//!
//!   A store error or timeout at any step: request in flight without the store, which rests
//!   for 1 s doubling to 1 min.
//! ```
//!
//! Every transition lives in `src/machine/`: the token's in `mod.rs`, `flight.rs` and
//! `acquire.rs`, the sharing phases in `coordinator.rs` with their transition table. The rules:
//!
//! 1. A token's lifetime is counted from the moment its request was emitted, so latency never
//!    extends it.
//! 2. A refresh is due some margin before expiry while the old token keeps being served; the
//!    token stops being served a smaller margin before expiry. Margins scale down for short
//!    lifetimes ([`TimingPolicy`] has the defaults and their reasons).
//! 3. The refresh moment is drawn from a seed, evenly between half the lifetime and the refresh
//!    margin, so replicas started together spread out within a lifetime or two.
//! 4. At most one request is ever in flight; no two requests are emitted closer together than
//!    the minimum request interval (1 s).
//! 5. Each request has a deadline (30 s); passing it is a transport failure. Answers for requests
//!    no longer in flight are refused without changing anything ([`InputError`]).
//! 6. A missing `expires_in` means an assumed lifetime (15 min); a string `expires_in` is
//!    accepted; zero or negative is an already-expired token (transient failure); a huge one is
//!    capped (24 h).
//! 7. [`TokenClient::invalidate`] stops serving a token the API rejected and starts one refresh,
//!    however many times it is reported.
//! 8. [`TokenClient::reconfigure`] with another client id, other scopes or another endpoint drops
//!    the old token. A new client secret alone is a rotation: the token is served until its
//!    normal refresh, which sends the new secret, and a failed attempt is retried with it at once.
//! 9. In the default [`RefreshMode::WhileUsed`], the first fetch waits for the first demand and
//!    refreshes run ahead of expiry only while the token is being asked for: an idle service
//!    stops costing the token endpoint anything within one token lifetime, and a busy one never
//!    waits for a refresh.
//!
//! # Sharing a token across replicas
//!
//! With [`ConfigBuilder::share`] the replicas of a service share one token through a store they all
//! reach (Redis, Valkey): one token request per lifetime for the whole fleet, cold start included.
//! The coordination stays sans-IO: [`Output::Store`] hands the driver a [`StoreOp`] to perform, and
//! [`TokenClient::handle_store`] takes its result. A store that fails or is slow only costs the
//! sharing: the replica fetches on its own. [`Share`] describes the protocol, its clocks and its
//! defaults; the driver crates' `redis` feature performs it on Redis.
//!
//! # Many credentials: the keyed pool
//!
//! A platform serving many institutions holds one client credential per institution.
//! [`TokenPool`] multiplexes one [`TokenClient`] per key behind one `poll` and one next wake: it
//! asks for a key's configuration when the key is first seen ([`PoolOutput::Resolve`]), tags
//! every output with its key, and keeps [`PoolLimits`]: at most so many entries (least recently
//! used evicted, idle ones too, their secrets wiped), at most so many token requests in flight
//! and per second across keys, with callers waiting for a first token served before refreshes.
//! Within its limits it behaves, key by key, exactly as independent machines (a property test
//! and the `pool` fuzz target check this against them). `docs/pool.md` has the rules.
//!
//! # Failures
//!
//! Responses are classified ([`TokenError`], [`FailureClass`]): wrong credentials, scopes, URL
//! or grant are **permanent** and retried only after a long back-off (5 min doubling to 1 h) or
//! a configuration change; 408, 425, 429, 5xx, transport failures and deadlines are
//! **transient**, retried with exponential back-off (1 s doubling to 5 min) honouring
//! `Retry-After` (up to 10 min). Error messages say what to do, and never contain the client
//! secret or a token.
//!
//! # Panics, errors and secrets
//!
//! Nothing a server, a network or a caller sends makes this crate panic: bad input is a typed
//! error. Time arithmetic saturates. The client secret and access tokens print as `[redacted]`
//! in every `Debug` and `Display`, and the `Authorization` values are marked sensitive.
//!
//! # Scope of the crate
//!
//! In scope: the client-credentials grant (RFC 6749 §4.4), `client_secret_post` and
//! `client_secret_basic` client authentication, token lifetime management, retry policy.
//! Out of scope: other grants, refresh tokens (this grant has none), token introspection,
//! validating tokens (they are opaque), any I/O.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// No panic on anything a server, a network or a caller sends: `unwrap`, `expect`, `panic!`,
// indexing and unchecked arithmetic are denied in every crate (`[workspace.lints]`).

mod classify;
mod config;
mod credentials;
mod endpoint;
mod error;
mod event;
mod ids;
mod machine;
mod output;
mod policy;
mod pool;
mod redact;
mod redirect;
mod request;
mod retry_after;
mod rng;
mod scope;
mod secret;
mod share;
mod shared_token;
mod state;
mod store;
mod store_key;
mod time;
mod token;
mod user_agent;
pub mod wire;

pub use config::{Config, ConfigBuilder};
pub use credentials::{pasted_character, ClientAuth, Credentials};
pub use endpoint::{Endpoint, PRODUCTION_URL, STAGING_URL, TOKEN_PATH};
pub use error::{
    ConfigError, ErrorCode, FailureClass, InputError, ResponseProblem, TokenError, TransportError,
    TransportErrorKind,
};
pub use event::Event;
pub use ids::{RequestId, StoreId, TokenId};
pub use machine::TokenClient;
pub use output::Output;
pub use policy::{MissingExpiresIn, RefreshMode, RetryPolicy, TimingPolicy};
pub use pool::{
    Eviction, Lookup, PoolLimits, PoolOutput, TokenPool, WAITING_PIN as POOL_WAITING_PIN,
};
pub use redact::shown_url;
pub use redirect::RedirectRefusal;
pub use request::{RequestBody, Transmit};
pub use scope::{Scope, Scopes};
pub use secret::{sensitive_copy, AccessToken, ClientSecret};
pub use share::Share;
pub use state::TokenState;
pub use store::{StoreAnswer, StoreCommand, StoreError, StoreErrorKind, StoreOp, StoredValue};
pub use store_key::fnv1a_128;
pub use time::{Origin, Time};
pub use token::{LifetimeSource, Token};
pub use user_agent::PRODUCT as USER_AGENT_PRODUCT;

/// Re-exported so callers build and match requests and responses with the same `http` version.
pub use http;

/// Entry points for the crate's own benchmarks (`benches/token.rs`), which measure single
/// steps that the public API only offers inside larger ones. Not part of the API: hidden from the
/// docs and exempt from semantic versioning.
#[doc(hidden)]
pub mod __bench {
    /// Classifies a token endpoint answer exactly as the machine does, without a machine
    /// around it: `Ok` for a usable token, `Err` with the typed error otherwise. The token is
    /// built and dropped (and wiped) inside.
    pub fn classify<B: AsRef<[u8]>>(
        response: &http::Response<B>,
    ) -> Result<(), crate::error::TokenError> {
        static REDACTOR: std::sync::OnceLock<crate::redact::Redactor> = std::sync::OnceLock::new();
        let redactor = REDACTOR.get_or_init(|| crate::redact::Redactor::new("bench-secret"));
        crate::classify::classify(response, 64 * 1024, redactor, None).map(drop)
    }
}
