//! The "Bad input and failures" tables in docs/failures.md: every row names at least one test,
//! and every test it names exists, so a row cannot be added, or a test renamed, without the other.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::path::Path;

const SECTION: &str = "## Bad input and failures";

/// The table rows of the section (not the header or separator rows).
fn rows(docs: &str) -> Vec<&str> {
    let start = docs
        .find(SECTION)
        .expect("docs/failures.md has the section");
    let rest = &docs[start + SECTION.len()..];
    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .filter(|l| !l.starts_with("|---"))
        .filter(|l| !l.starts_with("| bad input") && !l.starts_with("| misuse"))
        .collect()
}

/// `path::name` references in a row, such as `tests/clock.rs::skew_is_reported_on_a_wall_clock`.
fn references(row: &str) -> Vec<(&str, &str)> {
    row.split('`')
        .filter_map(|part| part.split_once(".rs::"))
        .filter(|(path, _)| {
            ["tests/", "src/", "crates/"]
                .iter()
                .any(|root| path.starts_with(root))
        })
        .collect()
}

#[test]
fn every_row_names_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/failures.md")).unwrap();
    let rows = rows(&docs);
    assert!(rows.len() >= 30, "only {} rows found", rows.len());
    let mut checked = 0;
    for row in rows {
        let refs = references(row);
        assert!(!refs.is_empty(), "a row without a test: {row}");
        for (path, name) in refs {
            let file = root.join(format!("{path}.rs"));
            let source = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e} (named in: {row})", file.display()));
            assert!(
                source.contains(&format!("fn {name}(")),
                "{path}.rs has no test `{name}` (named in: {row})"
            );
            checked += 1;
        }
    }
    eprintln!("{checked} test references checked");
}

#[test]
fn the_checker_catches_a_missing_test_and_a_row_without_one() {
    let docs = format!(
        "{SECTION}\n\n| bad input | a | b | tested by |\n|---|---|---|---|\n\
         | x | y | z | `tests/clock.rs::no_such_test` |\n| w | y | z | none |\n\n## Next\n| q |\n"
    );
    let rows = rows(&docs);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(references(rows[0]), [("tests/clock", "no_such_test")]);
    assert!(references(rows[1]).is_empty());
    let clock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clock.rs"))
            .unwrap();
    assert!(!clock.contains("fn no_such_test("));
}
