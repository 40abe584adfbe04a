//! The workspace's own source files, for tests that read the code (its layering, its test
//! attributes).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, at any depth, sorted; none if `dir` does not exist.
#[must_use]
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}
