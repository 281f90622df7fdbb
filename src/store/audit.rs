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
        self.advance_audit_anchor()?;
        Ok(())
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
                let newer: i64 =
                    self.conn.query_row("SELECT count(*) FROM audit_log WHERE id > ?1", [old.last_id], |r| r.get(0))?;
                old.count + newer.unsigned_abs()
            }
            None => self.conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get::<_, i64>(0))?.unsigned_abs(),
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

/// Written beside and renamed over the old one, so a reader never sees half a file.
fn write_anchor(path: &Path, anchor: &AuditAnchor) -> StoreResult<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let failed =
        |e: std::io::Error| StoreError::Invalid(format!("cannot write the audit anchor {}: {e}", path.display()));
    let json = serde_json::to_string_pretty(anchor).map_err(|e| StoreError::Invalid(e.to_string()))?;
    std::fs::write(&tmp, json).map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}
