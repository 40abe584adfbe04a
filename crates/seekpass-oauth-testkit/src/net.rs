//! Loopback addresses for network failures: a port nobody listens on, a server that accepts
//! connections and never answers, one that records the `Authorization` each request carried, and
//! a token endpoint that records each request's head.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use seekpass_oauth::{Config, Credentials, Endpoint};

/// A loopback port nobody listens on (bound, read and released): connecting is refused.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address").port()
}

/// `http://127.0.0.1:PORT` of a server that accepts every connection, holds it open and never
/// answers: a request to it meets only its deadline. The server lives as long as the process.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    base
}

/// One request's header fields as received: names in lower case, values trimmed, in order.
pub type Head = Vec<(String, String)>;

/// The value of `name` (lower case) in `head`, if it was sent.
#[must_use]
pub fn field<'a>(head: &'a Head, name: &str) -> Option<&'a str> {
    head.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The `User-Agent` of the one request `seen` holds (`None` if it carried none).
///
/// # Panics
///
/// When `seen` holds another number of requests, or a request with two `User-Agent` fields
/// (an HTTP client adding its own).
#[must_use]
pub fn the_user_agent(seen: &Mutex<Vec<Head>>) -> Option<String> {
    let heads = seen.lock().unwrap();
    assert_eq!(heads.len(), 1, "one token request");
    let fields: Vec<&str> = heads
        .iter()
        .flatten()
        .filter(|(name, _)| name == "user-agent")
        .map(|(_, value)| value.as_str())
        .collect();
    assert!(fields.len() <= 1, "{fields:?}");
    fields.first().map(|v| (*v).to_owned())
}

/// `http://127.0.0.1:PORT` of a server that answers every request `204 No Content` and records the
/// `Authorization` value each carried (`None` for none), in order.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn recording_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    serve_recording(
        b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n".to_vec(),
        |head| field(&head, "authorization").map(str::to_owned),
    )
}

/// `http://127.0.0.1:PORT` of a token endpoint (any path) that answers every request with a
/// two-hour bearer token and records each request's head, in order.
///
/// # Panics
///
/// When no loopback port can be bound.
#[must_use]
pub fn token_server() -> (String, Arc<Mutex<Vec<Head>>>) {
    const BODY: &str =
        r#"{"access_token":"recorded-token","token_type":"Bearer","expires_in":7200}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    serve_recording(answer.into_bytes(), |head| head)
}

/// A configuration for a fresh [`token_server`] (client `id`, secret `secret`), with `product`
/// named in its `User-Agent`; the server's record of what it was sent.
///
/// # Panics
///
/// When no loopback port can be bound, or `product` is no RFC 9110 product.
#[must_use]
pub fn token_server_config(product: Option<&str>) -> (Config, Arc<Mutex<Vec<Head>>>) {
    let (base, seen) = token_server();
    let mut config = Config::builder(
        Endpoint::token_url(&format!("{base}/oauth/token")).expect("a loopback URL"),
        Credentials::new("id", "secret"),
    );
    if let Some(product) = product {
        config = config.user_agent_product(product);
    }
    (config.build().expect("a valid configuration"), seen)
}

/// Serves `answer` to every request on a loopback port, keeping what `keep` takes from its head.
fn serve_recording<T: Send + 'static>(
    answer: Vec<u8>,
    keep: impl Fn(Head) -> T + Send + 'static,
) -> (String, Arc<Mutex<Vec<T>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("a second handle"));
            let mut head = Head::new();
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                if let Some((name, value)) = line.split_once(':') {
                    head.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
                line.clear();
            }
            // The body too, so that closing does not reset a connection with unread bytes.
            let length = field(&head, "content-length").and_then(|v| v.parse::<u64>().ok());
            let _ = std::io::copy(
                &mut reader.by_ref().take(length.unwrap_or(0)),
                &mut std::io::sink(),
            );
            record.lock().unwrap().push(keep(head));
            let _ = stream.write_all(&answer);
        }
    });
    (base, seen)
}
