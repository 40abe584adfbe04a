//! Every token request names the crate in `User-Agent`, after the partner's own product when one
//! is configured, through each sender and runtime.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::USER_AGENT_PRODUCT;
use seekpass_oauth_async::{ReqwestSender, TokenSource, WireSender};
use seekpass_oauth_testkit::net::{the_user_agent, token_server_config};

const PARTNER: &str = "AcmeSIS/4.2 (ops@acme.example)";

fn expected(partner: bool) -> String {
    if partner {
        format!("{PARTNER} {USER_AGENT_PRODUCT}")
    } else {
        USER_AGENT_PRODUCT.to_owned()
    }
}

#[tokio::test]
async fn reqwest_on_tokio_names_the_crate_and_then_the_partner() {
    for partner in [false, true] {
        let (config, seen) = token_server_config(partner.then_some(PARTNER));
        let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
        source.authorization().await.unwrap();
        assert_eq!(the_user_agent(&seen), Some(expected(partner)));
    }
}

#[test]
fn the_wire_sender_on_smol_names_the_crate_and_then_the_partner() {
    for partner in [false, true] {
        let (config, seen) = token_server_config(partner.then_some(PARTNER));
        let (source, driver) = TokenSource::builder(config).build_smol(WireSender::plain_tcp());
        let driver = std::thread::spawn(move || async_io::block_on(driver));
        async_io::block_on(source.authorization()).unwrap();
        drop(source);
        driver.join().unwrap();
        assert_eq!(the_user_agent(&seen), Some(expected(partner)));
    }
}
