//! Exceptions: what reconciliation found (its kinds and ids), their statuses,
//! the after-run rule and what people may do about them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// A PSP notification whose signature does not verify: raised by `listen`
    /// and `verify-notifications`, never by reconciliation.
    ForgedNotification,
    /// Refunds: a refund pending at the PSP for longer than the
    /// setting. Raised and cleared by the refund follow-up, never by reconciliation.
    RefundUnconfirmed,
    /// The PSP reversed a payment whose order the shop has as paid or fulfilled.
    ReversedAfterFulfilment,
    /// A chargeback row or status for a payment: one per chargeback.
    Chargeback,
    /// A REFUND settlement row that matches none of our succeeded refunds.
    UnmatchedRefundSettlement,
    /// A settlement row whose local amount over its FX rate is not its gross amount.
    SettlementFxMismatch,
    /// A settlement row whose fee is not the PSP account's contracted rate.
    FeeMismatch,
    /// The shop order still awaits payment hours after its voucher expired,
    /// and nothing paid: stock stays locked.
    ExpiredUnpaid,
    /// The PSP still reports a voucher pending days after it expired.
    StalePending,
    /// The shop order names a payment id other than the one that paid it.
    PaymentIdMismatch,
    /// No settlement report of a PSP covers a market date, business days
    /// after it: money paid out that day cannot be checked.
    SettlementReportMissing,
}

/// What an exception is about; it also determines its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Order,
    Payment,
    Settlement,
    /// A PSP's settlement report for a market date.
    Report,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 21] = [
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
        ExceptionKind::ForgedNotification,
        ExceptionKind::RefundUnconfirmed,
        ExceptionKind::ReversedAfterFulfilment,
        ExceptionKind::Chargeback,
        ExceptionKind::UnmatchedRefundSettlement,
        ExceptionKind::SettlementFxMismatch,
        ExceptionKind::FeeMismatch,
        ExceptionKind::ExpiredUnpaid,
        ExceptionKind::StalePending,
        ExceptionKind::PaymentIdMismatch,
        ExceptionKind::SettlementReportMissing,
    ];

    /// The kinds reconciliation raises, and so the only ones a run may clear:
    /// those of [`ExceptionKind::ALL`] that [`ExceptionKind::raised_by_reconcile`] names, in that order.
    pub const RECONCILED: [ExceptionKind; 19] = {
        let mut kinds = [ExceptionKind::PaidNotRecorded; 19];
        let (mut from, mut to) = (0, 0);
        while from < ExceptionKind::ALL.len() {
            if ExceptionKind::ALL[from].raised_by_reconcile() {
                kinds[to] = ExceptionKind::ALL[from];
                to += 1;
            }
            from += 1;
        }
        assert!(to == kinds.len(), "RECONCILED's length is the number of kinds raised_by_reconcile names");
        kinds
    };

    /// Whether reconciliation decides this kind from the ledger's data. A
    /// forged notification is an event, not a state of the data: no later
    /// import can show it "gone", so a run must never clear it.
    pub const fn raised_by_reconcile(self) -> bool {
        match self {
            ExceptionKind::PaidNotRecorded
            | ExceptionKind::RecordedNotPaid
            | ExceptionKind::DuplicatePayment
            | ExceptionKind::CurrencyMismatch
            | ExceptionKind::AmountMismatch
            | ExceptionKind::PaidAfterExpiry
            | ExceptionKind::UnknownOrder
            | ExceptionKind::NotSettled
            | ExceptionKind::SettlementMismatch
            | ExceptionKind::UnknownSettlement
            | ExceptionKind::ReversedAfterFulfilment
            | ExceptionKind::Chargeback
            | ExceptionKind::UnmatchedRefundSettlement
            | ExceptionKind::SettlementFxMismatch
            | ExceptionKind::FeeMismatch
            | ExceptionKind::ExpiredUnpaid
            | ExceptionKind::StalePending
            | ExceptionKind::PaymentIdMismatch
            | ExceptionKind::SettlementReportMissing => true,
            ExceptionKind::ForgedNotification | ExceptionKind::RefundUnconfirmed => false,
        }
    }

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
            ExceptionKind::ForgedNotification => "forged_notification",
            ExceptionKind::RefundUnconfirmed => "refund_unconfirmed",
            ExceptionKind::ReversedAfterFulfilment => "reversed_after_fulfilment",
            ExceptionKind::Chargeback => "chargeback",
            ExceptionKind::UnmatchedRefundSettlement => "unmatched_refund_settlement",
            ExceptionKind::SettlementFxMismatch => "settlement_fx_mismatch",
            ExceptionKind::FeeMismatch => "fee_mismatch",
            ExceptionKind::ExpiredUnpaid => "expired_unpaid",
            ExceptionKind::StalePending => "stale_pending",
            ExceptionKind::PaymentIdMismatch => "payment_id_mismatch",
            ExceptionKind::SettlementReportMissing => "settlement_report_missing",
        }
    }

    pub fn parse(text: &str) -> Option<ExceptionKind> {
        ExceptionKind::ALL.into_iter().find(|k| k.as_str() == text.trim())
    }

    pub fn subject(self) -> Subject {
        match self {
            ExceptionKind::PaidNotRecorded
            | ExceptionKind::RecordedNotPaid
            | ExceptionKind::DuplicatePayment
            | ExceptionKind::ForgedNotification
            | ExceptionKind::ExpiredUnpaid
            | ExceptionKind::PaymentIdMismatch => Subject::Order,
            ExceptionKind::CurrencyMismatch
            | ExceptionKind::AmountMismatch
            | ExceptionKind::PaidAfterExpiry
            | ExceptionKind::UnknownOrder
            | ExceptionKind::NotSettled
            | ExceptionKind::RefundUnconfirmed
            | ExceptionKind::ReversedAfterFulfilment
            | ExceptionKind::Chargeback
            | ExceptionKind::StalePending => Subject::Payment,
            ExceptionKind::SettlementMismatch
            | ExceptionKind::UnknownSettlement
            | ExceptionKind::UnmatchedRefundSettlement
            | ExceptionKind::SettlementFxMismatch
            | ExceptionKind::FeeMismatch => Subject::Settlement,
            ExceptionKind::SettlementReportMissing => Subject::Report,
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

/// The kind as stored and shown (`paid_not_recorded`), padded as asked.
impl std::fmt::Display for ExceptionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A kind equals its stored text, so records compare with the strings faces hold.
impl PartialEq<str> for ExceptionKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ExceptionKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The condition holds with the same facts as before.
    Unchanged,
    /// The condition holds but the facts differ (amounts, statuses...).
    FactsChanged,
    /// The condition no longer holds.
    Gone,
}

/// The exception's next status after a reconciliation run, or `None` if it stays.
pub fn after_run(status: ExceptionStatus, seen: Finding) -> Option<ExceptionStatus> {
    match (status, seen) {
        (ExceptionStatus::Open, Finding::Unchanged | Finding::FactsChanged) => None,
        (ExceptionStatus::Open, Finding::Gone) => Some(ExceptionStatus::Cleared),
        // A decision stands while the facts it was made on stand.
        (ExceptionStatus::Resolved, Finding::Unchanged | Finding::Gone) => None,
        (ExceptionStatus::Resolved, Finding::FactsChanged) => Some(ExceptionStatus::Open),
        (ExceptionStatus::Cleared, Finding::Unchanged | Finding::FactsChanged) => Some(ExceptionStatus::Open),
        (ExceptionStatus::Cleared, Finding::Gone) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

/// A manual match requested with `link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkTarget {
    Order(String),
    Payment(String),
}
