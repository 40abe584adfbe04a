//! Why one token attempt failed ([`TokenError`]): the server's answer, the network, a redirect
//! or the attempt's deadline. Each message says what to do.

use core::fmt;
use core::time::Duration;

use http::StatusCode;

use super::response::{ErrorCode, FailureClass, ResponseProblem};
use super::transport::TransportError;
use crate::redirect::RedirectRefusal;

/// Why one token attempt failed. Server-supplied text in it is bounded, stripped of control
/// characters, and has the client secret and any access token redacted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// The server answered with an OAuth error body (RFC 6749 §5.2), at any status.
    #[non_exhaustive]
    OAuth {
        /// The HTTP status.
        status: StatusCode,
        /// The `error` code.
        code: ErrorCode,
        /// `error_description`, if sent.
        description: Option<String>,
        /// `error_uri`, if sent.
        uri: Option<String>,
        /// The `WWW-Authenticate` header, if sent.
        www_authenticate: Option<String>,
    },
    /// A non-success status without an OAuth error body (empty, HTML, ...).
    #[non_exhaustive]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The `WWW-Authenticate` header, if sent.
        www_authenticate: Option<String>,
        /// The start of the body, if any.
        excerpt: Option<String>,
    },
    /// The endpoint redirected and the redirect was not followed: credentials are never sent
    /// to a new location unasked.
    #[non_exhaustive]
    Redirect {
        /// The HTTP status (3xx).
        status: StatusCode,
        /// The `Location` header, if sent.
        location: Option<String>,
        /// Why it was not followed.
        refusal: RedirectRefusal,
    },
    /// A 2xx response that is not a usable token.
    #[non_exhaustive]
    InvalidResponse {
        /// The HTTP status.
        status: StatusCode,
        /// What is wrong.
        problem: ResponseProblem,
        /// The start of the body.
        excerpt: Option<String>,
    },
    /// The body exceeds the configured limit and was not parsed.
    #[non_exhaustive]
    BodyTooLarge {
        /// The HTTP status.
        status: StatusCode,
        /// The limit in bytes.
        limit: usize,
    },
    /// The caller's transport failed.
    Transport(TransportError),
    /// No response arrived before the request's deadline.
    #[non_exhaustive]
    DeadlineExceeded {
        /// The deadline that passed, counted from when the request was emitted.
        after: Duration,
    },
    /// After the API rejected a token, the server issued the same token again.
    RejectedTokenReissued,
}

/// Statuses that say "try again later" (RFC 9110 §15): 408, 425, 429 and every 5xx. Anything that
/// is not a real HTTP status class (1xx reaching us, 6xx+) is treated as a passing protocol fault.
fn transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 425 | 429 | 500..=599)
        || status.is_informational()
        || status.as_u16() >= 600
}

impl TokenError {
    /// Transient or permanent.
    #[must_use]
    pub fn class(&self) -> FailureClass {
        let transient = match self {
            TokenError::OAuth { status, code, .. } => {
                transient_status(*status)
                    || matches!(
                        code,
                        ErrorCode::ServerError
                            | ErrorCode::TemporarilyUnavailable
                            | ErrorCode::InvalidTokenReuse
                    )
            }
            TokenError::Status { status, .. } => transient_status(*status),
            TokenError::Redirect { .. } => false,
            TokenError::InvalidResponse { problem, .. } => matches!(
                problem,
                ResponseProblem::NotJson
                    | ResponseProblem::AlreadyExpired
                    | ResponseProblem::ContentCoded(_)
            ),
            TokenError::BodyTooLarge { status, .. } => {
                status.is_success() || transient_status(*status)
            }
            TokenError::Transport(e) => e.kind().class() == FailureClass::Transient,
            TokenError::DeadlineExceeded { .. } | TokenError::RejectedTokenReissued => true,
        };
        if transient {
            FailureClass::Transient
        } else {
            FailureClass::Permanent
        }
    }

    /// The HTTP status, when a response arrived.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            TokenError::OAuth { status, .. }
            | TokenError::Status { status, .. }
            | TokenError::Redirect { status, .. }
            | TokenError::InvalidResponse { status, .. }
            | TokenError::BodyTooLarge { status, .. } => Some(*status),
            TokenError::Transport(_)
            | TokenError::DeadlineExceeded { .. }
            | TokenError::RejectedTokenReissued => None,
        }
    }

    /// The OAuth `error` code, when the server sent one.
    #[must_use]
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            TokenError::OAuth { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The OAuth `error_description`, when the server sent one.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        match self {
            TokenError::OAuth { description, .. } => description.as_deref(),
            _ => None,
        }
    }
}

/// Advice for a status that came without an OAuth error body.
fn status_advice(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 | 403 => "check CLIENT_ID and CLIENT_SECRET for this environment",
        404 | 405 => {
            "nothing answers token requests at this URL; check SEEK_PASS_URL or the token URL"
        }
        429 => "rate limited; retrying after back-off",
        408 | 425 | 500..=599 => "the server is having trouble; retrying with back-off",
        _ if transient_status(status) => "unexpected status; retrying with back-off",
        _ => "the server refused the request; check the token URL and the configuration",
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::OAuth {
                status,
                code,
                description,
                uri,
                ..
            } => {
                write!(f, "{code} ({})", status.as_u16())?;
                if let Some(advice) = code.advice() {
                    write!(f, ": {advice}")?;
                }
                if let Some(d) = description {
                    write!(f, "; server said: {d:?}")?;
                }
                if let Some(u) = uri {
                    write!(f, "; see {u}")?;
                }
                Ok(())
            }
            TokenError::Status {
                status, excerpt, ..
            } => {
                write!(f, "HTTP {status}: {}", status_advice(*status))?;
                if let Some(e) = excerpt {
                    write!(f, "; body starts {e:?}")?;
                }
                Ok(())
            }
            TokenError::Redirect {
                status,
                location,
                refusal,
            } => {
                write!(f, "the token endpoint redirected (HTTP {status})")?;
                if let Some(l) = location {
                    write!(f, " to {l:?}")?;
                }
                write!(f, " and it was not followed: {refusal}")?;
                if location.is_some() {
                    f.write_str("; if that URL is right, configure it as the token URL")?;
                }
                Ok(())
            }
            TokenError::InvalidResponse {
                status,
                problem,
                excerpt,
            } => {
                write!(f, "HTTP {status} but no usable token: {problem}")?;
                if let Some(e) = excerpt {
                    write!(f, "; body starts {e:?}")?;
                }
                Ok(())
            }
            TokenError::BodyTooLarge { status, limit } => write!(
                f,
                "HTTP {status} with a body over the {limit}-byte limit; not parsed"
            ),
            TokenError::Transport(e) if e.kind().class() == FailureClass::Permanent => {
                write!(f, "{e}; retrying only after a long back-off")
            }
            TokenError::Transport(e) => write!(f, "{e}; retrying with back-off"),
            TokenError::DeadlineExceeded { after } => write!(
                f,
                "no response within {}.{:03}s; retrying with back-off",
                after.as_secs(),
                after.subsec_millis()
            ),
            TokenError::RejectedTokenReissued => f.write_str(
                "the token endpoint issued again the token the API rejected; waiting before asking again",
            ),
        }
    }
}

impl std::error::Error for TokenError {}
