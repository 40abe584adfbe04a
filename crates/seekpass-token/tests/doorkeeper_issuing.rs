//! The command against Doorkeeper's two options that change issuing
//! (`interop/doorkeeper/server.sh start DIR LIFETIME reuse|revoke`): with
//! `revoke_previous_client_credentials_token` each unshared run revokes the token of the run
//! before, and `--share` (here `SEEK_PASS_SHARE`) removes the fight; with `reuse_access_token` runs
//! get the same token. Marked ignored in a plain `cargo test`; `.ci/run` starts the servers and
//! runs them with `--include-ignored`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::{Child, Output, Stdio};

use seekpass_oauth_testkit::env::clean_command;
use seekpass_oauth_testkit::interop::{issued, server_url, token_info, ISSUING_SECRET};

/// The command for `client` at `base`, with `env` besides, printing JSON; started, not awaited.
fn start(base: &str, client: &str, env: &[(&str, &str)]) -> Child {
    let mut vars = vec![
        ("SEEK_PASS_URL", base),
        ("CLIENT_ID", client),
        ("CLIENT_SECRET", ISSUING_SECRET),
    ];
    vars.extend_from_slice(env);
    clean_command(env!("CARGO_BIN_EXE_seekpass-token"), &vars)
        .args(["--json", "--scope", "write.education"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The access token a finished run printed; it must have succeeded.
fn token(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

fn works(base: &str, token: &str) -> bool {
    let (status, _) = token_info(base, format!("Bearer {token}").as_bytes()).unwrap();
    status == 200
}

#[test]
#[ignore = "needs DOORKEEPER_REVOKE_URL and REDIS_URL: a Doorkeeper with ISSUING=revoke and a Redis from interop/ (bash .ci/run starts them)"]
fn on_revoke_on_issue_each_unshared_run_revokes_the_last_and_share_ends_the_fight() {
    let base = server_url("DOORKEEPER_REVOKE_URL");
    let redis = server_url("REDIS_URL");
    let client = "issuing-8";
    // Unshared: the second run's token revokes the first's.
    let first = token(start(&base, client, &[]).wait_with_output().unwrap());
    let second = token(start(&base, client, &[]).wait_with_output().unwrap());
    assert_ne!(first, second);
    assert!(
        !works(&base, &first),
        "the first token was revoked on the second's issue"
    );
    assert!(works(&base, &second));
    // Shared through one Redis: two runs at once get one token, and it works.
    let before = issued(&base, client).unwrap().len();
    let share = [("SEEK_PASS_SHARE", redis.as_str())];
    let runs: Vec<_> = (0..2).map(|_| start(&base, client, &share)).collect();
    let tokens: Vec<_> = runs
        .into_iter()
        .map(|r| token(r.wait_with_output().unwrap()))
        .collect();
    assert_eq!(tokens[0], tokens[1], "one token for both");
    assert_eq!(issued(&base, client).unwrap().len() - before, 1);
    assert!(works(&base, &tokens[0]));
    // A later shared run adopts it: nothing is revoked.
    let third = token(start(&base, client, &share).wait_with_output().unwrap());
    assert_eq!(third, tokens[0]);
    assert!(works(&base, &tokens[0]));
}

/// Eight runs at once with no sharing: Doorkeeper may answer `invalid_token_reuse` to those
/// that lose the race to revoke the same token; the command retries it within a second, and
/// every run ends with a token.
#[test]
#[ignore = "needs DOORKEEPER_REVOKE_URL: a Doorkeeper from interop/doorkeeper/server.sh with ISSUING=revoke (bash .ci/run starts it)"]
fn eight_cold_runs_at_once_on_revoke_on_issue_all_get_a_token() {
    let base = server_url("DOORKEEPER_REVOKE_URL");
    let runs: Vec<_> = (0..8).map(|_| start(&base, "issuing-9", &[])).collect();
    let tokens: Vec<_> = runs
        .into_iter()
        .map(|r| token(r.wait_with_output().unwrap()))
        .collect();
    let last_issued = tokens.iter().filter(|t| works(&base, t)).count();
    assert!(last_issued >= 1, "the last token issued works");
}

#[test]
#[ignore = "needs DOORKEEPER_REUSE_URL: a Doorkeeper from interop/doorkeeper/server.sh with ISSUING=reuse (bash .ci/run starts it)"]
fn on_a_reusing_server_runs_get_the_same_token() {
    let base = server_url("DOORKEEPER_REUSE_URL");
    let first = token(start(&base, "issuing-10", &[]).wait_with_output().unwrap());
    let second = token(start(&base, "issuing-10", &[]).wait_with_output().unwrap());
    assert_eq!(first, second);
    assert!(works(&base, &second));
}
