//! The command goes where curl goes, for every row of the proxy table
//! (`seekpass_oauth_testkit::proxy_table`), on a loopback lab of recording proxies; and `curl`
//! itself, run on the same lab, goes where the table says.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::Command;

use seekpass_oauth_testkit::env::clean_command;
use seekpass_oauth_testkit::proxy_table::{assert_none_wrong, ProxyCase, ProxyLab};

/// Runs `command(case)` for every row (as `expected` has it), with the row's proxy variables;
/// the rows that went elsewhere.
fn wrong_rows(
    lab: &ProxyLab,
    expected: impl Fn(&ProxyCase) -> ProxyCase,
    command: impl Fn(&ProxyCase) -> Command,
) -> Vec<String> {
    lab.wrong_rows(expected, |case, env| {
        let mut command = command(case);
        for (name, value) in env {
            if let Some(value) = value {
                command.env(name, value);
            }
        }
        let out = command.output().unwrap();
        assert!(!out.status.success(), "{}: no lab party answers", case.name);
    })
}

#[test]
fn the_command_goes_where_curl_goes() {
    let lab = ProxyLab::start().unwrap();
    let wrong = wrong_rows(
        &lab,
        |case| *case,
        |case| {
            let base = lab.base(case);
            let env = [
                ("SEEK_PASS_URL", base.as_str()),
                ("CLIENT_ID", "lab-client"),
                ("CLIENT_SECRET", "lab-secret"),
            ];
            let mut command = clean_command(env!("CARGO_BIN_EXE_seekpass-token"), &env);
            command.args(["--max-attempts", "1"]);
            command
        },
    );
    assert_none_wrong(&wrong);
}

/// The table is curl's behaviour, not only its documentation: curl 7.88.1 (Debian 12's) goes
/// where every row says, but for the rows `CURL_7_88_DIFFERS` names.
#[test]
#[ignore = "needs curl (the Debian package curl)"]
fn curl_goes_where_the_table_says() {
    let lab = ProxyLab::start().unwrap();
    let version = Command::new("curl").arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout);
    let expected = |case: &ProxyCase| {
        if version.starts_with("curl 7.88.") {
            case.curl_7_88()
        } else {
            *case
        }
    };
    let wrong = wrong_rows(&lab, expected, |case| {
        let url = format!("{}/api/partner/v1/oauth/token.json", lab.base(case));
        let mut command = clean_command("curl", &[]);
        command.args([
            "-fsS",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            "-d",
            "x",
            &url,
        ]);
        command
    });
    assert_none_wrong(&wrong);
}
