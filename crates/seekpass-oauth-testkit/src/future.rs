//! Polling a driver's future once, as a hot-path caller with a token held would.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `future` once with a no-op waker and returns its output.
///
/// # Panics
///
/// When the future is not ready at once: with a token held, the drivers' hot path never waits.
#[inline]
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("not ready at once: the hot path never waits with a token held"),
    }
}
