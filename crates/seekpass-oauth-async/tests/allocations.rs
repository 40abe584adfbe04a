//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_async::{ReqwestSender, TokenSource};
use seekpass_oauth_demo::{DemoServer, CLIENT_ID, CLIENT_SECRET};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made on this thread by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

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
            allocations(|| drop(ready(&source))) > 0,
            "the counter counts"
        );
        allocations(|| {
            for _ in 0..10_000 {
                std::hint::black_box(ready(&source));
            }
        })
    })
    .join()
    .unwrap();
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}
