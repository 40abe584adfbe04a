//! What the workspace's tests, benches, fuzz targets and examples share, so no helper is copied
//! between them and no test reaches into another folder with `#[path]`. Not published.
//!
//! | module | what it holds |
//! |---|---|
//! | [`scenario`] | a fake clock and a scripted server around one [`TokenClient`](seekpass_oauth::TokenClient), store included |
//! | [`memory_store`] | an in-memory store with expiring keys, answering the machine's store operations |
//! | [`fleet`] | the fleet simulation: many replicas, one simulated token endpoint, a faulty store |
//! | [`pool`] | a keyed pool on a fake clock, a token endpoint for the drivers' pools, and the pool benches' walk over keys |
//! | [`pool_sim`] | the platform simulation: many institutions, skewed demand or a cold start, one pool |
//! | [`fuzz`] | the properties the fuzz targets check, and the reference model they compare against |
//! | [`body`] | token endpoint answers |
//! | [`demo`] | configurations for the demo client, and a demo server with one |
//! | [`events`] | collecting a driver's events from any thread |
//! | [`future`] | polling a driver's future once, ready at once |
//! | [`source`] | the workspace's own source files, for tests that read the code |
//! | [`net`] | loopback addresses nobody listens on, and servers that never answer |
//! | [`secrets`] | a token endpoint whose accepted secrets rotate, and secret files changed as editors and Kubernetes change them |
//! | [`proxy_table`] | where each proxy environment sends a request, as curl does it, and a lab of recording proxies |
//! | [`env`](mod@env) | a command with the variables it reads cleared |
//! | [`alloc`] | a global allocator that counts one thread's allocations |
//! | `baseline` (feature `bench`) | the hand-written alternatives the drivers' hot paths are benchmarked against |
//! | [`interop`] | the API side of a real Doorkeeper (`token/info`, revocation, issued tokens) and where the servers are |
//! | [`redis`] | a Redis of a test's own, to stop, restart or serve over TLS, its URL kept out of the output |
//! | [`load`] | many threads released at once |
//! | `tls` (feature `tls`) | a private CA made at test time, an HTTPS front and a CONNECT proxy |
//!
//! The README's and `docs/`'s Rust examples compile and run as this crate's doctests.

#![deny(unsafe_code)]
#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

pub mod alloc;
#[cfg(feature = "bench")]
pub mod baseline;
pub mod body;
pub mod demo;
pub mod env;
pub mod events;
pub mod fleet;
pub mod future;
pub mod fuzz;
pub mod interop;
pub mod load;
pub mod memory_store;
pub mod net;
pub mod pool;
pub mod pool_sim;
pub mod proxy_table;
pub mod redis;
pub mod relay;
pub mod scenario;
pub mod secrets;
pub mod source;
#[cfg(feature = "tls")]
pub mod tls;

/// The README's examples.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;

/// `docs/sharing.md`'s examples.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/sharing.md")]
pub struct SharingExamples;

/// `docs/secrets.md`'s examples.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/secrets.md")]
pub struct SecretsExamples;

/// `docs/wire.md`'s examples.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/wire.md")]
pub struct WireExamples;

/// The blocking driver's README.
#[cfg(doctest)]
#[doc = include_str!("../../seekpass-oauth-blocking/README.md")]
pub struct BlockingReadmeExamples;

/// The async driver's README.
#[cfg(doctest)]
#[doc = include_str!("../../seekpass-oauth-async/README.md")]
pub struct AsyncReadmeExamples;
