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
//! - `limits`: what a PSP account may pay out per payout and per market day;
//! - `submission`: sending to the refund's rail (`psp::RefundRail`) with the
//!   stored idempotency key, and following; `rails`: which rail pays what;
//! - `transfer`: the manual `bank_transfer` rail, recorded by finance with its proof;
//! - `request` and `lifecycle`: the operations (request; approve, reject,
//!   cancel, retry, escalate, amend); `error`: why one is refused.

pub mod bulk;
mod error;
pub mod export;
pub mod invariant;
pub mod kyc;
mod lifecycle;
pub mod limits;
pub mod preview;
mod rails;
pub mod receipt;
mod request;
pub mod submission;
pub mod tiers;
pub mod transfer;

pub use crate::model::refund::{ApproverRole, ReasonCode, RefundMethod, RefundStatus, new_idempotency_key};
pub use kyc::{KycError, PayeeCheck, PayeeInput, VerifiedPayee};
pub use tiers::{RefundSettings, Tier, TierLimits};

use crate::audit::audit_entry;
use crate::market::Country;
use crate::money::{self, Currency, MoneyError, NumberFormat, format_minor};
use crate::operators::{Operator, OperatorError, Permission, Role};
use crate::store::{ApprovalRow, OrderRecord, RefundRow, RefundUpdate, RefundablePayment, Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
pub use error::*;
pub use lifecycle::*;
pub use request::*;
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

/// Where a `psp_refund` of a ticket payment is paid (bank transfer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Beneficiary"))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RefundRequest"))]
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
    #[serde(default)]
    pub beneficiary: BeneficiaryInput,
    #[serde(default)]
    pub payee: PayeeInput,
    /// Another partial refund while one of the same payment awaits approval.
    #[serde(default)]
    pub additional: bool,
}

/// What the method stores about who gets the money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundDetails {
    /// Paid into the beneficiary's account: by the PSP (`psp_refund`) or by
    /// finance (`bank_transfer`, with the transfer once recorded).
    BankTransfer {
        beneficiary: BeneficiaryInput,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        transfer: Option<RecordedTransfer>,
    },
    CashPickup {
        payee: VerifiedPayee,
    },
}

/// A bank transfer finance made and recorded: the bank's reference and date,
/// and the proof file kept beside the receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordedTransfer {
    pub reference: String,
    pub date: NaiveDate,
    /// The proof's file name in the receipts folder.
    pub proof_file: String,
    pub proof_sha256: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub proof_bytes: u64,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// An exchange rate locked at approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Approval"))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
        RefundDetails::BankTransfer { beneficiary, .. } => (&beneficiary.name, &beneficiary.document),
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
/// Business days a buyer waits for finance's own bank transfer once approved.
pub const MANUAL_TRANSFER_WAIT_BUSINESS_DAYS_MAX: u32 = 3;

/// The wait the buyer is told about when the refund is approved.
pub fn expected_wait_business_days(method: RefundMethod) -> u32 {
    match method {
        RefundMethod::PspRefund => BANK_REFUND_WAIT_BUSINESS_DAYS_MAX,
        RefundMethod::CashWithdrawal => CASH_PAYOUT_WAIT_BUSINESS_DAYS_MAX,
        RefundMethod::BankTransfer => MANUAL_TRANSFER_WAIT_BUSINESS_DAYS_MAX,
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
