//! The blocking driver for [`seekpass-oauth`](seekpass_oauth): a SEEK Pass bearer token for
//! any number of threads, with no background thread.
//!
//! ```
//! use seekpass_oauth::{Config, Credentials, Endpoint, Scope};
//! use seekpass_oauth_blocking::TokenSource;
//! # let demo = seekpass_oauth_demo::DemoServer::start(std::time::Duration::from_secs(60))?;
//! # let seek_pass_url = demo.base_url(); // SEEK_PASS_URL, say https://app.seekpass-staging.com
//!
//! let config = Config::builder(
//!     Endpoint::base_url(&seek_pass_url)?,
//!     Credentials::new("demo-client", "demo-secret"),
//! )
//! .scope(Scope::WRITE_EDUCATION)
//! .build()?;
//! let source = TokenSource::new(config); // ureq with rustls; clone it into every thread
//!
//! // On every API call: no lock, no allocation, no wait while a token is usable.
//! let authorization = source.authorization()?;
//! assert!(authorization.is_sensitive());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - **Single flight across threads.** With no usable token, the first caller that finds work
//!   due (the first token, a retry) sends the request itself and the others wait for it. A
//!   refresh due while the token is usable goes to a short-lived thread, store operations and
//!   all, so no caller holding a usable token ever waits on I/O. The wait is bounded
//!   ([`Builder::max_wait`]), and a
//!   permanent failure, or transient ones past [`Builder::max_attempts`], reach every waiting
//!   caller at once as [`Error::GaveUp`].
//! - **A token the API rejected**: pass [`Served::token`] to [`TokenSource::invalidate`];
//!   however many threads report it, one new token is fetched.
//! - **Events**: [`Builder::on_event`] receives each of the machine's events for `log`,
//!   `tracing` or metrics; the crate picks none of them.
//! - **One token for the whole fleet**: with
//!   [`ConfigBuilder::share`](seekpass_oauth::ConfigBuilder::share) and [`Builder::store`]
//!   ([`RedisStore`] with feature `redis`), replicas read, lock and write one shared token; a
//!   store that fails or is slow costs nothing but the sharing (see [`Share`](seekpass_oauth::Share)).
//! - **Senders**: [`UreqSender`] (feature `ureq`, the default) or [`WireSender`] (feature
//!   `wire`: the core's HTTP/1.1 codec over any `Read + Write`), or any [`Sender`] of yours.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod changes;
mod pool;
#[cfg(feature = "redis")]
mod redis;
mod sender;
mod source;
mod store;
#[cfg(feature = "ureq")]
mod ureq;
#[cfg(feature = "wire")]
mod wire;

pub use pool::{PoolBuilder, Resolver, SourcePool};
#[cfg(feature = "redis")]
pub use redis::RedisStore;
pub use sender::Sender;
pub use source::{Builder, TokenSource};
pub use store::Store;
#[cfg(feature = "ureq")]
pub use ureq::UreqSender;
#[cfg(feature = "wire")]
pub use wire::{Connect, PlainTcp, WireSender};

pub use seekpass_oauth;
#[cfg(feature = "ureq")]
pub use seekpass_oauth_driver::trust::CaFileError;
pub use seekpass_oauth_driver::{
    Error, FileStore, Health, SecretSource, SecretSourceError, SecretSourceErrorKind, Served,
    State, CHECK_INTERVAL, COMMAND_TIMEOUT, MAX_SECRET_BYTES,
};
