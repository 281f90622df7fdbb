//! Refund domain types: reason codes, methods, and the lifecycle as an
//! exhaustive state machine.

use serde::{Deserialize, Serialize};

/// Why the money goes back. Mandatory; `Other` needs a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    BuyerCancelled,
    OutOfStock,
    ProductReturn,
    DuplicatePayment,
    Overpayment,
    PaidAfterExpiry,
    Fraud,
    Other,
}

impl ReasonCode {
    pub const ALL: [ReasonCode; 8] = [
        ReasonCode::BuyerCancelled,
        ReasonCode::OutOfStock,
        ReasonCode::ProductReturn,
        ReasonCode::DuplicatePayment,
        ReasonCode::Overpayment,
        ReasonCode::PaidAfterExpiry,
        ReasonCode::Fraud,
        ReasonCode::Other,
    ];
    pub const EXPECTED: &'static str = "buyer_cancelled, out_of_stock, product_return, duplicate_payment, overpayment, paid_after_expiry, fraud, other";

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BuyerCancelled => "buyer_cancelled",
            ReasonCode::OutOfStock => "out_of_stock",
            ReasonCode::ProductReturn => "product_return",
            ReasonCode::DuplicatePayment => "duplicate_payment",
            ReasonCode::Overpayment => "overpayment",
            ReasonCode::PaidAfterExpiry => "paid_after_expiry",
            ReasonCode::Fraud => "fraud",
            ReasonCode::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    pub fn needs_note(self) -> bool {
        match self {
            ReasonCode::Other => true,
            ReasonCode::BuyerCancelled
            | ReasonCode::OutOfStock
            | ReasonCode::ProductReturn
            | ReasonCode::DuplicatePayment
            | ReasonCode::Overpayment
            | ReasonCode::PaidAfterExpiry
            | ReasonCode::Fraud => false,
        }
    }
}

/// How the money reaches the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// The PSP's refund API; a ticket payment is paid back by bank transfer.
    PspRefund,
    /// The buyer collects cash at an Efecty / PagoEfectivo point (PSP payout).
    CashWithdrawal,
    /// Finance pays the buyer's bank account outside the PSP and records the
    /// transfer (bank reference, date, proof): any PSP's payment.
    BankTransfer,
}

impl RefundMethod {
    pub const ALL: [RefundMethod; 3] =
        [RefundMethod::PspRefund, RefundMethod::CashWithdrawal, RefundMethod::BankTransfer];
    pub const EXPECTED: &'static str = "psp_refund, cash_withdrawal (or outlet_cash) or bank_transfer";

    pub fn as_str(self) -> &'static str {
        match self {
            RefundMethod::PspRefund => "psp_refund",
            RefundMethod::CashWithdrawal => "cash_withdrawal",
            RefundMethod::BankTransfer => "bank_transfer",
        }
    }

    /// `outlet_cash` is the name finance in Peru uses for a cash withdrawal.
    pub fn parse(text: &str) -> Option<RefundMethod> {
        match text.trim() {
            "outlet_cash" => Some(RefundMethod::CashWithdrawal),
            other => RefundMethod::ALL.into_iter().find(|m| m.as_str() == other),
        }
    }

    /// Whether the buyer's bank details are what the method needs (else a KYC'd cash payee).
    pub fn pays_a_bank_account(self) -> bool {
        match self {
            RefundMethod::PspRefund | RefundMethod::BankTransfer => true,
            RefundMethod::CashWithdrawal => false,
        }
    }
}

/// `requested → pending_approval → approved → submitted → succeeded | failed
/// | rejected_by_psp`, plus `cancelled` before submission (a rejection by an
/// approver cancels). A failed or PSP-rejected refund may go back to
/// `approved` (retry, with a new idempotency key: the old attempt is final).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Requested,
    PendingApproval,
    Approved,
    Submitted,
    Succeeded,
    Failed,
    RejectedByPsp,
    Cancelled,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 8] = [
        RefundStatus::Requested,
        RefundStatus::PendingApproval,
        RefundStatus::Approved,
        RefundStatus::Submitted,
        RefundStatus::Succeeded,
        RefundStatus::Failed,
        RefundStatus::RejectedByPsp,
        RefundStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::PendingApproval => "pending_approval",
            RefundStatus::Approved => "approved",
            RefundStatus::Submitted => "submitted",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
            RefundStatus::RejectedByPsp => "rejected_by_psp",
            RefundStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<RefundStatus> {
        RefundStatus::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }

    /// The lifecycle's only edges.
    pub fn can_become(self, next: RefundStatus) -> bool {
        use RefundStatus::*;
        match self {
            Requested => matches!(next, PendingApproval | Approved | Cancelled),
            PendingApproval => matches!(next, Approved | Cancelled),
            Approved => matches!(next, Submitted | Cancelled),
            Submitted => matches!(next, Succeeded | Failed | RejectedByPsp),
            Failed | RejectedByPsp => matches!(next, Approved),
            Succeeded | Cancelled => false,
        }
    }

    /// Holds its amount against the payment without having paid it yet.
    pub fn in_flight(self) -> bool {
        match self {
            RefundStatus::Requested
            | RefundStatus::PendingApproval
            | RefundStatus::Approved
            | RefundStatus::Submitted => true,
            RefundStatus::Succeeded | RefundStatus::Failed | RefundStatus::RejectedByPsp | RefundStatus::Cancelled => {
                false
            }
        }
    }

    /// Nothing more will happen unless someone retries.
    pub fn is_final(self) -> bool {
        match self {
            RefundStatus::Succeeded | RefundStatus::Failed | RefundStatus::RejectedByPsp | RefundStatus::Cancelled => {
                true
            }
            RefundStatus::Requested
            | RefundStatus::PendingApproval
            | RefundStatus::Approved
            | RefundStatus::Submitted => false,
        }
    }
}

/// A role whose approval a refund needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApproverRole {
    Finance,
    Manager,
}

impl ApproverRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ApproverRole::Finance => "finance",
            ApproverRole::Manager => "manager",
        }
    }

    pub fn parse(text: &str) -> Option<ApproverRole> {
        match text {
            "finance" => Some(ApproverRole::Finance),
            "manager" => Some(ApproverRole::Manager),
            _ => None,
        }
    }
}

/// A fresh idempotency key: 128 random bits.
pub fn new_idempotency_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("vdr-{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_leaves_a_final_state_but_a_retry_and_nothing_skips_approval() {
        for from in RefundStatus::ALL {
            for to in RefundStatus::ALL {
                let allowed = from.can_become(to);
                if from == RefundStatus::Succeeded || from == RefundStatus::Cancelled {
                    assert!(!allowed, "{from:?} -> {to:?}");
                }
                if to == RefundStatus::Submitted {
                    assert_eq!(allowed, from == RefundStatus::Approved, "{from:?} -> {to:?}");
                }
                if to == RefundStatus::Cancelled {
                    assert_eq!(allowed, !from.is_final() && from != RefundStatus::Submitted, "{from:?} -> {to:?}");
                }
            }
        }
        assert_eq!(RefundStatus::parse("rejected_by_psp"), Some(RefundStatus::RejectedByPsp));
        assert_eq!(ReasonCode::parse("other").map(ReasonCode::needs_note), Some(true));
        assert_eq!(ReasonCode::parse("refund me"), None);
    }
}
