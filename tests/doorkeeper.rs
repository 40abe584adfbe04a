//! Every response captured from a real Doorkeeper (the server software behind SEEK Pass), fed to
//! the machine as status, headers and body, and classified.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::path::Path;

use seekpass_oauth::http::Response;
use seekpass_oauth::{ErrorCode, FailureClass, TokenError, TokenState};
use seekpass_oauth_testkit::scenario::*;

/// What a capture must classify as.
#[derive(Debug)]
enum Expect {
    Token,
    OAuth(u16, &'static str),
    EmptyStatus(u16),
    NotAToken,
}

fn expected(name: &str) -> Expect {
    use Expect::*;
    let prefix = name.split('_').next().unwrap();
    match prefix {
        "01" | "02" | "03" | "04" | "11" | "12a" | "12b" | "13" | "14" | "14b" | "15" | "16"
        | "18" | "21" | "22" | "23" | "24a" | "24c" | "30" | "31" | "32" | "32b" | "33" | "34" => {
            Token
        }
        "05" | "05b" | "06" | "06b" | "15b" | "15c" | "24b" => OAuth(401, "invalid_client"),
        "07" | "07b" | "13b" | "13c" | "17" | "24d" => OAuth(400, "invalid_scope"),
        "08" | "08b" => OAuth(400, "unsupported_grant_type"),
        "09" | "20" => OAuth(400, "invalid_request"),
        "10" | "19" | "26" => EmptyStatus(404),
        "11b" => EmptyStatus(400),
        // The token-info endpoint's answer: 200 JSON, but not a token.
        "25" => NotAToken,
        other => panic!("capture {name} ({other}) has no expectation"),
    }
}

/// Parses a capture: status line, headers, blank line, body (chunked framing already removed).
fn parse_capture(text: &str) -> Response<Vec<u8>> {
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut builder = Response::builder().status(status);
    for line in lines {
        let (name, value) = line.split_once(": ").expect("header line");
        builder = builder.header(name, value);
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

fn captures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/doorkeeper");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .filter(|p| {
            !p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("wire_")
        })
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_capture_is_classified_as_doorkeeper_meant_it() {
    let all = captures();
    assert!(all.len() >= 40, "only {} captures", all.len());
    for (name, text) in all {
        let response = parse_capture(&text);
        let body = String::from_utf8(response.body().clone()).unwrap();
        let mut s = Scenario::new();
        s.demand();
        let id = s.expect_request();
        s.client.handle_response(id, response, s.now).unwrap();
        s.poll();
        match (expected(&name), s.state()) {
            (Expect::Token, TokenState::Fresh(token)) => {
                let json: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(
                    token.access_token().expose_secret(),
                    json["access_token"],
                    "{name}"
                );
                assert_eq!(
                    token.lifetime().as_secs(),
                    json["expires_in"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(token.created_at(), json["created_at"].as_u64(), "{name}");
                let granted = json["scope"].as_str().unwrap_or("write.education");
                assert_eq!(token.scope().to_string(), granted, "{name}");
                assert!(token.authorization().is_sensitive());
            }
            (Expect::OAuth(status, code), TokenState::Failed { error, .. }) => {
                let TokenError::OAuth {
                    status: got,
                    code: got_code,
                    description,
                    www_authenticate,
                    ..
                } = error
                else {
                    panic!("{name}: {error:?}")
                };
                assert_eq!(got.as_u16(), status, "{name}");
                assert_eq!(got_code.as_str(), code, "{name}");
                assert!(
                    !matches!(got_code, ErrorCode::Other(_)),
                    "{name}: a standard code"
                );
                assert!(description.is_some(), "{name}");
                let www = www_authenticate.as_deref().unwrap_or_default();
                assert!(
                    www.starts_with("Bearer realm=\"Doorkeeper\""),
                    "{name}: {www}"
                );
                assert_eq!(error.class(), FailureClass::Permanent, "{name}");
            }
            (Expect::EmptyStatus(status), TokenState::Failed { error, .. }) => {
                assert!(
                    matches!(error, TokenError::Status { status: s, excerpt: None, .. } if s.as_u16() == status),
                    "{name}: {error:?}"
                );
                assert_eq!(error.class(), FailureClass::Permanent, "{name}");
            }
            (Expect::NotAToken, TokenState::Failed { error, .. }) => {
                assert!(
                    matches!(error, TokenError::InvalidResponse { .. }),
                    "{name}: {error:?}"
                );
            }
            (expect, state) => panic!("{name}: expected {expect:?}, got {state:?}"),
        }
    }
}

/// Demands a token and answers its request with the capture whose name starts with `prefix`.
fn feed_capture(s: &mut Scenario, prefix: &str) {
    let (_, text) = captures()
        .into_iter()
        .find(|(n, _)| n.starts_with(prefix))
        .expect("capture");
    s.demand();
    let id = s.expect_request();
    s.client
        .handle_response(id, parse_capture(&text), s.now)
        .unwrap();
    s.poll();
}

#[test]
fn reused_tokens_count_their_shorter_remaining_lifetime() {
    // With token reuse on, Doorkeeper hands back the same token with a smaller expires_in.
    let mut s = Scenario::new();
    feed_capture(&mut s, "31_");
    assert_eq!(s.demand().unwrap().lifetime(), secs(7198));
}

#[test]
fn three_requested_scopes_granted_in_the_requested_order() {
    let requested = builder()
        .scope(seekpass_oauth::Scope::WRITE_MICROCREDENTIAL)
        .scope(seekpass_oauth::Scope::WRITE_DIGITAL_IDENTITY);
    let mut s = Scenario::with(requested);
    feed_capture(&mut s, "02_");
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, seekpass_oauth::Event::ScopeNarrowed { .. })));
}

#[test]
fn a_default_scope_narrower_than_requested_is_reported() {
    // Case 34: the client asked for one scope, the server granted another.
    let mut s = Scenario::new();
    feed_capture(&mut s, "34_");
    assert!(s.demand().is_some(), "the token is used");
    let narrowed = s.events.iter().find_map(|e| match e {
        seekpass_oauth::Event::ScopeNarrowed {
            missing, granted, ..
        } => Some((missing.to_string(), granted.to_string())),
        _ => None,
    });
    assert_eq!(
        narrowed,
        Some(("write.education".into(), "write.microcredential".into()))
    );
}
