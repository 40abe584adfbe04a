//! Against a real Doorkeeper, the server software behind SEEK Pass. `.ci/run` starts two
//! (`interop/doorkeeper/server.sh`): `DOORKEEPER_URL` with two-hour tokens and
//! `DOORKEEPER_SHORT_URL` with 20-second tokens. Marked ignored in a plain `cargo test`; `.ci/run`
//! runs them with `--include-ignored`, and a missing server fails them.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{
    ClientAuth, Config, Credentials, Endpoint, ErrorCode, FailureClass, Scopes, Token,
};
use seekpass_oauth_blocking::TokenSource;
use seekpass_oauth_testkit::env::clean_command;
use seekpass_oauth_testkit::interop::{server_url, token_info};

const SPECIAL_SECRET: &str = "s+e/c=r:e%t &x";

fn source(base: &str, id: &str, secret: &str, auth: ClientAuth, scopes: &str) -> TokenSource {
    let config = Config::builder(
        Endpoint::base_url(base).unwrap(),
        Credentials::new(id, secret),
    )
    .scopes(Scopes::parse(scopes).unwrap().iter().cloned())
    .client_auth(auth)
    .build()
    .unwrap();
    TokenSource::builder(config)
        .max_attempts(3)
        .build_with_ureq()
}

fn fetch(
    base: &str,
    id: &str,
    secret: &str,
    auth: ClientAuth,
    scopes: &str,
) -> Result<Token, (FailureClass, Option<ErrorCode>)> {
    source(base, id, secret, auth, scopes)
        .token()
        .map_err(|e| (e.class(), e.token_error().and_then(|t| t.code()).cloned()))
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn tokens_for_one_three_and_no_scopes() {
    let base = server_url("DOORKEEPER_URL");
    let one = fetch(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        "write.education",
    )
    .unwrap();
    assert_eq!(one.scope().to_string(), "write.education");
    assert_eq!(one.lifetime(), Duration::from_secs(7200));
    assert!(one.created_at().is_some());
    let three = "write.microcredential write.education write.digital_identity";
    let t = fetch(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        three,
    )
    .unwrap();
    assert_eq!(
        t.scope().to_string(),
        three,
        "Doorkeeper keeps the requested order"
    );
    let none = fetch(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        "",
    )
    .unwrap();
    assert!(none.scope().is_empty());
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn every_client_authentication_and_which_doorkeeper_accepts_for_special_characters() {
    let base = server_url("DOORKEEPER_URL");
    for auth in [
        ClientAuth::SecretPost,
        ClientAuth::SecretBasic,
        ClientAuth::SecretBasicUnencoded,
    ] {
        assert!(
            fetch(&base, "demo-client", "demo-secret", auth, "write.education").is_ok(),
            "{auth}"
        );
    }
    // Doorkeeper does not percent-decode Basic credentials (REFERENCE §2).
    let special = |auth| {
        fetch(
            &base,
            "special-client",
            SPECIAL_SECRET,
            auth,
            "write.education",
        )
    };
    assert!(special(ClientAuth::SecretPost).is_ok());
    assert!(special(ClientAuth::SecretBasicUnencoded).is_ok());
    assert_eq!(
        special(ClientAuth::SecretBasic).unwrap_err(),
        (FailureClass::Permanent, Some(ErrorCode::InvalidClient))
    );
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn wrong_secret_and_unknown_scope_are_permanent() {
    let base = server_url("DOORKEEPER_URL");
    assert_eq!(
        fetch(
            &base,
            "demo-client",
            "wrong",
            ClientAuth::SecretPost,
            "write.education"
        )
        .unwrap_err(),
        (FailureClass::Permanent, Some(ErrorCode::InvalidClient))
    );
    assert_eq!(
        fetch(
            &base,
            "demo-client",
            "demo-secret",
            ClientAuth::SecretPost,
            "write.bogus"
        )
        .unwrap_err(),
        (FailureClass::Permanent, Some(ErrorCode::InvalidScope))
    );
    assert_eq!(
        fetch(
            &base,
            "special-client",
            SPECIAL_SECRET,
            ClientAuth::SecretPost,
            "write.microcredential"
        )
        .unwrap_err(),
        (FailureClass::Permanent, Some(ErrorCode::InvalidScope)),
        "a scope the client was not given"
    );
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn the_token_works_at_the_api() {
    let base = server_url("DOORKEEPER_URL");
    let token = fetch(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        "write.education write.microcredential",
    )
    .unwrap();
    let (status, body) = token_info(&base, token.authorization().as_bytes()).unwrap();
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["scope"],
        serde_json::json!(["write.education", "write.microcredential"])
    );
}

/// Runs the command with the guide's variables and `args`; its exit code and its one line of
/// JSON.
fn cli(base: &str, secret: &str, args: &[&str]) -> (i32, serde_json::Value) {
    let out = clean_command(
        env!("CARGO_BIN_EXE_seekpass-token"),
        &[
            ("SEEK_PASS_URL", base),
            ("CLIENT_ID", "demo-client"),
            ("CLIENT_SECRET", secret),
        ],
    )
    .args(args)
    .output()
    .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON line: {stdout:?}"
    );
    (
        out.status.code().unwrap(),
        serde_json::from_str(&stdout).unwrap(),
    )
}

#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn seekpass_token_json_against_doorkeeper() {
    let base = server_url("DOORKEEPER_URL");
    let (code, ok) = cli(
        &base,
        "demo-secret",
        &["--json", "--scope", "write.education"],
    );
    assert_eq!(code, 0, "{ok}");
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 7200);
    assert_eq!(ok["scope"], "write.education");
    assert_eq!(ok["state"], "fresh");
    assert!(ok["created_at"].is_u64());

    let (code, bad) = cli(&base, "wrong", &["--json"]);
    assert_eq!(code, 2, "{bad}");
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["class"], "permanent");
    assert_eq!(bad["status"], 401);
    assert_eq!(bad["error"], "invalid_client");

    let (code, scope) = cli(&base, "demo-secret", &["--json", "--scope", "write.bogus"]);
    assert_eq!(code, 2);
    assert_eq!(scope["error"], "invalid_scope");
}

#[test]
fn seekpass_token_transient_failures_exit_3() {
    // Nothing listens on this port: every attempt is a connect failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (code, out) = cli(&base, "demo-secret", &["--json", "--max-attempts", "2"]);
    assert_eq!(code, 3, "{out}");
    assert_eq!(out["class"], "transient");
    assert_eq!(out["status"], serde_json::Value::Null);
}

/// The command's cache against a real Doorkeeper, counted in its `oauth_access_tokens` table:
/// five runs in a row and ten runs started together (each set with a cache directory of its
/// own) cost one token each.
#[test]
#[ignore = "needs DOORKEEPER_URL: a Doorkeeper from interop/doorkeeper/server.sh (bash .ci/run starts it)"]
fn the_cache_costs_one_token_for_runs_in_a_row_and_runs_together() {
    let base = server_url("DOORKEEPER_URL");
    let issued = || {
        seekpass_oauth_testkit::interop::issued(&base, "cache-client")
            .unwrap()
            .len()
    };
    let command = |cache: &std::path::Path| {
        clean_command(
            env!("CARGO_BIN_EXE_seekpass-token"),
            &[
                ("SEEK_PASS_URL", base.as_str()),
                ("CLIENT_ID", "cache-client"),
                ("CLIENT_SECRET", "cache-secret"),
                ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ],
        )
    };
    let before = issued();
    let in_a_row = seekpass_oauth_testkit::secrets::temp_dir();
    for _ in 0..5 {
        let out = command(in_a_row.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    assert_eq!(issued() - before, 1, "five runs in a row");
    let together = seekpass_oauth_testkit::secrets::temp_dir();
    let children: Vec<_> = (0..10)
        .map(|_| {
            command(together.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    assert_eq!(issued() - before, 2, "ten runs together cost one more");
}
