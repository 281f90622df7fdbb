//! The audit log: who changed what, when, before and after. Entries are
//! hash-chained so that an edit or a deletion in the file is detectable.

pub use crate::store::{AUDIT_GENESIS_HASH, AuditEntry, StoredAuditEntry, entry_hash};
use crate::store::{Store, StoreError};
use chrono::Utc;

/// Entries read per page while verifying.
const AUDIT_VERIFY_PAGE_ROWS: u32 = 10_000;

pub fn audit_entry(operator: &str, action: &str, subject: &str, before: &str, after: &str) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        operator: operator.to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        before: before.to_string(),
        after: after.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub entries: u64,
    /// The first entry whose link is broken, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// Walks the chain from the start and reports the first broken link.
pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    verify_chain(|after_id, limit| store.audit_entries(after_id, limit))
}

/// The chain walk, over any store's pages (`entries(after_id, limit)`, oldest
/// first): the local file's and the team server's log are checked by the same rule.
pub fn verify_chain<E>(
    mut entries_after: impl FnMut(i64, u32) -> Result<Vec<StoredAuditEntry>, E>,
) -> Result<VerifyReport, E> {
    let mut prev_hash = AUDIT_GENESIS_HASH.to_string();
    let mut after_id = 0;
    let mut entries = 0u64;
    loop {
        let page = entries_after(after_id, AUDIT_VERIFY_PAGE_ROWS)?;
        if page.is_empty() {
            return Ok(VerifyReport { entries, first_broken: None });
        }
        for stored in page {
            entries += 1;
            let broken =
                |reason: String| Ok(VerifyReport { entries, first_broken: Some(BrokenLink { id: stored.id, reason }) });
            if stored.prev_hash != prev_hash {
                return broken(format!(
                    "entry {} does not follow entry before it (an entry was removed or reordered)",
                    stored.id
                ));
            }
            let expected = entry_hash(&prev_hash, &stored.entry);
            if expected != stored.hash {
                return broken(format!("entry {} was altered after it was written", stored.id));
            }
            prev_hash = stored.hash;
            after_id = stored.id;
        }
    }
}

/// Entries one audit page may hold.
pub const AUDIT_PAGE_ROWS_MAX: u32 = 500;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct AuditQuery {
    pub operator: Option<String>,
    pub action: Option<String>,
    /// Instants as seconds since the epoch, [from, to).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Newest first: the next page starts below this id.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// A page of the audit log, newest first.
pub fn page(store: &Store, q: &AuditQuery) -> Result<Vec<StoredAuditEntry>, StoreError> {
    store.audit_page(
        q.operator.as_deref().filter(|s| !s.is_empty()),
        q.action.as_deref().filter(|s| !s.is_empty()),
        q.from,
        q.to,
        q.before_id,
        q.limit.clamp(1, AUDIT_PAGE_ROWS_MAX),
    )
}
