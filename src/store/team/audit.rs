//! The team's audit log: one hash chain for every desktop. Entries arrive
//! with the change they record (replica.rs); here they are read back to verify.

use super::{TeamResult, TeamStore};
use crate::store::{AuditEntry, StoredAuditEntry};
use chrono::DateTime;

impl TeamStore {
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
