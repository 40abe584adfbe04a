//! The async driver for [`seekpass-oauth`](seekpass_oauth): a SEEK Pass bearer token shared by
//! every task, on tokio, smol or async-std, with a middleware for `reqwest-middleware`.
//!
//! ```
//! use seekpass_oauth::{Config, Credentials, Endpoint, Scope};
//! use seekpass_oauth_async::{ReqwestSender, TokenSource};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let demo = seekpass_oauth_demo::DemoServer::start(std::time::Duration::from_secs(60))?;
//! # let seek_pass_url = demo.base_url(); // SEEK_PASS_URL, say https://app.seekpass-staging.com
//!
//! let config = Config::builder(
//!     Endpoint::base_url(&seek_pass_url)?,
//!     Credentials::new("demo-client", "demo-secret"),
//! )
//! .scope(Scope::WRITE_EDUCATION)
//! .build()?;
//! // One driver task on the current tokio runtime; clone the source into every task.
//! let source = TokenSource::builder(config).spawn(ReqwestSender::new()?);
//!
//! // On every API call: no lock, no allocation, no wait while a token is usable.
//! let authorization = source.authorization().await?;
//! assert!(authorization.is_sensitive());
//! # Ok(()) }
//! ```
//!
//! - **One driver task per source.** It sends the token requests, feeds the answers to the
//!   machine and sleeps until the machine's next moment or a caller's nudge; it ends when the
//!   last clone of the source is dropped. Callers never wait on it while a token is usable.
//! - **Bounded waits.** A caller with no usable token waits for the driver, at most
//!   [`Builder::max_wait`]; a permanent failure, or transient ones past
//!   [`Builder::max_attempts`], reach every waiting caller at once as [`Error::GaveUp`].
//! - **A token the API rejected**: pass [`Served::token`] to [`TokenSource::invalidate`], or let
//!   [`BearerAuth`] (feature `middleware`) or [`BearerLayer`] (feature `tower`) do it and retry
//!   the request.
//! - **Events**: [`Builder::on_event`] receives each of the machine's events for `log`,
//!   `tracing` or metrics; the crate picks none of them.
//!
//! # Runtimes and senders
//!
//! | feature | what it brings |
//! |---|---|
//! | `tokio` (default) | [`TokioTimer`] and [`Builder::spawn`] onto the current runtime |
//! | `smol` | [`AsyncIoTimer`] and [`Builder::build_smol`]: smol and async-std share async-io's reactor and timer, so one feature serves both (async-std is deprecated in favour of smol) |
//! | `reqwest` (default) | [`ReqwestSender`]: reqwest 0.13 with rustls |
//! | `wire` | [`WireSender`]: the core's HTTP/1.1 codec over any async byte stream you connect (with `smol`, [`PlainTcp`] for `http`) |
//! | `middleware` | [`BearerAuth`] for `reqwest-middleware`, over a source or a pool |
//! | `tower` | [`BearerLayer`], a `tower::Layer` with the same rules, for hyper, tonic and other clients on `http::Request` |
//!
//! Any other runtime: implement [`Timer`], call [`Builder::build`] and spawn the [`Driver`].
//! Any other HTTP client: implement [`Sender`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(all(feature = "redis", not(any(feature = "tokio", feature = "smol"))))]
compile_error!(
    "seekpass-oauth-async: the `redis` feature needs a runtime feature as well, `tokio` or \
     `smol` (redis-rs's async connection runs on the driver's runtime)"
);

#[cfg(any(feature = "middleware", feature = "tower"))]
mod bearer;
mod by_deadline;
#[cfg(feature = "middleware")]
mod middleware;
mod pool;
#[cfg(all(feature = "redis", any(feature = "tokio", feature = "smol")))]
mod redis;
#[cfg(feature = "reqwest")]
mod reqwest;
mod sender;
mod source;
mod store;
mod timer;
#[cfg(feature = "tower")]
mod tower;
#[cfg(feature = "wire")]
mod wire;

#[cfg(any(feature = "middleware", feature = "tower"))]
pub use bearer::{Authorizer, PoolAuth, PoolKey, RequestHead};
#[cfg(feature = "middleware")]
pub use middleware::{rejects_token, BearerAuth};
pub use pool::{AsyncResolver, PoolBuilder, PoolFuture, ResolveFuture, SourcePool};
#[cfg(all(feature = "redis", any(feature = "tokio", feature = "smol")))]
pub use redis::RedisStore;
#[cfg(feature = "reqwest")]
pub use reqwest::{ReqwestSender, ReqwestSenderError};
pub use sender::Sender;
pub use source::{Builder, Driver, FromServed, TokenFuture, TokenSource};
pub use store::{Store, StoreFuture};
#[cfg(feature = "smol")]
pub use timer::AsyncIoTimer;
#[cfg(feature = "tokio")]
pub use timer::TokioTimer;
pub use timer::{Sleep, Timer};
#[cfg(feature = "tower")]
pub use tower::{Bearer, BearerFuture, BearerLayer, BoxError, CloneBody, NoReplay, ReplayBody};
#[cfg(all(feature = "wire", feature = "smol"))]
pub use wire::PlainTcp;
#[cfg(feature = "wire")]
pub use wire::{Connect, WireSender};

pub use seekpass_oauth;
pub use seekpass_oauth_driver::{
    Error, FileStore, Health, SecretSource, SecretSourceError, SecretSourceErrorKind, Served,
    State, CHECK_INTERVAL, COMMAND_TIMEOUT, MAX_SECRET_BYTES,
};
