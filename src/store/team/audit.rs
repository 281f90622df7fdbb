//! The team's audit log: one hash chain for every desktop.

use super::{TeamResult, TeamStore};
use crate::store::{AUDIT_GENESIS_HASH, AuditEntry, StoredAuditEntry, entry_hash};
use chrono::DateTime;

/// Serialises appends across desktops for the length of their transaction.
const AUDIT_APPEND_LOCK_KEY: i64 = 0x7664_0000_0000_0003;

/// Appends inside the caller's transaction, so the change and its record
/// commit together. Two desktops appending at once take turns on the lock, so
/// each reads the hash the other just wrote; `prev_hash UNIQUE` refuses a fork
/// even if a writer skipped the lock.
pub(crate) fn append(tx: &mut postgres::Transaction<'_>, e: &AuditEntry) -> TeamResult<()> {
    tx.execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&AUDIT_APPEND_LOCK_KEY])?;
    let prev: Option<String> =
        tx.query_opt("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", &[])?.map(|r| r.get(0));
    let prev = prev.unwrap_or_else(|| AUDIT_GENESIS_HASH.to_string());
    let hash = entry_hash(&prev, e);
    tx.execute(
        "INSERT INTO audit_log(at, operator, action, subject, before, after, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&e.at.timestamp(), &e.operator, &e.action, &e.subject, &e.before, &e.after, &prev, &hash],
    )?;
    Ok(())
}

impl TeamStore {
    /// Appends one entry in its own transaction.
    pub fn append_audit(&mut self, e: &AuditEntry) -> TeamResult<()> {
        let mut tx = self.client.transaction()?;
        append(&mut tx, e)?;
        tx.commit()?;
        Ok(())
    }

    /// Entries after `after_id`, oldest first, at most `limit`.
    pub fn audit_entries(&mut self, after_id: i64, limit: u32) -> TeamResult<Vec<StoredAuditEntry>> {
        let rows = self.client.query(
            "SELECT id, at, operator, action, subject, before, after, prev_hash, hash FROM audit_log
              WHERE id > $1 ORDER BY id LIMIT $2",
            &[&after_id, &i64::from(limit)],
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredAuditEntry {
                id: r.get(0),
                entry: AuditEntry {
                    at: DateTime::from_timestamp(r.get(1), 0).unwrap_or_default(),
                    operator: r.get(2),
                    action: r.get(3),
                    subject: r.get(4),
                    before: r.get(5),
                    after: r.get(6),
                },
                prev_hash: r.get(7),
                hash: r.get(8),
            })
            .collect())
    }
}
