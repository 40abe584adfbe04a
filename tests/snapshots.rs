//! Snapshots of the exact token requests, of every error's message, and of the event traces of
//! the main scenarios. Secrets are replaced by placeholders before anything is snapshotted.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::fmt::Write as _;

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    ClientAuth, Config, ConfigBuilder, ConfigError, Credentials, Endpoint, Event, Output, Scope,
    Scopes, Time, TimingPolicy, TokenClient, TokenState, TransportError, TransportErrorKind,
};
use seekpass_oauth_testkit::scenario::*;

/// Standard base64 decoding, enough to show what a Basic header carries.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn first_request(builder: ConfigBuilder) -> String {
    let mut client = TokenClient::new(builder.build().unwrap(), Time::ZERO);
    client.token(Time::ZERO);
    let Output::Transmit(t) = client.poll(Time::ZERO) else {
        panic!("no request")
    };
    let (_, request) = t.into_parts();
    let mut out = format!("{} {}\n", request.method(), request.uri());
    for (name, value) in request.headers() {
        let mut shown = value.to_str().unwrap().to_owned();
        if let Some(b64) = shown.strip_prefix("Basic ") {
            let raw = String::from_utf8(base64_decode(b64)).unwrap();
            shown = format!("Basic base64({raw}) sensitive={}", value.is_sensitive());
        }
        writeln!(out, "{name}: {shown}").unwrap();
    }
    out.push('\n');
    out.push_str(std::str::from_utf8(request.body()).unwrap());
    let encoded: String = form_encode(SECRET);
    // The crate's version changes with each release; the rest of the header does not.
    out.replace(SECRET, "[client_secret]")
        .replace(&encoded, "[client_secret]")
        .replace(
            seekpass_oauth::USER_AGENT_PRODUCT,
            "seekpass-oauth/[version]",
        )
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn request_post_one_scope() {
    insta::assert_snapshot!(first_request(builder()));
}

#[test]
fn request_post_several_scopes() {
    insta::assert_snapshot!(first_request(builder().scopes([
        Scope::WRITE_MICROCREDENTIAL,
        Scope::WRITE_EDUCATION,
        Scope::WRITE_DIGITAL_IDENTITY
    ])));
}

#[test]
fn request_post_no_scope() {
    let b = Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET));
    insta::assert_snapshot!(first_request(b));
}

#[test]
fn request_basic_encoded() {
    let b = Config::builder(
        Endpoint::production(),
        Credentials::new("client id+1", SECRET),
    )
    .scope(Scope::WRITE_EDUCATION)
    .client_auth(ClientAuth::SecretBasic);
    insta::assert_snapshot!(first_request(b));
}

#[test]
fn request_basic_unencoded() {
    let b = builder().client_auth(ClientAuth::SecretBasicUnencoded);
    insta::assert_snapshot!(first_request(b));
}

#[test]
fn request_extra_params() {
    let b = Config::builder(
        Endpoint::token_url("https://auth.example.com/oauth2/token").unwrap(),
        Credentials::new(CLIENT_ID, SECRET),
    )
    .scope(Scope::READ_DIGITAL_IDENTITY)
    .extra_param("audience", "https://api.example.com/")
    .extra_param("resource", "urn:example:thing");
    insta::assert_snapshot!(first_request(b));
}

/// The error a single answer leads to.
fn error_for(response: Response<Vec<u8>>) -> String {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    s.client.handle_response(id, response, s.now).unwrap();
    s.poll();
    match s.state() {
        TokenState::Failed { error, .. } => error.to_string(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_error_message() {
    let mut out = String::new();
    let statuses: &[(&str, u16, &str)] = &[
        (
            "invalid_client",
            401,
            r#"{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}"#,
        ),
        (
            "invalid_scope",
            400,
            r#"{"error":"invalid_scope","error_description":"The requested scope is invalid, unknown, or malformed."}"#,
        ),
        (
            "unsupported_grant_type",
            400,
            r#"{"error":"unsupported_grant_type","error_description":"The authorization grant type is not supported by the authorization server."}"#,
        ),
        (
            "invalid_request",
            400,
            r#"{"error":"invalid_request","error_description":"Missing required parameter: grant_type."}"#,
        ),
        (
            "unauthorized_client",
            400,
            r#"{"error":"unauthorized_client"}"#,
        ),
        (
            "invalid_grant",
            400,
            r#"{"error":"invalid_grant","error_uri":"https://example.com/help"}"#,
        ),
        (
            "temporarily_unavailable",
            503,
            r#"{"error":"temporarily_unavailable"}"#,
        ),
        (
            "unknown code",
            400,
            r#"{"error":"slow_down","error_description":"easy"}"#,
        ),
        (
            "echoed secret",
            401,
            &format!(
                r#"{{"error":"invalid_client","error_description":"secret {SECRET} is wrong"}}"#
            ),
        ),
        ("404 empty", 404, ""),
        (
            "405 html",
            405,
            "<html><body>Method Not Allowed</body></html>",
        ),
        ("429 empty", 429, ""),
        (
            "500 html",
            500,
            "<html>\r\n<h1>Internal Server Error</h1>\r\n</html>",
        ),
        ("200 html", 200, "<html>Sign in to the Wi-Fi</html>"),
        ("200 no token", 200, r#"{"token_type":"Bearer"}"#),
        (
            "200 mac",
            200,
            r#"{"access_token":"abc","token_type":"mac"}"#,
        ),
        (
            "200 bad token",
            200,
            r#"{"access_token":"a b","token_type":"Bearer"}"#,
        ),
        (
            "200 expired",
            200,
            r#"{"access_token":"abc","expires_in":0}"#,
        ),
        (
            "200 bad expires_in",
            200,
            r#"{"access_token":"abc","expires_in":"soon"}"#,
        ),
        ("200 empty error, no token", 200, r#"{"error":""}"#),
        (
            "invalid_token_reuse",
            400,
            r#"{"error":"invalid_token_reuse"}"#,
        ),
        (
            "200 error",
            200,
            r#"{"error":"invalid_client","access_token":"leaked-token"}"#,
        ),
    ];
    for (label, status, body) in statuses {
        let e = error_for(response(*status, body));
        writeln!(out, "{label}: {e}").unwrap();
    }
    for status in [200, 401] {
        let gzip = Response::builder()
            .status(status)
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 0x08, 0x00])
            .unwrap();
        writeln!(out, "{status} gzip: {}", error_for(gzip)).unwrap();
    }
    let redirect = Response::builder()
        .status(302)
        .header("location", "https://login.example.com/")
        .body(Vec::new())
        .unwrap();
    writeln!(out, "302: {}", error_for(redirect)).unwrap();
    let away = Response::builder()
        .status(307)
        .header("location", "https://elsewhere.example/token")
        .body(Vec::new())
        .unwrap();
    writeln!(out, "307 other origin: {}", error_for(away)).unwrap();
    let down = Response::builder()
        .status(308)
        .header("location", "http://app.seekpass-staging.com/token")
        .body(Vec::new())
        .unwrap();
    writeln!(out, "308 downgrade: {}", error_for(down)).unwrap();
    let bare = Response::builder().status(308).body(Vec::new()).unwrap();
    writeln!(out, "308 no location: {}", error_for(bare)).unwrap();
    let big = Response::builder()
        .status(200)
        .body(vec![b' '; 70_000])
        .unwrap();
    writeln!(out, "too large: {}", error_for(big)).unwrap();

    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let transport = TransportError::new(
        TransportErrorKind::Connect,
        "connection refused (os error 111)",
    );
    s.client
        .handle_transport_error(id, transport, s.now)
        .unwrap();
    s.poll();
    writeln!(out, "transport: {}", s.state_error()).unwrap();
    s.now = s.last_failure_next_attempt();
    s.demand();
    s.expect_request();
    s.advance(secs(30));
    s.poll();
    writeln!(out, "deadline: {}", s.state_error()).unwrap();

    for e in [
        ConfigError::MissingVariable {
            name: "SEEK_PASS_URL",
        },
        ConfigError::MissingVariable {
            name: "CLIENT_SECRET",
        },
        ConfigError::EmptyClientId,
        ConfigError::EmptyClientSecret,
        ConfigError::ColonInClientId,
        ConfigError::EmptyParameterName,
    ] {
        writeln!(out, "config: {e}").unwrap();
    }
    for e in [
        Scope::new("write education").unwrap_err(),
        Scopes::parse("a \"b\"").unwrap_err(),
        Endpoint::base_url("http://app.seekpass.co").unwrap_err(),
        Endpoint::base_url("app.seekpass.co").unwrap_err(),
        builder().extra_param("scope", "x").build().unwrap_err(),
        builder()
            .user_agent_product("Acme/1\r\nX: y")
            .build()
            .unwrap_err(),
    ] {
        writeln!(out, "config: {e}").unwrap();
    }
    assert!(!out.contains(SECRET));
    assert!(!out.contains("leaked-token"));
    insta::assert_snapshot!(out);
}

trait StateError {
    fn state_error(&self) -> String;
}

impl StateError for Scenario {
    fn state_error(&self) -> String {
        match self.state() {
            TokenState::Failed { error, .. } => error.to_string(),
            other => panic!("{other:?}"),
        }
    }
}

fn trace(events: &[(Time, Event)]) -> String {
    let mut out = String::new();
    for (t, e) in events {
        writeln!(out, "{t} {e:?}").unwrap();
    }
    out
}

/// Runs `script` with every event recorded alongside the time it was drained at.
fn traced(s: &mut Scenario, log: &mut Vec<(Time, Event)>) {
    for e in s.take_events() {
        log.push((s.now, e));
    }
}

#[test]
fn trace_lifecycle_and_refresh() {
    let mut s = Scenario::with(builder().timing(TimingPolicy::default()));
    let mut log = Vec::new();
    s.demand();
    let id = s.expect_request();
    s.advance(secs(1)).succeed(id, 7200);
    traced(&mut s, &mut log);
    s.demand();
    s.poll(); // the driver re-polls after demand, so it wakes at the refresh moment
    let ids = s.sleep_until_wake();
    assert_eq!(ids.len(), 1);
    traced(&mut s, &mut log);
    s.advance(secs(2)).respond(ids[0], 503, "");
    let next = s.last_failure_next_attempt();
    traced(&mut s, &mut log);
    s.now = next;
    s.demand();
    let id = s.expect_request();
    s.succeed(id, 7200);
    traced(&mut s, &mut log);
    insta::assert_snapshot!(trace(&log));
}

#[test]
fn trace_invalidation_and_reconfiguration() {
    let mut s = Scenario::new();
    let mut log = Vec::new();
    let token = s.drive_to_fresh(7200);
    traced(&mut s, &mut log);
    s.at_secs(60);
    s.client.invalidate(token.id(), s.now);
    let id = s.expect_request();
    s.succeed(id, 7200);
    traced(&mut s, &mut log);
    s.at_secs(120);
    s.demand();
    let rotated = builder()
        .credentials(Credentials::new(CLIENT_ID, "rotated"))
        .scope(Scope::WRITE_MICROCREDENTIAL)
        .build()
        .unwrap();
    s.client.reconfigure(rotated, s.now);
    let id = s.expect_request();
    s.respond(id, 200, r#"{"access_token":"narrow","token_type":"Bearer","expires_in":"3600","scope":"write.microcredential"}"#);
    traced(&mut s, &mut log);
    s.at_secs(3600);
    s.poll();
    traced(&mut s, &mut log);
    insta::assert_snapshot!(trace(&log));
}

#[test]
fn trace_permanent_failure() {
    let mut s = Scenario::new();
    let mut log = Vec::new();
    s.demand();
    let id = s.expect_request();
    s.respond(
        id,
        401,
        r#"{"error":"invalid_client","error_description":"Client authentication failed."}"#,
    );
    let next = s.last_failure_next_attempt();
    traced(&mut s, &mut log);
    s.now = next;
    s.demand();
    let id = s.expect_request();
    s.respond(id, 401, r#"{"error":"invalid_client"}"#);
    traced(&mut s, &mut log);
    insta::assert_snapshot!(trace(&log));
}
