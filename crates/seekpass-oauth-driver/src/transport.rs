//! Naming transport failures the way a user needs them named: a host name that does not
//! resolve, a refused connection and a timeout each say which they are, whatever HTTP client
//! or socket met them.

use std::error::Error as StdError;
use std::io;

use seekpass_oauth::{TransportError, TransportErrorKind};

/// What std (getaddrinfo) says when a host name does not resolve; it has no `ErrorKind` of
/// its own.
const LOOKUP_FAILED: &str = "failed to lookup address information";

/// rustls' words for a handshake that failed for another reason than the certificate: the
/// peer does not speak TLS (plain HTTP on an `https` port), sent an alert, or speaks no
/// common version or cipher suite. ureq hands these over as I/O errors.
const HANDSHAKE_FAILED: [&str; 5] = [
    "received corrupt message",
    "received unexpected message",
    "received fatal alert",
    "peer is incompatible",
    "peer misbehaved",
];

/// The kind an HTTP client's or TLS stack's message names, where it names one: rustls'
/// certificate refusals ("invalid peer certificate: UnknownIssuer", "…: Expired",
/// "…: NotValidForName") and its other handshake failures, a proxy's `407`, a refused
/// `CONNECT` tunnel (ureq's and hyper's words for them).
#[must_use]
pub fn message_kind(message: &str) -> Option<TransportErrorKind> {
    let m = message.to_ascii_lowercase();
    if m.contains("invalid peer certificate") || m.contains("certificate verify failed") {
        Some(TransportErrorKind::Certificate)
    } else if m.contains("proxy authorization required")
        || (m.contains("proxy") && m.contains("407"))
    {
        Some(TransportErrorKind::ProxyAuthRequired)
    } else if m.contains("connect proxy failed")
        || m.contains("unsuccessful tunnel")
        || m.contains("tunnel error")
    {
        Some(TransportErrorKind::ProxyRefused)
    } else if HANDSHAKE_FAILED.iter().any(|words| m.contains(words)) {
        Some(TransportErrorKind::Tls)
    } else {
        None
    }
}

/// The kind an error names, if it names one: by its `io::ErrorKind` where it is an I/O error,
/// otherwise (and for I/O errors of no telling kind) by its text.
fn named_kind(io: Option<io::ErrorKind>, text: &str) -> Option<TransportErrorKind> {
    match io {
        Some(io::ErrorKind::ConnectionRefused) => Some(TransportErrorKind::ConnectionRefused),
        Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
            Some(TransportErrorKind::Timeout)
        }
        _ if text.contains(LOOKUP_FAILED) => Some(TransportErrorKind::Dns),
        _ => message_kind(text),
    }
}

/// The kind of an I/O error: `Dns`, `ConnectionRefused`, `Timeout` (or a kind its text names)
/// when it is one of those, `otherwise` when not.
#[must_use]
pub fn io_kind(e: &io::Error, otherwise: TransportErrorKind) -> TransportErrorKind {
    named_kind(Some(e.kind()), &e.to_string()).unwrap_or(otherwise)
}

/// A transport error for `e` and every error below it: the first cause that names a kind
/// decides it (`otherwise` if none does), and the detail is the whole chain, since HTTP
/// clients' own messages often stop at "error sending request".
#[must_use]
pub fn from_chain(e: &(dyn StdError + 'static), otherwise: TransportErrorKind) -> TransportError {
    let chain: Vec<&(dyn StdError + 'static)> =
        std::iter::successors(Some(e), |c: &&(dyn StdError + 'static)| (*c).source()).collect();
    let kind = chain
        .iter()
        .find_map(|cause| {
            let io = cause.downcast_ref::<io::Error>().map(io::Error::kind);
            named_kind(io, &cause.to_string())
        })
        .unwrap_or(otherwise);
    let mut detail = e.to_string();
    for cause in chain.iter().skip(1) {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
    }
    TransportError::new(kind, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn io_errors_are_named_by_what_failed() {
        let kind = |e: io::Error| io_kind(&e, TransportErrorKind::Io);
        assert_eq!(
            kind(io::ErrorKind::ConnectionRefused.into()),
            TransportErrorKind::ConnectionRefused
        );
        assert_eq!(
            kind(io::ErrorKind::TimedOut.into()),
            TransportErrorKind::Timeout
        );
        assert_eq!(
            kind(io::ErrorKind::WouldBlock.into()),
            TransportErrorKind::Timeout
        );
        assert_eq!(
            kind(io::ErrorKind::BrokenPipe.into()),
            TransportErrorKind::Io
        );
        // What std really returns for a name that does not resolve.
        let dns = ("seekpass-test.invalid", 443)
            .to_socket_addrs_error()
            .expect("a .invalid name never resolves");
        assert_eq!(kind(dns), TransportErrorKind::Dns);
    }

    #[test]
    fn messages_name_certificates_and_proxies() {
        use TransportErrorKind as K;
        for (message, kind) in [
            (
                "invalid peer certificate: UnknownIssuer",
                Some(K::Certificate),
            ),
            (
                "io: invalid peer certificate: Expired",
                Some(K::Certificate),
            ),
            (
                "CONNECT proxy failed: proxy server responded 407/Proxy Authentication Required",
                Some(K::ProxyAuthRequired),
            ),
            ("proxy authorization required", Some(K::ProxyAuthRequired)),
            (
                "CONNECT proxy failed: proxy server responded 403/Forbidden",
                Some(K::ProxyRefused),
            ),
            ("tunnel error: unsuccessful", Some(K::ProxyRefused)),
            (
                "io: received corrupt message of type InvalidContentType",
                Some(K::Tls),
            ),
            ("received fatal alert: HandshakeFailure", Some(K::Tls)),
            ("peer is incompatible: Tls12NotOffered", Some(K::Tls)),
            ("connection reset by peer", None),
        ] {
            assert_eq!(message_kind(message), kind, "{message}");
        }
    }

    #[test]
    fn a_chain_is_named_by_its_deepest_meaningful_cause_and_shown_whole() {
        let e = Wrapper(io::ErrorKind::ConnectionRefused.into());
        let t = from_chain(&e, TransportErrorKind::Io);
        assert_eq!(t.kind(), TransportErrorKind::ConnectionRefused);
        assert!(t.detail().starts_with("error sending request: "), "{t}");
        let e = Wrapper(io::Error::other("reset by peer"));
        let t = from_chain(&e, TransportErrorKind::Connect);
        assert_eq!(t.kind(), TransportErrorKind::Connect);
        assert!(t.detail().ends_with("reset by peer"), "{t}");
    }

    trait ResolveError {
        fn to_socket_addrs_error(&self) -> Option<io::Error>;
    }
    impl ResolveError for (&str, u16) {
        fn to_socket_addrs_error(&self) -> Option<io::Error> {
            std::net::ToSocketAddrs::to_socket_addrs(self).err()
        }
    }
}
