//! The async driver reading its client secret from a file and a command: the driver task sees
//! a rotation by itself, with no caller asking, and reads a command's secret off the runtime's
//! threads after `invalid_client`.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::Event;
use seekpass_oauth_async::{ReqwestSender, SecretSource, TokenSource};
use seekpass_oauth_testkit::events::Events;
use seekpass_oauth_testkit::secrets::{temp_dir, write_by_rename, SecretServer};

/// A change is seen within one check interval, and the step it wakes takes a few milliseconds
/// more: one second, as the rule promises, is the bound.
const SEEN_WITHIN: Duration = Duration::from_secs(1);

fn rotated(e: &Event) -> bool {
    matches!(e, Event::SecretRotated { .. })
}

async fn started(server: &SecretServer, secret: SecretSource, events: &Events) -> TokenSource {
    let config = server
        .config(secret.credentials("id").unwrap())
        .build()
        .unwrap();
    let source = TokenSource::builder(config)
        .client_secret_source(secret)
        .on_event(events.handler())
        .spawn(ReqwestSender::new().unwrap());
    source.authorization().await.unwrap();
    source
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_task_sees_a_replaced_file_with_no_caller_asking() {
    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "old-secret\n").unwrap();
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, SecretSource::file(&path), &events).await;
    let first = source.served().await.unwrap().token;

    server.accept(&["new-secret"]);
    write_by_rename(&path, "new-secret\n");
    let watcher = events.clone();
    let seen = tokio::task::spawn_blocking(move || watcher.wait_for(rotated, SEEN_WITHIN, || {}))
        .await
        .unwrap();
    assert!(
        seen.is_some(),
        "no rotation within {SEEN_WITHIN:?}: {:?}",
        events.all()
    );
    assert_eq!(
        source.served().await.unwrap().token,
        first,
        "the token is kept"
    );
    assert!(source.invalidate(first));
    source.authorization().await.unwrap();
    assert_eq!(server.sent(), ["old-secret", "new-secret"]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_command_is_run_again_after_invalid_client_without_blocking_the_runtime() {
    let dir = temp_dir();
    let path = dir.path().join("vault");
    std::fs::write(&path, "old-secret").unwrap();
    // A slow vault CLI: half a second, then the secret. On a current-thread runtime, a read on
    // the driver task itself would stall the ticker below for that long.
    let script = format!("sleep 0.5; cat '{}'", path.display());
    let secret = SecretSource::command("sh", ["-c", script.as_str()]);
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, secret, &events).await;

    std::fs::write(&path, "new-secret").unwrap();
    server.accept(&["new-secret"]);
    let first = source.served().await.unwrap().token;
    assert!(source.invalidate(first));
    let ticker = tokio::spawn(async {
        let mut longest = Duration::ZERO;
        for _ in 0..60 {
            let started = std::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            longest = longest.max(started.elapsed());
        }
        longest
    });
    let second = source.served().await.unwrap();
    assert_ne!(second.token, first);
    assert_eq!(server.sent(), ["old-secret", "old-secret", "new-secret"]);
    assert_eq!(events.count(rotated), 1);
    // A 10 ms sleep never took as long as the command's half second.
    let longest = ticker.await.unwrap();
    assert!(longest < Duration::from_millis(300), "{longest:?}");
}
