//! Property test: random sequences of time steps, demand, polls, answers (valid, error, garbage),
//! transport failures, invalidations and reconfigurations, checked against a small reference
//! model of what the machine may do.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use seekpass_oauth::{
    Credentials, Event, Output, RequestId, Time, TokenClient, TokenId, TransportError,
    TransportErrorKind,
};

#[derive(Clone, Debug)]
enum Action {
    Advance(u64),
    ClockBack(u64),
    Demand,
    Poll,
    Succeed {
        expires_in: Option<&'static str>,
        reuse_last: bool,
    },
    Fail(u16),
    Redirect(u16, &'static str),
    Garbage(Vec<u8>),
    Transport,
    AnswerUnknown(u64),
    InvalidateCurrent,
    InvalidateOld,
    Reconfigure(bool),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0u64..400_000).prop_map(Action::Advance),
        1 => (0u64..60_000).prop_map(Action::ClockBack),
        4 => Just(Action::Demand),
        4 => Just(Action::Poll),
        4 => (
            prop::sample::select(vec![
                Some("7200"), Some("30"), Some("1"), Some("0"), Some("-5"), Some("\"7199\""),
                Some("0.5"), Some("1e300"), Some("\"soon\""), None,
            ]),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(expires_in, reuse_last)| Action::Succeed { expires_in, reuse_last }),
        2 => prop::sample::select(vec![400u16, 401, 404, 429, 500, 503, 302, 200])
            .prop_map(Action::Fail),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Action::Garbage),
        1 => (
            prop::sample::select(vec![307u16, 308, 302]),
            prop::sample::select(vec!["/a", "/b", "https://evil.example/t", "http://app.seekpass-staging.com/t"]),
        )
            .prop_map(|(status, location)| Action::Redirect(status, location)),
        1 => Just(Action::Transport),
        1 => (0u64..20).prop_map(Action::AnswerUnknown),
        1 => Just(Action::InvalidateCurrent),
        1 => Just(Action::InvalidateOld),
        1 => any::<bool>().prop_map(Action::Reconfigure),
    ]
}

/// What the machine may do, reduced to what the invariants need.
#[derive(Default)]
struct Model {
    now: Time,
    in_flight: Option<(RequestId, Time)>,
    /// Token text → the latest moment it may be served (exclusive): emission + lifetime.
    expiry: HashMap<String, Time>,
    invalidated: HashSet<TokenId>,
    served: Vec<TokenId>,
    last_token_text: Option<String>,
    tokens_made: u32,
}

const SECRETS: [&str; 2] = [SECRET, "second-secret-Xk2"];

fn lifetime_of(expires_in: Option<&str>) -> Option<Duration> {
    let secs = match expires_in {
        None => return Some(Duration::from_secs(900)),
        Some("7200") => 7200.0,
        Some("30") => 30.0,
        Some("1") => 1.0,
        Some("\"7199\"") => 7199.0,
        Some("0.5") => 0.5,
        Some("1e300") => 86_400.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

fn drain(client: &mut TokenClient, model: &mut Model, texts: &[String]) {
    for _ in 0..100 {
        match client.poll(model.now) {
            Output::Transmit(t) => {
                assert!(model.in_flight.is_none(), "two requests in flight");
                let debug = format!("{t:?}");
                for s in SECRETS {
                    assert!(!debug.contains(s), "secret in {debug}");
                }
                model.in_flight = Some((t.id(), model.now));
            }
            Output::Event(e) => {
                let debug = format!("{e:?} {e:#?}");
                for s in SECRETS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(texts.iter().cloned())
                {
                    assert!(!debug.contains(&s), "secret in {debug}");
                }
                let ended = match e {
                    Event::AttemptFailed { request, .. } | Event::RequestAbandoned { request } => {
                        Some(request)
                    }
                    _ => None,
                };
                if ended.is_some() && model.in_flight.map(|(id, _)| id) == ended {
                    model.in_flight = None;
                }
            }
            Output::Timeout(at) => {
                assert!(at > model.now, "Timeout({at}) not after {}", model.now);
                return;
            }
            Output::Idle => return,
        }
    }
    panic!("poll did not settle");
}

fn run(actions: Vec<Action>, always: bool) {
    let mode = if always {
        seekpass_oauth::RefreshMode::Always
    } else {
        seekpass_oauth::RefreshMode::WhileUsed
    };
    let mut client = TokenClient::new(builder().refresh_mode(mode).build().unwrap(), Time::ZERO);
    let mut m = Model::default();
    let mut texts: Vec<String> = Vec::new();
    let mut fed_now = Time::ZERO;
    let mut old_tokens: Vec<TokenId> = Vec::new();
    let mut seen: Vec<RequestId> = Vec::new();
    for action in actions {
        if let Some((id, _)) = m.in_flight {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        match action.clone() {
            Action::Advance(ms) => fed_now = fed_now.saturating_add(Duration::from_millis(ms)),
            Action::ClockBack(ms) => fed_now = fed_now.saturating_sub(Duration::from_millis(ms)),
            Action::Demand => {}
            Action::Poll => {}
            Action::Succeed {
                expires_in,
                reuse_last,
            } => {
                if let Some((id, emitted)) = m.in_flight.take() {
                    let text = match (&m.last_token_text, reuse_last) {
                        (Some(last), true) => last.clone(),
                        _ => {
                            m.tokens_made += 1;
                            format!("tok{}x{}", m.tokens_made, "Q".repeat(20))
                        }
                    };
                    texts.push(text.clone());
                    let body = match expires_in {
                        Some(e) => format!(
                            r#"{{"access_token":"{text}","token_type":"Bearer","expires_in":{e}}}"#
                        ),
                        None => format!(r#"{{"access_token":"{text}","token_type":"Bearer"}}"#),
                    };
                    m.now = m.now.max(fed_now);
                    if m.now < Time::MAX {
                        // Deadline may have passed: then the answer is refused.
                        let result = client.handle_response(id, response(200, &body), fed_now);
                        if result.is_ok() {
                            if let Some(l) = lifetime_of(expires_in) {
                                // The latest answer for a token text is authoritative.
                                m.expiry.insert(text.clone(), emitted.saturating_add(l));
                            }
                            m.last_token_text = Some(text);
                        }
                    }
                }
            }
            Action::Fail(status) => {
                if let Some((id, _)) = m.in_flight.take() {
                    let body = if status == 200 {
                        "<html>"
                    } else {
                        r#"{"error":"invalid_client"}"#
                    };
                    let _ = client.handle_response(id, response(status, body), fed_now);
                }
            }
            Action::Redirect(status, location) => {
                if let Some((id, _)) = m.in_flight.take() {
                    let r = seekpass_oauth::http::Response::builder()
                        .status(status)
                        .header("location", location)
                        .body(Vec::new())
                        .unwrap();
                    let _ = client.handle_response(id, r, fed_now);
                }
            }
            Action::Garbage(bytes) => {
                if let Some((id, _)) = m.in_flight.take() {
                    let r = seekpass_oauth::http::Response::builder()
                        .status(200)
                        .body(bytes)
                        .unwrap();
                    let _ = client.handle_response(id, r, fed_now);
                }
            }
            Action::Transport => {
                if let Some((id, _)) = m.in_flight.take() {
                    let e = TransportError::new(TransportErrorKind::Io, "reset");
                    let _ = client.handle_transport_error(id, e, fed_now);
                }
            }
            Action::AnswerUnknown(pick) => {
                // An answer for a request no longer in flight is refused and changes nothing.
                let stale = seen
                    .iter()
                    .copied()
                    .filter(|id| Some(*id) != m.in_flight.map(|f| f.0));
                if let Some(id) = stale.clone().nth(pick as usize % stale.count().max(1)) {
                    let before = format!("{client:?}");
                    let result =
                        client.handle_response(id, response(200, &token_body("zz", 60)), fed_now);
                    assert!(result.is_err(), "{id} was accepted");
                    if fed_now <= m.now {
                        assert_eq!(format!("{client:?}"), before);
                    }
                }
            }
            Action::InvalidateCurrent => {
                if let Some(t) = client.state(fed_now).token() {
                    let id = t.id();
                    if client.invalidate(id, fed_now) {
                        m.invalidated.insert(id);
                        old_tokens.push(id);
                    }
                }
            }
            Action::InvalidateOld => {
                if let Some(id) = old_tokens.first() {
                    assert!(
                        !client.invalidate(*id, fed_now),
                        "an old token's report was taken"
                    );
                }
            }
            Action::Reconfigure(second) => {
                let secret = SECRETS[usize::from(second)];
                let config = builder()
                    .credentials(Credentials::new(CLIENT_ID, secret))
                    .refresh_mode(mode)
                    .build()
                    .unwrap();
                if client
                    .config()
                    .credentials()
                    .client_secret()
                    .expose_secret()
                    != secret
                {
                    if let Some(t) = client.state(fed_now).token() {
                        old_tokens.push(t.id());
                    }
                }
                client.reconfigure(config, fed_now);
            }
        }
        m.now = m.now.max(fed_now);
        let demanded = matches!(action, Action::Demand);
        let served = if demanded {
            client.token(fed_now).cloned()
        } else {
            client.state(fed_now).token().cloned()
        };
        if let Some(token) = served {
            let text = token.access_token().expose_secret().to_owned();
            let limit = m
                .expiry
                .get(&text)
                .copied()
                .expect("served a token the server never gave");
            assert!(
                m.now < limit,
                "served {text} at {} at or after its expiry {limit}",
                m.now
            );
            assert!(
                !m.invalidated.contains(&token.id()),
                "served an invalidated token"
            );
            m.served.push(token.id());
        }
        drain(&mut client, &mut m, &texts);
        let debug = format!("{client:?} {:?}", client.state(fed_now));
        for s in SECRETS
            .iter()
            .map(|s| s.to_string())
            .chain(texts.iter().cloned())
        {
            assert!(!debug.contains(&s), "secret in {debug}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_while_used(actions in prop::collection::vec(action(), 1..120)) {
        run(actions, false);
    }

    #[test]
    fn invariants_hold_in_always_mode(actions in prop::collection::vec(action(), 1..120)) {
        run(actions, true);
    }
}
