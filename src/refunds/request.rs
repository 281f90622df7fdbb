//! Asking for a refund: the payment, the payee's details and the first record.

use super::*;

pub(super) fn one_payment(
    store: &Store,
    payment_id: &str,
    psp: Option<&str>,
) -> Result<RefundablePayment, RefundError> {
    let id = payment_id.trim();
    let mut found = store.refundable_payments(id, psp.map(str::trim).filter(|p| !p.is_empty()))?;
    match found.len() {
        0 => Err(RefundError::UnknownPayment(id.to_string())),
        1 => Ok(found.remove(0)),
        _ => Err(RefundError::AmbiguousPayment(id.to_string())),
    }
}

pub(super) fn check_text(what: &'static str, text: &str, max: usize) -> Result<String, RefundError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(RefundError::TooLong(what));
    }
    Ok(text.to_string())
}

pub(super) fn bank_details(b: &BeneficiaryInput) -> Result<BeneficiaryInput, RefundError> {
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
    super::rails::check_method(&payment.psp, method)?;
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
    if !super::rails::quotable(&payment.psp, method, amount_minor, currency) {
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
        RefundMethod::PspRefund | RefundMethod::BankTransfer => {
            RefundDetails::BankTransfer { beneficiary: bank_details(&input.beneficiary)?, transfer: None }
        }
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
    let payout_limits = super::limits::applying(store, &payment.psp, method, currency)?;
    let stored = store.insert_refund(&row, |held, row: &mut RefundRow| -> Result<_, RefundError> {
        let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
        if let Some(applied) = &payout_limits {
            let day = super::limits::PayoutDay::Requested;
            super::limits::ensure_within(applied, &held.payouts, row.amount_minor, day, row.requested_at)?;
        }
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
