//! An acquired token and when it stops being useful.

use core::fmt;
use core::time::Duration;

use http::HeaderValue;

use crate::ids::TokenId;
use crate::scope::Scopes;
use crate::secret::AccessToken;
use crate::time::Time;

/// Where a token's lifetime came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifetimeSource {
    /// The server's `expires_in`.
    ExpiresIn,
    /// The server sent no `expires_in`; the configured assumption applies.
    Assumed,
    /// The server's `expires_in` was longer than the configured maximum and was cut to it.
    Capped,
}

/// What a token response's `expires_in` said (RFC 6749 §5.1: the lifetime in seconds,
/// RECOMMENDED, so it may be absent).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ExpiresIn {
    /// Absent or `null`.
    Missing,
    /// A positive number of seconds (fractions kept to the nanosecond, huge values saturated).
    Seconds(Duration),
}

/// A bearer token and its schedule. `Debug` redacts the token.
#[derive(Clone)]
pub struct Token {
    pub(crate) id: TokenId,
    pub(crate) access_token: AccessToken,
    pub(crate) authorization: HeaderValue,
    pub(crate) scope: Scopes,
    pub(crate) lifetime: Duration,
    pub(crate) lifetime_source: LifetimeSource,
    pub(crate) requested_at: Time,
    pub(crate) expires_at: Time,
    pub(crate) serve_until: Time,
    pub(crate) refresh_at: Time,
    pub(crate) created_at: Option<u64>,
    pub(crate) shared: bool,
}

impl Token {
    /// This token's id.
    #[must_use]
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The `Authorization` header value, `Bearer <token>`, marked sensitive.
    #[must_use]
    pub fn authorization(&self) -> &HeaderValue {
        &self.authorization
    }

    /// A copy of [`Token::authorization`] in an allocation of its own, marked sensitive and
    /// wiped when its last clone is dropped: see [`sensitive_copy`](crate::sensitive_copy).
    #[must_use]
    pub fn authorization_copy(&self) -> HeaderValue {
        crate::secret::sensitive_copy(&self.authorization)
    }

    /// The access token itself.
    #[must_use]
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The scopes granted: the server's `scope`, or the requested ones when it sent none
    /// (RFC 6749 §5.1).
    #[must_use]
    pub fn scope(&self) -> &Scopes {
        &self.scope
    }

    /// The lifetime believed, counted from when the request was emitted.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Where [`Token::lifetime`] came from.
    #[must_use]
    pub fn lifetime_source(&self) -> LifetimeSource {
        self.lifetime_source
    }

    /// When the request that got this token was emitted: the start of its lifetime.
    #[must_use]
    pub fn requested_at(&self) -> Time {
        self.requested_at
    }

    /// When the token expires: [`Token::requested_at`] plus [`Token::lifetime`].
    #[must_use]
    pub fn expires_at(&self) -> Time {
        self.expires_at
    }

    /// When the token stops being served (its expiry less the expiry margin).
    #[must_use]
    pub fn serve_until(&self) -> Time {
        self.serve_until
    }

    /// When a refresh becomes due.
    #[must_use]
    pub fn refresh_at(&self) -> Time {
        self.refresh_at
    }

    /// The server's `created_at` (seconds since the Unix epoch), a Doorkeeper extension.
    #[must_use]
    pub fn created_at(&self) -> Option<u64> {
        self.created_at
    }

    /// Whether this is the replicas' shared token: adopted from the store, or fetched under its
    /// lock and written there (see [`Share`](crate::Share)). For an adopted token,
    /// [`Token::requested_at`] is counted back from the expiry the store reported.
    #[must_use]
    pub fn shared(&self) -> bool {
        self.shared
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("access_token", &self.access_token)
            .field("scope", &self.scope)
            .field("lifetime", &self.lifetime)
            .field("lifetime_source", &self.lifetime_source)
            .field("requested_at", &self.requested_at)
            .field("expires_at", &self.expires_at)
            .field("serve_until", &self.serve_until)
            .field("refresh_at", &self.refresh_at)
            .field("created_at", &self.created_at)
            .field("shared", &self.shared)
            .finish()
    }
}
