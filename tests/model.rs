//! Property test: random sequences of time steps, demand, polls, answers (valid, error, garbage),
//! transport failures, invalidations and reconfigurations, checked against the reference model
//! in the test kit's `fuzz::model` (shared with the `machine` fuzz target).

use proptest::prelude::*;
use seekpass_oauth_testkit::fuzz::model::*;

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0u64..400_000).prop_map(Action::Advance),
        1 => (0u64..60_000).prop_map(Action::ClockBack),
        4 => Just(Action::Demand),
        4 => Just(Action::Poll),
        4 => (
            prop::sample::select(EXPIRES_IN.to_vec()),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(expires_in, reuse_last)| Action::Succeed { expires_in, reuse_last }),
        2 => prop::sample::select(FAILURES.to_vec())
            .prop_map(Action::Fail),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Action::Garbage),
        1 => (
            prop::sample::select(REDIRECTS.to_vec()),
            prop::sample::select(LOCATIONS.to_vec()),
        )
            .prop_map(|(status, location)| Action::Redirect(status, location)),
        1 => Just(Action::Transport),
        1 => (0u64..20).prop_map(Action::AnswerUnknown),
        1 => Just(Action::InvalidateCurrent),
        1 => Just(Action::InvalidateOld),
        1 => any::<bool>().prop_map(Action::Reconfigure),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_while_used(actions in prop::collection::vec(action(), 1..120)) {
        run(actions, false);
    }

    #[test]
    fn invariants_hold_for_fuzz_shaped_runs(data in prop::collection::vec(any::<u8>(), 0..600)) {
        check_bytes(&data);
    }

    #[test]
    fn invariants_hold_in_always_mode(actions in prop::collection::vec(action(), 1..120)) {
        run(actions, true);
    }
}
