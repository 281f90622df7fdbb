//! Why a refund request or decision is refused, with its stable code.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum RefundError {
    #[error("refund amount: {0}")]
    BadAmount(MoneyError),
    #[error("the refund amount must be more than zero")]
    AmountNotPositive,
    #[error("{amount} cannot be sent to the PSP: {currency} is paid in whole units there")]
    Unquotable { amount: String, currency: Currency },
    #[error("the payment is in {payment}, not {given}: refunds are paid in the payment's currency")]
    CurrencyMismatch { given: String, payment: String },
    #[error("no payment {0:?} on record")]
    UnknownPayment(String),
    #[error("payment id {0:?} is known at several PSPs: name one with --psp")]
    AmbiguousPayment(String),
    #[error("refunds through {0} are not wired yet (only dLocal, or a bank_transfer finance records)")]
    UnsupportedPsp(String),
    #[error(
        "{psp} cannot pay a {} from VoucherDesk (its API has no refund or payout): refund this payment by bank_transfer, which finance pays and records with the bank's reference and proof",
        method.as_str()
    )]
    MethodUnsupported { psp: &'static str, method: RefundMethod },
    #[error("payment {payment_id} is {status}, not paid: there is nothing to refund")]
    PaymentNotPaid { payment_id: String, status: String },
    #[error("payment {payment_id} is {status} at the PSP: the money already went back, nothing is refundable")]
    PaymentTakenBack { payment_id: String, status: String },
    #[error(
        "{requested} is more than what remains refundable ({refundable} of {paid} paid; {succeeded} refunded, {in_flight} in flight)"
    )]
    ExceedsRefundable { requested: String, refundable: String, paid: String, succeeded: String, in_flight: String },
    #[error(
        "the payment was made on {paid_on}, more than {window_days} days ago: past the PSP's refund window a refund must be a cash_withdrawal (finance approves it)"
    )]
    WindowPassed { paid_on: String, window_days: i64 },
    #[error("refund {0} of this payment is waiting for approval: say --additional if this is another partial refund")]
    PendingExists(i64),
    #[error("unknown reason {0:?} (expected one of {expected})", expected = ReasonCode::EXPECTED)]
    UnknownReason(String),
    #[error("reason `other` needs a note (--note)")]
    NoteRequired,
    #[error("{0} is longer than {NOTE_CHARS_MAX} characters")]
    TooLong(&'static str),
    #[error("unknown refund method {0:?} (expected {expected})", expected = RefundMethod::EXPECTED)]
    UnknownMethod(String),
    #[error(
        "a psp_refund of a ticket payment is paid by bank transfer: the {0} is required (dLocal asks for the beneficiary's bank details)"
    )]
    BeneficiaryMissing(&'static str),
    #[error("bank account type {0:?} must be C (current) or S (savings)")]
    BadAccountType(String),
    #[error(transparent)]
    Kyc(#[from] KycError),
    #[error("no refund {0}")]
    UnknownRefund(i64),
    #[error("{operator} requested refund {id}: the requester can never approve their own refund")]
    SelfApproval { operator: String, id: i64 },
    #[error("{operator} has already approved refund {id}: the second approval must come from someone else")]
    SameApprover { operator: String, id: i64 },
    #[error("{operator} ({role}) cannot approve refund {id}: it awaits {awaiting}")]
    WrongRole { operator: String, role: &'static str, id: i64, awaiting: String },
    #[error("refund {id} is {status}: {action} is not possible")]
    BadState { id: i64, status: &'static str, action: &'static str },
    /// Someone else (often at another desktop) decided first.
    #[error("refund {id} is already {what} by {by} at {at}")]
    AlreadyDecided { id: i64, what: String, by: String, at: String },
    #[error("a rejection needs a comment (--comment)")]
    CommentRequired,
    #[error(
        "no exchange rate {from} → {to} is recorded: an admin enters one (voucherdesk fx add --pair {from}/{to} --date YYYY-MM-DD --rate RATE, or fx import FILE)"
    )]
    NoFxRate { from: Currency, to: Currency },
    #[error(
        "the latest {pair} rate is dated {rate_date}: older than one business day in {market} (a rate of {oldest} or later is needed); enter today's rate first"
    )]
    FxRateStale { pair: String, rate_date: NaiveDate, oldest: NaiveDate, market: &'static str },
    #[error("{0}")]
    BadSettings(String),
    #[error("{operator} may not {what} refund {id}")]
    NotYours { operator: String, what: &'static str, id: i64 },
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(
        "no dLocal account is configured: an admin adds one in Settings → PSP accounts (or `voucherdesk psp accounts add`)"
    )]
    NoPspAccount,
    #[error("the dLocal account cannot be used: {0}")]
    PspAccount(String),
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialError),
    #[error("bulk approval is for tier-2 refunds only: {0} not tier 2 (approve those one by one)")]
    BulkNotTier2(String),
    #[error("bulk approval takes 1 to {max} refunds, not {given}", max = bulk::BULK_APPROVE_IDS_MAX)]
    BulkSize { given: usize },
    #[error("the CSV could not be written: {0}")]
    Export(String),
    #[error("refund {id} is a {}: only a bank_transfer is recorded by hand", method.as_str())]
    NotManual { id: i64, method: RefundMethod },
    #[error("refund {id}'s transfer is already recorded (bank reference {reference}, by {by}): a transfer counts once")]
    TransferAlreadyRecorded { id: i64, reference: String, by: String },
    #[error("{0}")]
    TransferDuplicate(String),
    #[error("transfer: {0}")]
    BadTransfer(String),
    #[error("proof file: {0}")]
    BadProof(String),
    #[error("the proof file could not be kept: {0}")]
    ProofIo(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("payout limits: {0}")]
    BadLimits(String),
    #[error("no PSP account is named {0:?} (see `voucherdesk credentials list`)")]
    UnknownAccount(String),
    #[error("stored refund is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefundError {
    pub fn code(&self) -> &'static str {
        match self {
            RefundError::BadAmount(_) => "refunds.bad_amount",
            RefundError::AmountNotPositive => "refunds.amount_not_positive",
            RefundError::Unquotable { .. } => "refunds.unquotable_amount",
            RefundError::CurrencyMismatch { .. } => "refunds.currency_mismatch",
            RefundError::UnknownPayment(_) => "refunds.unknown_payment",
            RefundError::AmbiguousPayment(_) => "refunds.ambiguous_payment",
            RefundError::UnsupportedPsp(_) => "refunds.psp_unsupported",
            RefundError::MethodUnsupported { .. } => "refunds.method_unsupported",
            RefundError::PaymentNotPaid { .. } => "refunds.payment_not_paid",
            RefundError::PaymentTakenBack { .. } => "refunds.payment_taken_back",
            RefundError::ExceedsRefundable { .. } => "refunds.exceeds_refundable",
            RefundError::WindowPassed { .. } => "refunds.window_passed",
            RefundError::PendingExists(_) => "refunds.pending_exists",
            RefundError::UnknownReason(_) => "refunds.unknown_reason",
            RefundError::NoteRequired => "refunds.note_required",
            RefundError::TooLong(_) => "refunds.too_long",
            RefundError::UnknownMethod(_) => "refunds.unknown_method",
            RefundError::BeneficiaryMissing(_) | RefundError::BadAccountType(_) => "refunds.beneficiary_missing",
            RefundError::Kyc(e) => e.code(),
            RefundError::UnknownRefund(_) => "refunds.not_found",
            RefundError::SelfApproval { .. } => "refunds.self_approval",
            RefundError::SameApprover { .. } => "refunds.same_approver",
            RefundError::WrongRole { .. } => "refunds.wrong_role",
            RefundError::BadState { .. } => "refunds.bad_state",
            RefundError::AlreadyDecided { .. } => "refunds.already_decided",
            RefundError::CommentRequired => "refunds.comment_required",
            RefundError::NoFxRate { .. } => "refunds.no_fx_rate",
            RefundError::FxRateStale { .. } => "refunds.fx_rate_stale",
            RefundError::BadSettings(_) => "errors.validation",
            RefundError::NotYours { .. } => "auth.forbidden",
            RefundError::Forbidden(e) => e.code(),
            RefundError::NoPspAccount => "refunds.no_psp_account",
            RefundError::PspAccount(_) => "refunds.psp_account",
            RefundError::Credentials(e) => e.code(),
            RefundError::BulkNotTier2(_) => "refunds.bulk_not_tier2",
            RefundError::BulkSize { .. } => "refunds.bulk_size",
            RefundError::Export(_) => "refunds.export_failed",
            RefundError::NotManual { .. } => "refunds.not_manual",
            RefundError::TransferAlreadyRecorded { .. } => "refunds.transfer_already_recorded",
            RefundError::TransferDuplicate(_) => "refunds.transfer_duplicate",
            RefundError::BadTransfer(_) => "refunds.bad_transfer",
            RefundError::BadProof(_) => "refunds.bad_proof",
            RefundError::ProofIo(_) => "refunds.proof_io",
            RefundError::LimitExceeded(_) => "refunds.limit_exceeded",
            RefundError::BadLimits(_) => "errors.validation",
            RefundError::UnknownAccount(_) => "refunds.unknown_account",
            RefundError::Corrupt(_) => "store",
            RefundError::Store(e) => e.code(),
        }
    }

    /// The request was refused as asked (nothing written); otherwise a fault.
    pub fn is_refusal(&self) -> bool {
        match self {
            RefundError::Corrupt(_) | RefundError::Store(_) | RefundError::Export(_) | RefundError::ProofIo(_) => false,
            RefundError::Forbidden(OperatorError::Store(_)) => false,
            _ => true,
        }
    }
}
