//! The hot path: the usable token, published by whoever drives the machine and read by every
//! caller without a lock, an allocation or a write to memory another core reads.
//!
//! The driver publishes a snapshot (the token, when to stop serving it, when the driver must
//! step next) under a small mutex it never holds while sending, and bumps a generation counter.
//! A caller loads the counter (a cache line that changes a few times per token lifetime),
//! compares it with its thread's copy of the snapshot and reads a cheap clock once (see
//! `clock.rs`): while the
//! generation matches and the copy's deadline has not passed, the token is served from the
//! copy. Only a new generation takes the mutex, once per thread. Each thread's copy of the
//! `Authorization` value is an allocation of its own ([`Token::authorization_copy`]), made
//! once per thread per token, so cloning it touches a reference count no other core touches:
//! the per-call cost stays flat as cores are added.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use foldhash::fast::FixedState;

use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{Time, Token, TokenId};

use crate::clock::{self, Reading, Timeline};

/// Gives each cell an identity for the thread caches.
static NEXT_CELL: AtomicU64 = AtomicU64::new(1);

/// The cells alive now, and how many have been dropped: a thread that sees the count change
/// drops its copies of tokens from dead cells when it next copies a snapshot. A set, so a
/// process with thousands of sources adds, drops and prunes each in constant time.
static LIVE: Mutex<HashSet<u64, FixedState>> =
    Mutex::new(HashSet::with_hasher(FixedState::with_seed(0)));
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// What the driver last published.
/// Its moments are on the hot path's clocks ([`clock::now`]); `serve_until` is already moved
/// earlier by the clocks' [`clock::SAFETY`] margin.
struct Snapshot {
    generation: u64,
    token: Option<Token>,
    serve_until: Reading,
    refresh_at: Reading,
    wake_at: Reading,
    /// The wake `wake_at` was made from: a token's moments never change, so with the same token
    /// and the same wake nothing needs publishing again.
    wake: Wake,
}

impl Snapshot {
    /// A copy of this snapshot of `cell`, holding `token`.
    fn copy(&self, cell: u64, token: Option<(TokenId, HeaderValue)>) -> Copy {
        Copy {
            cell,
            generation: self.generation,
            token,
            serve_until: self.serve_until,
            refresh_at: self.refresh_at,
            wake_at: self.wake_at,
            fast_until: self.serve_until.min(self.wake_at),
        }
    }
}

/// One thread's copy of one cell's snapshot.
struct Copy {
    cell: u64,
    generation: u64,
    token: Option<(TokenId, HeaderValue)>,
    serve_until: Reading,
    refresh_at: Reading,
    wake_at: Reading,
    /// Before this, with demand already recorded, the copy is served with no other check.
    fast_until: Reading,
}

/// A copy with nothing to serve and every deadline passed.
static UNUSABLE: Copy = Copy {
    cell: u64::MAX,
    generation: u64::MAX,
    token: None,
    serve_until: Reading::ZERO,
    refresh_at: Reading::ZERO,
    wake_at: Reading::ZERO,
    fast_until: Reading::ZERO,
};

/// Up to this many copies a thread finds its cell's by a scan, past it by the index.
const SCANNED: usize = 8;

/// One thread's copies: one per cell it has read. Most threads read a handful, found by a
/// scan; a platform holding a source per institution may read thousands from one thread, and
/// those are found through the index, so a call costs the same with 10,000 sources as with one.
struct Copies {
    entries: Vec<Copy>,
    /// Each copy's position in `entries`, by cell.
    index: HashMap<u64, usize, FixedState>,
    /// `DROPPED` when this thread last pruned.
    seen_dropped: u64,
}

impl Copies {
    /// Where this thread's copy of `cell` is, if it has one.
    #[inline]
    fn find(&self, cell: u64) -> Option<usize> {
        if self.entries.len() <= SCANNED {
            self.entries.iter().position(|c| c.cell == cell)
        } else {
            self.index.get(&cell).copied()
        }
    }

    /// This thread's copy of `cell` if it is of `generation`. The first copy is checked
    /// inline, the others out of line: the hot path stays small enough to inline whole.
    #[inline(always)]
    fn current(&self, cell: u64, generation: u64) -> Option<&Copy> {
        match self.entries.first() {
            Some(first) if first.cell == cell => Some(first),
            _ => self.other(cell),
        }
        .filter(|copy| copy.generation == generation)
    }

    /// [`Copies::current`] past the first copy.
    #[inline(never)]
    fn other(&self, cell: u64) -> Option<&Copy> {
        self.entries.get(self.find(cell)?)
    }

    /// Adds a copy of a cell this thread has none of; its position.
    fn push(&mut self, copy: Copy) -> usize {
        let at = self.entries.len();
        self.index.insert(copy.cell, at);
        self.entries.push(copy);
        at
    }

    /// Drops the copy of `cell`, if this thread has one: the last copy takes its place.
    fn remove(&mut self, cell: u64) {
        let Some(at) = self.find(cell) else {
            return;
        };
        self.index.remove(&cell);
        self.entries.swap_remove(at);
        if let Some(moved) = self.entries.get(at) {
            self.index.insert(moved.cell, at);
        }
    }

    /// Keeps the copies of the cells `keep` accepts.
    fn retain(&mut self, keep: impl FnMut(&Copy) -> bool) {
        self.entries.retain(keep);
        self.index.clear();
        self.index
            .extend(self.entries.iter().enumerate().map(|(at, c)| (c.cell, at)));
    }
}

thread_local! {
    static COPIES: RefCell<Copies> = const {
        RefCell::new(Copies {
            entries: Vec::new(),
            index: HashMap::with_hasher(FixedState::with_seed(0)),
            seen_dropped: 0,
        })
    };
}

/// What a caller read from the cell.
///
/// The header value comes first and the order is fixed (`repr(C)`): `served()` and its callers
/// reshape this into the header value alone, and at an offset those moves stalled on partly
/// forwarded stores (`perf annotate` on the hot-path bench).
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Served {
    /// `Authorization: Bearer …`, marked sensitive.
    pub authorization: HeaderValue,
    /// The token's id, for [`invalidate`](crate::Engine::invalidate) after a 401.
    pub token: TokenId,
}

/// Whether the driver needs a nudge, from [`TokenCell::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// Nothing for the driver to do.
    No,
    /// The driver should step now: there is no usable token, its moment has passed, or a
    /// token idle at its refresh moment is in use again.
    Yes,
}

/// When the driver must step next, as [`TokenCell::publish`] records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// As recorded before.
    Unchanged,
    /// Nothing is scheduled: only a caller's demand wakes the driver.
    Never,
    /// At once: the next caller wakes the driver (after an invalidation or a reconfiguration).
    Now,
    /// At this moment on the machine's clock.
    At(Time),
}

/// The published token and the callers' demand, shared by the driver and every caller.
pub struct TokenCell {
    id: u64,
    generation: AtomicU64,
    snapshot: Mutex<Snapshot>,
    /// A caller asked since the driver last looked (the machine's demand, batched).
    demand: AtomicBool,
}

impl TokenCell {
    /// An empty cell.
    #[must_use]
    pub fn new() -> TokenCell {
        let id = NEXT_CELL.fetch_add(1, Ordering::Relaxed);
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id);
        let never = Reading::NEVER;
        TokenCell {
            id,
            generation: AtomicU64::new(0),
            snapshot: Mutex::new(Snapshot {
                generation: 0,
                token: None,
                serve_until: never,
                refresh_at: never,
                wake_at: never,
                wake: Wake::Never,
            }),
            demand: AtomicBool::new(false),
        }
    }

    /// The hot path: records demand and returns the usable token (if any) and whether the
    /// driver needs a nudge. Once this thread has copied the current snapshot: two atomic
    /// loads, one read of the two coarse clocks and the clone of this thread's own copy of the
    /// header value.
    #[inline]
    pub fn read(&self) -> (Option<Served>, Kick) {
        let generation = self.generation.load(Ordering::Acquire);
        let demanded = self.demand.load(Ordering::Relaxed);
        if demanded {
            let fast = self.fast(generation, |token, authorization| Served {
                authorization: authorization.clone(),
                token,
            });
            if fast.is_some() {
                return (fast, Kick::No);
            }
        }
        self.read_slow(generation, demanded)
    }

    /// [`TokenCell::read`] for the `Authorization` value alone, when no nudge is due: `None`
    /// sends the caller to [`TokenCell::read`]. Returning the value alone, it is built in the
    /// caller's result instead of moved there (see [`TokenCell::fast`]).
    #[inline]
    pub fn read_authorization(&self) -> Option<HeaderValue> {
        let generation = self.generation.load(Ordering::Acquire);
        if !self.demand.load(Ordering::Relaxed) {
            return None;
        }
        self.fast(generation, |_, authorization| authorization.clone())
    }

    /// With demand already recorded: `serve` of the token while this thread's copy is of
    /// `generation` and its fast deadline (the earlier of its serving deadline and the
    /// driver's next moment) has not passed; `None` otherwise, and when the thread is exiting.
    ///
    /// Kept small enough for the compiler to inline whole, `LocalKey::try_with` included: the
    /// first copy is checked here and the others out of line, and nothing is copied in. Out
    /// of line, the header value was moved through two stack slots, and each move stalled on
    /// a store it could not forward (`perf annotate` on the `hot_path` bench: about 63 ns a
    /// call against 38–40 ns inlined).
    #[inline(always)]
    fn fast<R>(
        &self,
        generation: u64,
        serve: impl FnOnce(TokenId, &HeaderValue) -> R,
    ) -> Option<R> {
        COPIES
            .try_with(|copies| {
                let copies = copies.borrow();
                let copy = copies.current(self.id, generation)?;
                if !clock::now().before(copy.fast_until) {
                    return None;
                }
                let (token, authorization) = copy.token.as_ref()?;
                Some(serve(*token, authorization))
            })
            .ok()
            .flatten()
    }

    /// The first demand since the driver looked, a deadline passed, or no token: the clock
    /// is read again, later, so nothing is served longer than the fast path would.
    #[cold]
    #[inline(never)]
    fn read_slow(&self, generation: u64, demanded: bool) -> (Option<Served>, Kick) {
        let read = |copy: &Copy| {
            let now = clock::now();
            let first_demand = !demanded && !self.demand.swap(true, Ordering::AcqRel);
            let served = match &copy.token {
                Some((token, authorization)) if now.before(copy.serve_until) => Some(Served {
                    authorization: authorization.clone(),
                    token: *token,
                }),
                _ => None,
            };
            // With no usable token, the first demand wakes the driver, and then its own
            // schedule does (the next attempt, after a back-off): calls in between do not.
            let kick = if !now.before(copy.wake_at)
                || (first_demand && (served.is_none() || !now.before(copy.refresh_at)))
            {
                Kick::Yes
            } else {
                Kick::No
            };
            (served, kick)
        };
        COPIES
            .try_with(|copies| read(self.copy(&mut copies.borrow_mut(), generation)))
            // This thread's copies are gone: a thread-local's destructor is calling in as the
            // thread exits. The snapshot itself is read, under its lock.
            .unwrap_or_else(|_| {
                let snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
                let token = snapshot
                    .token
                    .as_ref()
                    .map(|t| (t.id(), t.authorization().clone()));
                read(&snapshot.copy(self.id, token))
            })
    }

    /// This thread's copy of the snapshot of `generation`, brought up to date if needed.
    #[inline]
    fn copy<'a>(&self, copies: &'a mut Copies, generation: u64) -> &'a Copy {
        let found = copies.find(self.id);
        let index = match found {
            Some(i)
                if copies
                    .entries
                    .get(i)
                    .is_some_and(|c| c.generation == generation) =>
            {
                i
            }
            _ => self.recopy(copies, found),
        };
        // `recopy` returns the index of the entry it wrote, so the fallback is never met; it
        // serves nothing and nudges the driver.
        copies.entries.get(index).unwrap_or(&UNUSABLE)
    }

    /// Copies the snapshot into this thread's entry (made if missing); its index. A new token
    /// is copied into an allocation of this thread's own; the same token is kept.
    #[cold]
    fn recopy(&self, copies: &mut Copies, found: Option<usize>) -> usize {
        let snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = found
            .and_then(|i| copies.entries.get_mut(i))
            .and_then(|c| c.token.take());
        let token = snapshot.token.as_ref().map(|t| match kept {
            Some((id, authorization)) if id == t.id() => (id, authorization),
            _ => (t.id(), t.authorization_copy()),
        });
        let copy = snapshot.copy(self.id, token);
        drop(snapshot);
        let dropped = DROPPED.load(Ordering::Acquire);
        if copies.seen_dropped != dropped {
            copies.seen_dropped = dropped;
            let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            copies.retain(|c| live.contains(&c.cell));
        }
        let found = copies.find(self.id);
        match found.and_then(|i| copies.entries.get_mut(i).map(|slot| (i, slot))) {
            Some((i, slot)) => {
                *slot = copy;
                i
            }
            None => copies.push(copy),
        }
    }

    /// Publishes the usable token (or that there is none) and when the driver must step next,
    /// its moments on the machine's `timeline`. Returns whether the token changed.
    pub fn publish(&self, token: Option<&Token>, wake: Wake, timeline: &Timeline) -> bool {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = snapshot.token.as_ref().map(Token::id) != token.map(Token::id);
        if !changed && (wake == Wake::Unchanged || wake == snapshot.wake) {
            return false;
        }
        // The machine's time and the hot path's clocks read together, now: a moment is as far
        // from this reading as it is from this time.
        let now = timeline.now();
        let reading = clock::now();
        let at = |t: Time| Timeline::reading(t, now, reading);
        let never = Reading::NEVER;
        let serve_until = token.map_or(never, |t| at(t.serve_until()).minus(clock::SAFETY));
        // Moments that kick the driver are moved `SAFETY` later, as serving deadlines are moved
        // earlier: the coarse clock may run ahead of the machine's by up to a tick, and a kick the
        // machine finds not yet due would start a step for nothing (a thread, in the blocking
        // driver), again and again until the two clocks agree.
        let refresh_at = token.map_or(never, |t| at(t.refresh_at()).plus(clock::SAFETY));
        let wake = match wake {
            Wake::Unchanged => snapshot.wake,
            other => other,
        };
        let wake_at = match wake {
            Wake::Unchanged | Wake::Never => never,
            Wake::Now => Reading::ZERO,
            Wake::At(time) => at(time).plus(clock::SAFETY),
        };
        snapshot.wake = wake;
        if changed {
            snapshot.token = token.cloned();
        }
        snapshot.serve_until = serve_until;
        snapshot.refresh_at = refresh_at;
        snapshot.wake_at = wake_at;
        snapshot.generation = snapshot.generation.wrapping_add(1);
        self.generation
            .store(snapshot.generation, Ordering::Release);
        changed
    }

    /// Takes the demand recorded since the last call.
    pub fn take_demand(&self) -> bool {
        self.demand.swap(false, Ordering::AcqRel)
    }

    /// Records again a demand taken by a step that emitted nothing: the machine still holds it.
    pub fn keep_demand(&self) {
        self.demand.store(true, Ordering::Release);
    }
}

#[cfg(test)]
impl TokenCell {
    /// The cell's identity in the thread caches.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The cells this thread holds a copy of.
    pub(crate) fn held_copies() -> Vec<u64> {
        COPIES.with(|copies| copies.borrow().entries.iter().map(|c| c.cell).collect())
    }
}

impl Default for TokenCell {
    fn default() -> Self {
        TokenCell::new()
    }
}

impl Drop for TokenCell {
    /// Other threads drop their copies when they next copy a snapshot (or when they exit);
    /// this thread drops its copy now.
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
        DROPPED.fetch_add(1, Ordering::AcqRel);
        let _ = COPIES.try_with(|copies| {
            if let Ok(mut copies) = copies.try_borrow_mut() {
                copies.remove(self.id);
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
