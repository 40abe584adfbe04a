//! Against a real Doorkeeper, the server software behind SEEK Pass. `.ci/run` starts two
//! (`interop/doorkeeper/server.sh`): `DOORKEEPER_URL` with two-hour tokens and
//! `DOORKEEPER_SHORT_URL` with 20-second tokens, and builds the `seekpass-token` example
//! (`SEEKPASS_TOKEN_BIN`). In CI a missing server fails these tests; elsewhere they say they
//! were skipped.

#[path = "../examples/common/blocking.rs"]
mod blocking;

use std::process::Command;
use std::time::{Duration, Instant};

use blocking::BlockingDriver;
use seekpass_oauth::http::Request;
use seekpass_oauth::{
    ClientAuth, Config, Credentials, Endpoint, ErrorCode, FailureClass, Origin, Scopes, Token,
    TokenClient,
};

const SPECIAL_SECRET: &str = "s+e/c=r:e%t &x";

/// The server's base URL, or `None` (after saying so) outside CI.
fn server(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{var} is not set: .ci/run must start the Doorkeeper server")
        }
        _ => {
            eprintln!("SKIPPED: {var} is not set; run `bash .ci/run` or see README (interop)");
            None
        }
    }
}

fn driver(base: &str, id: &str, secret: &str, auth: ClientAuth, scopes: &str) -> BlockingDriver {
    let config = Config::builder(
        Endpoint::base_url(base).unwrap(),
        Credentials::new(id, secret),
    )
    .scopes(Scopes::parse(scopes).unwrap().iter().cloned())
    .client_auth(auth)
    .build()
    .unwrap();
    let start = Instant::now();
    let origin = Origin::new(start);
    BlockingDriver::new(TokenClient::new(config, origin.time(start)), origin, 3)
}

fn fetch(
    base: &str,
    id: &str,
    secret: &str,
    auth: ClientAuth,
    scopes: &str,
) -> Result<Token, (FailureClass, Option<ErrorCode>)> {
    driver(base, id, secret, auth, scopes)
        .token()
        .map_err(|g| (g.class, g.error.code().cloned()))
}

/// `GET /api/partner/v1/oauth/token/info` with the token's header: the status and the body.
fn token_info(base: &str, token: &Token) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let request = Request::get(format!("{base}/api/partner/v1/oauth/token/info"))
        .header("authorization", token.authorization().clone())
        .body(())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

#[test]
fn tokens_for_one_three_and_no_scopes() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
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
fn every_client_authentication_and_which_doorkeeper_accepts_for_special_characters() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
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
fn wrong_secret_and_unknown_scope_are_permanent() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
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
fn the_token_works_at_the_api() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
    let token = fetch(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        "write.education write.microcredential",
    )
    .unwrap();
    let (status, body) = token_info(&base, &token);
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["scope"],
        serde_json::json!(["write.education", "write.microcredential"])
    );
}

#[test]
fn twenty_second_tokens_are_refreshed_before_the_api_sees_them_expire() {
    let Some(base) = server("DOORKEEPER_SHORT_URL") else {
        return;
    };
    let mut d = driver(
        &base,
        "demo-client",
        "demo-secret",
        ClientAuth::SecretPost,
        "write.education",
    );
    let end = Instant::now() + Duration::from_secs(45);
    let mut seen = std::collections::BTreeSet::new();
    while Instant::now() < end {
        let token = d.token().unwrap();
        let (status, body) = token_info(&base, &token);
        assert_eq!(
            status,
            200,
            "the API saw an expired token ({}): {body}",
            token.id()
        );
        seen.insert(token.id());
        d.drive_for(Duration::from_millis(500)).unwrap();
    }
    assert!(
        seen.len() >= 3,
        "only {} tokens in 45 s of 20 s tokens",
        seen.len()
    );
}

fn cli(base: &str, secret: &str, args: &[&str]) -> Option<(i32, serde_json::Value)> {
    example("SEEKPASS_TOKEN_BIN", base, secret, args)
}

/// Runs the example binary named by `var` with the guide's variables and `args`; its exit
/// code and its one line of JSON.
fn example(var: &str, base: &str, secret: &str, args: &[&str]) -> Option<(i32, serde_json::Value)> {
    let bin = match std::env::var(var) {
        Ok(b) => b,
        Err(_) if std::env::var_os("CI").is_some() => panic!("{var} is not set"),
        Err(_) => {
            eprintln!("SKIPPED: {var} is not set");
            return None;
        }
    };
    let out = Command::new(bin)
        .args(args)
        .env("SEEK_PASS_URL", base)
        .env("CLIENT_ID", "demo-client")
        .env("CLIENT_SECRET", secret)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "exactly one JSON line: {stdout:?}"
    );
    Some((
        out.status.code().unwrap(),
        serde_json::from_str(&stdout).unwrap(),
    ))
}

#[test]
fn seekpass_token_json_against_doorkeeper() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
    let Some((code, ok)) = cli(
        &base,
        "demo-secret",
        &["--json", "--scope", "write.education"],
    ) else {
        return;
    };
    assert_eq!(code, 0, "{ok}");
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 7200);
    assert_eq!(ok["scope"], "write.education");
    assert_eq!(ok["state"], "fresh");
    assert!(ok["created_at"].is_u64());

    let (code, bad) = cli(&base, "wrong", &["--json"]).unwrap();
    assert_eq!(code, 2, "{bad}");
    assert_eq!(bad["ok"], false);
    assert_eq!(bad["class"], "permanent");
    assert_eq!(bad["status"], 401);
    assert_eq!(bad["error"], "invalid_client");

    let (code, scope) = cli(&base, "demo-secret", &["--json", "--scope", "write.bogus"]).unwrap();
    assert_eq!(code, 2);
    assert_eq!(scope["error"], "invalid_scope");
}

#[test]
fn seekpass_token_transient_failures_exit_3() {
    // Nothing listens on this port: every attempt is a connect failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let Some((code, out)) = cli(&base, "demo-secret", &["--json", "--max-attempts", "2"]) else {
        return;
    };
    assert_eq!(code, 3, "{out}");
    assert_eq!(out["class"], "transient");
    assert_eq!(out["status"], serde_json::Value::Null);
}

/// Each driver example: a token with the scopes asked for, and a permanent failure with its code.
#[test]
fn every_driver_against_doorkeeper() {
    let Some(base) = server("DOORKEEPER_URL") else {
        return;
    };
    let drivers = [
        (
            "BLOCKING_RAW_BIN",
            "write.education write.digital_identity",
            ("wrong", "--auth", "basic-raw"),
            "invalid_client",
        ),
        (
            "TOKIO_REQWEST_BIN",
            "write.education",
            ("wrong", "--auth", "post"),
            "invalid_client",
        ),
        (
            "ASYNC_STD_BIN",
            "write.english_proficiency",
            ("demo-secret", "--scope", "write.bogus"),
            "invalid_scope",
        ),
    ];
    for (var, scope, (secret, flag, value), code) in drivers {
        let Some((exit, ok)) = example(var, &base, "demo-secret", &["--json", "--scope", scope])
        else {
            return;
        };
        assert_eq!(exit, 0, "{var}: {ok}");
        assert_eq!(ok["scope"], scope, "{var}");
        assert_eq!(ok["expires_in"], 7200, "{var}");
        let (exit, bad) = example(var, &base, secret, &["--json", flag, value]).unwrap();
        assert_eq!(
            (exit, bad["error"].as_str()),
            (2, Some(code)),
            "{var}: {bad}"
        );
    }
}
