//! Refunds: requested from a case file (or the CLI), approved by tier with
//! maker-checker rules, submitted to the PSP exactly once, and followed to
//! the end. Every rule is enforced here; the CLI and the app only pass the
//! acting operator along.
//!
//! - `crate::model::refund`: reason codes, methods, the lifecycle state machine;
//! - `invariant`: what a payment can still give back, checked at every move
//!   into `approved` or `submitted`;
//! - `tiers`: approval tiers per currency and the other refund settings;
//! - `kyc`: the payee check before a cash withdrawal;
//! - `submission`: sending to the PSP with the stored idempotency key, and following.

pub mod bulk;
pub mod export;
pub mod invariant;
pub mod kyc;
pub mod preview;
pub mod receipt;
pub mod submission;
pub mod tiers;

pub use crate::model::refund::{ApproverRole, ReasonCode, RefundMethod, RefundStatus, new_idempotency_key};
pub use kyc::{KycError, PayeeCheck, PayeeInput, VerifiedPayee};
pub use tiers::{RefundSettings, Tier, TierLimits};

use crate::audit::audit_entry;
use crate::market::Country;
use crate::money::{self, Currency, MoneyError, NumberFormat, format_minor};
use crate::operators::{Operator, OperatorError, Permission, Role};
use crate::psp::dlocal::transformers::wire_amount;
use crate::store::{ApprovalRow, OrderRecord, RefundRow, RefundUpdate, RefundablePayment, Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// Notes and comments: a few sentences.
pub const NOTE_CHARS_MAX: usize = 1_000;
/// Beneficiary fields: bank names and account numbers.
pub const BENEFICIARY_FIELD_CHARS_MAX: usize = 120;
/// Refunds one list page may hold.
pub const REFUND_PAGE_ROWS_MAX: u32 = 500;
const SECONDS_PER_DAY: i64 = 86_400;

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
    #[error("refunds through {0} are not wired yet (only dLocal)")]
    UnsupportedPsp(String),
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
    #[error("unknown refund method {0:?} (expected psp_refund or cash_withdrawal)")]
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
            RefundError::Corrupt(_) => "store",
            RefundError::Store(e) => e.code(),
        }
    }

    /// The request was refused as asked (nothing written); otherwise a fault.
    pub fn is_refusal(&self) -> bool {
        match self {
            RefundError::Corrupt(_) | RefundError::Store(_) | RefundError::Export(_) => false,
            RefundError::Forbidden(OperatorError::Store(_)) => false,
            _ => true,
        }
    }
}

/// Where a `psp_refund` of a ticket payment is paid (bank transfer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeneficiaryInput {
    pub name: String,
    pub bank: String,
    pub account: String,
    /// `C` current or `S` savings.
    pub account_type: String,
    pub document: String,
}

/// A refund request as the requester fills it in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequestInput {
    pub payment_id: String,
    /// Needed only when the payment id is known at several PSPs.
    pub psp: Option<String>,
    /// Major units, `.` as decimal separator ("150000", "89.90").
    pub amount: String,
    /// Optional: must be the payment's.
    pub currency: Option<String>,
    pub reason: String,
    pub note: Option<String>,
    pub method: String,
    pub beneficiary: BeneficiaryInput,
    pub payee: PayeeInput,
    /// Another partial refund while one of the same payment awaits approval.
    pub additional: bool,
}

/// What the method stores about who gets the money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundDetails {
    BankTransfer { beneficiary: BeneficiaryInput },
    CashPickup { payee: VerifiedPayee },
}

/// An exchange rate locked at approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FxLock {
    /// 1 `order_currency` = `rate` refund currency.
    pub rate: String,
    /// The rate's market date, then where it came from and who entered it.
    pub source: String,
    /// The market date the rate applies to (`None` for rates locked before dated rates).
    pub rate_date: Option<NaiveDate>,
    pub locked_at: Option<DateTime<Utc>>,
    pub order_currency: Currency,
    /// The refund's worth in the order's currency, at that rate (half-even).
    pub order_amount_minor: i64,
    pub order_amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalView {
    pub operator: String,
    pub role: String,
    pub decision: String,
    pub comment: String,
    pub at: DateTime<Utc>,
    pub tier: i64,
    pub amount_minor: i64,
}

/// A refund as the CLI and the app show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub id: i64,
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// Major units, for people.
    pub amount: String,
    pub reason: ReasonCode,
    pub note: String,
    pub method: RefundMethod,
    pub details: RefundDetails,
    /// The payee (cash) or beneficiary (bank) against the order's buyer now;
    /// `None` when the order is not on record.
    pub payee_check: Option<PayeeCheck>,
    pub tier: i64,
    /// Past the refund window: finance approves whatever the amount.
    pub finance_required: bool,
    pub status: RefundStatus,
    pub required_approvals: Vec<ApproverRole>,
    /// The roles still to approve (empty once approved).
    pub awaiting: Vec<ApproverRole>,
    pub approvals: Vec<ApprovalView>,
    pub idempotency_key: String,
    pub additional: bool,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// Locked at approval (USD-priced orders refunded in local currency).
    pub fx: Option<FxLock>,
    /// Before approval: the rate that approving now would lock.
    pub fx_quote: Option<FxLock>,
    pub psp_refund_id: Option<String>,
    pub withdrawal_code: Option<String>,
    pub psp_status: Option<String>,
    pub submit_attempts: i64,
    pub submitted_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub escalated: bool,
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

fn required_roles(tier: Tier, finance_required: bool) -> Vec<ApproverRole> {
    let mut roles = tier.approvers().to_vec();
    if finance_required && !roles.contains(&ApproverRole::Finance) {
        roles.insert(0, ApproverRole::Finance);
    }
    roles
}

fn awaiting(required: &[ApproverRole], approvals: &[ApprovalRow]) -> Vec<ApproverRole> {
    required
        .iter()
        .copied()
        .filter(|role| !approvals.iter().any(|a| a.decision == "approve" && a.role == role.as_str()))
        .collect()
}

fn list_roles(roles: &[ApproverRole]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" and ")
}

pub(crate) fn parse_row(row: &RefundRow) -> Result<(RefundStatus, Tier, Currency), RefundError> {
    let status =
        RefundStatus::parse(&row.status).ok_or_else(|| RefundError::Corrupt(format!("status {}", row.status)))?;
    let tier = Tier::from_number(row.tier).ok_or_else(|| RefundError::Corrupt(format!("tier {}", row.tier)))?;
    let currency =
        Currency::parse(&row.currency).map_err(|_| RefundError::Corrupt(format!("currency {}", row.currency)))?;
    Ok((status, tier, currency))
}

fn check_payee(details: &RefundDetails, order: Option<&OrderRecord>) -> Option<PayeeCheck> {
    let order = order?;
    let (name, document) = match details {
        RefundDetails::BankTransfer { beneficiary } => (&beneficiary.name, &beneficiary.document),
        RefundDetails::CashPickup { payee } => (&payee.name, &payee.document_number),
    };
    Some(kyc::payee_check(name, document, &order.buyer_name, &order.buyer_document))
}

fn view(
    row: RefundRow,
    approvals: Vec<ApprovalRow>,
    quote: Option<FxLock>,
    order: Option<&OrderRecord>,
) -> Result<Refund, RefundError> {
    let (status, tier, currency) = parse_row(&row)?;
    let reason =
        ReasonCode::parse(&row.reason).ok_or_else(|| RefundError::Corrupt(format!("reason {}", row.reason)))?;
    let method =
        RefundMethod::parse(&row.method).ok_or_else(|| RefundError::Corrupt(format!("method {}", row.method)))?;
    let details: RefundDetails = serde_json::from_str(&row.details)
        .map_err(|e| RefundError::Corrupt(format!("refund {} details: {e}", row.id)))?;
    let required = required_roles(tier, row.finance_required);
    let awaiting = match status {
        RefundStatus::Requested | RefundStatus::PendingApproval => awaiting(&required, &approvals),
        RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Succeeded
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => Vec::new(),
    };
    let fx = match (&row.fx_rate, &row.fx_order_currency, row.fx_order_amount_minor) {
        (Some(rate), Some(oc), Some(minor)) => {
            let order_currency = Currency::parse(oc).map_err(|_| RefundError::Corrupt(format!("fx currency {oc}")))?;
            let source = row.fx_source.clone().unwrap_or_default();
            // The refunds table is shared with the team server as it is: the
            // rate's date is kept at the head of its source text.
            let rate_date = source.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            Some(FxLock {
                rate: rate.clone(),
                source,
                rate_date,
                locked_at: row.fx_locked_at.map(instant),
                order_currency,
                order_amount_minor: minor,
                order_amount: format_minor(minor, order_currency),
            })
        }
        _ => None,
    };
    let fx_quote = if fx.is_none() && !status.is_final() { quote } else { None };
    Ok(Refund {
        id: row.id,
        psp: row.psp,
        payment_id: row.payment_id,
        order_id: row.order_id,
        amount_minor: row.amount_minor,
        currency,
        amount: format_minor(row.amount_minor, currency),
        reason,
        note: row.note,
        method,
        payee_check: check_payee(&details, order),
        details,
        tier: tier.number(),
        finance_required: row.finance_required,
        status,
        required_approvals: required,
        awaiting,
        approvals: approvals
            .into_iter()
            .map(|a| ApprovalView {
                operator: a.operator,
                role: a.role,
                decision: a.decision,
                comment: a.comment,
                at: instant(a.at),
                tier: a.tier,
                amount_minor: a.amount_minor,
            })
            .collect(),
        idempotency_key: row.idempotency_key,
        additional: row.additional,
        requested_by: row.requested_by,
        requested_at: instant(row.requested_at),
        fx,
        fx_quote,
        psp_refund_id: row.psp_refund_id,
        withdrawal_code: row.withdrawal_code,
        psp_status: row.psp_status,
        submit_attempts: row.submit_attempts,
        submitted_at: row.submitted_at.map(instant),
        finished_at: row.finished_at.map(instant),
        last_error: row.last_error,
        escalated: row.escalated,
    })
}

/// Business days a buyer waits at most once a bank refund is approved:
/// dLocal pays a refund by bank transfer in 3 to 7 business days.
pub const BANK_REFUND_WAIT_BUSINESS_DAYS_MAX: u32 = 7;
/// Business days until a cash payout's withdrawal code reaches the buyer.
pub const CASH_PAYOUT_WAIT_BUSINESS_DAYS_MAX: u32 = 2;

/// The wait the buyer is told about when the refund is approved.
pub fn expected_wait_business_days(method: RefundMethod) -> u32 {
    match method {
        RefundMethod::PspRefund => BANK_REFUND_WAIT_BUSINESS_DAYS_MAX,
        RefundMethod::CashWithdrawal => CASH_PAYOUT_WAIT_BUSINESS_DAYS_MAX,
    }
}

/// A refund that has just reached `approved` tells its buyer, once per
/// refund and channel. After the commit and best effort, as
/// `payment_received`: the approval stands whatever happens to the message,
/// and a buyer with no usable contact simply gets none.
fn notify_approved(store: &mut Store, refund: &Refund, actor: &str) {
    if refund.status != RefundStatus::Approved {
        return;
    }
    let queued = crate::notifications::queue_refund_approved(
        store,
        &refund.order_id,
        refund.id,
        refund.amount_minor,
        expected_wait_business_days(refund.method),
        actor,
    );
    match queued {
        Ok(_) | Err(crate::notifications::NotificationError::NoRecipient { .. }) => {}
        Err(e) => eprintln!("refund {} is approved; the buyer was not notified: {e} [{}]", refund.id, e.code()),
    }
}

/// The rate to lock for a refund of a USD-priced order paid in local currency;
/// `None` when the order is priced in the refund's currency (or unknown). The
/// rate is the latest of the dated FX table on or before today in the
/// refund's market, and no older than one business day there.
fn fx_for(
    store: &Store,
    order: Option<&OrderRecord>,
    currency: Currency,
    amount_minor: i64,
    now: DateTime<Utc>,
) -> Result<Option<FxLock>, RefundError> {
    let Some(order_currency) = order.and_then(|o| Currency::parse(&o.currency).ok()) else { return Ok(None) };
    if order_currency == currency || order_currency != Currency::Usd {
        return Ok(None);
    }
    let pair = crate::fx::FxPair { base: order_currency, quote: currency };
    let market = pair.market().ok_or(RefundError::NoFxRate { from: order_currency, to: currency })?;
    let today = market.business_date(now);
    let rate = crate::fx::latest(store, pair, today)
        .map_err(|e| RefundError::Corrupt(e.to_string()))?
        .ok_or(RefundError::NoFxRate { from: order_currency, to: currency })?;
    let oldest = crate::fx::oldest_usable_date(market, today);
    if rate.market_date < oldest {
        return Err(RefundError::FxRateStale {
            pair: pair.name(),
            rate_date: rate.market_date,
            oldest,
            market: market.code(),
        });
    }
    // local minor → local major → order major → order minor, rounded half-even.
    let local_major = Decimal::new(amount_minor, currency.exponent());
    let order_minor = (local_major / rate.rate * Decimal::from(10_i64.pow(order_currency.exponent())))
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven)
        .to_i64()
        .ok_or_else(|| RefundError::BadSettings("exchange rate gives an out-of-range amount".into()))?;
    Ok(Some(FxLock {
        rate: rate.rate.to_string(),
        source: format!("{} {}, entered by {}", rate.market_date, rate.source, rate.entered_by),
        rate_date: Some(rate.market_date),
        locked_at: None,
        order_currency,
        order_amount_minor: order_minor,
        order_amount: format_minor(order_minor, order_currency),
    }))
}

fn lock_fx(row: &mut RefundRow, fx: Option<FxLock>, now: DateTime<Utc>) {
    if let Some(fx) = fx {
        row.fx_rate = Some(fx.rate);
        row.fx_source = Some(fx.source);
        row.fx_locked_at = Some(now.timestamp());
        row.fx_order_currency = Some(fx.order_currency.code().to_string());
        row.fx_order_amount_minor = Some(fx.order_amount_minor);
    }
}

fn one_payment(store: &Store, payment_id: &str, psp: Option<&str>) -> Result<RefundablePayment, RefundError> {
    let id = payment_id.trim();
    let mut found = store.refundable_payments(id, psp.map(str::trim).filter(|p| !p.is_empty()))?;
    match found.len() {
        0 => Err(RefundError::UnknownPayment(id.to_string())),
        1 => Ok(found.remove(0)),
        _ => Err(RefundError::AmbiguousPayment(id.to_string())),
    }
}

fn check_text(what: &'static str, text: &str, max: usize) -> Result<String, RefundError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(RefundError::TooLong(what));
    }
    Ok(text.to_string())
}

fn bank_details(b: &BeneficiaryInput) -> Result<BeneficiaryInput, RefundError> {
    let field = |what: &'static str, v: &str| -> Result<String, RefundError> {
        let v = check_text(what, v, BENEFICIARY_FIELD_CHARS_MAX)?;
        if v.is_empty() {
            return Err(RefundError::BeneficiaryMissing(what));
        }
        Ok(v)
    };
    let name = field("beneficiary name", &b.name)?;
    let bank = field("bank", &b.bank)?;
    let account = field("bank account", &b.account)?;
    let account_type = field("bank account type", &b.account_type)?.to_ascii_uppercase();
    if account_type != "C" && account_type != "S" {
        return Err(RefundError::BadAccountType(b.account_type.trim().to_string()));
    }
    let document = field("beneficiary document", &b.document)?;
    Ok(BeneficiaryInput { name, bank, account, account_type, document })
}

/// What the payment, the amount and the method decide before anything is
/// stored: the checks and the tier that `request` applies and `preview` shows.
pub(crate) struct Planned {
    pub payment: RefundablePayment,
    pub currency: Currency,
    pub amount_minor: i64,
    pub country: Country,
    pub past_window: bool,
    pub tier: Tier,
    pub required: Vec<ApproverRole>,
}

pub(crate) fn plan(
    store: &Store,
    payment_id: &str,
    psp: Option<&str>,
    currency_given: Option<&str>,
    amount: &str,
    method: RefundMethod,
    now: DateTime<Utc>,
) -> Result<Planned, RefundError> {
    let payment = one_payment(store, payment_id, psp)?;
    if payment.psp != crate::psp::dlocal::PSP_NAME {
        return Err(RefundError::UnsupportedPsp(payment.psp));
    }
    let currency = Currency::parse(&payment.currency)
        .map_err(|_| RefundError::Corrupt(format!("payment currency {}", payment.currency)))?;
    if let Some(given) = currency_given.map(str::trim).filter(|c| !c.is_empty()) {
        if !given.eq_ignore_ascii_case(currency.code()) {
            return Err(RefundError::CurrencyMismatch { given: given.to_string(), payment: currency.code().into() });
        }
    }
    let amount_minor = match money::parse_minor(amount, currency, NumberFormat::PLAIN) {
        Ok(minor) => minor,
        Err(MoneyError::Negative(_)) => return Err(RefundError::AmountNotPositive),
        Err(e) => return Err(RefundError::BadAmount(e)),
    };
    if amount_minor <= 0 {
        return Err(RefundError::AmountNotPositive);
    }
    if wire_amount(amount_minor, currency).is_err() {
        return Err(RefundError::Unquotable { amount: format_minor(amount_minor, currency), currency });
    }
    invariant::ensure_open(&payment.payment_id, &payment.status)?;
    let country = Country::parse(&payment.country)
        .map_err(|_| RefundError::Corrupt(format!("payment country {}", payment.country)))?;
    let settings = tiers::get(store)?;
    let paid_at = payment.paid_at.map(instant);
    // No paid_at on record: the window cannot be shown to be open, so it is treated as passed.
    let past_window = paid_at.is_none_or(|at| now - at > TimeDelta::seconds(settings.window_days * SECONDS_PER_DAY));
    if past_window && method == RefundMethod::PspRefund {
        return Err(RefundError::WindowPassed {
            paid_on: paid_at
                .map(|at| country.business_date(at).to_string())
                .unwrap_or_else(|| "an unknown date".into()),
            window_days: settings.window_days,
        });
    }
    let amount_tier = settings.tier_of(currency, amount_minor);
    let tier = if past_window { amount_tier.max(Tier::Two) } else { amount_tier };
    let required = required_roles(tier, past_window);
    Ok(Planned { payment, currency, amount_minor, country, past_window, tier, required })
}

/// Requests a refund. Refused, with nothing written, when the amount is not
/// positive, more than what remains refundable (decided inside the inserting
/// transaction), the payment is not paid, a `psp_refund` is past the window,
/// another refund of the payment awaits approval (unless `additional`), or
/// the method's details are missing or do not match.
pub fn request(
    store: &mut Store,
    operator: &Operator,
    input: &RefundRequestInput,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let reason =
        ReasonCode::parse(&input.reason).ok_or_else(|| RefundError::UnknownReason(input.reason.trim().into()))?;
    let note = check_text("note", input.note.as_deref().unwrap_or(""), NOTE_CHARS_MAX)?;
    if reason.needs_note() && note.is_empty() {
        return Err(RefundError::NoteRequired);
    }
    let method =
        RefundMethod::parse(&input.method).ok_or_else(|| RefundError::UnknownMethod(input.method.trim().into()))?;
    let Planned { payment, currency, amount_minor, country, past_window, tier, required } =
        plan(store, &input.payment_id, input.psp.as_deref(), input.currency.as_deref(), &input.amount, method, now)?;
    let order = store.order(&payment.order_id)?;
    let details = match method {
        RefundMethod::PspRefund => RefundDetails::BankTransfer { beneficiary: bank_details(&input.beneficiary)? },
        RefundMethod::CashWithdrawal => {
            let order = order.as_ref().ok_or(KycError::NoOrder)?;
            RefundDetails::CashPickup {
                payee: kyc::verify(&input.payee, country, &order.buyer_name, &order.buyer_document)?,
            }
        }
    };
    // Tier 1 is approved as requested: the rate is locked now.
    let fx = if required.is_empty() { fx_for(store, order.as_ref(), currency, amount_minor, now)? } else { None };
    let status = if required.is_empty() { RefundStatus::Approved } else { RefundStatus::PendingApproval };
    debug_assert!(RefundStatus::Requested.can_become(status));
    let mut row = RefundRow {
        id: 0,
        psp: payment.psp.clone(),
        payment_id: payment.payment_id.clone(),
        order_id: payment.order_id.clone(),
        amount_minor,
        currency: currency.code().into(),
        reason: reason.as_str().into(),
        note,
        method: method.as_str().into(),
        details: serde_json::to_string(&details).map_err(|e| RefundError::Corrupt(e.to_string()))?,
        tier: tier.number(),
        finance_required: past_window,
        status: status.as_str().into(),
        idempotency_key: new_idempotency_key(),
        additional: input.additional,
        requested_by: operator.name.clone(),
        requested_at: now.timestamp(),
        fx_rate: None,
        fx_source: None,
        fx_locked_at: None,
        fx_order_currency: None,
        fx_order_amount_minor: None,
        psp_refund_id: None,
        withdrawal_code: None,
        psp_status: None,
        submit_attempts: 0,
        submitted_at: None,
        finished_at: None,
        last_error: None,
        escalated: false,
        updated_at: now.timestamp(),
    };
    lock_fx(&mut row, fx, now);
    let additional = input.additional;
    let stored = store.insert_refund(&row, |held, row: &mut RefundRow| -> Result<_, RefundError> {
        let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
        if held.pending_approval > 0 && !additional {
            return Err(RefundError::PendingExists(held.first_pending_id.unwrap_or_default()));
        }
        let after = serde_json::json!({
            "payment": row.payment_id, "psp": row.psp, "order_id": row.order_id,
            "amount_minor": row.amount_minor, "currency": row.currency, "tier": row.tier,
            "method": row.method, "reason": row.reason, "status": row.status,
            "additional": row.additional, "idempotency_key": row.idempotency_key,
            "refundable_before_minor": refundable, "fx_rate": row.fx_rate,
        });
        Ok(audit_entry(&row.requested_by, "refund.request", "refund", "", &after.to_string()))
    })?;
    let refund = view(stored, Vec::new(), None, order.as_ref())?;
    notify_approved(store, &refund, &operator.name);
    Ok(refund)
}

fn approver_role(role: Role) -> Option<ApproverRole> {
    match role {
        Role::Finance => Some(ApproverRole::Finance),
        Role::Manager => Some(ApproverRole::Manager),
        Role::Support | Role::Admin => None,
    }
}

fn bad_state(id: i64, status: RefundStatus, action: &'static str) -> RefundError {
    RefundError::BadState { id, status: status.as_str(), action }
}

/// Why a decision comes too late: the refund was decided already (by whom,
/// when), or the operator's slot was filled by someone else; else the state.
fn too_late(id: i64, status: RefundStatus, action: &'static str, approvals: &[ApprovalRow]) -> RefundError {
    let decided = match status {
        RefundStatus::Requested | RefundStatus::PendingApproval => false,
        RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Succeeded
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => true,
    };
    // A cancellation by its requester is a state, not someone's decision.
    let last = approvals.last().filter(|a| status != RefundStatus::Cancelled || a.decision == "reject");
    match last.filter(|_| decided) {
        Some(last) => RefundError::AlreadyDecided {
            id,
            what: if last.decision == "reject" { "rejected" } else { "approved" }.to_string(),
            by: last.operator.clone(),
            at: crate::store::team::format_instant(last.at),
        },
        None => bad_state(id, status, action),
    }
}

pub(crate) fn decision_audit(
    operator: &str,
    action: &str,
    row: &RefundRow,
    before: RefundStatus,
    extra: serde_json::Value,
) -> crate::store::AuditEntry {
    let after = serde_json::json!({
        "status": row.status, "tier": row.tier, "amount_minor": row.amount_minor, "currency": row.currency,
        "detail": extra,
    });
    audit_entry(operator, action, &format!("refund {}", row.id), before.as_str(), &after.to_string())
}

/// Approves a pending refund as `operator`. The requester never approves;
/// each approval fills one role the tier still awaits (finance, manager), and
/// two approvals always come from two people. The last approval locks the
/// exchange rate when the order was priced in USD.
pub fn approve(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    let comment = check_text("comment", comment.unwrap_or(""), NOTE_CHARS_MAX)?;
    let (current, _) = store.refund(id)?.ok_or(RefundError::UnknownRefund(id))?;
    let order = store.order(&current.order_id)?;
    let (_, _, currency) = parse_row(&current)?;
    // Rates are never changed once recorded: reading the one to lock before the
    // transaction is reading what it would read. Only the last approval needs it.
    let fx = fx_for(store, order.as_ref(), currency, current.amount_minor, now);
    let updated = store.update_refund(id, |row, approvals, held| -> Result<RefundUpdate, RefundError> {
        let (status, tier, _) = parse_row(row)?;
        if status != RefundStatus::PendingApproval {
            return Err(too_late(id, status, "approval", approvals));
        }
        if row.requested_by.eq_ignore_ascii_case(&operator.name) {
            return Err(RefundError::SelfApproval { operator: operator.name.clone(), id });
        }
        if approvals.iter().any(|a| a.decision == "approve" && a.operator.eq_ignore_ascii_case(&operator.name)) {
            return Err(RefundError::SameApprover { operator: operator.name.clone(), id });
        }
        let required = required_roles(tier, row.finance_required);
        let waiting = awaiting(&required, approvals);
        if let Some(mine) = approver_role(operator.role).filter(|r| required.contains(r) && !waiting.contains(r)) {
            if let Some(by) = approvals.iter().rev().find(|a| a.decision == "approve" && a.role == mine.as_str()) {
                return Err(RefundError::AlreadyDecided {
                    id,
                    what: format!("approved for {}", mine.as_str()),
                    by: by.operator.clone(),
                    at: crate::store::team::format_instant(by.at),
                });
            }
        }
        let role =
            approver_role(operator.role).filter(|r| waiting.contains(r)).ok_or_else(|| RefundError::WrongRole {
                operator: operator.name.clone(),
                role: operator.role.as_str(),
                id,
                awaiting: list_roles(&waiting),
            })?;
        let complete = waiting.len() == 1;
        let mut extra = serde_json::json!({ "role": role.as_str(), "comment": comment });
        if complete {
            debug_assert!(status.can_become(RefundStatus::Approved));
            let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
            extra["refundable_before_minor"] = serde_json::json!(refundable);
            if row.amount_minor != current.amount_minor {
                return Err(RefundError::Corrupt(format!("refund {id} changed its amount")));
            }
            let fx = fx?;
            if let Some(fx) = &fx {
                extra["fx_rate"] = serde_json::json!(fx.rate);
                extra["fx_source"] = serde_json::json!(fx.source);
            }
            lock_fx(row, fx, now);
            row.status = RefundStatus::Approved.as_str().into();
        }
        row.updated_at = now.timestamp();
        Ok(RefundUpdate {
            approval: Some(ApprovalRow {
                operator: operator.name.clone(),
                role: role.as_str().into(),
                decision: "approve".into(),
                comment: comment.clone(),
                at: now.timestamp(),
                tier: row.tier,
                amount_minor: row.amount_minor,
            }),
            audit: decision_audit(&operator.name, "refund.approve", row, status, extra),
        })
    })?;
    updated.ok_or(RefundError::UnknownRefund(id))?;
    let refund = show(store, id)?;
    notify_approved(store, &refund, &operator.name);
    Ok(refund)
}

/// Rejects a pending refund (it is cancelled); a comment is required.
pub fn reject(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    let comment = check_text("comment", comment, NOTE_CHARS_MAX)?;
    if comment.is_empty() {
        return Err(RefundError::CommentRequired);
    }
    store
        .update_refund(id, |row, approvals, _| -> Result<RefundUpdate, RefundError> {
            let (status, tier, _) = parse_row(row)?;
            if status != RefundStatus::PendingApproval {
                return Err(too_late(id, status, "rejection", approvals));
            }
            if row.requested_by.eq_ignore_ascii_case(&operator.name) {
                return Err(RefundError::SelfApproval { operator: operator.name.clone(), id });
            }
            let required = required_roles(tier, row.finance_required);
            let role = approver_role(operator.role).filter(|r| required.contains(r)).ok_or_else(|| {
                RefundError::WrongRole {
                    operator: operator.name.clone(),
                    role: operator.role.as_str(),
                    id,
                    awaiting: list_roles(&awaiting(&required, approvals)),
                }
            })?;
            debug_assert!(status.can_become(RefundStatus::Cancelled));
            row.status = RefundStatus::Cancelled.as_str().into();
            row.finished_at = Some(now.timestamp());
            row.updated_at = now.timestamp();
            Ok(RefundUpdate {
                approval: Some(ApprovalRow {
                    operator: operator.name.clone(),
                    role: role.as_str().into(),
                    decision: "reject".into(),
                    comment: comment.clone(),
                    at: now.timestamp(),
                    tier: row.tier,
                    amount_minor: row.amount_minor,
                }),
                audit: decision_audit(
                    &operator.name,
                    "refund.reject",
                    row,
                    status,
                    serde_json::json!({ "role": role.as_str(), "comment": comment }),
                ),
            })
        })?
        .ok_or(RefundError::UnknownRefund(id))?;
    show(store, id)
}

/// Cancels a refund before it is submitted: its requester, or an approver.
pub fn cancel(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let note = check_text("note", note.unwrap_or(""), NOTE_CHARS_MAX)?;
    store
        .update_refund(id, |row, _, _| -> Result<RefundUpdate, RefundError> {
            let (status, _, _) = parse_row(row)?;
            if !status.can_become(RefundStatus::Cancelled) {
                return Err(bad_state(id, status, "cancelling"));
            }
            let own = row.requested_by.eq_ignore_ascii_case(&operator.name);
            if !own && !operator.role.allows(Permission::ApproveRefund) {
                return Err(RefundError::NotYours { operator: operator.name.clone(), what: "cancel", id });
            }
            row.status = RefundStatus::Cancelled.as_str().into();
            row.finished_at = Some(now.timestamp());
            row.updated_at = now.timestamp();
            Ok(RefundUpdate {
                approval: None,
                audit: decision_audit(
                    &operator.name,
                    "refund.cancel",
                    row,
                    status,
                    serde_json::json!({ "note": note }),
                ),
            })
        })?
        .ok_or(RefundError::UnknownRefund(id))?;
    show(store, id)
}

/// Sends a failed (or PSP-rejected) refund again: back to `approved` with a
/// NEW idempotency key (the old attempt is final at the PSP; reusing its key
/// would only return the same failure). Finance, managers and admins.
pub fn retry(store: &mut Store, operator: &Operator, id: i64, now: DateTime<Utc>) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    store
        .update_refund(id, |row, _, held| -> Result<RefundUpdate, RefundError> {
            let (status, _, _) = parse_row(row)?;
            if !matches!(status, RefundStatus::Failed | RefundStatus::RejectedByPsp) {
                return Err(bad_state(id, status, "a retry"));
            }
            debug_assert!(status.can_become(RefundStatus::Approved));
            // A final attempt held nothing: meanwhile other refunds may have taken its share.
            let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
            let old_key = std::mem::replace(&mut row.idempotency_key, new_idempotency_key());
            let extra = serde_json::json!({
                "old_key": old_key, "new_key": row.idempotency_key,
                "old_psp_refund_id": row.psp_refund_id, "old_error": row.last_error,
                "refundable_before_minor": refundable,
            });
            row.status = RefundStatus::Approved.as_str().into();
            row.psp_refund_id = None;
            row.withdrawal_code = None;
            row.psp_status = None;
            row.last_error = None;
            row.finished_at = None;
            row.updated_at = now.timestamp();
            Ok(RefundUpdate {
                approval: None,
                audit: decision_audit(&operator.name, "refund.retry", row, status, extra),
            })
        })?
        .ok_or(RefundError::UnknownRefund(id))?;
    let refund = show(store, id)?;
    notify_approved(store, &refund, &operator.name);
    Ok(refund)
}

/// Flags a failed, rejected or unconfirmed refund for a manager's attention.
pub fn escalate(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let note = check_text("note", note, NOTE_CHARS_MAX)?;
    if note.is_empty() {
        return Err(RefundError::CommentRequired);
    }
    store
        .update_refund(id, |row, _, _| -> Result<RefundUpdate, RefundError> {
            let (status, _, _) = parse_row(row)?;
            if !matches!(status, RefundStatus::Failed | RefundStatus::RejectedByPsp | RefundStatus::Submitted) {
                return Err(bad_state(id, status, "escalation"));
            }
            row.escalated = true;
            row.updated_at = now.timestamp();
            Ok(RefundUpdate {
                approval: None,
                audit: decision_audit(
                    &operator.name,
                    "refund.escalate",
                    row,
                    status,
                    serde_json::json!({ "note": note }),
                ),
            })
        })?
        .ok_or(RefundError::UnknownRefund(id))?;
    show(store, id)
}

/// Changes the amount of a refund that is not submitted yet. Approval
/// restarts: the old refund is cancelled and a new one (new id, new
/// idempotency key, the tier of the new amount, no approvals) takes its
/// place, in one transaction that re-checks the refundable remainder. Whoever
/// amends becomes the requester (the maker), so cannot approve it.
pub fn amend(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    amount: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let settings = tiers::get(store)?;
    let (current, _) = store.refund(id)?.ok_or(RefundError::UnknownRefund(id))?;
    let order = store.order(&current.order_id)?;
    let (_, _, currency) = parse_row(&current)?;
    // The rate a tier-1 amount would lock (rates never change once recorded).
    let fx_quote = match money::parse_minor(amount, currency, NumberFormat::PLAIN) {
        Ok(minor) if minor > 0 => Some(fx_for(store, order.as_ref(), currency, minor, now)),
        Ok(_) | Err(_) => None,
    };
    let stored = store.replace_refund(id, |old, held| -> Result<_, RefundError> {
        let (status, _, currency) = parse_row(old)?;
        if !matches!(status, RefundStatus::Requested | RefundStatus::PendingApproval | RefundStatus::Approved) {
            return Err(bad_state(id, status, "amending"));
        }
        let own = old.requested_by.eq_ignore_ascii_case(&operator.name);
        if !own && !operator.role.allows(Permission::ApproveRefund) {
            return Err(RefundError::NotYours { operator: operator.name.clone(), what: "amend", id });
        }
        let minor = match money::parse_minor(amount, currency, NumberFormat::PLAIN) {
            Ok(minor) => minor,
            Err(MoneyError::Negative(_)) => return Err(RefundError::AmountNotPositive),
            Err(e) => return Err(RefundError::BadAmount(e)),
        };
        if minor <= 0 {
            return Err(RefundError::AmountNotPositive);
        }
        if wire_amount(minor, currency).is_err() {
            return Err(RefundError::Unquotable { amount: format_minor(minor, currency), currency });
        }
        invariant::ensure_covers(&old.payment_id, held, minor)?;
        let amount_tier = settings.tier_of(currency, minor);
        let tier = if old.finance_required { amount_tier.max(Tier::Two) } else { amount_tier };
        let required = required_roles(tier, old.finance_required);
        let fx = match (required.is_empty(), fx_quote) {
            (true, Some(quote)) => quote?,
            (true, None) => return Err(RefundError::Corrupt(format!("refund {id}: no rate quoted for {minor}"))),
            (false, _) => None,
        };
        let new_status = if required.is_empty() { RefundStatus::Approved } else { RefundStatus::PendingApproval };
        let mut new = old.clone();
        new.id = 0;
        new.amount_minor = minor;
        new.tier = tier.number();
        new.status = new_status.as_str().into();
        new.idempotency_key = new_idempotency_key();
        new.additional = true;
        new.requested_by = operator.name.clone();
        new.requested_at = now.timestamp();
        (new.fx_rate, new.fx_source, new.fx_locked_at, new.fx_order_currency, new.fx_order_amount_minor) =
            (None, None, None, None, None);
        lock_fx(&mut new, fx, now);
        let mut cancelled = old.clone();
        cancelled.status = RefundStatus::Cancelled.as_str().into();
        let cancel = decision_audit(
            &operator.name,
            "refund.amend",
            &cancelled,
            status,
            serde_json::json!({ "new_amount_minor": minor, "new_tier": tier.number() }),
        );
        let after = serde_json::json!({
            "payment": new.payment_id, "psp": new.psp, "order_id": new.order_id, "amount_minor": minor,
            "currency": new.currency, "tier": new.tier, "method": new.method, "reason": new.reason,
            "status": new.status, "amends": old.id, "idempotency_key": new.idempotency_key,
        });
        let request = audit_entry(&operator.name, "refund.request", "refund", "", &after.to_string());
        Ok((new, cancel, request))
    })?;
    let stored = stored.ok_or(RefundError::UnknownRefund(id))?;
    let refund = show(store, stored.id)?;
    notify_approved(store, &refund, &operator.name);
    Ok(refund)
}

/// One refund with its approvals (and, before approval, the rate approving would lock).
pub fn show(store: &Store, id: i64) -> Result<Refund, RefundError> {
    let (row, approvals) = store.refund(id)?.ok_or(RefundError::UnknownRefund(id))?;
    let order = store.order(&row.order_id)?;
    let currency =
        Currency::parse(&row.currency).map_err(|_| RefundError::Corrupt(format!("currency {}", row.currency)))?;
    // A missing or stale rate is not an error when only looking: the approval says so.
    let quote = fx_for(store, order.as_ref(), currency, row.amount_minor, Utc::now()).ok().flatten();
    view(row, approvals, quote, order.as_ref())
}

/// Refunds by id, optionally of one status; page with `after_id`.
pub fn list(
    store: &Store,
    status: Option<RefundStatus>,
    after_id: i64,
    limit: u32,
) -> Result<Vec<Refund>, RefundError> {
    page(store, &RefundQuery { status, ..RefundQuery::default() }, after_id, limit)
}

/// The refunds list's filters; `None` matches every refund.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundQuery {
    pub status: Option<RefundStatus>,
    pub method: Option<RefundMethod>,
    pub reason: Option<ReasonCode>,
    /// 1, 2 or 3.
    pub tier: Option<i64>,
    /// `dlocal`, …
    pub psp: Option<String>,
    /// The refunds of one order (its case file).
    #[serde(default)]
    pub order_id: Option<String>,
}

/// One page of refunds (by id, after `after_id`) matching every filter of `query`.
pub fn page(store: &Store, query: &RefundQuery, after_id: i64, limit: u32) -> Result<Vec<Refund>, RefundError> {
    if let Some(tier) = query.tier.filter(|t| Tier::from_number(*t).is_none()) {
        return Err(RefundError::BadSettings(format!("tier {tier} does not exist (expected 1, 2 or 3)")));
    }
    let filter = crate::store::RefundFilter {
        status: query.status.map(RefundStatus::as_str),
        method: query.method.map(RefundMethod::as_str),
        reason: query.reason.map(ReasonCode::as_str),
        tier: query.tier,
        psp: query.psp.as_deref().map(str::trim).filter(|p| !p.is_empty()),
        order_id: query.order_id.as_deref().map(str::trim).filter(|o| !o.is_empty()),
    };
    let rows = store.refunds_where(&filter, after_id, limit.clamp(1, REFUND_PAGE_ROWS_MAX))?;
    rows.into_iter()
        .map(|row| {
            let (_, approvals) = store.refund(row.id)?.ok_or(RefundError::UnknownRefund(row.id))?;
            let order = store.order(&row.order_id)?;
            view(row, approvals, None, order.as_ref())
        })
        .collect()
}

/// What a payment can still give back: paid − succeeded − in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refundable {
    pub paid_minor: i64,
    pub succeeded_minor: i64,
    pub in_flight_minor: i64,
    pub refundable_minor: i64,
    pub currency: Currency,
}

pub fn refundable(store: &Store, payment_id: &str, psp: Option<&str>) -> Result<Refundable, RefundError> {
    let payment = one_payment(store, payment_id, psp)?;
    let currency = Currency::parse(&payment.currency)
        .map_err(|_| RefundError::Corrupt(format!("payment currency {}", payment.currency)))?;
    let held = store.refund_totals(&payment.psp, &payment.payment_id)?;
    let status = crate::payments::PaymentStatus::parse(&payment.status)
        .ok_or_else(|| RefundError::Corrupt(format!("payment status {}", payment.status)))?;
    let ceiling = invariant::refund_ceiling_minor(status, payment.amount_minor);
    Ok(Refundable {
        paid_minor: payment.amount_minor,
        succeeded_minor: held.succeeded_minor,
        in_flight_minor: held.in_flight_minor,
        refundable_minor: (ceiling - held.succeeded_minor - held.in_flight_minor).max(0),
        currency,
    })
}
