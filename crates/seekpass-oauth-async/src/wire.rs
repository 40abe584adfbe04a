//! Sending with the core's HTTP/1.1 codec over any async byte stream the caller connects:
//! async-std's or smol's `TcpStream`, or a TLS stream of the caller's choice over one.

use std::future::Future;
use std::io;

use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{RequestBody, TransportError, TransportErrorKind};
use seekpass_oauth_driver::{transport, wire};

use crate::Sender;

/// Opens a byte stream to a token URL's host (`futures-io` traits, as async-std, smol and
/// futures-rustls use). One connection per request; the request asks the server to close it.
pub trait Connect: Send + Sync + 'static {
    /// The stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;
    /// Connects to `host:port` (taken from the token URL).
    fn connect(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Whether the stream carries TLS (so `https` URLs are reachable).
    fn tls(&self) -> bool;
}

/// Plain TCP on async-io (smol's and async-std's reactor), for `http` URLs.
#[cfg(feature = "smol")]
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainTcp;

#[cfg(feature = "smol")]
impl Connect for PlainTcp {
    type Stream = async_io::Async<std::net::TcpStream>;

    async fn connect(&self, host: &str, port: u16) -> io::Result<Self::Stream> {
        use std::net::ToSocketAddrs;
        let address = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
        })?;
        async_io::Async::<std::net::TcpStream>::connect(address).await
    }

    fn tls(&self) -> bool {
        false
    }
}

/// Sends with the core's wire codec over the streams `C` connects.
#[derive(Clone, Debug, Default)]
pub struct WireSender<C> {
    connect: C,
}

impl<C: Connect> WireSender<C> {
    /// Over the streams `connect` opens.
    #[must_use]
    pub fn new(connect: C) -> WireSender<C> {
        WireSender { connect }
    }
}

#[cfg(feature = "smol")]
impl WireSender<PlainTcp> {
    /// Over plain TCP on async-io: `http` URLs only.
    #[must_use]
    pub fn plain_tcp() -> WireSender<PlainTcp> {
        WireSender { connect: PlainTcp }
    }
}

impl<C: Connect> Sender for WireSender<C> {
    async fn send(
        &self,
        request: Request<RequestBody>,
        max_body: usize,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let (host, port) = wire::target(request.uri(), self.connect.tls())?;
        let bytes = wire::request_bytes(&request)?;
        drop(request);
        let mut stream = self.connect.connect(&host, port).await.map_err(|e| {
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
        stream.write_all(&bytes).await.map_err(io)?;
        stream.flush().await.map_err(io)?;
        let mut decoder = wire::decoder(max_body);
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.map_err(io)?;
            if let Some(response) = wire::on_read(&mut decoder, buf.get(..n).unwrap_or_default())? {
                return Ok(response);
            }
        }
    }
}
