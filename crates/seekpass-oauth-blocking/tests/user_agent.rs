//! Every token request names the crate in `User-Agent`, after the partner's own product when one
//! is configured, through each sender.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::USER_AGENT_PRODUCT;
use seekpass_oauth_blocking::{Sender, TokenSource, UreqSender, WireSender};
use seekpass_oauth_testkit::net::{the_user_agent, token_server_config};

/// The `User-Agent` a token request through `sender` carried.
fn sent_by<S: Sender + 'static>(sender: S, product: Option<&str>) -> Option<String> {
    let (config, seen) = token_server_config(product);
    let source = TokenSource::builder(config).build(sender);
    source.authorization().unwrap();
    the_user_agent(&seen)
}

#[test]
fn each_sender_names_the_crate_and_then_the_partner() {
    let partner = "AcmeSIS/4.2 (ops@acme.example)";
    let expected = format!("{partner} {USER_AGENT_PRODUCT}");
    assert_eq!(
        sent_by(UreqSender::new(), None).as_deref(),
        Some(USER_AGENT_PRODUCT)
    );
    assert_eq!(
        sent_by(UreqSender::new(), Some(partner)),
        Some(expected.clone())
    );
    assert_eq!(
        sent_by(WireSender::plain_tcp(), None).as_deref(),
        Some(USER_AGENT_PRODUCT)
    );
    assert_eq!(
        sent_by(WireSender::plain_tcp(), Some(partner)),
        Some(expected)
    );
    assert_eq!(
        USER_AGENT_PRODUCT,
        concat!("seekpass-oauth/", env!("CARGO_PKG_VERSION"))
    );
}
