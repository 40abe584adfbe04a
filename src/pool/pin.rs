//! A waiting caller's hold on its key's entry: while a caller waits for the key's first
//! token, evicting the entry for a new key would waste its request and leave the caller to
//! start over, so the entry is pinned until the caller is served, or for [`WAITING_PIN`]
//! after its latest ask.

use std::hash::{BuildHasher, Hash};

use crate::pool::entries::EntryState;
use crate::pool::{TokenPool, WAITING_PIN};
use crate::time::Time;

impl<K: Eq + Hash + Clone, S: BuildHasher> TokenPool<K, S> {
    /// After a caller's lookup of `slot` (`known`: the key is not unknown): a caller who
    /// found no token holds the entry, each ask renewing the hold; one served ends it.
    pub(super) fn hold_for_caller(&mut self, slot: usize, known: bool, now: Time) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        let served = entry.client().is_some_and(|c| c.usable(now).is_some());
        let changed = if served {
            entry.waiting_since.take().is_some()
        } else if known && entry.waiting_since != Some(now) {
            entry.waiting_since = Some(now);
            true
        } else {
            false
        };
        if changed {
            // The hold's end is one of the entry's moments.
            self.mark_dirty(slot);
        }
        self.update_pin(slot, now);
    }

    /// Pins the entry in `slot` while evicting it would waste work or leave a caller without
    /// the token coming for it: while it is resolved, while its request is on the wire, and
    /// for [`WAITING_PIN`] after a caller last found no token (until one is served).
    pub(super) fn update_pin(&mut self, slot: usize, now: Time) {
        let Some(entry) = self.entries.get(slot) else {
            return;
        };
        let waiting = entry
            .waiting_since
            .is_some_and(|since| now < since.saturating_add(WAITING_PIN));
        let pinned = match &entry.state {
            EntryState::Resolving { .. } => true,
            EntryState::Live(_) => entry.holds || waiting,
            EntryState::Unknown { .. } => false,
        };
        self.entries.set_pinned(slot, pinned);
    }
}
