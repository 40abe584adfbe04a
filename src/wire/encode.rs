//! `http::Request` → HTTP/1.1 bytes (RFC 9112 §3).

use core::fmt;

use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::Request;

/// Whether the connection stays open after the response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Connection {
    /// HTTP/1.1's default: no `Connection` header.
    #[default]
    KeepAlive,
    /// `Connection: close`: the server closes after its response.
    Close,
}

/// Why a request could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The URI has no host: only absolute URIs can be sent.
    NoHost,
    /// A header value contains CR, LF or NUL (the `http` types already refuse these).
    InvalidHeaderValue(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NoHost => f.write_str("the request URI has no host; use an absolute URI"),
            EncodeError::InvalidHeaderValue(name) => {
                write!(f, "header {name} has a value with CR, LF or NUL")
            }
        }
    }
}

impl std::error::Error for EncodeError {}

/// Encodes `request` as HTTP/1.1: the origin-form request line, `Host` (with the port when it
/// is not the scheme's default), the request's own headers in order, `Content-Length`, and
/// `Connection: close` when asked. Framing headers the request carries (`Host`,
/// `Content-Length`, `Transfer-Encoding`, `Connection`) are replaced by the encoder's own.
///
/// ```
/// use seekpass_oauth::wire::{encode_request, Connection};
///
/// let request = http::Request::post("https://app.seekpass-staging.com/api/partner/v1/oauth/token.json")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body(b"grant_type=client_credentials".to_vec())
///     .unwrap();
/// let bytes = encode_request(&request, Connection::Close).unwrap();
/// assert!(bytes.starts_with(b"POST /api/partner/v1/oauth/token.json HTTP/1.1\r\nhost: app.seekpass-staging.com\r\n"));
/// assert!(bytes.ends_with(b"content-length: 29\r\nconnection: close\r\n\r\ngrant_type=client_credentials"));
/// ```
pub fn encode_request<B: AsRef<[u8]>>(
    request: &Request<B>,
    connection: Connection,
) -> Result<Vec<u8>, EncodeError> {
    let uri = request.uri();
    let host = uri.host().ok_or(EncodeError::NoHost)?;
    let body = request.body().as_ref();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    };
    let port = match uri.port_u16() {
        Some(port) if Some(port) != default_port => Some(port.to_string()),
        _ => None,
    };
    let length = body.len().to_string();
    let own = |name: &http::HeaderName| {
        [HOST, CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION].contains(name)
    };
    // The exact size first, so the buffer never grows: growing would free a block still holding
    // what was written before (a Basic `Authorization` value, the form body's secret) unwiped.
    let mut size = [
        request.method().as_str().len(),
        1,
        target.len(),
        b" HTTP/1.1\r\nhost: ".len(),
        host.len(),
        port.as_ref().map_or(0, |p| p.len().saturating_add(1)),
        2,
        b"content-length: \r\n".len(),
        length.len(),
        if connection == Connection::Close {
            b"connection: close\r\n".len()
        } else {
            0
        },
        2,
        body.len(),
    ]
    .into_iter()
    .fold(0usize, usize::saturating_add);
    for (name, value) in request.headers().iter().filter(|(n, _)| !own(n)) {
        if value
            .as_bytes()
            .iter()
            .any(|b| matches!(b, b'\r' | b'\n' | 0))
        {
            return Err(EncodeError::InvalidHeaderValue(name.to_string()));
        }
        size = size
            .saturating_add(name.as_str().len())
            .saturating_add(value.len())
            .saturating_add(4);
    }
    let mut out = Vec::with_capacity(size);
    let line = |out: &mut Vec<u8>, parts: &[&[u8]]| {
        for p in parts {
            out.extend_from_slice(p);
        }
        out.extend_from_slice(b"\r\n");
    };
    line(
        &mut out,
        &[
            request.method().as_str().as_bytes(),
            b" ",
            target.as_bytes(),
            b" HTTP/1.1",
        ],
    );
    match &port {
        Some(port) => line(
            &mut out,
            &[b"host: ", host.as_bytes(), b":", port.as_bytes()],
        ),
        None => line(&mut out, &[b"host: ", host.as_bytes()]),
    }
    for (name, value) in request.headers().iter().filter(|(n, _)| !own(n)) {
        line(
            &mut out,
            &[name.as_str().as_bytes(), b": ", value.as_bytes()],
        );
    }
    line(&mut out, &[b"content-length: ", length.as_bytes()]);
    if connection == Connection::Close {
        line(&mut out, &[b"connection: close"]);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(uri: &str) -> String {
        let r = Request::post(uri).body(Vec::new()).unwrap();
        String::from_utf8(encode_request(&r, Connection::KeepAlive).unwrap()).unwrap()
    }

    #[test]
    fn the_buffer_is_sized_exactly_and_never_grows() {
        // A long Basic value written early: a buffer that grew after it would free a copy.
        let basic = format!("Basic {}", "QUJD".repeat(200));
        for (uri, connection) in [
            ("https://h.example/token.json", Connection::Close),
            ("http://[::1]:3000/", Connection::KeepAlive),
        ] {
            let r = Request::post(uri)
                .header("authorization", basic.as_str())
                .header("accept-encoding", "identity")
                .header("content-length", "999")
                .body(vec![b'x'; 700])
                .unwrap();
            let bytes = encode_request(&r, connection).unwrap();
            assert_eq!(bytes.capacity(), bytes.len(), "{uri}");
        }
    }

    #[test]
    fn host_carries_the_port_only_when_it_is_not_the_default() {
        assert!(encode("https://h.example/x").contains("host: h.example\r\n"));
        assert!(encode("https://h.example:443/x").contains("host: h.example\r\n"));
        assert!(encode("https://h.example:8443/x").contains("host: h.example:8443\r\n"));
        assert!(encode("http://127.0.0.1:80/x").contains("host: 127.0.0.1\r\n"));
        assert!(encode("http://127.0.0.1:3000/x").contains("host: 127.0.0.1:3000\r\n"));
        assert!(encode("http://[::1]:3000/x").contains("host: [::1]:3000\r\n"));
    }

    #[test]
    fn origin_form_keeps_the_query_and_defaults_to_slash() {
        assert!(encode("https://h.example/a/b?c=d").starts_with("POST /a/b?c=d HTTP/1.1\r\n"));
        assert!(encode("https://h.example").starts_with("POST / HTTP/1.1\r\n"));
    }

    #[test]
    fn framing_headers_are_the_encoders_own() {
        let r = Request::post("https://h.example/")
            .header("host", "evil.example")
            .header("content-length", "999")
            .header("transfer-encoding", "chunked")
            .header("connection", "upgrade")
            .header("accept", "application/json")
            .body(b"abc".to_vec())
            .unwrap();
        let text = String::from_utf8(encode_request(&r, Connection::Close).unwrap()).unwrap();
        assert_eq!(
            text,
            "POST / HTTP/1.1\r\nhost: h.example\r\naccept: application/json\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc"
        );
    }

    #[test]
    fn a_relative_uri_cannot_be_sent() {
        let r = Request::post("/token").body(Vec::new()).unwrap();
        assert_eq!(
            encode_request(&r, Connection::KeepAlive),
            Err(EncodeError::NoHost)
        );
        assert_eq!(
            EncodeError::NoHost.to_string(),
            "the request URI has no host; use an absolute URI"
        );
        assert_eq!(
            EncodeError::InvalidHeaderValue("x-a".into()).to_string(),
            "header x-a has a value with CR, LF or NUL"
        );
    }

    #[test]
    fn header_injection_is_impossible_through_the_public_api() {
        for bad in ["a\r\nx-evil: 1", "a\nb", "a\rb", "a\0b"] {
            assert!(http::HeaderValue::from_str(bad).is_err(), "{bad:?}");
            assert!(
                http::HeaderValue::from_bytes(bad.as_bytes()).is_err(),
                "{bad:?}"
            );
            assert!(Request::post("https://h.example/")
                .header("x", bad)
                .body(())
                .is_err());
        }
    }
}
