//! The network failures a user meets first each say which they are, through every sender.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::net::TcpListener;
use std::time::{Duration, Instant};

use seekpass_oauth::http::Request;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Output, Time, TokenClient, TransportErrorKind,
};
use seekpass_oauth_blocking::{Sender, UreqSender, WireSender};

/// The machine's own token request for `base`, as a driver would send it.
fn token_request(base: &str) -> Request<seekpass_oauth::RequestBody> {
    let config = Config::builder(Endpoint::staging(), Credentials::new("id", "secret"))
        .build()
        .unwrap();
    let mut machine = TokenClient::new(config, Time::ZERO);
    machine.demand(Time::ZERO);
    let request = match machine.poll(Time::ZERO) {
        Output::Transmit(t) => t.into_parts().1,
        other => panic!("{other:?}"),
    };
    // Sent somewhere else than the configuration allows: the sender is what is under test.
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("{base}/t").parse().unwrap();
    Request::from_parts(parts, body)
}

fn kind(sender: &dyn Sender, base: &str, deadline: Duration) -> (TransportErrorKind, String) {
    let e = sender
        .send(token_request(base), Instant::now() + deadline, 1024)
        .unwrap_err();
    (e.kind(), e.to_string())
}

fn closed_port() -> String {
    format!(
        "http://127.0.0.1:{}",
        seekpass_oauth_testkit::net::closed_port()
    )
}

#[test]
fn dns_refused_and_timeout_are_named_by_every_sender() {
    let senders: [(&str, Box<dyn Sender>); 2] = [
        ("ureq", Box::new(UreqSender::new())),
        ("wire", Box::new(WireSender::plain_tcp())),
    ];
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_base = format!("http://{}", silent.local_addr().unwrap());
    for (name, sender) in &senders {
        let (k, text) = kind(
            sender.as_ref(),
            "http://seekpass-test.invalid",
            Duration::from_secs(5),
        );
        assert_eq!(k, TransportErrorKind::Dns, "{name}: {text}");
        let base = closed_port();
        let (k, text) = kind(sender.as_ref(), &base, Duration::from_secs(5));
        assert_eq!(k, TransportErrorKind::ConnectionRefused, "{name}: {text}");
        // Accepted by the kernel's backlog, never answered.
        let (k, text) = kind(sender.as_ref(), &silent_base, Duration::from_millis(300));
        assert_eq!(k, TransportErrorKind::Timeout, "{name}: {text}");
    }
}

/// An `https` URL given to a connector that speaks plain TCP is a TLS error that says so, at
/// once, not a plain connection to port 443.
#[test]
fn plain_tcp_refuses_https_with_a_tls_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let (k, text) = kind(&WireSender::plain_tcp(), &base, Duration::from_secs(5));
    assert_eq!(k, TransportErrorKind::Tls, "{text}");
    assert!(text.contains("plain http only"), "{text}");
}

/// A TLS handshake with a server that answers in plain HTTP is named a TLS failure by ureq.
#[test]
fn ureq_names_a_failed_handshake_tls() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut hello = [0u8; 512];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let (k, text) = kind(&UreqSender::new(), &base, Duration::from_secs(5));
    assert_eq!(k, TransportErrorKind::Tls, "{text}");
}
