//! The hot path's clock. Every call checks its token's deadline, so the clock read is a large
//! part of the call: `Instant::now()` (`CLOCK_MONOTONIC`) costs about 17 ns on the 2-core VM
//! the benchmarks run on, `CLOCK_MONOTONIC_COARSE` about 6 ns. The coarse clock lags by up to
//! one kernel tick (1–10 ms), so serving deadlines on it are moved `SAFETY` earlier, and moments
//! that kick the driver (a refresh, a wake-up) `SAFETY` later: a token is never served past its
//! serving deadline, and a kick never reaches the machine before its moment. Elsewhere than
//! Linux and Android, `Instant` is used, with the same safety margin.

use std::time::{Duration, Instant};

/// More than the coarse clock's worst lag (a tick at `HZ=100` is 10 ms).
pub(crate) const SAFETY: Duration = Duration::from_millis(25);

/// Now, on the hot path's clock (a duration since some fixed moment).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
pub fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::MonotonicCoarse);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Now, on the hot path's clock (a duration since some fixed moment).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
pub fn now() -> Duration {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed()
}

/// `deadline` on the hot path's clock.
pub(crate) fn at(deadline: Instant) -> Duration {
    now().saturating_add(deadline.saturating_duration_since(Instant::now()))
}

/// A year after `now`, for a deadline that never comes (saturating: `Instant + Duration` panics
/// past the platform's range, which `Duration::MAX` reaches).
pub fn far_future(now: Instant) -> Instant {
    later(now, Duration::from_secs(86_400 * 365))
}

/// `instant + wait`, or the latest moment the platform can represent near it: a caller's
/// `max_wait(Duration::MAX)` means "wait as long as it takes", never a panic.
pub fn later(instant: Instant, wait: Duration) -> Instant {
    let mut wait = wait;
    loop {
        if let Some(at) = instant.checked_add(wait) {
            return at;
        }
        if wait.is_zero() {
            return instant;
        }
        wait = wait.checked_div(2).unwrap_or_default();
    }
}

/// Never, on the hot path's clock.
pub(crate) const NEVER: Duration = Duration::MAX;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_convert_within_the_safety_margin() {
        let start = Instant::now();
        for ms in [0_u64, 5, 100, 7_200_000] {
            let deadline = start + Duration::from_millis(ms);
            let fast = at(deadline);
            let expected = now() + deadline.saturating_duration_since(Instant::now());
            let gap = fast.abs_diff(expected);
            assert!(gap < SAFETY, "{ms} ms: {gap:?}");
        }
        // A deadline already passed is now.
        assert!(at(start) <= now() + SAFETY);
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        let far = later(now, Duration::MAX);
        assert!(
            far > now + Duration::from_secs(86_400 * 365 * 100),
            "{far:?}"
        );
        assert!(far_future(now) > now);
    }

    #[test]
    fn the_clock_moves_forward() {
        let a = now();
        std::thread::sleep(SAFETY * 2);
        assert!(now() > a);
    }
}
