//! Errors, split the way h11 splits them: a configuration the caller must fix
//! ([`ConfigError`]), an input the caller should not have given ([`InputError`]), and a token
//! attempt that failed because of the server or the network ([`TokenError`]).

use core::fmt;
use core::time::Duration;

use http::StatusCode;

use crate::redirect::RedirectRefusal;
use crate::request::RequestId;
use crate::store::StoreId;

/// A configuration the crate cannot use. Each message says what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An environment variable the official guide uses is not set.
    MissingVariable {
        /// The variable, such as `CLIENT_ID`.
        name: &'static str,
    },
    /// The `client_id` is empty.
    EmptyClientId,
    /// The `client_secret` is empty.
    EmptyClientSecret,
    /// [`ClientAuth::SecretBasicUnencoded`](crate::ClientAuth::SecretBasicUnencoded) cannot carry
    /// a `client_id` containing `:`.
    ColonInClientId,
    /// A scope is not an RFC 6749 §3.3 scope token.
    InvalidScope {
        /// The scope as given.
        scope: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A token URL or base URL cannot be used.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An extra form parameter would override one the grant sets itself.
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// An extra form parameter has an empty name.
    EmptyParameterName,
    /// A [`Share`](crate::Share) setting cannot work.
    InvalidShare {
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingVariable { name } => {
                write!(f, "environment variable {name} is not set")?;
                match *name {
                    "SEEK_PASS_URL" => f.write_str(
                        "; set it to the environment's base URL, such as https://app.seekpass-staging.com",
                    ),
                    _ => f.write_str("; set it to the value SEEK Pass issued for this environment"),
                }
            }
            ConfigError::EmptyClientId => {
                f.write_str("client_id is empty; set CLIENT_ID to the id SEEK Pass issued")
            }
            ConfigError::EmptyClientSecret => {
                f.write_str("client_secret is empty; set CLIENT_SECRET to the secret SEEK Pass issued")
            }
            ConfigError::ColonInClientId => f.write_str(
                "client_id contains ':', which unencoded HTTP Basic cannot carry; use client_secret_post or client_secret_basic",
            ),
            ConfigError::InvalidScope { scope, reason } => {
                write!(f, "invalid scope {scope:?}: {reason}")
            }
            ConfigError::InvalidUrl { url, reason } => write!(f, "invalid token URL {url:?}: {reason}"),
            ConfigError::ReservedParameter { name } => write!(
                f,
                "extra parameter {name:?} is set by the client-credentials grant itself and cannot be overridden"
            ),
            ConfigError::EmptyParameterName => f.write_str("an extra parameter has an empty name"),
            ConfigError::InvalidShare { reason } => write!(f, "invalid token sharing setting: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// An input the machine refused; its state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputError {
    /// The id was never issued by this machine.
    UnknownRequest(RequestId),
    /// The request is no longer in flight: it was answered already, passed its deadline, or was
    /// abandoned when the configuration changed. Its answer is not used.
    StaleRequest(RequestId),
    /// The store operation id was never issued by this machine (or it does not share its token).
    UnknownStoreOp(StoreId),
    /// The store operation is no longer in flight: answered already, past its deadline, or
    /// dropped when the configuration changed. Its result is not used.
    StaleStoreOp(StoreId),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::UnknownRequest(id) => {
                write!(f, "{id} was never issued by this token client")
            }
            InputError::StaleRequest(id) => write!(
                f,
                "{id} is no longer in flight (answered, timed out or abandoned); its answer is ignored"
            ),
            InputError::UnknownStoreOp(id) => {
                write!(f, "{id} was never issued by this token client")
            }
            InputError::StaleStoreOp(id) => write!(
                f,
                "{id} is no longer in flight (answered, timed out or dropped); its result is ignored"
            ),
        }
    }
}

impl std::error::Error for InputError {}

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
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// What the user should do about this code.
    fn advice(&self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::InvalidClient => "check CLIENT_ID and CLIENT_SECRET for this environment (staging and production credentials differ)",
            ErrorCode::InvalidScope => "the client was not granted a requested scope, or a scope is misspelt; request only the scopes SEEK Pass enabled for this client",
            ErrorCode::UnauthorizedClient => "this client may not use the client-credentials grant; ask SEEK Pass to enable it",
            ErrorCode::UnsupportedGrantType => "the server does not offer the client-credentials grant here; check the token URL",
            ErrorCode::InvalidRequest => "the server found the request malformed; check the token URL and any extra parameters",
            ErrorCode::InvalidGrant => "the server refused the grant; check the credentials and the token URL",
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => "the server is having trouble; retrying with back-off",
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
    /// No `access_token`.
    MissingAccessToken,
    /// The `access_token` is not an RFC 6750 `b64token`, so it cannot be sent as a bearer header.
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
            ResponseProblem::MissingAccessToken => f.write_str("no access_token"),
            ResponseProblem::InvalidAccessToken => {
                f.write_str("access_token is not a valid bearer token (RFC 6750 b64token)")
            }
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

/// How a transport failed, as the caller reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Could not connect, for a reason not named below (unreachable, reset while connecting).
    Connect,
    /// The host name does not resolve. Transient: DNS can come back.
    Dns,
    /// Nothing accepts connections at that address and port. Transient.
    ConnectionRefused,
    /// The TLS handshake or session failed for a reason other than the certificate.
    Tls,
    /// The server's certificate is not trusted: signed by a CA the client does not trust (a
    /// TLS-inspecting proxy's, say), expired, or for another name. **Permanent**: retrying
    /// cannot help until the trust configuration or the URL changes.
    Certificate,
    /// The proxy refused to open the tunnel (`CONNECT` answered with an error). Transient.
    ProxyRefused,
    /// The proxy asks for credentials (`407`). **Permanent** until they are configured.
    ProxyAuthRequired,
    /// Reading or writing failed, or the connection closed early.
    Io,
    /// The caller's own timeout fired.
    Timeout,
    /// Anything else.
    Other,
}

impl TransportErrorKind {
    /// Transient, or permanent for a certificate that is not trusted and a proxy that wants
    /// credentials: those need a change of configuration, not another attempt.
    #[must_use]
    pub fn class(self) -> FailureClass {
        match self {
            TransportErrorKind::Certificate | TransportErrorKind::ProxyAuthRequired => {
                FailureClass::Permanent
            }
            _ => FailureClass::Transient,
        }
    }
}

/// A failure of the caller's transport, fed to
/// [`TokenClient::handle_transport_error`](crate::TokenClient::handle_transport_error).
///
/// The detail is the caller's text; keep secrets out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    kind: TransportErrorKind,
    detail: String,
}

impl TransportError {
    /// A failure of `kind`, with the transport's own description.
    #[must_use]
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            detail: detail.into(),
        }
    }

    /// What kind of failure.
    #[must_use]
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The transport's description.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = &self.detail;
        match self.kind {
            TransportErrorKind::Connect => write!(f, "connect error: {detail}"),
            TransportErrorKind::Dns => write!(
                f,
                "the host name does not resolve ({detail}): check the URL (SEEK_PASS_URL) and this machine's DNS"
            ),
            TransportErrorKind::ConnectionRefused => write!(
                f,
                "connection refused ({detail}): nothing accepts connections at that address and port"
            ),
            TransportErrorKind::Tls => write!(f, "tls error: {detail}"),
            TransportErrorKind::Certificate => write!(
                f,
                "the server's certificate is not trusted ({detail}): it is expired, for another \
                 name, or signed by a CA this client does not trust, such as a TLS-inspecting \
                 proxy's. Check the URL; to trust that CA, install it in the system trust store, \
                 set SSL_CERT_FILE to its PEM file, or pass that file explicitly \
                 (seekpass-token --cacert, or the sender's CA files)"
            ),
            TransportErrorKind::ProxyRefused => write!(
                f,
                "the proxy refused the tunnel ({detail}): check HTTPS_PROXY and NO_PROXY"
            ),
            TransportErrorKind::ProxyAuthRequired => write!(
                f,
                "the proxy asks for credentials ({detail}): put them in the proxy URL, \
                 http://user:password@proxy:port"
            ),
            TransportErrorKind::Io => write!(f, "i/o error: {detail}"),
            TransportErrorKind::Timeout => write!(f, "timed out: {detail}"),
            TransportErrorKind::Other => write!(f, "transport error: {detail}"),
        }
    }
}

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
                        ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable
                    )
            }
            TokenError::Status { status, .. } => transient_status(*status),
            TokenError::Redirect { .. } => false,
            TokenError::InvalidResponse { problem, .. } => matches!(
                problem,
                ResponseProblem::NotJson | ResponseProblem::AlreadyExpired
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "server_error",
            "temporarily_unavailable",
            "slow_down",
        ] {
            assert_eq!(ErrorCode::from_wire(code).as_str(), code);
        }
        assert_eq!(
            ErrorCode::from_wire("slow_down"),
            ErrorCode::Other("slow_down".into())
        );
    }

    fn status_error(code: u16) -> TokenError {
        TokenError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            www_authenticate: None,
            excerpt: None,
        }
    }

    #[test]
    fn transport_kinds_say_what_failed_and_only_trust_and_proxy_credentials_are_permanent() {
        let says = |kind, words: &[&str]| {
            let e = TokenError::Transport(TransportError::new(kind, "the detail"));
            let text = e.to_string();
            for w in words.iter().chain(&["the detail"]) {
                assert!(text.contains(w), "{kind:?}: {text}");
            }
            e.class()
        };
        use TransportErrorKind as K;
        assert_eq!(
            says(K::Dns, &["does not resolve", "SEEK_PASS_URL"]),
            FailureClass::Transient
        );
        assert_eq!(
            says(K::ConnectionRefused, &["connection refused"]),
            FailureClass::Transient
        );
        assert_eq!(says(K::Timeout, &["timed out"]), FailureClass::Transient);
        assert_eq!(
            says(K::ProxyRefused, &["proxy refused", "NO_PROXY"]),
            FailureClass::Transient
        );
        assert_eq!(
            says(
                K::Certificate,
                &[
                    "not trusted",
                    "system trust store",
                    "SSL_CERT_FILE",
                    "--cacert",
                    "long back-off"
                ]
            ),
            FailureClass::Permanent
        );
        assert_eq!(
            says(K::ProxyAuthRequired, &["credentials", "user:password@"]),
            FailureClass::Permanent
        );
        for kind in [K::Connect, K::Tls, K::Io, K::Other] {
            assert_eq!(
                says(kind, &["retrying with back-off"]),
                FailureClass::Transient
            );
        }
    }

    #[test]
    fn status_classes() {
        for code in [408, 425, 429, 500, 502, 503, 504, 599, 100, 600, 999] {
            assert_eq!(
                status_error(code).class(),
                FailureClass::Transient,
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 405, 409, 410, 422, 499] {
            assert_eq!(
                status_error(code).class(),
                FailureClass::Permanent,
                "{code}"
            );
        }
    }

    #[test]
    fn oauth_codes_are_permanent_unless_the_server_says_it_is_its_fault() {
        let oauth = |status: u16, code: &str| TokenError::OAuth {
            status: StatusCode::from_u16(status).unwrap(),
            code: ErrorCode::from_wire(code),
            description: None,
            uri: None,
            www_authenticate: None,
        };
        assert_eq!(
            oauth(401, "invalid_client").class(),
            FailureClass::Permanent
        );
        assert_eq!(oauth(400, "invalid_scope").class(), FailureClass::Permanent);
        assert_eq!(oauth(400, "server_error").class(), FailureClass::Transient);
        assert_eq!(
            oauth(400, "temporarily_unavailable").class(),
            FailureClass::Transient
        );
        assert_eq!(
            oauth(503, "invalid_request").class(),
            FailureClass::Transient
        );
        assert_eq!(oauth(429, "slow_down").class(), FailureClass::Transient);
        assert_eq!(
            oauth(200, "invalid_client").class(),
            FailureClass::Permanent
        );
    }

    #[test]
    fn invalid_responses_split_by_problem() {
        let invalid = |problem| TokenError::InvalidResponse {
            status: StatusCode::OK,
            problem,
            excerpt: None,
        };
        assert_eq!(
            invalid(ResponseProblem::NotJson).class(),
            FailureClass::Transient
        );
        assert_eq!(
            invalid(ResponseProblem::AlreadyExpired).class(),
            FailureClass::Transient
        );
        assert_eq!(
            invalid(ResponseProblem::MissingAccessToken).class(),
            FailureClass::Permanent
        );
        assert_eq!(
            invalid(ResponseProblem::UnsupportedTokenType("mac".into())).class(),
            FailureClass::Permanent
        );
    }

    #[test]
    fn body_too_large_follows_the_status() {
        let big = |s: u16| TokenError::BodyTooLarge {
            status: StatusCode::from_u16(s).unwrap(),
            limit: 10,
        };
        assert_eq!(big(200).class(), FailureClass::Transient);
        assert_eq!(big(503).class(), FailureClass::Transient);
        assert_eq!(big(401).class(), FailureClass::Permanent);
    }

    #[test]
    fn accessors() {
        let e = TokenError::OAuth {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::InvalidClient,
            description: Some("nope".into()),
            uri: None,
            www_authenticate: None,
        };
        assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(e.code(), Some(&ErrorCode::InvalidClient));
        assert_eq!(e.description(), Some("nope"));
        let t = TokenError::Transport(TransportError::new(TransportErrorKind::Io, "reset"));
        assert_eq!(t.status(), None);
        assert_eq!(t.code(), None);
        assert_eq!(t.class(), FailureClass::Transient);
        let TokenError::Transport(inner) = &t else {
            unreachable!()
        };
        assert_eq!(inner.detail(), "reset");
        assert_eq!(inner.kind(), TransportErrorKind::Io);
        assert_eq!(FailureClass::Transient.to_string(), "transient");
        assert_eq!(FailureClass::Permanent.to_string(), "permanent");
    }

    #[test]
    fn statuses_without_an_oauth_body_get_advice() {
        let advice = |code: u16| {
            TokenError::Status {
                status: StatusCode::from_u16(code).unwrap(),
                www_authenticate: None,
                excerpt: None,
            }
            .to_string()
        };
        assert!(
            advice(401).contains("check CLIENT_ID and CLIENT_SECRET"),
            "{}",
            advice(401)
        );
        assert!(advice(403).contains("check CLIENT_ID and CLIENT_SECRET"));
        assert!(advice(404).contains("nothing answers token requests at this URL"));
        assert!(advice(429).contains("rate limited"));
        assert!(advice(503).contains("the server is having trouble"));
        // 1xx as a final answer and codes past 599 are odd, but retried.
        assert!(
            advice(199).contains("unexpected status; retrying"),
            "{}",
            advice(199)
        );
        assert!(advice(418).contains("the server refused the request"));
    }
}
