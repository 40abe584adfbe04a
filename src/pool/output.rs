//! What a [`TokenPool`](crate::TokenPool) asks its driver to do next, and what a lookup finds.

use crate::event::Event;
use crate::request::Transmit;
use crate::store::StoreOp;
use crate::time::Time;
use crate::token::Token;

/// The answer of [`TokenPool::poll`](crate::TokenPool::poll): the next thing to do, tagged with
/// the key it is for. Poll until it returns [`PoolOutput::Timeout`] or [`PoolOutput::Idle`].
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "a Resolve must be answered, a Transmit sent and a Timeout honoured"]
pub enum PoolOutput<K> {
    /// Find the configuration for `key` (the caller's resolver: a database row, a vault
    /// path) and feed it to [`TokenPool::resolved`](crate::TokenPool::resolved): `None` when
    /// the key is unknown.
    Resolve {
        /// The key asked for.
        key: K,
    },
    /// Send this token request for `key` and feed its answer (or failure) back with the key.
    Transmit {
        /// The key the request is for.
        key: K,
        /// The request.
        transmit: Transmit,
    },
    /// Perform this store operation for `key` and feed its result back with the key.
    Store {
        /// The key the operation is for.
        key: K,
        /// The operation.
        op: StoreOp,
    },
    /// Something happened to `key`'s token worth logging or counting.
    Event {
        /// The key it happened to.
        key: K,
        /// What happened.
        event: Event,
    },
    /// `key`'s entry was dropped by the pool, its secret and token wiped. A later lookup of the
    /// key resolves it again.
    Evicted {
        /// The key.
        key: K,
        /// Why.
        reason: Eviction,
    },
    /// `key` has no configuration: the resolver said so or did not answer within
    /// [`PoolLimits::resolve_deadline`](crate::PoolLimits::resolve_deadline). Callers waiting
    /// for it should be told; lookups answer [`Lookup::Unknown`] for
    /// [`PoolLimits::remember_unknown`](crate::PoolLimits::remember_unknown).
    Unknown {
        /// The key.
        key: K,
    },
    /// Nothing to do before this moment (always later than the `now` polled with): poll again
    /// then, or earlier if something is fed in or a lookup finds no token.
    Timeout(Time),
    /// Nothing to do until something is fed in or a token is asked for.
    Idle,
}

/// Why a [`TokenPool`](crate::TokenPool) dropped an entry ([`PoolOutput::Evicted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Eviction {
    /// The pool was full ([`PoolLimits::max_entries`](crate::PoolLimits::max_entries)) and this
    /// entry was the least recently asked for.
    LeastRecentlyUsed,
    /// Not asked for within [`PoolLimits::idle_after`](crate::PoolLimits::idle_after).
    Idle,
}

/// What [`TokenPool::token`](crate::TokenPool::token) finds for a key.
#[derive(Debug)]
#[non_exhaustive]
pub enum Lookup<'a> {
    /// The key's usable token.
    Token(&'a Token),
    /// No token yet: the key's configuration is being resolved, or its token fetched (or its
    /// fetch failed: see [`TokenPool::state`](crate::TokenPool::state)). Poll the pool and ask
    /// again.
    Pending,
    /// The resolver found no configuration for the key (recently): the caller's error.
    Unknown,
    /// The pool is full ([`PoolLimits::max_entries`](crate::PoolLimits::max_entries)) and
    /// every entry is pinned (resolving, its request on the wire, or a caller waiting for its
    /// first token): the key gets an entry when one frees. Ask again later, as for `Pending`.
    Full,
}

impl<'a> Lookup<'a> {
    /// The token, if the lookup found one.
    #[must_use]
    pub fn token(&self) -> Option<&'a Token> {
        match self {
            Lookup::Token(token) => Some(token),
            Lookup::Pending | Lookup::Unknown | Lookup::Full => None,
        }
    }
}
