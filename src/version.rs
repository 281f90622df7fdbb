//! What a build is: the release version, the commit it was built from and the
//! database schema it writes. The CLI's `--version` and the app's account menu
//! show the same line.

/// The release version (the core's package version; every face shares it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `0.1.0 (commit 1a2b3c4d5e6f, schema 17)`. `commit` comes from the face's
/// build script (`unknown` when built outside a git checkout).
pub fn version_line(commit: &str) -> String {
    format!("{VERSION} (commit {commit}, schema {})", crate::store::schema_version_latest())
}
