#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn deadlines_convert_to_both_clocks() {
    let reading = now();
    let at = Time::from_millis(10_000);
    let now_time = Time::from_millis(4_000);
    let deadline = Timeline::reading(at, now_time, reading);
    assert_eq!(deadline, reading.plus(Duration::from_secs(6)));
    // A moment already passed is that much earlier on both clocks.
    let past = Timeline::reading(Time::from_millis(1_000), now_time, reading);
    assert_eq!(past, reading.minus(Duration::from_secs(3)));
    assert_eq!(
        Timeline::reading(Time::MAX, now_time, reading),
        Reading::NEVER
    );
    assert!(reading.before(deadline) && !deadline.before(deadline));
}

#[test]
fn a_deadline_passes_when_either_clock_reaches_it() {
    const S: u64 = 1_000_000_000;
    let r = Reading {
        mono: 100 * S,
        wall: 100_000 * S,
    };
    let deadline = r.plus(Duration::from_secs(10));
    assert!(r.before(deadline));
    // The wall clock moved on (a suspend) while the monotonic clock did not.
    let resumed = Reading {
        mono: r.mono,
        wall: r.wall + 3600 * S,
    };
    assert!(!resumed.before(deadline));
    // The wall clock stepped back: the monotonic clock still ends the token.
    let stepped_back = Reading {
        mono: r.mono + 10 * S,
        wall: r.wall - 3600 * S,
    };
    assert!(!stepped_back.before(deadline));
    assert_eq!(resumed.since(r), HOUR);
    assert_eq!(stepped_back.since(r), Duration::from_secs(10));
    assert!(Reading::ZERO.before(Reading::NEVER) && !Reading::NEVER.before(Reading::ZERO));
}

#[test]
fn the_machines_time_counts_a_suspend() {
    let timeline = Timeline::start();
    let before = timeline.now();
    host(|h| h.slept += HOUR);
    let after = timeline.now();
    assert!(
        after.as_millis() >= before.as_millis() + 3_600_000,
        "{before:?} {after:?}"
    );
    assert!(
        after.as_millis() < before.as_millis() + 3_601_000,
        "{before:?} {after:?}"
    );
}

#[test]
fn the_machines_time_takes_the_wall_clocks_lead_and_never_goes_back() {
    let timeline = Timeline::start();
    let start = timeline.now();
    // A paused VM: boot time did not move, the wall clock was set right on resuming.
    host(|h| h.wall_forward += HOUR);
    let paused = timeline.now();
    // Within the coarse wall clock's lag (`SAFETY` bounds it).
    let lag = SAFETY.as_millis() as u64;
    assert!(
        paused.as_millis() + lag >= start.as_millis() + 3_600_000,
        "{paused:?}"
    );
    // The wall clock stepped back again: the lead is kept, time does not go back.
    host(|h| h.wall_back += 2 * HOUR);
    let stepped_back = timeline.now();
    assert!(stepped_back >= paused, "{paused:?} {stepped_back:?}");
    assert!(stepped_back.as_millis() < paused.as_millis() + 1_000);
}

#[test]
fn instants_are_as_far_ahead_as_the_machines_moments() {
    let timeline = Timeline::start();
    let now = timeline.now();
    let start = Instant::now();
    let at = timeline.instant(now.saturating_add(Duration::from_secs(5)));
    let ahead = at.saturating_duration_since(start);
    // Two readings of the machine's time and two of `Instant` happen in between: on a loaded
    // machine the thread can be descheduled there, so the bound is a second, not the clocks'
    // lag. The direction and size are what is checked.
    let slack = Duration::from_secs(1);
    assert!(ahead <= Duration::from_secs(5) + slack, "{ahead:?}");
    assert!(ahead >= Duration::from_secs(5) - slack, "{ahead:?}");
    assert!(timeline.instant(Time::MAX) > start + Duration::from_secs(86_400 * 365));
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
fn both_clocks_move_forward() {
    let a = now();
    std::thread::sleep(SAFETY * 2);
    let b = now();
    assert!(b.mono > a.mono && b.wall > a.wall, "{a:?} {b:?}");
}
