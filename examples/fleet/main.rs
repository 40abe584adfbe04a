//! Ten thousand replicas of a service, started within the same second, each with its own token
//! machine, against one simulated token endpoint: 24 simulated hours with 2-hour tokens, with the
//! default refresh jitter and with jitter off, then a 10-minute outage (503, with and without
//! `Retry-After`). Pure machine, simulated clock: no I/O and no sleeping.
//!
//! ```text
//! cargo run --release --example fleet
//! ```

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth::Share;
use seekpass_oauth::{Time, TimingPolicy};
use seekpass_oauth_testkit::fleet::{peak_and_mean, run, uniform_baseline, Fleet, Outage, Sharing};

const REPLICAS: u32 = 10_000;
const HOUR: u64 = 3600;
/// The first ten minutes hold every replica's first fetch; the steady state is measured after.
const WARM_UP: usize = 600;

fn fleet(timing: TimingPolicy, outage: Option<Outage>) -> Fleet {
    Fleet {
        replicas: REPLICAS,
        start_window: Duration::from_secs(1),
        lifetime: Duration::from_secs(2 * HOUR),
        length: Duration::from_secs(24 * HOUR),
        timing,
        latency: Duration::from_millis(50),
        outage,
        sharing: None,
    }
}

fn main() {
    let began = Instant::now();
    println!("{REPLICAS} replicas started within one second, 2 h tokens, 24 simulated hours\n");
    println!(
        "{:<28} {:>9} {:>13} {:>13} {:>10} {:>13} {:>13}",
        "", "requests", "start second", "peak/s", "mean/s", "peak/min", "mean/min"
    );
    let mut steady_total = 0;
    let minutes = |m: u64| Duration::from_secs(m * 60);
    for (name, timing) in [
        ("defaults", TimingPolicy::default()),
        (
            "5 min margin, 5 min jitter",
            TimingPolicy::default()
                .refresh_margin(minutes(5))
                .refresh_jitter(minutes(5)),
        ),
        (
            "defaults, jitter off",
            TimingPolicy::default().refresh_jitter(Duration::ZERO),
        ),
    ] {
        let defaults = timing == TimingPolicy::default();
        let report = run(&fleet(timing, None));
        let total: u64 = report.per_second.iter().map(|&c| u64::from(c)).sum();
        let (peak_s, mean_s) = peak_and_mean(&report.per_second, WARM_UP, 1);
        let (peak_m, mean_m) = peak_and_mean(&report.per_second, WARM_UP, 60);
        println!(
            "{name:<28} {total:>9} {:>13} {peak_s:>13} {mean_s:>10.2} {peak_m:>13} {mean_m:>13.1}   peak/mean {:.1}x per s, {:.1}x per min",
            report.per_second[0],
            f64::from(peak_s) / mean_s,
            f64::from(peak_m) / mean_m,
        );
        if defaults {
            steady_total = report.per_second[WARM_UP..]
                .iter()
                .map(|&c| u64::from(c))
                .sum();
        }
    }
    let seconds = (24 * HOUR) as usize - WARM_UP;
    let ideal = uniform_baseline(steady_total, seconds, 7);
    let (peak_s, mean_s) = peak_and_mean(&ideal, 0, 1);
    let (peak_m, mean_m) = peak_and_mean(&ideal, 0, 60);
    println!(
        "{:<28} {steady_total:>9} {:>13} {peak_s:>13} {mean_s:>10.2} {peak_m:>13} {mean_m:>13.1}   peak/mean {:.1}x per s, {:.1}x per min",
        "ideal: uniform at random",
        "-",
        f64::from(peak_s) / mean_s,
        f64::from(peak_m) / mean_m,
    );
    println!("(peaks and means after the first {WARM_UP} s; the ideal row scatters the default run's steady-state requests uniformly at random)\n");

    println!("Sharing one token through a store (Share defaults, 1 ms store round trip)");
    println!(
        "{:<28} {:>9} {:>13} {:>13} {:>22} {:>13}",
        "", "requests", "start second", "peak/s", "per lifetime, steady", "store ops"
    );
    let mut fleet_refresh_after_11h = 11 * HOUR;
    for (name, shared) in [
        ("each replica on its own", false),
        ("shared through a store", true),
    ] {
        let mut run_fleet = fleet(TimingPolicy::default(), None);
        if shared {
            run_fleet.sharing = Some(Sharing::defaults());
        }
        let report = run(&run_fleet);
        let total: u64 = report.per_second.iter().map(|&c| u64::from(c)).sum();
        let steady: u64 = report.per_second[WARM_UP..]
            .iter()
            .map(|&c| u64::from(c))
            .sum();
        let lifetimes = (24 * HOUR - WARM_UP as u64) as f64 / (2 * HOUR) as f64;
        let peak = report.per_second.iter().copied().max().unwrap_or(0);
        println!(
            "{name:<28} {total:>9} {:>13} {peak:>13} {:>22.2} {:>13}",
            report.per_second[0],
            steady as f64 / lifetimes,
            report.store_ops,
        );
        if shared {
            let from = (11 * HOUR) as usize;
            if let Some(at) = report.per_second[from..].iter().position(|&c| c > 0) {
                fleet_refresh_after_11h = (from + at) as u64;
            }
        }
    }
    println!("(per lifetime: token requests after the first {WARM_UP} s, per 2-hour lifetime, for the whole fleet)\n");

    println!("10-minute outage (503), defaults: from hour 12; for a shared token, from the fleet's first refresh after hour 11");
    println!(
        "{:<34} {:>18} {:>18} {:>18} {:>22} {:>18}",
        "",
        "replicas retrying",
        "max per replica",
        "mean per retrying",
        "peak/s, 1st min after",
        "left without token"
    );
    for (name, retry_after, sharing) in [
        ("503 without Retry-After", None, None),
        ("503 with Retry-After: 120", Some(120), None),
        ("shared, without Retry-After", None, Some(Share::new())),
        ("shared, Retry-After: 120", Some(120), Some(Share::new())),
    ] {
        let start = if sharing.is_some() {
            fleet_refresh_after_11h
        } else {
            12 * HOUR
        };
        let outage = Outage {
            start: Time::from_secs(start),
            duration: Duration::from_secs(600),
            retry_after,
        };
        let mut run_fleet = fleet(TimingPolicy::default(), Some(outage));
        run_fleet.sharing = sharing.map(|share| Sharing {
            share,
            ..Sharing::defaults()
        });
        let report = run(&run_fleet);
        let retrying = report.outage_retries();
        let max = retrying.iter().copied().max().unwrap_or(0);
        let mean =
            retrying.iter().map(|&c| f64::from(c)).sum::<f64>() / retrying.len().max(1) as f64;
        let after = (outage.start.as_millis() / 1000 + 600) as usize;
        let peak_after = report.per_second[after..after + 60]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        println!(
            "{name:<34} {:>18} {max:>18} {mean:>18.1} {peak_after:>22} {:>18}",
            retrying.len(),
            report.replicas_without_a_token
        );
    }
    println!("\nsimulated in {:.1} s", began.elapsed().as_secs_f64());
}
