//! The TypeScript bindings in ui/src/bindings/ are what the Rust payload types
//! produce now. `UPDATE_BINDINGS=1` (what `make bindings` sets) rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use voucherdesk_desktop::bindings::{BINDINGS_DIR, export_bindings};

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(BINDINGS_DIR)
}

fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ts"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn bindings_are_up_to_date() {
    let committed = committed_dir();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        for old in ts_files(&committed).keys() {
            std::fs::remove_file(committed.join(old)).unwrap();
        }
        let written = export_bindings(&committed).unwrap();
        eprintln!("wrote {} files to {}", written.len(), committed.display());
        return;
    }
    let fresh_dir = tempfile::tempdir().unwrap();
    export_bindings(fresh_dir.path()).unwrap();
    let fresh = ts_files(fresh_dir.path());
    let current = ts_files(&committed);
    let stale: Vec<&String> = fresh
        .keys()
        .chain(current.keys())
        .filter(|name| fresh.get(*name) != current.get(*name))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        stale.is_empty(),
        "bindings are stale: run `make bindings` (UPDATE_BINDINGS=1 cargo test -p voucherdesk-desktop --test suite bindings::) \
         and commit {BINDINGS_DIR}/; differing files: {stale:?}"
    );
}
