//! What the drivers report to `tracing` (feature `tracing`) and the `metrics` facade (feature
//! `metrics`, exported to Prometheus or OpenTelemetry by any `metrics` exporter): a span per token
//! request and per store operation, and the metrics in [`METRICS`]. The names and labels are part
//! of the API. No field or label holds a secret, a token or a response body: ids, counts,
//! statuses, error classes and codes, moments.
//!
//! Everything is reported from the driver's steps, never from the hot path: serving a token
//! costs the same with telemetry on.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use seekpass_oauth::{Event, RequestId, StoreAnswer, StoreError, StoreId, TokenState};

/// Every metric the drivers record: its name, kind and labels.
///
/// | name | kind | labels |
/// |---|---|---|
/// | `seekpass_oauth_token_requests_total` | counter | `outcome` (`success`, `transient`, `permanent`), `reason` (`first`, `proactive`, `expired`, `invalidated`, `rotated`) |
/// | `seekpass_oauth_token_request_duration_seconds` | histogram | `outcome` |
/// | `seekpass_oauth_token_remaining_seconds` | gauge | none: how long the served token lasts, set at each step of the driver (every new token, refresh moment and failure), 0 with none |
/// | `seekpass_oauth_adoptions_total` | counter | none: tokens taken from the shared store |
/// | `seekpass_oauth_invalidations_total` | counter | none: tokens the API refused, taken |
/// | `seekpass_oauth_store_operations_total` | counter | `command` (`read`, `lock`, `write`, `unlock`, `forget`), `outcome` (`found`, `missing`, `done`, `refused`, `error`) |
pub const METRICS: [&str; 6] = [
    "seekpass_oauth_token_requests_total",
    "seekpass_oauth_token_request_duration_seconds",
    "seekpass_oauth_token_remaining_seconds",
    "seekpass_oauth_adoptions_total",
    "seekpass_oauth_invalidations_total",
    "seekpass_oauth_store_operations_total",
];

/// The spans: `seekpass_oauth.token_request` (fields `request`, `attempt`, `reason`, `status`,
/// `outcome`, `error`, `next_attempt_ms`) and `seekpass_oauth.store_operation` (`operation`, `command`,
/// `outcome`).
pub const SPANS: [&str; 2] = [
    "seekpass_oauth.token_request",
    "seekpass_oauth.store_operation",
];

/// Why a token request was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No token yet.
    First,
    /// The token is still served; its refresh is due.
    Proactive,
    /// The token ended (or attempts failed) before a new one came.
    Expired,
    /// The API refused the token.
    Invalidated,
    /// The client secret changed and the attempt is retried with the new one.
    Rotated,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::First => "first",
            Reason::Proactive => "proactive",
            Reason::Expired => "expired",
            Reason::Invalidated => "invalidated",
            Reason::Rotated => "rotated",
        }
    }
}

/// A request or store operation out: when it left, and its span.
struct Out<Id> {
    id: Id,
    sent: Instant,
    /// The request's reason, or the store operation's command.
    label: &'static str,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The telemetry of one engine.
#[derive(Default)]
pub(crate) struct Telemetry {
    /// Set by an invalidation or a rotation, until the next token.
    cause: Mutex<Option<Reason>>,
    request: Mutex<Option<Out<RequestId>>>,
    store: Mutex<Option<Out<StoreId>>>,
    /// Whether a token was ever served (a first request is one before it).
    served: Mutex<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Telemetry {
    /// The next request is made for `reason` (an invalidation or a rotation).
    pub(crate) fn cause(&self, reason: Reason) {
        *lock(&self.cause) = Some(reason);
    }

    /// A token request `id` leaves now, the machine in `state`: the `attempt`th in a row (1
    /// unless the last ones failed).
    pub(crate) fn request_sent(&self, id: RequestId, state: &TokenState<'_>, attempt: u32) {
        let reason = lock(&self.cause).unwrap_or(match state {
            _ if !*lock(&self.served) => Reason::First,
            TokenState::Fresh(_) | TokenState::Expiring { .. } => Reason::Proactive,
            _ => Reason::Expired,
        });
        let _ = attempt;
        *lock(&self.request) = Some(Out {
            id,
            sent: Instant::now(),
            label: reason.as_str(),
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "seekpass_oauth.token_request",
                request = %id,
                attempt,
                reason = reason.as_str(),
                status = tracing::field::Empty,
                outcome = tracing::field::Empty,
                error = tracing::field::Empty,
                next_attempt_ms = tracing::field::Empty,
            ),
        });
    }

    /// The answer to request `id` arrived with `status` (`None`: a transport failure).
    pub(crate) fn request_answered(&self, id: RequestId, status: Option<u16>) {
        #[cfg(feature = "tracing")]
        if let Some(out) = lock(&self.request).as_ref().filter(|o| o.id == id) {
            if let Some(status) = status {
                out.span.record("status", status);
            }
        }
        let _ = (id, status);
    }

    /// Reports what the machine made of the last request, and counts adoptions and
    /// invalidations.
    pub(crate) fn event(&self, event: &Event) {
        match event {
            Event::TokenAcquired { .. } => {
                *lock(&self.served) = true;
                *lock(&self.cause) = None;
                self.request_ended("success", None);
            }
            Event::AttemptFailed {
                class,
                error,
                next_attempt,
                ..
            } => {
                let outcome = match class {
                    seekpass_oauth::FailureClass::Permanent => "permanent",
                    _ => "transient",
                };
                let code = error.code().map(|c| c.as_str().to_owned());
                self.request_ended(outcome, Some((code, next_attempt.as_millis())));
            }
            Event::TokenAdopted { .. } => {
                *lock(&self.served) = true;
                *lock(&self.cause) = None;
                #[cfg(feature = "metrics")]
                metrics::counter!("seekpass_oauth_adoptions_total").increment(1);
            }
            Event::TokenInvalidated { .. } => {
                #[cfg(feature = "metrics")]
                metrics::counter!("seekpass_oauth_invalidations_total").increment(1);
            }
            _ => {}
        }
    }

    /// The request out ends with `outcome`; for a failure, its OAuth error code and the
    /// next attempt's moment.
    fn request_ended(&self, outcome: &'static str, failure: Option<(Option<String>, u64)>) {
        let Some(out) = lock(&self.request).take() else {
            return;
        };
        #[cfg(feature = "tracing")]
        {
            out.span.record("outcome", outcome);
            if let Some((code, next)) = &failure {
                out.span.record("error", code.as_deref().unwrap_or("none"));
                out.span.record("next_attempt_ms", next);
            }
        }
        #[cfg(feature = "metrics")]
        {
            metrics::counter!(
                "seekpass_oauth_token_requests_total",
                "outcome" => outcome,
                "reason" => out.label,
            )
            .increment(1);
            metrics::histogram!(
                "seekpass_oauth_token_request_duration_seconds",
                "outcome" => outcome,
            )
            .record(out.sent.elapsed().as_secs_f64());
        }
        let _ = (outcome, failure, out.sent, out.label, out.id);
    }

    /// A store operation `id` (`command`) leaves now.
    pub(crate) fn store_sent(&self, id: StoreId, command: &'static str) {
        *lock(&self.store) = Some(Out {
            id,
            sent: Instant::now(),
            label: command,
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "seekpass_oauth.store_operation",
                operation = %id,
                command,
                outcome = tracing::field::Empty,
            ),
        });
    }

    /// The store operation `id` ended with `result`.
    pub(crate) fn store_done(&self, id: StoreId, result: &Result<StoreAnswer, StoreError>) {
        let outcome = match result {
            Ok(StoreAnswer::Found { .. }) => "found",
            Ok(StoreAnswer::Missing) => "missing",
            Ok(StoreAnswer::Refused) => "refused",
            Ok(_) => "done",
            Err(_) => "error",
        };
        let Some(out) = lock(&self.store).take().filter(|o| o.id == id) else {
            return;
        };
        #[cfg(feature = "tracing")]
        out.span.record("outcome", outcome);
        #[cfg(feature = "metrics")]
        metrics::counter!(
            "seekpass_oauth_store_operations_total",
            "command" => out.label,
            "outcome" => outcome,
        )
        .increment(1);
        let _ = (out.sent, out.label, outcome);
    }

    /// How long the served token lasts (`None`: no token).
    pub(crate) fn remaining(&self, remaining: Option<std::time::Duration>) {
        #[cfg(feature = "metrics")]
        metrics::gauge!("seekpass_oauth_token_remaining_seconds")
            .set(remaining.map_or(0.0, |r| r.as_secs_f64()));
        let _ = remaining;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

    use super::*;

    #[test]
    fn reasons_are_named_as_the_docs_name_them() {
        let names: Vec<&str> = [
            Reason::First,
            Reason::Proactive,
            Reason::Expired,
            Reason::Invalidated,
            Reason::Rotated,
        ]
        .iter()
        .map(|r| r.as_str())
        .collect();
        assert_eq!(
            names,
            ["first", "proactive", "expired", "invalidated", "rotated"]
        );
    }
}
