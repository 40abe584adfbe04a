//! The token machine driven by an arbitrary sequence of events, checked against the reference
//! model after every step (see the test kit's `fuzz::model`).
#![no_main]

use seekpass_oauth_testkit::fuzz as checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::machine(data));
