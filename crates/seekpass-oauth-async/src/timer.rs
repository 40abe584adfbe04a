//! Waiting until a moment, on the caller's runtime: the one thing besides sending that the
//! driver needs from it.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A sleep on some runtime's timer.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A runtime's timer.
pub trait Timer: Send + Sync + 'static {
    /// Completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// tokio's timer (needs a tokio runtime with time enabled).
#[cfg(feature = "tokio")]
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }
}

/// async-io's timer: smol's and async-std's, usable from any executor.
#[cfg(feature = "smol")]
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIoTimer;

#[cfg(feature = "smol")]
impl Timer for AsyncIoTimer {
    fn sleep_until(&self, deadline: Instant) -> Sleep {
        let timer = async_io::Timer::at(deadline);
        Box::pin(async move {
            timer.await;
        })
    }
}
