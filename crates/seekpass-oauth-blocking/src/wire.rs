//! Sending with the core's HTTP/1.1 codec over any `Read + Write` the caller connects: no HTTP
//! client at all, for constrained builds or a TLS stream of the caller's choice.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};
use seekpass_oauth_driver::{transport, wire};

use crate::Sender;

/// Opens a byte stream to a token URL's host. One connection per request; the request asks
/// the server to close it after answering.
pub trait Connect: Send + Sync + 'static {
    /// The stream: a `TcpStream`, or a TLS stream over one.
    type Stream: Read + Write;
    /// Connects to `host:port` (taken from the token URL), giving up at `deadline`.
    fn connect(&self, host: &str, port: u16, deadline: Instant) -> io::Result<Self::Stream>;
    /// Whether the stream carries TLS (so `https` URLs are reachable).
    fn tls(&self) -> bool;
}

/// Plain TCP, for `http` URLs (the local Doorkeeper, the demo server).
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainTcp;

impl Connect for PlainTcp {
    type Stream = TcpStream;

    fn connect(&self, host: &str, port: u16, deadline: Instant) -> io::Result<TcpStream> {
        let address = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
        })?;
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(std::time::Duration::from_millis(1));
        let stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(stream)
    }

    fn tls(&self) -> bool {
        false
    }
}

/// Sends with the core's wire codec over the streams `C` connects.
#[derive(Clone, Debug, Default)]
pub struct WireSender<C = PlainTcp> {
    connect: C,
}

impl WireSender<PlainTcp> {
    /// Over plain TCP: `http` URLs only.
    #[must_use]
    pub fn plain_tcp() -> WireSender<PlainTcp> {
        WireSender { connect: PlainTcp }
    }
}

impl<C: Connect> WireSender<C> {
    /// Over the streams `connect` opens.
    #[must_use]
    pub fn new(connect: C) -> WireSender<C> {
        WireSender { connect }
    }
}

impl<C: Connect> Sender for WireSender<C> {
    fn send(
        &self,
        request: Request<RequestBody>,
        deadline: Instant,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let (host, port) = wire::target(request.uri(), self.connect.tls())?;
        let mut stream = self.connect.connect(&host, port, deadline).map_err(|e| {
            TransportError::new(
                transport::io_kind(&e, TransportErrorKind::Connect),
                e.to_string(),
            )
        })?;
        let io = |e: io::Error| {
            TransportError::new(
                transport::io_kind(&e, TransportErrorKind::Io),
                e.to_string(),
            )
        };
        stream
            .write_all(&wire::request_bytes(&request)?)
            .map_err(io)?;
        stream.flush().map_err(io)?;
        let mut decoder = wire::decoder(max_body);
        let mut buf = [0u8; 4096];
        loop {
            if Instant::now() >= deadline {
                return Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    "no answer by the request deadline",
                ));
            }
            let n = stream.read(&mut buf).map_err(io)?;
            if let Some(response) = wire::on_read(&mut decoder, buf.get(..n).unwrap_or_default())? {
                return Ok(response);
            }
        }
    }
}
