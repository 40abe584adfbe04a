//! The engine's side of a secret source: a read that panics or quotes the secret, and a give-up
//! held for a forced read when the configuration is replaced meanwhile.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth::{ClientSecret, Config, Credentials, Endpoint, FailureClass, TokenError};

use super::*;

fn config() -> Config {
    Config::builder(
        Endpoint::base_url("http://127.0.0.1:9").unwrap(),
        Credentials::new("id", "the-secret-in-use"),
    )
    .build()
    .unwrap()
}

fn work(source: SecretSource) -> SecretWork {
    SecretWork {
        source,
        current: ClientSecret::new("the-secret-in-use"),
    }
}

#[test]
fn a_function_that_panics_is_a_failed_read() {
    let error = work(SecretSource::from_fn(|| panic!("the vault SDK panicked")))
        .run()
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the client secret from function panicked"
    );
}

#[test]
fn the_secret_in_use_is_cut_out_of_a_reads_error() {
    let error = work(SecretSource::from_fn(|| {
        Err("the-secret-in-use was revoked".into())
    }))
    .run()
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the client secret from function failed: [redacted] was revoked"
    );
}

#[test]
fn a_reconfiguration_drops_a_give_up_held_for_a_forced_read() {
    let settings = Settings {
        secret_source: Some(SecretSource::from_fn(|| Ok("the-secret-in-use".into()))),
        ..Settings::default()
    };
    let engine = Engine::new(config(), settings);
    {
        let mut watch = engine.secret();
        watch.forced = true;
        watch.held = Some(Error::GaveUp {
            class: FailureClass::Permanent,
            attempts: 1,
            error: Box::new(TokenError::Transport(seekpass_oauth::TransportError::new(
                seekpass_oauth::TransportErrorKind::Timeout,
                "held",
            ))),
        });
    }
    let read = engine.step().secret.expect("the forced read");
    engine.reconfigure(config());
    // The read finds the secret unchanged: without the reconfiguration the held give-up would
    // now stand; with it, nobody is turned away.
    engine.feed_secret(read.run());
    assert!(engine.gave_up().is_none());
    assert!(engine.secret().held.is_none());
}
