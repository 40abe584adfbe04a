//! `--check`: the source's health as an exit status and one line, for probes and cron alerts.

use std::time::Duration;

use seekpass_oauth_blocking::Health;

/// The exit status and the line for `health`, with at least `min_remaining` of the token
/// wanted: 0 ready with that much left; 1 degraded, or ready with less; 2 unavailable.
pub fn verdict(health: &Health, min_remaining: Duration) -> (u8, String) {
    match health {
        Health::Ready { remaining } if *remaining < min_remaining => (
            1,
            format!(
                "{health}, less than the --min-remaining {}",
                humantime::format_duration(min_remaining)
            ),
        ),
        Health::Ready { .. } => (0, health.to_string()),
        Health::Unavailable { .. } => (2, health.to_string()),
        // Degraded, and any state a later version adds: still serving, look at it.
        _ => (1, health.to_string()),
    }
}

/// A duration as `--min-remaining` takes it: `90s`, `10m`, `1h 30m`, or whole seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_secs)
        .or_else(|_| humantime::parse_duration(text))
        .map_err(|_| format!("--min-remaining {text:?}: a duration such as 90s, 10m or 1h 30m"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

    use super::*;

    #[test]
    fn each_health_has_its_exit_status() {
        let ready = Health::Ready {
            remaining: Duration::from_secs(600),
        };
        assert_eq!(verdict(&ready, Duration::ZERO).0, 0);
        assert_eq!(verdict(&ready, Duration::from_secs(600)).0, 0);
        let (code, line) = verdict(&ready, Duration::from_secs(601));
        assert_eq!(code, 1);
        assert_eq!(
            line,
            "ready: the token is served for 10m 0s, less than the --min-remaining 10m 1s"
        );
        let unavailable = Health::Unavailable {
            failing_for: None,
            last_error: None,
            next_try: None,
        };
        assert_eq!(verdict(&unavailable, Duration::ZERO).0, 2);
    }

    #[test]
    fn durations_are_read_with_units_or_as_seconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("a duration such as"));
    }
}
