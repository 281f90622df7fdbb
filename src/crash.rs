//! Local crash reports. A panic hook writes `crash-<UTC time>.txt` into a
//! folder of the data directory: the build's version line, the OS and
//! architecture, the panicking thread, where it panicked, the panic message
//! (redacted and cut short) and a backtrace. Nothing is sent anywhere; the
//! desktop's next start offers to open the folder.
//!
//! A report holds no secrets and no buyer data: a backtrace is function
//! names and source lines of our own code, and the message goes through the
//! one redaction (`redact`) before it is written.

use chrono::{DateTime, Utc};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The folder under the data directory that holds the reports.
pub const CRASH_DIR_NAME: &str = "crash-reports";
/// Reports kept: writing one more removes the oldest beyond this.
pub const CRASH_REPORTS_KEPT_MAX: usize = 20;
/// Characters of the panic message kept in a report; the rest is cut.
pub const PANIC_MESSAGE_CHARS_MAX: usize = 500;
/// The marker that names the newest report the operator has already seen.
pub const SEEN_MARKER_FILE: &str = "seen.txt";

const REPORT_PREFIX: &str = "crash-";
const REPORT_SUFFIX: &str = ".txt";
/// Reports written in the same nanosecond get a numbered name; after this many tries the report is dropped.
const NAME_TRIES_MAX: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum CrashError {
    #[error("crash reports folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("crash reports folder {path}: no free report name for this instant")]
    NameTaken { path: PathBuf },
}

impl CrashError {
    /// Stable code for the CLI, IPC and tests.
    pub fn code(&self) -> &'static str {
        match self {
            CrashError::Io { .. } | CrashError::NameTaken { .. } => "crash.io",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CrashError + '_ {
    move |source| CrashError::Io { path: path.to_path_buf(), source }
}

/// Where reports go when no folder is named: `crash-reports/` beside the
/// default database in the OS data directory.
pub fn default_dir() -> PathBuf {
    let db = crate::store::default_path();
    db.parent().map(|p| p.join(CRASH_DIR_NAME)).unwrap_or_else(|| PathBuf::from(CRASH_DIR_NAME))
}

/// What one panic left behind, as the hook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub thread: String,
    /// `src/file.rs:12:5`, or `unknown` when the runtime gives no location.
    pub location: String,
    pub message: String,
    pub backtrace: String,
}

impl Panic {
    fn from_hook(info: &std::panic::PanicHookInfo<'_>) -> Panic {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(a panic payload that is not text)".to_string());
        Panic {
            thread: std::thread::current().name().unwrap_or("unnamed").to_string(),
            location: info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_else(|| "unknown".to_string()),
            message,
            backtrace: std::backtrace::Backtrace::force_capture().to_string(),
        }
    }
}

/// The panic message as a report keeps it. It stays because it is often the
/// one line that says what went wrong (`index out of bounds`, an `expect`'s
/// reason); a formatted panic may carry a token or a buyer's email or phone,
/// so it is redacted and cut to [`PANIC_MESSAGE_CHARS_MAX`] characters.
pub fn kept_message(message: &str) -> String {
    let redacted = crate::redact::redact(&crate::redact::redact_contacts(message), &[]);
    let count = redacted.chars().count();
    if count <= PANIC_MESSAGE_CHARS_MAX {
        return redacted;
    }
    let mut cut: String = redacted.chars().take(PANIC_MESSAGE_CHARS_MAX).collect();
    let _ = write!(cut, "… ({} more characters cut)", count - PANIC_MESSAGE_CHARS_MAX);
    cut
}

/// The text of a report.
pub fn render(version_line: &str, at: DateTime<Utc>, panic: &Panic) -> String {
    format!(
        "VoucherDesk crash report (written on this computer only; nothing was sent)\n\
         version: {version_line}\n\
         time: {}\n\
         os: {} {}\n\
         thread: {}\n\
         location: {}\n\
         message: {}\n\
         \n\
         backtrace:\n{}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        std::env::consts::OS,
        std::env::consts::ARCH,
        panic.thread,
        panic.location,
        kept_message(&panic.message),
        panic.backtrace,
    )
}

fn is_report(name: &str) -> bool {
    name.starts_with(REPORT_PREFIX) && name.ends_with(REPORT_SUFFIX)
}

/// The reports in `dir`, oldest first (their names sort by time). A missing folder has none.
pub fn reports(dir: &Path) -> Result<Vec<PathBuf>, CrashError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry.map_err(io(dir))?.file_name().to_string_lossy().into_owned();
        if is_report(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Writes one report into `dir` (created if missing) and removes the oldest
/// beyond [`CRASH_REPORTS_KEPT_MAX`]; returns the report's path.
pub fn write_report(dir: &Path, version_line: &str, at: DateTime<Utc>, panic: &Panic) -> Result<PathBuf, CrashError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let stamp = at.format("%Y%m%dT%H%M%S%.9fZ");
    let text = render(version_line, at, panic);
    let mut written = None;
    for n in 0..NAME_TRIES_MAX {
        // `_n` sorts after `.txt` of the same instant, so names keep their order.
        let name = match n {
            0 => format!("{REPORT_PREFIX}{stamp}{REPORT_SUFFIX}"),
            n => format!("{REPORT_PREFIX}{stamp}_{n}{REPORT_SUFFIX}"),
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                file.write_all(text.as_bytes()).map_err(io(&path))?;
                written = Some(path);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&path)(e)),
        }
    }
    let path = written.ok_or_else(|| CrashError::NameTaken { path: dir.to_path_buf() })?;
    let all = reports(dir)?;
    for old in all.iter().take(all.len().saturating_sub(CRASH_REPORTS_KEPT_MAX)) {
        std::fs::remove_file(old).map_err(io(old))?;
    }
    Ok(path)
}

/// Installs the panic hook: every panic, on any thread, writes a report into
/// `dir`, says where on stderr, then runs the hook that was there before
/// (Rust's own message). The hook never panics itself: a report that cannot
/// be written is only mentioned on stderr.
pub fn install(dir: PathBuf, version_line: String) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let panic = Panic::from_hook(info);
        match write_report(&dir, &version_line, Utc::now(), &panic) {
            Ok(path) => eprintln!("VoucherDesk crashed; a crash report was written to {}", path.display()),
            Err(e) => eprintln!("VoucherDesk crashed; the crash report could not be written: {e}"),
        }
        previous(info);
    }));
}

/// Reports the operator has not been shown yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unseen {
    pub count: usize,
    pub folder: PathBuf,
    pub newest: PathBuf,
}

fn seen_up_to(dir: &Path) -> Result<Option<String>, CrashError> {
    let marker = dir.join(SEEN_MARKER_FILE);
    match std::fs::read_to_string(&marker) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&marker)(e)),
    }
}

/// The reports newer than the last one marked seen, or `None` when there are none.
pub fn unseen(dir: &Path) -> Result<Option<Unseen>, CrashError> {
    let seen = seen_up_to(dir)?;
    let fresh: Vec<PathBuf> = reports(dir)?
        .into_iter()
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            seen.as_deref().is_none_or(|seen| name.as_str() > seen)
        })
        .collect();
    Ok(fresh.last().map(|newest| Unseen { count: fresh.len(), folder: dir.to_path_buf(), newest: newest.clone() }))
}

/// Marks every report there now as seen (the marker names the newest).
pub fn mark_seen(dir: &Path) -> Result<(), CrashError> {
    let Some(newest) = reports(dir)?.pop() else { return Ok(()) };
    let name = newest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let marker = dir.join(SEEN_MARKER_FILE);
    std::fs::write(&marker, name).map_err(io(&marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_with(message: &str) -> Panic {
        Panic {
            thread: "worker".into(),
            location: "src/x.rs:1:1".into(),
            message: message.into(),
            backtrace: "0: f".into(),
        }
    }

    #[test]
    fn the_hook_writes_one_redacted_report_with_the_version_and_a_backtrace() {
        let dir = tempfile::tempdir().unwrap();
        let reports_dir = dir.path().join(CRASH_DIR_NAME);
        install(reports_dir.clone(), "9.9.9 (commit abc123def456, schema 42)".into());
        let joined = std::thread::Builder::new()
            .name("crash-test-worker".into())
            .spawn(|| {
                let order = "SHOP-1001";
                panic!(
                    "refund of {order} for ana@mail.example.co failed: POST /refunds?token=tk-live-998877 Authorization: Bearer eyJabc.def"
                );
            })
            .unwrap()
            .join();
        // Back to Rust's own hook for the rest of the test process.
        let _ = std::panic::take_hook();
        assert!(joined.is_err(), "the thread must have panicked");

        let written = reports(&reports_dir).unwrap();
        assert_eq!(written.len(), 1, "{written:?}");
        let text = std::fs::read_to_string(&written[0]).unwrap();
        let name = written[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("crash-") && name.ends_with("Z.txt"), "{name}");
        assert!(text.contains("\nversion: 9.9.9 (commit abc123def456, schema 42)\n"), "{text}");
        assert!(text.contains(&format!("\nos: {} {}\n", std::env::consts::OS, std::env::consts::ARCH)), "{text}");
        assert!(text.contains("\nthread: crash-test-worker\n"), "{text}");
        assert!(text.contains("\nlocation: src/crash.rs:"), "{text}");
        assert!(
            text.contains(
                "\nmessage: refund of SHOP-1001 for [redacted] failed: POST /refunds?token=[redacted] Authorization: [redacted]\n"
            ),
            "{text}"
        );
        assert!(!text.contains("tk-live-998877") && !text.contains("eyJabc") && !text.contains("ana@"), "{text}");
        // force_capture: frames whatever RUST_BACKTRACE says, this test among them.
        let backtrace = text.split("\nbacktrace:\n").nth(1).unwrap();
        assert!(backtrace.contains("the_hook_writes_one_redacted_report"), "{backtrace}");
    }

    #[test]
    fn a_long_message_is_cut_to_the_bound() {
        let kept = kept_message(&"x".repeat(PANIC_MESSAGE_CHARS_MAX + 34));
        assert_eq!(kept, format!("{}… (34 more characters cut)", "x".repeat(PANIC_MESSAGE_CHARS_MAX)));
        assert_eq!(kept_message("short"), "short");
    }

    #[test]
    fn only_the_newest_reports_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let start: DateTime<Utc> = "2026-12-06T07:00:00Z".parse().unwrap();
        let mut paths = Vec::new();
        for i in 0..CRASH_REPORTS_KEPT_MAX + 3 {
            let at = start + chrono::Duration::seconds(i as i64);
            paths.push(write_report(dir.path(), "v", at, &panic_with(&format!("panic {i}"))).unwrap());
        }
        let kept = reports(dir.path()).unwrap();
        assert_eq!(kept.len(), CRASH_REPORTS_KEPT_MAX);
        assert_eq!(kept, paths[3..].to_vec());
        assert_eq!(kept[0].file_name().unwrap().to_string_lossy(), "crash-20261206T070003.000000000Z.txt");
    }

    #[test]
    fn the_same_instant_gets_a_second_name_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let at: DateTime<Utc> = "2026-12-06T07:00:00Z".parse().unwrap();
        let first = write_report(dir.path(), "v", at, &panic_with("a")).unwrap();
        let second = write_report(dir.path(), "v", at, &panic_with("b")).unwrap();
        assert_eq!(reports(dir.path()).unwrap(), vec![first, second.clone()]);
        assert_eq!(second.file_name().unwrap().to_string_lossy(), "crash-20261206T070000.000000000Z_1.txt");
    }

    #[test]
    fn unseen_counts_reports_after_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unseen(&dir.path().join("missing")).unwrap(), None);
        assert_eq!(unseen(dir.path()).unwrap(), None);
        let at: DateTime<Utc> = "2026-12-06T07:00:00Z".parse().unwrap();
        write_report(dir.path(), "v", at, &panic_with("a")).unwrap();
        let second = write_report(dir.path(), "v", at + chrono::Duration::seconds(1), &panic_with("b")).unwrap();
        assert_eq!(
            unseen(dir.path()).unwrap(),
            Some(Unseen { count: 2, folder: dir.path().to_path_buf(), newest: second })
        );
        mark_seen(dir.path()).unwrap();
        assert_eq!(unseen(dir.path()).unwrap(), None);
        let third = write_report(dir.path(), "v", at + chrono::Duration::seconds(2), &panic_with("c")).unwrap();
        assert_eq!(
            unseen(dir.path()).unwrap(),
            Some(Unseen { count: 1, folder: dir.path().to_path_buf(), newest: third })
        );
    }
}
