//! `POST /payouts` and `GET /payouts/{id}` (cash pickup).

use super::*;

/// Digits of a withdrawal code.
pub(super) const WITHDRAWAL_CODE_DIGITS: usize = 10;

pub(super) fn payout_json(payout: &Payout) -> Vec<u8> {
    let mut value = serde_json::to_value(payout).expect("a payout always serialises");
    value["status_code"] = serde_json::Value::from(payout.status_code.0);
    serde_json::to_vec(&value).expect("a JSON value always serialises")
}

pub(super) fn payout_response(payout: &Payout) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], payout_json(payout)).into_response()
}

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
    if let Err(refusal) = authenticate(&sandbox, &headers, &body) {
        return refusal.into_response();
    }
    let Ok(serde_json::Value::Object(object)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return invalid("body");
    };
    for field in ["amount", "currency", "country", "payout_type", "order_id", "external_id"] {
        if !present(&object, field) {
            return missing(field);
        }
    }
    let Some(serde_json::Value::Object(beneficiary)) = object.get("beneficiary") else { return missing("beneficiary") };
    for field in ["name", "document_type", "document", "phone"] {
        if !present(beneficiary, field) {
            return missing(&format!("beneficiary.{field}"));
        }
    }
    let request: PayoutRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return invalid("body"),
    };
    let (currency, wire_decimals, phone_prefix) = match request.country.as_str() {
        "CO" => ("COP", 0, "+57"),
        "PE" => ("PEN", 2, "+51"),
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                api::ERROR_COUNTRY_NOT_SUPPORTED,
                "Country not supported.",
                Some("country"),
            );
        }
    };
    if request.currency != currency {
        return refuse(
            StatusCode::BAD_REQUEST,
            api::ERROR_CURRENCY_NOT_ALLOWED,
            "Currency not allowed for this country.",
            Some("currency"),
        );
    }
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
        ledger.submit_calls += 1;
        let call = ledger.submit_calls;
        if call <= sandbox.scenario().submit_faults.unavailable_first {
            return unprocessed();
        }
        if let Some(key) = &key {
            if let Some(prior) = ledger.keys.get(key) {
                if prior.fingerprint != fingerprint {
                    ledger.stats.key_conflicts += 1;
                    return key_reused();
                }
                let Some(payout) = ledger.payouts.get(&prior.created_id).cloned() else { return key_reused() };
                ledger.stats.payout_replays += 1;
                replay = Some((payout, call));
            }
        }
        if let Some(found) = replay.take() {
            (found.0, found.1, true)
        } else {
            if ledger.payouts.len() >= PAYMENTS_MAX {
                return refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    api::ERROR_INTERNAL,
                    "Failed to process the request.",
                    None,
                );
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
    if let Err(refusal) = authenticate(&sandbox, &headers, b"") {
        return refusal.into_response();
    }
    match sandbox.ledger().payouts.get(&id) {
        Some(payout) => payout_response(payout),
        None => not_found("Payout"),
    }
}
