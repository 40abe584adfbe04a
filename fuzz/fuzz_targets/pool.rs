//! The keyed pool against independent machines, or under small limits, checked after every
//! step (see the test kit's `fuzz::pool` module).
#![no_main]

use seekpass_oauth_testkit::fuzz as checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pool(data));
