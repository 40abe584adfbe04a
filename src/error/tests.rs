//! Unit tests of the error types: codes, classes and messages.

use http::StatusCode;

use super::*;

#[test]
fn error_codes_round_trip() {
    for code in [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "slow_down",
    ] {
        assert_eq!(ErrorCode::from_wire(code).as_str(), code);
    }
    assert_eq!(
        ErrorCode::from_wire("slow_down"),
        ErrorCode::Other("slow_down".into())
    );
}

fn status_error(code: u16) -> TokenError {
    TokenError::Status {
        status: StatusCode::from_u16(code).unwrap(),
        www_authenticate: None,
        excerpt: None,
    }
}

#[test]
fn transport_kinds_say_what_failed_and_only_trust_and_proxy_credentials_are_permanent() {
    let says = |kind, words: &[&str]| {
        let e = TokenError::Transport(TransportError::new(kind, "the detail"));
        let text = e.to_string();
        for w in words.iter().chain(&["the detail"]) {
            assert!(text.contains(w), "{kind:?}: {text}");
        }
        e.class()
    };
    use TransportErrorKind as K;
    assert_eq!(
        says(K::Dns, &["does not resolve", "SEEK_PASS_URL"]),
        FailureClass::Transient
    );
    assert_eq!(
        says(K::ConnectionRefused, &["connection refused"]),
        FailureClass::Transient
    );
    assert_eq!(says(K::Timeout, &["timed out"]), FailureClass::Transient);
    assert_eq!(
        says(K::ProxyRefused, &["proxy refused", "NO_PROXY"]),
        FailureClass::Transient
    );
    assert_eq!(
        says(
            K::Certificate,
            &[
                "not trusted",
                "system trust store",
                "SSL_CERT_FILE",
                "--cacert",
                "long back-off"
            ]
        ),
        FailureClass::Permanent
    );
    assert_eq!(
        says(K::ProxyAuthRequired, &["credentials", "user:password@"]),
        FailureClass::Permanent
    );
    for kind in [K::Connect, K::Tls, K::Io, K::Other] {
        assert_eq!(
            says(kind, &["retrying with back-off"]),
            FailureClass::Transient
        );
    }
}

#[test]
fn status_classes() {
    for code in [408, 425, 429, 500, 502, 503, 504, 599, 100, 600, 999] {
        assert_eq!(
            status_error(code).class(),
            FailureClass::Transient,
            "{code}"
        );
    }
    for code in [400, 401, 403, 404, 405, 409, 410, 422, 499] {
        assert_eq!(
            status_error(code).class(),
            FailureClass::Permanent,
            "{code}"
        );
    }
}

#[test]
fn oauth_codes_are_permanent_unless_the_server_says_it_is_its_fault() {
    let oauth = |status: u16, code: &str| TokenError::OAuth {
        status: StatusCode::from_u16(status).unwrap(),
        code: ErrorCode::from_wire(code),
        description: None,
        uri: None,
        www_authenticate: None,
    };
    assert_eq!(
        oauth(401, "invalid_client").class(),
        FailureClass::Permanent
    );
    assert_eq!(oauth(400, "invalid_scope").class(), FailureClass::Permanent);
    assert_eq!(oauth(400, "server_error").class(), FailureClass::Transient);
    assert_eq!(
        oauth(400, "temporarily_unavailable").class(),
        FailureClass::Transient
    );
    assert_eq!(
        oauth(503, "invalid_request").class(),
        FailureClass::Transient
    );
    assert_eq!(oauth(429, "slow_down").class(), FailureClass::Transient);
    assert_eq!(
        oauth(200, "invalid_client").class(),
        FailureClass::Permanent
    );
}

#[test]
fn invalid_responses_split_by_problem() {
    let invalid = |problem| TokenError::InvalidResponse {
        status: StatusCode::OK,
        problem,
        excerpt: None,
    };
    assert_eq!(
        invalid(ResponseProblem::NotJson).class(),
        FailureClass::Transient
    );
    assert_eq!(
        invalid(ResponseProblem::AlreadyExpired).class(),
        FailureClass::Transient
    );
    assert_eq!(
        invalid(ResponseProblem::MissingAccessToken).class(),
        FailureClass::Permanent
    );
    assert_eq!(
        invalid(ResponseProblem::UnsupportedTokenType("mac".into())).class(),
        FailureClass::Permanent
    );
}

#[test]
fn body_too_large_follows_the_status() {
    let big = |s: u16| TokenError::BodyTooLarge {
        status: StatusCode::from_u16(s).unwrap(),
        limit: 10,
    };
    assert_eq!(big(200).class(), FailureClass::Transient);
    assert_eq!(big(503).class(), FailureClass::Transient);
    assert_eq!(big(401).class(), FailureClass::Permanent);
}

#[test]
fn accessors() {
    let e = TokenError::OAuth {
        status: StatusCode::UNAUTHORIZED,
        code: ErrorCode::InvalidClient,
        description: Some("nope".into()),
        uri: None,
        www_authenticate: None,
    };
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(e.code(), Some(&ErrorCode::InvalidClient));
    assert_eq!(e.description(), Some("nope"));
    let t = TokenError::Transport(TransportError::new(TransportErrorKind::Io, "reset"));
    assert_eq!(t.status(), None);
    assert_eq!(t.code(), None);
    assert_eq!(t.class(), FailureClass::Transient);
    let TokenError::Transport(inner) = &t else {
        unreachable!()
    };
    assert_eq!(inner.detail(), "reset");
    assert_eq!(inner.kind(), TransportErrorKind::Io);
    assert_eq!(FailureClass::Transient.to_string(), "transient");
    assert_eq!(FailureClass::Permanent.to_string(), "permanent");
}

#[test]
fn statuses_without_an_oauth_body_get_advice() {
    let advice = |code: u16| {
        TokenError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            www_authenticate: None,
            excerpt: None,
        }
        .to_string()
    };
    assert!(
        advice(401).contains("check CLIENT_ID and CLIENT_SECRET"),
        "{}",
        advice(401)
    );
    assert!(advice(403).contains("check CLIENT_ID and CLIENT_SECRET"));
    assert!(advice(404).contains("nothing answers token requests at this URL"));
    assert!(advice(429).contains("rate limited"));
    assert!(advice(503).contains("the server is having trouble"));
    // 1xx as a final answer and codes past 599 are odd, but retried.
    assert!(
        advice(199).contains("unexpected status; retrying"),
        "{}",
        advice(199)
    );
    assert!(advice(418).contains("the server refused the request"));
}
