//! `POST /refunds` and `GET /refunds/{id}/status`.

use super::*;

pub(super) fn refund_json(refund: &Refund) -> Vec<u8> {
    json_with_numeric_code(refund, refund.status_code)
}

pub(super) fn refund_response(refund: &Refund) -> Response {
    json_response(refund_json(refund))
}

pub(super) fn refund_detail(status: DlocalRefundStatus) -> &'static str {
    match status {
        DlocalRefundStatus::Pending => "The refund is pending.",
        DlocalRefundStatus::Success => "The refund was paid.",
        DlocalRefundStatus::Rejected => "The refund was rejected.",
        DlocalRefundStatus::Cancelled => "The refund was cancelled.",
    }
}

pub(super) fn set_refund_status(refund: &mut Refund, status: DlocalRefundStatus) {
    refund.status = status.as_str().into();
    refund.status_code = api::StatusCode(status.code());
    refund.status_detail = Some(refund_detail(status).into());
    refund.amount_refunded = (status == DlocalRefundStatus::Success).then_some(refund.amount);
}

pub(super) async fn create_refund(State(sandbox): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let object = match let_in(&sandbox, &headers, &body) {
        Ok(object) => object,
        Err(refusal) => return refusal,
    };
    if let Err(refusal) = required(&object, &["payment_id"], None) {
        return refusal;
    }
    let request: api::RefundRequest = match typed(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(response) => return response,
    };
    let fingerprint = format!(
        "refund|{}|{}|{}",
        request.payment_id,
        request.amount.map(|a| a.0.normalize().to_string()).unwrap_or_default(),
        request.currency.as_deref().unwrap_or("")
    );
    let scenario = sandbox.scenario();
    let mut return_replay: Option<(Refund, u64)> = None;
    let (refund, rule, call) = {
        let mut ledger = sandbox.ledger();
        ledger.stats.refund_requests += 1;
        let (call, prior) = match submission_call(&mut ledger, scenario, key.as_deref(), &fingerprint) {
            Ok(call) => call,
            Err(refusal) => return refusal,
        };
        if let Some(prior) = prior {
            let Some(refund) = ledger.refunds.get(&prior).cloned() else { return key_reused() };
            ledger.stats.refund_replays += 1;
            // The refund as it is now; nothing new is scheduled.
            return_replay = Some((refund, call));
        }
        if let Some(replay) = return_replay {
            let (refund, call) = replay;
            (refund, None, call)
        } else {
            let Some(payment) = ledger.payments.get(&request.payment_id).cloned() else { return not_found("Payment") };
            if payment.status != DlocalPaymentStatus::Paid.as_str() {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    api::ERROR_INVALID_TRANSACTION_STATUS,
                    "Invalid transaction status.",
                    Some("payment_id"),
                );
            }
            if request.currency.as_ref().is_some_and(|c| *c != payment.currency) {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    api::ERROR_CURRENCY_NOT_ALLOWED,
                    "Currency not allowed.",
                    Some("currency"),
                );
            }
            if ledger.refunds.len() >= PAYMENTS_MAX {
                return ledger_full();
            }
            // Pending and paid refunds hold their amount; rejected and cancelled ones free it.
            let held: Decimal = ledger
                .refunds
                .values()
                .filter(|r| r.payment_id == payment.id)
                .filter(|r| matches!(r.status.as_str(), "PENDING" | "SUCCESS"))
                .map(|r| r.amount.0)
                .sum();
            let remaining = payment.amount.0 - held;
            let amount = request.amount.map_or(remaining, |a| a.0);
            if amount <= Decimal::ZERO {
                return invalid("amount");
            }
            if amount > remaining {
                return refuse(StatusCode::BAD_REQUEST, api::ERROR_AMOUNT_EXCEEDED, "Amount exceeded.", Some("amount"));
            }
            let order_id = payment.order_id.clone().unwrap_or_default();
            let rule = scenario.refunds.iter().find(|r| r.matches(&order_id, amount)).cloned();
            ledger.next_number += 1;
            let mut refund = Refund {
                id: format!("REF-sbx-{:08}", ledger.next_number),
                payment_id: payment.id.clone(),
                amount: DlocalAmount(amount),
                amount_refunded: None,
                currency: payment.currency.clone(),
                status: String::new(),
                status_code: api::StatusCode(0),
                status_detail: None,
                created_date: Some(wire_date(Utc::now())),
                order_id: payment.order_id.clone(),
                notification_url: request.notification_url.clone(),
            };
            let immediate = match rule.as_ref() {
                None => DlocalRefundStatus::Success,
                Some(RefundRule { outcome: RefundOutcome::Pending, .. }) => DlocalRefundStatus::Pending,
                Some(RefundRule { after_ms, .. }) if *after_ms > 0 => DlocalRefundStatus::Pending,
                Some(RefundRule { outcome: RefundOutcome::Success, .. }) => DlocalRefundStatus::Success,
                Some(RefundRule { outcome: RefundOutcome::Rejected, .. }) => DlocalRefundStatus::Rejected,
            };
            set_refund_status(&mut refund, immediate);
            ledger.refunds.insert(refund.id.clone(), refund.clone());
            ledger.stats.refunds_created += 1;
            *ledger.stats.refunds_by_payment.entry(refund.payment_id.clone()).or_default() += 1;
            if let Some(key) = key {
                ledger.keys.insert(key, KeyedCall { fingerprint, created_id: refund.id.clone() });
            }
            (refund, rule, call)
        }
    };
    if let Some(rule) = rule.filter(|r| r.after_ms > 0 && r.outcome != RefundOutcome::Pending) {
        let (sandbox, id) = (sandbox.clone(), refund.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(ms(rule.after_ms)).await;
            let status = match rule.outcome {
                RefundOutcome::Success => DlocalRefundStatus::Success,
                RefundOutcome::Rejected => DlocalRefundStatus::Rejected,
                RefundOutcome::Pending => DlocalRefundStatus::Pending,
            };
            let updated = {
                let mut ledger = sandbox.ledger();
                let Some(refund) = ledger.refunds.get_mut(&id) else { return };
                set_refund_status(refund, status);
                refund.clone()
            };
            let url = updated.notification_url.clone().or_else(|| sandbox.config.notification_url.clone());
            post_signed(&sandbox, url, refund_json(&updated), &rule.notify, 0);
        });
    }
    answer_after_faults(&sandbox, call, refund_response(&refund)).await
}

pub(super) async fn read_refund(State(sandbox): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Refund", |ledger| ledger.refunds.get(&id).map(refund_response))
}
