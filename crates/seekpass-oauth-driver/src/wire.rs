//! What the wire senders (blocking over `Read + Write`, async over any byte stream) share
//! around the core's wire codec: which URLs a plain socket reaches, the request bytes, and
//! turning each read into progress.

use seekpass_oauth::http::{Request, Response, Uri};
use seekpass_oauth::wire::{encode_request, Connection, Decoded, Limits, ResponseDecoder};
use seekpass_oauth::{TransportError, TransportErrorKind};

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

/// The request's bytes, asking the server to close after answering.
pub fn request_bytes<B: AsRef<[u8]>>(request: &Request<B>) -> Result<Vec<u8>, TransportError> {
    encode_request(request, Connection::Close)
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
