//! A thread pool calling the SEEK Pass API: one token source shared by every thread, no
//! background thread, one token request.
//!
//! ```text
//! cargo run -p seekpass-oauth-blocking --example threads              # embedded demo server
//! SEEK_PASS_URL=https://app.seekpass-staging.com CLIENT_ID=… CLIENT_SECRET=… \
//!     cargo run -p seekpass-oauth-blocking --example threads
//! ```

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Config, ConfigBuilder, Credentials, Endpoint, Event};
use seekpass_oauth_blocking::TokenSource;
use seekpass_oauth_demo::DemoServer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _demo) = config()?;
    let source = TokenSource::builder(config)
        .on_event(|event: &Event| eprintln!("event: {event:?}"))
        .build_with_ureq();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let source = source.clone();
            std::thread::spawn(move || {
                // Put it on the API request: `.header("authorization", authorization)`.
                let authorization = source.authorization()?;
                println!("thread {i}: {} bytes of Authorization", authorization.len());
                Ok::<_, seekpass_oauth_blocking::Error>(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread")?;
    }
    println!("state: {}", source.state());
    Ok(())
}

/// From `SEEK_PASS_URL`, `CLIENT_ID` and `CLIENT_SECRET`, or the embedded demo server.
fn config() -> Result<(Config, Option<DemoServer>), Box<dyn std::error::Error>> {
    if std::env::var_os("SEEK_PASS_URL").is_some() {
        return Ok((
            ConfigBuilder::from_env(|n| std::env::var(n).ok())?.build()?,
            None,
        ));
    }
    let demo = DemoServer::start(Duration::from_secs(60))?;
    let credentials = Credentials::new(
        seekpass_oauth_demo::CLIENT_ID,
        seekpass_oauth_demo::CLIENT_SECRET,
    );
    let config = Config::builder(Endpoint::base_url(&demo.base_url())?, credentials).build()?;
    Ok((config, Some(demo)))
}
