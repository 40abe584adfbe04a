//! Property test of the keyed pool (the test kit's `fuzz::pool`, shared with the `pool` fuzz
//! target): with its limits never reached it behaves key by key as independent machines; under
//! small limits its bounds hold after every output.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use proptest::prelude::*;
use seekpass_oauth_testkit::fuzz::pool::{actions_from_bytes, check_bytes, limited, twins, Bounds};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_pool_within_its_limits_is_independent_machines(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        twins(&actions_from_bytes(&bytes, 4));
    }

    #[test]
    fn a_pool_keeps_its_bounds(
        max_entries in 1usize..5,
        max_in_flight in 1usize..4,
        max_per_second in 1usize..4,
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let bounds = Bounds { max_entries, max_in_flight, max_per_second };
        limited(bounds, &actions_from_bytes(&bytes, 8));
    }

    #[test]
    fn fuzz_shaped_inputs_hold(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_bytes(&bytes);
    }
}
