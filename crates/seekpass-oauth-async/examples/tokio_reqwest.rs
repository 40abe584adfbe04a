//! A tokio service calling the SEEK Pass API through reqwest-middleware: one token source, one
//! driver task, fifty concurrent calls, one token request.
//!
//! ```text
//! cargo run -p seekpass-oauth-async --example tokio_reqwest --features middleware   # demo server
//! SEEK_PASS_URL=https://app.seekpass-staging.com CLIENT_ID=… CLIENT_SECRET=… \
//!     cargo run -p seekpass-oauth-async --example tokio_reqwest --features middleware
//! ```

use std::time::Duration;

use seekpass_oauth::{Config, ConfigBuilder, Credentials, Endpoint, Event};
use seekpass_oauth_async::{BearerAuth, ReqwestSender, TokenSource};
use seekpass_oauth_demo::DemoServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (config, _demo) = config()?;
    // The API lives on the token endpoint's origin.
    let token_uri = config.endpoint().token_uri();
    let base = format!(
        "{}://{}",
        token_uri.scheme_str().unwrap_or("https"),
        token_uri.authority().map_or("", |a| a.as_str())
    );
    let source = TokenSource::builder(config)
        .on_event(|event: &Event| eprintln!("event: {event:?}"))
        .spawn(ReqwestSender::new()?);

    let api = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(BearerAuth::new(source.clone()).only_for(&base.parse()?))
        .build();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (api, url) = (
                api.clone(),
                format!("{base}/api/partner/v1/oauth/token/info"),
            );
            tokio::spawn(async move { api.get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    for call in calls {
        println!("token/info: {}", call.await??);
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
