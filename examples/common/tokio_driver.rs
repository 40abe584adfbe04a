//! The machine shared by many tokio tasks: callers lock it only to read the token (the hot
//! path); one driver task owns the I/O, sending with reqwest and sleeping until the machine's
//! next moment or until a caller needs it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use seekpass_oauth::http::{HeaderValue, Response};
use seekpass_oauth::{
    Event, FailureClass, Origin, Output, RequestId, Token, TokenClient, TokenError, TransportError,
    TransportErrorKind,
};
use tokio::sync::Notify;

/// Why the token could not be had.
#[derive(Clone, Debug)]
pub struct GaveUp {
    pub class: FailureClass,
    pub error: TokenError,
}

struct Shared {
    machine: Mutex<TokenClient>,
    origin: Origin,
    /// Callers → driver: the machine has something to do.
    wake: Notify,
    /// Driver → callers: an answer was fed; look again.
    changed: Notify,
    gave_up: Mutex<Option<GaveUp>>,
}

/// A handle for any number of tasks.
#[derive(Clone)]
pub struct TokenSource {
    shared: Arc<Shared>,
}

impl TokenSource {
    /// Starts the driver task on the current runtime.
    pub fn spawn(client: TokenClient, origin: Origin, max_attempts: u32) -> TokenSource {
        let deadline = client.config().request_deadline();
        let shared = Arc::new(Shared {
            machine: Mutex::new(client),
            origin,
            wake: Notify::new(),
            changed: Notify::new(),
            gave_up: Mutex::new(None),
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(deadline)
            .build()
            .expect("a reqwest client");
        tokio::spawn(drive(Arc::clone(&shared), http, max_attempts));
        TokenSource { shared }
    }

    /// The current token, waiting for one if needed.
    pub async fn token(&self) -> Result<Token, GaveUp> {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut machine = self.shared.machine.lock().expect("machine lock");
                let now = self.shared.origin.time(Instant::now());
                let token = machine.token(now).cloned();
                if machine.poll_needed(now) {
                    self.shared.wake.notify_one();
                }
                if let Some(token) = token {
                    return Ok(token);
                }
            }
            if let Some(gave_up) = self.shared.gave_up.lock().expect("lock").clone() {
                return Err(gave_up);
            }
            changed.await;
        }
    }

    /// The `Authorization` header value (the hot path of an API call).
    pub async fn authorization(&self) -> Result<HeaderValue, GaveUp> {
        self.token().await.map(|t| t.authorization().clone())
    }

    /// The token's state name now.
    pub fn state(&self) -> &'static str {
        let machine = self.shared.machine.lock().expect("machine lock");
        machine
            .state(self.shared.origin.time(Instant::now()))
            .name()
    }
}

/// The driver task: poll, send, feed, sleep.
async fn drive(shared: Arc<Shared>, http: reqwest::Client, max_attempts: u32) {
    let mut transient_failures = 0;
    loop {
        let mut transmits = Vec::new();
        let wake_at = {
            let mut machine = shared.machine.lock().expect("machine lock");
            let now = shared.origin.time(Instant::now());
            loop {
                match machine.poll(now) {
                    Output::Transmit(t) => transmits.push(t.into_parts()),
                    Output::Event(Event::TokenAcquired { .. }) => transient_failures = 0,
                    Output::Event(Event::AttemptFailed { class, error, .. }) => {
                        if class == FailureClass::Transient {
                            transient_failures += 1;
                        }
                        if class == FailureClass::Permanent || transient_failures >= max_attempts {
                            *shared.gave_up.lock().expect("lock") = Some(GaveUp { class, error });
                            shared.changed.notify_waiters();
                        }
                    }
                    Output::Event(_) => {}
                    Output::Timeout(at) => break shared.origin.instant(at),
                    Output::Idle => break None,
                }
            }
        };
        if !transmits.is_empty() {
            for (id, request) in transmits {
                let answer = send(&http, request.map(Vec::from)).await;
                feed(&shared, id, answer);
            }
            shared.changed.notify_waiters();
            continue;
        }
        match wake_at {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

fn feed(shared: &Shared, id: RequestId, answer: Result<Response<Vec<u8>>, TransportError>) {
    let mut machine = shared.machine.lock().expect("machine lock");
    let now = shared.origin.time(Instant::now());
    // An answer that came after its deadline is refused; the machine has moved on.
    let _ = match answer {
        Ok(response) => machine.handle_response(id, response, now),
        Err(error) => machine.handle_transport_error(id, error, now),
    };
}

async fn send(
    http: &reqwest::Client,
    request: seekpass_oauth::http::Request<Vec<u8>>,
) -> Result<Response<Vec<u8>>, TransportError> {
    let transport = |kind| move |e: reqwest::Error| TransportError::new(kind, e.to_string());
    let request =
        reqwest::Request::try_from(request).map_err(transport(TransportErrorKind::Other))?;
    let response = http.execute(request).await.map_err(|e| {
        let kind = if e.is_timeout() {
            TransportErrorKind::Timeout
        } else if e.is_connect() {
            TransportErrorKind::Connect
        } else {
            TransportErrorKind::Io
        };
        TransportError::new(kind, e.to_string())
    })?;
    let mut builder = Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(transport(TransportErrorKind::Io))?;
    builder
        .body(body.to_vec())
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))
}
