//! The commit a build comes from, for `--version`.

include!("../build/commit.rs");

fn main() {
    emit_commit();
}
