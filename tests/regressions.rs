//! Proptest replays a failure it once found from `<test file>.proptest-regressions` beside the
//! test's source: a regressions file whose test file was renamed or lost its property tests is
//! silently never read again, and so is one whose tests turn persistence off. Every committed one
//! must sit beside a test file with `proptest!` that keeps it on.

use std::path::Path;

#[test]
fn every_proptest_regressions_file_sits_beside_the_tests_that_replay_it() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&tests).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".proptest-regressions") else {
            continue;
        };
        let source = tests.join(format!("{stem}.rs"));
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{name} has no test file {}: {e}", source.display()));
        assert!(
            text.contains("proptest!"),
            "{} has no property tests",
            source.display()
        );
        let seeds = std::fs::read_to_string(&path).unwrap();
        assert!(
            seeds.lines().any(|l| l.starts_with("cc ")),
            "{name} holds no seed"
        );
        replayed += 1;
    }
    assert!(replayed >= 2, "only {replayed} regressions files found");
}
