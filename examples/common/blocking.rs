//! A blocking driver: the machine, `std::thread::sleep` and a function that sends one request
//! and returns its answer (ureq with rustls, or a raw `TcpStream` with the crate's wire codec).
//! The whole loop the crate needs from its caller.

use std::io::Read;
use std::time::{Duration, Instant};

use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{
    Event, FailureClass, Origin, Output, Time, Token, TokenClient, TokenError, TransportError,
    TransportErrorKind,
};

/// Sends one request and returns the answer, with the body read up to `limit` bytes.
pub type Send = Box<dyn FnMut(Request<Vec<u8>>, u64) -> Result<Response<Vec<u8>>, TransportError>>;

/// A callback for each event, with the moment it was seen.
pub type OnEvent = Box<dyn FnMut(Time, &Event)>;

/// Why the driver gave up.
#[derive(Debug)]
pub struct GaveUp {
    pub class: FailureClass,
    pub error: TokenError,
}

pub struct BlockingDriver {
    pub client: TokenClient,
    origin: Origin,
    send: Send,
    /// Transient failures since the last token.
    transient_failures: u32,
    pub max_attempts: u32,
    /// Called with each event and the time it was seen.
    pub on_event: OnEvent,
    /// Called before each wait with what is awaited.
    pub on_wait: Box<dyn FnMut(&str)>,
}

impl BlockingDriver {
    /// A driver sending with ureq (rustls for https).
    pub fn new(client: TokenClient, origin: Origin, max_attempts: u32) -> BlockingDriver {
        let send = ureq_sender(client.config().request_deadline());
        BlockingDriver::with_sender(client, origin, max_attempts, send)
    }

    pub fn with_sender(
        client: TokenClient,
        origin: Origin,
        max_attempts: u32,
        send: Send,
    ) -> BlockingDriver {
        BlockingDriver {
            client,
            origin,
            send,
            transient_failures: 0,
            max_attempts,
            on_event: Box::new(|_, _| {}),
            on_wait: Box::new(|_| {}),
        }
    }

    pub fn now(&self) -> Time {
        self.origin.time(Instant::now())
    }

    /// Returns the usable token, fetching (and retrying) as the machine says.
    pub fn token(&mut self) -> Result<Token, GaveUp> {
        loop {
            if let Some(token) = self.client.token(self.now()) {
                self.transient_failures = 0;
                return Ok(token.clone());
            }
            let wake = self.drain(self.now())?;
            if self.client.token(self.now()).is_some() {
                continue;
            }
            // No token yet: a back-off is in force. Sleep until the machine's next moment.
            let until = wake.and_then(|t| self.origin.instant(t));
            let wait = until.map_or(Duration::from_millis(100), |u| {
                u.saturating_duration_since(Instant::now())
            });
            if wait > Duration::from_millis(500) {
                (self.on_wait)(&format!(
                    "waiting {:.1}s before the next attempt",
                    wait.as_secs_f64()
                ));
            }
            std::thread::sleep(wait);
        }
    }

    /// Polls until the machine has nothing to do before a later moment, then sleeps until
    /// then (at most `max_sleep`).
    pub fn drive_for(&mut self, max_sleep: Duration) -> Result<(), GaveUp> {
        let now = self.now();
        let wake = self.drain(now)?;
        let until = wake
            .and_then(|t| self.origin.instant(t))
            .unwrap_or_else(|| Instant::now() + max_sleep)
            .min(Instant::now() + max_sleep);
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        Ok(())
    }

    /// Runs every output due at `now`; returns the next wake-up, if any.
    fn drain(&mut self, now: Time) -> Result<Option<Time>, GaveUp> {
        loop {
            match self.client.poll(self.now().max(now)) {
                Output::Transmit(transmit) => {
                    let (id, request) = transmit.into_parts();
                    (self.on_wait)(&format!("waiting for {}", request.uri()));
                    let limit = self.client.config().max_response_body() as u64 + 1;
                    let answer = (self.send)(request.map(Vec::from), limit);
                    let now = self.now();
                    // The machine refuses answers that came too late; nothing more to do then.
                    let _ = match answer {
                        Ok(response) => self.client.handle_response(id, response, now),
                        Err(error) => self.client.handle_transport_error(id, error, now),
                    };
                }
                Output::Event(event) => {
                    let seen = self.now();
                    (self.on_event)(seen, &event);
                    if let Event::AttemptFailed { class, error, .. } = &event {
                        match class {
                            FailureClass::Permanent => {
                                return Err(GaveUp {
                                    class: *class,
                                    error: error.clone(),
                                })
                            }
                            _ => {
                                self.transient_failures += 1;
                                if self.transient_failures >= self.max_attempts {
                                    return Err(GaveUp {
                                        class: *class,
                                        error: error.clone(),
                                    });
                                }
                            }
                        }
                    }
                }
                Output::Timeout(at) => return Ok(Some(at)),
                Output::Idle => return Ok(None),
            }
        }
    }
}

/// Sends with a ureq agent that leaves redirects and error statuses to the machine.
pub fn ureq_sender(deadline: Duration) -> Send {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(deadline))
        .build()
        .into();
    Box::new(move |request, limit| {
        let response = agent.run(request).map_err(transport_error)?;
        let (parts, body) = response.into_parts();
        let mut bytes = Vec::new();
        body.into_reader()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| TransportError::new(TransportErrorKind::Io, e.to_string()))?;
        Ok(Response::from_parts(parts, bytes))
    })
}

fn transport_error(e: ureq::Error) -> TransportError {
    let kind = match &e {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportErrorKind::Connect,
        ureq::Error::Io(_) => TransportErrorKind::Io,
        ureq::Error::Tls(_) => TransportErrorKind::Tls,
        _ => TransportErrorKind::Other,
    };
    TransportError::new(kind, e.to_string())
}
