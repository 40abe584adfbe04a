//! The command as a user meets it: no setup (the embedded demo server), the output forms and
//! the exit codes scripts rely on.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::Output;

use seekpass_oauth_testkit::env::run_clean;

/// The command with `args`, none of the developer's credential, trust or proxy variables, and
/// `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_clean(env!("CARGO_BIN_EXE_seekpass-token"), args, env)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn with_no_setup_the_demo_server_answers_and_the_token_is_exported() {
    let out = run(&["--scope", "write.education"], &[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("DEMO: SEEK_PASS_URL is not set"),
        "{stderr}"
    );
    assert!(stderr.contains("scope:      write.education"), "{stderr}");
    let line = stdout.trim();
    let token = line.strip_prefix("export ACCESS_TOKEN=").expect(line);
    assert_eq!(token.len(), 43, "a Doorkeeper-shaped token");
    assert!(!stderr.contains(token), "the token goes to stdout only");
}

#[test]
fn json_is_exactly_one_object_on_stdout() {
    let out = run(
        &["--json", "--scope", "write.education write.microcredential"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["expires_in"], 30);
    assert_eq!(json["scope"], "write.education write.microcredential");
    assert_eq!(json["state"], "fresh");
    assert!(json["created_at"].is_u64());
    assert!(text(&out.stderr).is_empty(), "--json is quiet");
}

#[test]
fn a_wrong_secret_exits_2_and_says_what_to_fix() {
    let out = run(&[], &[("CLIENT_SECRET", "wrong")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("permanent failure"), "{stderr}");
    assert!(
        stderr.contains("check CLIENT_ID and CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong"),
        "the secret is never shown: {stderr}"
    );
    let out = run(&["--json", "--scope", "write.bogus"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"], "invalid_scope");
    assert_eq!(json["status"], 400);
}

#[test]
fn transient_failures_past_max_attempts_exit_3_and_say_they_gave_up() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = [
        ("SEEK_PASS_URL", base.as_str()),
        ("CLIENT_ID", "id"),
        ("CLIENT_SECRET", "secret"),
    ];
    let out = run(&["--max-attempts", "2"], &env);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("gave up after 2 failed attempts"), "{stderr}");
    assert!(
        last.contains("connection refused"),
        "the failure is named: {stderr}"
    );
    let out = run(&["--json", "--max-attempts", "1"], &env);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["class"], "transient");
    assert_eq!(json["status"], serde_json::Value::Null);
}

#[test]
fn a_host_name_that_does_not_resolve_says_so() {
    let env = [
        ("SEEK_PASS_URL", "https://seekpass-test.invalid"),
        ("CLIENT_ID", "id"),
        ("CLIENT_SECRET", "secret"),
    ];
    let out = run(&["--max-attempts", "1"], &env);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the host name does not resolve"),
        "{stderr}"
    );
    assert!(stderr.contains("SEEK_PASS_URL"), "{stderr}");
}

#[test]
fn bad_usage_exits_64_and_help_exits_0() {
    for args in [
        &["--bogus"][..],
        &["--auth", "digest"],
        &["--max-attempts", "0"],
        &["--scope", "a\"b"],
    ] {
        let out = run(args, &[]);
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Exit status:"));
    let out = run(&[], &[("SEEK_PASS_URL", "http://example.com")]);
    assert_eq!(out.status.code(), Some(64), "plain http only to loopback");
}

#[test]
fn watch_keeps_the_token_fresh_and_prints_each_change() {
    // Demo tokens live 30 s and are refreshed from 15 s on: 17 s sees one refresh at least.
    let out = run(&["--watch", "17", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let acquired = stderr.matches("acquired").count();
    assert!(acquired >= 2, "{stderr}");
    assert!(stderr.contains("state fresh"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
}

#[test]
fn watch_without_json_prints_each_new_token_as_it_is_taken_up() {
    let out = run(&["--watch", "17"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let exports: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("export ACCESS_TOKEN="))
        .collect();
    assert_eq!(exports.len(), stdout.lines().count(), "{stdout}");
    // The first token, its refresh, and the final summary's line (the token in use).
    assert!(exports.len() >= 3, "{stdout}");
    assert_ne!(exports[0], exports[1]);
    assert_eq!(exports[exports.len() - 1], exports[exports.len() - 2]);
}

#[test]
fn a_share_url_that_cannot_be_used_is_a_usage_error() {
    let out = run(&["--share", "memcached://127.0.0.1:11211"], &[]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--share"), "{stderr}");
    assert!(stderr.contains("redis://"), "{stderr}");
}

#[test]
fn credentials_as_people_paste_them_are_a_usage_error_naming_the_variable() {
    for (var, value, says) in [
        (
            "CLIENT_SECRET",
            "Sx7-pasted\n",
            "CLIENT_SECRET ends with a line feed",
        ),
        (
            "CLIENT_SECRET",
            "Sx7-pasted\r\n",
            "CLIENT_SECRET ends with a line feed",
        ),
        (
            "CLIENT_SECRET",
            " Sx7-pasted",
            "CLIENT_SECRET starts with a space",
        ),
        (
            "CLIENT_ID",
            "Sx7-pasted\r",
            "CLIENT_ID ends with a carriage return",
        ),
    ] {
        // The demo server and the real endpoint alike.
        for url in [None, Some("https://app.seekpass-staging.com")] {
            let mut env = vec![(var, value)];
            env.extend(url.map(|u| ("SEEK_PASS_URL", u)));
            if var == "CLIENT_ID" {
                env.push(("CLIENT_SECRET", "demo-secret"));
            } else {
                env.push(("CLIENT_ID", "demo-client"));
            }
            let out = run(&[], &env);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(64), "{var}={value:?}: {stderr}");
            assert!(stderr.contains(says), "{stderr}");
            assert!(
                !stderr.contains("Sx7"),
                "the value is never shown: {stderr}"
            );
        }
    }
}

#[test]
fn a_url_with_a_password_is_refused_without_showing_it() {
    for url in [
        "https://id:Sx7-in-url@app.seekpass-staging.com",
        "https://app.seekpass-staging.com/?client_secret=Sx7-in-url",
    ] {
        let env = [
            ("SEEK_PASS_URL", url),
            ("CLIENT_ID", "i"),
            ("CLIENT_SECRET", "s"),
        ];
        let out = run(&[], &env);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{stderr}");
        assert!(!stderr.contains("Sx7"), "{stderr}");
        assert!(stderr.contains("[redacted]"), "{stderr}");
    }
    let url = "https://id:Sx7-in-url@app.seekpass-staging.com/oauth/token";
    let out = run(
        &["--token-url", url],
        &[("CLIENT_ID", "i"), ("CLIENT_SECRET", "s")],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(!stderr.contains("Sx7"), "{stderr}");
}

#[test]
fn the_store_url_comes_from_seek_pass_share_and_a_password_on_the_command_line_is_warned_of() {
    // From the environment: read (this one cannot be used, which says it was read).
    let out = run(&[], &[("SEEK_PASS_SHARE", "memcached://127.0.0.1:11211")]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("redis://"),
        "{}",
        text(&out.stderr)
    );
    // On the command line with a password: it works, with a warning that names the way out.
    let port = seekpass_oauth_testkit::net::closed_port();
    let url = format!("redis://:Sx7-store@127.0.0.1:{port}");
    let out = run(&["--share", &url, "--max-attempts", "1"], &[]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: the --share URL holds a password"),
        "{stderr}"
    );
    assert!(stderr.contains("SEEK_PASS_SHARE"), "{stderr}");
    assert!(!stderr.contains("Sx7-store"), "{stderr}");
    // From the environment with a password: no warning.
    let out = run(
        &["--max-attempts", "1"],
        &[("SEEK_PASS_SHARE", url.as_str())],
    );
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!stderr.contains("Sx7-store"), "{stderr}");
    // On the command line without a password: nothing to warn of.
    let bare = format!("redis://127.0.0.1:{port}");
    let out = run(&["--share", &bare, "--max-attempts", "1"], &[]);
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn the_token_request_names_the_command_and_the_crate() {
    let (base, seen) = seekpass_oauth_testkit::net::token_server();
    let url = format!("{base}/oauth/token");
    let out = run(
        &["--token-url", &url],
        &[("CLIENT_ID", "i"), ("CLIENT_SECRET", "s")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let agent = seekpass_oauth_testkit::net::the_user_agent(&seen);
    assert_eq!(
        agent,
        Some(format!(
            "seekpass-token/{} {}",
            env!("CARGO_PKG_VERSION"),
            seekpass_oauth::USER_AGENT_PRODUCT
        ))
    );
}
