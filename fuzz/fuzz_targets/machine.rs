//! The token machine driven by an arbitrary sequence of events, checked against the reference
//! model after every step (see `fuzz/model.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::machine(data));
