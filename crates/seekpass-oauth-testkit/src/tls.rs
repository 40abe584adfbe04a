//! The network a partner meets behind a corporate proxy, made at test time on loopback: a
//! private CA, an HTTPS front (for `localhost` and `127.0.0.1`, signed by that CA) over the
//! demo server or any plain-http server, and a `CONNECT` proxy that records what it was asked.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A private CA, its PEM written to a file (what `--cacert` and `SSL_CERT_FILE` name).
pub struct PrivateCa {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem_file: PathBuf,
}

impl PrivateCa {
    /// A new CA; its certificate is written under `dir`.
    ///
    /// # Errors
    ///
    /// When the key cannot be made or the file cannot be written.
    pub fn new(dir: &Path) -> io::Result<PrivateCa> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(io::Error::other)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "seekpass-oauth test CA");
        let key = KeyPair::generate().map_err(io::Error::other)?;
        let cert = params.self_signed(&key).map_err(io::Error::other)?;
        std::fs::create_dir_all(dir)?;
        let pem_file = dir.join("ca.pem");
        std::fs::write(&pem_file, cert.pem())?;
        Ok(PrivateCa {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            pem_file,
        })
    }

    /// The file holding the CA certificate (PEM).
    #[must_use]
    pub fn pem_file(&self) -> &Path {
        &self.pem_file
    }

    /// A new key and a certificate for it, for `localhost` and `127.0.0.1`, signed by this CA.
    fn issue_for_localhost(&self) -> io::Result<(Certificate, KeyPair)> {
        let params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(io::Error::other)?;
        let key = KeyPair::generate().map_err(io::Error::other)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(io::Error::other)?;
        Ok((cert, key))
    }

    /// A certificate for `localhost` and `127.0.0.1` signed by this CA, written under `dir` for a
    /// server that reads files (redis-server's `--tls-cert-file` and `--tls-key-file`): the
    /// certificate chain's file and the key's, both PEM.
    ///
    /// # Errors
    ///
    /// When the key cannot be made or the files cannot be written.
    pub fn server_files(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        let (cert, key) = self.issue_for_localhost()?;
        std::fs::create_dir_all(dir)?;
        let (cert_file, key_file) = (dir.join("server.pem"), dir.join("server.key"));
        std::fs::write(&cert_file, cert.pem())?;
        std::fs::write(&key_file, key.serialize_pem())?;
        Ok((cert_file, key_file))
    }

    /// A server configuration for `localhost` and `127.0.0.1`, signed by this CA.
    fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let (cert, key) = self.issue_for_localhost()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), self.der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(io::Error::other)?;
        Ok(Arc::new(config))
    }
}

/// An HTTPS front on a free loopback port, passing each request to a plain-http server.
pub struct HttpsFront {
    addr: SocketAddr,
}

impl HttpsFront {
    /// Terminates TLS with a certificate from `ca` and passes each request to `backend`
    /// (one request per connection; the backend closes after answering, as the demo server
    /// and Doorkeeper do for `Connection: close`).
    ///
    /// # Errors
    ///
    /// When the certificate cannot be made or the port cannot be bound.
    pub fn start(ca: &PrivateCa, backend: SocketAddr) -> io::Result<HttpsFront> {
        let config = ca.server_config()?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let config = Arc::clone(&config);
                std::thread::spawn(move || {
                    let _ = serve_tls(client, &config, backend);
                });
            }
        });
        Ok(HttpsFront { addr })
    }

    /// `https://localhost:PORT`, the base URL a client trusting the CA accepts.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }
}

fn serve_tls(client: TcpStream, config: &Arc<ServerConfig>, backend: SocketAddr) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let connection = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(connection, client);
    let request = read_request(&mut tls)?;
    let mut upstream = TcpStream::connect(backend)?;
    upstream.set_read_timeout(Some(Duration::from_secs(10)))?;
    upstream.write_all(&request)?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    tls.write_all(&response)?;
    tls.conn.send_close_notify();
    tls.flush()?;
    Ok(())
}

/// One whole HTTP request: its head and `Content-Length` bytes of body.
fn read_request(stream: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(head)) = request.parse(&buf) {
            let length = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            if buf.len() >= head + length {
                return Ok(buf);
            }
        }
    }
}

/// What a [`ConnectProxy`] was asked, byte for byte, before each tunnel opened.
#[derive(Clone, Debug, Default)]
pub struct ProxyLog(Arc<Mutex<Vec<String>>>);

impl ProxyLog {
    /// Each request head the proxy read (a `CONNECT`, or anything else a client sent it).
    #[must_use]
    pub fn heads(&self) -> Vec<String> {
        self.0.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

/// A `CONNECT` proxy on a free loopback port, as in the corporate networks partners work
/// from: it opens a tunnel to the requested host and port and copies bytes both ways, so it
/// sees only TLS after its `200`. With `credentials` it answers `407` unless
/// `Proxy-Authorization: Basic` carries them.
pub struct ConnectProxy {
    addr: SocketAddr,
    log: ProxyLog,
}

impl ConnectProxy {
    /// Starts the proxy.
    ///
    /// # Errors
    ///
    /// When the port cannot be bound.
    pub fn start(credentials: Option<&str>) -> io::Result<ConnectProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let log = ProxyLog::default();
        let (shared, expected) = (log.clone(), credentials.map(basic));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (log, expected) = (shared.clone(), expected.clone());
                std::thread::spawn(move || {
                    let _ = tunnel(client, &log, expected.as_deref());
                });
            }
        });
        Ok(ConnectProxy { addr, log })
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY` (add `user:password@` for credentials).
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it was asked.
    #[must_use]
    pub fn log(&self) -> &ProxyLog {
        &self.log
    }
}

fn tunnel(mut client: TcpStream, log: &ProxyLog, expected: Option<&str>) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = read_request(&mut client)?;
    let text = String::from_utf8_lossy(&head).into_owned();
    if let Ok(mut heads) = log.0.lock() {
        heads.push(text.clone());
    }
    let target = text
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split(' ').next())
        .map(str::to_owned);
    let Some(target) = target else {
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    };
    if let Some(expected) = expected {
        let authorized = text.lines().any(|line| {
            line.split_once(':').is_some_and(|(name, value)| {
                name.eq_ignore_ascii_case("proxy-authorization") && value.trim() == expected
            })
        });
        if !authorized {
            return client.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n",
            );
        }
    }
    let Ok(upstream) = TcpStream::connect(target.as_str()) else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    };
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    client.set_read_timeout(None)?;
    let (mut c2, mut u2) = (client.try_clone()?, upstream.try_clone()?);
    let (mut c1, mut u1) = (client, upstream);
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut c1, &mut u1);
        let _ = u1.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut u2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}

/// `Basic base64(user:password)`.
fn basic(credentials: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = credentials.as_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_matches_rfc_7617() {
        assert_eq!(
            super::basic("Aladdin:open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(super::basic("a:b"), "Basic YTpi");
    }
}
