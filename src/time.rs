//! Time as an input value.
//!
//! The crate never reads a clock. Every call that depends on time takes a [`Time`]: a count of
//! milliseconds since an origin the caller chooses. That works where `std::time::Instant` cannot be
//! read (`wasm32-unknown-unknown`), can be built from any number (tests, fuzzing) and converts from
//! both kinds of std clock:
//!
//! - a monotonic clock, through an [`Origin`] taken from one `Instant`;
//! - the wall clock, through [`Time::from_system_time`] (milliseconds since the Unix epoch).
//!
//! All arithmetic saturates: a `Time` never wraps and never panics.

use core::fmt;
use core::time::Duration;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A moment, in whole milliseconds since an origin chosen by the caller.
///
/// Only differences between two `Time`s from the same origin mean anything, unless the origin is
/// the Unix epoch (see [`Time::from_system_time`] and
/// [`ConfigBuilder::wall_clock`](crate::ConfigBuilder::wall_clock)).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The origin itself.
    pub const ZERO: Time = Time(0);
    /// The last representable moment; adding to it saturates here.
    pub const MAX: Time = Time(u64::MAX);

    /// A moment `millis` milliseconds after the origin.
    #[must_use]
    pub const fn from_millis(millis: u64) -> Time {
        Time(millis)
    }

    /// A moment `secs` seconds after the origin (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Time {
        Time(secs.saturating_mul(1000))
    }

    /// The wall-clock moment `t`, as milliseconds since the Unix epoch. Moments before the epoch
    /// become [`Time::ZERO`].
    #[must_use]
    pub fn from_system_time(t: SystemTime) -> Time {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Time::ZERO.saturating_add(d),
            Err(_) => Time::ZERO,
        }
    }

    /// Milliseconds since the origin.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This moment plus `d`, rounded down to the millisecond, saturating at [`Time::MAX`].
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(duration_millis(d)))
    }

    /// This moment minus `d`, saturating at [`Time::ZERO`].
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Time {
        Time(self.0.saturating_sub(duration_millis(d)))
    }

    /// How long after `earlier` this moment is; zero if it is not after it.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Whole milliseconds in `d`, saturating at `u64::MAX`.
pub(crate) fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Time {
    /// `t=12.345s`: seconds since the origin.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// Converts between a monotonic `std::time::Instant` clock and [`Time`].
///
/// Take one `Origin` when the program starts and convert every reading through it; convert the
/// machine's wake-up times back to `Instant`s to sleep on.
///
/// ```
/// use std::time::{Duration, Instant};
/// use seekpass_oauth::Origin;
///
/// let start = Instant::now();
/// let origin = Origin::new(start);
/// let t = origin.time(start + Duration::from_millis(1500));
/// assert_eq!(t.as_millis(), 1500);
/// assert_eq!(origin.instant(t), Some(start + Duration::from_millis(1500)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin(Instant);

impl Origin {
    /// Uses `start` as [`Time::ZERO`].
    #[must_use]
    pub fn new(start: Instant) -> Origin {
        Origin(start)
    }

    /// The [`Time`] of `instant`; instants before the origin become [`Time::ZERO`].
    #[must_use]
    pub fn time(&self, instant: Instant) -> Time {
        Time::ZERO.saturating_add(instant.saturating_duration_since(self.0))
    }

    /// The `Instant` of `time`, or `None` if it lies beyond what `Instant` can hold (sleep
    /// "forever" in that case).
    #[must_use]
    pub fn instant(&self, time: Time) -> Option<Instant> {
        self.0.checked_add(Duration::from_millis(time.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        assert_eq!(Time::MAX.saturating_add(Duration::from_secs(1)), Time::MAX);
        assert_eq!(
            Time::ZERO.saturating_sub(Duration::from_secs(1)),
            Time::ZERO
        );
        assert_eq!(Time::from_secs(u64::MAX), Time::MAX);
        assert_eq!(Time::ZERO.saturating_add(Duration::MAX), Time::MAX);
        assert_eq!(
            Time::from_millis(5).saturating_duration_since(Time::from_millis(9)),
            Duration::ZERO
        );
        // And plain arithmetic away from the edges.
        assert_eq!(
            Time::from_secs(10).saturating_sub(Duration::from_millis(2500)),
            Time::from_millis(7500)
        );
    }

    #[test]
    fn durations_round_down_to_the_millisecond() {
        let t = Time::ZERO.saturating_add(Duration::from_micros(1999));
        assert_eq!(t.as_millis(), 1);
    }

    #[test]
    fn system_time_is_counted_from_the_unix_epoch() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_798_685);
        assert_eq!(Time::from_system_time(t), Time::from_secs(1_795_798_685));
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(Time::from_system_time(before), Time::ZERO);
    }

    #[test]
    fn origin_round_trips_and_clamps_earlier_instants() {
        let start = Instant::now();
        let origin = Origin::new(start);
        let later = start + Duration::from_secs(3);
        assert_eq!(origin.time(later), Time::from_secs(3));
        assert_eq!(origin.instant(Time::from_secs(3)), Some(later));
        if let Some(earlier) = start.checked_sub(Duration::from_secs(1)) {
            assert_eq!(origin.time(earlier), Time::ZERO);
        }
    }

    #[test]
    fn display_shows_seconds_and_millis() {
        assert_eq!(Time::from_millis(12_345).to_string(), "t=12.345s");
        assert_eq!(format!("{:?}", Time::from_millis(7)), "t=0.007s");
    }
}
