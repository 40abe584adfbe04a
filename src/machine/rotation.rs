//! A rotation: the client secret changed and nothing else that decides which token the endpoint
//! issues (the token URL, the client id, the scopes, the client authentication, the extra form
//! parameters). The token in hand was issued to the same client for the same scopes, so it is
//! served until its normal refresh, and that refresh sends the new secret.
//!
//! | when the secret changes | what happens |
//! |---|---|
//! | a token is served | it stays served; nothing is sent before its refresh moment |
//! | the last attempt failed (`invalid_client` after the server moved to the new secret, say) | the back-off ends: the next attempt, with the new secret, is due at once (no sooner than the minimum request interval) |
//! | a request is in flight | it is kept (its answer is for the same client); if it fails permanently, that failure was the old secret's, and the new one is tried at once |
//!
//! Anything else that changes what is sent starts afresh (see
//! [`TokenClient::reconfigure`](crate::TokenClient::reconfigure)).

use crate::error::FailureClass;
use crate::event::Event;

use super::TokenClient;

impl TokenClient {
    /// Takes up a rotated secret; the caller replaces the prepared request and the redactor.
    pub(super) fn rotate_secret(&mut self) {
        let retry = self.failure.take().is_some();
        if retry {
            self.consecutive_failures = 0;
        }
        self.sent_with_old_secret = self.flight.is_some() || self.hop.is_some();
        self.events.push_back(Event::SecretRotated {
            retry_now: retry,
            in_flight: self.sent_with_old_secret,
        });
    }

    /// Whether a failure of class `class` of the request in flight is the old secret's, and the
    /// new one is to be tried at once. The mark ends with the request (`end_fetch`).
    pub(super) fn old_secret_failed(&self, class: FailureClass) -> bool {
        self.sent_with_old_secret && class == FailureClass::Permanent
    }
}
