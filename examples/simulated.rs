//! The machine against a simulated SEEK Pass on a simulated clock: ten minutes of a busy service
//! in a fraction of a second, with short-lived tokens, an 80-second outage and one token the API
//! rejects. No network, no sleeping.
//!
//! ```text
//! cargo run --example simulated
//! ```

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{
    Config, Credentials, Endpoint, Event, Output, RequestBody, Scope, Time, TimingPolicy,
    TokenClient,
};

/// A token endpoint that issues 120-second tokens, and answers 503 during an outage.
struct SimulatedServer {
    issued: u32,
    outage: (Time, Time),
}

impl SimulatedServer {
    fn answer(&mut self, request: &Request<RequestBody>, now: Time) -> Response<Vec<u8>> {
        if now >= self.outage.0 && now < self.outage.1 {
            return Response::builder()
                .status(503)
                .header("retry-after", "10")
                .body(Vec::new())
                .expect("static response");
        }
        let form = String::from_utf8_lossy(request.body());
        if !form.contains("client_secret=demo-secret") {
            let body = br#"{"error":"invalid_client"}"#.to_vec();
            return Response::builder()
                .status(401)
                .body(body)
                .expect("static response");
        }
        self.issued += 1;
        let body = format!(
            r#"{{"access_token":"demo-token-{}","token_type":"Bearer","expires_in":120,"scope":"write.education","created_at":{}}}"#,
            self.issued,
            1_795_798_685 + now.as_millis() / 1000
        );
        Response::new(body.into_bytes())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::builder(
        Endpoint::staging(),
        Credentials::new("demo-client", "demo-secret"),
    )
    .scope(Scope::WRITE_EDUCATION)
    .timing(TimingPolicy::default())
    .jitter_seed(42)
    .build()?;
    let mut client = TokenClient::new(config, Time::ZERO);
    let mut server = SimulatedServer {
        issued: 0,
        outage: (Time::from_secs(180), Time::from_secs(260)),
    };
    let mut now = Time::ZERO;
    let mut api_calls = 0u32;
    let mut waited = 0u32;
    let mut rejected_once = false;
    let end = Time::from_secs(600);

    while now < end {
        // A caller makes an API call every 5 seconds.
        match client.token(now) {
            Some(token) => {
                api_calls += 1;
                // After t=300 s the API rejects a token once, as if it had been revoked.
                if now >= Time::from_secs(300) && !rejected_once {
                    rejected_once = true;
                    let id = token.id();
                    println!("{now}  API answered 401 for {id}");
                    client.invalidate(id, now);
                }
            }
            None => waited += 1,
        }
        // The driver: poll until there is nothing to do before a later moment.
        let mut next = now.saturating_add(Duration::from_secs(5));
        loop {
            match client.poll(now) {
                Output::Transmit(t) => {
                    let (id, request) = t.into_parts();
                    // The simulated network takes 150 ms.
                    let answered = now.saturating_add(Duration::from_millis(150));
                    let response = server.answer(&request, answered);
                    client.handle_response(id, response, answered)?;
                }
                Output::Event(event) => print_event(now, &event),
                // Only a configuration with `.share(…)` asks for a store.
                Output::Store(op) => unreachable!("no store is configured: {op:?}"),
                Output::Timeout(at) => {
                    next = next.min(at);
                    break;
                }
                Output::Idle => break,
            }
        }
        now = next;
    }
    println!(
        "\n{api_calls} API calls served, {waited} waited for a token, {} tokens issued in {} simulated",
        server.issued, end
    );
    Ok(())
}

fn print_event(now: Time, event: &Event) {
    match event {
        Event::TokenAcquired {
            token, lifetime, ..
        } => {
            println!("{now}  acquired {token}, lifetime {}s", lifetime.as_secs())
        }
        Event::RefreshScheduled { at, .. } => println!("{now}  refresh scheduled at {at}"),
        Event::AttemptFailed {
            error,
            next_attempt,
            ..
        } => {
            println!("{now}  attempt failed: {error}; next attempt at {next_attempt}")
        }
        other => println!("{now}  {other:?}"),
    }
}
