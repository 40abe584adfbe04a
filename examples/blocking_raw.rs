//! The constrained-environment path: `std::net::TcpStream`, the crate's wire codec, and no HTTP
//! client at all. Plain http to loopback only (bring a TLS stream for https).
//!
//! ```text
//! cargo run --example blocking_raw -- --json            # against the embedded demo server
//! SEEK_PASS_URL=http://127.0.0.1:3000 CLIENT_ID=… CLIENT_SECRET=… cargo run --example blocking_raw
//! ```

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use common::blocking::Send;
use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::wire::{encode_request, Connection, Decoded, Limits, ResponseDecoder};
use seekpass_oauth::{TransportError, TransportErrorKind};

fn main() -> ExitCode {
    common::cli::run("blocking_raw", raw_sender)
}

/// One connection per request: connect, write the encoded request, read until the decoder has
/// a whole response (or the server closes).
fn raw_sender(deadline: Duration) -> Send {
    Box::new(move |request, limit| exchange(&request, limit, deadline))
}

fn exchange(
    request: &Request<Vec<u8>>,
    limit: u64,
    deadline: Duration,
) -> Result<Response<Vec<u8>>, TransportError> {
    let io = |kind: TransportErrorKind| {
        move |e: std::io::Error| TransportError::new(kind, e.to_string())
    };
    let uri = request.uri();
    if uri.scheme_str() != Some("http") {
        return Err(TransportError::new(
            TransportErrorKind::Tls,
            "blocking_raw speaks plain http only; use seekpass-token for https",
        ));
    }
    let host = uri
        .host()
        .unwrap_or("127.0.0.1")
        .trim_start_matches('[')
        .trim_end_matches(']');
    let address = (host, uri.port_u16().unwrap_or(80))
        .to_socket_addrs()
        .map_err(io(TransportErrorKind::Connect))?
        .next()
        .ok_or_else(|| {
            TransportError::new(
                TransportErrorKind::Connect,
                format!("{host} has no address"),
            )
        })?;
    let mut stream =
        TcpStream::connect_timeout(&address, deadline).map_err(io(TransportErrorKind::Connect))?;
    stream
        .set_read_timeout(Some(deadline))
        .map_err(io(TransportErrorKind::Io))?;
    let bytes = encode_request(request, Connection::Close)
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))?;
    stream
        .write_all(&bytes)
        .map_err(io(TransportErrorKind::Io))?;

    let limits = Limits {
        max_body: usize::try_from(limit).unwrap_or(usize::MAX),
        ..Limits::default()
    };
    let mut decoder = ResponseDecoder::new(limits);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut
            {
                TransportErrorKind::Timeout
            } else {
                TransportErrorKind::Io
            };
            TransportError::new(kind, e.to_string())
        })?;
        let decoded = if n == 0 {
            decoder.finish().map(|r| Decoded::Complete {
                response: r,
                used: 0,
            })
        } else {
            decoder.feed(&buf[..n])
        };
        match decoded.map_err(|e| TransportError::new(TransportErrorKind::Io, e.to_string()))? {
            Decoded::Complete { response, .. } => return Ok(response),
            Decoded::NeedMore => {}
        }
    }
}
