//! A reference model of the token machine, shared by the property test (`tests/model.rs`) and
//! the `machine` fuzz target: a run is a sequence of time steps, demand, polls, answers (valid,
//! error, redirect, garbage), transport failures, invalidations and reconfigurations, and after
//! every step the machine is checked against what it may do:
//!
//! - at most one request in flight;
//! - no token served at or after its expiry, none served after it was invalidated, none the
//!   server never gave;
//! - an answer to a request no longer in flight is refused and changes nothing;
//! - `poll` settles (no busy loop) and every `Timeout` lies in the future;
//! - no secret or token text in any `Debug` output.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, ConfigBuilder, Credentials, Endpoint, Event, Output, RequestId, Scope, Time,
    TokenClient, TokenId, TransportError, TransportErrorKind,
};

const CLIENT_ID: &str = "demo-client";
const SECRET: &str = "demo-secret-Zq9";

/// The `expires_in` values a success may carry (`None`: the member is absent).
pub const EXPIRES_IN: [Option<&str>; 10] = [
    Some("7200"),
    Some("30"),
    Some("1"),
    Some("0"),
    Some("-5"),
    Some("\"7199\""),
    Some("0.5"),
    Some("1e300"),
    Some("\"soon\""),
    None,
];
/// Statuses of failed answers (200 with an HTML body among them).
pub const FAILURES: [u16; 8] = [400, 401, 404, 429, 500, 503, 302, 200];
/// Redirect statuses.
pub const REDIRECTS: [u16; 3] = [307, 308, 302];
/// Redirect targets: same origin, another origin, a downgrade.
pub const LOCATIONS: [&str; 4] = [
    "/a",
    "/b",
    "https://evil.example/t",
    "http://app.seekpass-staging.com/t",
];

fn builder() -> ConfigBuilder {
    Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
        .scope(Scope::WRITE_EDUCATION)
        .jitter_seed(7)
}

fn response(status: u16, body: &str) -> Response<Vec<u8>> {
    let mut r = Response::new(body.as_bytes().to_vec());
    if let Ok(s) = seekpass_oauth::http::StatusCode::from_u16(status) {
        *r.status_mut() = s;
    }
    r.headers_mut().insert(
        seekpass_oauth::http::header::CONTENT_TYPE,
        seekpass_oauth::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn token_body(token: &str, expires_in: u64) -> String {
    format!(
        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in},"scope":"write.education"}}"#
    )
}

/// One step of a run.
#[derive(Clone, Debug)]
pub enum Action {
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
    /// `false`: the secret rotated (the other of two); `true`: another client id.
    Reconfigure(bool),
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
    /// The latest token the machine took (reported by `TokenAcquired`).
    last_token_text: Option<String>,
    /// The token in the latest answer fed, until the machine reports taking it.
    answered_text: Option<String>,
    tokens_made: u32,
    /// Every secret the machine has been configured with.
    known_secrets: Vec<&'static str>,
}

const SECRETS: [&str; 2] = [SECRET, "second-secret-Xk2"];

/// The client a reconfiguration may switch to.
const OTHER_CLIENT_ID: &str = "other-client";

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

/// Events may quote what a server sent; they must still never show a configured secret (the
/// machine strips the current and the previous one, which with two secrets is every one) or
/// the latest token issued.
fn drain(client: &mut TokenClient, model: &mut Model) {
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
                for s in model
                    .known_secrets
                    .iter()
                    .copied()
                    .chain(model.last_token_text.as_deref())
                {
                    assert!(!debug.contains(s), "secret in {debug}");
                }
                if matches!(e, Event::TokenAcquired { .. }) {
                    model.last_token_text = model.answered_text.take();
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
            Output::Store(op) => panic!("no store is configured, yet {op:?}"),
            Output::Timeout(at) => {
                assert!(at > model.now, "Timeout({at}) not after {}", model.now);
                return;
            }
            Output::Idle => return,
        }
    }
    panic!("poll did not settle");
}

/// Runs `actions` against a fresh machine (in `Always` or `WhileUsed` mode), checking every
/// invariant after each step.
pub fn run(actions: Vec<Action>, always: bool) {
    let mode = if always {
        seekpass_oauth::RefreshMode::Always
    } else {
        seekpass_oauth::RefreshMode::WhileUsed
    };
    let mut client = TokenClient::new(builder().refresh_mode(mode).build().unwrap(), Time::ZERO);
    let mut m = Model {
        known_secrets: vec![SECRET],
        ..Model::default()
    };
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
                            m.answered_text = Some(text);
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
            Action::Reconfigure(other_client) => {
                let current = client.config().credentials().clone();
                let config = if other_client {
                    // Another client: the machine starts afresh, and the token in hand is old.
                    if let Some(t) = client.state(fed_now).token() {
                        old_tokens.push(t.id());
                    }
                    let id = if current.client_id() == CLIENT_ID {
                        OTHER_CLIENT_ID
                    } else {
                        CLIENT_ID
                    };
                    Credentials::new(id, current.client_secret().expose_secret())
                } else {
                    // A rotation: the other secret, for the same client; the token is kept.
                    let secret = if current.client_secret().expose_secret() == SECRETS[0] {
                        SECRETS[1]
                    } else {
                        SECRETS[0]
                    };
                    if !m.known_secrets.contains(&secret) {
                        m.known_secrets.push(secret);
                    }
                    Credentials::new(current.client_id(), secret)
                };
                let config = builder()
                    .credentials(config)
                    .refresh_mode(mode)
                    .build()
                    .unwrap();
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
        drain(&mut client, &mut m);
        // The machine's own `Debug` never shows any secret or any token, whatever was fed.
        let debug = format!("{client:?}");
        for s in SECRETS
            .iter()
            .copied()
            .chain(texts.iter().map(String::as_str))
        {
            assert!(!debug.contains(s), "secret in {debug}");
        }
        // Its state may quote a server (a failure's excerpt), under the same rule as events.
        let state = format!("{:?}", client.state(fed_now));
        for s in m
            .known_secrets
            .iter()
            .copied()
            .chain(m.last_token_text.as_deref())
        {
            assert!(!state.contains(s), "secret in {state}");
        }
    }
}

/// Reads a run from arbitrary bytes (the fuzz target's input): each action takes one byte for
/// its kind and a few more for its arguments; missing bytes read as zero.
pub fn actions_from_bytes(data: &[u8]) -> Vec<Action> {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut actions = Vec::new();
    while let Some(kind) = next() {
        let mut arg = || next().unwrap_or(0);
        let action = match kind % 14 {
            0 => Action::Advance(u64::from(u16::from_be_bytes([arg(), arg()])) * 8),
            1 => Action::Advance(u64::from(arg()) * 60_000),
            2 => Action::ClockBack(u64::from(arg()) * 256),
            3 => Action::Demand,
            4 => Action::Poll,
            5 | 6 => {
                let pick = arg();
                Action::Succeed {
                    expires_in: EXPIRES_IN[usize::from(pick) % EXPIRES_IN.len()],
                    reuse_last: pick >= 230,
                }
            }
            7 => Action::Fail(FAILURES[usize::from(arg()) % FAILURES.len()]),
            8 => {
                let len = usize::from(arg() % 64);
                Action::Garbage((0..len).map(|_| arg()).collect())
            }
            9 => {
                let pick = usize::from(arg());
                Action::Redirect(
                    REDIRECTS[pick % REDIRECTS.len()],
                    LOCATIONS[pick / REDIRECTS.len() % LOCATIONS.len()],
                )
            }
            10 => Action::Transport,
            11 => Action::AnswerUnknown(u64::from(arg())),
            12 => {
                if arg() % 2 == 0 {
                    Action::InvalidateCurrent
                } else {
                    Action::InvalidateOld
                }
            }
            _ => Action::Reconfigure(arg() % 2 == 1),
        };
        actions.push(action);
    }
    actions
}

/// A whole fuzz input: byte 0 chooses the refresh mode (odd: `Always`), the rest is the run.
pub fn check_bytes(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    run(actions_from_bytes(rest), mode % 2 == 1);
}
