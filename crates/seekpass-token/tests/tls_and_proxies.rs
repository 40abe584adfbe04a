//! Where curl works, the command works: a private CA (as a TLS-inspecting proxy installs), an
//! HTTPS token endpoint signed by it, and a CONNECT proxy, all made at test time on loopback.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::Output;
use std::time::Duration;

use seekpass_oauth_demo::DemoServer;
use seekpass_oauth_testkit::env::clean_command;
use seekpass_oauth_testkit::tls::{ConnectProxy, HttpsFront, PrivateCa};

struct Network {
    _demo: DemoServer,
    ca: PrivateCa,
    front: HttpsFront,
    _dir: std::path::PathBuf,
}

fn network(name: &str) -> Network {
    let dir = std::env::temp_dir().join(format!("seekpass-tls-{name}-{}", std::process::id()));
    let demo = DemoServer::start(Duration::from_secs(60)).unwrap();
    let ca = PrivateCa::new(&dir).unwrap();
    let front = HttpsFront::start(&ca, demo.addr()).unwrap();
    Network {
        _demo: demo,
        ca,
        front,
        _dir: dir,
    }
}

/// The command against `base` with a clean proxy and trust environment plus `env`.
fn run(base: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let credentials = [
        ("SEEK_PASS_URL", base),
        ("CLIENT_ID", "demo-client"),
        ("CLIENT_SECRET", "demo-secret"),
    ];
    let env: Vec<_> = credentials.iter().chain(env).copied().collect();
    clean_command(env!("CARGO_BIN_EXE_seekpass-token"), &env)
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn an_untrusted_certificate_is_permanent_and_says_how_to_trust_the_ca() {
    let net = network("untrusted");
    let out = run(&net.front.base_url(), &["--max-attempts", "3"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("certificate is not trusted"), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    for fix in ["system trust store", "SSL_CERT_FILE", "--cacert"] {
        assert!(stderr.contains(fix), "the fix is named: {stderr}");
    }
    assert_eq!(
        stderr.matches("attempt failed").count(),
        1,
        "not retried like a transient failure: {stderr}"
    );
}

#[test]
fn ssl_cert_file_and_cacert_each_make_the_ca_trusted() {
    let net = network("trusted");
    let ca = net.ca.pem_file().to_str().unwrap();
    let out = run(&net.front.base_url(), &["--json"], &[("SSL_CERT_FILE", ca)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["ok"], true);
    let out = run(&net.front.base_url(), &["--json", "--cacert", ca], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["ok"], true);
    let out = run(
        &net.front.base_url(),
        &["--cacert", "/nonexistent/ca.pem"],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(64),
        "a CA file that does not work is bad usage"
    );
}

#[test]
fn through_a_connect_proxy_the_secret_travels_only_inside_the_tunnel() {
    let net = network("proxy");
    let proxy = ConnectProxy::start(None).unwrap();
    let ca = net.ca.pem_file().to_str().unwrap();
    let out = run(
        &net.front.base_url(),
        &["--json", "--cacert", ca],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let heads = proxy.log().heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].starts_with("CONNECT localhost:"), "{heads:?}");
    for secret in ["demo-secret", "client_secret", "grant_type"] {
        assert!(
            !heads[0].contains(secret),
            "the proxy saw {secret}: {heads:?}"
        );
    }
}

#[test]
fn no_proxy_matching_the_host_goes_direct() {
    let net = network("no-proxy");
    let proxy = ConnectProxy::start(None).unwrap();
    let ca = net.ca.pem_file().to_str().unwrap();
    let out = run(
        &net.front.base_url(),
        &["--json", "--cacert", ca],
        &[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", "localhost")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy.log().heads().is_empty(), "{:?}", proxy.log().heads());
}

#[test]
fn a_proxy_asking_for_credentials_says_so_and_credentials_in_the_url_work() {
    let net = network("proxy-auth");
    let proxy = ConnectProxy::start(Some("user:pass")).unwrap();
    let ca = net.ca.pem_file().to_str().unwrap();
    let out = run(
        &net.front.base_url(),
        &["--cacert", ca],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the proxy asks for credentials"),
        "{stderr}"
    );
    let with_credentials = proxy.url().replace("http://", "http://user:pass@");
    let out = run(
        &net.front.base_url(),
        &["--json", "--cacert", ca],
        &[("HTTPS_PROXY", &with_credentials)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
