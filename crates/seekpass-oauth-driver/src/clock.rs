//! The drivers' clocks. Time that passes while the host sleeps counts: a token that expired
//! while a laptop was suspended or a VM paused is never served after it resumes.
//!
//! `Instant` (`CLOCK_MONOTONIC` on Linux) stops while the host is suspended, and a paused VM's
//! monotonic clock stops with it; the wall clock (`CLOCK_REALTIME`) counts both once it is set
//! right after resuming, but an administrator or NTP can step it either way. So:
//!
//! - **The machine's time** ([`Timeline`]) is `CLOCK_BOOTTIME` (monotonic, counting suspend)
//!   since the driver started, plus however far the wall clock has ever run ahead of it (a VM
//!   pause, once the guest's clock is corrected). It never goes back: a wall clock stepped back
//!   changes nothing, one stepped forward brings the next refresh forward (never later).
//! - **The hot path** reads `CLOCK_MONOTONIC_COARSE` and `CLOCK_REALTIME_COARSE` (about 4 ns
//!   each on the 2-core VM the benchmarks run on; `CLOCK_BOOTTIME` costs 22 ns, which would take
//!   the call past its budget) into a [`Reading`]. A token is served while *both* clocks are
//!   before its deadline, and the driver is woken once *either* reaches its moment: a suspend
//!   moves the wall clock, a wall clock stepped back leaves the monotonic one in charge, one
//!   stepped forward wakes the driver early, which finds its own time moved on and publishes
//!   deadlines from it.
//!
//! One gap remains: after the wall clock is stepped back by more than the host then sleeps,
//! neither hot-path clock shows the sleep, and a token that ended during it is served until the
//! driver next steps (its timer fires late by the sleep; any kick, such as an invalidation after
//! a 401, steps it at once), when the boot clock ends it.
//!
//! The coarse clocks lag by up to one kernel tick (1–10 ms), so serving deadlines are moved
//! `SAFETY` earlier and moments that kick the driver `SAFETY` later: a token is never served
//! past its serving deadline, and a kick never reaches the machine before its moment.
//!
//! Elsewhere than Linux and Android the monotonic clock is `Instant` and the wall clock
//! `SystemTime`; the machine's time is `Instant` plus the wall clock's lead, so a suspend
//! counts there too once the wall clock is right.
//!
//! In this crate's tests every reading passes through offsets that stand in for the host: one
//! that sleeps (its boot and wall clocks move on, its monotonic clock does not) and a wall clock
//! stepped either way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use seekpass_oauth::Time;

/// More than the coarse clocks' worst lag (a tick at `HZ=100` is 10 ms).
pub(crate) const SAFETY: Duration = Duration::from_millis(25);

/// The hot path's two clocks, read together: the monotonic clock (stops while the host sleeps)
/// and the wall clock (counts the sleep, but can be stepped). Also a deadline on both.
///
/// Each clock is kept in nanoseconds, so a comparison is one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    mono: u64,
    wall: u64,
}

impl Reading {
    /// A deadline that never comes.
    pub(crate) const NEVER: Reading = Reading {
        mono: u64::MAX,
        wall: u64::MAX,
    };

    /// A moment already passed on both clocks.
    pub(crate) const ZERO: Reading = Reading { mono: 0, wall: 0 };

    /// Whether this reading is before `deadline` on both clocks: a token is served until
    /// either clock reaches its deadline, and the driver is kicked then.
    #[inline]
    #[must_use]
    pub fn before(self, deadline: Reading) -> bool {
        self.mono < deadline.mono && self.wall < deadline.wall
    }

    /// `wait` later on both clocks (saturating).
    #[must_use]
    pub(crate) fn plus(self, wait: Duration) -> Reading {
        Reading {
            mono: self.mono.saturating_add(nanos(wait)),
            wall: self.wall.saturating_add(nanos(wait)),
        }
    }

    /// `wait` earlier on both clocks (saturating).
    #[must_use]
    pub(crate) fn minus(self, wait: Duration) -> Reading {
        Reading {
            mono: self.mono.saturating_sub(nanos(wait)),
            wall: self.wall.saturating_sub(nanos(wait)),
        }
    }

    /// The earlier deadline on each clock.
    #[must_use]
    pub(crate) fn min(self, other: Reading) -> Reading {
        Reading {
            mono: self.mono.min(other.mono),
            wall: self.wall.min(other.wall),
        }
    }

    /// How long since `origin`, by whichever clock moved further: a suspend counts.
    #[must_use]
    pub fn since(self, origin: Reading) -> Duration {
        let mono = self.mono.saturating_sub(origin.mono);
        let wall = self.wall.saturating_sub(origin.wall);
        Duration::from_nanos(mono.max(wall))
    }
}

/// A [`Reading`] many threads read and one writes: each clock in its own atomic. A read racing
/// a write may mix the old and the new value on the two clocks; a deadline read that way is
/// one of the two, or between them.
#[derive(Debug)]
pub(crate) struct AtomicReading {
    mono: AtomicU64,
    wall: AtomicU64,
}

impl AtomicReading {
    pub(crate) const fn new(reading: Reading) -> AtomicReading {
        AtomicReading {
            mono: AtomicU64::new(reading.mono),
            wall: AtomicU64::new(reading.wall),
        }
    }

    #[inline]
    pub(crate) fn load(&self) -> Reading {
        Reading {
            mono: self.mono.load(Ordering::Relaxed),
            wall: self.wall.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn store(&self, reading: Reading) {
        self.mono.store(reading.mono, Ordering::Relaxed);
        self.wall.store(reading.wall, Ordering::Relaxed);
    }
}

/// `d` in nanoseconds, saturating (584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Now, on the hot path's clocks.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
#[must_use]
pub fn now() -> Reading {
    use rustix::time::{clock_gettime, ClockId};
    let mono = timespec_nanos(clock_gettime(ClockId::MonotonicCoarse));
    let wall = timespec_nanos(clock_gettime(ClockId::RealtimeCoarse));
    slept(Reading { mono, wall })
}

/// Now, on the hot path's clocks.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
#[must_use]
pub fn now() -> Reading {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let mono = nanos(BASE.get_or_init(Instant::now).elapsed());
    let wall = nanos(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    slept(Reading { mono, wall })
}

/// Time on a clock that counts suspend (`CLOCK_BOOTTIME`), since some fixed moment.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot() -> Duration {
    let boot = timespec_nanos(rustix::time::clock_gettime(rustix::time::ClockId::Boottime));
    Duration::from_nanos(boot).saturating_add(test_sleep())
}

/// Time on the platform's monotonic clock, since some fixed moment (whether it counts
/// suspend depends on the platform; the wall clock's lead makes up for it).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn boot() -> Duration {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now)
        .elapsed()
        .saturating_add(test_sleep())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn timespec_nanos(t: rustix::time::Timespec) -> u64 {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(t.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The machine's time for one driver: `CLOCK_BOOTTIME` since the driver started, plus the
/// furthest the wall clock has run ahead of it since (never less than before).
#[derive(Debug)]
pub struct Timeline {
    boot: Duration,
    /// The wall clock at the start, in nanoseconds.
    wall: u64,
    /// How far the wall clock has run ahead of the boot clock, at most, in milliseconds.
    lead_ms: AtomicU64,
}

impl Timeline {
    /// Starts counting now, at [`Time::ZERO`].
    #[must_use]
    pub fn start() -> Timeline {
        Timeline {
            boot: boot(),
            wall: now().wall,
            lead_ms: AtomicU64::new(0),
        }
    }

    /// Now, on the machine's clock.
    #[must_use]
    pub fn now(&self) -> Time {
        let booted = boot().saturating_sub(self.boot);
        let walked = Duration::from_nanos(now().wall.saturating_sub(self.wall));
        let lead = u64::try_from(walked.saturating_sub(booted).as_millis()).unwrap_or(u64::MAX);
        let lead = self.lead_ms.fetch_max(lead, Ordering::AcqRel).max(lead);
        Time::ZERO
            .saturating_add(booted)
            .saturating_add(Duration::from_millis(lead))
    }

    /// `time` as a deadline on the hot path's clocks, given that it is `now` on the machine's
    /// clock at the `reading`.
    #[must_use]
    pub(crate) fn reading(time: Time, now: Time, reading: Reading) -> Reading {
        if time == Time::MAX {
            return Reading::NEVER;
        }
        let ahead = Duration::from_millis(time.as_millis().saturating_sub(now.as_millis()));
        let behind = Duration::from_millis(now.as_millis().saturating_sub(time.as_millis()));
        reading.plus(ahead).minus(behind)
    }

    /// `time` as an `Instant`, for a timer or a request's deadline: as far from now as `time`
    /// is from the machine's now. A timer that slept through a suspend fires late; the driver's
    /// step then reads the machine's time afresh, and callers meanwhile see the deadline on the
    /// hot path's wall clock.
    #[must_use]
    pub fn instant(&self, time: Time) -> Instant {
        let now = self.now();
        let wait = Duration::from_millis(time.as_millis().saturating_sub(now.as_millis()));
        later(Instant::now(), wait)
    }
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

/// What this crate's tests make of the host, per thread: how long it slept, and how far its
/// wall clock was stepped forward and back.
#[cfg(test)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Host {
    pub(crate) slept: Duration,
    pub(crate) wall_forward: Duration,
    pub(crate) wall_back: Duration,
}

#[cfg(test)]
thread_local! {
    pub(crate) static HOST: std::cell::Cell<Host> = const {
        std::cell::Cell::new(Host {
            slept: Duration::ZERO,
            wall_forward: Duration::ZERO,
            wall_back: Duration::ZERO,
        })
    };
}

/// In this crate's tests: changes this thread's host.
#[cfg(test)]
pub(crate) fn host(change: impl FnOnce(&mut Host)) {
    HOST.with(|h| {
        let mut host = h.get();
        change(&mut host);
        h.set(host);
    });
}

#[cfg(test)]
fn test_sleep() -> Duration {
    HOST.with(|h| h.get().slept)
}

#[cfg(test)]
fn slept(reading: Reading) -> Reading {
    let host = HOST.with(std::cell::Cell::get);
    Reading {
        mono: reading.mono,
        wall: reading
            .wall
            .saturating_add(nanos(host.slept))
            .saturating_add(nanos(host.wall_forward))
            .saturating_sub(nanos(host.wall_back)),
    }
}

#[cfg(not(test))]
#[inline(always)]
fn test_sleep() -> Duration {
    Duration::ZERO
}

#[cfg(not(test))]
#[inline(always)]
fn slept(reading: Reading) -> Reading {
    reading
}

#[cfg(test)]
mod tests;
