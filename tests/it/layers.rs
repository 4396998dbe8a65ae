//! The core's folders are layers with one direction: a layer may use the layers listed
//! before it and itself, never one after it. This test reads every source file of the
//! core and fails on a reference that points the wrong way, so the shape in
//! `src/lib.rs` stays true.

use std::path::{Path, PathBuf};

/// The layers, lowest first (the same order as `src/lib.rs`).
const LAYERS: &[&str] = &[
    "base", "store", "config", "scan", "mcp", "net", "oauth", "ops", "app_api",
];

/// Names the crate root re-exports, and the layer each comes from.
const ROOT_REEXPORTS: &[(&str, &str)] =
    &[("Error", "base"), ("Result", "base"), ("Secret", "base")];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// Every `crate::<name>` a line of code refers to, including `use crate::{a, b::c}`.
fn crate_refs(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `keybroker_app::crate::` cannot occur; but `foo_crate::` must not count.
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// The layer a referenced name belongs to (`None`: not a layer, e.g. a macro).
fn layer_of(name: &str) -> Option<&'static str> {
    if let Some(l) = LAYERS.iter().find(|l| **l == name) {
        return Some(l);
    }
    ROOT_REEXPORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, l)| *l)
}

/// Wrong-way references in one file of layer `layer`: `(line number, referenced layer)`.
fn violations(layer: &str, source: &str) -> Vec<(usize, String)> {
    let Some(own) = rank(layer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for name in crate_refs(code) {
            let Some(target) = layer_of(&name) else {
                continue;
            };
            if rank(target).is_some_and(|r| r > own) {
                out.push((n + 1, target.to_string()));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_layer_uses_only_the_layers_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_string();
        // The front ends: the library's root, the CLI and the relay program's `main`.
        if top == "lib" || top == "main" || top == "cli" || top == "relay_main" {
            continue;
        }
        assert!(
            rank(&top).is_some(),
            "{} is in no layer: put it in one of {LAYERS:?} (and list new layers in this test and src/lib.rs)",
            rel.display()
        );
        let text = std::fs::read_to_string(f).expect("read source");
        for (line, target) in violations(&top, &text) {
            wrong.push(format!(
                "{}:{line}: layer `{top}` uses `{target}`, which comes after it",
                rel.display()
            ));
        }
        checked += 1;
    }
    assert!(
        checked > 30,
        "only {checked} files checked; is src/ laid out in layers?"
    );
    assert!(wrong.is_empty(), "wrong-way imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_layer_check_catches_a_wrong_way_import() {
    let code = "use crate::base::error::Result;\nuse crate::ops::launch;\n";
    assert_eq!(violations("store", code), vec![(2, "ops".to_string())]);
    let grouped = "use crate::{config::hosts::Host, oauth::flow};\n";
    assert_eq!(violations("scan", grouped), vec![(1, "oauth".to_string())]);
    let path_expr = "    let x = crate::app_api::Context::new();\n";
    assert_eq!(
        violations("ops", path_expr),
        vec![(1, "app_api".to_string())]
    );
    assert!(
        violations(
            "ops",
            "use crate::store::state::State;\nuse crate::Error;\n"
        )
        .is_empty()
    );
    assert!(violations("base", "// see crate::ops::launch\n").is_empty());
    // Code after a unit-test module (and the tests themselves) is checked too: a wrong
    // import appended at the end of a file was once skipped.
    let after_tests = "#[cfg(test)]\nmod tests {}\nuse crate::ops::launch;\n";
    assert_eq!(
        violations("store", after_tests),
        vec![(3, "ops".to_string())]
    );
    assert!(violations("base", "let a = my_crate::ops;\n").is_empty());
}
