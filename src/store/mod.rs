//! The store: every line of SQL in VoucherDesk lives under this module, so a
//! second backend (PostgreSQL for team mode) is a new module, not a rewrite.
//!
//! One place opens the database, sets the pragmas and runs the embedded,
//! numbered migrations inside one IMMEDIATE transaction; a database written by
//! a newer VoucherDesk is refused.

mod audit;
mod backup;
// The local copy of a team's shared rows.
mod dashboard;
mod exceptions;
mod exports;
mod fx;
mod imports;
mod indexes;
mod kpis;
mod lookup;
mod notifications;
mod observations;
mod operators;
mod psp_accounts;
mod reconcile;
mod reconcile_changes;
pub mod shared_rows;
// Refunds.
mod refunds;
#[cfg(test)]
mod schema_fixtures;
mod search;
pub use search::{SEARCH_IMAGE_FILE_PREFIX, SearchImage, SearchIndexed, SearchStep};
mod sync;
// Team mode's backend: the team's shared state on PostgreSQL.
pub mod team;
// Team mode's write path: changes under the team's lock, uploaded.
mod team_link;
mod team_run;
mod vouchers;
mod webhooks;

pub use audit::{AUDIT_GENESIS_HASH, AuditAnchor, AuditEntry, StoredAuditEntry, anchor_path_for, entry_hash};
pub use exceptions::{
    CandidatesAmong, ExceptionCursor, ExceptionFilter, ExceptionLedger, ExceptionRecord, ExceptionSort, HistoryRecord,
    LinkCandidate,
};
pub use exports::{LedgerExportFilter, PaymentExportRow, SettlementExportRow};
pub use fx::{FxRateRow, FxWrite};
pub use imports::{
    ARCHIVE_ZSTD_LEVEL, BatchInfo, FirstOfKey, ImportTx, NewBatch, RAW_ROW_BYTES_MAX, RowCounts, RowOutcome, RowSpan,
    RowWriter, archive_text,
};
pub use kpis::{KpiFilter, KpiPaymentRow, KpiRefundRow, RefundDatedBy};
pub use lookup::{OrderHit, OrderRecord, PaymentRecord, RawSpan, SettlementRecord, StatusObservation};
pub use notifications::{BuyerNotificationRow, ManualInsert, NewBuyerNotification, NotificationFilter, SendOutcome};
pub use observations::AppliedObservation;
pub use operators::{OperatorColumn, OperatorRecord, SignInFailures};
pub use psp_accounts::{NewPspAccountRow, PspAccountRow, TestResultRow};
pub use reconcile::{
    ApplyCounts, ExceptionState, FactScope, FeeRate, OrderFacts, PaymentFactLists, PaymentFacts, PendingFacts,
    RefundFacts, RunRecord, RunScope, SettlementFacts, StoredFinding,
};
pub use reconcile_changes::{
    AwaitingSettlement, ChangedOrder, ChangedPayment, ClosedScope, ExceptionNote, LedgerChanges, MemoUpdate,
    NOTED_IMPORT_ROWS_MAX, PaidDayRow, PaymentBefore, ReconcileMemo, ReportSpanRow, RowMarks,
};
// Refunds.
pub use refunds::{
    ApprovalRow, NewRefundRow, PAYOUT_LOOKBACK_SECONDS, PaymentHold, PayoutEntry, RefundFigures, RefundFilter,
    RefundRow, RefundTotals, RefundUpdate, RefundablePayment, unconfirmed_exception_id,
};
pub use shared_rows::{SHARED_TABLES, SharedTable};
pub use sync::{FollowedChargeback, SyncItem, SyncQueueCounts, SyncStateRecord, SyncTx};
pub use team_link::{PullReport, PushReport, TEAM_PULL_PAGE_ROWS, TeamLinkStatus};
pub use vouchers::{NewVoucherIssue, OrderVoucher, VoucherIssueRow};
pub use webhooks::{ForgedFinding, NotificationEffect, NotificationRecord, NotificationRow, StoredNotification};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another writer before giving up.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;
/// Each connection's page cache.
pub const PAGE_CACHE_KIB: u32 = 65_536;
/// SQLite's own default: the WAL is copied into the database once it holds this many pages.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 1000;

/// How often a run of imports copies what it committed into the database, on
/// a thread beside the writer (see `Store::with_one_checkpoint`).
pub const CHECKPOINT_BESIDE_INTERVAL_MS: u64 = 500;

/// One embedded migration: the schema version it brings a file to and the
/// name of its file under `store/migrations/` (named in errors).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
    /// For a migration merged after a higher number had shipped: the name of
    /// an object it creates. A file whose version is above the migration's
    /// but which lacks that object was made while the migration was not yet
    /// merged, and gets it on its next open.
    pub creates: Option<&'static str>,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("migrations/", $name, ".sql")),
            creates: None,
        }
    };
    ($version:literal, $name:literal, late, creates = $object:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("migrations/", $name, ".sql")),
            creates: Some($object),
        }
    };
}

/// Embedded migrations, applied in order; never edit a shipped one (0011 was
/// mended once, see its comment), add a new one and its fixture
/// (tests/fixtures/schemas/README.md). The numbers were
/// handed out to work that ran side by side; 8 and 10 went to work that ended
/// without a schema change, so no file and no schema version has them. The
/// `late` ones were merged after a higher number had shipped on `main` (for a
/// while the list was 1, 2, 5; then 9 came before 6 and 7; 15 was used on a
/// branch before 14 was merged), so a file's version alone does not say they ran.
const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_ledger"),
    migration!(2, "0002_operators"),
    migration!(3, "0003_psp_notifications", late, creates = "psp_notifications"),
    migration!(4, "0004_psp_accounts", late, creates = "psp_accounts"),
    migration!(5, "0005_sync"),
    migration!(6, "0006_queue_indexes", late, creates = "exceptions_by_status_kind_age"),
    migration!(7, "0007_refunds", late, creates = "refunds"),
    migration!(9, "0009_notifications"),
    migration!(11, "0011_notification_reminders"),
    migration!(12, "0012_notification_barcode"),
    migration!(13, "0013_team_copy"),
    migration!(14, "0014_fx_rates", late, creates = "fx_rates"),
    migration!(15, "0015_fee_rates"),
    migration!(16, "0016_voucher_issues"),
    migration!(17, "0017_voucher_cancelled_kind"),
    migration!(18, "0018_sign_in_throttle"),
    migration!(19, "0019_refund_bank_transfer"),
    migration!(20, "0020_daily_report_kind"),
    migration!(21, "0021_reconcile_changes"),
    migration!(22, "0022_reconcile_unsettled"),
    migration!(23, "0023_search_merges"),
    migration!(24, "0024_history_source_check"),
];

/// The database used when none is named: `voucherdesk.sqlite` in the OS data
/// directory (`~/.local/share/voucherdesk/` on Linux).
pub fn default_path() -> PathBuf {
    directories::ProjectDirs::from("com", "VoucherDesk", "VoucherDesk")
        .map(|d| d.data_dir().join("voucherdesk.sqlite"))
        .unwrap_or_else(|| PathBuf::from("voucherdesk.sqlite"))
}

pub fn schema_version_latest() -> u32 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Every schema version a database file can hold, oldest first (the numbers
/// of the embedded migrations; 8 and 10 were never used).
pub fn schema_versions() -> Vec<u32> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "database {path} was written by a newer VoucherDesk (schema version {found}, this build knows up to {known}); upgrade VoucherDesk to open it"
    )]
    TooNew { path: PathBuf, found: u32, known: u32 },
    #[error("database migration {name} (schema version {version}) failed, the file is left as it was: {source}")]
    Migration { version: u32, name: &'static str, source: rusqlite::Error },
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
        Self::open_with(path, MIGRATIONS)
    }

    /// `open` with a given list of migrations: the tests put a failing step at its end.
    fn open_with(path: &Path, migrations: &[Migration]) -> StoreResult<Store> {
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
        Self::prepare(conn, path.to_path_buf(), migrations)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> StoreResult<Store> {
        configure_sqlite_once();
        let conn = Connection::open_in_memory()?;
        Self::prepare(conn, PathBuf::from(":memory:"), MIGRATIONS)
    }

    fn prepare(mut conn: Connection, path: PathBuf, migrations: &[Migration]) -> StoreResult<Store> {
        conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
        let check_file = |e: rusqlite::Error| StoreError::Open { path: path.clone(), source: e };
        // Fails here, with the path in the message, when the file is not a database.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(check_file)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "cache_size", -i64::from(PAGE_CACHE_KIB))?;
        // Lets index builds (bulk imports) sort on both cores.
        conn.pragma_update(None, "threads", 2)?;
        migrate(&mut conn, &path, migrations)?;
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
        conn.pragma_update(None, "cache_size", -i64::from(PAGE_CACHE_KIB))?;
        Ok(Some(Store { conn, path: self.path.clone(), team: None }))
    }

    /// Sets this connection's page cache, in KiB (a reader that serves a
    /// window needs less than an import's writer).
    pub fn set_cache_size_kib(&self, kib: u32) -> StoreResult<()> {
        self.conn.pragma_update(None, "cache_size", -i64::from(kib))?;
        Ok(())
    }

    /// Runs `work` with this connection's page cache at `kib`, then puts it
    /// back to [`PAGE_CACHE_KIB`] (SQLite frees what no longer fits).
    pub fn with_page_cache_kib<T>(&mut self, kib: u32, work: impl FnOnce(&mut Store) -> T) -> StoreResult<T> {
        self.set_cache_size_kib(kib)?;
        let done = work(self);
        self.set_cache_size_kib(PAGE_CACHE_KIB)?;
        Ok(done)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with automatic WAL checkpoints off, then checkpoints once: a
    /// run of imports commits file by file (each still atomic and durable as
    /// WAL makes it) and copies its pages into the database, with its fsyncs,
    /// once instead of after every file.
    ///
    /// Meanwhile a connection of its own on another thread copies what is
    /// committed into the database every [`CHECKPOINT_BESIDE_INTERVAL_MS`]
    /// (a passive checkpoint never waits for the writer), so that the last
    /// checkpoint finds little left to copy.
    pub fn with_one_checkpoint<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> StoreResult<T> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let beside = self.checkpoint_beside();
        let result = f(self);
        if let Some((stop, checkpointer)) = beside {
            drop(stop);
            let _ = checkpointer.join();
        }
        self.conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(result)
    }

    /// The thread of `with_one_checkpoint`: it checkpoints until the sender
    /// is dropped. None for a store in memory or when it cannot start (the
    /// last checkpoint then copies everything, as it would anyway).
    fn checkpoint_beside(&self) -> Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
        if self.path == Path::new(":memory:") {
            return None;
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let checkpointer = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || {
                let interval = Duration::from_millis(CHECKPOINT_BESIDE_INTERVAL_MS);
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    // A failed round (the file busy) is only work left for the last one.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some((stop, checkpointer))
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

/// Brings the file from its schema version to the last of `migrations`.
///
/// All or nothing: every step, each step's `user_version` and the ledger's
/// indexes run in one IMMEDIATE transaction, so a step that fails rolls back
/// the steps before it and the file keeps its schema and its bytes (the
/// pages of an open transaction stay in the page cache or the WAL, never in
/// the main file). One transaction rather than a copy set aside and restored:
/// SQLite's schema changes are transactional, and a crash mid-upgrade leaves
/// nothing to clean up or restore by hand.
fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> StoreResult<()> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = migrations.last().map(|m| m.version).unwrap_or(0);
    if found > known {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, known });
    }
    let missed = missed_late_migrations(conn, migrations, found)?;
    if found == known && missed.is_empty() && indexes::all_present(conn)? && reconcile_changes::all_present(conn)? {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for m in missed {
        tx.execute_batch(m.sql).map_err(|source| StoreError::Migration { version: m.version, name: m.name, source })?;
    }
    apply_migrations(&tx, migrations, found, known)?;
    indexes::ensure(&tx)?;
    reconcile_changes::ensure(&tx)?;
    tx.commit()?;
    Ok(())
}

/// The late migrations at or below the file's version whose object the file lacks.
fn missed_late_migrations<'a>(
    conn: &Connection,
    migrations: &'a [Migration],
    found: u32,
) -> StoreResult<Vec<&'a Migration>> {
    let mut missed = Vec::new();
    for m in migrations.iter().filter(|m| m.version <= found) {
        let Some(object) = m.creates else { continue };
        let present: bool =
            conn.query_row("SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE name = ?1)", [object], |r| r.get(0))?;
        if !present {
            missed.push(m);
        }
    }
    Ok(missed)
}

/// Runs the migrations above `from` up to `to` inside the caller's transaction.
fn apply_migrations(conn: &Connection, migrations: &[Migration], from: u32, to: u32) -> StoreResult<()> {
    for m in migrations.iter().filter(|m| m.version > from && m.version <= to) {
        let failed = |source| StoreError::Migration { version: m.version, name: m.name, source };
        conn.execute_batch(m.sql).map_err(failed)?;
        conn.pragma_update(None, "user_version", m.version).map_err(failed)?;
    }
    Ok(())
}

/// Page size of the schema fixtures.
#[cfg(test)]
const FIXTURE_PAGE_BYTES: u32 = 1_024;

/// A database file at schema `version`, as the VoucherDesk of that version
/// left it: its migrations, then the ledger's indexes (`indexes::ensure` has
/// created the same set on every open since version 1), in WAL mode. For the
/// schema fixtures' generator and the upgrade tests only.
#[cfg(test)]
pub(crate) fn create_at_version(path: &Path, version: u32) -> StoreResult<Connection> {
    configure_sqlite_once();
    if !MIGRATIONS.iter().any(|m| m.version == version) {
        return Err(StoreError::Invalid(format!("no schema version {version}")));
    }
    let mut conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
    // Small pages keep a fixture of a few dozen rows in 40 tables small in git;
    // the page size is the file's, not the schema's, and every size opens alike.
    conn.pragma_update(None, "page_size", FIXTURE_PAGE_BYTES)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    apply_migrations(&tx, MIGRATIONS, 0, version)?;
    indexes::ensure(&tx)?;
    tx.commit()?;
    Ok(conn)
}

/// Runs `sql` with `values` and hands each row, read by `read`, to `each`;
/// an `Err` from `each` stops the stream as `StoreError::Invalid`. Returns the
/// rows handed over.
fn stream_rows<T>(
    store: &Store,
    sql: &str,
    values: Vec<Box<dyn rusqlite::ToSql>>,
    read: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    mut each: impl FnMut(T) -> Result<(), String>,
) -> StoreResult<u64> {
    let mut stmt = store.conn.prepare(sql)?;
    let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
    let mut rows = stmt.query(refs.as_slice())?;
    let mut count = 0;
    while let Some(r) = rows.next()? {
        each(read(r)?).map_err(StoreError::Invalid)?;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_row_from_an_unknown_source_is_still_refused_and_an_upgraded_history_is_todays() {
        let dir = tempfile::tempdir().unwrap();
        let (old_path, fresh_path) = (dir.path().join("v23.sqlite"), dir.path().join("fresh.sqlite"));
        let insert = "INSERT INTO payment_status_history(id, payment, status, psp_status, observed_at, source)
                      VALUES (?1, 7, 'paid', 'PAID', 1767225600, ?2)";
        let old = create_at_version(&old_path, 23).unwrap();
        old.execute(insert, rusqlite::params![41, "api"]).unwrap();
        drop(old);
        let upgraded = Store::open(&old_path).unwrap();
        let fresh = Store::open(&fresh_path).unwrap();
        let schema = |store: &Store| -> Vec<String> {
            let mut stmt = store
                .conn
                .prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'payment_status_history' ORDER BY name")
                .unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(schema(&upgraded), schema(&fresh), "the table, its index and its two triggers");
        assert_eq!(schema(&fresh).len(), 4);
        let kept: (i64, String) = upgraded
            .conn
            .query_row("SELECT id, source FROM payment_status_history", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(kept, (41, "api".to_string()));
        for store in [&upgraded, &fresh] {
            for (id, source) in [(51, "file"), (52, "api"), (53, "notification"), (54, "manual")] {
                store.conn.execute(insert, rusqlite::params![id, source]).unwrap();
            }
            for source in ["File", "", "webhook"] {
                let refused = store.conn.execute(insert, rusqlite::params![60, source]).unwrap_err();
                assert!(refused.to_string().contains("CHECK constraint failed"), "{source:?}: {refused}");
            }
        }
    }

    #[test]
    fn a_larger_page_cache_lasts_for_its_work_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("vd.sqlite")).unwrap();
        let cache_kib = |store: &Store| -store.conn.query_row("PRAGMA cache_size", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(cache_kib(&store), i64::from(PAGE_CACHE_KIB));
        let inside = store.with_page_cache_kib(262_144, |store| cache_kib(store)).unwrap();
        assert_eq!((inside, cache_kib(&store)), (262_144, i64::from(PAGE_CACHE_KIB)));
        let failed: Result<(), &str> = store.with_page_cache_kib(131_072, |_| Err("a refused file")).unwrap();
        assert_eq!((failed, cache_kib(&store)), (Err("a refused file"), i64::from(PAGE_CACHE_KIB)));
    }

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
    fn a_run_with_one_checkpoint_copies_what_it_committed_into_the_database_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vd.sqlite");
        let mut store = Store::open(&path).unwrap();
        store.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        let file_bytes = || std::fs::metadata(&path).unwrap().len();
        let before = file_bytes();
        let grew_while_running = store
            .with_one_checkpoint(|store| {
                store
                    .conn
                    .execute(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
                         INSERT INTO store_meta(key, value) SELECT 'filler:' || i, hex(randomblob(512)) FROM n",
                        [],
                    )
                    .unwrap();
                // Automatic checkpoints are off: only the thread beside can grow the file.
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while file_bytes() == before && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                file_bytes() > before
            })
            .unwrap();
        assert!(grew_while_running, "nothing was checkpointed before the run ended");
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM store_meta WHERE key LIKE 'filler:%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2000);
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
        apply_migrations(&conn, MIGRATIONS, 0, 16).unwrap();
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
        migrate(&mut conn, Path::new(":memory:"), MIGRATIONS).unwrap();
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
    fn a_migration_that_fails_leaves_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v09.sqlite");
        std::fs::copy(schema_fixtures::fixtures_dir().join("v09.sqlite"), &path).unwrap();
        let sha256 = |p: &Path| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(p).unwrap()));
        let before = sha256(&path);
        // Today's steps 11 to 22 succeed inside the upgrade, then one more fails.
        let mut failing = MIGRATIONS.to_vec();
        failing.push(Migration {
            version: 23,
            name: "0023_fails_on_purpose",
            sql: "CREATE TABLE half_done(id INTEGER PRIMARY KEY); INSERT INTO no_such_table VALUES (1);",
            creates: None,
        });

        let err = Store::open_with(&path, &failing).err().expect("the last step fails");
        assert!(matches!(err, StoreError::Migration { version: 23, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "database migration 0023_fails_on_purpose (schema version 23) failed, the file is left as it was: \
             no such table: no_such_table"
        );
        assert_eq!(err.code(), "store");
        assert_eq!(sha256(&path), before, "the file's bytes");
        assert!(!anchor_path_for(&path).exists(), "no audit anchor written");

        let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, 9);
        let later_tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('half_done', 'team_pending', 'sign_in_failures')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(later_tables, 0);
        drop(conn);
        assert_eq!(sha256(&path), before, "reading it changed nothing either");

        // Today's list still brings the same file up to date.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema_version_latest());
        assert_eq!(store.table_row_counts().unwrap()["orders"], 24);
    }

    /// Names and kinds of every schema object, to compare two files' schemas.
    fn schema_objects(conn: &Connection) -> Vec<(String, String)> {
        conn.prepare("SELECT type, name FROM sqlite_master ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_file_made_before_a_late_migration_was_merged_gets_it() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, Path::new(":memory:"), MIGRATIONS).unwrap();
        let today = schema_objects(&fresh);
        // The lists `main` (or a branch) ran, each with the late migrations it lacked.
        let windows: [(&[u32], &[u32]); 5] = [
            (&[1, 2, 5], &[3, 4]),
            (&[1, 2, 3, 5], &[4]),
            (&[1, 2, 3, 4, 5, 9], &[6, 7]),
            (&[1, 2, 3, 4, 5, 7, 9], &[6]),
            (&[1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13, 15], &[14]),
        ];
        for (ran, lacked) in windows {
            let mut conn = Connection::open_in_memory().unwrap();
            for m in MIGRATIONS.iter().filter(|m| ran.contains(&m.version)) {
                conn.execute_batch(m.sql).unwrap();
                conn.pragma_update(None, "user_version", m.version).unwrap();
            }
            indexes::ensure(&conn).unwrap();
            let found = *ran.last().unwrap();
            let missed: Vec<u32> =
                missed_late_migrations(&conn, MIGRATIONS, found).unwrap().iter().map(|m| m.version).collect();
            assert_eq!(missed, lacked.to_vec(), "{ran:?}");
            migrate(&mut conn, Path::new(":memory:"), MIGRATIONS).unwrap();
            assert_eq!(schema_objects(&conn), today, "{ran:?}");
            assert!(missed_late_migrations(&conn, MIGRATIONS, 18).unwrap().is_empty(), "{ran:?}");
        }
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
