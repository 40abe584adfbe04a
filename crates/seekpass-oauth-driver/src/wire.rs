//! What the wire senders (blocking over `Read + Write`, async over any byte stream) share
//! around the core's wire codec: which URLs a plain socket reaches, the request bytes, and
//! turning each read into progress.

use seekpass_oauth::http::{Request, Response, Uri};
use seekpass_oauth::wire::{encode_request, Connection, Decoded, Limits, ResponseDecoder};
use seekpass_oauth::{TransportError, TransportErrorKind};
use zeroize::Zeroizing;

/// Host and port of a URL, for a connector that opens the socket. `tls` says whether the
/// connector brings TLS: without it, only `http` URLs are reachable.
pub fn target(uri: &Uri, tls: bool) -> Result<(String, u16), TransportError> {
    let default_port = match (uri.scheme_str(), tls) {
        (Some("http"), _) => 80,
        (Some("https"), true) => 443,
        _ => {
            return Err(TransportError::new(
                TransportErrorKind::Tls,
                format!(
                    "{uri}: this connector speaks plain http only; connect a TLS stream for https"
                ),
            ))
        }
    };
    let host = uri.host().unwrap_or("127.0.0.1");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), uri.port_u16().unwrap_or(default_port)))
}

/// The request's bytes, asking the server to close after answering. They hold the client
/// secret (in the body, or in a Basic header), so they are wiped when dropped.
pub fn request_bytes<B: AsRef<[u8]>>(
    request: &Request<B>,
) -> Result<Zeroizing<Vec<u8>>, TransportError> {
    encode_request(request, Connection::Close)
        .map(Zeroizing::new)
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))
}

/// A decoder whose body limit is `limit` bytes.
pub fn decoder(limit: usize) -> ResponseDecoder {
    ResponseDecoder::new(Limits {
        max_body: limit,
        ..Limits::default()
    })
}

/// Feeds the bytes of one read (empty: the peer closed); `Some` once the response is whole.
pub fn on_read(
    decoder: &mut ResponseDecoder,
    bytes: &[u8],
) -> Result<Option<Response<Vec<u8>>>, TransportError> {
    let decoded = if bytes.is_empty() {
        decoder.finish().map(Some)
    } else {
        decoder.feed(bytes).map(|d| match d {
            Decoded::Complete { response, .. } => Some(response),
            Decoded::NeedMore => None,
        })
    };
    decoded.map_err(|e| TransportError::new(TransportErrorKind::Io, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_default_ports_and_refuse_https_without_tls() {
        let uri = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(
            target(&uri("http://127.0.0.1/x"), false).unwrap(),
            ("127.0.0.1".to_owned(), 80)
        );
        assert_eq!(
            target(&uri("http://[::1]:3000/x"), false).unwrap(),
            ("::1".to_owned(), 3000)
        );
        assert_eq!(
            target(&uri("https://example.com/x"), true).unwrap(),
            ("example.com".to_owned(), 443)
        );
        let refused = target(&uri("https://example.com/x"), false).unwrap_err();
        assert_eq!(refused.kind(), TransportErrorKind::Tls);
        assert!(
            refused.detail().contains("connect a TLS stream"),
            "{refused}"
        );
    }

    #[test]
    fn the_request_asks_the_server_to_close() {
        let request = Request::post("http://127.0.0.1:3000/t")
            .body(b"a=b".to_vec())
            .unwrap();
        let bytes = request_bytes(&request).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("POST /t HTTP/1.1\r\n"), "{text}");
        assert!(
            text.contains("connection: close\r\n") || text.contains("Connection: close\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\na=b"), "{text}");
    }

    #[test]
    fn reads_become_a_response_and_a_close_finishes_one() {
        let mut d = decoder(1024);
        assert!(
            on_read(&mut d, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{")
                .unwrap()
                .is_none()
        );
        let response = on_read(&mut d, b"}").unwrap().expect("whole");
        assert_eq!(response.body(), b"{}");
        let mut d = decoder(1024);
        assert!(on_read(&mut d, b"HTTP/1.1 200 OK\r\n\r\nabc")
            .unwrap()
            .is_none());
        assert_eq!(
            on_read(&mut d, b"").unwrap().expect("closed").body(),
            b"abc"
        );
        let mut d = decoder(2);
        let too_long = on_read(&mut d, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcde");
        assert!(too_long.is_err());
    }
}
