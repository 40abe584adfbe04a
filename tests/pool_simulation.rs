//! The platform simulation (`examples/pool`) at a fifth of its size: 2,000 institutions
//! (10 hot, 90 warm, the rest three times a day) over 24 simulated hours, a pool of at most 400
//! entries, 16 requests in flight and 20 a second.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::time::Duration;

use seekpass_oauth::PoolLimits;
use seekpass_oauth_testkit::pool_sim::{cold_start, day, Platform};

fn platform() -> Platform {
    Platform {
        institutions: 2_000,
        hot: 10,
        warm: 90,
        limits: PoolLimits::default().max_entries(400),
        timing: Some(Platform::pool_timing()),
        ..Platform::default_day()
    }
}

#[test]
fn a_day_of_skewed_demand_costs_at_most_1_1_requests_per_active_key_per_lifetime() {
    let report = day(&platform());
    let ratio = report.requests_per_active_key_lifetime();
    assert!(ratio <= 1.1, "{ratio:.3}: {report:?}");
    assert!(report.most_entries <= 400, "{report:?}");
    assert!(report.most_in_flight <= 16, "{report:?}");
    assert!(report.most_per_second <= 20, "{report:?}");
    assert!(report.evicted > 0, "the pool was full at times: {report:?}");
}

#[test]
fn a_cold_start_of_every_key_keeps_the_bounds_and_serves_each_with_one_request() {
    let platform = platform();
    let report = cold_start(&platform, Duration::from_secs(1));
    let requests = report.requests_to_serve_all;
    assert_eq!(requests, u64::from(platform.institutions), "{report:?}");
    assert!(report.all_served_at.is_some(), "{report:?}");
    assert!(report.most_entries <= 400, "{report:?}");
    assert_eq!(report.most_in_flight, 16, "{report:?}");
    assert_eq!(report.most_per_second, 20, "{report:?}");
}
