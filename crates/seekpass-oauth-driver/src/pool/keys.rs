//! Each key's token as callers see it: a concurrent map from key to what the pool last
//! published for it, read without the pool's lock. The map's shards are read-write locks, so
//! callers of different keys rarely touch the same lock, and a caller's read takes no lock
//! the driver holds while sending.

use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;
use foldhash::fast::RandomState;
use seekpass_oauth::{FailureClass, Time, Token, TokenError};

use crate::cell::{Kick, Served};
use crate::clock::{self, AtomicReading, Reading, Timeline, SAFETY};
use crate::error::Error;

/// What callers of one key read, and the key's failures towards giving up.
pub(crate) struct Record {
    served: Option<Served>,
    /// The served token stops being served here (already moved earlier by [`SAFETY`]).
    serve_until: Reading,
    /// Past this a call asks the pool (the slow path): the token's refresh moment, until the
    /// pool holds the callers' demand.
    ask_at: Reading,
    /// Asked for since the driver last reported use to the pool.
    used: AtomicBool,
    /// The failures since the key's last token. Boxed: most keys have none, and a smaller
    /// record is fewer cache lines for a call to read.
    failing: Option<Box<Failing>>,
}

/// A key's failures since its last token.
struct Failing {
    transient_in_a_row: u32,
    since: Time,
    next_moment: Time,
    gave_up: Option<Error>,
}

impl Record {
    fn new() -> Record {
        Record {
            served: None,
            serve_until: Reading::ZERO,
            ask_at: Reading::ZERO,
            used: AtomicBool::new(true),
            failing: None,
        }
    }
}

/// Shards of the key map (a power of two).
const SHARDS: usize = 256;

pub(crate) struct Keys<K> {
    /// Hashed with foldhash, seeded per process: the hash is a good part of a call's cost,
    /// and SipHash, the standard map's, took several times as long for a small key.
    map: DashMap<K, Record, RandomState>,
    /// The pool's next moment on the hot path's clocks: a call past it kicks the driver.
    wake: AtomicReading,
}

impl<K: Eq + Hash + Clone> Keys<K> {
    pub(crate) fn new() -> Keys<K> {
        Keys {
            // Many shards: a read takes its shard's lock word, and callers on different cores
            // asking for different keys should rarely share one (with the default, a few per
            // core, every call moved a lock word between cores: five times slower on two).
            map: DashMap::with_hasher_and_shard_amount(RandomState::default(), SHARDS),
            wake: AtomicReading::new(Reading::NEVER),
        }
    }

    /// The hot path: `key`'s usable token, and whether the driver needs a nudge (no token,
    /// its refresh moment passed, or the pool's next moment passed).
    #[inline]
    pub(crate) fn read(&self, key: &K) -> (Option<Served>, Kick) {
        let Some(record) = self.map.get(key) else {
            return (None, Kick::Yes);
        };
        let now = clock::now();
        if !record.used.load(Ordering::Relaxed) {
            record.used.store(true, Ordering::Relaxed);
        }
        match &record.served {
            Some(served) if now.before(record.serve_until) => {
                let kick = if now.before(record.ask_at) && now.before(self.wake.load()) {
                    Kick::No
                } else {
                    Kick::Yes
                };
                (Some(served.clone()), kick)
            }
            _ => (None, Kick::Yes),
        }
    }

    /// Why `key`'s callers are turned away, if they are.
    pub(crate) fn gave_up(&self, key: &K) -> Option<Error> {
        let record = self.map.get(key)?;
        record.failing.as_ref()?.gave_up.clone()
    }

    /// Publishes `key`'s usable token (or that there is none), its moments taken from the
    /// machine's `now` on `timeline`.
    pub(crate) fn publish(&self, key: &K, token: Option<&Token>, now: Time) {
        let reading = clock::now();
        let at = |t: Time| Timeline::reading(t, now, reading);
        let mut record = self.map.entry(key.clone()).or_insert_with(Record::new);
        if record.served.as_ref().map(|s| s.token) != token.map(Token::id) {
            record.served = token.map(|t| Served {
                authorization: t.authorization().clone(),
                token: t.id(),
            });
        }
        record.serve_until = token.map_or(Reading::ZERO, |t| at(t.serve_until()).minus(SAFETY));
        record.ask_at = token.map_or(Reading::ZERO, |t| at(t.refresh_at()).plus(SAFETY));
    }

    /// The pool holds `key`'s callers' demand: calls stop asking until the next publish.
    pub(crate) fn asked(&self, key: &K) {
        if let Some(mut record) = self.map.get_mut(key) {
            record.ask_at = Reading::NEVER;
        }
    }

    /// The pool's next moment (`None`: none).
    pub(crate) fn set_wake(&self, at: Option<Time>, now: Time) {
        let reading = clock::now();
        let wake = at.map_or(Reading::NEVER, |t| {
            Timeline::reading(t, now, reading).plus(SAFETY)
        });
        self.wake.store(wake);
    }

    /// Drops `key`'s record, and with it the last copy of its token.
    pub(crate) fn remove(&self, key: &K) {
        self.map.remove(key);
    }

    /// `key` got a token: its failures are forgotten.
    pub(crate) fn succeeded(&self, key: &K) {
        if let Some(mut record) = self.map.get_mut(key) {
            record.failing = None;
        }
    }

    /// `key`'s attempt failed at `now`: counted towards giving up after `max_attempts`
    /// transient failures in a row, or at once for a permanent one.
    pub(crate) fn failed(
        &self,
        key: &K,
        class: FailureClass,
        error: &TokenError,
        next_attempt: Time,
        max_attempts: u32,
        now: Time,
    ) {
        let mut record = self.map.entry(key.clone()).or_insert_with(Record::new);
        let failing = record.failing.get_or_insert_with(|| {
            Box::new(Failing {
                transient_in_a_row: 0,
                since: now,
                next_moment: next_attempt,
                gave_up: None,
            })
        });
        failing.next_moment = next_attempt;
        if class == FailureClass::Transient {
            failing.transient_in_a_row = failing.transient_in_a_row.saturating_add(1);
        }
        if class == FailureClass::Permanent || failing.transient_in_a_row >= max_attempts {
            failing.gave_up = Some(Error::GaveUp {
                class,
                attempts: failing.transient_in_a_row.max(1),
                error: Box::new(error.clone()),
            });
        }
    }

    /// `key`'s failure record: since when attempts fail and the next one.
    pub(crate) fn failing(&self, key: &K) -> (Option<Time>, Option<Time>) {
        self.map
            .get(key)
            .and_then(|r| {
                r.failing
                    .as_ref()
                    .map(|f| (Some(f.since), Some(f.next_moment)))
            })
            .unwrap_or((None, None))
    }

    /// The keys asked for since the last call, their marks cleared.
    pub(crate) fn take_used(&self) -> Vec<K> {
        self.map
            .iter()
            .filter(|r| r.used.swap(false, Ordering::Relaxed))
            .map(|r| r.key().clone())
            .collect()
    }
}
