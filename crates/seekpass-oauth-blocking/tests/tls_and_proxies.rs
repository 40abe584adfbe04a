//! Where curl works, the blocking driver works: a private CA, an HTTPS token endpoint signed by
//! it and a CONNECT proxy, made at test time on loopback. One test, alone in its binary,
//! because it sets the process's environment (`SSL_CERT_FILE`, `HTTPS_PROXY`, `NO_PROXY`).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::path::PathBuf;
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, FailureClass, TransportErrorKind};
use seekpass_oauth_blocking::{Error, TokenSource, UreqSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::env::trust_and_proxy_variables;
use seekpass_oauth_testkit::tls::{ConnectProxy, HttpsFront, PrivateCa};

fn fetch(base: &str, sender: UreqSender) -> Result<(), Error> {
    let config = Config::builder(
        Endpoint::base_url(base).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap();
    TokenSource::builder(config)
        .max_attempts(1)
        .build(sender)
        .authorization()
        .map(drop)
}

fn clear_environment() {
    for var in trust_and_proxy_variables() {
        std::env::remove_var(var);
    }
}

#[test]
fn trust_and_proxies_as_curl_has_them() {
    clear_environment();
    let dir = std::env::temp_dir().join(format!("seekpass-blocking-tls-{}", std::process::id()));
    let demo = DemoServer::start(Duration::from_secs(60)).unwrap();
    let ca = PrivateCa::new(&dir).unwrap();
    let front = HttpsFront::start(&ca, demo.addr()).unwrap();
    let base = front.base_url();
    let ca_file = ca.pem_file().to_owned();

    // Untrusted: permanent, and the message says how to trust the CA.
    match fetch(&base, UreqSender::new()).unwrap_err() {
        Error::GaveUp { class, error, .. } => {
            assert_eq!(class, FailureClass::Permanent);
            let text = error.to_string();
            assert!(
                text.contains("not trusted") && text.contains("SSL_CERT_FILE"),
                "{text}"
            );
            match *error {
                seekpass_oauth::TokenError::Transport(ref t) => {
                    assert_eq!(t.kind(), TransportErrorKind::Certificate)
                }
                ref other => panic!("{other:?}"),
            }
        }
        other => panic!("{other}"),
    }
    // The explicit CA file, then SSL_CERT_FILE.
    fetch(
        &base,
        UreqSender::with_ca_files(std::slice::from_ref(&ca_file)).unwrap(),
    )
    .unwrap();
    assert!(UreqSender::with_ca_files(&[PathBuf::from("/nonexistent/ca.pem")]).is_err());
    std::env::set_var("SSL_CERT_FILE", &ca_file);
    fetch(&base, UreqSender::new()).unwrap();
    std::env::remove_var("SSL_CERT_FILE");

    // Through a CONNECT proxy: the proxy sees the tunnel's target, never the form.
    let proxy = ConnectProxy::start(None).unwrap();
    std::env::set_var("HTTPS_PROXY", proxy.url());
    fetch(
        &base,
        UreqSender::with_ca_files(std::slice::from_ref(&ca_file)).unwrap(),
    )
    .unwrap();
    let heads = proxy.log().heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].starts_with("CONNECT localhost:"), "{heads:?}");
    assert!(!heads[0].contains(CLIENT_SECRET) && !heads[0].contains("grant_type"));
    // A proxy that asks for credentials gets those in its URL, percent-decoded.
    let guarded = ConnectProxy::start(Some("proxy user:pa@ss")).unwrap();
    let with_credentials = guarded
        .url()
        .replace("http://", "http://proxy%20user:pa%40ss@");
    std::env::set_var("HTTPS_PROXY", &with_credentials);
    fetch(
        &base,
        UreqSender::with_ca_files(std::slice::from_ref(&ca_file)).unwrap(),
    )
    .unwrap();
    assert_eq!(guarded.log().heads().len(), 1);
    std::env::set_var("HTTPS_PROXY", proxy.url());
    // NO_PROXY naming the host: straight there.
    std::env::set_var("NO_PROXY", "localhost");
    fetch(&base, UreqSender::with_ca_files(&[ca_file]).unwrap()).unwrap();
    assert_eq!(proxy.log().heads().len(), 1, "the proxy was not used again");
    clear_environment();

    // A proxy that wants credentials and gets none: named as such, from ureq's proxy error.
    let agent = |proxy: &str| {
        ureq::Agent::config_builder()
            .proxy(Some(ureq::Proxy::new(proxy).unwrap()))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent()
    };
    let refused = UreqSender::with_agent(agent(&guarded.url()));
    match fetch(&demo.base_url(), refused).unwrap_err() {
        Error::GaveUp { error, .. } => match *error {
            seekpass_oauth::TokenError::Transport(ref t) => {
                assert_eq!(t.kind(), TransportErrorKind::ProxyAuthRequired, "{t}")
            }
            ref other => panic!("{other:?}"),
        },
        other => panic!("{other}"),
    }
    // `with_agent` sends through the agent given: its proxy is used for plain http too.
    let before = proxy.log().heads().len();
    fetch(
        &demo.base_url(),
        UreqSender::with_agent(agent(&proxy.url())),
    )
    .unwrap();
    assert!(
        proxy.log().heads().len() > before,
        "the agent's proxy was used"
    );
    let _ = std::fs::remove_dir_all(dir);
}
