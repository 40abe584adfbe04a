//! Commands with the variables they read cleared, so a developer's own environment (a real
//! `SEEK_PASS_URL`, a proxy, a CA bundle) never changes what a test sees.

use std::process::Command;

/// The variables the official guide sets and `seekpass-token` reads, and its store URL.
pub const CREDENTIAL_VARIABLES: [&str; 4] = [
    "SEEK_PASS_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SEEK_PASS_SHARE",
];

/// The variables that choose trust anchors and proxies, in the spellings curl and the senders
/// read.
pub const TRUST_AND_PROXY_VARIABLES: [&str; 10] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// `program` with every credential, trust and proxy variable removed, then `env` set.
#[must_use]
pub fn clean_command(program: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    for var in CREDENTIAL_VARIABLES
        .iter()
        .chain(TRUST_AND_PROXY_VARIABLES.iter())
    {
        command.env_remove(var);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}
