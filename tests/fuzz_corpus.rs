//! Replays every committed fuzz corpus and regression input through the fuzz targets' checks,
//! so a plain `cargo test` covers them without cargo-fuzz.

#[path = "../fuzz/checks.rs"]
mod checks;

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

#[test]
fn response_corpus_and_regressions() {
    let all = inputs("response");
    assert!(
        all.iter().any(|(p, _)| p.contains("regressions")),
        "the regression inputs are replayed"
    );
    for (path, data) in all {
        eprintln!("{path}");
        checks::response(&data);
    }
}

#[test]
fn decode_corpus() {
    let all = inputs("decode");
    assert!(!all.is_empty());
    for (path, data) in all {
        eprintln!("{path}");
        checks::decode(&data);
    }
}

#[test]
fn machine_corpus() {
    let all = inputs("machine");
    assert!(!all.is_empty());
    for (path, data) in all {
        eprintln!("{path}");
        checks::machine(&data);
    }
}
