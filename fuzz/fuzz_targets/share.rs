//! A sharing token machine and an arbitrary store, checked after every step (see the test
//! kit's `fuzz::share` module).
#![no_main]

use seekpass_oauth_testkit::fuzz as checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::share(data));
