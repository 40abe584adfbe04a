//! Ten thousand replicas of a service, started within the same second, each with its own token
//! machine, against one simulated token endpoint: 24 simulated hours with 2-hour tokens, with the
//! default refresh jitter and with jitter off, then a 10-minute outage (503, with and without
//! `Retry-After`). Pure machine, simulated clock: no I/O and no sleeping.
//!
//! ```text
//! cargo run --release --example fleet
//! ```

mod sim;
#[allow(dead_code)]
mod store;

use std::time::{Duration, Instant};

use seekpass_oauth::{Time, TimingPolicy};
use sim::{peak_and_mean, run, uniform_baseline, Fleet, Outage};

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
        store_latency: None,
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

    println!("10-minute outage (503) from hour 12, defaults");
    println!(
        "{:<28} {:>18} {:>18} {:>18} {:>22} {:>18}",
        "",
        "replicas retrying",
        "max per replica",
        "mean per retrying",
        "peak/s, 1st min after",
        "left without token"
    );
    for (name, retry_after) in [
        ("503 without Retry-After", None),
        ("503 with Retry-After: 120", Some(120)),
    ] {
        let outage = Outage {
            start: Time::from_secs(12 * HOUR),
            duration: Duration::from_secs(600),
            retry_after,
        };
        let report = run(&fleet(TimingPolicy::default(), Some(outage)));
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
            "{name:<28} {:>18} {max:>18} {mean:>18.1} {peak_after:>22} {:>18}",
            retrying.len(),
            report.replicas_without_a_token
        );
    }
    println!("\nsimulated in {:.1} s", began.elapsed().as_secs_f64());
}
