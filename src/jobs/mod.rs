//! The background rounds every face runs: the PSP status sync, refund
//! submission, buyer-message outbox delivery, the team copy's refresh and
//! scheduled backups.
//! One round is one function: it opens what it needs, decides whom it acts
//! as and which team lease it takes (`round`), does the work through the use
//! cases, and returns what it saw for the face's indicator. Pacing the rounds
//! (interval, wake-up, stop) is the face's.
//!
//! Nothing else in the library imports this module: jobs sit above the use
//! cases and below the faces (cli/, src-tauri/).

pub mod outbox_delivery;
pub mod psp_sync;
pub mod refund_submission;
pub mod round;
pub mod scheduled_backup;
pub mod team_refresh;

pub use round::{DesktopNames, LEASE_HELD, SessionProbe, held_message, lease_for_round};

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every .rs file under `dir`.
    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(rust_files(&path));
            } else if path.extension().is_some_and(|x| x == "rs") {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn nothing_else_in_the_library_imports_the_jobs() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let jobs = src.join("jobs");
        let importing: Vec<String> = rust_files(&src)
            .into_iter()
            .filter(|path| !path.starts_with(&jobs))
            .filter(|path| {
                let text = std::fs::read_to_string(path).unwrap();
                text.lines().map(|line| line.split("//").next().unwrap_or("")).any(|code| code.contains("crate::jobs"))
            })
            .map(|path| path.strip_prefix(&src).unwrap().display().to_string())
            .collect();
        assert!(
            importing.is_empty(),
            "{importing:?} import crate::jobs: the jobs sit above the use cases, never below"
        );
    }
}
