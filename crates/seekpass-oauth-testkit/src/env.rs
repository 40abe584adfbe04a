//! Commands with the variables they read cleared, so a developer's own environment (a real
//! `SEEK_PASS_URL`, a proxy, a CA bundle) never changes what a test sees.

use std::process::Command;

/// The variables the official guide sets and `seekpass-token` reads, their `_FILE` forms, and its
/// store URL.
pub const CREDENTIAL_VARIABLES: [&str; 6] = [
    "SEEK_PASS_URL",
    "CLIENT_ID",
    "CLIENT_ID_FILE",
    "CLIENT_SECRET",
    "CLIENT_SECRET_FILE",
    "SEEK_PASS_SHARE",
];

/// The variables that choose trust anchors, as curl and OpenSSL read them.
pub const TRUST_VARIABLES: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Every variable the proxy rules read (`seekpass_oauth_driver::proxy`), in both spellings.
pub const PROXY_VARIABLES: [&str; 8] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The trust and proxy variables together.
pub fn trust_and_proxy_variables() -> impl Iterator<Item = &'static str> {
    TRUST_VARIABLES.into_iter().chain(PROXY_VARIABLES)
}

/// `program` with every credential, trust and proxy variable removed, a cache directory of its
/// own (`XDG_CACHE_HOME`, so `seekpass-token` runs reuse no token kept by another test or the
/// developer), then `env` set.
///
/// # Panics
///
/// When no temporary directory can be made.
#[must_use]
pub fn clean_command(program: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    let cache = tempfile::Builder::new()
        .prefix("seekpass-token-cache")
        .tempdir()
        .expect("a temporary directory")
        .keep();
    command.env("XDG_CACHE_HOME", cache);
    for var in CREDENTIAL_VARIABLES
        .into_iter()
        .chain(trust_and_proxy_variables())
    {
        command.env_remove(var);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `program` with `args` as [`clean_command`] prepares it, with `env`; its output.
///
/// # Panics
///
/// When `program` cannot be started.
#[must_use]
pub fn run_clean(program: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    clean_command(program, env)
        .args(args)
        .output()
        .expect("the program starts")
}
