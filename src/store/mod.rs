//! The store: every line of SQL in VoucherDesk lives under this module, so a
//! second backend (PostgreSQL for team mode) is a new module, not a rewrite.
//!
//! One place opens the database, sets the pragmas and runs the embedded,
//! numbered migrations inside one IMMEDIATE transaction; a database written by
//! a newer VoucherDesk is refused.

mod audit;
mod backup;
// The local copy of a team's shared rows.
pub mod copy;
mod dashboard;
mod exceptions;
mod fx;
mod imports;
mod indexes;
mod lookup;
mod notifications;
mod observations;
mod operators;
mod psp_accounts;
mod reconcile;
// Refunds.
mod refunds;
mod search;
mod sync;
// Team mode's backend: the team's shared state on PostgreSQL.
pub mod team;
// Team mode's write path: changes under the team's lock, uploaded.
mod team_link;
mod vouchers;
mod webhooks;

pub use audit::{AUDIT_GENESIS_HASH, AuditAnchor, AuditEntry, StoredAuditEntry, anchor_path_for, entry_hash};
pub use exceptions::{
    ExceptionCursor, ExceptionFilter, ExceptionLedger, ExceptionRecord, ExceptionSort, HistoryRecord, LinkCandidate,
};
pub use fx::{FxRateRow, FxWrite};
pub use imports::status_at as observation_status_at;
pub use imports::{BatchInfo, ImportTx, NewBatch, RowCounts, RowOutcome, RowSpan, RowWriter};
pub use lookup::{OrderHit, OrderRecord, PaymentRecord, SettlementRecord, StatusObservation};
pub use notifications::{BuyerNotificationRow, ManualInsert, NewBuyerNotification, NotificationFilter, SendOutcome};
pub use observations::AppliedObservation;
pub use operators::{OperatorColumn, OperatorRecord, SignInFailures};
pub use psp_accounts::{NewPspAccountRow, PspAccountRow, TestResultRow};
pub use reconcile::{
    ApplyCounts, ExceptionState, FeeRate, OrderFacts, PaymentFacts, PendingFacts, RefundFacts, RunRecord,
    SettlementFacts, StoredFinding,
};
// Refunds.
pub use copy::{SHARED_TABLES, SharedTable};
pub use refunds::{
    ApprovalRow, NewRefundRow, PaymentHold, RefundFigures, RefundFilter, RefundRow, RefundTotals, RefundUpdate,
    RefundablePayment, unconfirmed_exception_id,
};
pub use sync::{FollowedChargeback, SyncItem, SyncQueueCounts, SyncStateRecord, SyncTx};
pub use team_link::{PullReport, PushReport, TEAM_PULL_PAGE_ROWS, TeamLinkStatus};
pub use vouchers::{NewVoucherIssue, OrderVoucher, VoucherIssueRow};
pub use webhooks::{ForgedFinding, NotificationEffect, NotificationRecord, NotificationRow, StoredNotification};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another writer before giving up.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

/// Embedded migrations, applied in order; never edit a shipped one, add a new one.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("migrations/0001_ledger.sql")),
    (2, include_str!("migrations/0002_operators.sql")),
    (3, include_str!("migrations/0003_psp_notifications.sql")),
    (4, include_str!("migrations/0004_psp_accounts.sql")),
    (5, include_str!("migrations/0005_sync.sql")),
    (6, include_str!("migrations/0006_queue_indexes.sql")),
    (7, include_str!("migrations/0007_refunds.sql")),
    (9, include_str!("migrations/0009_notifications.sql")),
    (11, include_str!("migrations/0011_notification_reminders.sql")),
    (12, include_str!("migrations/0012_notification_barcode.sql")),
    (13, include_str!("migrations/0013_team_copy.sql")),
    (14, include_str!("migrations/0014_fx_rates.sql")),
    (15, include_str!("migrations/0015_fee_rates.sql")),
    (16, include_str!("migrations/0016_voucher_issues.sql")),
    (17, include_str!("migrations/0017_voucher_cancelled_kind.sql")),
    (18, include_str!("migrations/0018_sign_in_throttle.sql")),
];

/// The database used when none is named: `voucherdesk.sqlite` in the OS data
/// directory (`~/.local/share/voucherdesk/` on Linux).
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("com", "VoucherDesk", "VoucherDesk")
        .map(|d| d.data_dir().join("voucherdesk.sqlite"))
        .unwrap_or_else(|| PathBuf::from("voucherdesk.sqlite"))
}

pub fn schema_version_latest() -> u32 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "database {path} was written by a newer VoucherDesk (schema version {found}, this build knows up to {known}); upgrade VoucherDesk to open it"
    )]
    TooNew { path: PathBuf, found: u32, known: u32 },
    #[error("database migration to version {version} failed: {source}")]
    Migration { version: u32, source: rusqlite::Error },
    #[error("database error: {0}")]
    Sql(rusqlite::Error),
    /// A change tried on a team copy that may not change now (the team server is out of reach).
    #[error(
        "VoucherDesk is read-only while the team server cannot be reached: lookups and lists work from this desktop's copy; try the change again once the server is back"
    )]
    ReadOnly,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// The team server's store (team mode) failed.
    #[error(transparent)]
    Team(#[from] team::TeamStoreError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        // Only a team copy is ever read-only (query_only): between writes, or offline.
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ReadOnly) {
            return StoreError::ReadOnly;
        }
        StoreError::Sql(e)
    }
}

impl StoreError {
    /// Stable code for the CLI, IPC and tests.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::ReadOnly => "team.offline",
            StoreError::Team(e) => e.code(),
            StoreError::Open { .. }
            | StoreError::TooNew { .. }
            | StoreError::Migration { .. }
            | StoreError::Sql(_)
            | StoreError::Corrupt(_)
            | StoreError::Invalid(_)
            | StoreError::Conflict(_) => "store",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An open VoucherDesk database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Team mode: the team server this file is a copy of (None: local mode).
    team: Option<Box<team_link::TeamLink>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> StoreResult<Store> {
        configure_sqlite_once();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // A missing data directory is created; a failure surfaces as Open below.
            let _ = std::fs::create_dir_all(parent);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::prepare(conn, path.to_path_buf())
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> StoreResult<Store> {
        configure_sqlite_once();
        let conn = Connection::open_in_memory()?;
        Self::prepare(conn, PathBuf::from(":memory:"))
    }

    fn prepare(mut conn: Connection, path: PathBuf) -> StoreResult<Store> {
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        let check_file = |e: rusqlite::Error| StoreError::Open { path: path.clone(), source: e };
        // Fails here, with the path in the message, when the file is not a database.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(check_file)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "cache_size", -65_536)?; // 64 MiB page cache
        // Lets index builds (bulk imports) sort on both cores.
        conn.pragma_update(None, "threads", 2)?;
        migrate(&mut conn, &path)?;
        Ok(Store { conn, path, team: None })
    }

    /// A second connection to the same file, for reading on another thread
    /// (WAL lets it read while this one works). `None` for in-memory stores.
    pub fn reader(&self) -> StoreResult<Option<Store>> {
        if self.path == Path::new(":memory:") {
            return Ok(None);
        }
        let conn =
            Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|source| StoreError::Open { path: self.path.clone(), source })?;
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        Ok(Some(Store { conn, path: self.path.clone(), team: None }))
    }

    /// Sets this connection's page cache, in KiB (a reader that serves a
    /// window needs less than an import's writer).
    pub fn set_cache_size_kib(&self, kib: u32) -> StoreResult<()> {
        self.conn.pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when no transaction is open on this connection: every write so far
    /// is committed (a long-lived connection must be back here after each call).
    pub fn is_autocommit(&self) -> bool {
        self.conn.is_autocommit()
    }

    /// Changes whenever another connection commits: lets a long computation
    /// check that what it read is still what is there.
    pub fn data_version(&self) -> StoreResult<i64> {
        Ok(self.conn.pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    pub fn schema_version(&self) -> StoreResult<u32> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Counts of the main tables, for `stats`.
    pub fn counts(&self) -> StoreResult<TableCounts> {
        let count = |table: &str| -> StoreResult<i64> {
            Ok(self.conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
        };
        let open_exceptions: i64 =
            self.conn.query_row("SELECT count(*) FROM exceptions WHERE status = 'open'", [], |r| r.get(0))?;
        Ok(TableCounts {
            orders: count("orders")?,
            payments: count("payments")?,
            settlements: count("settlements")?,
            open_exceptions,
        })
    }
}

impl Drop for Store {
    /// Every command that appended to the audit log moves its anchor on closing
    /// (long-lived connections also move it after each own-transaction append).
    fn drop(&mut self) {
        let _ = self.advance_audit_anchor();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TableCounts {
    pub orders: i64,
    pub payments: i64,
    pub settlements: i64,
    pub open_exceptions: i64,
}

/// Turns off SQLite's memory statistics: they take a process-wide mutex on
/// every allocation (7% of a bulk import in profiles), and we never read them.
/// Must run before SQLite initialises; later calls are refused by SQLite and
/// change nothing, which is harmless.
fn configure_sqlite_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before any connection exists (this
        // is the first thing `open` does) with an integer argument, as its
        // documentation requires for SQLITE_CONFIG_MEMSTATUS.
        unsafe {
            rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::os::raw::c_int);
        }
    });
}

fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = schema_version_latest();
    if found > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known });
    }
    if found == known && indexes::all_present(conn)? {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.execute_batch(sql).map_err(|source| StoreError::Migration { version: *version, source })?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|source| StoreError::Migration { version: *version, source })?;
    }
    indexes::ensure(&tx)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_database_from_a_newer_version_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vd.sqlite");
        drop(Store::open(&path).unwrap());
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&path).err().expect("must refuse");
        assert!(err.to_string().contains("newer VoucherDesk (schema version 99"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, 99);
    }

    #[test]
    fn opening_twice_keeps_one_schema_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vd.sqlite");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema_version_latest());
        let mode: String = store.conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn the_outbox_rebuild_keeps_every_message_and_takes_the_voucher_cancelled_kind() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v <= 16) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        let insert = |conn: &Connection, kind: &str, client_ref: &str| {
            conn.execute(
                "INSERT INTO buyer_notifications(order_id, kind, channel, locale, recipient, subject, body_text,
                     body_html, status, next_attempt_at, client_ref, trigger, triggered_by, event_key, queued_at,
                     updated_at, barcode)
                 VALUES ('O-1', ?1, 'email', 'es-CO', 'ana@correo.example', 'S', 'T', 'H', 'queued', 7, ?2, 'event',
                     'sam', ?2, 5, 6, '4400000001')",
                [kind, client_ref],
            )
        };
        insert(&conn, "voucher_instructions", "ref-1").unwrap();
        assert!(insert(&conn, "voucher_cancelled", "ref-2").is_err(), "version 16 does not know the kind");
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let kept: (i64, String, String, i64, String) = conn
            .query_row("SELECT id, kind, client_ref, next_attempt_at, barcode FROM buyer_notifications", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap();
        assert_eq!(kept, (1, "voucher_instructions".into(), "ref-1".into(), 7, "4400000001".into()));
        insert(&conn, "voucher_cancelled", "ref-2").unwrap();
        assert!(insert(&conn, "voucher_lost", "ref-3").is_err());
        assert!(insert(&conn, "voucher_cancelled", "ref-1").is_err(), "client_ref stays unique");
        assert!(indexes::all_present(&conn).unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "hello, this is not sqlite at all, just some text to fill a page").unwrap();
        let err = Store::open(&path).err().expect("must refuse");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
