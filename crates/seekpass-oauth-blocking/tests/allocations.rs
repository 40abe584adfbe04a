//! With a usable token held, `authorization()` allocates nothing: counted by a global
//! allocator for this thread's calls alone (the demo server's threads allocate freely).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use seekpass_oauth::{Config, Credentials, Endpoint};
use seekpass_oauth_blocking::{TokenSource, UreqSender};
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
        allocations(|| drop(source.authorization().unwrap())) > 0,
        "the counter counts"
    );
    drop(source.authorization().unwrap());
    let n = allocations(|| {
        for _ in 0..10_000 {
            std::hint::black_box(source.authorization().unwrap());
        }
    });
    assert_eq!(n, 0, "allocations in 10,000 calls with a token held");
}
