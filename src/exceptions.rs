//! The exception queue: what reconciliation found, and what people did about it.

use crate::audit::audit_entry;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{ExceptionFilter, ExceptionRecord, HistoryRecord, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Rows one `exceptions list` call may return.
pub const EXCEPTIONS_PAGE_ROWS_MAX: u32 = 100_000;
/// Longest note an operator may attach.
pub const NOTE_CHARS_MAX: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    PaidNotRecorded,
    RecordedNotPaid,
    DuplicatePayment,
    CurrencyMismatch,
    AmountMismatch,
    PaidAfterExpiry,
    UnknownOrder,
    NotSettled,
    SettlementMismatch,
    UnknownSettlement,
}

/// What an exception is about; it also determines its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Order,
    Payment,
    Settlement,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 10] = [
        ExceptionKind::PaidNotRecorded,
        ExceptionKind::RecordedNotPaid,
        ExceptionKind::DuplicatePayment,
        ExceptionKind::CurrencyMismatch,
        ExceptionKind::AmountMismatch,
        ExceptionKind::PaidAfterExpiry,
        ExceptionKind::UnknownOrder,
        ExceptionKind::NotSettled,
        ExceptionKind::SettlementMismatch,
        ExceptionKind::UnknownSettlement,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::PaidNotRecorded => "paid_not_recorded",
            ExceptionKind::RecordedNotPaid => "recorded_not_paid",
            ExceptionKind::DuplicatePayment => "duplicate_payment",
            ExceptionKind::CurrencyMismatch => "currency_mismatch",
            ExceptionKind::AmountMismatch => "amount_mismatch",
            ExceptionKind::PaidAfterExpiry => "paid_after_expiry",
            ExceptionKind::UnknownOrder => "unknown_order",
            ExceptionKind::NotSettled => "not_settled",
            ExceptionKind::SettlementMismatch => "settlement_mismatch",
            ExceptionKind::UnknownSettlement => "unknown_settlement",
        }
    }

    pub fn parse(text: &str) -> Option<ExceptionKind> {
        ExceptionKind::ALL.into_iter().find(|k| k.as_str() == text.trim())
    }

    pub fn subject(self) -> Subject {
        match self {
            ExceptionKind::PaidNotRecorded | ExceptionKind::RecordedNotPaid | ExceptionKind::DuplicatePayment => {
                Subject::Order
            }
            ExceptionKind::CurrencyMismatch
            | ExceptionKind::AmountMismatch
            | ExceptionKind::PaidAfterExpiry
            | ExceptionKind::UnknownOrder
            | ExceptionKind::NotSettled => Subject::Payment,
            ExceptionKind::SettlementMismatch | ExceptionKind::UnknownSettlement => Subject::Settlement,
        }
    }

    /// The stable id: the same kind about the same thing is the same exception,
    /// however often reconciliation runs.
    pub fn exception_id(self, key_parts: &[&str]) -> String {
        let mut h = Sha256::new();
        h.update(self.as_str().as_bytes());
        for part in key_parts {
            h.update([0x1f]);
            h.update(part.as_bytes());
        }
        let digest = hex::encode(h.finalize());
        format!("EX-{}", &digest[..16])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionStatus {
    Open,
    /// Closed by a person, with an action and a note.
    Resolved,
    /// Closed because the data no longer shows the problem.
    Cleared,
}

impl ExceptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Open => "open",
            ExceptionStatus::Resolved => "resolved",
            ExceptionStatus::Cleared => "cleared",
        }
    }

    pub fn parse(text: &str) -> Option<ExceptionStatus> {
        match text {
            "open" => Some(ExceptionStatus::Open),
            "resolved" => Some(ExceptionStatus::Resolved),
            "cleared" => Some(ExceptionStatus::Cleared),
            _ => None,
        }
    }
}

/// What reconciliation saw this run about an existing exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// The condition holds with the same facts as before.
    Unchanged,
    /// The condition holds but the facts differ (amounts, statuses...).
    FactsChanged,
    /// The condition no longer holds.
    Gone,
}

/// The exception's next status after a reconciliation run, or `None` if it stays.
pub fn after_run(status: ExceptionStatus, seen: Observation) -> Option<ExceptionStatus> {
    match (status, seen) {
        (ExceptionStatus::Open, Observation::Unchanged | Observation::FactsChanged) => None,
        (ExceptionStatus::Open, Observation::Gone) => Some(ExceptionStatus::Cleared),
        // A decision stands while the facts it was made on stand.
        (ExceptionStatus::Resolved, Observation::Unchanged | Observation::Gone) => None,
        (ExceptionStatus::Resolved, Observation::FactsChanged) => Some(ExceptionStatus::Open),
        (ExceptionStatus::Cleared, Observation::Unchanged | Observation::FactsChanged) => Some(ExceptionStatus::Open),
        (ExceptionStatus::Cleared, Observation::Gone) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionAction {
    /// The money was confirmed by hand (bank statement, PSP portal).
    MarkReceived,
    /// Known; nothing to do.
    Accept,
    WriteOff,
    /// A manual match: this payment belongs to that order.
    Link,
    Escalate,
}

impl ResolutionAction {
    pub const ALL: [ResolutionAction; 5] = [
        ResolutionAction::MarkReceived,
        ResolutionAction::Accept,
        ResolutionAction::WriteOff,
        ResolutionAction::Link,
        ResolutionAction::Escalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionAction::MarkReceived => "mark_received",
            ResolutionAction::Accept => "accept",
            ResolutionAction::WriteOff => "write_off",
            ResolutionAction::Link => "link",
            ResolutionAction::Escalate => "escalate",
        }
    }

    pub fn parse(text: &str) -> Option<ResolutionAction> {
        ResolutionAction::ALL.into_iter().find(|a| a.as_str() == text.trim())
    }
}

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
            | ExceptionError::UnknownAction(_) => "errors.validation",
            ExceptionError::BadLink(_) | ExceptionError::Store(StoreError::Invalid(_)) => "exceptions.bad_link",
            ExceptionError::Store(StoreError::Conflict(_)) => "exceptions.conflict",
            ExceptionError::Store(_) => "store",
        }
    }
}

/// A manual match requested with `link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    Order(String),
    Payment(String),
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
pub fn resolve(store: &mut Store, r: &Resolution<'_>) -> Result<ExceptionRecord, ExceptionError> {
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
    match current.status {
        ExceptionStatus::Open => {}
        ExceptionStatus::Resolved | ExceptionStatus::Cleared => {
            return Err(ExceptionError::AlreadyClosed {
                id: current.id.clone(),
                status: current.status.as_str(),
                by: current.resolved_by.clone().unwrap_or_else(|| "reconciliation".into()),
                at: current.resolved_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
            });
        }
    }
    let before = serde_json::to_string(&current).unwrap_or_default();
    let entry = audit_entry(
        &r.operator.name,
        "exception.resolve",
        &format!("exception {}", current.id),
        &before,
        &serde_json::json!({"status": "resolved", "action": r.action.as_str(), "note": note, "link": r.link.as_ref().map(|l| format!("{l:?}"))}).to_string(),
    );
    store.resolve_exception(&current, r.action, note, &r.operator.name, r.link.as_ref(), &entry)?;
    store.exception(r.exception_id)?.ok_or_else(|| ExceptionError::NotFound(r.exception_id.to_string()))
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
    fn transitions_after_a_run() {
        use ExceptionStatus::*;
        use Observation::*;
        assert_eq!(after_run(Open, Gone), Some(Cleared));
        assert_eq!(after_run(Open, FactsChanged), None);
        assert_eq!(after_run(Resolved, Unchanged), None);
        assert_eq!(after_run(Resolved, Gone), None);
        assert_eq!(after_run(Resolved, FactsChanged), Some(Open));
        assert_eq!(after_run(Cleared, Unchanged), Some(Open));
        assert_eq!(after_run(Cleared, Gone), None);
    }
}
