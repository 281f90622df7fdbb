//! Idempotency keys, the scripted submission faults, and the submission stats
//! (`GET /sandbox/stats`) shared by refunds and payouts.

use super::*;

/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 100;

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Response> {
    use voucherdesk::psp::dlocal::client::HEADER_IDEMPOTENCY_KEY;
    match headers.get(HEADER_IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(value) => {
            let key = value.to_str().unwrap_or("").trim();
            let printable = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if key.is_empty() || key.len() > IDEMPOTENCY_KEY_CHARS_MAX || !printable {
                return Err(invalid(HEADER_IDEMPOTENCY_KEY));
            }
            Ok(Some(key.to_string()))
        }
    }
}

/// Counts a creation call and applies `submit_faults.unavailable_first`; then,
/// when `key` was used before, the id of what it created (a key reused for
/// another request is refused and counted).
pub(super) fn submission_call(
    ledger: &mut Ledger,
    scenario: &DlocalScenario,
    key: Option<&str>,
    fingerprint: &str,
) -> Result<(u64, Option<String>), Response> {
    ledger.submit_calls += 1;
    let call = ledger.submit_calls;
    if call <= scenario.submit_faults.unavailable_first {
        return Err(unprocessed());
    }
    let Some(prior) = key.and_then(|key| ledger.keys.get(key)) else { return Ok((call, None)) };
    if prior.fingerprint != fingerprint {
        ledger.stats.key_conflicts += 1;
        return Err(key_reused());
    }
    Ok((call, Some(prior.created_id.clone())))
}

pub(super) fn key_reused() -> Response {
    refuse(
        StatusCode::CONFLICT,
        api::ERROR_INVALID_REQUEST,
        "Idempotency key already used for a different request.",
        Some(voucherdesk::psp::dlocal::client::HEADER_IDEMPOTENCY_KEY),
    )
}

pub(super) fn unprocessed() -> Response {
    refuse(StatusCode::SERVICE_UNAVAILABLE, api::ERROR_INTERNAL, "Failed to process the request.", None)
}

/// `submit_faults`: the work is done; the answer is lost or late.
pub(super) async fn answer_after_faults(sandbox: &Sandbox, call: u64, answer: Response) -> Response {
    let faults = &sandbox.scenario().submit_faults;
    if call <= faults.lose_answer_first {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, api::ERROR_INTERNAL, "Failed to process the request.", None);
    }
    if call <= faults.hold_answer_first {
        tokio::time::sleep(ms(faults.hold_ms)).await;
    }
    answer
}

pub(super) async fn read_stats(State(sandbox): State<Shared>) -> Response {
    axum::Json(sandbox.ledger().stats.clone()).into_response()
}
