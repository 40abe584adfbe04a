//! Unit tests of the token response classifier.

use super::*;

fn respond(status: u16, body: &str) -> Result<TokenResponse, TokenError> {
    let response = Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap();
    classify(&response, 65_536, &Redactor::new("demo-secret"), None)
}

fn expires_in(json_value: &str) -> Result<ExpiresIn, ResponseProblem> {
    let body = format!(r#"{{"access_token":"abc","expires_in":{json_value}}}"#);
    match respond(200, &body) {
        Ok(t) => Ok(t.expires_in),
        Err(TokenError::InvalidResponse { problem, .. }) => Err(problem),
        Err(other) => panic!("{other:?}"),
    }
}

#[test]
fn doorkeeper_success() {
    let t = respond(
        200,
        r#"{"access_token":"w7Ev7uW_dIZm-_Ms1QUeYDCuHWJE3qYF-BjgWB79kGA","token_type":"Bearer","expires_in":7200,"scope":"write.education","created_at":1795798685}"#,
    )
    .unwrap();
    assert_eq!(
        t.access_token.expose_secret(),
        "w7Ev7uW_dIZm-_Ms1QUeYDCuHWJE3qYF-BjgWB79kGA"
    );
    assert_eq!(t.expires_in, ExpiresIn::Seconds(Duration::from_secs(7200)));
    assert_eq!(t.scope, GrantedScope::Text("write.education".into()));
    assert_eq!(t.created_at, Some(1_795_798_685));
}

#[test]
fn expires_in_forms() {
    let secs = |s: u64| Ok(ExpiresIn::Seconds(Duration::from_secs(s)));
    assert_eq!(expires_in("7199"), secs(7199));
    assert_eq!(expires_in(r#""7199""#), secs(7199));
    assert_eq!(expires_in(r#"" 7199 ""#), secs(7199));
    assert_eq!(
        expires_in("1.5"),
        Ok(ExpiresIn::Seconds(Duration::from_millis(1500)))
    );
    assert_eq!(
        expires_in(r#""1.5""#),
        Ok(ExpiresIn::Seconds(Duration::from_millis(1500)))
    );
    assert_eq!(expires_in("null"), Ok(ExpiresIn::Missing));
    assert_eq!(expires_in("1e3"), secs(1000));
    assert_eq!(expires_in("18446744073709551615"), secs(u64::MAX));
    assert_eq!(expires_in("1e300"), Ok(ExpiresIn::Seconds(Duration::MAX)));
    assert_eq!(
        expires_in("99999999999999999999999"),
        Ok(ExpiresIn::Seconds(Duration::MAX))
    );
    for expired in [
        "0",
        "-1",
        "-0.5",
        "0.0",
        r#""0""#,
        r#""-5""#,
        "-9223372036854775808",
    ] {
        assert_eq!(
            expires_in(expired),
            Err(ResponseProblem::AlreadyExpired),
            "{expired}"
        );
    }
    for bad in [
        r#""soon""#,
        r#""inf""#,
        r#""NaN""#,
        r#""""#,
        "true",
        "[1]",
        "{}",
    ] {
        assert!(
            matches!(
                expires_in(bad),
                Err(ResponseProblem::InvalidField {
                    field: "expires_in",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn missing_fields() {
    let t = respond(200, r#"{"access_token":"abc"}"#).unwrap();
    assert_eq!(t.expires_in, ExpiresIn::Missing);
    assert_eq!(t.scope, GrantedScope::Absent);
    assert_eq!(t.created_at, None);
    let e = respond(200, r#"{"token_type":"Bearer"}"#).unwrap_err();
    assert!(matches!(
        e,
        TokenError::InvalidResponse {
            problem: ResponseProblem::MissingAccessToken,
            ..
        }
    ));
}

#[test]
fn token_type_must_be_bearer_in_any_case() {
    for ok in ["Bearer", "bearer", "BEARER"] {
        let body = format!(r#"{{"access_token":"abc","token_type":"{ok}"}}"#);
        assert!(respond(200, &body).is_ok(), "{ok}");
    }
    let e = respond(200, r#"{"access_token":"abc","token_type":"mac"}"#).unwrap_err();
    assert!(matches!(
        e,
        TokenError::InvalidResponse {
            problem: ResponseProblem::UnsupportedTokenType(ref t),
            ..
        } if t == "mac"
    ));
}

#[test]
fn access_token_is_any_run_of_visible_ascii() {
    // Wider than RFC 6750's b64token: real providers issue `v^1.1#i^1#…` and JSON-looking tokens.
    let ok = [
        "abc",
        "a-b.c_d~e+f/g==",
        "eyJhbGciOiJIUzUxMiJ9.e30.sig",
        "v^1.1#i^1#p^3#r^0#f^0#I^3#t^H4sIAAAAAAAAAOVY",
        "a=b",
        "a\"b",
        "a,b",
        "{x}|!$%&'()*:;<>?@[\\]`",
        "=",
    ];
    for ok in ok {
        assert!(is_header_token(ok), "{ok}");
        let body = serde_json::json!({ "access_token": ok }).to_string();
        let t = respond(200, &body).unwrap();
        assert_eq!(t.access_token.expose_secret(), ok);
    }
    let bad = [
        "",
        " ",
        "a b",
        "a\r\nX-Evil: 1",
        "a\tb",
        "é",
        "a\u{7f}",
        "\u{0}",
        "abc ",
    ];
    for bad in bad {
        assert!(!is_header_token(bad), "{bad:?}");
        let body = serde_json::json!({ "access_token": bad }).to_string();
        assert!(matches!(
            respond(200, &body).unwrap_err(),
            TokenError::InvalidResponse {
                problem: ResponseProblem::InvalidAccessToken,
                ..
            }
        ));
    }
}

#[test]
fn wrong_types_name_the_field() {
    let e = respond(200, r#"{"access_token":123}"#).unwrap_err();
    assert!(e.to_string().contains("access_token"), "{e}");
    let e = respond(200, r#"{"access_token":"abc","token_type":7}"#).unwrap_err();
    assert!(
        e.to_string()
            .contains("token_type: expected a string, found a number"),
        "{e}"
    );
}

#[test]
fn a_granted_scope_of_another_json_type_is_named_not_fatal() {
    for (json, kind) in [
        (r#"["write.education"]"#, "an array"),
        ("7", "a number"),
        ("-1.5", "a number"),
        ("true", "a boolean"),
        (r#"{"a":1}"#, "an object"),
    ] {
        let body = format!(r#"{{"access_token":"abc","scope":{json}}}"#);
        let t = respond(200, &body).unwrap();
        assert_eq!(t.scope, GrantedScope::Unreadable(kind), "{json}");
    }
    let t = respond(200, r#"{"access_token":"abc","scope":null}"#).unwrap();
    assert_eq!(t.scope, GrantedScope::Absent);
}

#[test]
fn an_empty_or_null_error_beside_a_token_is_no_error() {
    for error in [r#""""#, r#"" ""#, "null", "0", "false", "{}"] {
        let body = format!(r#"{{"access_token":"abc","error":{error},"expires_in":60}}"#);
        let t = respond(200, &body).unwrap();
        assert_eq!(t.access_token.expose_secret(), "abc", "{error}");
    }
    // Without a token, an empty error is no OAuth error either: the missing token is named.
    let e = respond(200, r#"{"error":""}"#).unwrap_err();
    assert!(e.to_string().contains("no access_token"), "{e}");
    let e = respond(400, r#"{"error":""}"#).unwrap_err();
    assert!(matches!(e, TokenError::Status { .. }), "{e:?}");
}

#[test]
fn a_byte_order_mark_before_the_object_is_skipped() {
    for body in [
        "\u{feff}{\"access_token\":\"abc\"}",
        "\u{feff} \n{\"access_token\":\"abc\"}",
    ] {
        let t = respond(200, body).unwrap();
        assert_eq!(t.access_token.expose_secret(), "abc");
    }
    let e = respond(400, "\u{feff}{\"error\":\"invalid_client\"}").unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidClient));
    // Only one mark, only at the start.
    assert!(respond(200, "\u{feff}\u{feff}{\"access_token\":\"abc\"}").is_err());
}

fn respond_coded(
    status: u16,
    coding: Option<&str>,
    body: &[u8],
) -> Result<TokenResponse, TokenError> {
    let mut response = Response::builder().status(status);
    if let Some(coding) = coding {
        response = response.header("content-encoding", coding);
    }
    let response = response.body(body.to_vec()).unwrap();
    classify(&response, 65_536, &Redactor::new("demo-secret"), None)
}

#[test]
fn a_coded_body_is_refused_with_its_coding_named() {
    const GZIP: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0xae,
    ];
    const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x01, 0x00];
    for (coding, body, named) in [
        (Some("gzip"), GZIP, "gzip"),
        (Some("GZIP"), GZIP, "gzip"),
        (Some("br"), &b"\x1b\x2a\x00"[..], "br"),
        (Some("deflate"), &b"x\x9c\xab\xae"[..], "deflate"),
        (Some("identity, gzip"), GZIP, "gzip"),
        (None, GZIP, "gzip"),
        (None, ZSTD, "zstd"),
    ] {
        let e = respond_coded(200, coding, body).unwrap_err();
        assert_eq!(
            e,
            TokenError::InvalidResponse {
                status: StatusCode::OK,
                problem: ResponseProblem::ContentCoded(named.to_owned()),
                excerpt: None,
            },
            "{coding:?}"
        );
        assert!(e.to_string().contains(&format!("{named}-coded")), "{e}");
        assert_eq!(e.class(), crate::FailureClass::Transient);
        // An error status in a coding: no garbage excerpt, the coding said instead.
        let e = respond_coded(401, coding, body).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("({named}-coded, not shown)")),
            "{e}"
        );
    }
    let t = respond_coded(200, Some("identity"), br#"{"access_token":"abc"}"#).unwrap();
    assert_eq!(t.access_token.expose_secret(), "abc");
}

#[test]
fn a_repeated_field_is_named_permanent_and_both_tokens_redacted() {
    let e = respond(
        200,
        r#"{"access_token":"firstTok","token_type":"Bearer","access_token":"secondTok"}"#,
    )
    .unwrap_err();
    let TokenError::InvalidResponse { problem, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(
        problem,
        &ResponseProblem::InvalidField {
            field: "access_token",
            detail: "appears more than once in the JSON object".into(),
        }
    );
    assert_eq!(e.class(), crate::error::FailureClass::Permanent);
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("access_token"), "{shown}");
    assert!(
        !shown.contains("firstTok") && !shown.contains("secondTok"),
        "{shown}"
    );
    let e = respond(
        200,
        r#"{"access_token":"abc","expires_in":1,"expires_in":2}"#,
    );
    assert!(e.unwrap_err().to_string().contains("field expires_in"));
    // A repeated field the token response does not read stays harmless.
    assert!(respond(200, r#"{"access_token":"abc","foo":1,"foo":2}"#).is_ok());
    // Not JSON at all is still NotJson, and transient.
    let e = respond(200, r#"{"access_token":"#).unwrap_err();
    assert!(e.to_string().contains("not a JSON object"), "{e}");
}

#[test]
fn created_at_is_kept_when_sane_and_ignored_otherwise() {
    let created = |v: &str| {
        respond(
            200,
            &format!(r#"{{"access_token":"abc","created_at":{v}}}"#),
        )
        .unwrap()
        .created_at
    };
    assert_eq!(created("17"), Some(17));
    assert_eq!(created(r#""17""#), Some(17));
    assert_eq!(created("-1"), None);
    assert_eq!(created("1.5"), None);
    assert_eq!(created("{}"), None);
}

#[test]
fn unknown_fields_are_ignored() {
    assert!(respond(
        200,
        r#"{"access_token":"abc","refresh_token":"r","id_token":{"x":[1,2]}}"#
    )
    .is_ok());
}

#[test]
fn a_2xx_body_with_error_is_an_error() {
    let e = respond(200, r#"{"error":"invalid_client","access_token":"leaky"}"#).unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidClient));
    assert!(!format!("{e:?}{e}").contains("leaky"));
}

#[test]
fn non_json_success_is_transient_with_an_excerpt() {
    let e = respond(200, "<html><body>Login to the Wi-Fi</body></html>").unwrap_err();
    match &e {
        TokenError::InvalidResponse {
            problem: ResponseProblem::NotJson,
            excerpt: Some(x),
            ..
        } => assert!(x.starts_with("<html>")),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.class(), crate::FailureClass::Transient);
    assert!(matches!(
        respond(200, "[1,2]").unwrap_err(),
        TokenError::InvalidResponse {
            problem: ResponseProblem::NotJson,
            ..
        }
    ));
}

#[test]
fn errors_redact_an_echoed_secret() {
    let e = respond(
        401,
        r#"{"error":"invalid_client","error_description":"bad secret demo-secret"}"#,
    )
    .unwrap_err();
    assert_eq!(e.description(), Some("bad secret [redacted]"));
    let e = respond(500, "client_secret=demo-secret").unwrap_err();
    assert!(!e.to_string().contains("demo-secret"));
}

#[test]
fn a_body_exactly_at_the_limit_is_read() {
    let body = r#"{"access_token":"abc","token_type":"Bearer","expires_in":60}"#;
    let response = Response::new(body.as_bytes().to_vec());
    let redactor = Redactor::default();
    assert!(classify(&response, body.len(), &redactor, None).is_ok());
    assert!(classify(&response, body.len() - 1, &redactor, None).is_err());
}

#[test]
fn an_empty_echoed_token_redacts_nothing() {
    let e = respond(
        400,
        r#"{"error":"invalid_request","error_description":"bad grant","access_token":""}"#,
    )
    .unwrap_err();
    assert_eq!(e.description(), Some("bad grant"));
}

#[test]
fn blank_descriptions_are_dropped_and_debug_hides_the_token() {
    let e = respond(
        401,
        r#"{"error":"invalid_client","error_description":"   "}"#,
    )
    .unwrap_err();
    assert_eq!(e.description(), None);
    let t = respond(200, r#"{"access_token":"s3cr3t-tok","expires_in":60}"#).unwrap();
    let shown = format!("{t:?}");
    assert!(shown.contains("expires_in"), "{shown}");
    assert!(!shown.contains("s3cr3t-tok"), "{shown}");
}

#[test]
fn body_limit_is_checked_before_parsing() {
    let response = Response::builder()
        .status(200)
        .body(vec![b' '; 11])
        .unwrap();
    let e = classify(&response, 10, &Redactor::default(), None).unwrap_err();
    assert_eq!(
        e,
        TokenError::BodyTooLarge {
            status: StatusCode::OK,
            limit: 10
        }
    );
}
