//! Load for the drivers' tests and benchmarks: many callers at once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// How many threads "every core" is here.
#[must_use]
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Runs `f` on `n` threads released together (a barrier), and returns their results in
/// order: the way tests make fifty callers arrive at once.
///
/// # Panics
///
/// When a thread panics (a failed assertion inside `f`).
pub fn together<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn() -> T + Send + Sync + 'static,
{
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (f, barrier) = (Arc::clone(&f), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
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
