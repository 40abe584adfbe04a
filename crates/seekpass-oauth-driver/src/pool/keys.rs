//! Each key's token as callers see it: a concurrent map from key to what the pool last
//! published for it, read without the pool's lock and without a lock of its own (papaya's map,
//! its reads lock-free). A read writes a key's use mark once per use report, and the reference
//! count of its stripe's copy of the token (see [`Keys::read`]), so callers on many cores
//! asking for the same few keys rarely take turns at a cache line.
//!
//! A record's token and failures never change in place: a new token, or a failure, puts a
//! changed copy in the record's place. Its moments and its use mark change in place.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use foldhash::fast::RandomState;
use papaya::{Compute, Guard, HashMap, Operation, ResizeMode};
use seekpass_oauth::http::HeaderValue;
use seekpass_oauth::{sensitive_copy, FailureClass, Time, Token, TokenError, TokenId};
use seize::Collector;

use crate::cell::{Kick, Served};
use crate::clock::{self, AtomicReading, Reading, Timeline, SAFETY};
use crate::error::Error;

/// What callers of one key read, and the key's failures towards giving up.
pub(crate) struct Record {
    /// Replaced with the record: a caller reads a token and the deadline set for it together.
    served: Option<Served>,
    /// The served token stops being served here (already moved earlier by [`SAFETY`]).
    serve_until: AtomicReading,
    /// Past this a call asks the pool (the slow path): the token's refresh moment, until the
    /// pool holds the callers' demand.
    ask_at: AtomicReading,
    /// Asked for since the driver last reported use to the pool.
    used: AtomicBool,
    /// The failures since the key's last token. Boxed: most keys have none, and a smaller
    /// record is fewer cache lines for a call to read.
    failing: Option<Box<Failing>>,
    /// Copies of the served `Authorization` value for the other stripes of threads (see
    /// [`Keys::read`]), each made on its stripe's first read of the token.
    copies: OnceLock<Box<[OnceLock<HeaderValue>]>>,
}

/// Most stripes of threads: past this many cores, threads share a copy in turns. A key read
/// by a second stripe holds a table of 48 bytes per stripe (past the first) until its next
/// token, so the bound keeps that table under 1 KiB.
const MAX_STRIPES: usize = 16;

/// The cores this process may run on: as many stripes as that (see [`Keys::with_stripes`]).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// This thread's number: threads are numbered as they first read a pool.
#[inline]
fn thread_number() -> usize {
    thread_local! {
        static NUMBER: usize = {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            NEXT.fetch_add(1, Ordering::Relaxed)
        };
    }
    NUMBER.with(|number| *number)
}

/// A key's failures since its last token.
#[derive(Clone)]
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
            serve_until: AtomicReading::new(Reading::ZERO),
            ask_at: AtomicReading::new(Reading::ZERO),
            used: AtomicBool::new(true),
            failing: None,
            copies: OnceLock::new(),
        }
    }

    /// A copy to change and put in this record's place; [`Keys::replace`] carries the use mark
    /// over once the copy is in place, and the stripes' copies of the token if it stayed.
    fn copy(&self) -> Record {
        Record {
            served: self.served.clone(),
            serve_until: AtomicReading::new(self.serve_until.load()),
            ask_at: AtomicReading::new(self.ask_at.load()),
            used: AtomicBool::new(false),
            failing: self.failing.clone(),
            copies: OnceLock::new(),
        }
    }

    /// The id of the token callers are served, if any.
    fn token(&self) -> Option<TokenId> {
        self.served.as_ref().map(|s| s.token)
    }

    /// `served` for a thread of `stripe` (of `stripes`): the record's own `Authorization`
    /// value on stripe 0, the stripe's copy on the others.
    #[inline]
    fn serve(&self, served: &Served, stripe: usize, stripes: usize) -> Served {
        Served {
            authorization: self.authorization(served, stripe, stripes),
            token: served.token,
        }
    }

    /// `served`'s `Authorization` value for a thread of `stripe` (see [`Record::serve`]).
    #[inline]
    fn authorization(&self, served: &Served, stripe: usize, stripes: usize) -> HeaderValue {
        match stripe.checked_sub(1) {
            None => served.authorization.clone(),
            Some(other) => self.copy_for(other, &served.authorization, stripes),
        }
    }

    /// The copy of `own` for stripe `other + 1`, made on its first read.
    #[inline]
    fn copy_for(&self, other: usize, own: &HeaderValue, stripes: usize) -> HeaderValue {
        let copies = self
            .copies
            .get_or_init(|| (1..stripes).map(|_| OnceLock::new()).collect());
        copies.get(other).map_or_else(
            || own.clone(),
            |copy| copy.get_or_init(|| sensitive_copy(own)).clone(),
        )
    }
}

pub(crate) struct Keys<K> {
    /// Hashed with foldhash, seeded per process: the hash is a good part of a call's cost,
    /// and SipHash, the standard map's, took several times as long for a small key.
    map: HashMap<K, Record, RandomState>,
    /// The pool's next moment on the hot path's clocks: a call past it kicks the driver.
    wake: AtomicReading,
    /// Stripes of threads, a power of two: a thread's stripe is its number modulo this.
    stripes: usize,
}

impl<K: Eq + Hash + Clone> Keys<K> {
    pub(crate) fn new() -> Keys<K> {
        Keys::with_stripes(cores())
    }

    /// Keys whose callers are spread over `stripes` stripes (at most [`MAX_STRIPES`], rounded
    /// up to a power of two).
    pub(crate) fn with_stripes(stripes: usize) -> Keys<K> {
        Keys {
            // Resized all at once, by the writer (the driver, never a caller): an incremental
            // resize, papaya's default, is finished only as later writes help, and until then
            // a read searches both tables (a pool of 10,000 keys read 3 times slower).
            map: HashMap::builder()
                .hasher(RandomState::default())
                .resize_mode(ResizeMode::Blocking)
                // A removed or replaced record is freed (and its token's copies wiped) as soon
                // as no caller is reading it, not after 32 more removals on the same thread.
                .collector(Collector::new().batch_size(1))
                .build(),
            wake: AtomicReading::new(Reading::NEVER),
            stripes: stripes.clamp(1, MAX_STRIPES).next_power_of_two(),
        }
    }

    /// The hot path: `key`'s usable token, and whether the driver needs a nudge (no token,
    /// its refresh moment passed, or the pool's next moment passed).
    ///
    /// Threads are spread over as many stripes as there are cores, and each clones its
    /// stripe's copy of a key's `Authorization` value (stripe 0 the record's own, whose count
    /// the pool's token shares): clones of one value share a reference count, and callers on
    /// different cores cloning the same value would pass its cache line between them on every
    /// call. Threads are numbered in the order they first read, so this is a spread, not a
    /// guarantee: two busy threads may share a stripe, and then its count.
    #[inline]
    pub(crate) fn read(&self, key: &K) -> (Option<Served>, Kick) {
        self.read_on(key, self.stripe_of(thread_number()))
    }

    /// [`Keys::read`] for a thread of `stripe`.
    #[inline]
    pub(crate) fn read_on(&self, key: &K, stripe: usize) -> (Option<Served>, Kick) {
        let read = self.look(key, |record, served, kick| {
            (record.serve(served, stripe, self.stripes), kick)
        });
        match read {
            Some((served, kick)) => (Some(served), kick),
            None => (None, Kick::Yes),
        }
    }

    /// `key`'s `Authorization` value alone, only when [`Keys::read`] would serve it with no
    /// nudge for the driver (`None` otherwise: then take the full read). Smaller than the
    /// full read, it is the whole of a ready call when inlined into the caller.
    #[inline]
    pub(crate) fn read_authorization(&self, key: &K) -> Option<HeaderValue> {
        let stripe = self.stripe_of(thread_number());
        self.look(key, |record, served, kick| {
            (kick == Kick::No).then(|| record.authorization(served, stripe, self.stripes))
        })
        .flatten()
    }

    /// The stripe of the thread numbered `number` (a power of two of stripes: a mask).
    #[inline]
    fn stripe_of(&self, number: usize) -> usize {
        number & self.stripes.wrapping_sub(1)
    }

    /// Finds `key`'s record, marks it used, and hands `serve` its token if it is still to be
    /// served, with whether the driver needs a nudge; `None` when there is no such token.
    #[inline(always)]
    fn look<R>(&self, key: &K, serve: impl FnOnce(&Record, &Served, Kick) -> R) -> Option<R> {
        let guard = self.map.guard();
        let record = self.map.get(key, &guard)?;
        let now = clock::now();
        if !record.used.load(Ordering::Relaxed) {
            self.mark_used(key, record, &guard);
        }
        match &record.served {
            Some(served) if now.before(record.serve_until.load()) => {
                let kick = if now.before(record.ask_at.load()) && now.before(self.wake.load()) {
                    Kick::No
                } else {
                    Kick::Yes
                };
                Some(serve(record, served, kick))
            }
            _ => None,
        }
    }

    /// Marks `record` used, and the record that replaced it if one did meanwhile: a
    /// replacement either copied this mark, or is found here (this fence pairs with the one
    /// in [`Keys::replace`]), so no use goes unreported.
    #[cold]
    #[inline(never)]
    fn mark_used(&self, key: &K, record: &Record, guard: &impl Guard) {
        record.used.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if let Some(current) = self.map.get(key, guard) {
            if !std::ptr::eq(current, record) {
                current.used.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Puts a copy of `key`'s record (a new one if it has none), changed by `change`, in its
    /// place.
    fn replace(&self, key: &K, change: impl Fn(&mut Record)) {
        let guard = self.map.guard();
        let result = self.map.compute(
            key.clone(),
            |entry| {
                let mut record = entry.map_or_else(Record::new, |(_, old)| old.copy());
                change(&mut record);
                // The stripes' copies go with the token: kept while it stays.
                if let Some((_, old)) = entry.filter(|(_, old)| old.token() == record.token()) {
                    record.copies = old.copies.clone();
                }
                Operation::<Record, ()>::Insert(record)
            },
            &guard,
        );
        if let Compute::Updated {
            old: (_, old),
            new: (_, new),
        } = result
        {
            // The old record's use mark, made before this point or seen by its caller to have
            // to be made on the new record too (see `mark_used`).
            fence(Ordering::SeqCst);
            if old.used.load(Ordering::Relaxed) {
                new.used.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Why `key`'s callers are turned away, if they are.
    pub(crate) fn gave_up(&self, key: &K) -> Option<Error> {
        let guard = self.map.guard();
        let record = self.map.get(key, &guard)?;
        record.failing.as_ref()?.gave_up.clone()
    }

    /// Publishes `key`'s usable token (or that there is none), its moments taken from the
    /// machine's `now` on `timeline`. The same token's new moments are stored in place; a
    /// new token (or none) replaces the record.
    pub(crate) fn publish(&self, key: &K, token: Option<&Token>, now: Time) {
        let reading = clock::now();
        let at = |t: Time| Timeline::reading(t, now, reading);
        let serve_until = token.map_or(Reading::ZERO, |t| at(t.serve_until()).minus(SAFETY));
        let ask_at = token.map_or(Reading::ZERO, |t| at(t.refresh_at()).plus(SAFETY));
        let id = token.map(Token::id);
        {
            let guard = self.map.guard();
            if let Some(record) = self.map.get(key, &guard) {
                if record.token() == id {
                    record.serve_until.store(serve_until);
                    record.ask_at.store(ask_at);
                    return;
                }
            }
        }
        self.replace(key, |record| {
            record.served = token.map(|t| Served {
                authorization: t.authorization().clone(),
                token: t.id(),
            });
            record.serve_until = AtomicReading::new(serve_until);
            record.ask_at = AtomicReading::new(ask_at);
        });
    }

    /// The pool holds `key`'s callers' demand: calls stop asking until the next publish.
    pub(crate) fn asked(&self, key: &K) {
        let guard = self.map.guard();
        if let Some(record) = self.map.get(key, &guard) {
            record.ask_at.store(Reading::NEVER);
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
        self.map.pin().remove(key);
    }

    /// `key` got a token: its failures are forgotten.
    pub(crate) fn succeeded(&self, key: &K) {
        let failing = self.map.pin().get(key).is_some_and(|r| r.failing.is_some());
        if failing {
            self.replace(key, |record| record.failing = None);
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
        self.replace(key, |record| {
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
        });
    }

    /// `key`'s failure record: since when attempts fail and the next one.
    pub(crate) fn failing(&self, key: &K) -> (Option<Time>, Option<Time>) {
        self.map
            .pin()
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
            .pin()
            .iter()
            .filter(|(_, r)| r.used.swap(false, Ordering::Relaxed))
            .map(|(key, _)| key.clone())
            .collect()
    }
}
