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
use common::wire_io;
use seekpass_oauth::http::{Request, Response};
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
    let (host, port) = wire_io::plain_http_target(request.uri(), "blocking_raw")?;
    let address = (host.as_str(), port)
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
    stream
        .write_all(&wire_io::request_bytes(request)?)
        .map_err(io(TransportErrorKind::Io))?;
    let mut decoder = wire_io::decoder(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).map_err(|e| {
            let kind = match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    TransportErrorKind::Timeout
                }
                _ => TransportErrorKind::Io,
            };
            TransportError::new(kind, e.to_string())
        })?;
        if let Some(response) = wire_io::on_read(&mut decoder, &buf[..n])? {
            return Ok(response);
        }
    }
}
