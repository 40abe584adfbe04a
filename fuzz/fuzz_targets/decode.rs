//! Arbitrary bytes to the response decoder in arbitrary splits (see the test kit's `fuzz` module).
#![no_main]

use seekpass_oauth_testkit::fuzz as checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decode(data));
