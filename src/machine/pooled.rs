//! What a [`TokenPool`](crate::TokenPool) needs from each of its machines: ids that never repeat
//! for a key, a permit before a request starts, and whether a caller is waiting.
//!
//! A machine outside a pool always has its permit and numbers from zero; nothing here changes
//! how it behaves.

use crate::config::Config;
use crate::machine::TokenClient;
use crate::time::Time;

impl TokenClient {
    /// A machine with no permit to start a request, whose request, token and store operation
    /// ids all start at `first`: a key's new entry in a pool starts where every earlier entry's
    /// ids ended, so an answer meant for an evicted entry is refused as stale, never taken by
    /// its successor.
    pub(crate) fn numbered_from(config: Config, now: Time, first: u64) -> TokenClient {
        let mut client = TokenClient::new(config, now);
        // In a pool, a request waits for the pool's permit.
        client.permit = false;
        client.next_request = first;
        client.next_token = first;
        client.retired_ops = first;
        if let Some(shared) = client.shared.as_mut() {
            shared.number_from(first);
        }
        client
    }

    /// One more than the highest id of any kind this machine has issued (at least the `first`
    /// it was numbered from).
    pub(crate) fn ids_issued(&self) -> u64 {
        self.next_request
            .max(self.next_token)
            .max(self.store_ops_issued())
    }

    /// Grants or withdraws the permit to start a request. Without it a due request waits (and
    /// [`TokenClient::request_wanted`] says so); everything else goes on.
    pub(crate) fn set_permit(&mut self, permit: bool) {
        self.permit = permit;
    }

    /// A request is in flight, or a redirect of one waits to be sent.
    pub(crate) fn requesting(&self) -> bool {
        self.flight.is_some() || self.hop.is_some()
    }

    /// The request in flight, if one is on the wire: its id and deadline. A pool that drops
    /// the machine counts it until it is answered or its deadline passes.
    pub(crate) fn in_flight(&self) -> Option<(crate::ids::RequestId, Time)> {
        self.flight.as_ref().map(|f| (f.id, f.deadline))
    }

    /// A token was asked for since the last request was emitted.
    pub(crate) fn demanded(&self) -> bool {
        self.demand
    }

    /// Frees what an idle machine need not hold: the room kept for events, when none waits.
    /// A pool holds thousands of idle machines; the room is made again at the next event.
    pub(crate) fn compact(&mut self) {
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = std::collections::VecDeque::new();
        }
    }

    /// A caller asked for a token at `now` or before and there is none to serve: the request
    /// it waits for comes before refreshes and retries nobody waits for.
    pub(crate) fn awaited(&self, now: Time) -> bool {
        self.demand && self.usable(now.max(self.now)).is_none()
    }
}
