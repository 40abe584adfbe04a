//! What the command prints: the token (as `export ACCESS_TOKEN=…` or one JSON object), the
//! failure, and the events.

use std::time::{SystemTime, UNIX_EPOCH};

use seekpass_oauth::{Event, Token};
use seekpass_oauth_blocking::Error;

/// The token: a summary on stderr and `export ACCESS_TOKEN=…` on stdout, or one JSON object.
pub fn print_token(token: &Token, state: &str, json: bool) {
    let secret = token.access_token().expose_secret();
    if json {
        let mut out = serde_json::json!({
            "ok": true,
            "access_token": secret,
            "token_type": "Bearer",
            "expires_in": token.lifetime().as_secs(),
            "scope": token.scope().to_string(),
            "state": state,
        });
        if let (Some(created_at), Some(object)) = (token.created_at(), out.as_object_mut()) {
            object.insert("created_at".into(), created_at.into());
        }
        println!("{out}");
        return;
    }
    eprintln!("state:      {state}");
    eprintln!("token_type: Bearer");
    eprintln!(
        "expires_in: {}s (counted from when the request was sent)",
        token.lifetime().as_secs()
    );
    eprintln!(
        "scope:      {}",
        if token.scope().is_empty() {
            "(none)".into()
        } else {
            token.scope().to_string()
        }
    );
    if let Some(created_at) = token.created_at() {
        eprintln!("created_at: {created_at}");
    }
    print_export(token);
}

/// `export ACCESS_TOKEN=…` on stdout, flushed at once (a reader may be waiting for it).
pub fn print_export(token: &Token) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "export ACCESS_TOKEN={}",
        token.access_token().expose_secret()
    );
    let _ = out.flush();
}

/// `--check`'s one line on stdout, or one JSON object with `--json`.
pub fn print_check(health: &str, line: &str, code: u8, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "ok": code == 0, "health": health, "status": code, "reason": line })
        );
    } else {
        println!("{line}");
    }
}

/// The failure: one line on stderr, or one JSON object on stdout.
pub fn print_failure(name: &str, error: &Error, json: bool) {
    if json {
        let token_error = error.token_error();
        let out = serde_json::json!({
            "ok": false,
            "class": error.class().to_string(),
            "status": token_error.and_then(|e| e.status()).map(|s| s.as_u16()),
            "error": token_error.and_then(|e| e.code()).map(|c| c.as_str().to_owned()),
            "description": token_error.map_or_else(|| error.to_string(), ToString::to_string),
        });
        println!("{out}");
    } else {
        eprintln!("{name}: {} failure: {error}", error.class());
    }
}

/// A line for `event`: every event while watching, otherwise only failed attempts (so a user
/// waiting on a back-off sees why).
pub fn describe(event: &Event, watching: bool) -> Option<String> {
    Some(match event {
        Event::AttemptFailed {
            error,
            next_attempt,
            ..
        } => format!("attempt failed: {error}; next attempt at {next_attempt}"),
        Event::StoreFailed {
            command,
            error,
            retry_at,
        } => format!("store {command} failed: {error}; fetching alone until {retry_at}"),
        Event::StoredTokenRefused { problem } => {
            format!("the shared token in the store was not used: {problem}")
        }
        Event::SecretUnreadable { reason, .. } => {
            format!("{reason}; the last good client secret stays in use")
        }
        _ if !watching => return None,
        Event::SecretRotated { .. } => {
            "the client secret changed: the token stays in use until its refresh, which sends the new secret".into()
        }
        Event::TokenAdopted {
            token,
            remaining,
            scope,
            ..
        } => format!(
            "adopted the shared {token}, {}s left, scope {:?}",
            remaining.as_secs(),
            scope.to_string()
        ),
        Event::TokenAcquired {
            token,
            lifetime,
            scope,
            ..
        } => format!(
            "acquired {token}, lifetime {}s, scope {:?}",
            lifetime.as_secs(),
            scope.to_string()
        ),
        Event::RefreshScheduled { token, at } => format!("refresh of {token} due at {at}"),
        other => format!("{other:?}"),
    })
}

/// Wall-clock time of day, UTC.
pub fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "{:02}:{:02}:{:02}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use seekpass_oauth::{StoreError, StoreErrorKind, Time};

    use super::*;

    #[test]
    fn a_store_or_secret_problem_is_told_whether_or_not_watching() {
        let events = [
            (
                Event::StoreFailed {
                    command: "lock",
                    error: StoreError::new(StoreErrorKind::Timeout, "no answer in 500 ms"),
                    retry_at: Time::from_secs(90),
                },
                "store lock failed: ",
            ),
            (
                Event::StoredTokenRefused {
                    problem: "no expiry".into(),
                },
                "the shared token in the store was not used: no expiry",
            ),
            (
                Event::SecretUnreadable {
                    source: "file /run/secret".into(),
                    reason: "file /run/secret: gone".into(),
                },
                "file /run/secret: gone; the last good client secret stays in use",
            ),
        ];
        for (event, line) in events {
            for watching in [false, true] {
                let told = describe(&event, watching).expect("told");
                assert!(told.starts_with(line), "{told}");
            }
        }
    }

    #[test]
    fn other_events_are_told_only_while_watching() {
        let event = Event::SecretRotated {
            retry_now: false,
            in_flight: false,
        };
        assert_eq!(describe(&event, false), None);
        let told = describe(&event, true).expect("told while watching");
        assert!(told.starts_with("the client secret changed"), "{told}");
    }

    #[test]
    fn while_watching_an_adoption_and_a_scheduled_refresh_are_told_in_words() {
        let token = seekpass_oauth_testkit::scenario::Scenario::new().drive_to_fresh(7200);
        let adopted = Event::TokenAdopted {
            token: token.id(),
            lifetime: std::time::Duration::from_secs(7200),
            remaining: std::time::Duration::from_secs(3600),
            scope: token.scope().clone(),
        };
        let told = describe(&adopted, true).expect("told while watching");
        assert!(told.starts_with("adopted the shared token"), "{told}");
        assert!(told.contains("3600s left"), "{told}");
        let scheduled = Event::RefreshScheduled {
            token: token.id(),
            at: Time::from_secs(5400),
        };
        let told = describe(&scheduled, true).expect("told while watching");
        assert!(told.starts_with("refresh of token"), "{told}");
    }

    #[test]
    fn the_timestamp_is_a_utc_time_of_day() {
        let stamp = timestamp();
        let parts: Vec<u64> = stamp
            .strip_suffix('Z')
            .expect("UTC")
            .split(':')
            .map(|p| p.parse().expect("a number"))
            .collect();
        assert_eq!(stamp.len(), "HH:MM:SSZ".len(), "{stamp}");
        assert!(
            parts.len() == 3 && parts[0] < 24 && parts[1] < 60 && parts[2] < 60,
            "{stamp}"
        );
    }
}
