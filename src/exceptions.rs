//! The exception queue: what reconciliation found, and what people did about it.

use crate::audit::audit_entry;
pub use crate::model::exception::{
    ExceptionKind, ExceptionStatus, Finding, LinkTarget, ResolutionAction, Subject, after_run,
};
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{
    CandidatesAmong, ExceptionCursor, ExceptionFilter, ExceptionLedger, ExceptionRecord, ExceptionSort, HistoryRecord,
    Store, StoreError,
};
use serde::{Deserialize, Serialize};

/// Rows one `exceptions list` call may return.
pub const EXCEPTIONS_PAGE_ROWS_MAX: u32 = 100_000;
/// Longest note an operator may attach.
pub const NOTE_CHARS_MAX: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ExceptionError {
    #[error("no exception with id {0:?}")]
    NotFound(String),
    #[error("exception {id} is already {status} (by {by} at {at})")]
    AlreadyClosed { id: String, status: &'static str, by: String, at: String },
    #[error("a note is required to resolve an exception")]
    NoteRequired,
    #[error("the note is longer than {NOTE_CHARS_MAX} characters")]
    NoteTooLong,
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error("link needs --order (for a payment or settlement exception) or --payment (for an order exception)")]
    LinkTargetRequired,
    #[error("--order and --payment only go with the link action")]
    LinkTargetWithoutLink,
    #[error("{0}")]
    BadLink(String),
    #[error("unknown action {0:?} (expected mark_received, accept, write_off, link or escalate)")]
    UnknownAction(String),
    #[error("too many exceptions in one request (at most {BULK_IDS_MAX})")]
    TooMany,
    #[error("cannot write the export: {0}")]
    Export(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ExceptionError {
    pub fn code(&self) -> &'static str {
        match self {
            ExceptionError::NotFound(_) => "exceptions.not_found",
            ExceptionError::Forbidden(e) => e.code(),
            ExceptionError::AlreadyClosed { .. } => "exceptions.already_closed",
            ExceptionError::NoteRequired
            | ExceptionError::NoteTooLong
            | ExceptionError::LinkTargetRequired
            | ExceptionError::LinkTargetWithoutLink
            | ExceptionError::UnknownAction(_)
            | ExceptionError::TooMany => "errors.validation",
            ExceptionError::Export(_) => "exceptions.export",
            ExceptionError::BadLink(_) | ExceptionError::Store(StoreError::Invalid(_)) => "exceptions.bad_link",
            ExceptionError::Store(StoreError::Conflict(_)) => "exceptions.conflict",
            ExceptionError::Store(e) => e.code(),
        }
    }
}

pub struct Resolution<'a> {
    pub exception_id: &'a str,
    pub action: ResolutionAction,
    pub note: &'a str,
    pub operator: &'a Operator,
    pub link: Option<LinkTarget>,
}

/// Resolves an open exception by hand; writes its history and the audit log
/// in the same transaction.
pub fn resolve(store: &mut impl ExceptionLedger, r: &Resolution<'_>) -> Result<ExceptionRecord, ExceptionError> {
    let note = r.note.trim();
    r.operator.require(Permission::Resolve(r.action))?;
    if note.is_empty() {
        return Err(ExceptionError::NoteRequired);
    }
    if note.chars().count() > NOTE_CHARS_MAX {
        return Err(ExceptionError::NoteTooLong);
    }
    match (r.action, &r.link) {
        (ResolutionAction::Link, None) => return Err(ExceptionError::LinkTargetRequired),
        (ResolutionAction::Link, Some(_)) => {}
        (
            ResolutionAction::MarkReceived
            | ResolutionAction::Accept
            | ResolutionAction::WriteOff
            | ResolutionAction::Escalate,
            Some(_),
        ) => return Err(ExceptionError::LinkTargetWithoutLink),
        (
            ResolutionAction::MarkReceived
            | ResolutionAction::Accept
            | ResolutionAction::WriteOff
            | ResolutionAction::Escalate,
            None,
        ) => {}
    }
    let current =
        store.exception(r.exception_id)?.ok_or_else(|| ExceptionError::NotFound(r.exception_id.to_string()))?;
    if let Some(closed) = already_closed(&current) {
        return Err(closed);
    }
    let before = serde_json::to_string(&current).unwrap_or_default();
    let entry = audit_entry(
        &r.operator.name,
        "exception.resolve",
        &format!("exception {}", current.id),
        &before,
        &serde_json::json!({"status": "resolved", "action": r.action.as_str(), "note": note, "link": r.link.as_ref().map(|l| format!("{l:?}"))}).to_string(),
    );
    match store.resolve_exception(&current, r.action, note, &r.operator.name, r.link.as_ref(), &entry) {
        Ok(()) => {}
        // Someone else (another desktop, in team mode) closed it since we read it: say who and when.
        Err(StoreError::Conflict(conflict)) => {
            let now = store.exception(r.exception_id)?;
            return Err(now
                .as_ref()
                .and_then(already_closed)
                .unwrap_or(ExceptionError::Store(StoreError::Conflict(conflict))));
        }
        Err(e) => return Err(e.into()),
    }
    store.exception(r.exception_id)?.ok_or_else(|| ExceptionError::NotFound(r.exception_id.to_string()))
}

/// "already resolved (by NAME at TIME)" for an exception that is no longer open.
fn already_closed(e: &ExceptionRecord) -> Option<ExceptionError> {
    match e.status {
        ExceptionStatus::Open => None,
        ExceptionStatus::Resolved | ExceptionStatus::Cleared => Some(ExceptionError::AlreadyClosed {
            id: e.id.clone(),
            status: e.status.as_str(),
            by: e.resolved_by.clone().unwrap_or_else(|| "reconciliation".into()),
            at: e.resolved_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
        }),
    }
}

pub fn list(store: &Store, filter: &ExceptionFilter) -> Result<Vec<ExceptionRecord>, ExceptionError> {
    Ok(store.exceptions(filter)?)
}

pub fn history(store: &Store, id: &str) -> Result<Vec<HistoryRecord>, ExceptionError> {
    Ok(store.exception_history(id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = ExceptionKind::AmountMismatch.exception_id(&["dlocal", "P-1"]);
        assert_eq!(a, ExceptionKind::AmountMismatch.exception_id(&["dlocal", "P-1"]));
        assert_ne!(a, ExceptionKind::NotSettled.exception_id(&["dlocal", "P-1"]));
        assert_ne!(a, ExceptionKind::AmountMismatch.exception_id(&["dlocalP", "-1"]));
        assert_eq!(a.len(), 19);
    }

    #[test]
    fn reconciled_kinds_are_exactly_those_reconciliation_raises() {
        let reconciled: Vec<_> = ExceptionKind::ALL.into_iter().filter(|k| k.raised_by_reconcile()).collect();
        assert_eq!(reconciled, ExceptionKind::RECONCILED.to_vec());
        assert!(!ExceptionKind::ForgedNotification.raised_by_reconcile());
        assert_eq!(ExceptionKind::parse("forged_notification"), Some(ExceptionKind::ForgedNotification));
        assert_eq!(ExceptionKind::ForgedNotification.subject(), Subject::Order);
    }

    #[test]
    fn transitions_after_a_run() {
        use ExceptionStatus::*;
        use Finding::*;
        assert_eq!(after_run(Open, Gone), Some(Cleared));
        assert_eq!(after_run(Open, FactsChanged), None);
        assert_eq!(after_run(Resolved, Unchanged), None);
        assert_eq!(after_run(Resolved, Gone), None);
        assert_eq!(after_run(Resolved, FactsChanged), Some(Open));
        assert_eq!(after_run(Cleared, Unchanged), Some(Open));
        assert_eq!(after_run(Cleared, Gone), None);
    }
}

/// How old an exception is, in whole days since its business event (the
/// payment's or the order's time; see `ExceptionRecord::occurred_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AgeBucket {
    #[serde(rename = "d0_1")]
    D0To1,
    #[serde(rename = "d2_7")]
    D2To7,
    #[serde(rename = "d8_30")]
    D8To30,
    #[serde(rename = "over_30")]
    Over30,
}

impl AgeBucket {
    pub const ALL: [AgeBucket; 4] = [AgeBucket::D0To1, AgeBucket::D2To7, AgeBucket::D8To30, AgeBucket::Over30];

    pub fn as_str(self) -> &'static str {
        match self {
            AgeBucket::D0To1 => "d0_1",
            AgeBucket::D2To7 => "d2_7",
            AgeBucket::D8To30 => "d8_30",
            AgeBucket::Over30 => "over_30",
        }
    }

    /// The event-time range [from, to) of the bucket, seen at `now`.
    pub fn detected_range(self, now: i64) -> (Option<i64>, Option<i64>) {
        const DAY: i64 = 86_400;
        match self {
            AgeBucket::D0To1 => (Some(now - 2 * DAY), None),
            AgeBucket::D2To7 => (Some(now - 8 * DAY), Some(now - 2 * DAY)),
            AgeBucket::D8To30 => (Some(now - 31 * DAY), Some(now - 8 * DAY)),
            AgeBucket::Over30 => (None, Some(now - 31 * DAY)),
        }
    }
}

/// What the queue screen asks for: filters as the operator sets them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct ExceptionQuery {
    pub kind: Option<String>,
    pub status: Option<ExceptionStatus>,
    pub age: Option<AgeBucket>,
    pub psp: Option<String>,
    pub country: Option<String>,
    pub store: Option<String>,
    /// `Some("")`: unassigned only.
    pub assignee: Option<String>,
}

/// Rows one queue page may hold.
pub const QUEUE_PAGE_ROWS_MAX: u32 = 500;
/// Exceptions one bulk action may touch.
pub const BULK_IDS_MAX: usize = 1_000;
/// Rows one CSV export may write.
pub const EXPORT_ROWS_MAX: u64 = 2_000_000;

impl ExceptionQuery {
    pub fn to_filter(&self, now: i64, limit: u32) -> ExceptionFilter {
        let (detected_from, detected_to) = match self.age {
            Some(bucket) => bucket.detected_range(now),
            None => (None, None),
        };
        ExceptionFilter {
            kind: self.kind.clone(),
            status: self.status,
            order_id: None,
            psp: self.psp.clone(),
            country: self.country.clone(),
            store: self.store.clone(),
            assignee: self.assignee.clone(),
            detected_from,
            detected_to,
            after_id: None,
            limit,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueuePage {
    pub rows: Vec<ExceptionRecord>,
    /// Pass back as `after` for the next page; `None` at the end.
    #[serde(rename = "next_after")]
    pub next: Option<ExceptionCursor>,
}

/// One page of the queue, sorted, keyset-paged.
pub fn page(
    store: &Store,
    query: &ExceptionQuery,
    sort: ExceptionSort,
    after: Option<&ExceptionCursor>,
    limit: u32,
) -> Result<QueuePage, ExceptionError> {
    let limit = limit.clamp(1, QUEUE_PAGE_ROWS_MAX);
    let filter = query.to_filter(chrono::Utc::now().timestamp(), limit);
    let rows = store.exception_page(&filter, sort, after)?;
    let next = match (rows.len() as u32 == limit, rows.last()) {
        (true, Some(last)) => Some(ExceptionCursor {
            value: match sort {
                ExceptionSort::Id => 0,
                ExceptionSort::AgeDesc | ExceptionSort::AgeAsc => last.occurred_at.timestamp(),
                ExceptionSort::AmountDesc | ExceptionSort::AmountAsc => last.amount_minor.unwrap_or(0),
            },
            id: last.id.clone(),
        }),
        _ => None,
    };
    Ok(QueuePage { rows, next })
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QueueCounts {
    pub by_kind: std::collections::BTreeMap<String, i64>,
    pub by_age: std::collections::BTreeMap<&'static str, i64>,
    pub total: i64,
}

/// Badge counts for the queue screen: per kind (whatever kind is selected) and
/// per age bucket, under the other filters.
pub fn counts(store: &Store, query: &ExceptionQuery) -> Result<QueueCounts, ExceptionError> {
    counts_at(store, query, chrono::Utc::now())
}

/// `counts` as seen at `now` (the age buckets move with the clock).
pub fn counts_at(
    store: &Store,
    query: &ExceptionQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<QueueCounts, ExceptionError> {
    let now = now.timestamp();
    // One pass over the filtered rows for every kind and age bucket (five
    // queries took ~1 s on a 1M-order ledger in a debug build).
    let ranges: Vec<_> = AgeBucket::ALL.iter().map(|b| b.detected_range(now)).collect();
    let rows = store.exception_counts_by_range(&query.to_filter(now, 0), &ranges)?;
    let selected_age = query.age.and_then(|age| AgeBucket::ALL.iter().position(|b| *b == age));
    let mut by_kind = std::collections::BTreeMap::new();
    let mut by_age: std::collections::BTreeMap<&'static str, i64> =
        AgeBucket::ALL.iter().map(|b| (b.as_str(), 0)).collect();
    for (kind, per_bucket, all_ages) in rows {
        // Per kind under the age filter; per age under the kind filter.
        let n = selected_age.map_or(all_ages, |i| per_bucket.get(i).copied().unwrap_or(0));
        if query.kind.as_deref().is_none_or(|k| k == kind) {
            for (bucket, count) in AgeBucket::ALL.iter().zip(&per_bucket) {
                *by_age.entry(bucket.as_str()).or_insert(0) += count;
            }
        }
        if n > 0 || selected_age.is_none() {
            by_kind.insert(kind, n);
        }
    }
    let total = by_kind
        .iter()
        .filter(|(kind, _)| query.kind.as_deref().is_none_or(|k| k == kind.as_str()))
        .map(|(_, n)| n)
        .sum();
    Ok(QueueCounts { by_kind, by_age, total })
}

/// Assigns exceptions to an operator (or clears the assignee). Managers and admins.
pub fn assign(
    store: &mut Store,
    operator: &Operator,
    ids: &[String],
    assignee: Option<&str>,
) -> Result<u64, ExceptionError> {
    operator.require(Permission::AssignException)?;
    if ids.len() > BULK_IDS_MAX {
        return Err(ExceptionError::TooMany);
    }
    if let Some(name) = assignee {
        crate::operators::act_as(store, name)?;
    }
    let entry = audit_entry(
        &operator.name,
        "exception.assign",
        &format!("{} exception(s)", ids.len()),
        "",
        &serde_json::json!({"ids": ids, "assignee": assignee}).to_string(),
    );
    Ok(store.assign_exceptions(ids, assignee, &operator.name, &entry)?)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BulkFailure {
    pub id: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BulkOutcome {
    pub resolved: u64,
    pub failed: Vec<BulkFailure>,
}

/// Resolves several exceptions with one action and note; each is its own
/// transaction, and each refusal is reported rather than stopping the rest.
pub fn resolve_many(
    store: &mut impl ExceptionLedger,
    operator: &Operator,
    ids: &[String],
    action: ResolutionAction,
    note: &str,
    link: Option<LinkTarget>,
) -> Result<BulkOutcome, ExceptionError> {
    operator.require(Permission::Resolve(action))?;
    if ids.len() > BULK_IDS_MAX {
        return Err(ExceptionError::TooMany);
    }
    let mut outcome = BulkOutcome { resolved: 0, failed: Vec::new() };
    for id in ids {
        let r = Resolution { exception_id: id, action, note, operator, link: link.clone() };
        match resolve(store, &r) {
            Ok(_) => outcome.resolved += 1,
            Err(e) => outcome.failed.push(BulkFailure { id: id.clone(), code: e.code(), message: e.to_string() }),
        }
    }
    Ok(outcome)
}

/// Neutralises spreadsheet formulas (the export writer's rule, see [`crate::export_csv`]).
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    crate::export_csv::neutralise(cell)
}

const EXPORT_HEADER: [&str; 17] = [
    "id",
    "kind",
    "status",
    "order_id",
    "psp",
    "payment_id",
    "country",
    "store",
    "amount",
    "currency",
    "detail",
    "detected_at_utc",
    "age_days",
    "assignee",
    "resolution",
    "resolved_by",
    "note",
];

/// Writes the filtered queue to a CSV file through the formula-safe export
/// writer. Returns the number of rows.
pub fn export_csv(store: &Store, query: &ExceptionQuery, path: &std::path::Path) -> Result<u64, ExceptionError> {
    use crate::export_csv::{Cell, ExportWriter};
    let failed = |e: crate::export_csv::ExportCsvError| ExceptionError::Export(e.to_string());
    let mut writer = ExportWriter::create(path, &EXPORT_HEADER).map_err(failed)?;
    let filter = query.to_filter(chrono::Utc::now().timestamp(), 0);
    let written = store.for_each_exception(&filter, |e| {
        let amount = match (e.amount_minor, crate::money::Currency::parse(&e.currency)) {
            (Some(m), Ok(c)) => crate::money::format_minor(m, c),
            _ => String::new(),
        };
        let detected = e.detected_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let age = e.age_days.to_string();
        let cells = [
            Cell::Text(e.id.as_str()),
            Cell::Text(e.kind.as_str()),
            Cell::Text(e.status.as_str()),
            Cell::Text(&e.order_id),
            Cell::Text(&e.psp),
            Cell::Text(&e.payment_id),
            Cell::Text(&e.country),
            Cell::Text(&e.store),
            Cell::Number(&amount),
            Cell::Text(&e.currency),
            Cell::Text(&e.detail),
            Cell::Text(&detected),
            Cell::Number(&age),
            Cell::Text(e.assignee.as_deref().unwrap_or("")),
            Cell::Text(e.resolution.as_deref().unwrap_or("")),
            Cell::Text(e.resolved_by.as_deref().unwrap_or("")),
            Cell::Text(e.note.as_deref().unwrap_or("")),
        ];
        writer.row(&cells).map_err(|err| err.to_string())
    })?;
    if written > EXPORT_ROWS_MAX {
        return Err(ExceptionError::TooMany);
    }
    writer.finish().map_err(failed)?;
    Ok(written)
}

/// Candidates shown for a manual `link`.
pub const LINK_CANDIDATES_MAX: u32 = 20;
/// How far from the exception's amount a candidate may be: 10 %.
const LINK_AMOUNT_SPREAD_PERCENT: i64 = 10;
/// How far in time a candidate may be from the payment or order: 7 days.
const LINK_WINDOW_SECONDS: i64 = 7 * 86_400;
/// Rows scanned before ranking.
const LINK_SCAN_ROWS_MAX: u32 = 500;

/// Orders (for a payment exception) or unattached paid payments (for an order
/// exception) that could be its match, closest amount first, then closest time.
pub fn link_candidates(store: &Store, id: &str) -> Result<Vec<crate::store::LinkCandidate>, ExceptionError> {
    let e = store.exception(id)?.ok_or_else(|| ExceptionError::NotFound(id.to_string()))?;
    let Some(amount) = e.amount_minor else { return Ok(Vec::new()) };
    let spread = amount * LINK_AMOUNT_SPREAD_PERCENT / 100;
    let (low, high) = (amount - spread, amount + spread);
    let mut found = if e.payment_id.is_empty() {
        let at =
            store.order(&e.order_id)?.map(|o| o.created_at.timestamp()).unwrap_or_else(|| e.detected_at.timestamp());
        let times = at..at + LINK_WINDOW_SECONDS;
        store.candidates(CandidatesAmong::UnlinkedPayments, &e.currency, low..=high, times, LINK_SCAN_ROWS_MAX)?
    } else {
        let paid_at = store
            .payments_of_order(&e.order_id)?
            .into_iter()
            .find(|p| p.payment_id == e.payment_id)
            .and_then(|p| p.paid_at.or(p.created_at))
            .map(|t| t.timestamp())
            .unwrap_or_else(|| e.detected_at.timestamp());
        let times = paid_at - LINK_WINDOW_SECONDS..paid_at + 3600;
        let mut orders =
            store.candidates(CandidatesAmong::Orders, &e.currency, low..=high, times, LINK_SCAN_ROWS_MAX)?;
        orders.retain(|o| o.order_id != e.order_id);
        orders
    };
    let reference = e.detected_at.timestamp();
    found.sort_by_key(|c| ((c.amount_minor - amount).abs(), (c.at.timestamp() - reference).abs()));
    found.truncate(LINK_CANDIDATES_MAX as usize);
    Ok(found)
}
