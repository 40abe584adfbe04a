//! The async driver on async-std, with async-std's `TcpStream` and the crate's wire codec (no
//! HTTP client). Plain http to loopback only.
//!
//! ```text
//! cargo run --example async_std -- --json               # against the embedded demo server
//! SEEK_PASS_URL=http://127.0.0.1:3000 CLIENT_ID=… CLIENT_SECRET=… cargo run --example async_std
//! ```

mod common;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use async_std::io::{ReadExt, WriteExt};
use async_std::net::TcpStream;
use common::blocking::GaveUp;
use common::cli;
use common::wire_io;
use seekpass_oauth::http::{Request, Response};
use seekpass_oauth::{
    Event, FailureClass, Origin, Output, Token, TokenClient, TransportError, TransportErrorKind,
};

#[async_std::main]
async fn main() -> ExitCode {
    let (options, config, _demo) = match cli::setup("async_std") {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    if options.watch.is_some() {
        eprintln!("async_std: --watch is offered by seekpass-token and blocking_raw");
        return ExitCode::from(64);
    }
    let start = Instant::now();
    let origin = Origin::new(start);
    let mut client = TokenClient::new(config, origin.time(start));
    match token(&mut client, origin, options.max_attempts).await {
        Ok(token) => {
            let state = client.state(origin.time(Instant::now())).name();
            cli::print_token(&token, state, options.json);
            ExitCode::SUCCESS
        }
        Err(gave_up) => {
            cli::print_failure("async_std", &gave_up, options.json);
            cli::exit_code(gave_up.class)
        }
    }
}

/// The driver loop: ask, poll, send, feed, sleep until the machine's next moment.
async fn token(
    client: &mut TokenClient,
    origin: Origin,
    max_attempts: u32,
) -> Result<Token, GaveUp> {
    let deadline = client.config().request_deadline();
    let limit = client.config().max_response_body().saturating_add(1);
    let mut transient_failures = 0;
    loop {
        let now = origin.time(Instant::now());
        if let Some(token) = client.token(now) {
            return Ok(token.clone());
        }
        let wake = loop {
            match client.poll(origin.time(Instant::now())) {
                Output::Transmit(t) => {
                    let (id, request) = t.into_parts();
                    let answer = async_std::future::timeout(
                        deadline,
                        exchange(request.map(Vec::from), limit),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(TransportError::new(TransportErrorKind::Timeout, "deadline"))
                    });
                    let now = origin.time(Instant::now());
                    // An answer that came after its deadline is refused; the machine moved on.
                    let _ = match answer {
                        Ok(response) => client.handle_response(id, response, now),
                        Err(error) => client.handle_transport_error(id, error, now),
                    };
                }
                Output::Event(Event::AttemptFailed { class, error, .. }) => {
                    transient_failures += u32::from(class == FailureClass::Transient);
                    if class == FailureClass::Permanent || transient_failures >= max_attempts {
                        return Err(GaveUp { class, error });
                    }
                }
                Output::Event(_) => {}
                Output::Timeout(at) => break origin.instant(at),
                Output::Idle => break None,
            }
        };
        if client.token(origin.time(Instant::now())).is_none() {
            let wait = wake.map_or(Duration::from_millis(100), |at| {
                at.saturating_duration_since(Instant::now())
            });
            async_std::task::sleep(wait).await;
        }
    }
}

/// One connection per request, read until the decoder has a whole response.
async fn exchange(
    request: Request<Vec<u8>>,
    limit: usize,
) -> Result<Response<Vec<u8>>, TransportError> {
    let fail = |kind: TransportErrorKind| {
        move |e: std::io::Error| TransportError::new(kind, e.to_string())
    };
    let (host, port) = wire_io::plain_http_target(request.uri(), "async_std")?;
    let mut stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(fail(TransportErrorKind::Connect))?;
    stream
        .write_all(&wire_io::request_bytes(&request)?)
        .await
        .map_err(fail(TransportErrorKind::Io))?;
    let mut decoder = wire_io::decoder(limit);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(fail(TransportErrorKind::Io))?;
        if let Some(response) = wire_io::on_read(&mut decoder, &buf[..n])? {
            return Ok(response);
        }
    }
}
