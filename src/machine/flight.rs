//! The token request in flight: emitting it, following a redirect, matching its answer.

use http::header::LOCATION;
use http::{Response, Uri};

use super::TokenClient;
use crate::error::{InputError, TokenError};
use crate::event::Event;
use crate::ids::RequestId;
use crate::output::Output;
use crate::redact::shown_url;
use crate::redirect;
use crate::time::Time;

/// The one request in flight.
pub(super) struct Flight {
    pub(super) id: RequestId,
    /// When the attempt started (its first request, before any redirect): the start of the
    /// token's lifetime.
    pub(super) emitted_at: Time,
    /// The attempt's deadline, shared by its redirects.
    pub(super) deadline: Time,
    /// Where it went, when not the configured URI.
    target: Option<Uri>,
    /// Every URI this attempt has been sent to, for redirect loops and the hop limit.
    visited: Vec<Uri>,
}

/// The next leg of an attempt that was redirected.
pub(super) struct Hop {
    target: Uri,
    visited: Vec<Uri>,
    emitted_at: Time,
    deadline: Time,
}

/// The last attempt failed; no attempt before `retry_at`.
pub(super) struct Failure {
    pub(super) error: TokenError,
    pub(super) retry_at: Time,
}

impl TokenClient {
    pub(super) fn emit(&mut self, now: Time) -> Output {
        self.last_emit = Some(now);
        self.demand = false;
        let deadline = now.saturating_add(self.config.request_deadline);
        self.send(Flight {
            id: RequestId(0),
            emitted_at: now,
            deadline,
            target: None,
            visited: Vec::new(),
        })
    }

    /// Sends the next leg of a redirected attempt: same body, same lifetime start, same
    /// deadline.
    pub(super) fn emit_hop(&mut self, hop: Hop) -> Output {
        self.send(Flight {
            id: RequestId(0),
            emitted_at: hop.emitted_at,
            deadline: hop.deadline,
            target: Some(hop.target),
            visited: hop.visited,
        })
    }

    fn send(&mut self, mut flight: Flight) -> Output {
        flight.id = RequestId(self.next_request);
        self.next_request = self.next_request.saturating_add(1);
        let transmit = self
            .prepared
            .transmit(flight.id, flight.deadline, flight.target.as_ref());
        self.flight = Some(flight);
        Output::Transmit(transmit)
    }

    /// A 3xx answer: a 307/308 to the same origin continues the attempt; anything else fails
    /// it permanently (see `redirect.rs` for the rules and how they differ from `curl -L`).
    pub(super) fn redirect<B>(&mut self, flight: Flight, response: &Response<B>, now: Time) {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let current = flight
            .target
            .as_ref()
            .unwrap_or(self.prepared.uri())
            .clone();
        let mut visited = flight.visited;
        if visited.is_empty() {
            visited.push(current.clone());
        }
        match redirect::follow(status, location.as_deref(), &current, &visited) {
            Ok(target) => {
                visited.push(target.clone());
                self.events.push_back(Event::RedirectFollowed {
                    request: flight.id,
                    status,
                    location: self.redacting().clean(&shown_url(&target.to_string())),
                });
                self.hop = Some(Box::new(Hop {
                    target,
                    visited,
                    emitted_at: flight.emitted_at,
                    deadline: flight.deadline,
                }));
            }
            Err(refusal) => {
                let error = TokenError::Redirect {
                    status,
                    location: location.map(|l| self.redacting().clean(&shown_url(&l))),
                    refusal,
                };
                self.fail(flight.id, error, None, now);
            }
        }
    }

    /// The request `id`, if it is the one in flight; refused otherwise, changing nothing.
    pub(super) fn take_flight(&mut self, id: RequestId) -> Result<Flight, InputError> {
        match self.flight.take() {
            Some(flight) if flight.id == id => Ok(flight),
            other => {
                self.flight = other;
                if id.0 >= self.next_request {
                    Err(InputError::UnknownRequest(id))
                } else {
                    Err(InputError::StaleRequest(id))
                }
            }
        }
    }
}
