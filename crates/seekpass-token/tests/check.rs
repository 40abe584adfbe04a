//! `seekpass-token --check`: the token's health as an exit status and one line, against the
//! embedded demo server (30-second tokens, served for 27 s).

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::Output;

use seekpass_oauth_testkit::env::run_clean;

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_clean(env!("CARGO_BIN_EXE_seekpass-token"), args, env)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ready_exits_0_with_one_line_and_no_token() {
    let out = run(&["--check"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with("ready: the token is served for 2"),
        "about 27 s: {text}"
    );
    assert!(!text.contains("ACCESS_TOKEN"), "{text}");
}

#[test]
fn less_than_the_minimum_left_exits_1() {
    let out = run(&["--check", "--min-remaining", "1m"], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with("ready: the token is served for "),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with(", less than the --min-remaining 1m"),
        "{text}"
    );
    let out = run(&["--check", "--min-remaining", "20s"], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn no_token_exits_2_saying_why() {
    let out = run(&["--check"], &[("CLIENT_SECRET", "wrong")]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = stdout(&out);
    assert!(
        text.starts_with("unavailable: no token; attempts have failed for "),
        "{text}"
    );
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong"), "the secret is never shown: {text}");
}

#[test]
fn json_is_one_object_with_the_health_and_the_status() {
    let out = run(&["--check", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["health"], "ready");
    assert_eq!(json["status"], 0);
    assert!(json["reason"].as_str().unwrap().starts_with("ready: "));
}

#[test]
fn check_is_one_look() {
    for args in [
        &["--check", "--watch", "3"][..],
        &["--min-remaining", "5m"],
        &["--check", "--min-remaining", "soon"],
    ] {
        let out = run(args, &[]);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {out:?}");
    }
}
