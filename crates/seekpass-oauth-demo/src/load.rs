//! Load for the drivers' benchmarks: the same call on every core at once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How many threads "every core" is here.
#[must_use]
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Runs `call` `iters` times on each of `threads` threads released together, and returns the
/// longest time one thread took: divided by `iters`, the per-call time each caller sees while
/// every other thread calls too (for criterion's `iter_custom`).
pub fn on_threads<F>(threads: usize, iters: u64, call: F) -> Duration
where
    F: Fn() + Send + Sync + 'static,
{
    let call = Arc::new(call);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (call, barrier) = (Arc::clone(&call), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    call();
                }
                start.elapsed()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_default())
        .max()
        .unwrap_or_default()
}
