//! The hot path: the usable token, published by whoever drives the machine and read by every
//! caller without a lock, an allocation or a shared write.
//!
//! The driver publishes a [`Published`] snapshot under a small mutex it never holds while
//! sending, and bumps a generation counter. A caller reads the counter (a load of a cache line
//! that changes a few times per token lifetime) and compares it with its thread's cached copy;
//! only when they differ does it take the mutex, once per thread per token, to copy the new
//! snapshot. Each thread's copy of the `Authorization` value is an allocation of its own
//! ([`Token::authorization_copy`]), so cloning it on every call touches a reference count no
//! other thread touches: the per-call cost stays flat as cores are added.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{Time, Token, TokenId};

/// `Time` that never comes.
const NEVER: u64 = u64::MAX;

/// Gives each cell an identity for the thread caches.
static NEXT_CELL: AtomicU64 = AtomicU64::new(1);

/// The cells alive now, and how many have been dropped: a thread that sees the count change
/// drops its copies of tokens from dead cells on its next read.
static LIVE: Mutex<Vec<u64>> = Mutex::new(Vec::new());
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The usable token as the driver last published it (copied per thread on first use).
struct Published {
    token: Token,
}

/// One thread's copy of one cell's snapshot.
struct Cached {
    cell: u64,
    generation: u64,
    token: Option<(TokenId, HeaderValue, Time)>,
}

/// One thread's copies: an entry per cell it has read (a handful at most in practice).
struct Cache {
    entries: Vec<Cached>,
    /// `DROPPED` when this thread last pruned.
    seen_dropped: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache { entries: Vec::new(), seen_dropped: 0 })
    };
}

/// What a caller read from the cell.
#[derive(Clone, Debug)]
pub struct Served {
    /// The token's id, for [`invalidate`](crate::Engine::invalidate) after a 401.
    pub token: TokenId,
    /// `Authorization: Bearer …`, marked sensitive.
    pub authorization: HeaderValue,
}

/// The published token and the caller-side signals, shared by the driver and every caller.
pub struct TokenCell {
    id: u64,
    generation: AtomicU64,
    slot: Mutex<(u64, Option<Published>)>,
    /// A caller asked since the driver last looked (the machine's demand, batched).
    demand: AtomicBool,
    /// The machine's next moment, as `Time` milliseconds: a caller who sees it passed wakes the
    /// driver (or, without a driver task, drives).
    wake_at: AtomicU64,
    /// The published token's refresh moment: the first demand after it wakes the driver, so a
    /// token that was idle at its refresh moment is refreshed as soon as it is used again.
    refresh_at: AtomicU64,
}

/// What [`TokenCell::read`] tells the caller beyond the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// Nothing for the driver to do.
    No,
    /// The driver should step now.
    Yes,
}

impl TokenCell {
    /// An empty cell.
    #[must_use]
    pub fn new() -> TokenCell {
        let id = NEXT_CELL.fetch_add(1, Ordering::Relaxed);
        LIVE.lock().unwrap_or_else(PoisonError::into_inner).push(id);
        TokenCell {
            id,
            generation: AtomicU64::new(0),
            slot: Mutex::new((0, None)),
            demand: AtomicBool::new(false),
            wake_at: AtomicU64::new(NEVER),
            refresh_at: AtomicU64::new(NEVER),
        }
    }

    /// The hot path: records demand, returns the usable token at `now` (if any) and whether
    /// the driver needs a nudge. No lock, no allocation and no shared write once this thread
    /// has read the current token; a thread's first read of a new token copies it.
    #[inline]
    pub fn read(&self, now: Time) -> (Option<Served>, Kick) {
        let first_demand =
            !self.demand.load(Ordering::Relaxed) && !self.demand.swap(true, Ordering::AcqRel);
        let ms = now.as_millis();
        let kick = if ms >= self.wake_at.load(Ordering::Acquire)
            || (first_demand && ms >= self.refresh_at.load(Ordering::Acquire))
        {
            Kick::Yes
        } else {
            Kick::No
        };
        (self.current(now), kick)
    }

    /// The usable token at `now`, without recording demand.
    pub fn current(&self, now: Time) -> Option<Served> {
        let generation = self.generation.load(Ordering::Acquire);
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let dropped = DROPPED.load(Ordering::Acquire);
            if cache.seen_dropped != dropped {
                cache.seen_dropped = dropped;
                let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
                cache.entries.retain(|c| live.contains(&c.cell));
            }
            let cache = &mut cache.entries;
            let index = match cache.iter().position(|c| c.cell == self.id) {
                Some(i) => i,
                None => {
                    cache.push(Cached {
                        cell: self.id,
                        generation: u64::MAX,
                        token: None,
                    });
                    cache.len() - 1
                }
            };
            let entry = &mut cache[index];
            if entry.generation != generation {
                let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
                entry.generation = slot.0;
                entry.token = slot.1.as_ref().map(|p| {
                    (
                        p.token.id(),
                        p.token.authorization_copy(),
                        p.token.serve_until(),
                    )
                });
            }
            match &entry.token {
                Some((token, authorization, serve_until)) if now < *serve_until => Some(Served {
                    token: *token,
                    authorization: authorization.clone(),
                }),
                _ => None,
            }
        })
    }

    /// Publishes `token` (or that there is none) if it differs from what is published.
    /// Returns whether anything changed.
    pub fn publish(&self, token: Option<&Token>) -> bool {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let same = match (&slot.1, token) {
            (Some(p), Some(t)) => p.token.id() == t.id(),
            (None, None) => true,
            _ => false,
        };
        self.refresh_at.store(
            token.map_or(NEVER, |t| t.refresh_at().as_millis()),
            Ordering::Release,
        );
        if same {
            return false;
        }
        slot.1 = token.map(|t| Published { token: t.clone() });
        slot.0 = slot.0.wrapping_add(1);
        self.generation.store(slot.0, Ordering::Release);
        true
    }

    /// Takes the demand recorded since the last call.
    pub fn take_demand(&self) -> bool {
        self.demand.swap(false, Ordering::AcqRel)
    }

    /// Records the machine's next moment (`None`: nothing scheduled).
    pub fn set_wake_at(&self, at: Option<Time>) {
        self.wake_at
            .store(at.map_or(NEVER, Time::as_millis), Ordering::Release);
    }

}

impl Default for TokenCell {
    fn default() -> Self {
        TokenCell::new()
    }
}

impl Drop for TokenCell {
    /// Other threads drop their copies on their next read of any cell (or when they exit);
    /// this thread drops its copy now.
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id| *id != self.id);
        DROPPED.fetch_add(1, Ordering::AcqRel);
        let _ = CACHE.try_with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                cache.entries.retain(|c| c.cell != self.id);
            }
        });
    }
}

impl std::fmt::Debug for TokenCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCell")
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
