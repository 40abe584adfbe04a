//! The pool's entries: a slab of slots found by key through a hash map, ordered by last use
//! (for eviction) and by their next moment (for waking), each order a `BTreeSet` so finding the
//! least recently used or the next due entry takes `O(log n)`, never a scan.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash};

use crate::machine::TokenClient;
use crate::pool::admission::Ticket;
use crate::time::Time;

/// What the pool knows of a key.
pub(super) enum EntryState {
    /// Its configuration was asked for (`asked`) or is about to be, since `since`.
    Resolving { asked: bool, since: Time },
    /// Its machine.
    Live(Box<TokenClient>),
    /// The resolver had no configuration for it; asked again after `until`.
    Unknown { until: Time },
}

pub(super) struct Entry<K> {
    pub(super) key: K,
    pub(super) state: EntryState,
    /// The last time the key was asked for, and a sequence number to order equal times.
    last_used: (Time, u64),
    /// The entry's place in the wake order, if it has a moment.
    wake: Option<Time>,
    /// Holds one of the pool's in-flight permits, from the grant until its request ends.
    pub(super) holds: bool,
    /// Its place in the queue for a permit, and whether it is with the requests a caller
    /// waits for.
    pub(super) ticket: Option<(Ticket, bool)>,
    /// Queued to be polled.
    pub(super) dirty: bool,
    /// A token was asked for while the key was being resolved.
    pub(super) demanded: bool,
    /// A caller last asked at this moment and found no token, and has not been served since.
    pub(super) waiting_since: Option<Time>,
    /// Not to be evicted for a new key: kept out of the eviction order meanwhile.
    pinned: bool,
}

impl<K> Entry<K> {
    pub(super) fn last_used(&self) -> Time {
        self.last_used.0
    }

    pub(super) fn client(&self) -> Option<&TokenClient> {
        match &self.state {
            EntryState::Live(client) => Some(client),
            EntryState::Resolving { .. } | EntryState::Unknown { .. } => None,
        }
    }
}

pub(super) struct Entries<K, S> {
    slots: Vec<Option<Entry<K>>>,
    free: Vec<usize>,
    index: HashMap<K, usize, S>,
    /// The entries that may be evicted, least recently used first (pinned ones are left out).
    by_use: BTreeSet<((Time, u64), usize)>,
    by_wake: BTreeSet<(Time, usize)>,
    next_seq: u64,
}

impl<K: Eq + Hash + Clone, S: BuildHasher> Entries<K, S> {
    pub(super) fn with_hasher(hasher: S) -> Entries<K, S> {
        Entries {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::with_hasher(hasher),
            by_use: BTreeSet::new(),
            by_wake: BTreeSet::new(),
            next_seq: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn slot(&self, key: &K) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub(super) fn get(&self, slot: usize) -> Option<&Entry<K>> {
        self.slots.get(slot).and_then(Option::as_ref)
    }

    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut Entry<K>> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    /// Adds `key` (not present) in `state`, used at `now`; its slot.
    pub(super) fn insert(&mut self, key: K, state: EntryState, now: Time) -> usize {
        let seq = self.seq();
        let entry = Entry {
            key: key.clone(),
            state,
            last_used: (now, seq),
            wake: None,
            holds: false,
            ticket: None,
            dirty: false,
            demanded: false,
            waiting_since: None,
            pinned: false,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(place) = self.slots.get_mut(slot) {
                    *place = Some(entry);
                }
                slot
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len().saturating_sub(1)
            }
        };
        self.index.insert(key, slot);
        self.by_use.insert(((now, seq), slot));
        slot
    }

    /// Removes the entry in `slot` from every order; the entry itself, to be dropped (which
    /// wipes its secret and token).
    pub(super) fn remove(&mut self, slot: usize) -> Option<Entry<K>> {
        let entry = self.slots.get_mut(slot)?.take()?;
        self.index.remove(&entry.key);
        if !entry.pinned {
            self.by_use.remove(&(entry.last_used, slot));
        }
        if let Some(at) = entry.wake {
            self.by_wake.remove(&(at, slot));
        }
        self.free.push(slot);
        Some(entry)
    }

    /// Records that `slot` was asked for at `now`.
    pub(super) fn touch(&mut self, slot: usize, now: Time) {
        let seq = self.seq();
        let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.last_used.0 >= now {
            return;
        }
        if !entry.pinned {
            self.by_use.remove(&(entry.last_used, slot));
            self.by_use.insert(((now, seq), slot));
        }
        entry.last_used = (now, seq);
    }

    /// Pins `slot` (it is not evicted for a new key) or unpins it.
    pub(super) fn set_pinned(&mut self, slot: usize, pinned: bool) {
        let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.pinned == pinned {
            return;
        }
        entry.pinned = pinned;
        if pinned {
            self.by_use.remove(&(entry.last_used, slot));
        } else {
            self.by_use.insert((entry.last_used, slot));
        }
    }

    /// Sets the moment `slot` must be polled at (`None`: none).
    pub(super) fn set_wake(&mut self, slot: usize, at: Option<Time>) {
        let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.wake == at {
            return;
        }
        if let Some(old) = entry.wake {
            self.by_wake.remove(&(old, slot));
        }
        entry.wake = at;
        if let Some(at) = at {
            self.by_wake.insert((at, slot));
        }
    }

    /// An entry whose moment has come by `now`, taken out of the wake order.
    pub(super) fn pop_due(&mut self, now: Time) -> Option<usize> {
        let &(at, slot) = self.by_wake.first()?;
        if at > now {
            return None;
        }
        self.by_wake.remove(&(at, slot));
        if let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            entry.wake = None;
        }
        Some(slot)
    }

    /// The earliest moment an entry must be polled at.
    pub(super) fn next_wake(&self) -> Option<Time> {
        self.by_wake.first().map(|(at, _)| *at)
    }

    /// The entry asked for least recently, of those not pinned.
    pub(super) fn least_recent(&self) -> Option<usize> {
        self.by_use.first().map(|(_, slot)| *slot)
    }

    fn seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }
}
