//! What a token endpoint's answer means: whether a failure is worth retrying soon
//! ([`FailureClass`]), the OAuth `error` code (RFC 6749 §5.2, [`ErrorCode`]) and what was wrong
//! with a success that could not be used ([`ResponseProblem`]).

use core::fmt;

/// Whether a failed attempt is worth retrying soon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Likely to pass on its own (network, 5xx, 429, deadline): retried with exponential
    /// back-off.
    Transient,
    /// Will fail again until someone changes something (credentials, scopes, URL): retried only
    /// after a long back-off or when the configuration changes.
    Permanent,
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FailureClass::Transient => "transient",
            FailureClass::Permanent => "permanent",
        })
    }
}

/// An OAuth 2.0 `error` code (RFC 6749 §5.2; `server_error` and `temporarily_unavailable` from
/// §4.1.2.1, which some servers also use at the token endpoint).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// `invalid_token_reuse`: Doorkeeper's answer, under `revoke_previous_client_credentials_token`,
    /// to a request that raced another for the same client (the token it would revoke was
    /// revoked by the other). The next request succeeds, so it is transient.
    InvalidTokenReuse,
    /// Any other code, kept as the server sent it.
    Other(String),
}

impl ErrorCode {
    /// The code as it appears on the wire.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidTokenReuse => "invalid_token_reuse",
            ErrorCode::Other(code) => code,
        }
    }

    pub(crate) fn from_wire(code: &str) -> ErrorCode {
        match code {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "invalid_scope" => ErrorCode::InvalidScope,
            "server_error" => ErrorCode::ServerError,
            "temporarily_unavailable" => ErrorCode::TemporarilyUnavailable,
            "invalid_token_reuse" => ErrorCode::InvalidTokenReuse,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// What the user should do about this code.
    pub(super) fn advice(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InvalidClient => "check CLIENT_ID and CLIENT_SECRET for this environment (staging and production credentials differ)",
            ErrorCode::InvalidScope => "the client was not granted a requested scope, or a scope is misspelt; request only the scopes SEEK Pass enabled for this client",
            ErrorCode::UnauthorizedClient => "this client may not use the client-credentials grant; ask SEEK Pass to enable it",
            ErrorCode::UnsupportedGrantType => "the server does not offer the client-credentials grant here; check the token URL",
            ErrorCode::InvalidRequest => "the server found the request malformed; check the token URL and any extra parameters",
            ErrorCode::InvalidGrant => "the server refused the grant; check the credentials and the token URL",
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => "the server is having trouble; retrying with back-off",
            ErrorCode::InvalidTokenReuse => "another token request for this client raced this one, and the server revokes a client's previous token on each issue; retrying soon (replicas that share one token with --share or Share stop racing)",
            ErrorCode::Other(_) => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was wrong with a 2xx response that should have carried a token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseProblem {
    /// The body is not a JSON object (an HTML page from a proxy, say).
    NotJson,
    /// A field has a type or value the token response cannot have.
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The body is in a content coding (`gzip`, say), named here, although the request asked
    /// for `identity`: a server or an intermediary ignored `Accept-Encoding` (RFC 9110 §12.5.3).
    ContentCoded(String),
    /// No `access_token`.
    MissingAccessToken,
    /// The `access_token` is empty or holds a character a header cannot carry after `Bearer `
    /// (a space, a control character, a non-ASCII byte).
    InvalidAccessToken,
    /// The `token_type` is not `Bearer`.
    UnsupportedTokenType(String),
    /// `expires_in` is zero or negative: the token is already expired.
    AlreadyExpired,
    /// `expires_in` is absent and the configuration rejects that.
    MissingExpiresIn,
}

impl fmt::Display for ResponseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseProblem::NotJson => f.write_str("the body is not a JSON object"),
            ResponseProblem::InvalidField { field, detail } => write!(f, "field {field}: {detail}"),
            ResponseProblem::ContentCoded(coding) => write!(
                f,
                "the body is {coding}-coded although the request asked for identity; a proxy or CDN in front of the token endpoint ignores Accept-Encoding"
            ),
            ResponseProblem::MissingAccessToken => f.write_str("no access_token"),
            ResponseProblem::InvalidAccessToken => f.write_str(
                "access_token is empty or holds a space, a control character or a non-ASCII byte, so it cannot be sent in a header",
            ),
            ResponseProblem::UnsupportedTokenType(t) => {
                write!(f, "token_type {t:?} is not Bearer")
            }
            ResponseProblem::AlreadyExpired => {
                f.write_str("expires_in is zero or negative: the token is already expired")
            }
            ResponseProblem::MissingExpiresIn => f.write_str("no expires_in"),
        }
    }
}
