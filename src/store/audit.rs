//! The append-only, hash-chained audit log.

use super::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The hash that precedes the first entry.
pub const AUDIT_GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub action: String,
    pub subject: String,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "AuditRow"))]
pub struct StoredAuditEntry {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Hash of an entry: every field, length-prefixed so no two entries can
/// serialise to the same bytes, chained to the previous hash.
pub fn entry_hash(prev_hash: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    for part in [prev_hash, &e.at.timestamp().to_string(), &e.operator, &e.action, &e.subject, &e.before, &e.after] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends inside the caller's transaction, so the change and its record
/// commit together.
pub(crate) fn append(conn: &Connection, e: &AuditEntry) -> StoreResult<()> {
    let prev: Option<String> = conn
        .prepare_cached("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    let prev = prev.unwrap_or_else(|| AUDIT_GENESIS_HASH.to_string());
    let hash = entry_hash(&prev, e);
    conn.prepare_cached(
        "INSERT INTO audit_log(at, operator, action, subject, before, after, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![e.at.timestamp(), e.operator, e.action, e.subject, e.before, e.after, prev, hash])?;
    Ok(())
}

/// Maps `SELECT id, at, operator, action, subject, before, after, prev_hash, hash`.
fn audit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAuditEntry> {
    Ok(StoredAuditEntry {
        id: r.get(0)?,
        entry: AuditEntry {
            at: DateTime::from_timestamp(r.get(1)?, 0).unwrap_or_default(),
            operator: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            before: r.get(5)?,
            after: r.get(6)?,
        },
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl Store {
    /// Entries after `after_id`, oldest first, at most `limit`.
    pub fn audit_entries(&self, after_id: i64, limit: u32) -> StoreResult<Vec<StoredAuditEntry>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, operator, action, subject, before, after, prev_hash, hash FROM audit_log
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id, limit], audit_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of the log, newest first, filtered; `before_id` pages backwards.
    pub fn audit_page(
        &self,
        operator: Option<&str>,
        action: Option<&str>,
        from: Option<i64>,
        to: Option<i64>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<StoredAuditEntry>> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(op) = operator {
            clauses.push("operator = ?");
            values.push(Box::new(op.to_string()));
        }
        if let Some(a) = action {
            clauses.push("action = ?");
            values.push(Box::new(a.to_string()));
        }
        if let Some(f) = from {
            clauses.push("at >= ?");
            values.push(Box::new(f));
        }
        if let Some(t) = to {
            clauses.push("at < ?");
            values.push(Box::new(t));
        }
        if let Some(b) = before_id {
            clauses.push("id < ?");
            values.push(Box::new(b));
        }
        values.push(Box::new(limit));
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!(
            "SELECT id, at, operator, action, subject, before, after, prev_hash, hash FROM audit_log{where_sql}
             ORDER BY id DESC LIMIT ?"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let rows = stmt.query_map(refs.as_slice(), audit_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Appends an entry on its own (for events with no other write, e.g. sign-in).
    pub fn append_audit(&mut self, e: &AuditEntry) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        append(&tx, e)?;
        tx.commit()?;
        self.advance_audit_anchor_after_commit();
        Ok(())
    }

    /// After a commit the change stands, whatever becomes of the anchor: a
    /// failure to move it is told on stderr, not returned as the change's
    /// failure. The anchor then stays behind, which `audit verify` accepts,
    /// and the next write moves it on.
    pub(crate) fn advance_audit_anchor_after_commit(&self) {
        if let Err(e) = self.advance_audit_anchor() {
            eprintln!("the audit log's anchor was not moved: {e} [{}]", e.code());
        }
    }

    /// The newest entry's id and hash (None: the log is empty).
    pub fn audit_head(&self) -> StoreResult<Option<(i64, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Where this database keeps its audit anchor: beside a local file; none
    /// for an in-memory store or a team copy (the team's log is the server's).
    pub fn audit_anchor_path(&self) -> StoreResult<Option<PathBuf>> {
        if self.path == Path::new(":memory:") || self.team.is_some() || self.team_server()?.is_some() {
            return Ok(None);
        }
        Ok(Some(anchor_path_for(&self.path)))
    }

    /// The anchor file's content (None: no anchor yet).
    pub fn read_audit_anchor(&self) -> StoreResult<Option<AuditAnchor>> {
        match self.audit_anchor_path()? {
            Some(path) => read_anchor(&path),
            None => Ok(None),
        }
    }

    /// Moves the anchor to the log's head, only forward: when the log no longer
    /// holds the anchored entry (count and hash), the anchor stays as it is so
    /// that verification keeps reporting the loss. Runs after a commit, never
    /// inside a transaction: a crash between the two leaves the anchor one
    /// transaction behind, which verification accepts.
    pub fn advance_audit_anchor(&self) -> StoreResult<()> {
        let Some(path) = self.audit_anchor_path()? else { return Ok(()) };
        if !self.conn.is_autocommit() {
            return Ok(());
        }
        // One at a time in this process: each step reads the log's head and
        // the old anchor, then replaces the file, so two connections' steps
        // (the app's and a background job's) never interleave.
        let _one_at_a_time = ANCHOR_STEPS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some((last_id, last_hash)) = self.audit_head()? else { return Ok(()) };
        // An unreadable anchor stays as it is, for `audit verify` to report.
        let Ok(old) = read_anchor(&path) else { return Ok(()) };
        let count = match &old {
            Some(old) if old.last_id == last_id && old.last_hash == last_hash => return Ok(()),
            Some(old) => {
                if self.audit_hash_at(old.last_id)?.as_deref() != Some(old.last_hash.as_str()) {
                    return Ok(());
                }
                // Only the entries since: the walk in `audit verify` checks the rest.
                // Up to the head read above, not past it: another connection
                // may have appended since, and the next step counts those.
                let newer: i64 = self.conn.query_row(
                    "SELECT count(*) FROM audit_log WHERE id > ?1 AND id <= ?2",
                    [old.last_id, last_id],
                    |r| r.get(0),
                )?;
                old.count + newer.unsigned_abs()
            }
            None => self
                .conn
                .query_row("SELECT count(*) FROM audit_log WHERE id <= ?1", [last_id], |r| r.get::<_, i64>(0))?
                .unsigned_abs(),
        };
        write_anchor(&path, &AuditAnchor { count, last_id, last_hash, updated_at: Utc::now() })
    }

    fn audit_hash_at(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT hash FROM audit_log WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }
}

/// The audit log's head as last seen, kept outside the database so that a
/// deleted tail shows: `<database>.audit-anchor`, JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditAnchor {
    /// Entries in the log when the anchor was written.
    pub count: u64,
    pub last_id: i64,
    pub last_hash: String,
    pub updated_at: DateTime<Utc>,
}

/// `<database>.audit-anchor`, beside the database file.
pub fn anchor_path_for(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".audit-anchor");
    PathBuf::from(name)
}

fn read_anchor(path: &Path) -> StoreResult<Option<AuditAnchor>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Corrupt(format!("cannot read the audit anchor {}: {e}", path.display()))),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("the audit anchor {} is not readable: {e}", path.display())))
}

/// Serializes `advance_audit_anchor` within the process.
static ANCHOR_STEPS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Numbers this process's temporary anchor files, so no two writes share one
/// (with only the process id, a write renamed another's file away and failed
/// with "No such file or directory").
static ANCHOR_TMP_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Written beside and renamed over the old one, so a reader never sees half a file.
fn write_anchor(path: &Path, anchor: &AuditAnchor) -> StoreResult<()> {
    let mut tmp = path.as_os_str().to_owned();
    let seq = ANCHOR_TMP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp.push(format!(".{}.{seq}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let failed =
        |e: std::io::Error| StoreError::Invalid(format!("cannot write the audit anchor {}: {e}", path.display()));
    let json = serde_json::to_string_pretty(anchor).map_err(|e| StoreError::Invalid(e.to_string()))?;
    std::fs::write(&tmp, json).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditEntry;

    /// The app's writer and its background jobs each hold a connection of
    /// their own and move the anchor after their writes, at any moment.
    #[test]
    fn connections_of_one_process_moving_the_anchor_at_once_all_succeed_and_it_ends_at_the_head() {
        const THREADS: usize = 4;
        const APPENDS_PER_THREAD: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        drop(Store::open(&path).unwrap());
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    for i in 0..APPENDS_PER_THREAD {
                        let tx =
                            store.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
                        let entry = AuditEntry {
                            at: Utc::now(),
                            operator: format!("op{t}"),
                            action: "test".into(),
                            subject: format!("{t}/{i}"),
                            before: String::new(),
                            after: String::new(),
                        };
                        append(&tx, &entry).unwrap();
                        tx.commit().unwrap();
                        store.advance_audit_anchor().unwrap_or_else(|e| panic!("thread {t}, step {i}: {e}"));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        let entries: i64 = store.conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0)).unwrap();
        assert_eq!(entries, (THREADS * APPENDS_PER_THREAD) as i64);
        let anchor = store.read_audit_anchor().unwrap().expect("an anchor");
        let (last_id, last_hash) = store.audit_head().unwrap().unwrap();
        assert_eq!((anchor.count, anchor.last_id, anchor.last_hash), (entries as u64, last_id, last_hash));
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "no temporary anchor left behind");
    }
}
