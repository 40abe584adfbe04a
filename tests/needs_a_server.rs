//! A test that needs a server says so: every test in the workspace that asks for a server's
//! address (`server_url`) is marked `#[ignore = "needs …"]`, so a plain `cargo test` lists it as
//! ignored instead of passing without running, and `.ci/run` runs it with `--include-ignored`.

use std::path::Path;

use seekpass_oauth_testkit::source::rust_files;

/// The names of the tests in `source` that call `server_url` without an `ignore` naming what
/// they need.
fn unmarked(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut attributes = String::new();
    let mut current: Option<(String, bool)> = None;
    for line in source.lines() {
        if line.starts_with("#[") {
            attributes.push_str(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("fn ").or(line.strip_prefix("async fn ")) {
            let is_test = attributes.contains("test]") || attributes.contains("test(");
            let marked = attributes.contains("#[ignore = \"needs ");
            let name = rest.split('(').next().unwrap_or("").to_owned();
            current = is_test.then_some((name, marked));
            attributes.clear();
            continue;
        }
        attributes.clear();
        if line.contains("server_url(") {
            if let Some((name, false)) = &current {
                found.push(name.clone());
            }
        }
        if line == "}" {
            current = None;
        }
    }
    found.dedup();
    found
}

#[test]
fn every_test_that_needs_a_server_is_marked_ignored_with_what_it_needs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = rust_files(&root.join("tests"));
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        files.extend(rust_files(&krate.unwrap().path().join("tests")));
    }
    let mut asking = 0;
    let mut problems = Vec::new();
    for file in files
        .iter()
        .filter(|f| !f.ends_with("tests/needs_a_server.rs"))
    {
        let source = std::fs::read_to_string(file).unwrap();
        asking += source.matches("server_url(\"").count();
        for name in unmarked(&source) {
            problems.push(format!("{}: {name}", file.display()));
        }
    }
    assert!(asking >= 15, "only {asking} calls of server_url found");
    assert!(
        problems.is_empty(),
        "not marked ignored:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_unmarked_test_is_found() {
    let unmarked_test = "#[test]\nfn a() {\n    let url = server_url(\"X\");\n}\n";
    assert_eq!(unmarked(unmarked_test), ["a"]);
    let marked =
        "#[tokio::test]\n#[ignore = \"needs X\"]\nasync fn a() {\n    server_url(\"X\");\n}\n";
    assert!(unmarked(marked).is_empty());
}
