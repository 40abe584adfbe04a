//! The sharing sub-machine: how far this replica's acquisition has gone through the store, and
//! the store operations that move it on. Every change of [`Phase`] happens in this file.
//!
//! ```text
//!            request wanted (store not resting)
//!   Idle ────────────────────────────────────────────► Asking ◄──── request wanted, ──┐
//!    ▲ ▲                                                 │  │       wait goes on      │
//!    │ │ adopted; nothing adoptable while backing off;   │  │ lock refused            │
//!    │ └──────────── store failed or timed out ──────────┘  ▼                         │
//!    │                                                    Waiting ────────────────────┘
//!    │                                                      │  store failed: Idle
//!    │ fetch ended: token written and unlocked,             │ request wanted,
//!    │ or the lock kept for the back-off                    │ wait over (no lock)
//!    │ (nothing written while the store rests)              ▼
//!    └──────────────────────────────────────────────── Fetching ◄── Asking: lock taken,
//!                                                                   read again found nothing
//! ```
//!
//! | phase | input | next phase | store operations queued |
//! |---|---|---|---|
//! | `Idle` | a request is wanted ([`Coordinator::begin`]) | `Asking` | read |
//! | `Waiting` | a request is wanted, the wait is over | `Fetching` (no lock) | — |
//! | `Waiting` | a request is wanted, the wait goes on | `Asking` | read |
//! | `Asking` | read: a token adopted | `Idle` | — |
//! | `Asking` | read: nothing adoptable, requests allowed | `Asking` | lock (first) |
//! | `Asking` | read: nothing adoptable, requests back off | `Idle` | — |
//! | `Asking` | lock taken | `Asking` | read again (first) |
//! | `Asking` | lock refused | `Waiting` until the next read | — |
//! | `Asking` | read again: a token adopted | `Idle` | unlock |
//! | `Asking` | read again: nothing adoptable | `Fetching` (lock held) | — |
//! | `Fetching` | token fetched ([`Coordinator::end_fetch`]) | `Idle` | write, unlock (none while the store rests) |
//! | `Fetching` | attempt failed ([`Coordinator::end_fetch`]) | `Idle` | the lock kept for the back-off (none while the store rests) |
//! | any other | a fetch ends ([`Coordinator::end_fetch`]) | `Idle` | — |
//! | `Asking`, `Waiting` | store failed or timed out ([`Coordinator::failed`]) | `Idle` | queue dropped |
//! | `Idle`, `Fetching` | store failed or timed out | unchanged | queue dropped |
//! | any | a 401 for the shared token ([`Coordinator::forget`]) | unchanged | forget (none while the store rests) |
//!
//! The machine (`mod.rs`) decides when a request is wanted and whether a read token is adopted;
//! this type decides what the store is asked next.

use core::time::Duration;
use std::collections::VecDeque;

use crate::config::Config;
use crate::error::InputError;
use crate::ids::StoreId;
use crate::rng::Rng;
use crate::share::Share;
use crate::store::{StoreAnswer, StoreCommand, StoreError, StoreErrorKind, StoreOp, StoredValue};
use crate::store_key::Keys;
use crate::time::Time;

/// Coordination with the other replicas through the store (see `share.rs` for the protocol).
pub(super) struct Coordinator {
    keys: Keys,
    /// This replica's part of every lock owner mark, drawn once.
    owner_mark: u64,
    locks_taken: u64,
    next_op: u64,
    /// The one store operation in flight.
    op: Option<StoreFlight>,
    /// Operations to emit, in order, once nothing is in flight.
    queue: VecDeque<(StoreCommand, Purpose)>,
    phase: Phase,
    failures_in_a_row: u32,
    /// After a store failure, the store is left alone until then.
    resume_at: Option<Time>,
    /// When the store last answered a read: while requests back off, the next read is due
    /// an interval later.
    last_read: Option<Time>,
}

/// How far this replica's current acquisition has gone through the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// No acquisition under way through the store.
    Idle,
    /// A read or a lock is queued or in flight.
    Asking { wait: PeerWait },
    /// Another replica holds the lock: read again at `until`.
    Waiting { wait: PeerWait, until: Time },
    /// Fetching from the token endpoint; release `lock` afterwards (if taken) and write the token
    /// for the others.
    Fetching { lock: Option<String> },
}

/// How long this replica waits for another replica's fetch before fetching on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PeerWait {
    /// When the acquisition began.
    since: Time,
    /// With no usable token: a draw between half the peer wait and all of it, so replicas
    /// that lose a dead holder's lock together do not all fetch at once (the first one's token
    /// is adopted by those still waiting).
    without_token: Duration,
    /// Reads so far that found the lock held: the interval between reads doubles with each.
    polls: u32,
    /// [`Share::peer_wait`](crate::Share::peer_wait).
    peer_wait: Duration,
}

impl PeerWait {
    /// Whether to stop waiting at `now`.
    fn over(self, now: Time, serve_until: Option<Time>) -> bool {
        now >= self.end(serve_until)
    }

    /// When the wait ends. With no usable token, after `without_token`. With a token served
    /// until `serve_until`, while a fetch of its own still fits before then: the peer wait
    /// before it, or halfway there if that is later. A long-lived token's replicas so keep
    /// waiting on the lock while its holders retry an unavailable token endpoint one at a time,
    /// instead of all fetching at once.
    fn end(self, serve_until: Option<Time>) -> Time {
        match serve_until {
            Some(until) => {
                let half = until
                    .saturating_duration_since(self.since)
                    .checked_div(2)
                    .unwrap_or_default();
                until.saturating_sub(self.peer_wait.min(half))
            }
            None => self.since.saturating_add(self.without_token),
        }
    }

    /// The next read after the lock was found held at `now`: the poll interval, doubling with
    /// each such read up to `cap` (a slow or failing holder is not polled four times a
    /// second for minutes), and never past the end of the wait.
    fn next_read(
        &mut self,
        now: Time,
        first: Duration,
        cap: Duration,
        serve_until: Option<Time>,
    ) -> Time {
        let doublings = self.polls.min(16);
        self.polls = self.polls.saturating_add(1);
        let interval = first
            .checked_mul(1u32 << doublings)
            .unwrap_or(cap)
            .min(cap.max(first));
        let end = self.end(serve_until).max(now.saturating_add(first));
        now.saturating_add(interval).min(end)
    }
}

/// Why a store operation was sent, to read its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Purpose {
    Read,
    Lock(String),
    /// The read again once the lock is ours: another replica may have written its token and
    /// released the lock between this replica's first read and its lock.
    Recheck(String),
    /// Write, unlock, forget: their answers change nothing.
    Housekeeping,
}

/// The one store operation in flight.
pub(super) struct StoreFlight {
    id: StoreId,
    sent_at: Time,
    deadline: Time,
    command: &'static str,
    purpose: Purpose,
}

impl StoreFlight {
    /// The command's name, for events.
    pub(super) fn command(&self) -> &'static str {
        self.command
    }

    /// How long the operation had before its deadline.
    pub(super) fn allowed(&self) -> Duration {
        self.deadline.saturating_duration_since(self.sent_at)
    }
}

/// What the machine is to do with a store's answer.
pub(super) enum Answered {
    /// Nothing more: the coordinator has moved on by itself.
    Done,
    /// A read came back: adopt the value if it is usable (`found`), then tell
    /// [`Coordinator::after_read`] whether it was, with `then`.
    Read {
        found: Option<(StoredValue, Option<Duration>)>,
        sent_at: Time,
        then: AfterRead,
    },
    /// The answer does not fit the operation: a store failure of `command`.
    Wrong {
        command: &'static str,
        error: StoreError,
    },
}

/// What a read leads to when it found nothing adoptable.
pub(super) enum AfterRead {
    /// The first read: take the lock if requests are allowed.
    Lock,
    /// The read again under the lock `owner`: fetch.
    Fetch(String),
}

/// How a fetch ended for the store ([`Coordinator::end_fetch`]).
pub(super) enum FetchEnd {
    /// The fetch did not go through the store, or the store rests: the token is this replica's.
    Alone,
    /// The fetch went through the store: write the token for the others, then release `lock`
    /// (if one was taken).
    Shared { lock: Option<String> },
}

impl Coordinator {
    /// The sub-machine for `config`'s share, if it has one; its operation ids start at
    /// `first_op`.
    pub(super) fn new(config: &Config, rng: &mut Rng, first_op: u64) -> Option<Box<Coordinator>> {
        let share = config.share.as_ref()?;
        Some(Box::new(Coordinator {
            keys: Keys::new(config, share),
            owner_mark: rng.next_u64(),
            locks_taken: 0,
            next_op: first_op,
            op: None,
            queue: VecDeque::new(),
            phase: Phase::Idle,
            failures_in_a_row: 0,
            resume_at: None,
            last_read: None,
        }))
    }

    /// The id the next operation will take: every id below it has been issued.
    pub(super) fn next_op(&self) -> u64 {
        self.next_op
    }

    /// Numbers operations from `first`, before any is issued.
    pub(super) fn number_from(&mut self, first: u64) {
        self.next_op = first;
    }

    pub(super) fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(super) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// An acquisition is under way through the store.
    pub(super) fn busy(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// The store is being left alone after a failure.
    pub(super) fn resting(&self, now: Time) -> bool {
        self.resume_at.is_some_and(|at| now < at)
    }

    /// The deadline of the operation in flight.
    pub(super) fn op_deadline(&self) -> Option<Time> {
        self.op.as_ref().map(|op| op.deadline)
    }

    /// An operation is queued and none is in flight.
    pub(super) fn ready_to_send(&self) -> bool {
        self.op.is_none() && !self.queue.is_empty()
    }

    /// Takes the operation in flight if its deadline has passed at `now`.
    pub(super) fn take_late(&mut self, now: Time) -> Option<StoreFlight> {
        if self.op.as_ref().is_some_and(|op| now >= op.deadline) {
            self.op.take()
        } else {
            None
        }
    }

    /// A request is wanted at `now`: starts an acquisition through the store and returns `true`,
    /// or returns `false` to fetch directly (the store rests, the lock is ours, or a replica has
    /// waited for another's fetch long enough).
    pub(super) fn begin(
        &mut self,
        now: Time,
        share: &Share,
        serve_until: Option<Time>,
        rng: &mut Rng,
    ) -> bool {
        if self.resting(now) {
            return false;
        }
        let wait = match self.phase {
            Phase::Fetching { .. } => return false,
            Phase::Asking { .. } => return true,
            Phase::Idle => {
                // The demand so far is answered when a token is adopted or a request emitted.
                let half = share.wait_for_peer().checked_div(2).unwrap_or_default();
                PeerWait {
                    since: now,
                    without_token: half.saturating_add(rng.duration_up_to(half)),
                    polls: 0,
                    peer_wait: share.wait_for_peer(),
                }
            }
            Phase::Waiting { wait, .. } => {
                if wait.over(now, serve_until) {
                    self.phase = Phase::Fetching { lock: None };
                    return false;
                }
                wait
            }
        };
        self.phase = Phase::Asking { wait };
        let key = self.keys.token.clone();
        self.queue
            .push_back((StoreCommand::Read { key }, Purpose::Read));
        true
    }

    /// Emits the next queued operation if none is in flight.
    pub(super) fn send(&mut self, now: Time, share: &Share) -> Option<StoreOp> {
        if self.op.is_some() {
            return None;
        }
        let (command, purpose) = self.queue.pop_front()?;
        let id = StoreId(self.next_op);
        self.next_op = self.next_op.saturating_add(1);
        let deadline = now.saturating_add(share.timeout());
        self.op = Some(StoreFlight {
            id,
            sent_at: now,
            deadline,
            command: command.name(),
            purpose,
        });
        Some(StoreOp {
            id,
            deadline,
            command,
        })
    }

    /// The operation `id`, if it is the one in flight; refused otherwise, changing nothing.
    pub(super) fn take_op(&mut self, id: StoreId) -> Result<StoreFlight, InputError> {
        match self.op.take() {
            Some(op) if op.id == id => Ok(op),
            other => {
                self.op = other;
                if id.0 >= self.next_op {
                    Err(InputError::UnknownStoreOp(id))
                } else {
                    Err(InputError::StaleStoreOp(id))
                }
            }
        }
    }

    /// The store answered `flight` with `answer` at `now`.
    pub(super) fn answered(
        &mut self,
        flight: StoreFlight,
        answer: StoreAnswer,
        now: Time,
        share: &Share,
        serve_until: Option<Time>,
    ) -> Answered {
        self.failures_in_a_row = 0;
        self.resume_at = None;
        if flight.purpose == Purpose::Read {
            self.last_read = Some(now);
        }
        let mut wait = match self.phase {
            Phase::Asking { wait } => wait,
            _ => PeerWait {
                since: now,
                without_token: Duration::ZERO,
                polls: 0,
                peer_wait: Duration::ZERO,
            },
        };
        let sent_at = flight.sent_at;
        match (flight.purpose, answer) {
            (Purpose::Read, StoreAnswer::Found { value, ttl }) => Answered::Read {
                found: Some((value, ttl)),
                sent_at,
                then: AfterRead::Lock,
            },
            (Purpose::Read, StoreAnswer::Missing) => Answered::Read {
                found: None,
                sent_at,
                then: AfterRead::Lock,
            },
            (Purpose::Lock(owner), StoreAnswer::Done) => {
                let key = self.keys.token.clone();
                self.queue
                    .push_front((StoreCommand::Read { key }, Purpose::Recheck(owner)));
                Answered::Done
            }
            (Purpose::Recheck(owner), StoreAnswer::Found { value, ttl }) => Answered::Read {
                found: Some((value, ttl)),
                sent_at,
                then: AfterRead::Fetch(owner),
            },
            (Purpose::Recheck(owner), StoreAnswer::Missing) => {
                self.phase = Phase::Fetching { lock: Some(owner) };
                Answered::Done
            }
            (Purpose::Lock(_), StoreAnswer::Refused) => {
                let (first, cap) = (share.read_interval(), share.backoff_read_interval());
                let until = wait.next_read(now, first, cap, serve_until);
                self.phase = Phase::Waiting { wait, until };
                Answered::Done
            }
            (Purpose::Housekeeping, _) => Answered::Done,
            (_, answer) => Answered::Wrong {
                command: flight.command,
                error: StoreError::new(
                    StoreErrorKind::Protocol,
                    format!(
                        "{} is no answer to {}",
                        answer_name(&answer),
                        flight.command
                    ),
                ),
            },
        }
    }

    /// After a read that the machine did or did not `adopt`. Without a token to adopt: the
    /// first read tries the lock if a request is allowed now (`requests_allowed`), and otherwise
    /// was only a look for a peer's token while requests back off; the read again under the
    /// lock starts the fetch.
    pub(super) fn after_read(
        &mut self,
        then: AfterRead,
        adopted: bool,
        requests_allowed: bool,
        lock_ttl: Duration,
    ) {
        match (then, adopted) {
            (AfterRead::Lock, true) => {}
            (AfterRead::Lock, false) if requests_allowed => self.lock(lock_ttl),
            (AfterRead::Lock, false) => self.phase = Phase::Idle,
            (AfterRead::Fetch(owner), true) => self.unlock(Some(owner)),
            (AfterRead::Fetch(owner), false) => self.phase = Phase::Fetching { lock: Some(owner) },
        }
    }

    /// A token was adopted from the store: the acquisition is over.
    pub(super) fn adopted(&mut self) {
        self.phase = Phase::Idle;
    }

    /// A store operation failed or timed out at `now`: the store is left alone for a back-off,
    /// whose end is returned, and an acquisition waiting on it gives way to a fetch of one's own.
    pub(super) fn failed(&mut self, share: &Share, now: Time) -> Time {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let retry_at = now.saturating_add(share.backoff(self.failures_in_a_row));
        self.resume_at = Some(retry_at);
        self.queue.clear();
        if matches!(self.phase, Phase::Asking { .. } | Phase::Waiting { .. }) {
            self.phase = Phase::Idle;
        }
        retry_at
    }

    /// Ends a fetch at `now`, successful or not.
    pub(super) fn end_fetch(&mut self, now: Time) -> FetchEnd {
        let Phase::Fetching { lock } = core::mem::replace(&mut self.phase, Phase::Idle) else {
            return FetchEnd::Alone;
        };
        if self.resting(now) {
            FetchEnd::Alone
        } else {
            FetchEnd::Shared { lock }
        }
    }

    /// Queues the write of a fetched token's `value` for the other replicas, expiring after
    /// `ttl` (none if zero), and the release of `lock`.
    pub(super) fn write(&mut self, value: StoredValue, ttl: Duration, lock: Option<String>) {
        if !ttl.is_zero() {
            let key = self.keys.token.clone();
            let write = StoreCommand::Write { key, value, ttl };
            self.queue.push_back((write, Purpose::Housekeeping));
        }
        self.unlock(lock);
    }

    /// After a failed fetch under the lock `owner`: keeps the lock for `ttl`, so the fleet backs
    /// off with its holder.
    pub(super) fn hold_lock(&mut self, owner: String, ttl: Duration) {
        let key = self.keys.lock.clone();
        let write = StoreCommand::Write {
            key,
            value: StoredValue::new(owner.into_bytes()),
            ttl,
        };
        self.queue.push_back((write, Purpose::Housekeeping));
    }

    /// The API rejected the shared token stored as `value`: forget it in the store, unless the
    /// store rests.
    pub(super) fn forget(&mut self, value: StoredValue, now: Time) {
        if self.resting(now) {
            return;
        }
        let key = self.keys.token.clone();
        self.queue
            .push_back((StoreCommand::Forget { key, value }, Purpose::Housekeeping));
    }

    /// When a request wanted from `at` on may be emitted, as far as the store is concerned:
    /// `None` while a store operation is queued or in flight or a read or lock is under way;
    /// after the wait while another replica holds the lock. While requests back off after a
    /// failure (`backing_off`), the store is read for a peer's token every `reread` from
    /// `wanted_from` on.
    pub(super) fn request_due(
        &self,
        at: Time,
        now: Time,
        backing_off: bool,
        wanted_from: Time,
        reread: Duration,
    ) -> Option<Time> {
        if self.resting(now) {
            return Some(at);
        }
        if self.op.is_some() || !self.queue.is_empty() {
            return None;
        }
        match self.phase {
            Phase::Asking { .. } => None,
            Phase::Waiting { until, .. } => Some(at.max(until)),
            // Backing off after a failure: read the store for a peer's token meanwhile.
            Phase::Idle if backing_off => {
                let read = self
                    .last_read
                    .map_or(wanted_from, |r| r.saturating_add(reread))
                    .max(wanted_from);
                Some(at.min(read))
            }
            Phase::Idle | Phase::Fetching { .. } => Some(at),
        }
    }

    /// Try the lock, so one replica fetches; it expires after `ttl` if its holder dies.
    fn lock(&mut self, ttl: Duration) {
        let owner = format!("{:016x}.{}", self.owner_mark, self.locks_taken);
        self.locks_taken = self.locks_taken.saturating_add(1);
        let key = self.keys.lock.clone();
        let command = StoreCommand::Lock {
            key,
            owner: owner.clone(),
            ttl,
        };
        self.queue.push_front((command, Purpose::Lock(owner)));
    }

    fn unlock(&mut self, lock: Option<String>) {
        if let Some(owner) = lock {
            let key = self.keys.lock.clone();
            self.queue
                .push_back((StoreCommand::Unlock { key, owner }, Purpose::Housekeeping));
        }
    }
}

fn answer_name(answer: &StoreAnswer) -> &'static str {
    match answer {
        StoreAnswer::Found { .. } => "a value",
        StoreAnswer::Missing => "a missing key",
        StoreAnswer::Done => "done",
        StoreAnswer::Refused => "refused",
    }
}
