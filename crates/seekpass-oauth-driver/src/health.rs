//! How well a source can serve, for a readiness probe, a health endpoint or a cron alert: ready,
//! degraded (still serving, but fetching the next token fails) or unavailable. Never unavailable
//! while a token is servable.

use std::fmt;
use std::time::Duration;

use seekpass_oauth::{Time, Token, TokenError, TokenState};

/// How well the source can serve now; from the drivers' `health()`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Health {
    /// A token is served and nothing is failing.
    Ready {
        /// How long the token is still served (its serving deadline, before its expiry).
        remaining: Duration,
    },
    /// A token is still served, but fetching its successor fails: the token endpoint or the
    /// credentials need attention before `remaining` runs out.
    Degraded {
        /// How long the token is still served.
        remaining: Duration,
        /// How long attempts have been failing (since the first failure after the last token).
        failing_for: Duration,
        /// The last attempt's failure.
        last_error: TokenError,
        /// When the next attempt is due, from now (`None`: when a caller next asks).
        next_try: Option<Duration>,
    },
    /// No token can be served.
    Unavailable {
        /// How long attempts have been failing (`None`: none has failed; the first token is on
        /// its way, or no caller has asked yet).
        failing_for: Option<Duration>,
        /// The last attempt's failure, if one failed.
        last_error: Option<TokenError>,
        /// When the next attempt is due, from now (`None`: under way, or when a caller asks).
        next_try: Option<Duration>,
    },
}

impl Health {
    /// The health of a machine in `state` at `now`, whose attempts have failed since
    /// `failing_since` (the first failure after the last token), and whose next moment, when
    /// it last had nothing to send, was `next_moment`.
    pub(crate) fn of(
        state: &TokenState<'_>,
        failing_since: Option<Time>,
        next_moment: Option<Time>,
        now: Time,
    ) -> Health {
        let failing_for = failing_since.map(|since| now.saturating_duration_since(since));
        let until = |at: Time| Some(at.saturating_duration_since(now)).filter(|d| !d.is_zero());
        let remaining = |token: &Token| token.serve_until().saturating_duration_since(now);
        match state {
            TokenState::Fresh(token) => Health::Ready {
                remaining: remaining(token),
            },
            TokenState::Expiring {
                token,
                last_error: Some(error),
                ..
            } => Health::Degraded {
                remaining: remaining(token),
                failing_for: failing_for.unwrap_or_default(),
                last_error: (*error).clone(),
                next_try: next_moment.and_then(until),
            },
            TokenState::Expiring { token, .. } => Health::Ready {
                remaining: remaining(token),
            },
            TokenState::Failed {
                error,
                next_attempt,
                fetching,
            } => Health::Unavailable {
                failing_for: Some(failing_for.unwrap_or_default()),
                last_error: Some((*error).clone()),
                next_try: if *fetching {
                    None
                } else {
                    until(*next_attempt)
                },
            },
            _ => Health::Unavailable {
                failing_for,
                last_error: None,
                next_try: None,
            },
        }
    }

    /// `ready`, `degraded` or `unavailable`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Health::Ready { .. } => "ready",
            Health::Degraded { .. } => "degraded",
            Health::Unavailable { .. } => "unavailable",
        }
    }

    /// How long the token is still served (`None` when unavailable).
    #[must_use]
    pub fn remaining(&self) -> Option<Duration> {
        match self {
            Health::Ready { remaining } | Health::Degraded { remaining, .. } => Some(*remaining),
            Health::Unavailable { .. } => None,
        }
    }
}

/// A duration as people read it: `1h 59m`, `4m 10s`, `12s`, `0s`.
pub(crate) fn shown(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m"),
    }
}

fn next(next_try: Option<Duration>) -> String {
    next_try.map_or(String::new(), |d| format!("; next try in {}", shown(d)))
}

/// One line: the name, how long the token lasts, and what fails since when.
impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Ready { remaining } => {
                write!(f, "ready: the token is served for {}", shown(*remaining))
            }
            Health::Degraded {
                remaining,
                failing_for,
                last_error,
                next_try,
            } => write!(
                f,
                "degraded: the token is served for {}, but fetching the next has failed for {}: {last_error}{}",
                shown(*remaining),
                shown(*failing_for),
                next(*next_try)
            ),
            Health::Unavailable {
                failing_for,
                last_error,
                next_try,
            } => match (failing_for, last_error) {
                (Some(failing_for), Some(error)) => write!(
                    f,
                    "unavailable: no token; attempts have failed for {}: {error}{}",
                    shown(*failing_for),
                    next(*next_try)
                ),
                _ => write!(f, "unavailable: no token yet{}", next(*next_try)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        for (secs, text) in [(0, "0s"), (12, "12s"), (250, "4m 10s"), (7140, "1h 59m")] {
            assert_eq!(shown(Duration::from_secs(secs)), text);
        }
        let ready = Health::Ready {
            remaining: Duration::from_secs(7140),
        };
        assert_eq!(ready.to_string(), "ready: the token is served for 1h 59m");
        assert_eq!(ready.remaining(), Some(Duration::from_secs(7140)));
        let starting = Health::Unavailable {
            failing_for: None,
            last_error: None,
            next_try: None,
        };
        assert_eq!(starting.to_string(), "unavailable: no token yet");
        assert_eq!(starting.name(), "unavailable");
        assert_eq!(starting.remaining(), None);
    }
}
