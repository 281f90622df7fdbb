//! What a refund request would be, before it is sent: the tier and who must
//! approve it, from the same checks `request` applies (the UI never holds the
//! tier table). Nothing is written.

use super::limits::{self, LimitView};
use super::{ApproverRole, RefundError, RefundMethod, Refundable, plan};
use crate::money::{Currency, format_minor};
use crate::operators::{Operator, Permission};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierPreview {
    pub amount_minor: i64,
    pub currency: Currency,
    /// Major units, for people.
    pub amount: String,
    /// 1, 2 or 3.
    pub tier: i64,
    /// Past the refund window: finance approves whatever the amount.
    pub finance_required: bool,
    /// Beyond the requester, in the order they are asked (empty for tier 1).
    pub required_approvals: Vec<ApproverRole>,
    /// Two different people must approve (tier 3).
    pub two_people: bool,
    /// What the payment can still give back now (the request re-checks it
    /// inside its own transaction).
    pub refundable: Refundable,
    /// The amount is more than `refundable`: the request would be refused.
    pub exceeds_refundable: bool,
    /// The PSP account's payout limits this refund is held to, if any.
    pub payout_limit: Option<LimitView>,
    /// Why the payout limits would refuse this request now (`refunds.limit_exceeded`).
    pub exceeds_limit: Option<String>,
}

/// The tier and approvers a refund of `amount` (major units) by `method`
/// would get. Refused with the request's own errors (unknown payment, amount
/// not positive, not paid, window passed for a `psp_refund`…).
pub fn preview(
    store: &Store,
    operator: &Operator,
    payment_id: &str,
    psp: Option<&str>,
    amount: &str,
    method: &str,
    now: DateTime<Utc>,
) -> Result<TierPreview, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let method = RefundMethod::parse(method).ok_or_else(|| RefundError::UnknownMethod(method.trim().into()))?;
    let planned = plan(store, payment_id, psp, None, amount, method, now)?;
    let refundable = super::refundable(store, &planned.payment.payment_id, Some(&planned.payment.psp))?;
    let (payout_limit, exceeds_limit) =
        limits::preview(store, &planned.payment.psp, method, planned.currency, planned.amount_minor, now)?;
    Ok(TierPreview {
        amount_minor: planned.amount_minor,
        currency: planned.currency,
        amount: format_minor(planned.amount_minor, planned.currency),
        tier: planned.tier.number(),
        finance_required: planned.past_window,
        two_people: planned.required.len() >= 2,
        required_approvals: planned.required,
        exceeds_refundable: planned.amount_minor > refundable.refundable_minor,
        refundable,
        payout_limit,
        exceeds_limit,
    })
}
