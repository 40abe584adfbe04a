//! Replays every committed fuzz corpus and regression input through the fuzz targets' checks,
//! so a plain `cargo test` covers them without cargo-fuzz.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use seekpass_oauth_testkit::fuzz as checks;

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

/// Runs `check` on every input of `target`; returns their paths.
fn replay(target: &str, check: fn(&[u8])) -> Vec<String> {
    inputs(target)
        .into_iter()
        .map(|(path, data)| {
            eprintln!("{path}");
            check(&data);
            path
        })
        .collect()
}

#[test]
fn response_corpus_and_regressions() {
    let replayed = replay("response", checks::response);
    assert!(
        replayed.iter().any(|p| p.contains("regressions")),
        "the regression inputs are replayed"
    );
}

#[test]
fn decode_corpus() {
    assert!(!replay("decode", checks::decode).is_empty());
}

#[test]
fn machine_corpus() {
    assert!(!replay("machine", checks::machine).is_empty());
}

#[test]
fn share_corpus() {
    assert!(!replay("share", checks::share).is_empty());
}

#[test]
fn pool_corpus() {
    assert!(!replay("pool", checks::pool).is_empty());
}
