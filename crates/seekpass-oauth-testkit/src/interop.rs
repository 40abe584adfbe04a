//! Helpers for tests against a real Doorkeeper (`interop/doorkeeper/server.sh`), the shared
//! Redis (`interop/redis/server.sh`, `REDIS_URL`) and the demo server: where the server is, and
//! the API side — `token/info` and revocation — spoken with plain HTTP/1.0 over a `TcpStream`,
//! so they share no code with the clients they check. A Redis of a test's own is
//! [`crate::redis`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The base URL in the variable `var`, for a test marked `#[ignore = "needs …"]` that
/// `.ci/run` runs with `--include-ignored` after starting its server. A test never passes
/// without its server: a missing variable is a failure that says how to start it.
///
/// # Panics
///
/// When `var` is unset or empty.
#[must_use]
pub fn server_url(var: &str) -> String {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{var} is not set: start its server with the script under interop/ \
             (`bash .ci/run` does, and sets it)"
        ),
    }
}

/// The secret of the clients `issuing-1` to `issuing-12` (`interop/doorkeeper/app/seeds.rb`): one
/// per test against a Doorkeeper started with `ISSUING=reuse` or `revoke`, so parallel tests
/// do not revoke each other's tokens.
pub const ISSUING_SECRET: &str = "issuing-secret";

/// A configuration for the seeded client `client_id` (one of `issuing-1` to `issuing-12`) at
/// `base`, asking for `write.education`.
///
/// # Panics
///
/// When `base` is no base URL.
#[must_use]
pub fn issuing_config(base: &str, client_id: &str) -> seekpass_oauth::Config {
    seekpass_oauth::Config::builder(
        seekpass_oauth::Endpoint::base_url(base).expect("a base URL"),
        seekpass_oauth::Credentials::new(client_id, ISSUING_SECRET),
    )
    .scope(seekpass_oauth::Scope::WRITE_EDUCATION)
    .build()
    .expect("a valid configuration")
}

/// How many applications `interop/doorkeeper/app/seeds.rb` seeds for the pool test: `pool-1` to
/// `pool-200`, each with its own secret.
pub const POOL_APPLICATIONS: u32 = 200;

/// The client id and secret of the seeded pool application `n` (1 to [`POOL_APPLICATIONS`]).
#[must_use]
pub fn pool_credentials(n: u32) -> (String, String) {
    (format!("pool-{n}"), format!("pool-secret-{n}"))
}

/// A configuration for the seeded pool application `n` at `base`, asking for `write.education`;
/// with `share`, its token is shared through a store under keys starting with that prefix.
///
/// # Panics
///
/// When `base` is no base URL.
#[must_use]
pub fn pool_config(base: &str, n: u32, share: Option<&str>) -> seekpass_oauth::Config {
    let (id, secret) = pool_credentials(n);
    let builder = seekpass_oauth::Config::builder(
        seekpass_oauth::Endpoint::base_url(base).expect("a base URL"),
        seekpass_oauth::Credentials::new(id, secret),
    )
    .scope(seekpass_oauth::Scope::WRITE_EDUCATION);
    match share {
        Some(prefix) => builder.share(seekpass_oauth::Share::new().prefix(prefix)),
        None => builder,
    }
    .build()
    .expect("a valid configuration")
}

/// `GET {base}/api/partner/v1/oauth/token/info` with `authorization` (`Bearer …`): the
/// status and the body. 200 for a live token, 401 for a revoked or expired one.
///
/// # Errors
///
/// When the server cannot be reached.
pub fn token_info(base: &str, authorization: &[u8]) -> std::io::Result<(u16, String)> {
    let mut head = b"GET /api/partner/v1/oauth/token/info HTTP/1.0\r\nAuthorization: ".to_vec();
    head.extend_from_slice(authorization);
    head.extend_from_slice(b"\r\n");
    exchange(base, &head, b"")
}

/// RFC 7009 revocation: `POST {base}/api/partner/v1/oauth/revoke` with `token` and the client's
/// credentials in the form. The status (200 whether or not the token was known).
///
/// # Errors
///
/// When the server cannot be reached.
pub fn revoke(
    base: &str,
    token: &str,
    client_id: &str,
    client_secret: &str,
) -> std::io::Result<u16> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret)
        .finish();
    let head = format!(
        "POST /api/partner/v1/oauth/revoke HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    exchange(base, head.as_bytes(), body.as_bytes()).map(|(status, _)| status)
}

/// When each token of the application `client_id` was issued, in milliseconds since the Unix
/// epoch: its rows in Doorkeeper's `oauth_access_tokens` table, through the interop app's
/// `GET /interop/issued/{client_id}` (`interop/doorkeeper/app/routes.rb`).
///
/// # Errors
///
/// When the server cannot be reached or answers something else than a list of numbers.
pub fn issued(base: &str, client_id: &str) -> std::io::Result<Vec<u64>> {
    let head = format!("GET /interop/issued/{client_id} HTTP/1.0\r\n");
    let (status, body) = exchange(base, head.as_bytes(), b"")?;
    if status != 200 {
        return Err(std::io::Error::other(format!("{status}: {body}")));
    }
    body.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.trim().parse().map_err(std::io::Error::other))
        .collect()
}

/// Changes the secret of the application `client_id` to `secret`, as an administrator does,
/// through the interop app's `PUT /interop/secret/{client_id}` (`interop/doorkeeper/app/routes.rb`):
/// from now on Doorkeeper accepts only `secret`; tokens already issued stay valid.
///
/// # Errors
///
/// When the server cannot be reached or does not know the application.
pub fn change_secret(base: &str, client_id: &str, secret: &str) -> std::io::Result<()> {
    let head = format!(
        "PUT /interop/secret/{client_id} HTTP/1.0\r\nContent-Length: {}\r\n",
        secret.len()
    );
    match exchange(base, head.as_bytes(), secret.as_bytes())? {
        (204, _) => Ok(()),
        (status, body) => Err(std::io::Error::other(format!("{status}: {body}"))),
    }
}

/// One HTTP/1.0 exchange with a plain-http `base`: the status and the body.
fn exchange(base: &str, head: &[u8], body: &[u8]) -> std::io::Result<(u16, String)> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("{base}: plain http only")))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = head.to_vec();
    request.extend_from_slice(format!("Host: {authority}\r\n\r\n").as_bytes());
    request.extend_from_slice(body);
    stream.write_all(&request)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}
