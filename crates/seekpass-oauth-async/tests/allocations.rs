//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

use std::future::Future;
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_hot_path_allocates_nothing() {
    let server = DemoServer::start(Duration::from_secs(3600)).unwrap();
    let config = Config::builder(
        Endpoint::base_url(&server.base_url()).unwrap(),
        Credentials::new(CLIENT_ID, CLIENT_SECRET),
    )
    .build()
    .unwrap();
    let source = TokenSource::builder(config).spawn(ReqwestSender::new().unwrap());
    source.authorization().await.unwrap();
    // A new thread's first call makes its copy of the token; from then on nothing is allocated.
    let n = std::thread::spawn(move || {
        // Polled once with a no-op waker: with a token held the future is ready at once.
        let ready = |s: &TokenSource| {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match std::pin::pin!(s.authorization()).poll(&mut cx) {
                std::task::Poll::Ready(result) => result.unwrap(),
                std::task::Poll::Pending => panic!("a token is held"),
            }
        };
        assert!(
            ALLOCATOR.allocations_in(|| drop(ready(&source))) > 0,
            "the counter counts"
        );
        ALLOCATOR.allocations_in(|| {
            for _ in 0..10_000 {
                std::hint::black_box(ready(&source));
            }
        })
    })
    .join()
    .unwrap();
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}
