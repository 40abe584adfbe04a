//! Many credentials in one process: [`TokenPool`], a keyed pool of token machines with one
//! next wake, one request budget and bounded memory.
//!
//! The rooms:
//!
//! | file | what it owns |
//! |---|---|
//! | `mod.rs` | the lookups, the poll loop and every change of an entry's state |
//! | `feed.rs` | the inputs for one key's machine (answers, store results, refusals), passed through |
//! | `entries.rs` | the entries: found by key, ordered by last use and by next moment |
//! | `pin.rs` | a waiting caller's hold on its key's entry |
//! | `admission.rs` | the shared budget (in flight, per second) and the queue for a permit |
//! | `limits.rs` | [`PoolLimits`] |
//! | `output.rs` | [`PoolOutput`], [`Eviction`], [`Lookup`] |
//!
//! An entry's life, every transition made in this file:
//!
//! ```text
//!             token(&key)                     resolved(Some(config))
//!  (absent) ─────────────▶ Resolving ───────────────────────────────▶ Live
//!     ▲                        │ resolved(None), or                    │ least recently used
//!     │                        │ no answer within resolve_deadline     │ when full, idle for
//!     │                        ▼                                       │ idle_after, or forget
//!     ├──── remember_unknown ─ Unknown                                 │
//!     └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! A resolving or unknown entry counts towards `max_entries` and is evicted like any other, so
//! a flood of unknown keys cannot grow the pool.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};

use crate::config::Config;
use crate::error::InputError;
use crate::machine::TokenClient;
use crate::output::Output;
use crate::state::TokenState;
use crate::time::Time;

use admission::Admission;
use entries::{Entries, EntryState};

pub use limits::PoolLimits;
pub use output::{Eviction, Lookup, PoolOutput};

mod admission;
mod entries;
mod feed;
mod limits;
mod output;
mod pin;

/// How long a caller who found no token keeps its key's entry from being evicted for a new
/// key, from its latest ask, unless it is served first: the drivers' default wait for a token.
pub const WAITING_PIN: core::time::Duration = core::time::Duration::from_secs(60);

/// A keyed pool of token machines, sans-IO: one [`TokenClient`] per live key, multiplexed
/// behind one [`poll`](TokenPool::poll) and one next wake, for a platform holding one client
/// credential per institution it serves.
///
/// - **Keys** are the caller's type (`K: Eq + Hash + Clone`: an institution id, a tenant
///   name). A key seen for the first time is resolved: the pool outputs
///   [`PoolOutput::Resolve`] and the driver answers with [`TokenPool::resolved`], from the
///   caller's configuration store. A key it does not know is remembered as unknown for
///   [`PoolLimits::remember_unknown`], not kept.
/// - **Bounds** ([`PoolLimits`]): at most `max_entries` entries (the least recently asked-for
///   evicted beyond it) and idle eviction; at most `max_in_flight` token requests out and
///   `max_per_second` started across all keys. Requests a caller waits for go before
///   proactive refreshes and retries, which draw on the same budget.
/// - **Isolation:** each key's failures, back-off and refusals are its own machine's; one key
///   delays another only through the shared budget.
/// - **Wiping:** an evicted or forgotten entry's machine is dropped, which wipes its client
///   secret and token from memory.
/// - **Equal configurations** under two keys are two entries with two tokens: the pool never
///   compares configurations.
/// - **Ids** of requests, tokens and store operations never repeat for a key, even across an
///   eviction, so an answer meant for an evicted entry is refused, never taken by its
///   successor.
///
/// Lookups find keys through a `HashMap` with the hasher `S` (std's randomly keyed
/// [`RandomState`] by default, for keys an attacker may choose); nothing the pool does
/// depends on the map's order, so its behaviour is the same under any hasher.
///
/// ```
/// use seekpass_oauth::{Config, Credentials, Endpoint, PoolLimits, PoolOutput, Time, TokenPool};
///
/// let mut pool = TokenPool::new(PoolLimits::default());
/// let now = Time::ZERO;
/// assert!(pool.token(&"acme-university", now).token().is_none());
/// let PoolOutput::Resolve { key } = pool.poll(now) else { panic!() };
/// let config = Config::builder(Endpoint::staging(), Credentials::new("acme-id", "acme-secret"))
///     .build()
///     .unwrap();
/// pool.resolved(&key, Some(config), now).unwrap();
/// let PoolOutput::Transmit { key, transmit } = pool.poll(now) else { panic!() };
/// assert_eq!(key, "acme-university");
/// assert_eq!(transmit.request().method(), "POST");
/// ```
pub struct TokenPool<K, S = RandomState> {
    limits: PoolLimits,
    entries: Entries<K, S>,
    admission: Admission<K>,
    /// Entries to poll, in the order they were touched.
    dirty: VecDeque<usize>,
    /// The pool's own outputs (resolve, evicted, unknown), before any entry's.
    outputs: VecDeque<PoolOutput<K>>,
    /// The latest time seen.
    now: Time,
    /// New machines number their ids from here: past every id a dropped machine issued.
    first_id: u64,
}

impl<K: Eq + Hash + Clone> TokenPool<K> {
    /// An empty pool with these limits.
    #[must_use]
    pub fn new(limits: PoolLimits) -> TokenPool<K> {
        TokenPool::with_hasher(limits, RandomState::new())
    }
}

impl<K: Eq + Hash + Clone, S: BuildHasher> TokenPool<K, S> {
    /// An empty pool whose key lookups use `hasher`.
    #[must_use]
    pub fn with_hasher(limits: PoolLimits, hasher: S) -> TokenPool<K, S> {
        // The fields are public: a zero set directly is taken as one, as the setters do.
        let limits = PoolLimits {
            max_entries: limits.max_entries.max(1),
            max_in_flight: limits.max_in_flight.max(1),
            max_per_second: limits.max_per_second.max(1),
            ..limits
        };
        TokenPool {
            admission: Admission::new(limits.max_in_flight, limits.max_per_second),
            limits,
            entries: Entries::with_hasher(hasher),
            dirty: VecDeque::new(),
            outputs: VecDeque::new(),
            now: Time::ZERO,
            first_id: 0,
        }
    }

    /// The entries held: keys with a machine, being resolved, or remembered as unknown.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool holds no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    /// The token requests counted as in flight now (never more than
    /// [`PoolLimits::max_in_flight`]).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.admission.in_flight(self.now)
    }

    /// Asks for `key`'s token at `now`, recording demand: the key's usable token, or why there
    /// is none. A key not held is resolved ([`PoolOutput::Resolve`]); poll the pool after a
    /// lookup that finds no token.
    pub fn token(&mut self, key: &K, now: Time) -> Lookup<'_> {
        let now = self.advance(now);
        let slot = match self.entries.slot(key) {
            Some(slot) => {
                self.entries.touch(slot, now);
                slot
            }
            None => match self.add(key.clone(), now) {
                Some(slot) => slot,
                None => return Lookup::Full,
            },
        };
        let Some(entry) = self.entries.get_mut(slot) else {
            return Lookup::Pending;
        };
        let mut dirty = false;
        let found = match &mut entry.state {
            EntryState::Resolving { .. } => {
                entry.demanded = true;
                Lookup::Pending
            }
            EntryState::Unknown { until } if now < *until => Lookup::Unknown,
            EntryState::Unknown { .. } => {
                entry.state = EntryState::Resolving {
                    asked: false,
                    since: now,
                };
                entry.demanded = true;
                dirty = true;
                Lookup::Pending
            }
            EntryState::Live(client) => {
                // New demand may bring a request's moment forward, and a request due without
                // a permit is no work for the machine's own poll (the pool queues it): either
                // way the entry is polled.
                let new_demand = !client.demanded();
                client.demand(now);
                let queue = !entry.holds && entry.ticket.is_none() && client.request_wanted(now);
                dirty = new_demand || queue || client.poll_needed(now);
                // A caller now waits on a request queued behind refreshes: it moves ahead.
                if let Some((_, false)) = entry.ticket {
                    if client.awaited(now) {
                        entry.ticket = Some((self.admission.enqueue(slot, true), true));
                    }
                }
                Lookup::Pending
            }
        };
        if dirty {
            self.mark_dirty(slot);
        }
        self.hold_for_caller(slot, !matches!(found, Lookup::Unknown), now);
        match self.entries.get(slot).and_then(|e| e.client()) {
            Some(client) => client.usable(now).map_or(found, Lookup::Token),
            None => found,
        }
    }

    /// Records that `key` was used at `now` without asking for its token: a driver whose
    /// callers read tokens elsewhere (a concurrent map) reports their use, so a key in use is
    /// never evicted as idle. Returns whether the key is held.
    pub fn touch(&mut self, key: &K, now: Time) -> bool {
        let now = self.advance(now);
        let Some(slot) = self.entries.slot(key) else {
            return false;
        };
        self.entries.touch(slot, now);
        true
    }

    /// `key`'s configuration, while the key has a machine.
    #[must_use]
    pub fn config(&self, key: &K) -> Option<&Config> {
        let slot = self.entries.slot(key)?;
        Some(self.entries.get(slot)?.client()?.config())
    }

    /// The pool's limits.
    #[must_use]
    pub fn limits(&self) -> &PoolLimits {
        &self.limits
    }

    /// `key`'s token state at `now` (`None` while the key has no machine). A pure getter.
    #[must_use]
    pub fn state(&self, key: &K, now: Time) -> Option<TokenState<'_>> {
        let slot = self.entries.slot(key)?;
        let client = self.entries.get(slot)?.client()?;
        Some(client.state(now.max(self.now)))
    }

    /// Whether [`TokenPool::poll`] at `now` has something to do.
    #[must_use]
    pub fn poll_needed(&self, now: Time) -> bool {
        let now = now.max(self.now);
        !self.outputs.is_empty()
            || !self.dirty.is_empty()
            || self.entries.next_wake().is_some_and(|at| at <= now)
            || (self.admission.queued() && self.admission.open(now))
    }

    /// Advances to `now` and returns the next thing to do, for any key. Call it until it
    /// returns [`PoolOutput::Timeout`] or [`PoolOutput::Idle`].
    pub fn poll(&mut self, now: Time) -> PoolOutput<K> {
        let now = self.advance(now);
        loop {
            if let Some(output) = self.outputs.pop_front() {
                return output;
            }
            while let Some(slot) = self.entries.pop_due(now) {
                self.mark_dirty(slot);
            }
            self.admit(now);
            let Some(slot) = self.dirty.pop_front() else {
                break;
            };
            if let Some(output) = self.step(slot, now) {
                return output;
            }
        }
        let entries = self.entries.next_wake().filter(|at| *at > now);
        match entries
            .into_iter()
            .chain(self.admission.next_wake(now))
            .min()
        {
            Some(at) => PoolOutput::Timeout(at),
            None => PoolOutput::Idle,
        }
    }

    /// Feeds the configuration for `key` asked for by [`PoolOutput::Resolve`]: `None` when the
    /// key is unknown. Refused if the key is not being resolved.
    pub fn resolved(
        &mut self,
        key: &K,
        config: Option<Config>,
        now: Time,
    ) -> Result<(), InputError> {
        let now = self.advance(now);
        let slot = self.entries.slot(key).ok_or(InputError::NoEntry)?;
        let first_id = self.first_id;
        let entry = self.entries.get_mut(slot).ok_or(InputError::NoEntry)?;
        if !matches!(entry.state, EntryState::Resolving { .. }) {
            return Err(InputError::NotResolving);
        }
        match config {
            Some(config) => {
                let mut client = TokenClient::numbered_from(config, now, first_id);
                if entry.demanded {
                    client.demand(now);
                }
                entry.state = EntryState::Live(Box::new(client));
            }
            None => {
                entry.state = EntryState::Unknown {
                    until: now.saturating_add(self.limits.remember_unknown),
                };
                self.outputs
                    .push_back(PoolOutput::Unknown { key: key.clone() });
            }
        }
        self.mark_dirty(slot);
        Ok(())
    }

    /// Drops `key`'s entry at once, wiping its secret and token; a later lookup resolves it
    /// again. A request of its still on the wire counts against the budget until answered or
    /// past its deadline. Returns whether the key was held.
    pub fn forget(&mut self, key: &K) -> bool {
        match self.entries.slot(key) {
            Some(slot) => {
                self.drop_entry(slot);
                true
            }
            None => false,
        }
    }

    // ----- transitions ---------------------------------------------------------------------

    fn advance(&mut self, now: Time) -> Time {
        self.now = self.now.max(now);
        self.admission.advance(self.now);
        self.now
    }

    /// A new entry for `key`, resolving; room is made first by evicting the least recently
    /// used entry not pinned. `None` if every entry is pinned: the key waits for room.
    fn add(&mut self, key: K, now: Time) -> Option<usize> {
        while self.entries.len() >= self.limits.max_entries {
            let slot = self.entries.least_recent()?;
            self.evict(slot, Eviction::LeastRecentlyUsed);
        }
        let resolving = EntryState::Resolving {
            asked: false,
            since: now,
        };
        let slot = self.entries.insert(key, resolving, now);
        self.mark_dirty(slot);
        self.update_pin(slot, now);
        Some(slot)
    }

    fn evict(&mut self, slot: usize, reason: Eviction) {
        if let Some(key) = self.drop_entry(slot) {
            self.outputs.push_back(PoolOutput::Evicted { key, reason });
        }
    }

    /// Removes the entry in `slot`, handing its permit on (to the orphans, if its request is
    /// on the wire) and its ids to the next machine; drops it, which wipes it. Its key.
    fn drop_entry(&mut self, slot: usize) -> Option<K> {
        let entry = self.entries.remove(slot)?;
        if let EntryState::Live(client) = &entry.state {
            self.first_id = self.first_id.max(client.ids_issued());
            match (entry.holds, client.in_flight()) {
                (true, Some((id, deadline))) => {
                    self.admission.orphan(entry.key.clone(), id, deadline);
                }
                (true, None) => self.admission.release(),
                (false, _) => {}
            }
        }
        Some(entry.key)
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(entry) = self.entries.get_mut(slot) {
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push_back(slot);
            }
        }
    }

    /// Grants permits to queued entries while the budget allows.
    fn admit(&mut self, now: Time) {
        while self.admission.open(now) {
            let Some((slot, ticket)) = self.admission.next_queued() else {
                return;
            };
            let Some(entry) = self.entries.get_mut(slot) else {
                continue;
            };
            if entry.ticket.map(|(t, _)| t) != Some(ticket) {
                continue;
            }
            entry.ticket = None;
            let EntryState::Live(client) = &mut entry.state else {
                continue;
            };
            if entry.holds || !client.request_wanted(now) {
                continue;
            }
            client.set_permit(true);
            entry.holds = true;
            self.admission.grant(now);
            self.mark_dirty(slot);
            self.update_pin(slot, now);
        }
    }

    /// Polls the entry in `slot` once: its next output, or `None` once it has settled (its
    /// next moment recorded, a permit asked for or handed back).
    fn step(&mut self, slot: usize, now: Time) -> Option<PoolOutput<K>> {
        let stepped = self.step_entry(slot, now)?;
        match stepped {
            Stepped::Output(output) => {
                self.mark_dirty(slot);
                Some(output)
            }
            Stepped::Settled(wake) => {
                self.entries.set_wake(slot, wake);
                self.update_pin(slot, now);
                None
            }
            Stepped::Resolve(key, deadline) => {
                self.entries.set_wake(slot, Some(deadline));
                Some(PoolOutput::Resolve { key })
            }
            Stepped::Expired => {
                self.drop_entry(slot);
                None
            }
            Stepped::Idle => {
                self.evict(slot, Eviction::Idle);
                self.outputs.pop_front()
            }
        }
    }

    /// What polling the entry in `slot` once does to it; `None` if it is gone or not dirty.
    fn step_entry(&mut self, slot: usize, now: Time) -> Option<Stepped<K>> {
        let limits = &self.limits;
        let admission = &mut self.admission;
        let entry = self.entries.get_mut(slot)?;
        if !entry.dirty {
            return None;
        }
        entry.dirty = false;
        let idle_at = entry.last_used().saturating_add(limits.idle_after);
        let client = match &mut entry.state {
            EntryState::Resolving { asked, since } => {
                let deadline = since.saturating_add(limits.resolve_deadline);
                if !*asked {
                    *asked = true;
                    return Some(Stepped::Resolve(entry.key.clone(), deadline));
                }
                if now < deadline {
                    return Some(Stepped::Settled(Some(deadline)));
                }
                entry.state = EntryState::Unknown {
                    until: now.saturating_add(limits.remember_unknown),
                };
                let key = entry.key.clone();
                return Some(Stepped::Output(PoolOutput::Unknown { key }));
            }
            EntryState::Unknown { until } if now < *until => {
                return Some(Stepped::Settled(Some(*until)));
            }
            EntryState::Unknown { .. } => return Some(Stepped::Expired),
            EntryState::Live(client) => client,
        };
        if now >= idle_at && !entry.holds {
            return Some(Stepped::Idle);
        }
        let key = || entry.key.clone();
        let next = match client.poll(now) {
            Output::Transmit(transmit) => {
                // A permit covers one request: a retry asks for another.
                client.set_permit(false);
                return Some(Stepped::Output(PoolOutput::Transmit {
                    key: key(),
                    transmit,
                }));
            }
            Output::Store(op) => {
                return Some(Stepped::Output(PoolOutput::Store { key: key(), op }))
            }
            Output::Event(event) => {
                return Some(Stepped::Output(PoolOutput::Event { key: key(), event }));
            }
            Output::Timeout(at) => Some(at),
            Output::Idle => None,
        };
        // Settled: a permit whose request ended goes back; a request due without one queues
        // for one.
        if entry.holds && !client.requesting() {
            entry.holds = false;
            client.set_permit(false);
            admission.release();
        }
        if !entry.holds && entry.ticket.is_none() && client.request_wanted(now) {
            let awaited = client.awaited(now);
            entry.ticket = Some((admission.enqueue(slot, awaited), awaited));
        }
        client.compact();
        let idle = (idle_at > now).then_some(idle_at);
        let unpin = entry
            .waiting_since
            .map(|since| since.saturating_add(WAITING_PIN))
            .filter(|at| *at > now);
        Some(Stepped::Settled(
            next.into_iter().chain(idle).chain(unpin).min(),
        ))
    }
}

/// What one poll of an entry did ([`TokenPool::step_entry`]).
// Made and matched once per step, never stored: boxing the output would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Stepped<K> {
    /// An output to hand on; the entry is polled again after it.
    Output(PoolOutput<K>),
    /// Nothing more to do before this moment (`None`: until something is fed in).
    Settled(Option<Time>),
    /// Ask for the key's configuration; take it as unknown at the deadline.
    Resolve(K, Time),
    /// An unknown key's time is over: drop it.
    Expired,
    /// Not asked for within `idle_after`: evict it.
    Idle,
}

impl<K: core::fmt::Debug, S> core::fmt::Debug for TokenPool<K, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenPool")
            .field("limits", &self.limits)
            .field("now", &self.now)
            .field("dirty", &self.dirty.len())
            .finish_non_exhaustive()
    }
}
