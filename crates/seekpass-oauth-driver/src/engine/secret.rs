//! The engine's side of a secret source: when it is read, and what a read changes (see
//! [`SecretSource`] for the sources and [`Engine::feed_secret`] for the rule).

use std::sync::{MutexGuard, PoisonError};

use seekpass_oauth::{ClientSecret, Config, Credentials, Event, Time};

use super::{Attempts, Engine, Error, Wake};
use crate::secret_source::{SecretSource, SecretSourceError, CHECK_INTERVAL};
use crate::telemetry::Reason;

/// A read of the secret source to perform now, on a thread that may block (a command may run
/// for its timeout); feed its result with [`Engine::feed_secret`].
#[derive(Debug)]
#[non_exhaustive]
pub struct SecretWork {
    /// The source to read.
    pub source: SecretSource,
    /// The secret in use, cut out of any error text.
    pub(super) current: ClientSecret,
}

impl SecretWork {
    /// Reads the source. A function source that panics is a failed read.
    ///
    /// # Errors
    ///
    /// As [`SecretSource::read`]; the secret in use never appears in the error.
    pub fn run(&self) -> Result<ClientSecret, SecretSourceError> {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.source.read()));
        let mut error = match read {
            Ok(Ok(secret)) => return Ok(secret),
            Ok(Err(error)) => error,
            Err(_) => SecretSourceError {
                source: self.source.describe(),
                kind: crate::secret_source::SecretSourceErrorKind::Failed,
                detail: "panicked".into(),
            },
        };
        let current = self.current.expose_secret();
        if !current.is_empty() {
            error.detail = error.detail.replace(current, "[redacted]");
        }
        Err(error)
    }
}

/// When the secret source is read next, and what its last read left.
#[derive(Default)]
pub(super) struct SecretWatch {
    /// The next periodic read of a watched source (`None`: at once, or never if unwatched).
    pub(super) next_check: Option<Time>,
    /// `invalid_client` was answered: read the source once, whatever kind it is.
    pub(super) forced: bool,
    /// A read is out.
    pub(super) reading: bool,
    /// The last read failed and was reported: the next failure is not.
    pub(super) unreadable: bool,
    /// The give-up `invalid_client` called for, held until the forced read shows the secret
    /// unchanged (then it stands) or changed (then the new secret is tried at once).
    pub(super) held: Option<Error>,
}

impl Engine {
    /// Feeds the result of a secret read a step returned: a new secret rotates the machine's
    /// (the token is kept; a failed attempt is retried at once), the same one changes nothing (a
    /// give-up after `invalid_client` then stands), a failure keeps the last good secret and is
    /// reported once as [`Event::SecretUnreadable`].
    pub fn feed_secret(&self, result: Result<ClientSecret, SecretSourceError>) {
        let now = self.now();
        let mut events = Vec::new();
        {
            // Locks in the engine's order: the machine, the attempts, the watch.
            let mut machine = self.machine();
            let mut watch = self.secret();
            watch.reading = false;
            watch.next_check = Some(now.saturating_add(CHECK_INTERVAL));
            let held = watch.held.take();
            let rotated = match result {
                Ok(secret) => {
                    watch.unreadable = false;
                    let current = machine.config().credentials().client_secret().clone();
                    match with_secret(machine.config(), &secret) {
                        Some(config) if secret != current => {
                            machine.reconfigure(config, now);
                            true
                        }
                        _ => false,
                    }
                }
                Err(error) => {
                    if !std::mem::replace(&mut watch.unreadable, true) {
                        events.push(Event::SecretUnreadable {
                            reason: error.to_string(),
                            source: error.source,
                        });
                    }
                    false
                }
            };
            drop(watch);
            if rotated {
                self.telemetry.cause(Reason::Rotated);
                *self.attempts() = Attempts::default();
                self.publish(&machine, now, Wake::Now);
            } else if held.is_some() {
                self.attempts().gave_up = held;
            }
        }
        self.deliver(&events);
    }

    /// The read of the secret source that is due now, if one is (and none is out).
    pub(super) fn secret_due(&self) -> Option<SecretWork> {
        let source = self.settings.secret_source.as_ref()?;
        // Locks in the engine's order: the machine's (released), then the watch.
        let current = self
            .machine()
            .config()
            .credentials()
            .client_secret()
            .clone();
        let mut watch = self.secret();
        if !self.due(source, &watch) {
            return None;
        }
        watch.forced = false;
        watch.reading = true;
        Some(SecretWork {
            source: source.clone(),
            current,
        })
    }

    /// Whether a read of the secret source is due now (and none is out).
    pub(super) fn secret_check_due(&self) -> bool {
        self.settings
            .secret_source
            .as_ref()
            .is_some_and(|source| self.due(source, &self.secret()))
    }

    pub(super) fn due(&self, source: &SecretSource, watch: &SecretWatch) -> bool {
        !watch.reading
            && (watch.forced
                || (source.is_watched() && watch.next_check.is_none_or(|at| at <= self.now())))
    }

    /// The next periodic read of a watched secret source.
    pub(super) fn next_check(&self) -> Option<Time> {
        let source = self.settings.secret_source.as_ref()?;
        if !source.is_watched() {
            return None;
        }
        Some(self.secret().next_check.unwrap_or_else(|| self.now()))
    }

    pub(super) fn secret(&self) -> MutexGuard<'_, SecretWatch> {
        self.secret.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `config` with `secret` in place of its own (`None` if that configuration does not build).
pub(super) fn with_secret(config: &Config, secret: &ClientSecret) -> Option<Config> {
    let id = config.credentials().client_id().to_owned();
    config
        .to_builder()
        .credentials(Credentials::new(id, secret.expose_secret()))
        .build()
        .ok()
}
