//! A loopback token endpoint that answers like the SEEK Pass one (Rails + Doorkeeper) as measured
//! in the project's Doorkeeper captures: chunked JSON with `created_at`, 401 `invalid_client`,
//! 400 `invalid_scope` and `unsupported_grant_type`, `WWW-Authenticate` on every error; the API
//! side too: `GET …/oauth/token/info` (200, or 401 `invalid_token`) and RFC 7009 revocation at
//! `POST …/oauth/revoke`. For demos and tests only: plain http on 127.0.0.1, in-memory tokens.
//!
//! ```
//! let server = seekpass_oauth_demo::DemoServer::start(std::time::Duration::from_secs(30))?;
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! assert_eq!(server.token_requests(), 0);
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The demo client's id.
pub const CLIENT_ID: &str = "demo-client";
/// The demo client's secret.
pub const CLIENT_SECRET: &str = "demo-secret";
const SCOPES: [&str; 5] = [
    "write.education",
    "write.english_proficiency",
    "write.microcredential",
    "write.digital_identity",
    "read.digital_identity",
];

/// A running demo server; it stops with the process.
pub struct DemoServer {
    addr: SocketAddr,
    issued: Arc<Issued>,
    requests: Arc<AtomicUsize>,
}

impl DemoServer {
    /// Starts on a free loopback port, issuing tokens of `lifetime`.
    pub fn start(lifetime: Duration) -> std::io::Result<DemoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let issued = Arc::new(Mutex::new(HashMap::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (state, count) = (Arc::clone(&issued), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, count) = (Arc::clone(&state), Arc::clone(&count));
                std::thread::spawn(move || {
                    let _ = serve(stream, lifetime, &state, &count);
                });
            }
        });
        Ok(DemoServer {
            addr,
            issued,
            requests,
        })
    }

    /// Its address on loopback.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, as `SEEK_PASS_URL` would be.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many token requests it has answered, successful or not.
    pub fn token_requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// How many tokens it has issued and not revoked.
    pub fn issued(&self) -> usize {
        self.issued.lock().map(|m| m.len()).unwrap_or_default()
    }

    /// Revokes every token issued so far, as an administrator would: the API answers 401 for
    /// them from now on, while clients still believe them fresh.
    pub fn revoke_all(&self) {
        if let Ok(mut m) = self.issued.lock() {
            m.clear();
        }
    }

    /// Revokes one token, as an administrator would; returns whether it was live.
    pub fn revoke(&self, token: &str) -> bool {
        self.issued
            .lock()
            .is_ok_and(|mut m| m.remove(token).is_some())
    }
}

type Issued = Mutex<HashMap<String, (Instant, String)>>;

fn serve(
    stream: TcpStream,
    lifetime: Duration,
    issued: &Issued,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if reader.read_until(b'\n', &mut head)? == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    if request.parse(&head).is_err() {
        return respond(stream, 400, "text/html", "", None);
    }
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    let length: usize = header("content-length")
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(64 * 1024)];
    reader.read_exact(&mut body)?;
    let path = request
        .path
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_owned();
    let method = request.method.unwrap_or("GET").to_owned();
    let authorization = header("authorization");
    let form_request =
        header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));

    match (method.as_str(), path.as_str()) {
        ("POST", "/api/partner/v1/oauth/token.json" | "/api/partner/v1/oauth/token") => {
            requests.fetch_add(1, Ordering::SeqCst);
            let (status, json, www) = token(
                &body,
                form_request,
                authorization.as_deref(),
                lifetime,
                issued,
            );
            respond(
                stream,
                status,
                "application/json; charset=utf-8",
                &json,
                www,
            )
        }
        ("POST", "/api/partner/v1/oauth/revoke") => {
            // RFC 7009 §2.2: 200 whether or not the token was known.
            let form: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            if let (Some(token), Ok(mut m)) = (form.get("token"), issued.lock()) {
                m.remove(token);
            }
            respond(stream, 200, "application/json; charset=utf-8", "{}", None)
        }
        ("GET", "/api/partner/v1/oauth/token/info") => {
            let bearer = authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or("");
            let found = issued.lock().ok().and_then(|m| m.get(bearer).cloned());
            match found {
                Some((at, scope)) if at.elapsed() < lifetime => {
                    let left = lifetime.saturating_sub(at.elapsed()).as_secs();
                    let scopes: Vec<String> = scope
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(|s| format!("\"{s}\""))
                        .collect();
                    let json = format!(
                        r#"{{"resource_owner_id":null,"scope":[{}],"expires_in":{left},"application":{{"uid":"{CLIENT_ID}"}},"created_at":{}}}"#,
                        scopes.join(","),
                        unix_now()
                    );
                    respond(stream, 200, "application/json; charset=utf-8", &json, None)
                }
                _ => {
                    let www = r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#;
                    let json = r#"{"error":"invalid_token","error_description":"The access token is invalid"}"#;
                    respond(
                        stream,
                        401,
                        "application/json; charset=utf-8",
                        json,
                        Some(www.to_owned()),
                    )
                }
            }
        }
        _ => respond(stream, 404, "text/html; charset=UTF-8", "", None),
    }
}

/// The token endpoint's decision, as Doorkeeper 5.5 makes it.
fn token(
    body: &[u8],
    form_request: bool,
    authorization: Option<&str>,
    lifetime: Duration,
    issued: &Issued,
) -> (u16, String, Option<String>) {
    let error = |status: u16, code: &str, description: &str| {
        let www = format!(
            r#"Bearer realm="Doorkeeper", error="{code}", error_description="{description}""#
        );
        (
            status,
            format!(r#"{{"error":"{code}","error_description":"{description}"}}"#),
            Some(www),
        )
    };
    let form: HashMap<String, String> = if form_request {
        form_urlencoded::parse(body).into_owned().collect()
    } else {
        HashMap::new()
    };
    match form.get("grant_type").map(String::as_str) {
        None => {
            return error(
                400,
                "invalid_request",
                "Missing required parameter: grant_type.",
            )
        }
        Some("client_credentials") => {}
        Some(_) => {
            return error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        }
    }
    // Basic wins over the body, and is not percent-decoded (REFERENCE §2).
    let basic = authorization
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| base64_decode(b.trim()))
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(i, p)| (i.to_owned(), p.to_owned())));
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return error(401, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.");
    }
    let mut granted: Vec<&str> = Vec::new();
    for scope in form
        .get("scope")
        .map(String::as_str)
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        if !SCOPES.contains(&scope) {
            return error(
                400,
                "invalid_scope",
                "The requested scope is invalid, unknown, or malformed.",
            );
        }
        if !granted.contains(&scope) {
            granted.push(scope);
        }
    }
    let token = new_token();
    let scope = granted.join(" ");
    if let Ok(mut m) = issued.lock() {
        m.insert(token.clone(), (Instant::now(), scope.clone()));
    }
    let scope_field = if scope.is_empty() {
        String::new()
    } else {
        format!(r#","scope":"{scope}""#)
    };
    let json = format!(
        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{}{scope_field},"created_at":{}}}"#,
        lifetime.as_secs(),
        unix_now()
    );
    (200, json, None)
}

/// Doorkeeper's response shape: chunked, no Content-Length, no Date.
fn respond(
    mut stream: TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
    www: Option<String>,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nCache-Control: no-store\r\nPragma: no-cache\r\nContent-Type: {content_type}\r\n");
    if let Some(www) = www {
        head.push_str(&format!("WWW-Authenticate: {www}\r\n"));
    }
    let mut out = head.into_bytes();
    if body.is_empty() {
        out.extend_from_slice(b"Content-Length: 0\r\nConnection: close\r\n\r\n");
    } else {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        out.extend_from_slice(format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).as_bytes());
    }
    stream.write_all(&out)?;
    stream.flush()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// 43 base64url characters, like Doorkeeper's tokens (not secure randomness: a demo).
fn new_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    (0..43)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET
                .get((x & 63) as usize)
                .map_or('A', |b| char::from(*b))
        })
        .collect()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut bits, mut n, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes().filter(|c| *c != b'=') {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c)? as u32;
        n = n.saturating_add(6);
        if n >= 8 {
            n = n.saturating_sub(8);
            out.push((bits >> n) as u8);
        }
    }
    Some(out)
}
