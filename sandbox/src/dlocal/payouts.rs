//! `POST /payouts` and `GET /payouts/{id}` (cash pickup).

use super::*;

/// Digits of a withdrawal code.
pub(super) const WITHDRAWAL_CODE_DIGITS: usize = 10;

pub(super) fn payout_json(payout: &Payout) -> Vec<u8> {
    json_with_numeric_code(payout, payout.status_code)
}

pub(super) fn payout_response(payout: &Payout) -> Response {
    json_response(payout_json(payout))
}

/// Which fields a payout body must have, in the order they are reported.
const PAYOUT_REQUIRED: [&str; 6] = ["amount", "currency", "country", "payout_type", "order_id", "external_id"];
const BENEFICIARY_REQUIRED: [&str; 4] = ["name", "document_type", "document", "phone"];

pub(super) fn set_payout_status(payout: &mut Payout, status: DlocalPayoutStatus) {
    payout.status = status.as_str().into();
    payout.status_code = api::StatusCode(status.code());
    payout.status_detail = Some(
        match status {
            DlocalPayoutStatus::Pending => "The payout is waiting for the beneficiary.",
            DlocalPayoutStatus::Paid => "The beneficiary collected the cash.",
            DlocalPayoutStatus::Rejected => "The payout was rejected.",
            DlocalPayoutStatus::Cancelled => "The payout was cancelled.",
        }
        .into(),
    );
}

pub(super) async fn create_payout(State(sandbox): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let object = match let_in(&sandbox, &headers, &body) {
        Ok(object) => object,
        Err(refusal) => return refusal,
    };
    if let Err(refusal) = required(&object, &PAYOUT_REQUIRED, Some(("beneficiary", &BENEFICIARY_REQUIRED))) {
        return refusal;
    }
    let request: PayoutRequest = match typed(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let (wire_decimals, phone_prefix) = match market(&request.country, &request.currency) {
        Ok(market) => market,
        Err(refusal) => return refusal,
    };
    if request.payout_type != PAYOUT_TYPE_CASH_PICKUP {
        return refuse(
            StatusCode::BAD_REQUEST,
            api::ERROR_UNSUPPORTED_OPERATION,
            "Unsupported operation.",
            Some("payout_type"),
        );
    }
    let amount = request.amount.0;
    if amount <= Decimal::ZERO || amount.normalize().scale() > wire_decimals {
        return invalid("amount");
    }
    let phone = &request.beneficiary.phone;
    if !phone.starts_with(phone_prefix) || !phone[1..].chars().all(|c| c.is_ascii_digit()) {
        return invalid("beneficiary.phone");
    }
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(response) => return response,
    };
    let fingerprint = format!(
        "payout|{}|{}|{}|{}",
        request.order_id,
        amount.normalize(),
        request.currency,
        request.beneficiary.document
    );
    let rule = sandbox
        .scenario()
        .payouts
        .iter()
        .find(|r| matches(&r.order_prefix, &r.amount, &request.order_id, amount))
        .cloned();
    let mut replay: Option<(Payout, u64)> = None;
    let (payout, call, replayed) = {
        let mut ledger = sandbox.ledger();
        ledger.stats.payout_requests += 1;
        let (call, prior) = match submission_call(&mut ledger, sandbox.scenario(), key.as_deref(), &fingerprint) {
            Ok(call) => call,
            Err(refusal) => return refusal,
        };
        if let Some(prior) = prior {
            let Some(payout) = ledger.payouts.get(&prior).cloned() else { return key_reused() };
            ledger.stats.payout_replays += 1;
            replay = Some((payout, call));
        }
        if let Some(found) = replay.take() {
            (found.0, found.1, true)
        } else {
            if ledger.payouts.len() >= PAYMENTS_MAX {
                return ledger_full();
            }
            ledger.next_number += 1;
            let number = ledger.next_number;
            let mut payout = Payout {
                id: format!("PO-sbx-{number:08}"),
                amount: request.amount,
                currency: request.currency.clone(),
                country: request.country.clone(),
                status: String::new(),
                status_code: api::StatusCode(0),
                status_detail: None,
                withdrawal_code: Some(format!("{:0width$}", 7_100_000_000u64 + number, width = WITHDRAWAL_CODE_DIGITS)),
                order_id: Some(request.order_id.clone()),
                external_id: Some(request.external_id.clone()),
                created_date: Some(wire_date(Utc::now())),
                notification_url: request.notification_url.clone(),
            };
            set_payout_status(&mut payout, DlocalPayoutStatus::Pending);
            ledger.payouts.insert(payout.id.clone(), payout.clone());
            ledger.stats.payouts_created += 1;
            *ledger.stats.payouts_by_order.entry(request.order_id.clone()).or_default() += 1;
            if let Some(key) = key {
                ledger.keys.insert(key, KeyedCall { fingerprint, created_id: payout.id.clone() });
            }
            (payout, call, false)
        }
    };
    if replayed {
        return answer_after_faults(&sandbox, call, payout_response(&payout)).await;
    }
    // No rule: the buyer collects at once.
    let (outcome, after_ms, notify) = match &rule {
        Some(rule) => (rule.outcome, rule.after_ms, rule.notify.clone()),
        None => (PayoutOutcome::Paid, 0, NotifyRule::default()),
    };
    let final_status = match outcome {
        PayoutOutcome::Paid => Some(DlocalPayoutStatus::Paid),
        PayoutOutcome::Rejected => Some(DlocalPayoutStatus::Rejected),
        PayoutOutcome::Pending => None,
    };
    if let Some(status) = final_status {
        let (sandbox, id) = (sandbox.clone(), payout.id.clone());
        tokio::spawn(async move {
            tokio::time::sleep(ms(after_ms)).await;
            let updated = {
                let mut ledger = sandbox.ledger();
                let Some(payout) = ledger.payouts.get_mut(&id) else { return };
                set_payout_status(payout, status);
                payout.clone()
            };
            let url = updated.notification_url.clone().or_else(|| sandbox.config.notification_url.clone());
            post_signed(&sandbox, url, payout_json(&updated), &notify, 0);
        });
    }
    answer_after_faults(&sandbox, call, payout_response(&payout)).await
}

pub(super) async fn read_payout(State(sandbox): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Payout", |ledger| ledger.payouts.get(&id).map(payout_response))
}
