//! The client secret and access tokens never appear in any `Debug` or `Display` output.

use seekpass_oauth::{ClientAuth, Config, Credentials, Endpoint, Output, Time, TokenClient};
use seekpass_oauth_testkit::scenario::*;

const TOKEN: &str = "SuperSecretAccessToken_123";

fn assert_clean(what: &str, shown: &str) {
    assert!(!shown.contains(SECRET), "client secret in {what}: {shown}");
    assert!(!shown.contains(TOKEN), "access token in {what}: {shown}");
}

#[test]
fn no_public_type_prints_a_secret() {
    for auth in [
        ClientAuth::SecretPost,
        ClientAuth::SecretBasic,
        ClientAuth::SecretBasicUnencoded,
    ] {
        let credentials = Credentials::new(CLIENT_ID, SECRET);
        assert_clean("Credentials", &format!("{credentials:?}"));
        assert_clean(
            "ClientSecret",
            &format!(
                "{:?} {}",
                credentials.client_secret(),
                credentials.client_secret()
            ),
        );
        let builder = Config::builder(Endpoint::staging(), credentials).client_auth(auth);
        assert_clean("ConfigBuilder", &format!("{builder:?}"));
        let config = builder.build().unwrap();
        assert_clean("Config", &format!("{config:?}"));

        let mut client = TokenClient::new(config, Time::ZERO);
        client.token(Time::ZERO);
        let Output::Transmit(transmit) = client.poll(Time::ZERO) else {
            panic!()
        };
        assert_clean("Transmit", &format!("{transmit:?} {transmit:#?}"));
        assert_clean("Request", &format!("{:?}", transmit.request()));
        assert_clean("RequestBody", &format!("{:?}", transmit.request().body()));
        let id = transmit.id();
        let output = Output::Transmit(transmit);
        assert_clean("Output", &format!("{output:?}"));

        client
            .handle_response(id, response(200, &token_body(TOKEN, 7200)), Time::ZERO)
            .unwrap();
        assert_clean("TokenClient", &format!("{client:?}"));
        assert_clean(
            "TokenState",
            &format!(
                "{:?} {}",
                client.state(Time::ZERO),
                client.state(Time::ZERO)
            ),
        );
        while let Output::Event(e) = client.poll(Time::ZERO) {
            assert_clean("Event", &format!("{e:?}"));
        }
        let token = client.token(Time::ZERO).unwrap();
        assert_clean("Token", &format!("{token:?} {token:#?}"));
        assert_clean(
            "AccessToken",
            &format!("{:?} {}", token.access_token(), token.access_token()),
        );
        assert_clean("Authorization", &format!("{:?}", token.authorization()));
        assert!(token.authorization().is_sensitive());
        assert_eq!(
            token.access_token().expose_secret(),
            TOKEN,
            "reachable when asked for by name"
        );
        assert_eq!(token.authorization(), &format!("Bearer {TOKEN}"));
    }
}

#[test]
fn errors_and_events_redact_a_server_echo() {
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let body = format!(
        r#"{{"error":"invalid_client","error_description":"client_secret={SECRET} rejected","access_token":"{TOKEN}"}}"#
    );
    let resp = seekpass_oauth::http::Response::builder()
        .status(401)
        .header(
            "www-authenticate",
            format!("Bearer error_description=\"{SECRET}\""),
        )
        .body(body.into_bytes())
        .unwrap();
    s.client.handle_response(id, resp, s.now).unwrap();
    s.poll();
    assert_clean("state", &format!("{:?} {}", s.state(), s.state()));
    let seekpass_oauth::TokenState::Failed { error, .. } = s.state() else {
        panic!()
    };
    assert_clean("error", &format!("{error:?} {error}"));
    for e in &s.events {
        assert_clean("event", &format!("{e:?}"));
    }
}

#[test]
fn a_granted_scope_echoing_the_secret_is_refused_not_shown() {
    // Found by the `response` fuzz target: the scope is printed in events.
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let body = format!(
        r#"{{"access_token":"abc","token_type":"Bearer","expires_in":60,"scope":"writ{SECRET}e.education"}}"#
    );
    s.respond(id, 200, &body);
    assert!(s.demand().is_none());
    for e in &s.events {
        assert_clean("event", &format!("{e:?}"));
    }
    assert_clean("state", &format!("{:?}", s.state()));
}

#[test]
fn a_token_type_echoing_the_secret_is_redacted() {
    // Found by the `response` fuzz target: the token_type is quoted in the error.
    let mut s = Scenario::new();
    s.demand();
    let id = s.expect_request();
    let body = format!(r#"{{"access_token":"abc","token_type":"{SECRET}"}}"#);
    s.respond(id, 200, &body);
    assert_clean("state", &format!("{:?} {}", s.state(), s.state()));
    for e in &s.events {
        assert_clean("event", &format!("{e:?}"));
    }
}

#[test]
fn token_ids_states_and_tokens_print_what_they_are() {
    let mut s = seekpass_oauth_testkit::scenario::Scenario::new();
    let token = s.drive_to_fresh(7200);
    assert_eq!(token.id().get(), 0);
    assert_eq!(token.id().to_string(), "token #0");
    assert_eq!(s.state().to_string(), "fresh");
    let shown = format!("{token:?}");
    assert!(
        shown.starts_with("Token { id: TokenId(0), access_token: AccessToken([redacted]), scope: [\"write.education\"], lifetime: 7200s"),
        "{shown}"
    );
    let second = {
        s.client.invalidate(token.id(), s.now);
        s.advance(seekpass_oauth_testkit::scenario::secs(2));
        let id = s.expect_request();
        s.succeed(id, 7200);
        s.demand().unwrap()
    };
    assert_eq!(second.id().get(), 1);
}
