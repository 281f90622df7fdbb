//! Which way the library's modules point (docs/ARCHITECTURE.md):
//! model ← store, psp ← use cases ← jobs ← the faces, with no import circle.
//! `model` imports nothing of the crate, `store` imports only `model`, and no
//! two modules of src/ import each other through any chain.
//!
//! An import is any path in code that starts at the crate or climbs out of a
//! module: `crate::a::X`, a grouped `use crate::{a::X, b}` (both `a` and `b`
//! count) and `super::super::a` resolved from the file's place (and its inline
//! `mod` blocks). Comments and string literals are not imports.
//!
//! The PSP sandbox is a crate of its own (`sandbox/`, `voucherdesk_sandbox`)
//! that depends on the core; the core never names it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The sandbox crate, as code names it and as Cargo.toml does.
const SANDBOX_LIB: &str = "voucherdesk_sandbox";
const SANDBOX_PACKAGE: &str = "voucherdesk-sandbox";

/// The layer every other one may import; it imports nothing of the crate.
const MODEL: &str = "model";
/// All SQL; it imports only the model.
const STORE: &str = "store";
/// Modules that must stay leaves besides the model: pure helpers with no import of ours.
const LEAVES: [&str; 1] = ["redact"];

/// A file's module path under src/: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`, `lib.rs` is `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.strip_suffix(".rs").unwrap_or(&file);
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// Source text with comments and the contents of string and char literals blanked out,
/// so a comment or a message naming a module is not an import.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && (i == 0 || !ident(chars[i - 1])) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('a', '\n', '\''); a lifetime ('a) has no closing quote.
            i += 1;
            if chars.get(i) == Some(&'\\') {
                i += 2;
            } else {
                i += 1;
            }
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A cursor over code text for reading paths.
struct Cursor<'a> {
    chars: &'a [char],
    at: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.at < self.chars.len() && self.chars[self.at].is_whitespace() {
            self.at += 1;
        }
    }
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let end = self.at + token.chars().count();
        if end <= self.chars.len() && self.chars[self.at..end].iter().copied().eq(token.chars()) {
            self.at = end;
            true
        } else {
            false
        }
    }
    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.at;
        while self.at < self.chars.len() && (self.chars[self.at].is_ascii_alphanumeric() || self.chars[self.at] == '_')
        {
            self.at += 1;
        }
        (self.at > start).then(|| self.chars[start..self.at].iter().collect())
    }
}

/// The top-level modules a `use` tree names, read from just after `crate::` (the crate root):
/// `a::X` names `a`, `{a::X, b, c::{d, e}}` names `a`, `b` and `c`.
fn roots_of_tree(cur: &mut Cursor<'_>, found: &mut BTreeSet<String>) {
    if cur.eat("{") {
        loop {
            if cur.eat("}") {
                break;
            }
            let before = cur.at;
            roots_of_tree(cur, found);
            // Skip the rest of this branch (`::X`, `::{…}`, `as Y`) up to its comma or the group's end.
            let mut depth = 0;
            while cur.at < cur.chars.len() {
                match cur.chars[cur.at] {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        cur.at += 1;
                        break;
                    }
                    _ => {}
                }
                cur.at += 1;
            }
            if cur.at == before || cur.at >= cur.chars.len() {
                break;
            }
        }
    } else if let Some(name) = cur.ident() {
        if name != "self" {
            found.insert(name);
        }
    }
}

/// The top-level modules of the crate that code at module path `here` refers to.
fn references(here: &[String], code: &str) -> BTreeSet<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = BTreeSet::new();
    // Inline `mod name {` blocks: (brace depth inside the block, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    let boundary =
        |i: usize| i == 0 || !(chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':');
    while i < chars.len() {
        match chars[i] {
            '{' => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((depth, name));
                }
                i += 1;
                continue;
            }
            '}' => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            ';' => pending_mod = None,
            _ => {}
        }
        if !boundary(i) {
            i += 1;
            continue;
        }
        let mut cur = Cursor { chars: &chars, at: i };
        if cur.eat("mod ") {
            pending_mod = cur.ident();
            i = cur.at;
            continue;
        }
        let mut path: Vec<String> = here.iter().cloned().chain(inline.iter().map(|(_, n)| n.clone())).collect();
        let mut climbed = false;
        if cur.eat("crate") && cur.eat("::") {
            path.clear();
            climbed = true;
        } else {
            cur.at = i;
            while cur.eat("super") && cur.eat("::") {
                path.pop();
                climbed = true;
                i = cur.at;
            }
            cur.at = i;
        }
        if !climbed {
            i += 1;
            continue;
        }
        if let Some(top) = path.first() {
            found.insert(top.clone());
        } else {
            roots_of_tree(&mut cur, &mut found);
        }
        i = cur.at.max(i + 1);
    }
    found
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

/// Imports between the top-level modules of src/.
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
        let here = module_path(path.strip_prefix(&src).unwrap());
        let Some(from) = here.first().cloned() else { continue };
        let code = code_only(&std::fs::read_to_string(&path).unwrap());
        for to in references(&here, &code) {
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
fn the_reader_counts_grouped_and_relative_imports_and_skips_comments_and_strings() {
    let here: Vec<String> = ["psp", "dlocal", "webhook"].iter().map(|s| s.to_string()).collect();
    let code = code_only(
        r#"
use crate::{
    money::Currency,
    store::{Store, StoreError as E},
    self,
};
use super::super::super::webhooks::Verify;
use super::wire::Body;
use crate::model::payment::PaymentStatus;
fn f() -> crate::sync::Applied { todo!() }
// use crate::exceptions::Finding;
const S: &str = "crate::refunds::X";
mod tests {
    use super::super::super::super::audit::x;
    use super::*;
}
"#,
    );
    let expected: BTreeSet<String> =
        ["audit", "model", "money", "psp", "store", "sync", "webhooks"].iter().map(|s| s.to_string()).collect();
    assert_eq!(references(&here, &code), expected);
}

#[test]
fn no_import_circle() {
    let edges = edges();
    let found = circles(&edges);
    let described: Vec<String> = found
        .iter()
        .map(|circle| {
            let inside: Vec<String> = circle
                .iter()
                .flat_map(|from| {
                    edges[from].iter().filter(|to| circle.contains(*to)).map(move |to| format!("{from} → {to}"))
                })
                .collect();
            format!("{circle:?} through {inside:?}")
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} import circle(s): {described:#?}; import downwards only (docs/ARCHITECTURE.md)",
        found.len()
    );
}

#[test]
fn the_model_imports_nothing_of_the_crate() {
    let edges = edges();
    let model = edges.get(MODEL).expect("src/model/ is missing: the shared types and pure rules live there");
    assert!(model.is_empty(), "model imports {model:?}; it must import nothing of the crate");
}

#[test]
fn the_store_imports_only_the_model() {
    let edges = edges();
    let bad: Vec<&String> = edges[STORE].iter().filter(|m| m.as_str() != MODEL).collect();
    assert!(bad.is_empty(), "store imports {bad:?}; it takes and returns model types only");
}

#[test]
fn the_pure_helpers_import_nothing_of_the_crate() {
    let edges = edges();
    for leaf in LEAVES {
        let bad = &edges[leaf];
        assert!(bad.is_empty(), "{leaf} imports {bad:?}; it must stay a leaf");
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
        .filter(|path| code_only(&std::fs::read_to_string(path).unwrap()).contains(SANDBOX_LIB))
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
