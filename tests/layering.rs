//! Which way the library's modules point. The target (docs/ARCHITECTURE.md):
//! model ← store, psp ← use cases ← jobs ← the faces, with no import circle.
//! Today one circle remains (the store takes domain types and the domain
//! takes the store); this test is a ratchet: the circle may shrink, never grow,
//! and no second circle may appear. When a module leaves the circle, remove
//! it from `KNOWN_CIRCLE` here (the test says so).
//!
//! The PSP sandbox is a crate of its own (`sandbox/`, `voucherdesk_sandbox`)
//! that depends on the core; the core never names it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of the one circle left, as measured when this test was written.
const KNOWN_CIRCLE: [&str; 18] = [
    "audit",
    "credentials",
    "exceptions",
    "fx",
    "import",
    "lookup",
    "notifications",
    "observations",
    "operators",
    "psp",
    "reconcile",
    "refunds",
    "settings",
    "store",
    "sync",
    "team",
    "terms",
    "webhooks",
];

/// The sandbox crate, as code names it and as Cargo.toml does.
const SANDBOX_LIB: &str = "voucherdesk_sandbox";
const SANDBOX_PACKAGE: &str = "voucherdesk-sandbox";

/// Modules that must stay outside every circle: the pure rules and values.
const LEAVES: [&str; 4] = ["money", "market", "calendar", "redact"];

fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// A source file without its comments: a comment naming a module is not an import.
fn code_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every .rs file under `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// `crate::x` references of every module of src/, by top-level module.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.to_string();
            match (p.is_dir(), name.strip_suffix(".rs")) {
                (true, _) => Some(name),
                (false, Some(stem)) if stem != "lib" && stem != "main" => Some(stem.to_string()),
                (false, _) => None,
            }
        })
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for path in rust_files(&src) {
        let Some(from) = top_module(path.strip_prefix(&src).unwrap()) else { continue };
        let text = code_text(&path);
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let to: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if to != from && modules.contains(&to) {
                edges.get_mut(&from).unwrap().insert(to);
            }
        }
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in &edges[v] {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v.as_str());
        }
    }
    s.found
}

#[test]
fn the_import_circle_never_grows_and_no_new_one_appears() {
    let edges = edges();
    let found = circles(&edges);
    let known: BTreeSet<String> = KNOWN_CIRCLE.iter().map(|m| m.to_string()).collect();
    for circle in &found {
        let outside: Vec<&String> = circle.difference(&known).collect();
        assert!(
            outside.is_empty(),
            "modules {outside:?} joined an import circle {circle:?}: import downwards only (docs/ARCHITECTURE.md)"
        );
    }
    let members: BTreeSet<String> = found.into_iter().flatten().collect();
    let left: Vec<&String> = known.difference(&members).collect();
    assert!(
        left.is_empty(),
        "{left:?} left the import circle: good, remove them from KNOWN_CIRCLE in tests/layering.rs"
    );
}

#[test]
fn the_pure_modules_import_nothing_that_touches_the_store() {
    let edges = edges();
    for leaf in LEAVES {
        let bad: Vec<&String> = edges[leaf].iter().filter(|m| !LEAVES.contains(&m.as_str())).collect();
        assert!(bad.is_empty(), "{leaf} imports {bad:?}; it must stay a leaf (values and pure rules only)");
    }
}

#[test]
fn the_core_never_names_the_sandbox_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        !edges().contains_key("sandbox"),
        "src/ has a `sandbox` module again: the PSP sandbox lives in sandbox/ (crate {SANDBOX_LIB})"
    );
    let naming: Vec<String> = rust_files(&root.join("src"))
        .into_iter()
        .filter(|path| code_text(path).contains(SANDBOX_LIB))
        .map(|path| path.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert!(naming.is_empty(), "{naming:?} name {SANDBOX_LIB}: the sandbox depends on the core, never the reverse");

    // Every dependency table of the core's manifest, the per-target ones too.
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml")).unwrap().parse().unwrap();
    let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut tables: Vec<(String, &toml::Table)> =
        kinds.iter().filter_map(|kind| Some((kind.to_string(), manifest.get(*kind)?.as_table()?))).collect();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for (target, spec) in targets {
            for kind in kinds {
                if let Some(table) = spec.get(kind).and_then(|t| t.as_table()) {
                    tables.push((format!("target.{target}.{kind}"), table));
                }
            }
        }
    }
    assert!(tables.iter().any(|(kind, _)| kind == "dependencies"), "the core's Cargo.toml lost its [dependencies]");
    for (kind, table) in tables {
        for (name, spec) in table {
            let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name);
            let path = spec.get("path").and_then(|p| p.as_str()).unwrap_or("");
            assert!(
                package != SANDBOX_PACKAGE && !path.trim_end_matches('/').ends_with("sandbox"),
                "the core's Cargo.toml [{kind}] has {name} ({package}, path {path:?}): the core must not depend on the sandbox"
            );
        }
    }
}
