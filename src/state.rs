//! The token's state as reported to the caller.

use core::fmt;

use crate::error::TokenError;
use crate::time::Time;
use crate::token::Token;

/// The token's state at a given moment, from [`TokenClient::state`](crate::TokenClient::state).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum TokenState<'a> {
    /// No token has been acquired yet.
    Unfetched {
        /// A request is in flight.
        fetching: bool,
    },
    /// A usable token; no refresh is due yet.
    Fresh(&'a Token),
    /// A usable token whose refresh is due or under way.
    Expiring {
        /// The token, still served.
        token: &'a Token,
        /// A refresh request is in flight.
        refreshing: bool,
        /// Why the last refresh attempt failed, if it did.
        last_error: Option<&'a TokenError>,
    },
    /// No usable token: the last one passed its serving time or was rejected by the API.
    Expired {
        /// A request is in flight.
        fetching: bool,
    },
    /// No usable token, and the last attempt failed.
    Failed {
        /// Why it failed.
        error: &'a TokenError,
        /// The earliest moment of the next attempt.
        next_attempt: Time,
        /// A request is in flight.
        fetching: bool,
    },
}

impl<'a> TokenState<'a> {
    /// The token, if one is usable (borrowed from the machine, not from this state).
    #[must_use]
    pub fn token(&self) -> Option<&'a Token> {
        match self {
            TokenState::Fresh(token) | TokenState::Expiring { token, .. } => Some(token),
            _ => None,
        }
    }

    /// `unfetched`, `fresh`, `expiring`, `expired` or `failed`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            TokenState::Unfetched { .. } => "unfetched",
            TokenState::Fresh(_) => "fresh",
            TokenState::Expiring { .. } => "expiring",
            TokenState::Expired { .. } => "expired",
            TokenState::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for TokenState<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
