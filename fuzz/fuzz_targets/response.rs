//! Any status, headers and body fed as the answer to a token request (see the test kit's `fuzz` module).
#![no_main]

use seekpass_oauth_testkit::fuzz as checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::response(data));
