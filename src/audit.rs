//! The audit log: who changed what, when, before and after. Entries are
//! hash-chained so that an edit or a deletion in the file is detectable.

pub use crate::store::{AUDIT_GENESIS_HASH, AuditAnchor, AuditEntry, StoredAuditEntry, anchor_path_for, entry_hash};
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerifyReport {
    pub entries: u64,
    /// The first entry whose link is broken, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BrokenLink {
    pub id: i64,
    pub reason: String,
}

/// The chain walk plus, in local mode, the anchor kept beside the database
/// (see [`verify_anchored`]).
pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    let report = verify_anchored(store, None)?;
    Ok(VerifyReport { entries: report.entries, first_broken: report.first_broken })
}

/// What `audit verify` reports: the chain, the anchor and the head to keep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnchoredReport {
    pub entries: u64,
    pub first_broken: Option<BrokenLink>,
    /// The newest entry's id (0: empty log) and hash (the genesis hash for an
    /// empty log): the operator keeps it to check later with `--expect-head`.
    pub head_id: i64,
    pub head_hash: String,
    /// The anchor checked against (None: in-memory, team copy, or not written yet).
    pub anchor: Option<AuditAnchor>,
}

/// Walks the chain, then checks that it still holds the anchored entry (same
/// id, same hash, as many entries up to it) and, when given, a head hash the
/// operator kept elsewhere. The anchor may lag the log (a crash after a commit,
/// before the anchor was moved); it may never be ahead of it.
pub fn verify_anchored(store: &Store, expect_head: Option<&str>) -> Result<AnchoredReport, StoreError> {
    let anchor = store.read_audit_anchor()?;
    let watch = Watch { id: anchor.as_ref().map(|a| a.last_id), hash: expect_head.map(str::to_ascii_lowercase) };
    let walk = walk_chain(|after_id, limit| store.audit_entries(after_id, limit), &watch)?;
    let mut report = AnchoredReport {
        entries: walk.report.entries,
        first_broken: walk.report.first_broken,
        head_id: walk.head_id,
        head_hash: walk.head_hash,
        anchor: anchor.clone(),
    };
    if report.first_broken.is_some() {
        return Ok(report);
    }
    if let Some(a) = &anchor {
        let reason = if a.count > report.entries {
            Some(format!(
                "entries missing: {}; the anchor ({}) records {} entries up to entry {}, the log holds {}",
                a.count - report.entries,
                a.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                a.count,
                a.last_id,
                report.entries
            ))
        } else {
            match &walk.watched {
                None => Some(format!("anchored entry {} is missing from the log", a.last_id)),
                Some((_, hash)) if *hash != a.last_hash => {
                    Some(format!("entry {} differs from the anchor: the log was rewritten", a.last_id))
                }
                Some((count_upto, _)) if *count_upto != a.count => Some(format!(
                    "entries missing: {} up to entry {}; the anchor records {}",
                    a.count.abs_diff(*count_upto),
                    a.last_id,
                    a.count
                )),
                Some(_) => None,
            }
        };
        if let Some(reason) = reason {
            report.first_broken = Some(BrokenLink { id: a.last_id, reason });
            return Ok(report);
        }
    }
    if let Some(expected) = &watch.hash {
        if !walk.hash_seen && *expected != AUDIT_GENESIS_HASH {
            report.first_broken = Some(BrokenLink {
                id: report.head_id,
                reason: format!("no entry has the expected head hash {expected}: the log was truncated or rewritten"),
            });
        }
    }
    Ok(report)
}

/// The chain walk, over any store's pages (`entries(after_id, limit)`, oldest
/// first): the local file's and the team server's log are checked by the same rule.
pub fn verify_chain<E>(
    entries_after: impl FnMut(i64, u32) -> Result<Vec<StoredAuditEntry>, E>,
) -> Result<VerifyReport, E> {
    Ok(walk_chain(entries_after, &Watch { id: None, hash: None })?.report)
}

/// What the walk looks out for on its way.
struct Watch {
    id: Option<i64>,
    hash: Option<String>,
}

struct Walk {
    report: VerifyReport,
    head_id: i64,
    head_hash: String,
    /// Entries up to the watched id and its hash, when the log holds it.
    watched: Option<(u64, String)>,
    hash_seen: bool,
}

fn walk_chain<E>(
    mut entries_after: impl FnMut(i64, u32) -> Result<Vec<StoredAuditEntry>, E>,
    watch: &Watch,
) -> Result<Walk, E> {
    let mut prev_hash = AUDIT_GENESIS_HASH.to_string();
    let mut after_id = 0;
    let mut entries = 0u64;
    let mut watched = None;
    let mut hash_seen = false;
    loop {
        let page = entries_after(after_id, AUDIT_VERIFY_PAGE_ROWS)?;
        if page.is_empty() {
            let report = VerifyReport { entries, first_broken: None };
            return Ok(Walk { report, head_id: after_id, head_hash: prev_hash, watched, hash_seen });
        }
        for stored in page {
            entries += 1;
            let broken = |reason: String| {
                let report = VerifyReport { entries, first_broken: Some(BrokenLink { id: stored.id, reason }) };
                Ok(Walk { report, head_id: after_id, head_hash: prev_hash.clone(), watched: None, hash_seen: false })
            };
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
            if watch.id == Some(stored.id) {
                watched = Some((entries, stored.hash.clone()));
            }
            if watch.hash.as_deref() == Some(stored.hash.as_str()) {
                hash_seen = true;
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
