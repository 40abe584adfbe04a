//! The source keeps no thread of its own (a refresh's short-lived thread ends with the refresh),
//! and dropping it leaves none behind. Alone in its test binary, so no other test's threads are
//! counted.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{TokenSource, UreqSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};

/// How many threads this process has now.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn no_thread_is_left_behind() {
    let server = DemoServer::start(Duration::from_secs(60)).unwrap();
    let config = Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap();
    // The demo server's threads for earlier connections end on their own; let them.
    let settle = || std::thread::sleep(Duration::from_millis(200));
    settle();
    let before = threads();
    let source = TokenSource::builder(config).build(UreqSender::new());
    source.authorization().unwrap();
    let clone = source.clone();
    std::thread::spawn(move || clone.authorization().unwrap())
        .join()
        .unwrap();
    settle();
    assert_eq!(threads(), before, "the source runs no thread of its own");
    drop(source);
    settle();
    assert_eq!(threads(), before);
}
