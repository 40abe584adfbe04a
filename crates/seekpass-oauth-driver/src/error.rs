//! What a caller gets instead of a token.

use std::fmt;
use std::time::Duration;

use seekpass_oauth::{FailureClass, TokenError};

/// Why [`authorization`](crate) returned no token. The same value reaches every caller waiting
/// at the time, and every caller after them until a token arrives or the configuration changes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint failed permanently (wrong credentials, scope or URL: fix the
    /// configuration), or transiently `attempts` times in a row. The driver keeps retrying
    /// on its back-off while callers keep asking; the first token clears this.
    GaveUp {
        /// Permanent, or transient past the configured attempts.
        class: FailureClass,
        /// Transient failures in a row (1 for a permanent failure).
        attempts: u32,
        /// The last failure, with what to do about it (boxed: the hot path returns this type).
        error: Box<TokenError>,
    },
    /// No token arrived within the configured wait and nothing failed for good: the token
    /// endpoint is slow or unreachable. Retry later, or raise `max_wait`.
    TimedOut {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The task that drives the machine is gone: its runtime shut down.
    DriverStopped,
    /// A pool's resolver has no configuration for the key asked for (a key it does not
    /// know): check the key, or add its credentials where the resolver reads them.
    UnknownKey,
    /// A bearer middleware over a pool found no key in a request bound for the API: attach the
    /// key where the middleware reads it (the request's extensions, or what its key function
    /// looks at). The request is not sent.
    NoKey,
}

impl Error {
    /// Transient (worth retrying soon) or permanent (needs a configuration change).
    #[must_use]
    pub fn class(&self) -> FailureClass {
        match self {
            Error::GaveUp { class, .. } => *class,
            Error::TimedOut { .. } | Error::DriverStopped => FailureClass::Transient,
            Error::UnknownKey | Error::NoKey => FailureClass::Permanent,
        }
    }

    /// The token endpoint's failure, if one was the cause.
    #[must_use]
    pub fn token_error(&self) -> Option<&TokenError> {
        match self {
            Error::GaveUp { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::GaveUp {
                class: FailureClass::Permanent,
                error,
                ..
            } => write!(f, "no token: {error}"),
            Error::GaveUp {
                attempts, error, ..
            } => write!(
                f,
                "no token: gave up after {attempts} failed attempts in a row; the last: {error}"
            ),
            Error::TimedOut { waited } => write!(
                f,
                "no token within {:.1} s: the token endpoint is slow or unreachable",
                waited.as_secs_f64()
            ),
            Error::DriverStopped => {
                f.write_str("no token: the driver task has stopped (its runtime shut down)")
            }
            Error::UnknownKey => f.write_str(
                "no token: the pool's resolver has no configuration for this key; check the key, or add its credentials where the resolver reads them",
            ),
            Error::NoKey => f.write_str(
                "no token: the request to the API carries no pool key; attach the key where the bearer middleware reads it (the request's extensions, or what its key function looks at)",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::GaveUp { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }
}
