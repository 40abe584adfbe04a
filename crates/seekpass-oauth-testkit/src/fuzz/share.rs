//! The `share` target: a sharing token machine fed an arbitrary sequence of store answers (good
//! stored tokens, another client's, another format's, arbitrary bytes, missing keys, refusals,
//! errors, answers of the wrong kind, late answers) and token endpoint answers. After every step:
//!
//! - no panic, and `poll` settles with every `Timeout` in the future;
//! - no token is served at or after its expiry: for a token the store held, the read's
//!   emission plus the `PTTL` fed; for a fetched one, the request's emission plus its lifetime;
//! - at most one store operation and one request in flight;
//! - neither the secret nor any token text appears in any `Debug` output.

use std::collections::HashMap;
use std::time::Duration;

use seekpass_oauth::http::Response;
use seekpass_oauth::{
    Config, Credentials, Endpoint, Output, RequestId, Share, StoreAnswer, StoreCommand, StoreError,
    StoreErrorKind, StoreId, StoredValue, Time, TokenClient,
};

const SECRET: &str = "share-secret-Wp4";
const CLIENT: &str = "share-client";

struct Run {
    client: TokenClient,
    now: Time,
    /// The store operation in flight: id, command, when it was sent, its deadline.
    store_op: Option<(StoreId, StoreCommand, Time, Time)>,
    old_store_ids: Vec<StoreId>,
    /// The request in flight: id, when it was sent, its deadline.
    request: Option<(RequestId, Time, Time)>,
    /// Token text → the moment it stops being valid.
    expiry: HashMap<String, Time>,
    made: u32,
}

impl Run {
    fn token_text(&mut self) -> String {
        self.made += 1;
        format!("Tok{}x{}", self.made, self.made.wrapping_mul(7919))
    }

    fn valid_until(&mut self, text: &str, until: Time) {
        let entry = self.expiry.entry(text.to_owned()).or_insert(until);
        *entry = (*entry).min(until);
    }

    fn check(&mut self) {
        let now = self.now;
        // Past its deadline an operation or request is the machine's to fail, as a driver
        // gives up on it then.
        if let Some((id, _, _, deadline)) = &self.store_op {
            if now >= *deadline {
                self.old_store_ids.push(*id);
                self.store_op = None;
            }
        }
        if self.request.is_some_and(|(_, _, deadline)| now >= deadline) {
            self.request = None;
        }
        if let Some(token) = self.client.token(now) {
            let text = token.access_token().expose_secret().to_owned();
            let until = self.expiry.get(&text).copied();
            assert!(
                until.is_some_and(|u| now < u),
                "served {text} at {now}, valid until {until:?}"
            );
        }
        for _ in 0..64 {
            let out = self.client.poll(now);
            let shown = format!("{out:?} {:?}", self.client);
            assert!(!shown.contains(SECRET), "{shown}");
            for text in self.expiry.keys() {
                assert!(!shown.contains(text.as_str()), "{shown}");
            }
            match out {
                Output::Store(op) => {
                    assert!(self.store_op.is_none(), "two store operations in flight");
                    let deadline = op.deadline();
                    let (id, command) = op.into_parts();
                    self.store_op = Some((id, command, now, deadline));
                }
                Output::Transmit(t) => {
                    assert!(self.request.is_none(), "two requests in flight");
                    self.request = Some((t.id(), now, t.deadline()));
                }
                Output::Event(_) => {}
                Output::Timeout(at) => {
                    assert!(at > now, "Timeout({at}) not after {now}");
                    return;
                }
                Output::Idle => return,
            }
        }
        panic!("poll did not settle");
    }

    /// A stored value as a replica of `client` would write it.
    fn stored(&mut self, client: &str, version: u8, lifetime_ms: u64) -> (String, Vec<u8>) {
        let text = self.token_text();
        let value = format!(
            r#"{{"v":{version},"client_id":"{client}","access_token":"{text}","scope":"write.education","lifetime_ms":{lifetime_ms},"lifetime_source":"expires_in"}}"#
        );
        (text, value.into_bytes())
    }
}

/// Bytes drive the run: each action is one byte, some followed by argument bytes.
pub fn check(data: &[u8]) {
    let config = Config::builder(Endpoint::staging(), Credentials::new(CLIENT, SECRET))
        .share(Share::new())
        .jitter_seed(11)
        .build()
        .expect("valid configuration");
    let mut run = Run {
        client: TokenClient::new(config, Time::ZERO),
        now: Time::ZERO,
        store_op: None,
        old_store_ids: Vec::new(),
        request: None,
        expiry: HashMap::new(),
        made: 0,
    };
    let mut bytes = data.iter().copied();
    let mut arg = move || bytes.next();
    while let Some(action) = arg() {
        match action % 16 {
            // Time passes: up to ~65 s, or a long jump.
            0 => {
                let step = u64::from(arg().unwrap_or(1)) * 257;
                run.now = run.now.saturating_add(Duration::from_millis(step));
            }
            1 => run.now = run.now.saturating_add(Duration::from_secs(3600)),
            // Demand.
            2 => {
                run.client.token(run.now);
            }
            // The store answers the operation in flight with a token this client can use.
            3 | 4 => {
                if let Some((id, command, sent, _)) = run.store_op.take() {
                    let ttl = Duration::from_millis(u64::from(arg().unwrap_or(0)) * 40_000);
                    let lifetime = 7_200_000 * u64::from(arg().unwrap_or(1) % 3);
                    let answer = if matches!(command, StoreCommand::Read { .. }) {
                        let (text, value) = run.stored(CLIENT, 1, lifetime);
                        run.valid_until(&text, sent.saturating_add(ttl));
                        StoreAnswer::Found {
                            value: StoredValue::new(value),
                            ttl: Some(ttl),
                        }
                    } else {
                        StoreAnswer::Done
                    };
                    run.old_store_ids.push(id);
                    let _ = run.client.handle_store(id, Ok(answer), run.now);
                }
            }
            // Another client's value, another format's, arbitrary bytes, or no expiry.
            5 => {
                if let Some((id, _, sent, _)) = run.store_op.take() {
                    let choice = arg().unwrap_or(0);
                    let ttl = Duration::from_millis(u64::from(arg().unwrap_or(0)) * 40_000);
                    let value = match choice % 4 {
                        0 => run.stored("other-client", 1, 7_200_000).1,
                        1 => run.stored(CLIENT, 2, 7_200_000).1,
                        2 => (0..usize::from(choice)).map(|i| i as u8 ^ choice).collect(),
                        _ => {
                            let (text, value) = run.stored(CLIENT, 1, 7_200_000);
                            // A value with no expiry is never used: valid "forever" is not
                            // something the machine may believe.
                            run.valid_until(&text, sent);
                            let _ = run.client.handle_store(
                                id,
                                Ok(StoreAnswer::Found {
                                    value: StoredValue::new(value),
                                    ttl: None,
                                }),
                                run.now,
                            );
                            continue;
                        }
                    };
                    run.old_store_ids.push(id);
                    let _ = run.client.handle_store(
                        id,
                        Ok(StoreAnswer::Found {
                            value: StoredValue::new(value),
                            ttl: Some(ttl),
                        }),
                        run.now,
                    );
                }
            }
            6 => {
                if let Some((id, _, _, _)) = run.store_op.take() {
                    run.old_store_ids.push(id);
                    let _ = run
                        .client
                        .handle_store(id, Ok(StoreAnswer::Missing), run.now);
                }
            }
            7 => {
                if let Some((id, _, _, _)) = run.store_op.take() {
                    run.old_store_ids.push(id);
                    let _ = run
                        .client
                        .handle_store(id, Ok(StoreAnswer::Refused), run.now);
                }
            }
            8 => {
                if let Some((id, _, _, _)) = run.store_op.take() {
                    run.old_store_ids.push(id);
                    let kind = match arg().unwrap_or(0) % 4 {
                        0 => StoreErrorKind::Timeout,
                        1 => StoreErrorKind::Unavailable,
                        2 => StoreErrorKind::Denied,
                        _ => StoreErrorKind::Protocol,
                    };
                    // A store client's message may quote anything; it is redacted.
                    let message = format!("boom {SECRET}");
                    let error = StoreError::new(kind, message);
                    let _ = run.client.handle_store(id, Err(error), run.now);
                }
            }
            // An answer for an operation no longer in flight, or never issued.
            9 => {
                let id = run.old_store_ids.last().copied();
                if let Some(id) = id {
                    let _ = run.client.handle_store(id, Ok(StoreAnswer::Done), run.now);
                }
            }
            // The token endpoint answers.
            10 | 11 => {
                if let Some((id, sent, _)) = run.request.take() {
                    let text = run.token_text();
                    let secs = [7200u64, 30, 1][usize::from(arg().unwrap_or(0) % 3)];
                    run.valid_until(&text, sent.saturating_add(Duration::from_secs(secs)));
                    let body = format!(
                        r#"{{"access_token":"{text}","token_type":"Bearer","expires_in":{secs}}}"#
                    );
                    let _ =
                        run.client
                            .handle_response(id, Response::new(body.into_bytes()), run.now);
                }
            }
            12 => {
                if let Some((id, _, _)) = run.request.take() {
                    let mut response = Response::new(b"down".to_vec());
                    *response.status_mut() = seekpass_oauth::http::StatusCode::SERVICE_UNAVAILABLE;
                    let _ = run.client.handle_response(id, response, run.now);
                }
            }
            // The API rejects the current token.
            13 => {
                let id = run.client.state(run.now).token().map(|t| t.id());
                if let Some(id) = id {
                    run.client.invalidate(id, run.now);
                }
            }
            _ => {}
        }
        run.check();
    }
}
