//! What real token endpoints send that RFC 6749 does not, as other clients' users met it: each
//! kind ends in the token when the token is usable, and in a failure that names the fault when it
//! is not. The classifier's own tests (`src/classify/tests.rs`) cover each kind's variants.

use seekpass_oauth::http::header::ACCEPT_ENCODING;
use seekpass_oauth::{ClientAuth, ErrorCode, Event, FailureClass, Scope, Scopes, TokenState};
use seekpass_oauth_testkit::body;
use seekpass_oauth_testkit::scenario::*;

/// Answers the first request with `body` and returns the scenario.
fn answered(builder: seekpass_oauth::ConfigBuilder, status: u16, body: &str) -> Scenario {
    let mut s = Scenario::with(builder);
    s.answer_first(status, body);
    s
}

#[test]
fn a_granted_scope_that_cannot_be_read_is_reported_and_the_requested_scopes_stand() {
    for scope in [r#"["write.education"]"#, "42", r#""write.\"education\"""#] {
        let body = format!(r#"{{"access_token":"abc","expires_in":7200,"scope":{scope}}}"#);
        let mut s = answered(builder().scope(Scope::WRITE_EDUCATION), 200, &body);
        let token = s.demand().unwrap_or_else(|| panic!("{scope}: no token"));
        assert_eq!(token.scope(), &Scopes::from(Scope::WRITE_EDUCATION));
        let problems: Vec<_> = s
            .events
            .iter()
            .filter_map(|e| match e {
                Event::GrantedScopeUnreadable { problem } => Some(problem.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(problems.len(), 1, "{scope}: {:?}", s.events);
        assert!(!problems[0].contains("write.education"), "{}", problems[0]);
    }
}

#[test]
fn an_empty_error_member_beside_a_token_is_the_token() {
    for error in [r#""""#, "null", r#""  ""#] {
        let body = format!(r#"{{"access_token":"abc","expires_in":7200,"error":{error}}}"#);
        let mut s = answered(builder(), 200, &body);
        assert!(s.demand().is_some(), "{error}: {:?}", s.state());
        assert!(s.failures().is_empty());
    }
}

#[test]
fn a_token_with_a_byte_order_mark_is_the_token() {
    let mut s = answered(
        builder(),
        200,
        "\u{feff}{\"access_token\":\"abc\",\"expires_in\":7200}",
    );
    assert_eq!(s.demand().unwrap().access_token().expose_secret(), "abc");
}

#[test]
fn a_token_outside_b64token_that_a_header_carries_is_served_as_sent() {
    let token = "v^1.1#i^1#p^3#r^0#f^0#I^3#t^H4sIAAAAAAAAAOVY";
    let body = format!(r#"{{"access_token":"{token}","expires_in":7200}}"#);
    let mut s = answered(builder(), 200, &body);
    let served = s.demand().unwrap();
    assert_eq!(
        served.authorization().as_bytes(),
        format!("Bearer {token}").as_bytes()
    );
    assert!(served.authorization().is_sensitive());
}

#[test]
fn every_token_request_asks_for_no_content_coding() {
    for auth in [
        ClientAuth::SecretPost,
        ClientAuth::SecretBasic,
        ClientAuth::SecretBasicUnencoded,
    ] {
        let mut s = Scenario::with(builder().client_auth(auth));
        s.demand();
        s.expect_request();
        let (_, request) = s.sent.last().unwrap();
        assert_eq!(request.headers()[ACCEPT_ENCODING], "identity", "{auth:?}");
    }
}

#[test]
fn doorkeepers_token_reuse_race_is_retried_within_a_second() {
    // Doorkeeper with `revoke_previous_client_credentials_token` answers a request that raced
    // another for the same client this way (`ClientCredentials::Creator#with_revocation`).
    let body = r#"{"error":"invalid_token_reuse","error_description":"translation missing: en.doorkeeper.errors.messages.invalid_token_reuse"}"#;
    let mut s = answered(builder(), 400, body);
    let Some(Event::AttemptFailed {
        class,
        code,
        next_attempt,
        ..
    }) = s.failures().last().copied()
    else {
        panic!("{:?}", s.events)
    };
    assert_eq!(*class, FailureClass::Transient);
    assert_eq!(*code, Some(ErrorCode::InvalidTokenReuse));
    assert!(
        *next_attempt <= s.now.saturating_add(secs(1)),
        "{next_attempt}"
    );
    let TokenState::Failed { error, .. } = s.state() else {
        panic!("{:?}", s.state())
    };
    assert!(error.to_string().contains("retrying"), "{error}");
    // And the retry takes the token the server now issues.
    s.at_secs(1);
    s.demand();
    let id = s.expect_request();
    s.succeed(id, 7200);
    assert!(s.demand().is_some());
}

/// Doorkeeper's `reuse_access_token` answers a refresh with the token already held, ending when
/// it did: asking again before it ends would get it again, so the next request waits until it
/// stops being served, instead of one request per refresh moment as its end nears.
#[test]
fn a_token_handed_back_unchanged_is_not_asked_for_again_before_it_ends() {
    let mut s = Scenario::new();
    let first = s.drive_to_fresh(20);
    let end = first.expires_at();
    let mut requests = 1;
    let mut reused = Vec::new();
    // A caller every 100 ms until the token stops being served; the server hands back the same
    // token with what is left of its 20 s, as Doorkeeper does.
    while s.now < first.serve_until() {
        s.demand();
        for id in s.poll() {
            requests += 1;
            let left = end.as_millis().saturating_sub(s.now.as_millis()) / 1000;
            s.respond(id, 200, &body::token(&first_token_text(&first), left));
            reused.push(
                s.client
                    .token(s.now)
                    .map(|t| (t.refresh_at(), t.serve_until())),
            );
        }
        s.advance(std::time::Duration::from_millis(100));
    }
    assert_eq!(requests, 2, "the first request and one refresh: {reused:?}");
    let (refresh_at, serve_until) = reused[0].expect("the same token, still served");
    assert!(refresh_at >= serve_until, "{refresh_at:?} {serve_until:?}");
}

/// The access token's text, for answering with it again.
fn first_token_text(token: &seekpass_oauth::Token) -> String {
    token.access_token().expose_secret().to_owned()
}

/// The same access token with a new full lifetime (a server that extends a token) is an
/// ordinary refresh: its next refresh is scheduled as usual.
#[test]
fn the_same_access_token_with_a_new_lifetime_is_refreshed_as_usual() {
    let mut s = Scenario::new();
    let first = s.drive_to_fresh(7200);
    s.at_secs(first.refresh_at().as_millis() / 1000 + 1);
    s.demand();
    let id = s.expect_request();
    s.respond(id, 200, &body::token(&first_token_text(&first), 7200));
    let second = s.client.token(s.now).expect("a token").clone();
    assert!(second.refresh_at() < second.serve_until());
}

/// Through its end: the token handed back with what is left of it rounded to whole seconds
/// (Doorkeeper rounds) is never served past when it was first to stop, the server is not asked
/// again until its token has expired, and then a new one is issued and served. For 20-second and
/// two-hour tokens (a caller every 100 ms).
#[test]
fn a_token_handed_back_near_its_end_is_never_served_longer_and_asked_for_once_it_expires() {
    for lifetime in [20, 7200] {
        let mut s = Scenario::new();
        let first = s.drive_to_fresh(lifetime);
        let text = first_token_text(&first);
        let end = first.expires_at();
        let mut requests_after_serving = Vec::new();
        let stop = end.saturating_add(std::time::Duration::from_secs(5));
        while s.now < stop {
            if let Some(token) = s.demand() {
                if first_token_text(&token) == text {
                    assert!(
                        s.now < first.serve_until(),
                        "{lifetime}: served at {:?}",
                        s.now
                    );
                }
            }
            for id in s.poll() {
                if s.now >= first.serve_until() {
                    requests_after_serving.push(s.now);
                }
                let left_ms = end.as_millis().saturating_sub(s.now.as_millis());
                if left_ms > 0 {
                    // Rounded to the nearest second, as Doorkeeper's `expires_in_seconds`.
                    s.respond(id, 200, &body::token(&text, (left_ms + 500) / 1000));
                } else {
                    s.respond(id, 200, &body::token("the-next-token", lifetime));
                }
            }
            s.advance(std::time::Duration::from_millis(100));
        }
        let last = s.demand().expect("a token after the first expired");
        assert_eq!(first_token_text(&last), "the-next-token", "{lifetime}");
        assert_eq!(
            requests_after_serving,
            vec![end],
            "{lifetime}: one request, when the server's token expires"
        );
    }
}
