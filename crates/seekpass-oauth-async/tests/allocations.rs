//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};
use seekpass_oauth_testkit::alloc::CountingAllocator;
use seekpass_oauth_testkit::future::ready;

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
        let authorization = |s: &TokenSource| ready(s.authorization()).unwrap();
        assert!(
            ALLOCATOR.allocations_in(|| drop(authorization(&source))) > 0,
            "the counter counts"
        );
        ALLOCATOR.allocations_in(|| {
            for _ in 0..10_000 {
                std::hint::black_box(authorization(&source));
            }
        })
    })
    .join()
    .unwrap();
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}

/// Answers the first request with a token of six seconds and refuses every later one: the
/// refresh, due at half the token's life, fails and backs off while the token is still served.
struct FirstThenRefused(std::sync::atomic::AtomicUsize);

impl seekpass_oauth_async::Sender for FirstThenRefused {
    async fn send(
        &self,
        _request: seekpass_oauth::http::Request<seekpass_oauth::RequestBody>,
        _max_body: usize,
    ) -> Result<seekpass_oauth::http::Response<Vec<u8>>, seekpass_oauth::TransportError> {
        use seekpass_oauth::{TransportError, TransportErrorKind};
        if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let body = seekpass_oauth_testkit::body::token("six-seconds", 6);
            Ok(seekpass_oauth::http::Response::new(body.into_bytes()))
        } else {
            Err(TransportError::new(
                TransportErrorKind::ConnectionRefused,
                "refused",
            ))
        }
    }
}

/// Through the refresh window and its back-off (a six-second token whose refreshes are refused,
/// served until 5.4 s), two threads calling all the while: no call allocates. A due refresh
/// only wakes the driver task.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn through_the_refresh_window_and_its_back_off_nothing_is_allocated() {
    use std::time::Instant;

    let config = seekpass_oauth_testkit::demo::config("http://127.0.0.1:9", CLIENT_SECRET);
    let sender = FirstThenRefused(Default::default());
    let source = TokenSource::builder(config).spawn(sender);
    let token = source.token().await.unwrap();
    let until = Instant::now() + Duration::from_millis(5_000);
    let calls = move |source: TokenSource| {
        std::thread::spawn(move || {
            let authorization = |s: &TokenSource| ready(s.authorization()).unwrap();
            drop(authorization(&source)); // this thread's copy of the token
            let mut allocated = 0;
            while Instant::now() < until {
                allocated +=
                    ALLOCATOR.allocations_in(|| drop(std::hint::black_box(authorization(&source))));
            }
            allocated
        })
    };
    let (one, two) = (calls(source.clone()), calls(source.clone()));
    let allocated = one.join().unwrap() + two.join().unwrap();
    assert_eq!(
        allocated, 0,
        "allocations through the refresh window and back-off"
    );
    let state = source.state();
    assert_eq!(
        state.token().map(|t| t.id()),
        Some(token.id()),
        "still the first token"
    );
    assert!(
        matches!(
            state,
            seekpass_oauth_async::State::Expiring {
                last_error: Some(_),
                ..
            }
        ),
        "the refresh failed and backs off: {state:?}"
    );
}

/// A pool's hot path: with tokens held for 100 keys, 10,000 calls over them from another
/// thread allocate nothing once that thread has read each key.
/// (The demo server knows one client, so every key resolves to its credentials.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_pools_hot_path_allocates_nothing() {
    use seekpass_oauth::PoolLimits;
    use seekpass_oauth_async::SourcePool;

    let server = DemoServer::start(Duration::from_secs(3600)).unwrap();
    let base = server.base_url();
    let pool = SourcePool::builder(move |_key: &u32| {
        let base = base.clone();
        async move {
            let credentials = Credentials::new(CLIENT_ID, CLIENT_SECRET);
            let endpoint = Endpoint::base_url(&base).unwrap();
            Config::builder(endpoint, credentials).build().ok()
        }
    })
    .limits(PoolLimits::default().max_per_second(1_000))
    .spawn(ReqwestSender::new().unwrap());
    let keys: Vec<u32> = (0..100).collect();
    for key in &keys {
        pool.authorization(key).await.unwrap();
    }
    let n = std::thread::spawn(move || {
        // This thread's first read of a key makes its stripe's copy of the token, and its first
        // read of the map registers it with the map's memory reclamation: once per thread and
        // token, not per call.
        for key in &keys {
            ready(pool.authorization(key)).unwrap();
        }
        ALLOCATOR.allocations_in(|| {
            for i in 0..10_000 {
                let key = &keys[i % keys.len()];
                std::hint::black_box(ready(pool.authorization(key)).unwrap());
            }
        })
    })
    .join()
    .unwrap();
    assert_eq!(
        n, 0,
        "allocations in 10,000 calls over 100 keys with tokens held"
    );
}
