//! The fleet simulation (`examples/fleet`) at a tenth of its size: refreshes spread, jitter off
//! does not, and an outage is ridden out within the back-off's bounds with nobody left without a
//! token.

use std::time::Duration;

use seekpass_oauth::{Time, TimingPolicy};
use seekpass_oauth_testkit::fleet::{peak_and_mean, run, uniform_baseline, Fleet, Outage, Sharing};

const WARM_UP: usize = 600;

fn fleet(jitter: bool, outage: Option<Outage>) -> Fleet {
    let timing = if jitter {
        TimingPolicy::default()
    } else {
        TimingPolicy::default().refresh_jitter(Duration::ZERO)
    };
    Fleet {
        replicas: 1_000,
        start_window: Duration::from_secs(1),
        lifetime: Duration::from_secs(7200),
        length: Duration::from_secs(12 * 3600),
        timing,
        latency: Duration::from_millis(50),
        outage,
        sharing: None,
    }
}

#[test]
fn default_jitter_spreads_a_fleet_started_at_once() {
    let report = run(&fleet(true, None));
    // Every replica fetched its first token in the start second.
    assert_eq!(report.per_second[0], 1_000);
    let (peak, mean) = peak_and_mean(&report.per_second, WARM_UP, 60);
    assert!(
        f64::from(peak) <= 3.0 * mean,
        "peak {peak} per minute against a mean of {mean:.1}"
    );
    // Per second, no worse than requests scattered uniformly at random, give or take noise.
    let steady: u64 = report.per_second[WARM_UP..]
        .iter()
        .map(|&c| u64::from(c))
        .sum();
    let ideal = uniform_baseline(steady, report.per_second.len() - WARM_UP, 3);
    let (peak_s, _) = peak_and_mean(&report.per_second, WARM_UP, 1);
    let (ideal_s, _) = peak_and_mean(&ideal, 0, 1);
    assert!(
        peak_s <= 2 * ideal_s,
        "peak {peak_s}/s vs {ideal_s}/s scattered at random"
    );
    assert_eq!(report.replicas_without_a_token, 0);
}

#[test]
fn without_jitter_the_fleet_stays_bunched() {
    let report = run(&fleet(false, None));
    let (peak, mean) = peak_and_mean(&report.per_second, WARM_UP, 60);
    assert!(
        f64::from(peak) > 20.0 * mean,
        "peak {peak} per minute, mean {mean:.1}"
    );
    // Every refresh wave is the whole fleet within one second.
    assert_eq!(report.per_second.iter().copied().max(), Some(1_000));
}

#[test]
fn a_ten_minute_outage_is_bounded_by_the_back_off_and_costs_no_replica_its_token() {
    for (retry_after, bound) in [(None, 11), (Some(120), 6)] {
        let outage = Outage {
            start: Time::from_secs(6 * 3600),
            duration: Duration::from_secs(600),
            retry_after,
        };
        let report = run(&fleet(true, Some(outage)));
        let retrying = report.outage_retries();
        assert!(
            retrying.len() > 50,
            "{retry_after:?}: only {} retried",
            retrying.len()
        );
        let max = retrying.iter().copied().max().unwrap_or(0);
        // Without Retry-After: 1, 2, 4 … 256 s, then 300 s, with equal jitter: at most 11 in
        // 600 s. With Retry-After 120 s: at most one every 2 minutes, the first at once.
        assert!(max <= bound, "{retry_after:?}: a replica sent {max}");
        assert!(
            max >= bound / 2,
            "{retry_after:?}: the back-off is not what it says ({max})"
        );
        assert_eq!(report.replicas_without_a_token, 0, "{retry_after:?}");
    }
}

fn shared_fleet() -> Fleet {
    Fleet {
        sharing: Some(Sharing::defaults()),
        ..fleet(true, None)
    }
}

#[test]
fn a_fleet_sharing_through_a_store_asks_once_per_lifetime_even_at_a_cold_start() {
    let fleet = shared_fleet();
    let report = run(&fleet);
    // One replica wins the lock at the cold start; the other 999 adopt its token.
    assert_eq!(report.per_second[0], 1, "{:?}", &report.per_second[..5]);
    let steady: u32 = report.per_second[WARM_UP..].iter().sum();
    let lifetimes = (fleet.length.as_secs_f64() - WARM_UP as f64) / fleet.lifetime.as_secs_f64();
    assert!(
        f64::from(steady) / lifetimes <= 1.1,
        "{steady} requests in {lifetimes} lifetimes"
    );
    assert_eq!(report.replicas_without_a_token, 0);
    // Without sharing the same fleet asks 1,000 times per lifetime or more.
    assert!(report.per_second.iter().all(|&c| c <= 1));
}

#[test]
fn a_shared_fleet_rides_out_a_ten_minute_outage_at_its_refresh_without_losing_its_token() {
    // The worst moment: the outage starts at the fleet's first refresh after hour 5.
    let quiet = run(&shared_fleet());
    let from = 5 * 3600;
    let refresh = from
        + quiet.per_second[from..]
            .iter()
            .position(|&c| c > 0)
            .unwrap();
    let outage = Outage {
        start: Time::from_secs(refresh as u64),
        duration: Duration::from_secs(600),
        retry_after: None,
    };
    let report = run(&Fleet {
        outage: Some(outage),
        ..shared_fleet()
    });
    assert_eq!(report.replicas_without_a_token, 0);
    // The replicas retry one at a time through the lock, and adopt the first success.
    let during: u32 = report.outage_requests.iter().sum();
    let unshared = run(&fleet(
        true,
        Some(Outage {
            start: Time::from_secs(6 * 3600),
            ..outage
        }),
    ));
    let unshared_during: u32 = unshared.outage_requests.iter().sum();
    assert!(
        during <= 2 * unshared_during,
        "{during} requests during the outage, {unshared_during} without sharing"
    );
    let after = refresh + 600;
    let peak_after = report.per_second[after..after + 60].iter().max().unwrap();
    assert!(*peak_after <= 5, "{peak_after}/s after the outage");
}
