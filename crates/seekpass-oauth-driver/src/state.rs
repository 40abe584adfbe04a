//! The token's state, owned, for callers that do not hold the machine's lock.

use std::fmt;

use seekpass_oauth::{Time, Token, TokenError, TokenState};

/// The token's state at the moment it was read: [`TokenState`] without the borrow.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum State {
    /// No token has been acquired yet.
    Unfetched {
        /// A request is in flight.
        fetching: bool,
    },
    /// A usable token; no refresh is due yet.
    Fresh(Token),
    /// A usable token whose refresh is due or under way.
    Expiring {
        /// The token, still served.
        token: Token,
        /// A refresh request is in flight.
        refreshing: bool,
        /// Why the last refresh attempt failed, if it did.
        last_error: Option<TokenError>,
    },
    /// No usable token: the last one passed its serving time or was rejected by the API.
    Expired {
        /// A request is in flight.
        fetching: bool,
    },
    /// No usable token, and the last attempt failed.
    Failed {
        /// Why it failed.
        error: TokenError,
        /// The earliest moment of the next attempt, on the machine's clock.
        next_attempt: Time,
        /// A request is in flight.
        fetching: bool,
    },
}

impl State {
    /// An owned copy of the machine's state.
    #[must_use]
    pub fn of(state: &TokenState<'_>) -> State {
        match *state {
            TokenState::Fresh(token) => State::Fresh(token.clone()),
            TokenState::Expiring {
                token,
                refreshing,
                last_error,
            } => State::Expiring {
                token: token.clone(),
                refreshing,
                last_error: last_error.cloned(),
            },
            TokenState::Expired { fetching } => State::Expired { fetching },
            TokenState::Failed {
                error,
                next_attempt,
                fetching,
            } => State::Failed {
                error: error.clone(),
                next_attempt,
                fetching,
            },
            TokenState::Unfetched { fetching } => State::Unfetched { fetching },
            // `TokenState` may grow; until this crate knows a new state, it reads as unfetched.
            #[allow(unreachable_patterns)]
            _ => State::Unfetched { fetching: false },
        }
    }

    /// The usable token, if there is one.
    #[must_use]
    pub fn token(&self) -> Option<&Token> {
        match self {
            State::Fresh(token) | State::Expiring { token, .. } => Some(token),
            _ => None,
        }
    }

    /// `unfetched`, `fresh`, `expiring`, `expired` or `failed`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            State::Unfetched { .. } => "unfetched",
            State::Fresh(_) => "fresh",
            State::Expiring { .. } => "expiring",
            State::Expired { .. } => "expired",
            State::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
