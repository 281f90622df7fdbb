//! Automatic backups on a schedule: where they go and how often (a setting an
//! admin changes, audited, read by everyone), which archives the folder keeps
//! (the retention rule), when the next one is due, and how the last attempts
//! went (a small status file beside the database, so that it is this
//! computer's and survives a restart). The round that makes them is
//! `jobs::scheduled_backup`; the archive itself is `backup`'s.

use crate::audit::audit_entry;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Hours between two scheduled backups by default: one a day.
pub const EVERY_HOURS_DEFAULT: u32 = 24;
pub const EVERY_HOURS_MIN: u32 = 1;
/// A week.
pub const EVERY_HOURS_MAX: u32 = 168;
/// Days whose newest archive the folder keeps.
pub const KEEP_DAILY: usize = 14;
/// Months whose newest archive the folder keeps (beyond the daily ones).
pub const KEEP_MONTHLY: usize = 12;
/// How late past its interval a backup may be before the app warns.
pub const GRACE_HOURS: i64 = 6;
/// After a failed attempt, the next waits this long (the folder may come back).
pub const RETRY_AFTER_FAILURE_MINUTES: i64 = 60;
/// Scheduled archives are named `voucherdesk-auto-<UTC time>.vdbackup`; the
/// retention rule touches no other file of the folder (a manual backup there stays).
pub const ARCHIVE_PREFIX: &str = "voucherdesk-auto-";
pub const ARCHIVE_SUFFIX: &str = ".vdbackup";
const ARCHIVE_TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// The status file beside the database: `<database>` + this.
pub const STATUS_FILE_SUFFIX: &str = ".backup-status.json";
/// Longest failure reason kept in the status file.
const REASON_CHARS_MAX: usize = 500;

const SETTINGS_KEY: &str = "backup_schedule";

/// Where scheduled backups go and how often. No folder: they are off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupSchedule {
    pub folder: Option<String>,
    pub every_hours: u32,
}

impl Default for BackupSchedule {
    fn default() -> Self {
        BackupSchedule { folder: None, every_hours: EVERY_HOURS_DEFAULT }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupScheduleError {
    #[error("a backup may be scheduled every {EVERY_HOURS_MIN} to {EVERY_HOURS_MAX} hours")]
    BadInterval,
    #[error("{0} is not a folder: choose an existing folder")]
    NotAFolder(String),
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BackupScheduleError {
    pub fn code(&self) -> &'static str {
        match self {
            BackupScheduleError::BadInterval | BackupScheduleError::NotAFolder(_) => "errors.validation",
            BackupScheduleError::Forbidden(e) => e.code(),
            BackupScheduleError::Store(e) => e.code(),
        }
    }
}

pub fn get(store: &Store) -> Result<BackupSchedule, BackupScheduleError> {
    Ok(store.setting(SETTINGS_KEY)?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

/// Replaces the schedule (admins): the folder must be an existing folder,
/// named by its full path.
pub fn set(
    store: &mut Store,
    operator: &Operator,
    new: &BackupSchedule,
) -> Result<BackupSchedule, BackupScheduleError> {
    operator.require(Permission::ChangeSettings)?;
    if !(EVERY_HOURS_MIN..=EVERY_HOURS_MAX).contains(&new.every_hours) {
        return Err(BackupScheduleError::BadInterval);
    }
    if let Some(folder) = &new.folder {
        let path = Path::new(folder);
        if !path.is_absolute() || !path.is_dir() {
            return Err(BackupScheduleError::NotAFolder(folder.clone()));
        }
    }
    let before = serde_json::to_string(&get(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    store.put_setting(
        SETTINGS_KEY,
        &after,
        &audit_entry(&operator.name, "backup.schedule", "scheduled backups", &before, &after),
    )?;
    Ok(new.clone())
}

// ------------------------------------------------------------------ archive names and retention

/// The name of the scheduled archive made at `at`.
pub fn archive_name(at: DateTime<Utc>) -> String {
    format!("{ARCHIVE_PREFIX}{}{ARCHIVE_SUFFIX}", at.format(ARCHIVE_TIME_FORMAT))
}

/// When a scheduled archive was made, from its name; `None` for any other file.
pub fn archive_time(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(ARCHIVE_PREFIX)?.strip_suffix(ARCHIVE_SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, ARCHIVE_TIME_FORMAT).ok().map(|t| t.and_utc())
}

/// What the retention rule does with a folder's scheduled archives (each list oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Retention {
    pub keep: Vec<String>,
    pub remove: Vec<String>,
}

/// The retention rule: of the scheduled archives among `names`, keep the
/// newest of each of the `keep_daily` most recent UTC days that have one,
/// and the newest of each of the `keep_monthly` most recent UTC months that
/// have one; remove the rest. Days and months without an archive do not
/// count, so a machine that was off loses nothing by it. Names that are not
/// scheduled archives are neither kept nor removed.
pub fn retention(names: &[String], keep_daily: usize, keep_monthly: usize) -> Retention {
    let mut archives: Vec<(DateTime<Utc>, &String)> =
        names.iter().filter_map(|n| archive_time(n).map(|t| (t, n))).collect();
    // Newest first; equal times cannot happen (one name per second).
    archives.sort_by(|a, b| b.cmp(a));
    let mut kept: BTreeSet<&String> = BTreeSet::new();
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut months: Vec<(i32, u32)> = Vec::new();
    for (at, name) in &archives {
        let day = at.date_naive();
        if !days.contains(&day) && days.len() < keep_daily {
            days.push(day);
            kept.insert(*name);
        }
        let month = (at.year(), at.month());
        if !months.contains(&month) && months.len() < keep_monthly {
            months.push(month);
            kept.insert(*name);
        }
    }
    let mut out = Retention::default();
    for (_, name) in archives.iter().rev() {
        if kept.contains(name) {
            out.keep.push((*name).clone());
        } else {
            out.remove.push((*name).clone());
        }
    }
    out
}

// ------------------------------------------------------------------ status and health

/// How the scheduled backups of this computer went: kept beside the database.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupStatus {
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The folder the last attempt wrote into (or tried to).
    pub last_attempt_folder: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The archive the last success wrote (its full path).
    pub last_success_file: Option<String>,
    /// Archives the retention rule removed after the last success.
    pub last_removed: u32,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_failure_code: Option<String>,
    pub last_failure_reason: Option<String>,
}

impl BackupStatus {
    /// Whether the last attempt failed (a failure after the last success).
    pub fn last_attempt_failed(&self) -> bool {
        match (self.last_failure_at, self.last_success_at) {
            (Some(failed), Some(succeeded)) => failed > succeeded,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    pub fn succeeded(&mut self, at: DateTime<Utc>, file: &Path, removed: u32) {
        self.last_attempt_at = Some(at);
        self.last_attempt_folder = file.parent().map(|f| f.display().to_string());
        self.last_success_at = Some(at);
        self.last_success_file = Some(file.display().to_string());
        self.last_removed = removed;
    }

    pub fn failed(&mut self, at: DateTime<Utc>, folder: &Path, code: &str, reason: &str) {
        self.last_attempt_at = Some(at);
        self.last_attempt_folder = Some(folder.display().to_string());
        self.last_failure_at = Some(at);
        self.last_failure_code = Some(code.to_string());
        self.last_failure_reason = Some(reason.chars().take(REASON_CHARS_MAX).collect());
    }
}

/// The status file of the database at `database`.
pub fn status_path(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}{STATUS_FILE_SUFFIX}", database.display()))
}

/// The status kept for `database`; none yet (or unreadable) is a fresh one.
pub fn read_status(database: &Path) -> BackupStatus {
    fs::read(status_path(database)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
}

/// Writes the status for `database` (whole or not at all: a new file moved in place).
pub fn write_status(database: &Path, status: &BackupStatus) -> io::Result<()> {
    let path = status_path(database);
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    fs::write(&partial, serde_json::to_vec_pretty(status).expect("a status serialises"))?;
    fs::rename(&partial, &path)
}

/// Whether a scheduled backup is due now: never made, or made in another
/// folder, or `every_hours` since the last success; after a failure in the
/// same folder, not before `RETRY_AFTER_FAILURE_MINUTES` (a newly chosen
/// folder is tried at once).
pub fn due(schedule: &BackupSchedule, status: &BackupStatus, now: DateTime<Utc>) -> bool {
    let Some(folder) = &schedule.folder else { return false };
    if status.last_attempt_failed()
        && status.last_attempt_folder.as_deref() == Some(folder.as_str())
        && let Some(failed) = status.last_failure_at
    {
        return now - failed >= Duration::minutes(RETRY_AFTER_FAILURE_MINUTES);
    }
    let in_this_folder =
        status.last_success_file.as_deref().is_some_and(|f| Path::new(f).parent() == Some(Path::new(folder)));
    match status.last_success_at {
        Some(succeeded) if in_this_folder => now - succeeded >= Duration::hours(i64::from(schedule.every_hours)),
        Some(_) | None => true,
    }
}

/// What Settings and the warning banner say about scheduled backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum BackupHealth {
    /// No folder chosen.
    Off,
    /// Scheduled, nothing attempted yet (the first round runs at once).
    Pending,
    /// The last attempt succeeded, within the interval and its grace.
    Healthy,
    /// The last attempt failed: a warning.
    Failed,
    /// No success for longer than the interval and its grace: a warning.
    Overdue,
}

impl BackupHealth {
    pub fn warns(self) -> bool {
        match self {
            BackupHealth::Failed | BackupHealth::Overdue => true,
            BackupHealth::Off | BackupHealth::Pending | BackupHealth::Healthy => false,
        }
    }
}

pub fn health(schedule: &BackupSchedule, status: &BackupStatus, now: DateTime<Utc>) -> BackupHealth {
    if schedule.folder.is_none() {
        return BackupHealth::Off;
    }
    if status.last_attempt_failed() {
        return BackupHealth::Failed;
    }
    match status.last_success_at {
        None => BackupHealth::Pending,
        Some(succeeded) if now - succeeded > Duration::hours(i64::from(schedule.every_hours) + GRACE_HOURS) => {
            BackupHealth::Overdue
        }
        Some(_) => BackupHealth::Healthy,
    }
}

/// Everything Settings shows about scheduled backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BackupOverview {
    pub schedule: BackupSchedule,
    pub status: BackupStatus,
    pub health: BackupHealth,
    pub keep_daily: u32,
    pub keep_monthly: u32,
    pub grace_hours: u32,
}

/// The overview for the database `store` has open, as of `now`.
pub fn overview(store: &Store, now: DateTime<Utc>) -> Result<BackupOverview, BackupScheduleError> {
    let schedule = get(store)?;
    let status = read_status(store.path());
    let health = health(&schedule, &status, now);
    Ok(BackupOverview {
        schedule,
        status,
        health,
        keep_daily: KEEP_DAILY as u32,
        keep_monthly: KEEP_MONTHLY as u32,
        grace_hours: GRACE_HOURS as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn names(times: &[DateTime<Utc>]) -> Vec<String> {
        times.iter().map(|t| archive_name(*t)).collect()
    }

    #[test]
    fn archive_names_round_trip_and_other_files_are_not_archives() {
        let t = Utc.with_ymd_and_hms(2026, 3, 5, 14, 7, 9).unwrap();
        assert_eq!(archive_name(t), "voucherdesk-auto-20260305T140709Z.vdbackup");
        assert_eq!(archive_time(&archive_name(t)), Some(t));
        for other in [
            "voucherdesk-20260305T140709Z.vdbackup",
            "voucherdesk-auto-20260305T140709Z.vdbackup.partial",
            "voucherdesk-auto-2026-03-05.vdbackup",
            "notes.txt",
        ] {
            assert_eq!(archive_time(other), None, "{other}");
        }
    }

    #[test]
    fn daily_backups_over_a_month_boundary_keep_fourteen_days_and_each_months_newest() {
        // One backup a day at 02:00 from 2026-01-20 to 2026-03-10 (50 days).
        let first = at(2026, 1, 20, 2);
        let times: Vec<_> = (0..50).map(|d| first + Duration::days(d)).collect();
        let r = retention(&names(&times), KEEP_DAILY, KEEP_MONTHLY);
        let mut expected_keep = vec![archive_name(at(2026, 1, 31, 2)), archive_name(at(2026, 2, 28, 2))];
        // The 14 newest days: 2026-02-25 .. 2026-03-10 (03-10 is also March's newest).
        let daily: Vec<String> = (0..14).map(|d| archive_name(at(2026, 2, 25, 2) + Duration::days(d))).collect();
        expected_keep.retain(|n| !daily.contains(n));
        expected_keep.extend(daily);
        assert_eq!(r.keep, expected_keep);
        assert_eq!(r.keep.len(), 15, "14 days and January's last; February's last is one of the 14");
        assert_eq!(r.remove.len(), 35);
        assert_eq!(r.remove.first(), Some(&archive_name(at(2026, 1, 20, 2))));
        assert_eq!(r.remove.last(), Some(&archive_name(at(2026, 2, 24, 2))));
        assert!(!r.remove.contains(&archive_name(at(2026, 1, 31, 2))));
    }

    #[test]
    fn several_backups_a_day_keep_each_days_newest_and_months_count_back_twelve() {
        // Two a year and a half ago each month, then three on each of the last two days.
        let mut times: Vec<_> = (0..16).map(|m| at(2025, 1, 10, 9) + chrono::Months::new(m)).collect();
        times.extend([at(2026, 5, 1, 1), at(2026, 5, 1, 9), at(2026, 5, 1, 17)]);
        times.extend([at(2026, 5, 2, 1), at(2026, 5, 2, 9), at(2026, 5, 2, 17)]);
        let r = retention(&names(&times), 14, 12);
        // Days: 05-02 17h, 05-01 17h, then the 14 monthly ones' days, up to 14 days in all:
        // 2026-04-10 back to 2025-05-10 (12 more days). Months: May 2026 (05-02 17h), then
        // April 2026 back to June 2025 (11 more).
        let mut keep: Vec<String> =
            (4..16).map(|m| archive_name(at(2025, 1, 10, 9) + chrono::Months::new(m))).collect();
        keep.extend([archive_name(at(2026, 5, 1, 17)), archive_name(at(2026, 5, 2, 17))]);
        assert_eq!(r.keep, keep);
        let mut remove: Vec<String> =
            (0..4).map(|m| archive_name(at(2025, 1, 10, 9) + chrono::Months::new(m))).collect();
        remove.extend(names(&[at(2026, 5, 1, 1), at(2026, 5, 1, 9), at(2026, 5, 2, 1), at(2026, 5, 2, 9)]));
        assert_eq!(r.remove, remove);
    }

    #[test]
    fn other_files_are_never_kept_or_removed_and_few_archives_are_all_kept() {
        let mut files = names(&[at(2026, 1, 1, 2), at(2026, 1, 2, 2)]);
        files.push("voucherdesk-20250101T000000Z.vdbackup".into());
        files.push("README.txt".into());
        let r = retention(&files, KEEP_DAILY, KEEP_MONTHLY);
        assert_eq!(r.keep, names(&[at(2026, 1, 1, 2), at(2026, 1, 2, 2)]));
        assert!(r.remove.is_empty());
        assert_eq!(retention(&[], KEEP_DAILY, KEEP_MONTHLY), Retention::default());
    }

    fn scheduled(folder: &str) -> BackupSchedule {
        BackupSchedule { folder: Some(folder.into()), every_hours: 24 }
    }

    #[test]
    fn a_backup_is_due_daily_in_its_folder_and_an_hour_after_a_failure() {
        let now = at(2026, 3, 5, 12);
        let mut status = BackupStatus::default();
        assert!(!due(&BackupSchedule::default(), &status, now), "no folder: off");
        assert!(due(&scheduled("/b"), &status, now), "never made");
        status.succeeded(now - Duration::hours(23), Path::new("/b/x.vdbackup"), 0);
        assert!(!due(&scheduled("/b"), &status, now));
        assert!(due(&scheduled("/elsewhere"), &status, now), "a new folder gets one at once");
        assert!(due(&scheduled("/b"), &status, now + Duration::hours(1)));
        status.failed(now, Path::new("/b"), "backup.io", "/b: No such file or directory");
        assert!(!due(&scheduled("/b"), &status, now + Duration::minutes(59)));
        assert!(due(&scheduled("/b"), &status, now + Duration::minutes(60)));
        assert!(due(&scheduled("/usb"), &status, now + Duration::minutes(1)), "another folder is tried at once");
    }

    #[test]
    fn health_warns_on_a_failed_last_attempt_or_a_day_and_its_grace_without_success() {
        let now = at(2026, 3, 5, 12);
        let mut status = BackupStatus::default();
        assert_eq!(health(&BackupSchedule::default(), &status, now), BackupHealth::Off);
        assert_eq!(health(&scheduled("/b"), &status, now), BackupHealth::Pending);
        status.succeeded(now - Duration::hours(30), Path::new("/b/x.vdbackup"), 0);
        assert_eq!(health(&scheduled("/b"), &status, now), BackupHealth::Healthy, "30 h is within 24 + 6");
        assert_eq!(health(&scheduled("/b"), &status, now + Duration::minutes(1)), BackupHealth::Overdue);
        status.failed(now, Path::new("/b"), "backup.io", "disk full");
        assert_eq!(health(&scheduled("/b"), &status, now), BackupHealth::Failed);
        assert!(BackupHealth::Failed.warns() && BackupHealth::Overdue.warns());
        status.succeeded(now + Duration::hours(1), Path::new("/b/y.vdbackup"), 2);
        assert_eq!(health(&scheduled("/b"), &status, now + Duration::hours(1)), BackupHealth::Healthy);
        assert_eq!(status.last_failure_reason.as_deref(), Some("disk full"), "the last failure stays on record");
        assert!(!BackupHealth::Healthy.warns() && !BackupHealth::Pending.warns() && !BackupHealth::Off.warns());
    }
}
