//! The internals the [`seekpass-oauth`](seekpass_oauth) drivers share, so each of them adds only
//! its I/O: the blocking driver (`seekpass-oauth-blocking`) and the async one
//! (`seekpass-oauth-async`) are thin loops around this crate. Use one of those.
//!
//! Only what both drivers re-export ([`Error`], [`Served`], [`State`], [`Health`], [`SecretSource`]
//! and its error, [`FileStore`]) and the telemetry names ([`telemetry`]) are this crate's public
//! API. Everything else is hidden from these docs and may change in any release: it is published
//! only because the drivers depend on it.
//!
//! - `Engine`: the sans-IO machine behind a mutex. `Engine::step` transfers callers' demand,
//!   polls, delivers events, counts failures towards giving up and publishes the usable token; it
//!   returns the request to send (if any) and the moment to step again.
//! - `TokenCell`: the hot path. Callers read the published token without a lock, an allocation
//!   or a write to memory another core reads, whatever the driver is doing.
//! - `trust` (feature `trust`): which CAs a TLS sender trusts (`SSL_CERT_FILE`, the system
//!   store, explicit CA files), chosen as curl and OpenSSL choose them.
//! - `proxy`: which proxy a request goes through, from the environment exactly as curl reads
//!   it; both shipped senders are configured from it.
//! - [`SecretSource`]: where the client secret is read from (a variable, a file, a command, a
//!   function) and when it is read again; the engine reads it and rotates the secret.
//! - `transport`: naming transport failures (DNS, refused, timeout) from any client's errors.
//! - `wire`: the pieces a sender needs around the core's HTTP/1.1 codec.
//! - `redis` (feature `redis`): the shared-token store protocol in Redis commands, for the
//!   drivers' Redis stores.
//!
//! ```
//! use seekpass_oauth::{Config, Credentials, Endpoint};
//! use seekpass_oauth_driver::{Engine, Settings};
//!
//! let config = Config::builder(Endpoint::staging(), Credentials::new("id", "secret")).build()?;
//! let engine = Engine::new(config, Settings::default());
//! let (token, _kick) = engine.read(); // a caller: no token yet, demand recorded
//! assert!(token.is_none());
//! let step = engine.step(); // the driver: a request to send
//! let send = step.transmit.expect("the first demand sends a request");
//! assert_eq!(send.request.uri().path(), "/api/partner/v1/oauth/token.json");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cell;
#[doc(hidden)]
pub mod clock;
mod engine;
mod error;
mod file_store;
mod health;
mod pool;
#[doc(hidden)]
pub mod proxy;
#[cfg(feature = "redis")]
#[doc(hidden)]
pub mod redis;
mod secret_source;
mod state;
pub mod telemetry;
#[doc(hidden)]
pub mod transport;
#[cfg(feature = "trust")]
#[doc(hidden)]
pub mod trust;
#[doc(hidden)]
pub mod wire;

pub use cell::Served;
#[doc(hidden)]
pub use cell::{Kick, TokenCell, Wake};
#[doc(hidden)]
pub use engine::{Engine, EventHandler, Outgoing, SecretWork, Settings, Step, StoreWork, Waiting};
pub use error::Error;
pub use file_store::FileStore;
pub use health::Health;
#[doc(hidden)]
pub use pool::{Found, PoolEngine, PoolEventHandler, PoolSettings, PoolStep, USE_REPORT_INTERVAL};
pub use secret_source::{
    SecretSource, SecretSourceError, SecretSourceErrorKind, CHECK_INTERVAL, COMMAND_TIMEOUT,
    MAX_SECRET_BYTES,
};
pub use state::State;
