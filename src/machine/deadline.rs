//! The moments at which time alone changes the machine. `TokenClient::deadlines` lists them;
//! `advance` applies those that have passed and `next_wake` reports the earliest still ahead,
//! so the two can never disagree about what a moment means.

use crate::time::Time;

/// A moment at which something happens without any input but the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Deadline {
    /// The request in flight has had its time: a transport failure
    /// ([`TokenError::DeadlineExceeded`](crate::TokenError::DeadlineExceeded)).
    Request(Time),
    /// The store operation in flight has had its time: a store failure.
    StoreOp(Time),
    /// The current token stops being served ([`Event::TokenExpired`](crate::Event::TokenExpired)).
    ServeUntil(Time),
    /// A token request (or the store read before it) becomes due. Reported by `next_wake` only:
    /// `poll` emits it.
    RequestDue(Time),
}

impl Deadline {
    /// When it falls.
    pub(super) fn at(self) -> Time {
        match self {
            Deadline::Request(at)
            | Deadline::StoreOp(at)
            | Deadline::ServeUntil(at)
            | Deadline::RequestDue(at) => at,
        }
    }
}
