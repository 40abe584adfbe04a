//! A platform serving ten thousand institutions from one keyed pool of at most 2,000 entries,
//! against one simulated token endpoint: 24 simulated hours of skewed demand (50 institutions
//! asked for every second, 450 every minute, the other 9,500 three times a day at random), with
//! the default timing and with the timing suggested for pools; then every institution asking
//! at once from cold, each again every second until served. Pure machine, simulated clock: no
//! I/O and no sleeping.
//!
//! ```text
//! cargo run --release --example pool
//! ```

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::{Duration, Instant};

use seekpass_oauth_testkit::pool_sim::{cold_start, day, Platform};

fn main() {
    let started = Instant::now();
    for (name, timing) in [
        ("default timing", None),
        (
            "pool timing (refresh 5-10 min before expiry)",
            Some(Platform::pool_timing()),
        ),
    ] {
        let platform = Platform {
            timing,
            ..Platform::default_day()
        };
        let report = day(&platform);
        println!(
            "a day, {name}: {} calls, {} served at once; {} token requests for {} active institution-lifetimes: {:.3} per active key per lifetime",
            report.calls,
            report.served,
            report.requests,
            report.active_key_lifetimes,
            report.requests_per_active_key_lifetime()
        );
        println!(
            "  at most {} entries (limit 2,000), {} evicted; at most {} requests in flight (limit 16), {} started in one second (limit 20)",
            report.most_entries, report.evicted, report.most_in_flight, report.most_per_second
        );
    }
    let platform = Platform::default_day();
    let cold = cold_start(&platform, Duration::from_secs(1));
    println!(
        "a cold start of all {} institutions: {} requests until all were served, after {}; at most {} entries, {} in flight, {} started in one second",
        platform.institutions,
        cold.requests_to_serve_all,
        cold.all_served_at.map_or("never".into(), |t| t.to_string()),
        cold.most_entries,
        cold.most_in_flight,
        cold.most_per_second
    );
    println!("({:.1} s of wall time)", started.elapsed().as_secs_f64());
}
