//! The layers of every crate in the workspace, pinned: each top-level module may use only the
//! modules of the layers below its own, so an import that reaches up (a circle in the making)
//! fails here. Ids and plain data sit at the bottom of the core; the machine at the top.
//!
//! Paths are read from the source text (no dependency): every `crate::name` and
//! `crate::{a, b::c}` outside comments and test modules, with names the crate root re-exports
//! resolved to the module they come from. A module missing from the table fails too, so a new
//! one is placed on purpose.

#![allow(clippy::restriction)] // test code: a panic is a failed test, not a bug

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use seekpass_oauth_testkit::source::rust_files;

/// The core, bottom layer first.
const CORE: &[&[&str]] = &[
    &["ids", "time", "redact", "secret", "redirect", "wire"],
    &["rng", "retry_after"],
    &["error"],
    &[
        "scope",
        "endpoint",
        "credentials",
        "share",
        "store",
        "user_agent",
    ],
    &["token"],
    &["policy", "state", "classify"],
    &["config"],
    &["shared_token"],
    &["store_key", "request"],
    &["event"],
    &["output"],
    &["machine"],
    &["pool"],
];

const DRIVER: &[&[&str]] = &[
    &[
        "clock",
        "error",
        "health",
        "proxy",
        "state",
        "redis",
        "secret_source",
        "telemetry",
        "transport",
        "trust",
        "wire",
    ],
    &["cell", "file_store"],
    &["engine"],
    &["pool"],
];

const BLOCKING: &[&[&str]] = &[
    &["changes", "sender", "store"],
    &["ureq", "wire", "redis"],
    &["pool", "source"],
];

const ASYNC: &[&[&str]] = &[
    &["sender", "store", "timer"],
    &["by_deadline", "reqwest", "wire", "redis"],
    &["source"],
    &["pool"],
    &["bearer"],
    &["middleware", "tower"],
];

const COMMAND: &[&[&str]] = &[&["check"], &["options", "output"], &["cache", "setup"]];

const TESTKIT: &[&[&str]] = &[
    &[
        "alloc",
        "body",
        "demo",
        "env",
        "events",
        "future",
        "interop",
        "load",
        "memory_store",
        "net",
        "relay",
        "secrets",
        "source",
        "tls",
    ],
    &[
        "baseline",
        "fleet",
        "pool",
        "proxy_table",
        "redis",
        "scenario",
    ],
    &["fuzz", "pool_sim"],
];

#[test]
fn the_core_is_layered() {
    check("", "lib.rs", CORE);
}

#[test]
fn the_driver_crates_are_layered() {
    check("crates/seekpass-oauth-driver", "lib.rs", DRIVER);
    check("crates/seekpass-oauth-blocking", "lib.rs", BLOCKING);
    check("crates/seekpass-oauth-async", "lib.rs", ASYNC);
}

#[test]
fn the_command_is_layered() {
    check("crates/seekpass-token", "main.rs", COMMAND);
}

#[test]
fn the_test_kit_is_layered() {
    check("crates/seekpass-oauth-testkit", "lib.rs", TESTKIT);
}

#[test]
fn a_use_that_reaches_up_is_found() {
    let layers: &[&[&str]] = &[&["low"], &["high"]];
    let root = "pub use high::High;\n";
    let reexports = reexports(root);
    let ok = "use crate::{low::{A, B}, Other};\n// crate::high in a comment\n";
    assert!(back_edges("low", ok, &reexports, layers).is_empty());
    for text in [
        "use crate::high::Thing;\n",
        "use crate::{low::A, high};\n",
        "fn f() { crate::High::new(); }\n",
        "use crate::{\n    low,\n    High,\n};\n",
    ] {
        assert_eq!(
            back_edges("low", text, &reexports, layers),
            ["high"],
            "{text}"
        );
    }
    // A module may not use another of its own layer either: the table orders them.
    assert_eq!(
        back_edges("a", "use crate::b;\n", &BTreeMap::new(), &[&["a", "b"]]),
        ["b"]
    );
    // Test modules may reach anywhere.
    let with_tests = "use crate::low;\n#[cfg(test)]\nmod tests {\n    use crate::high;\n}\n";
    assert!(back_edges("low", with_tests, &reexports, layers).is_empty());
}

/// Checks the crate at `dir` (relative to the workspace root) against `layers`.
fn check(dir: &str, root_file: &str, layers: &[&[&str]]) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join("src");
    let root = std::fs::read_to_string(src.join(root_file)).unwrap();
    let reexports = reexports(&root);
    let mut modules = BTreeMap::<String, Vec<PathBuf>>::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let name = top.to_str().unwrap().trim_end_matches(".rs").to_owned();
        if name == root_file.trim_end_matches(".rs") || file.file_name().unwrap() == "tests.rs" {
            continue;
        }
        modules.entry(name).or_default().push(file);
    }
    let listed: BTreeSet<&str> = layers.iter().flat_map(|l| l.iter().copied()).collect();
    let found: BTreeSet<&str> = modules.keys().map(String::as_str).collect();
    assert_eq!(
        listed, found,
        "{dir}: the layer table must list exactly the crate's modules"
    );
    let mut problems = Vec::new();
    for (module, files) in &modules {
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            for up in back_edges(module, &text, &reexports, layers) {
                problems.push(format!("{}: `{module}` uses `{up}`", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "imports that reach up or sideways in the layers:\n{}",
        problems.join("\n")
    );
}

/// The modules `module` uses in `text` that are not in a layer below its own.
fn back_edges(
    module: &str,
    text: &str,
    reexports: &BTreeMap<String, String>,
    layers: &[&[&str]],
) -> Vec<String> {
    let layer_of = |name: &str| layers.iter().position(|l| l.contains(&name));
    let own = layer_of(module).expect("the module is in the table");
    let mut out: Vec<String> = crate_paths(&code(text))
        .into_iter()
        .filter_map(|first| reexports.get(&first).cloned().or(Some(first)))
        .filter(|used| used != module)
        .filter(|used| layer_of(used).is_some_and(|layer| layer >= own))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The source without comment lines and without the test module at the end of a file.
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after every `crate::`, with each element of a `crate::{…}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut element_start = true;
            let mut ident = String::new();
            for c in group.chars() {
                if depth == 1 && (c.is_alphanumeric() || c == '_') {
                    if element_start {
                        ident.push(c);
                    }
                    continue;
                }
                if !ident.is_empty() {
                    out.push(std::mem::take(&mut ident));
                    element_start = false;
                }
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => element_start = true,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
            if !ident.is_empty() {
                out.push(ident);
            }
        } else {
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                out.push(ident);
            }
        }
    }
    out
}

/// What the crate root re-exports: item name → the module it comes from.
fn reexports(root: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code(root);
    for statement in code.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.rsplit("::").next().unwrap_or("").trim();
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                out.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    out
}
