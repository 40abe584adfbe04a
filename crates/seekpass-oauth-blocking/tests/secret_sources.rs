//! The blocking driver reading its client secret from a file, a function and a command: a
//! rotation seen within a second and the token kept, a vanished file that keeps the last good
//! secret, and `invalid_client` answered by reading the source once more.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seekpass_oauth::{Event, FailureClass};
use seekpass_oauth_blocking::{SecretSource, TokenSource, UreqSender, CHECK_INTERVAL};
use seekpass_oauth_testkit::events::Events;
use seekpass_oauth_testkit::secrets::{temp_dir, write_by_rename, KubeSecret, SecretServer};

/// A change is seen within one check interval, and the step it wakes takes a few milliseconds
/// more: one second, as the rule promises, is the bound.
const SEEN_WITHIN: Duration = Duration::from_secs(1);

fn rotated(e: &Event) -> bool {
    matches!(e, Event::SecretRotated { .. })
}

/// A source over `secret`, reporting into `events`, with its first token held.
fn started(server: &SecretServer, secret: SecretSource, events: &Events) -> TokenSource {
    let config = server
        .config(secret.credentials("id").unwrap())
        .build()
        .unwrap();
    let source = TokenSource::builder(config)
        .client_secret_source(secret)
        .on_event(events.handler())
        .build(UreqSender::new());
    source.authorization().unwrap();
    source
}

#[test]
fn a_file_replaced_by_rename_is_seen_within_a_second_and_the_token_is_kept() {
    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "old-secret\n").unwrap();
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, SecretSource::file(&path), &events);
    let first = source.served().unwrap().token;

    server.accept(&["old-secret", "new-secret"]);
    write_by_rename(&path, "new-secret\n");
    let seen = events.wait_for(rotated, SEEN_WITHIN, || {
        source.authorization().unwrap();
    });
    assert!(
        seen.is_some(),
        "no rotation within {SEEN_WITHIN:?}: {:?}",
        events.all()
    );
    assert_eq!(source.served().unwrap().token, first, "the token is kept");
    assert_eq!(
        server.sent(),
        ["old-secret"],
        "no request for the rotation itself"
    );

    // The next token is fetched with the new secret alone.
    server.accept(&["new-secret"]);
    assert!(source.invalidate(first));
    assert_ne!(source.served().unwrap().token, first);
    assert_eq!(server.sent(), ["old-secret", "new-secret"]);
}

#[test]
fn the_kubernetes_data_symlink_swap_is_seen_within_a_second() {
    let dir = temp_dir();
    let mut volume = KubeSecret::new(dir.path(), "client_secret", "old-secret\n");
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, SecretSource::file(volume.path()), &events);

    server.accept(&["new-secret"]);
    volume.update("new-secret\n");
    let seen = events.wait_for(rotated, SEEN_WITHIN, || {
        source.authorization().unwrap();
    });
    assert!(
        seen.is_some(),
        "no rotation within {SEEN_WITHIN:?}: {:?}",
        events.all()
    );
    let first = source.served().unwrap().token;
    assert!(source.invalidate(first));
    source.authorization().unwrap();
    assert_eq!(server.sent(), ["old-secret", "new-secret"]);
}

#[test]
fn a_vanished_file_keeps_the_last_good_secret_and_is_reported_once() {
    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "the-secret").unwrap();
    let server = SecretServer::start("the-secret");
    let events = Events::new();
    let source = started(&server, SecretSource::file(&path), &events);

    std::fs::remove_file(&path).unwrap();
    let unreadable = |e: &Event| matches!(e, Event::SecretUnreadable { .. });
    assert!(events
        .wait_for(unreadable, SEEN_WITHIN, || {
            source.authorization().unwrap();
        })
        .is_some());
    // Three more intervals of calls: still served, reported once.
    let _ = events.wait_for(
        |_| false,
        CHECK_INTERVAL * 3,
        || {
            source.authorization().unwrap();
        },
    );
    assert_eq!(events.count(unreadable), 1, "{:?}", events.all());
    let reported = events.all().into_iter().find(unreadable).unwrap();
    let Event::SecretUnreadable {
        source: from,
        reason,
    } = reported
    else {
        unreachable!()
    };
    assert_eq!(from, format!("file {}", path.display()));
    assert!(reason.contains("could not be opened"), "{reason}");
    assert!(!reason.contains("the-secret"), "{reason}");

    // A new token is still fetched with the last good secret.
    let first = source.served().unwrap().token;
    assert!(source.invalidate(first));
    source.authorization().unwrap();
    assert_eq!(server.sent(), ["the-secret", "the-secret"]);
    assert_eq!(events.count(rotated), 0);
}

/// A function source over `current`, counting its calls.
fn counted(current: &Arc<Mutex<String>>) -> (SecretSource, Arc<AtomicUsize>) {
    let reads = Arc::new(AtomicUsize::new(0));
    let (value, count) = (Arc::clone(current), Arc::clone(&reads));
    let source = SecretSource::from_fn(move || {
        count.fetch_add(1, Ordering::SeqCst);
        Ok(value.lock().unwrap().clone())
    });
    (source, reads)
}

#[test]
fn invalid_client_reads_the_source_again_and_a_new_secret_is_tried_at_once() {
    let current = Arc::new(Mutex::new("old-secret".to_owned()));
    let (secret, reads) = counted(&current);
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, secret, &events);
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "read once, for the configuration"
    );

    // The secret is rotated in the vault and the old one revoked, unseen by the process.
    *current.lock().unwrap() = "new-secret".into();
    server.accept(&["new-secret"]);
    let first = source.served().unwrap().token;
    assert!(source.invalidate(first));
    let second = source.served().expect("no caller is told of the refusal");
    assert_ne!(second.token, first);
    assert_eq!(server.sent(), ["old-secret", "old-secret", "new-secret"]);
    assert_eq!(
        reads.load(Ordering::SeqCst),
        2,
        "read once more, after invalid_client"
    );
    assert_eq!(events.count(rotated), 1);
}

#[test]
fn invalid_client_with_the_secret_unchanged_fails_as_before() {
    let current = Arc::new(Mutex::new("the-secret".to_owned()));
    let (secret, reads) = counted(&current);
    let server = SecretServer::start("the-secret");
    let events = Events::new();
    let source = started(&server, secret, &events);

    server.accept(&[]);
    let first = source.served().unwrap().token;
    assert!(source.invalidate(first));
    let error = source.authorization().unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");
    assert!(error.to_string().contains("invalid_client"), "{error}");
    assert_eq!(server.sent(), ["the-secret", "the-secret"], "no retry");
    assert_eq!(
        reads.load(Ordering::SeqCst),
        2,
        "read once more, and only once"
    );
    assert_eq!(events.count(rotated), 0);
}

#[test]
fn a_secret_fixed_in_its_file_ends_a_give_up() {
    let dir = temp_dir();
    let path = dir.path().join("client_secret");
    std::fs::write(&path, "old-secret\n").unwrap();
    let server = SecretServer::start("old-secret");
    let events = Events::new();
    let source = started(&server, SecretSource::file(&path), &events);

    // The server moves on before the file does, and a token is needed in between: the forced
    // read finds the file unchanged, and callers are told.
    server.accept(&["new-secret"]);
    assert!(source.invalidate(source.served().unwrap().token));
    let error = source.authorization().unwrap_err();
    assert_eq!(error.class(), FailureClass::Permanent, "{error}");

    // The file follows: the next call after the check interval reads it and is served.
    write_by_rename(&path, "new-secret\n");
    std::thread::sleep(CHECK_INTERVAL);
    source
        .authorization()
        .expect("the new secret ends the give-up");
    assert_eq!(server.sent(), ["old-secret", "old-secret", "new-secret"]);
}
