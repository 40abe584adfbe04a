//! The network failures a user meets first each say which they are, through every sender.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::http::Request;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Output, Time, TokenClient, TransportErrorKind,
};
use seekpass_oauth_async::{ReqwestSender, Sender, WireSender};

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

async fn kind(sender: &impl Sender, base: &str) -> (TransportErrorKind, String) {
    let e = sender.send(token_request(base), 1024).await.unwrap_err();
    (e.kind(), e.to_string())
}

fn closed_port() -> String {
    format!(
        "http://127.0.0.1:{}",
        seekpass_oauth_testkit::net::closed_port()
    )
}

#[tokio::test]
async fn reqwest_names_dns_and_refused() {
    let sender = ReqwestSender::new().unwrap();
    let (k, text) = kind(&sender, "http://seekpass-test.invalid").await;
    assert_eq!(k, TransportErrorKind::Dns, "{text}");
    assert!(text.contains("does not resolve"), "{text}");
    let (k, text) = kind(&sender, &closed_port()).await;
    assert_eq!(k, TransportErrorKind::ConnectionRefused, "{text}");
}

#[test]
fn the_async_wire_sender_names_dns_and_refused() {
    let sender = WireSender::plain_tcp();
    async_io::block_on(async {
        let (k, text) = kind(&sender, "http://seekpass-test.invalid").await;
        assert_eq!(k, TransportErrorKind::Dns, "{text}");
        let (k, text) = kind(&sender, &closed_port()).await;
        assert_eq!(k, TransportErrorKind::ConnectionRefused, "{text}");
    });
}
