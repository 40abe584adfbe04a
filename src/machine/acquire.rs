//! How an attempt ends: a token fetched from the endpoint or adopted from the store is taken up,
//! or the attempt fails and backs off. Both kinds of token come out of the one builder in
//! `build.rs`.

use core::time::Duration;

use http::StatusCode;

use super::build::{self, Anchor, Draft, ScopeRefusal};
use super::coordinator::FetchEnd;
use super::flight::{Failure, Flight};
use super::{Current, TokenClient};
use crate::classify::{GrantedScope, TokenResponse};
use crate::error::{ResponseProblem, TokenError};
use crate::event::Event;
use crate::ids::{RequestId, TokenId};
use crate::shared_token::{self, SharedToken};
use crate::store::{StoreError, StoredValue};
use crate::time::Time;
use crate::token::{LifetimeSource, Token};

/// How much later a reused token may seem to end than when first issued: Doorkeeper rounds the
/// remaining `expires_in` to whole seconds, and the request's start, not its answer, anchors it.
const REUSED_EXPIRY_SLACK: Duration = Duration::from_secs(2);

/// Server clock differences smaller than this are not reported: `created_at` has one-second
/// resolution and a request takes time.
const SKEW_THRESHOLD_SECS: u64 = 5;

impl TokenClient {
    /// A 2xx answer with a token to `flight`.
    pub(super) fn acquire(
        &mut self,
        flight: &Flight,
        status: StatusCode,
        answer: TokenResponse,
        now: Time,
    ) {
        let invalid = |problem| TokenError::InvalidResponse {
            status,
            problem,
            excerpt: None,
        };
        let (lifetime, lifetime_source) = match self.config.timing.lifetime(answer.expires_in) {
            Ok(l) => l,
            Err(problem) => return self.fail(flight.id, invalid(problem), None, now),
        };
        // The granted scope is information about the token: one that cannot be read is reported
        // and the requested scopes stand. One echoing the secret is refused (scopes are shown).
        let granted = match &answer.scope {
            GrantedScope::Absent => Ok(self.config.scopes.clone()),
            GrantedScope::Unreadable(kind) => Err(format!("expected a string, found {kind}")),
            GrantedScope::Text(scope) => {
                match build::granted(Some(scope), &self.config.scopes, &self.redacting()) {
                    Ok(granted) => Ok(granted),
                    Err(ScopeRefusal::Invalid(reason)) => Err(reason.to_owned()),
                    Err(ScopeRefusal::EchoesSecret) => {
                        let problem = ResponseProblem::InvalidField {
                            field: "scope",
                            detail: "contains the client secret".into(),
                        };
                        return self.fail(flight.id, invalid(problem), None, now);
                    }
                }
            }
        };
        let (granted, unreadable) = match granted {
            Ok(granted) => (granted, None),
            Err(problem) => (self.config.scopes.clone(), Some(problem)),
        };
        let reissued = self
            .current
            .as_ref()
            .is_some_and(|c| c.invalidated && c.token.access_token == answer.access_token);
        if reissued {
            return self.fail(flight.id, TokenError::RejectedTokenReissued, None, now);
        }
        let Some(authorization) = build::bearer(&answer.access_token) else {
            // Unreachable for a header token; refused rather than trusted.
            return self.fail(
                flight.id,
                invalid(ResponseProblem::InvalidAccessToken),
                None,
                now,
            );
        };
        // A token fetched through the store is written back for the other replicas and follows
        // the shared refresh window; one fetched on its own (store unavailable) follows the usual.
        let end = self.end_fetch(now);
        let schedule = match (&end, &self.config.share) {
            (FetchEnd::Shared { .. }, Some(share)) => {
                let (margin, spread) = share.refresh_window(lifetime);
                self.config
                    .timing
                    .schedule_within(lifetime, margin, spread, &mut self.rng)
            }
            _ => self.config.timing.schedule(lifetime, &mut self.rng),
        };
        let requested_at = flight.emitted_at;
        let missing = self.config.scopes.missing_from(&granted);
        let draft = Draft {
            access_token: answer.access_token,
            authorization,
            scope: granted.clone(),
            lifetime,
            lifetime_source,
            created_at: answer.created_at,
            shared: matches!(end, FetchEnd::Shared { .. }),
        };
        let mut times = Anchor::RequestedAt(requested_at).times(lifetime, schedule);
        // The server answered with the token it had already issued, ending when it did
        // (Doorkeeper's `reuse_access_token`): it is served no longer than when first issued
        // (the server rounds what is left of it up to whole seconds), and, asked again before
        // it ends, the server would answer the same, so no refresh is scheduled before then.
        let first = self.current.as_ref().map(|c| &c.token).filter(|t| {
            t.access_token == draft.access_token
                && times.expires_at <= t.expires_at.saturating_add(REUSED_EXPIRY_SLACK)
        });
        let reused = first.is_some();
        if let Some(first) = first {
            times.expires_at = times.expires_at.min(first.expires_at);
            times.serve_until = times.serve_until.min(first.serve_until);
            times.refresh_at = times.refresh_at.max(times.serve_until);
        }
        let token = draft.into_token(self.next_token_id(), times);

        self.events.push_back(Event::TokenAcquired {
            token: token.id,
            lifetime,
            lifetime_source,
            scope: granted.clone(),
        });
        if let Some(problem) = unreadable {
            self.events
                .push_back(Event::GrantedScopeUnreadable { problem });
        }
        if !missing.is_empty() {
            self.events.push_back(Event::ScopeNarrowed {
                requested: self.config.scopes.clone(),
                granted,
                missing,
            });
        }
        if let Some(skew) = self.skew(answer.created_at, requested_at, now) {
            self.events.push_back(skew);
        }
        let stored = match end {
            FetchEnd::Shared { lock } => Some(self.write_shared(&token, lock, now)),
            FetchEnd::Alone => None,
        };
        self.take_up(token, stored, reused);
    }

    /// Makes `token` the current one: served from now on, failures forgotten. `reused`: the
    /// server handed it back unchanged.
    fn take_up(&mut self, token: Token, stored: Option<StoredValue>, reused: bool) {
        self.events.push_back(Event::RefreshScheduled {
            token: token.id,
            at: token.refresh_at,
        });
        self.current = Some(Current {
            token,
            invalidated: false,
            refusals: self.refusals.for_new_token(),
            expiry_reported: false,
            stored,
            reused,
        });
        self.retired_token = None;
        self.failure = None;
        self.consecutive_failures = 0;
    }

    fn next_token_id(&mut self) -> TokenId {
        let id = TokenId(self.next_token);
        self.next_token = self.next_token.saturating_add(1);
        id
    }

    /// The store answered a read with a value: adopt it if it is a usable token newer than this
    /// replica's own. Returns whether it was adopted.
    pub(super) fn read_found(
        &mut self,
        sent_at: Time,
        value: StoredValue,
        ttl: Option<Duration>,
        now: Time,
    ) -> bool {
        let decoded = match ttl.filter(|t| !t.is_zero()) {
            None => Err("it has no expiry".to_owned()),
            Some(ttl) => {
                shared_token::decode(value.as_bytes(), self.config.credentials.client_id())
                    .map(|token| (token, ttl))
            }
        };
        match decoded {
            Ok((token, ttl)) => self.adopt(token, &value, sent_at, ttl, now),
            Err(problem) => {
                let problem = self.redacting().clean(&problem);
                self.events.push_back(Event::StoredTokenRefused { problem });
                false
            }
        }
    }

    /// Takes up a token another replica stored, read at `sent_at` with `ttl` left, if it is
    /// better than this replica's own and still servable. Returns whether it was.
    fn adopt(
        &mut self,
        stored: SharedToken,
        value: &StoredValue,
        sent_at: Time,
        ttl: Duration,
        now: Time,
    ) -> bool {
        let Some(share) = self.config.share() else {
            return false;
        };
        let (lifetime, lifetime_source) =
            if stored.lifetime > self.config.timing.max_lifetime_believed() {
                (
                    self.config.timing.max_lifetime_believed(),
                    LifetimeSource::Capped,
                )
            } else {
                (stored.lifetime, stored.lifetime_source)
            };
        // The store measured `ttl` after the read was sent: counted from the send, the token is
        // believed to expire no later than it does.
        let expires_at = sent_at.saturating_add(ttl.min(lifetime));
        let same_as_ours = self.current.as_ref().is_some_and(|c| {
            c.token.access_token == stored.access_token
                || (!c.invalidated && c.token.expires_at >= expires_at)
        });
        if same_as_ours {
            return false;
        }
        let scope = stored.scope.as_deref();
        let granted = match build::granted(scope, &self.config.scopes, &self.redacting()) {
            Ok(granted) => granted,
            Err(ScopeRefusal::EchoesSecret) => return false,
            Err(ScopeRefusal::Invalid(_)) => {
                self.events.push_back(Event::StoredTokenRefused {
                    problem: "its scope is not a list of scope tokens".to_owned(),
                });
                return false;
            }
        };
        let Some(authorization) = build::bearer(&stored.access_token) else {
            return false;
        };
        let (margin, spread) = share.refresh_window(lifetime);
        let schedule = self
            .config
            .timing
            .schedule_within(lifetime, margin, spread, &mut self.rng);
        // Counted back from the expiry, so a token adopted late is never served longer.
        let times = Anchor::ExpiresAt(expires_at).times(lifetime, schedule);
        if times.serve_until <= now {
            return false;
        }
        let draft = Draft {
            access_token: stored.access_token,
            authorization,
            scope: granted.clone(),
            lifetime,
            lifetime_source,
            created_at: stored.created_at,
            shared: true,
        };
        let token = draft.into_token(self.next_token_id(), times);
        self.events.push_back(Event::TokenAdopted {
            token: token.id,
            lifetime,
            remaining: expires_at.saturating_duration_since(now),
            scope: granted,
        });
        if let Some(shared) = self.shared.as_mut() {
            shared.adopted();
        }
        // The adoption answers the demand that started it, as a request would; unless the token
        // was adopted late in its life with its refresh already due, for the same callers.
        if token.refresh_at > now {
            self.demand = false;
        }
        self.take_up(token, Some(value.clone()), false);
        true
    }

    /// Ends a fetch, as far as the store is concerned.
    fn end_fetch(&mut self, now: Time) -> FetchEnd {
        self.sent_with_old_secret = false;
        match self.shared.as_mut() {
            Some(shared) => shared.end_fetch(now),
            None => FetchEnd::Alone,
        }
    }

    /// Queues the write of a fetched `token` for the other replicas and the release of `lock`;
    /// returns the stored value.
    fn write_shared(&mut self, token: &Token, lock: Option<String>, now: Time) -> StoredValue {
        let value = shared_token::encode(self.config.credentials.client_id(), token);
        let margin = self.config.share().map(|s| s.timeout()).unwrap_or_default();
        // Less the operation's deadline: the store starts counting when the write arrives.
        let ttl = token
            .expires_at
            .saturating_duration_since(now)
            .saturating_sub(margin);
        if let Some(shared) = self.shared.as_mut() {
            shared.write(value.clone(), ttl, lock);
        }
        value
    }

    /// A store operation failed or timed out: fetch on our own and leave the store alone for a
    /// while.
    pub(super) fn store_failed(&mut self, command: &'static str, error: StoreError, now: Time) {
        let error = {
            let message = self.redacting().clean(error.message());
            error.with_message(message)
        };
        let (Some(share), Some(shared)) = (self.config.share(), self.shared.as_mut()) else {
            return;
        };
        let retry_at = shared.failed(share, now);
        self.events.push_back(Event::StoreFailed {
            command,
            error,
            retry_at,
        });
    }

    /// The attempt `request` failed with `error` at `now`: back off (honouring the server's
    /// `retry_after`) and say when the next attempt may go.
    pub(super) fn fail(
        &mut self,
        request: RequestId,
        error: TokenError,
        retry_after: Option<Duration>,
        now: Time,
    ) {
        let class = error.class();
        let old_secret = self.old_secret_failed(class);
        let end = self.end_fetch(now);
        let delay = if old_secret {
            // Refused with the secret a rotation replaced while the request was out: the new
            // one is tried at once, and this failure does not count.
            Duration::ZERO
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.config
                .retry
                .delay(class, self.consecutive_failures, retry_after, &mut self.rng)
        };
        // The reported moment is the real one: the minimum request interval may end later.
        let next_attempt = now.saturating_add(delay).max(self.interval_gate());
        let hold = self.config.share().map(|s| s.wait_for_peer());
        if let (FetchEnd::Shared { lock: Some(owner) }, Some(shared), Some(hold)) =
            (end, self.shared.as_mut(), hold)
        {
            // The fleet backs off with the holder: it keeps the lock for its back-off instead
            // of handing it to the next replica at once: for a server's `Retry-After`, all of
            // it; otherwise at most the peer wait. So an unavailable token endpoint sees one
            // attempt every few seconds from the whole fleet, and the first success after it
            // returns serves every replica.
            let backoff = next_attempt.saturating_duration_since(now);
            let ttl = if retry_after.is_some() {
                backoff
            } else {
                backoff.min(hold)
            };
            shared.hold_lock(owner, ttl);
        }
        self.events.push_back(Event::AttemptFailed {
            request,
            class,
            status: error.status(),
            code: error.code().cloned(),
            retry_after,
            next_attempt,
            error: error.clone(),
        });
        self.failure = Some(Box::new(Failure {
            error,
            retry_at: next_attempt,
        }));
    }

    /// A `ClockSkew` event if the server's `created_at` lies outside the request's round trip
    /// by more than the threshold, on a wall clock.
    fn skew(&self, created_at: Option<u64>, sent: Time, received: Time) -> Option<Event> {
        let created_at = created_at.filter(|_| self.config.wall_clock)?;
        let sent = sent.as_millis() / 1000;
        let received = received.as_millis().div_ceil(1000);
        let skew_secs = if created_at > received.saturating_add(SKEW_THRESHOLD_SECS) {
            i64::try_from(created_at.saturating_sub(received)).unwrap_or(i64::MAX)
        } else if created_at.saturating_add(SKEW_THRESHOLD_SECS) < sent {
            i64::try_from(sent.saturating_sub(created_at)).map_or(i64::MIN, i64::saturating_neg)
        } else {
            return None;
        };
        Some(Event::ClockSkew {
            created_at,
            skew_secs,
        })
    }
}
