//! The file store answers each command as Redis does, keeps its files to the user, and never
//! trusts a file it did not write.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::sync::{Arc, Barrier};
use std::time::Duration;

use seekpass_oauth_testkit::secrets::temp_dir;

use super::*;

const KEY: &str = "seekpass-oauth:v2:{0123}:token";

fn read(key: &str) -> StoreCommand {
    StoreCommand::Read { key: key.into() }
}

fn lock(owner: &str, ttl: Duration) -> StoreCommand {
    StoreCommand::Lock {
        key: KEY.into(),
        owner: owner.into(),
        ttl,
    }
}

fn write(value: &str, ttl: Duration) -> StoreCommand {
    StoreCommand::Write {
        key: KEY.into(),
        value: StoredValue::new(value.as_bytes().to_vec()),
        ttl,
    }
}

fn found(answer: StoreAnswer) -> (Vec<u8>, Duration) {
    match answer {
        StoreAnswer::Found {
            value,
            ttl: Some(ttl),
        } => (value.as_bytes().to_vec(), ttl),
        other => panic!("not found: {other:?}"),
    }
}

#[test]
fn each_command_is_answered_as_redis_answers_it() {
    let dir = temp_dir();
    let store = FileStore::new(dir.path().join("cache"));
    let minute = Duration::from_secs(60);
    assert_eq!(store.run(&read(KEY)).unwrap(), StoreAnswer::Missing);
    assert_eq!(store.run(&lock("a", minute)).unwrap(), StoreAnswer::Done);
    assert_eq!(store.run(&lock("b", minute)).unwrap(), StoreAnswer::Refused);
    let unlock = |owner: &str| StoreCommand::Unlock {
        key: KEY.into(),
        owner: owner.into(),
    };
    assert_eq!(store.run(&unlock("b")).unwrap(), StoreAnswer::Refused);
    assert_eq!(store.run(&unlock("a")).unwrap(), StoreAnswer::Done);
    assert_eq!(store.run(&lock("b", minute)).unwrap(), StoreAnswer::Done);

    assert_eq!(
        store.run(&write("the value", minute)).unwrap(),
        StoreAnswer::Done
    );
    let (value, ttl) = found(store.run(&read(KEY)).unwrap());
    assert_eq!(value, b"the value");
    assert!(ttl <= minute && ttl > Duration::from_secs(59), "{ttl:?}");
    let forget = |value: &str| StoreCommand::Forget {
        key: KEY.into(),
        value: StoredValue::new(value.as_bytes().to_vec()),
    };
    assert_eq!(store.run(&forget("another")).unwrap(), StoreAnswer::Refused);
    assert_eq!(store.run(&forget("the value")).unwrap(), StoreAnswer::Done);
    assert_eq!(store.run(&read(KEY)).unwrap(), StoreAnswer::Missing);
}

#[test]
fn a_value_past_its_deadline_is_gone() {
    let dir = temp_dir();
    let store = FileStore::new(dir.path().join("store"));
    store
        .run(&write("short", Duration::from_millis(50)))
        .unwrap();
    assert!(matches!(
        store.run(&read(KEY)).unwrap(),
        StoreAnswer::Found { .. }
    ));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(store.run(&read(KEY)).unwrap(), StoreAnswer::Missing);
    // An expired lock is no lock.
    assert_eq!(
        store.run(&lock("a", Duration::from_secs(60))).unwrap(),
        StoreAnswer::Done
    );
}

#[test]
fn a_corrupted_or_foreign_file_is_ignored_and_replaced() {
    let dir = temp_dir();
    let store = FileStore::new(dir.path().join("store"));
    let path = store.path(KEY);
    assert_eq!(
        store.run(&read(KEY)).unwrap(),
        StoreAnswer::Missing,
        "the directory is made"
    );
    for garbage in [
        &b"not a header\nvalue"[..],
        b"seekpass-oauth-store v1 never\nvalue",
        b"seekpass-oauth-store v9 99999999999999\nvalue",
        b"seekpass-oauth-store v1 99999999999999",
        &[0xff; 70_000],
    ] {
        std::fs::write(&path, garbage).unwrap();
        assert_eq!(
            store.run(&read(KEY)).unwrap(),
            StoreAnswer::Missing,
            "{:?}",
            &garbage[..20]
        );
    }
    assert_eq!(
        store.run(&lock("a", Duration::from_secs(60))).unwrap(),
        StoreAnswer::Done,
        "a foreign file holds no lock"
    );
    store.run(&write("mine", Duration::from_secs(60))).unwrap();
    assert_eq!(found(store.run(&read(KEY)).unwrap()).0, b"mine");
}

#[cfg(unix)]
#[test]
fn the_directory_and_files_are_the_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let store = FileStore::new(dir.path().join("made"));
    store.run(&write("v", Duration::from_secs(60))).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(store.dir()), 0o700);
    assert_eq!(mode(&store.path(KEY)), 0o600);
    assert_eq!(mode(&store.dir().join(".lock")), 0o600);
    // The key's hash names the file: nothing of the key shows in the directory.
    let name = store
        .path(KEY)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(name.len(), 32);
    assert!(name.chars().all(|c| c.is_ascii_hexdigit()), "{name}");

    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = FileStore::new(&open).run(&read(KEY)).unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Denied);
    assert!(error.to_string().contains("chmod 700"), "{error}");
}

#[test]
fn of_many_threads_locking_at_once_one_gets_the_lock() {
    let dir = temp_dir();
    let store = FileStore::new(dir.path().join("store"));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let (store, start) = (store.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                store.run(&lock(&format!("owner-{n}"), Duration::from_secs(60)))
            })
        })
        .collect();
    let done = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .filter(|a| *a == StoreAnswer::Done)
        .count();
    assert_eq!(done, 1);
}
