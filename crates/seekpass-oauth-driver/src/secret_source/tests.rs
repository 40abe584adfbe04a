//! The secret sources: the value rule, files, variables, commands (a stand-in for `op`), and
//! that no error ever holds the value.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth_testkit::secrets::temp_dir;

use super::*;

const VALUE: &str = "s3cr3t-value-of-test";

/// The secret `source` gives, or the error's kind and its whole text (which must never hold
/// the value).
fn read(source: &SecretSource) -> Result<String, (SecretSourceErrorKind, String)> {
    match source.read() {
        Ok(secret) => Ok(secret.expose_secret().to_owned()),
        Err(error) => {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(VALUE), "{shown}");
            assert!(shown.contains(&source.describe()), "{shown}");
            Err((error.kind, error.to_string()))
        }
    }
}

#[test]
fn one_line_ending_is_dropped_and_nothing_else_is_forgiven() {
    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    let file = SecretSource::file(&path);
    for (contents, expected) in [
        (VALUE.to_owned(), Ok(VALUE.to_owned())),
        (format!("{VALUE}\n"), Ok(VALUE.to_owned())),
        (format!("{VALUE}\r\n"), Ok(VALUE.to_owned())),
        (format!("{VALUE}\n\n"), Err("ends with a line feed")),
        (format!("{VALUE} \n"), Err("ends with a space")),
        (format!(" {VALUE}"), Err("starts with a space")),
        (format!("{VALUE}\r"), Err("ends with a carriage return")),
        (
            format!("ab\u{7}{VALUE}"),
            Err("contains a control character"),
        ),
        ("\n".to_owned(), Err("is empty")),
        (String::new(), Err("is empty")),
    ] {
        std::fs::write(&path, &contents).unwrap();
        match (read(&file), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{contents:?}"),
            (Err((kind, text)), Err(want)) => {
                assert_eq!(kind, SecretSourceErrorKind::Malformed, "{contents:?}");
                assert!(text.contains(want), "{contents:?}: {text}");
            }
            (got, want) => panic!("{contents:?}: {got:?}, expected {want:?}"),
        }
    }
    std::fs::write(&path, [0xff, 0xfe, b'a']).unwrap();
    assert_eq!(read(&file).unwrap_err().0, SecretSourceErrorKind::Malformed);
    std::fs::write(&path, vec![b'a'; 64 * 1024 + 1]).unwrap();
    let (kind, text) = read(&file).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Malformed);
    assert!(text.contains("64 KiB"), "{text}");
}

#[test]
fn a_missing_or_unreadable_file_is_named_with_its_path() {
    let dir = temp_dir();
    let path = dir.path().join("gone");
    let (kind, text) = read(&SecretSource::file(&path)).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Missing);
    assert!(
        text.starts_with(&format!("the client secret from file {}", path.display())),
        "{text}"
    );
    // A directory opens on Linux but cannot be read.
    let (kind, _) = read(&SecretSource::file(dir.path())).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Unreadable);
}

#[test]
fn a_variable_is_read_by_the_same_rules() {
    // Set by cargo for every test process (the test changes no variable: other tests run
    // alongside).
    let source = SecretSource::env("CARGO_PKG_NAME");
    assert_eq!(read(&source).unwrap(), "seekpass-oauth-driver");
    assert!(source.is_watched());
    let unset = SecretSource::env("SEEKPASS_SECRET_SOURCE_TEST_UNSET");
    let (kind, text) = read(&unset).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Missing);
    assert_eq!(
        text,
        "the client secret from environment variable SEEKPASS_SECRET_SOURCE_TEST_UNSET is not set"
    );
}

#[test]
fn a_command_runs_without_a_shell_and_gives_its_standard_output() {
    // `$HOME` and the quotes reach the program as they are: no shell expands them.
    let source = SecretSource::command("printf", ["%s\n", "$HOME'x'"]);
    assert_eq!(read(&source).unwrap(), "$HOME'x'");
    assert!(!source.is_watched());
}

#[cfg(unix)]
#[test]
fn a_stand_in_for_op_read_is_run_with_its_arguments() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let op = dir.path().join("op");
    std::fs::write(
        &op,
        format!(
            "#!/bin/sh\nif [ \"$1 $2\" = 'read op://vault/seek-pass/client_secret' ]; then echo '{VALUE}'; exit 0; fi\necho \"[ERROR] item not found: $2\" >&2\nexit 1\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&op, std::fs::Permissions::from_mode(0o755)).unwrap();
    let found = SecretSource::command(&op, ["read", "op://vault/seek-pass/client_secret"]);
    // Another test's process, forked while the script was open for writing, can hold it open
    // until that child execs: the kernel then refuses to run it ("Text file busy"). A moment
    // later it runs.
    for _ in 0..20 {
        match read(&found) {
            Err((_, text)) if text.contains("Text file busy") => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => break,
        }
    }
    assert_eq!(read(&found).unwrap(), VALUE);
    let missing = SecretSource::command(&op, ["read", "op://vault/other/field"]);
    let (kind, text) = read(&missing).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Failed);
    assert!(text.contains("exit status: 1"), "{text}");
    assert!(
        text.ends_with(": [ERROR] item not found: op://vault/other/field"),
        "{text}"
    );
}

#[test]
fn a_failing_command_reports_its_standard_error_without_the_secret() {
    let script = format!("echo {VALUE}; echo \"denied for {VALUE} today\" >&2; exit 3");
    let (kind, text) = read(&SecretSource::command("sh", ["-c", script.as_str()])).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Failed);
    assert!(text.contains("exit status: 3"), "{text}");
    assert!(text.contains("denied for [redacted] today"), "{text}");
}

#[test]
fn a_command_past_its_timeout_is_killed() {
    let started = Instant::now();
    let source = SecretSource::command("sleep", ["30"]).timeout(Duration::from_millis(300));
    let (kind, text) = read(&source).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::TimedOut);
    assert!(text.contains("300ms"), "{text}");
    // The timeout, plus the 5 ms polling step and the time to reap the killed process.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_command_that_cannot_start_says_so() {
    let (kind, text) = read(&SecretSource::command("/nonexistent/op", ["read"])).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Failed);
    assert!(text.contains("could not be started"), "{text}");
}

#[test]
fn a_function_is_taken_by_the_same_rules() {
    assert_eq!(
        read(&SecretSource::from_fn(|| Ok(format!("{VALUE}\n")))).unwrap(),
        VALUE
    );
    let (kind, text) = read(&SecretSource::from_fn(|| Err("vault sealed".into()))).unwrap_err();
    assert_eq!(kind, SecretSourceErrorKind::Failed);
    assert_eq!(text, "the client secret from function failed: vault sealed");
    assert_eq!(
        read(&SecretSource::from_fn(|| Ok(" x".into())))
            .unwrap_err()
            .0,
        SecretSourceErrorKind::Malformed
    );
}

#[test]
fn debug_names_the_source_and_never_a_value() {
    let shown = format!("{:?}", SecretSource::from_fn(|| Ok(VALUE.into())));
    assert_eq!(shown, "SecretSource(\"function\")");
    let credentials = SecretSource::from_fn(|| Ok(VALUE.into()))
        .credentials("id")
        .unwrap();
    assert_eq!(credentials.client_secret().expose_secret(), VALUE);
}
