//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{TokenSource, UreqSender};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

#[test]
fn the_hot_path_allocates_nothing() {
    let server = DemoServer::start(Duration::from_secs(3600)).unwrap();
    let config = Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap();
    let source = TokenSource::builder(config).build(UreqSender::new());
    // The first call fetches; the second makes this thread's copy of the token.
    assert!(
        ALLOCATOR.allocations_in(|| drop(source.authorization().unwrap())) > 0,
        "the counter counts"
    );
    drop(source.authorization().unwrap());
    let n = ALLOCATOR.allocations_in(|| {
        for _ in 0..10_000 {
            std::hint::black_box(source.authorization().unwrap());
        }
    });
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}
