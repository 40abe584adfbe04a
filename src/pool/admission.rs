//! The pool's shared request budget: at most `max_in_flight` requests out at once and
//! `max_per_second` started in any second, across all keys, and the queue of entries waiting
//! for a permit (callers waiting for a first token before refreshes and retries).

use std::collections::VecDeque;

use core::time::Duration;

use crate::ids::RequestId;
use crate::time::Time;

const SECOND: Duration = Duration::from_secs(1);

/// A request still on the wire whose entry the pool dropped: it counts against
/// `max_in_flight` until its answer is fed or its deadline passes.
struct Orphan<K> {
    key: K,
    id: RequestId,
    deadline: Time,
}

/// A place in the queue for a permit. Tickets only grow, so an entry queued again (or removed
/// and its slot reused) leaves its old place stale, skipped when reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket(u64);

pub(super) struct Admission<K> {
    max_in_flight: usize,
    max_per_second: usize,
    /// Entries holding a permit: from the grant until their request ends.
    holders: usize,
    orphans: Vec<Orphan<K>>,
    /// When each permit of the last second was granted, oldest first.
    started: VecDeque<Time>,
    /// Entries a caller waits on (no token to serve), oldest first.
    awaited: VecDeque<(usize, Ticket)>,
    /// Refreshes and retries nobody waits on yet, oldest first.
    ahead: VecDeque<(usize, Ticket)>,
    next_ticket: u64,
}

impl<K: PartialEq> Admission<K> {
    pub(super) fn new(max_in_flight: usize, max_per_second: usize) -> Admission<K> {
        Admission {
            max_in_flight,
            max_per_second,
            holders: 0,
            orphans: Vec::new(),
            started: VecDeque::new(),
            awaited: VecDeque::new(),
            ahead: VecDeque::new(),
            next_ticket: 0,
        }
    }

    /// Requests counted as in flight at `now`: permits held and orphaned requests before
    /// their deadline.
    pub(super) fn in_flight(&self, now: Time) -> usize {
        let orphans = self.orphans.iter().filter(|o| o.deadline > now).count();
        self.holders.saturating_add(orphans)
    }

    /// Permits granted in the second before `now`.
    fn started_within_a_second(&self, now: Time) -> usize {
        self.started
            .iter()
            .filter(|t| t.saturating_add(SECOND) > now)
            .count()
    }

    /// Forgets what `now` has put behind: grants older than a second, orphans past their
    /// deadline.
    pub(super) fn advance(&mut self, now: Time) {
        while self
            .started
            .front()
            .is_some_and(|t| t.saturating_add(SECOND) <= now)
        {
            self.started.pop_front();
        }
        self.orphans.retain(|o| o.deadline > now);
    }

    /// Whether a permit may be granted at `now`.
    pub(super) fn open(&self, now: Time) -> bool {
        self.in_flight(now) < self.max_in_flight
            && self.started_within_a_second(now) < self.max_per_second
    }

    /// Grants a permit at `now`.
    pub(super) fn grant(&mut self, now: Time) {
        self.holders = self.holders.saturating_add(1);
        self.started.push_back(now);
    }

    /// A permit's request ended (or was never needed).
    pub(super) fn release(&mut self) {
        self.holders = self.holders.saturating_sub(1);
    }

    /// A permit holder was dropped with request `id` of `key` still on the wire.
    pub(super) fn orphan(&mut self, key: K, id: RequestId, deadline: Time) {
        self.release();
        self.orphans.push(Orphan { key, id, deadline });
    }

    /// An answer came for a dropped entry's request: whether it was one, now no longer
    /// counted.
    pub(super) fn answered_orphan(&mut self, key: &K, id: RequestId) -> bool {
        let before = self.orphans.len();
        self.orphans.retain(|o| !(o.id == id && &o.key == key));
        self.orphans.len() != before
    }

    /// Queues `slot` for a permit: with the callers waiting for a token when `awaited`, else
    /// behind them.
    pub(super) fn enqueue(&mut self, slot: usize, awaited: bool) -> Ticket {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket = self.next_ticket.saturating_add(1);
        if awaited {
            self.awaited.push_back((slot, ticket));
        } else {
            self.ahead.push_back((slot, ticket));
        }
        ticket
    }

    /// The next place in the queue, stale or not: the caller checks the ticket.
    pub(super) fn next_queued(&mut self) -> Option<(usize, Ticket)> {
        self.awaited.pop_front().or_else(|| self.ahead.pop_front())
    }

    /// When a permit frees by time alone while entries wait for one (after `now`): the second
    /// after the oldest grant of the last second, or an orphan's deadline.
    pub(super) fn next_wake(&self, now: Time) -> Option<Time> {
        if !self.queued() {
            return None;
        }
        let rate = (self.started_within_a_second(now) >= self.max_per_second)
            .then(|| {
                self.started
                    .iter()
                    .map(|t| t.saturating_add(SECOND))
                    .find(|t| *t > now)
            })
            .flatten();
        let orphan = (self.in_flight(now) >= self.max_in_flight)
            .then(|| {
                let alive = self.orphans.iter().map(|o| o.deadline);
                alive.filter(|t| *t > now).min()
            })
            .flatten();
        [rate, orphan].into_iter().flatten().min()
    }

    /// Whether any entry waits for a permit (some places may be stale).
    pub(super) fn queued(&self) -> bool {
        !(self.awaited.is_empty() && self.ahead.is_empty())
    }
}
