//! A failure of the caller's transport, as the caller reports it ([`TransportError`]).

use core::fmt;

use super::response::FailureClass;
use crate::redact::scrub_urls;

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
/// The detail is the caller's text; keep secrets out of it. Any URL in it (a proxy's, say) loses
/// its user information and query on the way in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    kind: TransportErrorKind,
    detail: String,
}

impl TransportError {
    /// A failure of `kind`, with the transport's own description. A URL the description quotes
    /// is shown without its user information and query (`http://[redacted]@proxy:3128`).
    #[must_use]
    pub fn new(kind: TransportErrorKind, detail: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            detail: scrub_urls(&detail.into()),
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
