//! Scheduled backups as a background round: when one is due
//! (`backup_schedule::due`), `backup::scheduled_backup` writes an archive into
//! the folder an admin chose, the retention rule prunes the folder's older
//! scheduled archives, and the outcome goes into the status file beside the
//! database, which Settings and the warning banner read. Whoever is signed
//! in (or nobody), the backup is made: the schedule is the admin's decision.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::backup::{self, BackupError};
use crate::backup_schedule::{self, KEEP_DAILY, KEEP_MONTHLY};
use crate::credentials::SecretVault;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::Store;
use crate::team;

use super::round::DesktopNames;

/// What one round did, for the face's runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupRound {
    Starting,
    /// No folder chosen.
    Off,
    /// The last backup is recent enough.
    NotDue,
    Done {
        archive: PathBuf,
        removed: u32,
    },
    Failed {
        code: String,
        message: String,
    },
    Stopped,
}

/// Why a round failed before or while it wrote the archive.
#[derive(Debug, thiserror::Error)]
pub enum ScheduledBackupError {
    #[error("the backup folder {0} is not there (is its disk or share connected?)")]
    FolderMissing(String),
    #[error(transparent)]
    Backup(#[from] BackupError),
}

impl ScheduledBackupError {
    pub fn code(&self) -> &'static str {
        match self {
            ScheduledBackupError::FolderMissing(_) => "backup.folder_missing",
            ScheduledBackupError::Backup(e) => e.code(),
        }
    }
}

/// One round on the database at `db_path`: a backup when it is due (or
/// `forced`). Blocks (the copy, the team's write lock): call it on a
/// blocking thread.
pub fn round(db_path: &Path, vault: &dyn SecretVault, names: &DesktopNames, forced: bool) -> BackupRound {
    let mut store = match team::open_workspace(db_path, vault, &names.application) {
        Ok(store) => store,
        Err(e) => return BackupRound::Failed { code: e.code().to_string(), message: e.to_string() },
    };
    round_on(&mut store, Utc::now(), forced)
}

/// A backup now, whatever the schedule says (Settings' "Back up now"): admins only.
pub fn round_now(
    db_path: &Path,
    vault: &dyn SecretVault,
    names: &DesktopNames,
    operator: &Operator,
) -> Result<BackupRound, OperatorError> {
    operator.require(Permission::ChangeSettings)?;
    Ok(round(db_path, vault, names, true))
}

/// The round on an open store, as of `now`.
pub fn round_on(store: &mut Store, now: DateTime<Utc>, forced: bool) -> BackupRound {
    let schedule = match backup_schedule::get(store) {
        Ok(s) => s,
        Err(e) => return BackupRound::Failed { code: e.code().to_string(), message: e.to_string() },
    };
    let Some(folder) = schedule.folder.clone().map(PathBuf::from) else { return BackupRound::Off };
    let database = store.path().to_path_buf();
    let mut status = backup_schedule::read_status(&database);
    if !forced && !backup_schedule::due(&schedule, &status, now) {
        return BackupRound::NotDue;
    }
    let outcome = match write_and_prune(store, &folder, now) {
        Ok((archive, removed)) => {
            status.succeeded(now, &archive, removed);
            BackupRound::Done { archive, removed }
        }
        Err(e) => {
            status.failed(now, &folder, e.code(), &e.to_string());
            BackupRound::Failed { code: e.code().to_string(), message: e.to_string() }
        }
    };
    match backup_schedule::write_status(&database, &status) {
        Ok(()) => outcome,
        Err(e) => BackupRound::Failed {
            code: "backup.io".to_string(),
            message: format!("{}: {e}", backup_schedule::status_path(&database).display()),
        },
    }
}

/// Writes the archive into `folder`, then removes the scheduled archives the
/// retention rule lets go. A file that cannot be removed stays (the next
/// round tries again); the backup itself succeeded.
fn write_and_prune(
    store: &mut Store,
    folder: &Path,
    now: DateTime<Utc>,
) -> Result<(PathBuf, u32), ScheduledBackupError> {
    if !folder.is_dir() {
        return Err(ScheduledBackupError::FolderMissing(folder.display().to_string()));
    }
    let archive = folder.join(backup_schedule::archive_name(now));
    backup::scheduled_backup(store, &archive, now)?;
    let names: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let retention = backup_schedule::retention(&names, KEEP_DAILY, KEEP_MONTHLY);
    let removed = retention.remove.iter().filter(|name| std::fs::remove_file(folder.join(name)).is_ok()).count();
    Ok((archive, u32::try_from(removed).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup_schedule::{BackupHealth, BackupSchedule};
    use crate::jobs::round::tests::workspace;
    use crate::operators;
    use chrono::TimeZone;

    fn schedule_in(store: &mut Store, folder: &Path) {
        let root = operators::act_as(store, "root").unwrap();
        let schedule = BackupSchedule { folder: Some(folder.display().to_string()), every_hours: 24 };
        backup_schedule::set(store, &root, &schedule).unwrap();
    }

    #[test]
    fn a_due_round_writes_an_archive_that_restores_and_records_its_success() {
        let (dir, path) = workspace();
        let folder = dir.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        let mut store = Store::open(&path).unwrap();
        assert_eq!(round_on(&mut store, Utc::now(), false), BackupRound::Off, "no folder yet");
        schedule_in(&mut store, &folder);
        let now = Utc.with_ymd_and_hms(2026, 3, 5, 2, 0, 0).unwrap();
        let archive = folder.join("voucherdesk-auto-20260305T020000Z.vdbackup");
        assert_eq!(round_on(&mut store, now, false), BackupRound::Done { archive: archive.clone(), removed: 0 });
        assert_eq!(round_on(&mut store, now + chrono::Duration::hours(1), false), BackupRound::NotDue);
        let status = backup_schedule::read_status(&path);
        assert_eq!(status.last_success_at, Some(now));
        assert_eq!(status.last_success_file, Some(archive.display().to_string()));
        let overview = backup_schedule::overview(&store, now).unwrap();
        assert_eq!(overview.health, BackupHealth::Healthy);
        let audit = store.audit_entries(0, 1000).unwrap();
        let made = audit.iter().rev().find(|e| e.entry.action == "backup.create").unwrap();
        assert_eq!(made.entry.operator, backup::SCHEDULED_BY);
        drop(store);
        // The archive restores into a new file, its audit chain intact.
        let restored = dir.path().join("restored.sqlite");
        let r = backup::restore(&archive, &restored, now).unwrap();
        assert_eq!(r.manifest.created_by, "(scheduled backup)");
        assert_eq!(r.manifest.tables.get("operators"), Some(&4));
    }

    #[test]
    fn a_missing_folder_fails_the_round_and_the_health_warns_with_the_reason() {
        let (dir, path) = workspace();
        let folder = dir.path().join("usb-disk");
        std::fs::create_dir(&folder).unwrap();
        let mut store = Store::open(&path).unwrap();
        schedule_in(&mut store, &folder);
        std::fs::remove_dir(&folder).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 3, 5, 2, 0, 0).unwrap();
        let expected = format!("the backup folder {} is not there (is its disk or share connected?)", folder.display());
        assert_eq!(
            round_on(&mut store, now, false),
            BackupRound::Failed { code: "backup.folder_missing".into(), message: expected.clone() }
        );
        let overview = backup_schedule::overview(&store, now).unwrap();
        assert_eq!(overview.health, BackupHealth::Failed);
        assert!(overview.health.warns());
        assert_eq!(overview.status.last_failure_reason, Some(expected));
        assert_eq!(overview.status.last_success_at, None);
    }

    #[test]
    fn a_read_only_folder_fails_the_round_with_the_os_error() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, path) = workspace();
        let folder = dir.path().join("shared");
        std::fs::create_dir(&folder).unwrap();
        let mut store = Store::open(&path).unwrap();
        schedule_in(&mut store, &folder);
        let now = Utc.with_ymd_and_hms(2026, 3, 5, 2, 0, 0).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::write(folder.join("probe"), b"x").is_ok() {
            // Root writes through permissions: block the archive's working folder with a file instead.
            std::fs::remove_file(folder.join("probe")).unwrap();
            std::fs::write(folder.join("voucherdesk-auto-20260305T020000Z.partial.d"), b"in the way").unwrap();
        }
        let round = round_on(&mut store, now, false);
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let BackupRound::Failed { code, message } = round else { panic!("{round:?}") };
        assert_eq!(code, "backup.io");
        assert!(message.starts_with(&folder.display().to_string()), "{message}");
        let overview = backup_schedule::overview(&store, now).unwrap();
        assert_eq!(overview.health, BackupHealth::Failed);
        assert!(overview.health.warns());
        assert_eq!(overview.status.last_failure_code.as_deref(), Some("backup.io"));
        assert_eq!(overview.status.last_failure_reason, Some(message));
        let archives = std::fs::read_dir(&folder)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".vdbackup"))
            .count();
        assert_eq!(archives, 0, "no archive was left behind");
    }

    #[test]
    fn a_success_prunes_older_scheduled_archives_and_leaves_other_files() {
        let (dir, path) = workspace();
        let folder = dir.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        // Twenty days of archives in January (placeholders), and a manual backup.
        for day in 1..=20 {
            let t = Utc.with_ymd_and_hms(2026, 1, day, 2, 0, 0).unwrap();
            std::fs::write(folder.join(backup_schedule::archive_name(t)), b"old").unwrap();
        }
        std::fs::write(folder.join("voucherdesk-20250101T000000Z.vdbackup"), b"manual").unwrap();
        let mut store = Store::open(&path).unwrap();
        schedule_in(&mut store, &folder);
        let now = Utc.with_ymd_and_hms(2026, 2, 1, 2, 0, 0).unwrap();
        let round = round_on(&mut store, now, false);
        // Kept: 2026-02-01 (new) and the 13 newest January days (01-08 .. 01-20); removed: 01-01 .. 01-07.
        assert!(matches!(round, BackupRound::Done { removed: 7, .. }), "{round:?}");
        let mut left: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 15);
        assert_eq!(left[0], "voucherdesk-20250101T000000Z.vdbackup");
        assert_eq!(left[1], "voucherdesk-auto-20260108T020000Z.vdbackup");
        assert_eq!(left[14], "voucherdesk-auto-20260201T020000Z.vdbackup");
        assert_eq!(backup_schedule::read_status(&path).last_removed, 7);
    }

    #[test]
    fn only_an_admin_changes_the_schedule_or_backs_up_now() {
        let (dir, path) = workspace();
        let folder = dir.path().join("backups");
        std::fs::create_dir(&folder).unwrap();
        let mut store = Store::open(&path).unwrap();
        let fabio = operators::act_as(&store, "fabio").unwrap();
        let wanted = BackupSchedule { folder: Some(folder.display().to_string()), every_hours: 24 };
        let refused = backup_schedule::set(&mut store, &fabio, &wanted).unwrap_err();
        assert_eq!(refused.code(), "auth.forbidden");
        assert_eq!(backup_schedule::get(&store).unwrap(), BackupSchedule::default(), "nothing changed");
        let names = DesktopNames { application: "host/desktop".into(), holder: "host/desktop#1".into() };
        let vault = crate::credentials::MemoryVault::default();
        assert_eq!(round_now(&path, &vault, &names, &fabio).unwrap_err().code(), "auth.forbidden");
        let root = operators::act_as(&store, "root").unwrap();
        let bad = BackupSchedule { folder: Some("relative/dir".into()), every_hours: 24 };
        assert_eq!(
            backup_schedule::set(&mut store, &root, &bad).unwrap_err().to_string(),
            "relative/dir is not a folder: choose an existing folder"
        );
        let bad = BackupSchedule { folder: None, every_hours: 0 };
        assert_eq!(backup_schedule::set(&mut store, &root, &bad).unwrap_err().code(), "errors.validation");
        backup_schedule::set(&mut store, &root, &wanted).unwrap();
        let audit = store.audit_entries(0, 1000).unwrap();
        assert_eq!(audit.last().unwrap().entry.action, "backup.schedule");
        drop(store);
        assert!(matches!(round_now(&path, &vault, &names, &root).unwrap(), BackupRound::Done { removed: 0, .. }));
    }
}
