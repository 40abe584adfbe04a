//! The command remembers its token: runs in a row, or started together, share one token through
//! the user's cache directory (the file store), against a demo server the test starts.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::env::clean_command;
use seekpass_oauth_testkit::secrets::temp_dir;

/// The command against `server`, keeping its cache in `cache`.
fn command(server: &DemoServer, cache: &Path, args: &[&str]) -> std::process::Command {
    let base = server.base_url();
    let mut command = clean_command(
        env!("CARGO_BIN_EXE_seekpass-token"),
        &[
            ("SEEK_PASS_URL", base.as_str()),
            ("CLIENT_ID", CLIENT_ID),
            ("CLIENT_SECRET", CLIENT_SECRET),
            ("XDG_CACHE_HOME", cache.to_str().unwrap()),
        ],
    );
    command.args(args);
    command
}

/// The token a run printed (its exit status checked).
fn token(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .trim()
        .strip_prefix("export ACCESS_TOKEN=")
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_owned()
}

fn run(server: &DemoServer, cache: &Path, args: &[&str]) -> String {
    token(&command(server, cache, args).output().unwrap())
}

#[test]
fn five_runs_in_a_row_cost_one_token() {
    let server = DemoServer::start(Duration::from_secs(600)).unwrap();
    let cache = temp_dir();
    let tokens: Vec<String> = (0..5).map(|_| run(&server, cache.path(), &[])).collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(server.token_requests(), 1);
}

#[test]
fn ten_runs_started_together_cost_one_token() {
    let server = DemoServer::start(Duration::from_secs(600)).unwrap();
    let cache = temp_dir();
    let children: Vec<Child> = (0..10)
        .map(|_| {
            command(&server, cache.path(), &[])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| token(&c.wait_with_output().unwrap()))
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(server.token_requests(), 1, "the lock's single flight");
}

#[test]
fn no_cache_fetches_and_another_configuration_has_its_own_token() {
    let server = DemoServer::start(Duration::from_secs(600)).unwrap();
    let cache = temp_dir();
    let first = run(&server, cache.path(), &[]);
    assert_ne!(run(&server, cache.path(), &["--no-cache"]), first);
    assert_eq!(server.token_requests(), 2);
    // Other scopes are another token, kept under another key; the first is still there.
    let scoped = run(&server, cache.path(), &["--scope", "write.education"]);
    assert_ne!(scoped, first);
    assert_eq!(
        run(&server, cache.path(), &["--scope", "write.education"]),
        scoped
    );
    assert_eq!(run(&server, cache.path(), &[]), first);
    assert_eq!(server.token_requests(), 3);
}

#[cfg(unix)]
#[test]
fn the_cache_is_the_users_alone_and_a_damaged_file_is_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let server = DemoServer::start(Duration::from_secs(600)).unwrap();
    let cache = temp_dir();
    let first = run(&server, cache.path(), &[]);
    let dir = cache.path().join("seekpass-token");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with(".lock"))
        .collect();
    assert_eq!(files.len(), 1, "one token, no lock left: {files:?}");
    assert_eq!(mode(&files[0]), 0o600);
    for file in &files {
        std::fs::write(
            file,
            b"seekpass-oauth-store v1 99999999999999\n{\"not\":\"a token\"}",
        )
        .unwrap();
    }
    let second = run(&server, cache.path(), &[]);
    assert_ne!(second, first);
    assert_eq!(
        run(&server, cache.path(), &[]),
        second,
        "the damaged file was replaced"
    );
    assert_eq!(server.token_requests(), 2);
}

#[test]
fn share_names_another_directory() {
    let server = DemoServer::start(Duration::from_secs(600)).unwrap();
    let (cache, shared) = (temp_dir(), temp_dir());
    let url = format!("file://{}", shared.path().join("team").display());
    let first = run(&server, cache.path(), &["--share", &url]);
    assert_eq!(run(&server, cache.path(), &["--share", &url]), first);
    assert!(shared.path().join("team").is_dir());
    assert!(
        !cache.path().join("seekpass-token").exists(),
        "the cache is not used"
    );
    assert_eq!(server.token_requests(), 1);
}
