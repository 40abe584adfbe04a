//! Configurations for the demo client, against the demo server or any server that knows it
//! (the interop Doorkeeper seeds the same client).

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint, Scope};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};

/// A configuration for the token endpoint under `base`, with the demo client's id, `secret`
/// and the scope `write.education`.
///
/// # Panics
///
/// When `base` is no usable base URL.
#[must_use]
pub fn config(base: &str, secret: &str) -> Config {
    Config::builder(
        Endpoint::base_url(base).expect("a base URL"),
        Credentials::new(CLIENT_ID, secret),
    )
    .scope(Scope::WRITE_EDUCATION)
    .build()
    .expect("a valid configuration")
}

/// A demo server issuing `lifetime` tokens, and a configuration for it with the right secret.
///
/// # Panics
///
/// When the server cannot start.
#[must_use]
pub fn start(lifetime: Duration) -> (DemoServer, Config) {
    let server = DemoServer::start(lifetime).expect("the demo server starts");
    let config = config(&server.base_url(), CLIENT_SECRET);
    (server, config)
}

/// A pool's key in the tests of the bearer middlewares: an institution, a type of its own so it
/// can travel as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Institution(pub u32);

/// An async pool's resolver against the demo server at `base`: [`pool_config`] for each
/// institution, ready at once.
pub fn pool_resolver(
    base: &str,
) -> impl Fn(&Institution) -> std::future::Ready<Option<Config>> + Send + Sync + 'static {
    let base = base.to_owned();
    move |key| std::future::ready(pool_config(&base, key.0))
}

/// A pool resolver's answer for `key` against the demo server at `base`: key 13 has a wrong
/// secret (the server refuses it, `invalid_client`), keys from 1,000 on are unknown (`None`),
/// every other key the demo client's configuration.
#[must_use]
pub fn pool_config(base: &str, key: u32) -> Option<Config> {
    match key {
        13 => Some(config(base, "not-the-secret")),
        1_000.. => None,
        _ => Some(config(base, CLIENT_SECRET)),
    }
}
