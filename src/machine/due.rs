//! What the machine derives from its state: the token it may serve, whether a request is wanted
//! and when it is due, and the next moment to wake.

use crate::machine::deadline::Deadline;
use crate::machine::TokenClient;
use crate::policy::RefreshMode;
use crate::time::Time;
use crate::token::Token;

impl TokenClient {
    pub(crate) fn usable(&self, now: Time) -> Option<&Token> {
        self.current
            .as_ref()
            .filter(|c| !c.invalidated && now < c.token.serve_until)
            .map(|c| &c.token)
    }

    pub(super) fn wanted(&self) -> bool {
        self.demand
            || self.config.refresh_mode == RefreshMode::Always
            // An acquisition under way through the store runs to its end.
            || self.shared.as_ref().is_some_and(|s| s.busy())
    }

    /// The earliest moment the rate limits allow another request: the minimum interval since
    /// the last one and any back-off.
    pub(super) fn gate(&self) -> Time {
        let backoff = self.failure.as_ref().map_or(Time::ZERO, |f| f.retry_at);
        self.interval_gate().max(backoff)
    }

    /// The end of the minimum request interval since the last emission.
    pub(super) fn interval_gate(&self) -> Time {
        self.last_emit.map_or(Time::ZERO, |t| {
            t.saturating_add(self.config.timing.min_interval())
        })
    }

    /// The moment a request becomes due, if one is wanted at all.
    pub(super) fn request_due_at(&self, now: Time) -> Option<Time> {
        if self.flight.is_some() || self.hop.is_some() || !self.wanted() {
            return None;
        }
        let gate = self.gate();
        let at = match (self.usable(now), &self.current) {
            (Some(token), _) => gate.max(token.refresh_at),
            // Asked before then, a server that reuses tokens answers with the same one.
            (None, Some(c)) if c.reused && !c.invalidated => gate.max(c.token.expires_at),
            (None, _) => gate,
        };
        match self.shared.as_ref() {
            // The store decides; while requests back off, it reads for a peer's token meanwhile.
            Some(s) => {
                let wanted_from = self.usable(now).map_or(Time::ZERO, |t| t.refresh_at);
                let reread = self
                    .config
                    .share()
                    .map(|share| share.backoff_read_interval())
                    .unwrap_or_default();
                s.request_due(at, now, self.failure.is_some(), wanted_from, reread)
            }
            None => Some(at),
        }
    }

    /// A request (or the store read before it) is due at `now` and may start: a machine in a
    /// [`TokenPool`](crate::TokenPool) starts one only with the pool's permit.
    pub(super) fn wants_request(&self, now: Time) -> bool {
        self.permit && self.request_wanted(now)
    }

    /// A request is due at `now`, permit or not.
    pub(crate) fn request_wanted(&self, now: Time) -> bool {
        self.request_due_at(now).is_some_and(|at| now >= at)
    }

    pub(super) fn next_wake(&self, now: Time) -> Option<Time> {
        let request = self.request_due_at(now).map(Deadline::RequestDue);
        self.deadlines()
            .into_iter()
            .chain([request])
            .flatten()
            .map(Deadline::at)
            .filter(|t| *t > now)
            .min()
    }
}
