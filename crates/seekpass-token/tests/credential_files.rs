//! The client id and secret read from files (`CLIENT_ID_FILE`, `CLIENT_SECRET_FILE`, the flags),
//! as Docker, Compose and Kubernetes hand them over, against the embedded demo server.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::process::Output;

use seekpass_oauth_demo::{CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::env::{clean_command, run_clean};
use seekpass_oauth_testkit::secrets::{temp_dir, write_by_rename};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    run_clean(env!("CARGO_BIN_EXE_seekpass-token"), args, env)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn files_with_a_line_ending_give_the_credentials_and_the_flags_come_first() {
    let dir = temp_dir();
    let file = |name: &str, contents: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let id = file("id", &format!("{CLIENT_ID}\n"));
    let secret = file("secret", &format!("{CLIENT_SECRET}\r\n"));
    let other_id = file("other-id", "other-client\n");
    let wrong = file("wrong", "not-the-secret");
    for (args, env, code) in [
        (
            vec![],
            vec![("CLIENT_ID_FILE", &id), ("CLIENT_SECRET_FILE", &secret)],
            0,
        ),
        (
            vec!["--client-id-file", &id, "--client-secret-file", &secret],
            vec![],
            0,
        ),
        // Each file is read: another id or a wrong secret is refused by the server.
        (vec![], vec![("CLIENT_ID_FILE", &other_id)], 2),
        (vec![], vec![("CLIENT_SECRET_FILE", &wrong)], 2),
        (vec!["--client-id-file", &other_id], vec![], 2),
        // The flag is the file that is read, over the variable.
        (
            vec!["--client-secret-file", &wrong],
            vec![("CLIENT_SECRET_FILE", &secret)],
            2,
        ),
        (
            vec!["--client-secret-file", &secret],
            vec![("CLIENT_SECRET_FILE", &wrong)],
            0,
        ),
    ] {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = run(&args, &env);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} {env:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("not-the-secret"), "{}", stderr(&out));
    }
}

#[test]
fn a_file_that_cannot_be_used_is_a_usage_error_naming_it_and_never_its_contents() {
    let dir = temp_dir();
    let pasted = dir.path().join("pasted");
    std::fs::write(&pasted, " secret-from-a-web-page\n").unwrap();
    let missing = dir.path().join("missing");
    for (args, env, says) in [
        (
            vec!["--client-secret-file", pasted.to_str().unwrap()],
            vec![],
            format!(
                "the client secret from file {} starts with a space",
                pasted.display()
            ),
        ),
        (
            vec![],
            vec![("CLIENT_ID_FILE", missing.to_str().unwrap())],
            format!(
                "the client id from file {} could not be opened",
                missing.display()
            ),
        ),
        (
            vec![],
            vec![
                ("CLIENT_SECRET", "x"),
                ("CLIENT_SECRET_FILE", "/run/secrets/x"),
            ],
            "CLIENT_SECRET and CLIENT_SECRET_FILE are both set: keep one".to_owned(),
        ),
    ] {
        let out = run(&args, &env);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{text}");
        assert!(text.contains(&says), "{text}");
        assert!(!text.contains("secret-from-a-web-page"), "{text}");
    }
}

#[test]
fn watching_follows_a_rotation_of_the_secret_file() {
    let dir = temp_dir();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, CLIENT_SECRET).unwrap();
    let child = clean_command(
        env!("CARGO_BIN_EXE_seekpass-token"),
        &[("CLIENT_SECRET_FILE", secret.to_str().unwrap())],
    )
    .args(["--watch", "3"])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    write_by_rename(&secret, "rotated-secret\n");
    let out = child.wait_with_output().unwrap();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("the client secret changed").count(),
        1,
        "{text}"
    );
    assert!(!text.contains("rotated-secret"), "{text}");
}
