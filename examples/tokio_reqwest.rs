//! The async driver on tokio and reqwest: one machine shared by every task, one driver task
//! doing the I/O. Fifty tasks ask for a token at once; the token endpoint sees one request.
//!
//! ```text
//! cargo run --example tokio_reqwest -- --json          # against the embedded demo server
//! SEEK_PASS_URL=https://app.seekpass-staging.com CLIENT_ID=… CLIENT_SECRET=… cargo run --example tokio_reqwest
//! ```

mod common;

use std::process::ExitCode;
use std::time::Instant;

use common::cli;
use common::tokio_driver::TokenSource;
use seekpass_oauth::{Origin, TokenClient};

#[tokio::main]
async fn main() -> ExitCode {
    let (options, config, demo) = match cli::setup("tokio_reqwest") {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    if options.watch.is_some() {
        eprintln!("tokio_reqwest: --watch is offered by seekpass-token and blocking_raw");
        return ExitCode::from(64);
    }
    let start = Instant::now();
    let origin = Origin::new(start);
    let source = TokenSource::spawn(
        TokenClient::new(config, origin.time(start)),
        origin,
        options.max_attempts,
    );

    // Fifty API calls start together; each needs the token.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    if let (Some(server), false) = (&demo, options.json) {
        eprintln!(
            "50 tasks asked for a token; the demo server issued {}",
            server.issued()
        );
    }
    match results.swap_remove(0) {
        Ok(token) => {
            cli::print_token(&token, source.state(), options.json);
            ExitCode::SUCCESS
        }
        Err(gave_up) => {
            let failure = common::blocking::GaveUp {
                class: gave_up.class,
                error: gave_up.error,
            };
            cli::print_failure("tokio_reqwest", &failure, options.json);
            cli::exit_code(failure.class)
        }
    }
}
