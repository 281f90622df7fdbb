//! The sandbox's dLocal: `POST /payments`, `GET /payments/{id}`,
//! `GET /payments/{id}/status`, `GET /orders/{order_id}`, `POST /refunds`,
//! `GET /refunds/{id}/status`, `POST /payouts`, `GET /payouts/{id}` (cash
//! pickup), `GET /chargebacks/{id}`, with dLocal's checks (keys, version, signature,
//! body) and error bodies, in-memory state, timed transitions and signed
//! notifications. See docs/SANDBOX.md.

mod payouts;
mod refunds;
mod scenario;
mod submission;

use payouts::*;
use refunds::*;
pub use scenario::*;
pub use submission::IDEMPOTENCY_KEY_CHARS_MAX;
use submission::*;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

use super::SandboxConfig;
use super::notifier::{Delivery, Notifier};
use voucherdesk::psp::dlocal::api::{self, Chargeback, DlocalAmount, Payment, Refund, Ticket};
use voucherdesk::psp::dlocal::client::{HEADER_DATE, HEADER_LOGIN, HEADER_TRANS_KEY, HEADER_VERSION, x_date};
use voucherdesk::psp::dlocal::payouts::{DlocalPayoutStatus, PAYOUT_TYPE_CASH_PICKUP, Payout, PayoutRequest};
use voucherdesk::psp::dlocal::signature;
use voucherdesk::psp::dlocal::wire::{
    DlocalCashMethod, DlocalChargebackStatus, DlocalPaymentStatus, DlocalRefundStatus,
};

/// A ticket lives this long unless a rule says otherwise (dLocal: 4–5 days; 48 h here).
pub const TICKET_LIFETIME_MS_DEFAULT: u64 = 48 * 60 * 60 * 1000;
/// The sandbox keeps at most this many payments (and as many refunds) in memory.
pub const PAYMENTS_MAX: usize = 100_000;
/// `copies` above this is refused when the scenario is read.
pub const NOTIFY_COPIES_MAX: u32 = 5;
/// A stale PENDING notification arrives this long after the PAID one.
pub const STALE_PENDING_GAP_MS: u64 = 300;
/// Copies of one notification leave this far apart, in order.
pub const COPY_GAP_MS: u64 = 50;
/// Longest `after_ms` / `expires_after_ms` / `delay_ms` a scenario may ask (30 days).
pub const SCHEDULE_MS_MAX: u64 = 30 * 24 * 60 * 60 * 1000;
/// A chargeback rule lists at most this many statuses.
pub const CHARGEBACK_STATUSES_MAX: usize = 10;

#[derive(Default)]
struct Ledger {
    payments: HashMap<String, Payment>,
    /// order_id → the first payment made for it.
    orders: HashMap<String, String>,
    refunds: HashMap<String, Refund>,
    next_number: u64,
    payouts: HashMap<String, Payout>,
    chargebacks: HashMap<String, Chargeback>,
    /// Idempotency key → what it was first used for and what it created.
    keys: HashMap<String, KeyedCall>,
    stats: SubmitStats,
    /// Creation calls (refunds and payouts), for `submit_faults`.
    submit_calls: u64,
}

struct KeyedCall {
    /// The request's money-relevant fields: a key reused for another refund is refused.
    fingerprint: String,
    created_id: String,
}

/// What the sandbox counts about refund and payout submissions (`GET /sandbox/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SubmitStats {
    /// `POST /refunds` calls that got past authentication and the body checks.
    pub refund_requests: u64,
    /// Distinct refunds created.
    pub refunds_created: u64,
    /// Calls answered with the refund an earlier call with the same key created.
    pub refund_replays: u64,
    pub payout_requests: u64,
    pub payouts_created: u64,
    pub payout_replays: u64,
    /// Distinct refunds created per payment id.
    pub refunds_by_payment: std::collections::BTreeMap<String, u64>,
    /// Distinct payouts created per order id.
    pub payouts_by_order: std::collections::BTreeMap<String, u64>,
    /// Calls that reused a key for a different request (answered 409).
    pub key_conflicts: u64,
}

struct Sandbox {
    config: Arc<SandboxConfig>,
    notifier: Notifier,
    ledger: Mutex<Ledger>,
}

type Shared = Arc<Sandbox>;

impl Sandbox {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn scenario(&self) -> &DlocalScenario {
        &self.config.scenario.dlocal
    }
}

pub fn router(config: Arc<SandboxConfig>, notifier: Notifier) -> axum::Router {
    routers(config, notifier).0
}

/// dLocal's routes, and the sandbox's own control routes (`GET /sandbox/stats`),
/// which faults must not touch.
pub fn routers(config: Arc<SandboxConfig>, notifier: Notifier) -> (axum::Router, axum::Router) {
    let sandbox = Arc::new(Sandbox { config, notifier, ledger: Mutex::new(Ledger::default()) });
    preload(&sandbox);
    let control = axum::Router::new().route("/sandbox/stats", get(read_stats)).with_state(sandbox.clone());
    let routes = axum::Router::new()
        .route("/payments", post(create_payment))
        .route("/payments/{id}", get(read_payment))
        .route("/payments/{id}/status", get(read_payment_status))
        .route("/payments/{id}/cancel", post(cancel_payment))
        .route("/orders/{order_id}", get(read_order))
        .route("/refunds", post(create_refund))
        .route("/refunds/{id}/status", get(read_refund))
        .route("/payouts", post(create_payout))
        .route("/payouts/{id}", get(read_payout))
        .route("/chargebacks/{id}", get(read_chargeback))
        .with_state(sandbox);
    (routes, control)
}

/// dLocal's error answer.
fn refuse(status: StatusCode, code: i64, message: &str, param: Option<&str>) -> Response {
    let body = api::ErrorBody { code, message: message.to_string(), param: param.map(str::to_string) };
    (status, axum::Json(body)).into_response()
}

fn missing(param: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, api::ERROR_MISSING_PARAMETER, &format!("Missing parameter. [{param}]"), Some(param))
}

fn invalid(param: &str) -> Response {
    refuse(StatusCode::BAD_REQUEST, api::ERROR_INVALID_REQUEST, "Invalid request.", Some(param))
}

fn not_found(what: &str) -> Response {
    refuse(StatusCode::NOT_FOUND, api::ERROR_PAYMENT_NOT_FOUND, &format!("{what} not found."), None)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn same(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())))
}

/// Keys, then the signature over `X-Login + X-Date + body`, then the version.
/// A failure is dLocal's 403 / 3001 "Invalid Credentials."; `param` names
/// the header at fault (a sandbox courtesy: dLocal does not say).
fn authenticate(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let account = &sandbox.config.dlocal;
    let denied = |param| Refusal {
        status: StatusCode::FORBIDDEN,
        code: api::ERROR_INVALID_CREDENTIALS,
        message: "Invalid Credentials.",
        param,
    };
    if !same(header(headers, HEADER_LOGIN), &account.login) {
        return Err(denied(HEADER_LOGIN));
    }
    if !same(header(headers, HEADER_TRANS_KEY), &account.trans_key) {
        return Err(denied(HEADER_TRANS_KEY));
    }
    let date = header(headers, HEADER_DATE).ok_or_else(|| denied(HEADER_DATE))?;
    let authorization = header(headers, "Authorization").ok_or_else(|| denied("Authorization"))?;
    signature::verify(&account.secret, &account.login, date, body, authorization)
        .map_err(|_| denied("Authorization"))?;
    if header(headers, HEADER_VERSION) != Some(api::API_VERSION) {
        return Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            code: api::ERROR_INVALID_API_VERSION,
            message: "Invalid API Version.",
            param: HEADER_VERSION,
        });
    }
    Ok(())
}

/// Why a request was not let in; becomes dLocal's error answer.
struct Refusal {
    status: StatusCode,
    code: i64,
    message: &'static str,
    param: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.status, self.code, self.message, Some(self.param))
    }
}

/// dLocal's dates: `2026-03-05T03:30:00.000+0000`.
fn wire_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn ms(duration_ms: u64) -> Duration {
    Duration::from_millis(duration_ms)
}

/// Which fields a create-payment body must have, in the order dLocal reports them.
const PAYMENT_REQUIRED: [&str; 6] =
    ["amount", "currency", "country", "payment_method_id", "payment_method_flow", "order_id"];
const PAYER_REQUIRED: [&str; 3] = ["name", "email", "document"];

fn present(object: &serde_json::Map<String, serde_json::Value>, key: &str) -> bool {
    object.get(key).is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// Authenticates a creation call and reads its body as a JSON object.
fn let_in(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, Response> {
    authenticate(sandbox, headers, body).map_err(IntoResponse::into_response)?;
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        _ => Err(invalid("body")),
    }
}

/// The first missing field, in the order given: the top-level `fields`, then
/// the nested object's (reported as `nested.field`).
fn required(
    object: &serde_json::Map<String, serde_json::Value>,
    fields: &[&str],
    nested: Option<(&str, &[&str])>,
) -> Result<(), Response> {
    if let Some(field) = fields.iter().find(|f| !present(object, f)) {
        return Err(missing(field));
    }
    let Some((name, nested_fields)) = nested else { return Ok(()) };
    let Some(serde_json::Value::Object(inner)) = object.get(name) else { return Err(missing(name)) };
    match nested_fields.iter().find(|f| !present(inner, f)) {
        Some(field) => Err(missing(&format!("{name}.{field}"))),
        None => Ok(()),
    }
}

/// The body as dLocal's request type.
fn typed<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|_| invalid("body"))
}

/// A cash country's (decimals on the wire, phone prefix), once the currency is its own.
fn market(country: &str, currency: &str) -> Result<(u32, &'static str), Response> {
    let (own, wire_decimals, phone_prefix) = match country {
        "CO" => ("COP", 0, "+57"),
        "PE" => ("PEN", 2, "+51"),
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                api::ERROR_COUNTRY_NOT_SUPPORTED,
                "Country not supported.",
                Some("country"),
            ));
        }
    };
    if currency != own {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            api::ERROR_CURRENCY_NOT_ALLOWED,
            "Currency not allowed for this country.",
            Some("currency"),
        ));
    }
    Ok((wire_decimals, phone_prefix))
}

/// The in-memory ledger holds [`PAYMENTS_MAX`] of a kind already.
fn ledger_full() -> Response {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, api::ERROR_INTERNAL, "Failed to process the request.", None)
}

/// A read route: authenticated (no body), then what `find` answers from the
/// ledger, or `what` not found.
fn answer_read(
    sandbox: &Sandbox,
    headers: &HeaderMap,
    what: &str,
    find: impl FnOnce(&Ledger) -> Option<Response>,
) -> Response {
    if let Err(refusal) = authenticate(sandbox, headers, b"") {
        return refusal.into_response();
    }
    find(&sandbox.ledger()).unwrap_or_else(|| not_found(what))
}

/// A status object as JSON with `status_code` written as a number, as dLocal's
/// refund and payout examples do (payments write a string): clients must read both.
fn json_with_numeric_code<T: serde::Serialize>(object: &T, code: api::StatusCode) -> Vec<u8> {
    let mut value = serde_json::to_value(object).expect("a wire object always serialises");
    value["status_code"] = serde_json::Value::from(code.0);
    serde_json::to_vec(&value).expect("a JSON value always serialises")
}

fn json_response(body: Vec<u8>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn create_payment(State(sandbox): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let object = match let_in(&sandbox, &headers, &body) {
        Ok(object) => object,
        Err(refusal) => return refusal,
    };
    if let Err(refusal) = required(&object, &PAYMENT_REQUIRED, Some(("payer", &PAYER_REQUIRED))) {
        return refusal;
    }
    let request: api::CreatePaymentRequest = match typed(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let (wire_decimals, _) = match market(&request.country, &request.currency) {
        Ok(market) => market,
        Err(refusal) => return refusal,
    };
    let method = match (request.country.as_str(), DlocalCashMethod::parse(&request.payment_method_id)) {
        ("CO", Some(DlocalCashMethod::Efecty)) => DlocalCashMethod::Efecty,
        ("PE", Some(DlocalCashMethod::PagoEfectivo)) => DlocalCashMethod::PagoEfectivo,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                api::ERROR_METHOD_NOT_AVAILABLE,
                "Method not available.",
                Some("payment_method_id"),
            );
        }
    };
    if request.payment_method_flow != api::FLOW_DIRECT {
        return refuse(
            StatusCode::BAD_REQUEST,
            api::ERROR_UNSUPPORTED_OPERATION,
            "Unsupported operation.",
            Some("payment_method_flow"),
        );
    }
    let amount = request.amount.0;
    if amount <= Decimal::ZERO || amount.normalize().scale() > wire_decimals {
        return invalid("amount");
    }

    let now = Utc::now();
    let scenario = sandbox.scenario();
    let rule = scenario.payments.iter().find(|r| r.matches(&request.order_id, amount)).cloned();
    let chargeback = scenario.chargebacks.iter().find(|r| r.matches(&request.order_id, amount)).cloned();
    let lifetime_ms = rule.as_ref().and_then(|r| r.expires_after_ms).unwrap_or(scenario.ticket_lifetime_ms);
    let payment = {
        let mut ledger = sandbox.ledger();
        if ledger.orders.contains_key(&request.order_id) {
            return refuse(
                StatusCode::BAD_REQUEST,
                api::ERROR_ORDER_ID_DUPLICATED,
                "Order ID is duplicated.",
                Some("order_id"),
            );
        }
        if ledger.payments.len() >= PAYMENTS_MAX {
            return ledger_full();
        }
        ledger.next_number += 1;
        let number = ledger.next_number;
        let (format, provider) = match method {
            DlocalCashMethod::Efecty => ("CODE_128", "Efecty"),
            DlocalCashMethod::PagoEfectivo => ("ITF", "PagoEfectivo"),
        };
        let payment = Payment {
            id: format!("D-4-sbx-{number:08}"),
            amount: request.amount,
            currency: request.currency.clone(),
            country: request.country.clone(),
            payment_method_id: method.id().to_string(),
            payment_method_type: Some("TICKET".into()),
            payment_method_flow: Some(api::FLOW_DIRECT.into()),
            created_date: Some(wire_date(now)),
            approved_date: None,
            status: DlocalPaymentStatus::Pending.as_str().into(),
            status_code: api::StatusCode(api::CODE_PENDING),
            status_detail: Some("The payment is pending.".into()),
            order_id: Some(request.order_id.clone()),
            notification_url: request.notification_url.clone(),
            ticket: Some(Ticket {
                ticket_type: Some("CUSTOM".into()),
                number: Some(format!("{:010}", 4_400_000_000_u64 + number)),
                // Even length: ITF encodes digits in pairs.
                barcode: Some(format!("{:020}", 41_577_099_980_000_000_000_u128 + u128::from(number))),
                format: Some(format.into()),
                id: None,
                expiration_date: Some(wire_date(now + chrono::Duration::milliseconds(lifetime_ms as i64))),
                company_name: Some("VoucherDesk Sandbox".into()),
                provider_name: Some(provider.into()),
                image_url: None,
            }),
        };
        ledger.orders.insert(request.order_id.clone(), payment.id.clone());
        ledger.payments.insert(payment.id.clone(), payment.clone());
        payment
    };
    schedule_payment(&sandbox, &payment, rule, chargeback, lifetime_ms);
    axum::Json(payment).into_response()
}

/// Sets the timers of a new payment's life, as its rule (or the default) says.
fn schedule_payment(
    sandbox: &Shared,
    payment: &Payment,
    rule: Option<PaymentRule>,
    chargeback: Option<ChargebackRule>,
    lifetime_ms: u64,
) {
    let notify = rule.as_ref().map(|r| r.notify.clone()).unwrap_or_default();
    let outcome = rule.as_ref().map(|r| r.outcome).unwrap_or(PaymentOutcome::NeverPaid);
    let after_ms = rule.as_ref().map_or(0, |r| r.after_ms);
    let pending_body = serde_json::to_vec(payment).expect("a payment always serialises");
    let id = payment.id.clone();
    let expire = {
        let (sandbox, id, notify) = (sandbox.clone(), id.clone(), notify.clone());
        async move {
            tokio::time::sleep(ms(lifetime_ms)).await;
            transition(&sandbox, &id, &notify, |p| {
                (p.status == DlocalPaymentStatus::Pending.as_str()).then(|| {
                    // dLocal's code table has no EXPIRED; the sandbox uses the cancelled family.
                    set_status(p, DlocalPaymentStatus::Expired, api::CODE_CANCELLED, "The payment expired.")
                })
            });
        }
    };
    tokio::spawn(expire);
    let pay_at_ms = match outcome {
        PaymentOutcome::NeverPaid => return,
        PaymentOutcome::Paid | PaymentOutcome::PaidTwice => after_ms,
        PaymentOutcome::PaidAfterExpiry => after_ms.max(lifetime_ms + 1),
    };
    let sandbox = sandbox.clone();
    let second_after_ms = rule.as_ref().map_or(0, |r| r.second_after_ms);
    tokio::spawn(async move {
        tokio::time::sleep(ms(pay_at_ms)).await;
        let paid = transition(&sandbox, &id, &notify, |p| {
            let payable = match outcome {
                PaymentOutcome::PaidAfterExpiry => p.status != DlocalPaymentStatus::Paid.as_str(),
                _ => p.status == DlocalPaymentStatus::Pending.as_str(),
            };
            payable.then(|| {
                p.approved_date = Some(wire_date(Utc::now()));
                set_status(p, DlocalPaymentStatus::Paid, api::CODE_PAID, "The payment was paid.")
            })
        });
        let Some(paid) = paid else { return };
        if let Some(chargeback) = chargeback {
            schedule_chargeback(&sandbox, &paid, chargeback);
        }
        if notify.stale_pending_after_paid {
            deliver(&sandbox, &paid, pending_body, &notify, STALE_PENDING_GAP_MS);
        }
        if outcome == PaymentOutcome::PaidTwice {
            tokio::time::sleep(ms(second_after_ms)).await;
            duplicate(&sandbox, &paid, &notify);
        }
    });
}

fn set_status(payment: &mut Payment, status: DlocalPaymentStatus, code: u16, detail: &str) {
    payment.status = status.as_str().into();
    payment.status_code = api::StatusCode(code);
    payment.status_detail = Some(detail.into());
}

/// Applies `change` to the stored payment; when it changed something, notifies
/// the new state and returns it.
fn transition(
    sandbox: &Shared,
    id: &str,
    notify: &NotifyRule,
    change: impl FnOnce(&mut Payment) -> Option<()>,
) -> Option<Payment> {
    let updated = {
        let mut ledger = sandbox.ledger();
        let payment = ledger.payments.get_mut(id)?;
        change(payment)?;
        payment.clone()
    };
    let body = serde_json::to_vec(&updated).expect("a payment always serialises");
    deliver(sandbox, &updated, body, notify, 0);
    Some(updated)
}

/// The payer paid the same ticket again: dLocal records a second payment and
/// rejects it as duplicated (307).
fn duplicate(sandbox: &Shared, paid: &Payment, notify: &NotifyRule) {
    let second = {
        let mut ledger = sandbox.ledger();
        ledger.next_number += 1;
        let mut second = paid.clone();
        second.id = format!("D-4-sbx-{:08}", ledger.next_number);
        second.created_date = Some(wire_date(Utc::now()));
        second.approved_date = None;
        set_status(&mut second, DlocalPaymentStatus::Rejected, api::CODE_DUPLICATED_PAYMENT, "Duplicated payment.");
        ledger.payments.insert(second.id.clone(), second.clone());
        second
    };
    let body = serde_json::to_vec(&second).expect("a payment always serialises");
    deliver(sandbox, &second, body, notify, 0);
}

/// Opens a chargeback on a paid payment and moves it through its rule's
/// statuses; `created_date` stays the opening time, as dLocal's does.
fn schedule_chargeback(sandbox: &Shared, paid: &Payment, rule: ChargebackRule) {
    let (sandbox, paid) = (sandbox.clone(), paid.clone());
    tokio::spawn(async move {
        tokio::time::sleep(ms(rule.after_ms)).await;
        let id = {
            let mut ledger = sandbox.ledger();
            ledger.next_number += 1;
            format!("CHBK-sbx-{:08}", ledger.next_number)
        };
        let created_date = wire_date(Utc::now());
        let notified = rule.notified_statuses.unwrap_or(usize::MAX);
        for (i, status) in rule.statuses.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(ms(rule.step_ms)).await;
            }
            let known = DlocalChargebackStatus::parse(status);
            let chargeback = Chargeback {
                id: id.clone(),
                payment_id: paid.id.clone(),
                amount: paid.amount,
                currency: paid.currency.clone(),
                status: status.clone(),
                // A status dLocal does not have gets no code of its own.
                status_code: api::StatusCode(known.map_or(0, DlocalChargebackStatus::code)),
                status_detail: Some(format!("The chargeback is {}.", status.to_ascii_lowercase())),
                created_date: Some(created_date.clone()),
                order_id: paid.order_id.clone(),
                notification_url: paid.notification_url.clone(),
            };
            sandbox.ledger().chargebacks.insert(id.clone(), chargeback.clone());
            if i < notified {
                let body = serde_json::to_vec(&chargeback).expect("a chargeback always serialises");
                deliver(&sandbox, &paid, body, &NotifyRule::default(), 0);
            }
        }
    });
}

async fn read_chargeback(State(sandbox): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Chargeback", |ledger| {
        ledger.chargebacks.get(&id).map(|chargeback| axum::Json(chargeback.clone()).into_response())
    })
}

/// Posts `body` to the payment's notification URL (or the sandbox's), signed
/// as dLocal signs: `X-Date` and `Authorization` over login + date + body.
fn deliver(sandbox: &Sandbox, payment: &Payment, body: Vec<u8>, notify: &NotifyRule, extra_delay_ms: u64) {
    let url = payment.notification_url.clone().or_else(|| sandbox.config.notification_url.clone());
    post_signed(sandbox, url, body, notify, extra_delay_ms);
}

fn post_signed(sandbox: &Sandbox, url: Option<String>, body: Vec<u8>, notify: &NotifyRule, extra_delay_ms: u64) {
    let Some(url) = url else { return };
    let account = &sandbox.config.dlocal;
    let date = x_date(Utc::now());
    let secret =
        if notify.bad_signature { format!("{}-not-the-secret", account.secret) } else { account.secret.clone() };
    let authorization = signature::authorization(&secret, &account.login, &date, &body);
    for copy in 0..u64::from(notify.copies) {
        sandbox.notifier.schedule(Delivery {
            url: url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (HEADER_DATE.into(), date.clone()),
                // The login the signature covers: receivers need it to verify (and check it is theirs).
                (HEADER_LOGIN.into(), account.login.clone()),
                ("Authorization".into(), authorization.clone()),
            ],
            body: body.clone(),
            delay: ms(notify.delay_ms + extra_delay_ms + copy * COPY_GAP_MS),
        });
    }
}

async fn read_payment(State(sandbox): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Payment", |ledger| {
        ledger.payments.get(&id).map(|payment| axum::Json(payment.clone()).into_response())
    })
}

/// `POST /payments/{id}/cancel`: a pending payment becomes CANCELLED (and is
/// notified as such); any other status is refused, the payment unchanged.
async fn cancel_payment(
    State(sandbox): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = authenticate(&sandbox, &headers, &body) {
        return refusal.into_response();
    }
    let Some(status) = sandbox.ledger().payments.get(&id).map(|p| p.status.clone()) else {
        return not_found("Payment");
    };
    let cancelled = transition(&sandbox, &id, &NotifyRule::default(), |p| {
        (p.status == DlocalPaymentStatus::Pending.as_str())
            .then(|| set_status(p, DlocalPaymentStatus::Cancelled, api::CODE_CANCELLED, "The payment was cancelled."))
    });
    match cancelled {
        Some(payment) => axum::Json(payment).into_response(),
        None => refuse(
            StatusCode::BAD_REQUEST,
            api::ERROR_INVALID_TRANSACTION_STATUS,
            &format!("Invalid transaction status: the payment is {status} and cannot be cancelled."),
            None,
        ),
    }
}

async fn read_payment_status(State(sandbox): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Payment", |ledger| {
        let payment = ledger.payments.get(&id)?;
        let answer = api::PaymentStatusAnswer {
            id: Some(payment.id.clone()),
            status: payment.status.clone(),
            status_code: payment.status_code,
            status_detail: payment.status_detail.clone(),
        };
        Some(axum::Json(answer).into_response())
    })
}

async fn read_order(State(sandbox): State<Shared>, Path(order_id): Path<String>, headers: HeaderMap) -> Response {
    answer_read(&sandbox, &headers, "Payment", |ledger| {
        let payment = ledger.orders.get(&order_id).and_then(|id| ledger.payments.get(id))?;
        let answer = api::OrderAnswer {
            order_id: order_id.clone(),
            payment_id: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            created_date: payment.created_date.clone(),
            approved_date: payment.approved_date.clone(),
            status: payment.status.clone(),
            status_code: payment.status_code,
            status_detail: payment.status_detail.clone(),
        };
        Some(axum::Json(answer).into_response())
    })
}

/// Puts the preloaded payments in the ledger, PENDING, and sets the timers
/// of those to be paid. Their amounts are quoted as dLocal quotes them.
fn preload(sandbox: &Shared) {
    let entries = &sandbox.config.preload.dlocal;
    if entries.is_empty() {
        return;
    }
    let mut to_pay = Vec::new();
    {
        let mut ledger = sandbox.ledger();
        for entry in entries {
            if ledger.payments.len() >= PAYMENTS_MAX || ledger.payments.contains_key(&entry.payment_id) {
                continue;
            }
            let Ok(amount) = voucherdesk::psp::dlocal::transformers::wire_amount(entry.amount_minor, entry.currency)
            else {
                continue;
            };
            let (method, format, provider) = match entry.country.as_str() {
                "PE" => (DlocalCashMethod::PagoEfectivo, "ITF", "PagoEfectivo"),
                _ => (DlocalCashMethod::Efecty, "CODE_128", "Efecty"),
            };
            let payment = Payment {
                id: entry.payment_id.clone(),
                amount,
                currency: entry.currency.code().to_string(),
                country: entry.country.clone(),
                payment_method_id: method.id().to_string(),
                payment_method_type: Some("TICKET".into()),
                payment_method_flow: Some(api::FLOW_DIRECT.into()),
                created_date: entry.created_at.map(wire_date),
                approved_date: None,
                status: DlocalPaymentStatus::Pending.as_str().into(),
                status_code: api::StatusCode(api::CODE_PENDING),
                status_detail: Some("The payment is pending.".into()),
                order_id: Some(entry.order_id.clone()),
                notification_url: None,
                ticket: Some(Ticket {
                    ticket_type: Some("CUSTOM".into()),
                    number: Some(entry.voucher_code.clone()),
                    barcode: None,
                    format: Some(format.into()),
                    id: None,
                    expiration_date: entry.expires_at.map(wire_date),
                    company_name: Some("VoucherDesk Sandbox".into()),
                    provider_name: Some(provider.into()),
                    image_url: None,
                }),
            };
            ledger.orders.entry(entry.order_id.clone()).or_insert_with(|| payment.id.clone());
            ledger.payments.insert(payment.id.clone(), payment);
            if let Some(after_ms) = entry.pay_after_ms {
                to_pay.push((entry.payment_id.clone(), after_ms));
            }
        }
    }
    for (id, after_ms) in to_pay {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ms(after_ms)).await;
            transition(&sandbox, &id, &NotifyRule::default(), |p| {
                (p.status == DlocalPaymentStatus::Pending.as_str()).then(|| {
                    p.approved_date = Some(wire_date(Utc::now()));
                    set_status(p, DlocalPaymentStatus::Paid, api::CODE_PAID, "The payment was paid.")
                })
            });
        });
    }
}
