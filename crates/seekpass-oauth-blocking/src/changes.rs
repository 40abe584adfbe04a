//! A count of changes waiting threads sleep on: bumped after every step and answer, so a thread
//! that read the count before looking at the token sleeps only until something changed.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct Changes {
    count: Mutex<u64>,
    signal: Condvar,
}

impl Changes {
    /// The count now: pass it to [`Changes::wait`] after looking.
    pub(crate) fn seen(&self) -> u64 {
        *self.count()
    }

    /// Something changed: wakes every waiting thread.
    pub(crate) fn bump(&self) {
        let mut count = self.count();
        *count = count.wrapping_add(1);
        self.signal.notify_all();
    }

    /// Sleeps until the count moves past `seen` or `until` passes.
    pub(crate) fn wait(&self, seen: u64, until: Instant) {
        let mut count = self.count();
        while *count == seen {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            count = self
                .signal
                .wait_timeout(count, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn count(&self) -> MutexGuard<'_, u64> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
