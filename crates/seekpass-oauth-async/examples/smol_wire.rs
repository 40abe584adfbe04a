//! smol or async-std with no HTTP client: the core's wire codec over async-io's `TcpStream`
//! (plain http, so the local demo server or Doorkeeper; connect a TLS stream for https).
//!
//! ```text
//! cargo run -p seekpass-oauth-async --example smol_wire --features smol,wire
//! ```

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, Scope};
use seekpass_oauth_async::{TokenSource, WireSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = DemoServer::start(Duration::from_secs(60))?;
    let config = Config::builder(
        Endpoint::base_url(&demo.base_url())?,
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()?;
    // smol::spawn(driver).detach() or async_std::task::spawn(driver) in a real service.
    let (source, driver) = TokenSource::builder(config).build_smol(WireSender::plain_tcp());
    std::thread::spawn(move || async_io::block_on(driver));

    async_io::block_on(async {
        let token = source.token().await?;
        println!(
            "a token for {:?}, lifetime {} s",
            token.scope().to_string(),
            token.lifetime().as_secs()
        );
        for _ in 0..3 {
            let authorization = source.authorization().await?;
            println!("Authorization: {authorization:?}"); // prints as Sensitive
        }
        println!("token requests: {}", demo.token_requests());
        Ok(())
    })
}
