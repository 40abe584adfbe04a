//! A fake clock and a scripted server, so each scenario is one screen long.
#![allow(dead_code)]

use std::time::Duration;

use seekpass_oauth::http::{Request, Response, StatusCode};
use seekpass_oauth::{
    Config, ConfigBuilder, Credentials, Endpoint, Event, Output, RequestBody, RequestId, Scope,
    Time, Token, TokenClient, TokenState,
};

pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "demo-secret-Zq9";

/// The configuration most scenarios use: staging, one scope, jitter seed 7.
pub fn builder() -> ConfigBuilder {
    Config::builder(Endpoint::staging(), Credentials::new(CLIENT_ID, SECRET))
        .scope(Scope::WRITE_EDUCATION)
        .jitter_seed(7)
}

/// A Doorkeeper-shaped success body.
pub fn token_body(token: &str, expires_in: u64) -> String {
    format!(
        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in},"scope":"write.education","created_at":1795798685}}"#
    )
}

pub fn response(status: u16, body: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A machine on a fake clock, with everything it said recorded.
pub struct Scenario {
    pub client: TokenClient,
    pub now: Time,
    pub events: Vec<Event>,
    pub sent: Vec<(RequestId, Request<RequestBody>)>,
    pub wake: Option<Time>,
    next_token: u32,
}

impl Scenario {
    pub fn new() -> Scenario {
        Scenario::with(builder())
    }

    pub fn with(builder: ConfigBuilder) -> Scenario {
        Scenario::with_config(builder.build().unwrap())
    }

    pub fn with_config(config: Config) -> Scenario {
        Scenario {
            client: TokenClient::new(config, Time::ZERO),
            now: Time::ZERO,
            events: Vec::new(),
            sent: Vec::new(),
            wake: None,
            next_token: 0,
        }
    }

    /// Moves the fake clock to `t` seconds (may go backwards, like a bad clock).
    pub fn at_secs(&mut self, t: u64) -> &mut Scenario {
        self.now = Time::from_secs(t);
        self
    }

    pub fn at_millis(&mut self, t: u64) -> &mut Scenario {
        self.now = Time::from_millis(t);
        self
    }

    pub fn advance(&mut self, d: Duration) -> &mut Scenario {
        self.now = self.now.saturating_add(d);
        self
    }

    /// Asks for a token (the hot path), returning a copy of it if usable.
    pub fn demand(&mut self) -> Option<Token> {
        self.client.token(self.now).cloned()
    }

    pub fn state(&self) -> TokenState<'_> {
        self.client.state(self.now)
    }

    pub fn state_name(&self) -> &'static str {
        self.state().name()
    }

    /// Polls until Timeout or Idle (bounded: a busy loop fails the test). Returns the ids of the
    /// requests emitted.
    pub fn poll(&mut self) -> Vec<RequestId> {
        let mut ids = Vec::new();
        for _ in 0..1000 {
            match self.client.poll(self.now) {
                Output::Transmit(t) => {
                    let (id, request) = t.into_parts();
                    ids.push(id);
                    self.sent.push((id, request));
                }
                Output::Event(e) => self.events.push(e),
                Output::Store(op) => panic!("no store is configured, yet {op:?}"),
                Output::Timeout(at) => {
                    assert!(
                        at > self.now,
                        "Timeout({at}) is not after now ({})",
                        self.now
                    );
                    self.wake = Some(at);
                    return ids;
                }
                Output::Idle => {
                    self.wake = None;
                    return ids;
                }
            }
        }
        panic!("poll did not settle: busy loop");
    }

    /// Polls and expects exactly one request.
    pub fn expect_request(&mut self) -> RequestId {
        let ids = self.poll();
        assert_eq!(ids.len(), 1, "expected one request, got {ids:?}");
        ids[0]
    }

    pub fn expect_no_request(&mut self) {
        let ids = self.poll();
        assert!(ids.is_empty(), "expected no request, got {ids:?}");
    }

    /// Answers request `id` with `status` and `body`, then polls.
    pub fn respond(&mut self, id: RequestId, status: u16, body: &str) -> &mut Scenario {
        self.client
            .handle_response(id, response(status, body), self.now)
            .expect("response accepted");
        let ids = self.poll();
        assert!(ids.is_empty(), "a request right after an answer: {ids:?}");
        self
    }

    /// Answers request `id` with a fresh token of `expires_in` seconds; returns the token text.
    pub fn succeed(&mut self, id: RequestId, expires_in: u64) -> String {
        self.next_token += 1;
        let token = format!("tok{}-{}", self.next_token, "A".repeat(40));
        self.respond(id, 200, &token_body(&token, expires_in));
        token
    }

    /// From nothing to a fresh token of `expires_in` seconds fetched at the current time. The
    /// token has not been asked for since it arrived.
    pub fn drive_to_fresh(&mut self, expires_in: u64) -> Token {
        assert!(self.demand().is_none());
        let id = self.expect_request();
        self.succeed(id, expires_in);
        let token = self.state().token().expect("fresh token").clone();
        assert_eq!(self.state_name(), "fresh");
        token
    }

    /// From nothing to a fresh, used token of `expires_in` seconds whose refresh, at its due
    /// moment, was answered 503. Returns the token (still served).
    pub fn drive_to_failed_refresh(&mut self, expires_in: u64) -> Token {
        let token = self.drive_to_fresh(expires_in);
        self.demand();
        self.now = token.refresh_at();
        let id = self.expect_request();
        self.respond(id, 503, "");
        token
    }

    /// Runs the clock forward to the next wake-up and polls there.
    pub fn sleep_until_wake(&mut self) -> Vec<RequestId> {
        let at = self.wake.expect("a wake-up time");
        self.now = at;
        self.poll()
    }

    /// The events recorded so far, and forgets them.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn failures(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::AttemptFailed { .. }))
            .collect()
    }

    pub fn last_failure_next_attempt(&self) -> Time {
        self.events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::AttemptFailed { next_attempt, .. } => Some(*next_attempt),
                _ => None,
            })
            .expect("a failure")
    }

    pub fn last_status(&self) -> Option<StatusCode> {
        self.events.iter().rev().find_map(|e| match e {
            Event::AttemptFailed { status, .. } => Some(*status),
            _ => None,
        })?
    }
}
