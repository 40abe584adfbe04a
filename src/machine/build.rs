//! The one token builder, shared by a token fetched from the endpoint and a token adopted from
//! the store: the granted scope, the `Authorization` value and the schedule, turned into a
//! [`Token`].

use core::time::Duration;

use http::HeaderValue;

use crate::error::ConfigError;
use crate::ids::TokenId;
use crate::policy::Schedule;
use crate::redact::Redactor;
use crate::scope::Scopes;
use crate::secret::{sensitive_header, AccessToken};
use crate::time::Time;
use crate::token::{LifetimeSource, Token};

/// Why a granted scope was refused.
pub(super) enum ScopeRefusal {
    /// It contains the client secret (scopes are shown in events).
    EchoesSecret,
    /// It is no list of scope tokens: why, without quoting it.
    Invalid(&'static str),
}

/// The granted scope: the `scope` the server (or the store) gave, or the requested scopes when
/// it gave none (RFC 6749 §5.1: `scope` is OPTIONAL if identical to the requested scope).
pub(super) fn granted(
    scope: Option<&str>,
    requested: &Scopes,
    redactor: &Redactor,
) -> Result<Scopes, ScopeRefusal> {
    match scope {
        None => Ok(requested.clone()),
        Some(scope) if redactor.contains_secret(scope) => Err(ScopeRefusal::EchoesSecret),
        Some(scope) => Scopes::parse(scope).map_err(|e| {
            ScopeRefusal::Invalid(match e {
                ConfigError::InvalidScope { reason, .. } => reason,
                _ => "not a list of scope tokens",
            })
        }),
    }
}

/// `Bearer <token>` as a sensitive header value in a buffer of its own, wiped when dropped.
/// `None` only for a token that is no valid header value, which a token of visible ASCII never is.
pub(super) fn bearer(token: &AccessToken) -> Option<HeaderValue> {
    let text = token.expose_secret();
    let mut value = Vec::with_capacity(text.len().saturating_add(7));
    value.extend_from_slice(b"Bearer ");
    value.extend_from_slice(text.as_bytes());
    sensitive_header(value)
}

/// Where a token's schedule is counted from.
#[derive(Clone, Copy)]
pub(super) enum Anchor {
    /// A fetched token: from the moment its request was emitted, so latency never extends it.
    RequestedAt(Time),
    /// An adopted token: back from the expiry the store's time to live gives, so a token adopted
    /// late in its life is never served longer.
    ExpiresAt(Time),
}

/// Everything a token is made of but its id and its times.
pub(super) struct Draft {
    pub(super) access_token: AccessToken,
    pub(super) authorization: HeaderValue,
    pub(super) scope: Scopes,
    pub(super) lifetime: Duration,
    pub(super) lifetime_source: LifetimeSource,
    pub(super) created_at: Option<u64>,
    /// Fetched through the store or adopted from it.
    pub(super) shared: bool,
}

impl Anchor {
    /// The times of a token of `lifetime` under `schedule`, counted from this anchor.
    pub(super) fn times(self, lifetime: Duration, schedule: Schedule) -> Times {
        match self {
            Anchor::RequestedAt(at) => Times {
                requested_at: at,
                expires_at: at.saturating_add(lifetime),
                serve_until: at.saturating_add(schedule.serve_for),
                refresh_at: at.saturating_add(schedule.refresh_after),
            },
            Anchor::ExpiresAt(at) => {
                let before_expiry = |offset| at.saturating_sub(lifetime.saturating_sub(offset));
                Times {
                    requested_at: at.saturating_sub(lifetime),
                    expires_at: at,
                    serve_until: before_expiry(schedule.serve_for),
                    refresh_at: before_expiry(schedule.refresh_after),
                }
            }
        }
    }
}

/// A token's moments (see [`Token`]).
#[derive(Clone, Copy)]
pub(super) struct Times {
    pub(super) requested_at: Time,
    pub(super) expires_at: Time,
    pub(super) serve_until: Time,
    pub(super) refresh_at: Time,
}

impl Draft {
    /// The token `id` with `times`.
    pub(super) fn into_token(self, id: TokenId, times: Times) -> Token {
        Token {
            id,
            access_token: self.access_token,
            authorization: self.authorization,
            scope: self.scope,
            lifetime: self.lifetime,
            lifetime_source: self.lifetime_source,
            requested_at: times.requested_at,
            expires_at: times.expires_at,
            serve_until: times.serve_until,
            refresh_at: times.refresh_at,
            created_at: self.created_at,
            shared: self.shared,
        }
    }
}
