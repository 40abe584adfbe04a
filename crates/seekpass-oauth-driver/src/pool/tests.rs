//! The pool engine on this thread's simulated host clock: when a call is sent down the slow
//! path, and that it comes back to the fast one.

use std::time::Duration;

use seekpass_oauth_testkit::body::{response, token as token_body};
use seekpass_oauth_testkit::pool::{config, token};

use super::{PoolEngine, PoolSettings, PoolStep, USE_REPORT_INTERVAL};
use crate::cell::Kick;
use crate::clock;

/// Steps `engine` until it rests, resolving every key and answering every request with a
/// two-hour token.
fn run(engine: &PoolEngine<u32>) {
    loop {
        match engine.step() {
            PoolStep::Resolve(key) => engine.resolved(&key, Some(config(key))),
            PoolStep::Send(key, outgoing) => {
                let body = token_body(&token(key, 1), 7200);
                engine.feed(&key, outgoing.id, Ok(response(200, &body)));
            }
            PoolStep::Store(..) => panic!("no store here"),
            PoolStep::Rest(_) => return,
        }
    }
}

#[test]
fn a_call_past_the_use_report_gets_the_pool_stepped_and_calls_return_to_the_fast_path() {
    let engine = PoolEngine::new(PoolSettings::default());
    let _ = engine.lookup(&1);
    run(&engine);
    // The pool's own moments of the first seconds (its window of requests per second) pass.
    clock::host(|h| h.slept += Duration::from_secs(2));
    assert_eq!(engine.lookup(&1).1, Kick::Yes);
    run(&engine);
    assert_eq!(engine.read(&1).1, Kick::No, "a fresh token and nothing due");

    clock::host(|h| h.slept += USE_REPORT_INTERVAL);
    let (served, kick) = engine.read(&1);
    assert!(served.is_some());
    assert_eq!(kick, Kick::Yes, "the use report is due");
    assert_eq!(
        engine.lookup(&1).1,
        Kick::Yes,
        "the caller must get the pool stepped"
    );
    run(&engine);
    assert_eq!(
        engine.read(&1).1,
        Kick::No,
        "calls are back on the fast path"
    );
}
