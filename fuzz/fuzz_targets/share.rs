//! A sharing token machine and an arbitrary store, checked after every step (see
//! `fuzz/share.rs`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::share(data));
