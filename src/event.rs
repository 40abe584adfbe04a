//! What happened, returned as values for the caller to log or count. No event holds a secret.

use core::time::Duration;

use http::StatusCode;

use crate::error::{ErrorCode, FailureClass, TokenError};
use crate::ids::{RequestId, TokenId};
use crate::scope::Scopes;
use crate::store::StoreError;
use crate::time::Time;
use crate::token::LifetimeSource;

/// Something the caller may want to log or count, from [`Output::Event`](crate::Output::Event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A token was acquired.
    TokenAcquired {
        /// The new token.
        token: TokenId,
        /// Its lifetime, counted from the request's emission.
        lifetime: Duration,
        /// Where the lifetime came from.
        lifetime_source: LifetimeSource,
        /// The granted scope.
        scope: Scopes,
    },
    /// A token another replica fetched was taken from the shared store: no token request.
    TokenAdopted {
        /// The adopted token.
        token: TokenId,
        /// Its whole lifetime.
        lifetime: Duration,
        /// What was left of it when adopted, by the store's count.
        remaining: Duration,
        /// The granted scope.
        scope: Scopes,
    },
    /// The shared store held a value this replica cannot use (another format, another client,
    /// no expiry, not a token). It fetches a token itself and overwrites the value.
    StoredTokenRefused {
        /// What is wrong with the value. It never quotes the value.
        problem: String,
    },
    /// A store operation failed or timed out. The replica fetches on its own, as it would
    /// without sharing, and leaves the store alone until `retry_at`.
    StoreFailed {
        /// `read`, `lock`, `write`, `unlock` or `forget`.
        command: &'static str,
        /// What went wrong.
        error: StoreError,
        /// When the store is used again.
        retry_at: Time,
    },
    /// The next refresh of `token` is due at `at` (if the token is in use then).
    RefreshScheduled {
        /// The token it refreshes.
        token: TokenId,
        /// When it is due.
        at: Time,
    },
    /// The server granted fewer scopes than requested. The token is used; calls needing the
    /// missing scopes will fail at the API.
    ScopeNarrowed {
        /// What was requested.
        requested: Scopes,
        /// What was granted.
        granted: Scopes,
        /// Requested but not granted.
        missing: Scopes,
    },
    /// The token response's `scope` could not be read (not a string, or not a list of scope
    /// tokens). The granted scope is information (RFC 6749 §5.1), so the token is used and its
    /// [`Token::scope`](crate::Token::scope) is the requested scopes.
    GrantedScopeUnreadable {
        /// What is wrong with it. It never quotes the value.
        problem: String,
    },
    /// A token attempt failed.
    AttemptFailed {
        /// The request that failed.
        request: RequestId,
        /// Transient or permanent.
        class: FailureClass,
        /// The HTTP status, if a response arrived.
        status: Option<StatusCode>,
        /// The OAuth error code, if the server sent one.
        code: Option<ErrorCode>,
        /// The `Retry-After` the server asked for, if any.
        retry_after: Option<Duration>,
        /// The earliest moment of the next attempt.
        next_attempt: Time,
        /// The full error.
        error: TokenError,
    },
    /// A 307/308 to the same origin was followed: the same request goes to `location`.
    RedirectFollowed {
        /// The request that was redirected.
        request: RequestId,
        /// 307 or 308.
        status: StatusCode,
        /// Where the request is re-sent.
        location: String,
    },
    /// A request was abandoned because the configuration changed while it was in flight;
    /// cancel it if the transport can. Its answer will be refused.
    RequestAbandoned {
        /// The abandoned request.
        request: RequestId,
    },
    /// The client secret changed and nothing else that decides which token is issued (see
    /// [`TokenClient::reconfigure`](crate::TokenClient::reconfigure)): the current token stays
    /// served until its normal refresh, which sends the new secret.
    SecretRotated {
        /// The last attempt had failed: the next one, with the new secret, is due at once.
        retry_now: bool,
        /// A request sent with the old secret is still out: kept, and if it fails
        /// permanently the new secret is tried at once.
        in_flight: bool,
    },
    /// A driver could not read the client secret from its source (a file that vanished or
    /// cannot be read, a command that failed, a value a secret is never issued with): the last
    /// good secret stays in use. Reported once until a read succeeds again. Never emitted by
    /// the machine itself.
    SecretUnreadable {
        /// The source: `file /run/secrets/…`, `environment variable …`, `command …`.
        source: String,
        /// What is wrong, never the value.
        reason: String,
    },
    /// The API's rejection of `token` was accepted: it is no longer served.
    TokenInvalidated {
        /// The rejected token.
        token: TokenId,
    },
    /// The API refused `token` soon after it was fetched to replace a refused token: the
    /// `refusals`-th such token in a row. The cause is likely not the token: the scope, the
    /// client's account, a proxy, or another process fetching tokens for the same client from a
    /// server that revokes a client's previous token on each issue (share one token between
    /// them: `--share`, [`Share`](crate::Share)). Until `next_taken_at` its refusals are not taken
    /// ([`TokenClient::invalidate`](crate::TokenClient::invalidate) returns `false`): the token
    /// is still served and the 401 is the caller's answer.
    TokenRefusedAgain {
        /// The refused token.
        token: TokenId,
        /// Tokens in a row refused soon after issue.
        refusals: u32,
        /// From when a refusal of it is taken again.
        next_taken_at: Time,
    },
    /// `token` reached the end of its serving time without being replaced.
    TokenExpired {
        /// The expired token.
        token: TokenId,
    },
    /// The server's clock, seen through `created_at`, differs from the caller's wall clock.
    /// Reported only with [`ConfigBuilder::wall_clock`](crate::ConfigBuilder::wall_clock).
    /// Lifetimes are relative (`expires_in`), so skew does not shorten or extend them.
    ClockSkew {
        /// The server's `created_at`, seconds since the Unix epoch.
        created_at: u64,
        /// How far the server's clock is ahead (positive) or behind (negative), in whole
        /// seconds. "Behind" can also mean the server handed back an older token it reuses.
        skew_secs: i64,
    },
}
