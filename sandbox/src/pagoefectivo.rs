//! The sandbox's PagoEfectivo side: the CIP API v1 in memory.
//!
//! It checks what PagoEfectivo checks: the token request's `hashString`
//! (constant time) and the freshness of its `dateRequest`, the Bearer token on
//! every CIP call (unknown or expired → 401), and each CIP request's fields.
//! CIPs then live on tokio timers as the scenario says (paid after a while,
//! paid after expiring, never paid, paid twice), so a poller sees them change,
//! and each change posts a callback signed with `PE-Signature` to
//! `config.notification_url`.
//!
//! Response codes: `100` success and `111` invalid data are PagoEfectivo's;
//! the others below are the sandbox's own, documented in docs/SANDBOX.md.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::SandboxConfig;
use super::notifier::{Delivery, Notifier};
use voucherdesk::money::Currency;
use voucherdesk::psp::pagoefectivo::api::{
    self, Callback, CallbackData, CipInfo, CreateCipRequest, CreatedCipData, Envelope, ErrorBody, ExtendCipRequest,
    FieldError, MajorAmount, SearchRequest, TokenData, TokenRequest,
};
use voucherdesk::psp::pagoefectivo::signature::{callback_signature, token_hash, verify_token_hash};
use voucherdesk::psp::pagoefectivo::wire::{CipEvent, CipStatus};

pub const TOKEN_LIFETIME_MS_DEFAULT: u64 = 3_600_000;
/// A `dateRequest` further than this from the sandbox's clock is refused (a
/// replayed or badly skewed token request).
pub const DATE_REQUEST_SKEW_MAX_MS: i64 = 300_000;
/// Live tokens kept; expired ones are dropped first when full.
pub const TOKENS_MAX: usize = 10_000;
/// CIPs kept in memory; creation is refused beyond.
pub const CIPS_MAX: usize = 100_000;
pub const REQUEST_BODY_MAX_BYTES: usize = 64 * 1024;
pub const SEARCH_ENTRIES_MAX: usize = 100;
/// The furthest `dateExpiry` accepted.
pub const CIP_LIFETIME_MAX_DAYS: i64 = 180;
/// Between copies of a duplicated callback, and before an out-of-order one.
pub const CALLBACK_GAP_MS: u64 = 150;
/// CIP numbers start here (real ones are seven digits or more).
pub const FIRST_CIP: u64 = 2_600_001;
pub const FIRST_OPERATION_NUMBER: u64 = 5_000_001;

/// Credentials (`idService`, `accessKey` or `hashString`) refused. HTTP 401.
pub const CODE_BAD_CREDENTIALS: &str = "112";
/// Bearer token missing, unknown or expired. HTTP 401.
pub const CODE_BAD_TOKEN: &str = "113";
/// No such CIP. HTTP 404.
pub const CODE_CIP_NOT_FOUND: &str = "114";
/// The CIP is no longer pending (paid, expired or cancelled). HTTP 409.
pub const CODE_CIP_NOT_PENDING: &str = "115";
/// The sandbox holds `CIPS_MAX` CIPs already. HTTP 503.
pub const CODE_FULL: &str = "116";

/// What the PagoEfectivo side does (`[pagoefectivo]` in the scenario file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeScenario {
    /// Life of an issued token (`tokenExpires - tokenStart`).
    pub token_lifetime_ms: u64,
    /// A token stops working this long before the `tokenExpires` it announced
    /// (a revoked token, or clocks apart): clients must renew on 401.
    pub token_dies_early_ms: u64,
    /// The first rule matching a new CIP decides its fate. A CIP no rule
    /// matches stays pending and expires at its `dateExpiry`.
    pub rules: Vec<PeRule>,
}

impl Default for PeScenario {
    fn default() -> Self {
        PeScenario { token_lifetime_ms: TOKEN_LIFETIME_MS_DEFAULT, token_dies_early_ms: 0, rules: Vec::new() }
    }
}

/// One scripted fate. Matches by `transaction_code_prefix` and/or `amount`
/// (major units, a string: `"89.90"`); a rule with neither matches every CIP.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeRule {
    #[serde(default)]
    pub transaction_code_prefix: Option<String>,
    #[serde(default)]
    pub amount: Option<Decimal>,
    pub outcome: PeOutcome,
    /// `paid_after` and `paid_twice`: after creation; `paid_after_expiry`: after expiry.
    #[serde(default)]
    pub after_ms: u64,
    /// `paid_twice`: the second payment comes this long after the first.
    #[serde(default)]
    pub second_after_ms: u64,
    /// Every callback of the CIP is posted this late.
    #[serde(default)]
    pub callback_delay_ms: u64,
    /// Every callback is posted twice (same body, same `operationNumber`).
    #[serde(default)]
    pub callback_twice: bool,
    /// A `cip.expired` callback follows the `cip.paid` one (the CIP stays paid).
    #[serde(default)]
    pub callback_out_of_order: bool,
    /// Callbacks are signed with the wrong key.
    #[serde(default)]
    pub callback_bad_signature: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeOutcome {
    /// Paid `after_ms` after creation (if still pending then).
    PaidAfter,
    /// Expires at `dateExpiry` (with its `cip.expired` callback), then is paid
    /// anyway `after_ms` later: the agent's late report, seen in real life.
    PaidAfterExpiry,
    /// Never paid: expires at `dateExpiry`.
    NeverPaid,
    /// Paid `after_ms` after creation and again `second_after_ms` later with
    /// another `operationNumber` (the payer paid at two agents): two
    /// `cip.paid` callbacks for one CIP, the status stays paid.
    PaidTwice,
}

impl PeRule {
    fn matches(&self, transaction_code: &str, amount: Decimal) -> bool {
        let prefix_ok =
            self.transaction_code_prefix.as_deref().is_none_or(|prefix| transaction_code.starts_with(prefix));
        let amount_ok = self.amount.is_none_or(|wanted| wanted == amount);
        prefix_ok && amount_ok
    }
}

struct Cip {
    cip: u64,
    transaction_code: String,
    currency: Currency,
    amount_minor: i64,
    status: CipStatus,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    removed_at: Option<DateTime<Utc>>,
    /// Bumped when the expiry moves: a timer for an older expiry does nothing.
    expiry_generation: u64,
    rule: Option<PeRule>,
}

impl Cip {
    fn info(&self) -> CipInfo {
        let code = self.status.api_code().expect("the sandbox never extorns a CIP");
        CipInfo {
            cip: self.cip,
            transaction_code: self.transaction_code.clone(),
            amount: MajorAmount::from_minor(self.amount_minor, self.currency),
            currency: self.currency.code().into(),
            status: code,
            status_name: self.status.api_name().into(),
            date_creation: api::lima_timestamp(self.created_at),
            date_expiry: api::lima_timestamp(self.expires_at),
            date_payment: self.paid_at.map(api::lima_timestamp),
            date_removal: self.removed_at.map(api::lima_timestamp),
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Token → the instant it stops working.
    tokens: HashMap<String, DateTime<Utc>>,
    cips: HashMap<u64, Cip>,
    next_cip: u64,
    next_operation: u64,
}

impl Inner {
    fn operation_number(&mut self) -> String {
        let number = FIRST_OPERATION_NUMBER + self.next_operation;
        self.next_operation += 1;
        number.to_string()
    }
}

struct PeSandbox {
    config: Arc<SandboxConfig>,
    notifier: Notifier,
    inner: Mutex<Inner>,
}

/// What a CIP timer does when it fires.
#[derive(Debug, Clone, Copy)]
enum Timer {
    Expire { generation: u64 },
    Pay { even_if_expired: bool },
    PayAgain,
}

pub fn router(config: Arc<SandboxConfig>, notifier: Notifier) -> axum::Router {
    let sandbox = Arc::new(PeSandbox { config, notifier, inner: Mutex::new(Inner::default()) });
    preload(&sandbox);
    axum::Router::new()
        .route(api::AUTHORIZATIONS_PATH, post(authorize))
        .route(api::CIPS_PATH, post(create_cip))
        .route(api::CIPS_SEARCH_PATH, post(search_cips))
        .route("/v1/cips/{cip}", patch(extend_cip).delete(cancel_cip))
        .route("/pe/cip/{cip}", get(cip_page))
        .with_state(sandbox)
}

type Sandbox = State<Arc<PeSandbox>>;

/// A request refused with PagoEfectivo's error body.
struct Refusal {
    status: StatusCode,
    body: ErrorBody,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type Answer = Result<Response, Refusal>;

fn error(status: StatusCode, code: &str, message: &str, fields: Vec<FieldError>) -> Refusal {
    Refusal { status, body: ErrorBody { code: code.into(), message: message.into(), data: fields } }
}

fn invalid(fields: Vec<FieldError>) -> Refusal {
    error(StatusCode::BAD_REQUEST, api::INVALID_DATA_CODE, api::INVALID_DATA_MESSAGE, fields)
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError { code: api::INVALID_DATA_CODE.into(), field: field.into(), message: message.into() }
}

fn ok<T: serde::Serialize>(data: T) -> Answer {
    Ok((StatusCode::OK, Json(Envelope::success(data))).into_response())
}

fn body_limit(body: &Bytes) -> Result<(), Refusal> {
    if body.len() > REQUEST_BODY_MAX_BYTES {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            api::INVALID_DATA_CODE,
            &format!("Cuerpo mayor a {REQUEST_BODY_MAX_BYTES} bytes"),
            Vec::new(),
        ));
    }
    Ok(())
}

fn decode<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Refusal> {
    body_limit(body)?;
    api::decode(body).map_err(|err| invalid(vec![field_error(&err.path, &err.detail)]))
}

impl PeSandbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The Bearer token must be one we issued and still alive.
    fn check_token(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let refused = || error(StatusCode::UNAUTHORIZED, CODE_BAD_TOKEN, "Token inválido o expirado", Vec::new());
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(refused)?;
        let inner = self.lock();
        match inner.tokens.get(presented.trim()) {
            Some(dies_at) if Utc::now() < *dies_at => Ok(()),
            _ => Err(refused()),
        }
    }

    fn issue_token(&self) -> TokenData {
        let scenario = &self.config.scenario.pagoefectivo;
        let start = Utc::now();
        let announced = start + chrono::Duration::milliseconds(ms(scenario.token_lifetime_ms));
        let dies_at = announced - chrono::Duration::milliseconds(ms(scenario.token_dies_early_ms));
        let token = hex::encode(rand::random::<[u8; 24]>());
        let mut inner = self.lock();
        if inner.tokens.len() >= TOKENS_MAX {
            let now = Utc::now();
            inner.tokens.retain(|_, dies_at| *dies_at > now);
        }
        if inner.tokens.len() >= TOKENS_MAX {
            // Still full of live tokens: the one closest to dying makes room.
            let oldest = inner.tokens.iter().min_by_key(|(_, dies_at)| **dies_at).map(|(token, _)| token.clone());
            if let Some(oldest) = oldest {
                inner.tokens.remove(&oldest);
            }
        }
        inner.tokens.insert(token.clone(), dies_at);
        TokenData {
            token,
            code_service: self.config.pagoefectivo.service_id.clone(),
            token_start: api::lima_timestamp(start),
            token_expires: api::lima_timestamp(announced),
        }
    }

    fn schedule(self: &Arc<Self>, cip: u64, timer: Timer, at: DateTime<Utc>) {
        let sandbox = Arc::downgrade(self);
        let delay = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // The server is gone (test over): nothing left to change.
            if let Some(sandbox) = Weak::upgrade(&sandbox) {
                sandbox.fire(cip, timer);
            }
        });
    }

    fn fire(self: &Arc<Self>, cip_number: u64, timer: Timer) {
        let now = Utc::now();
        let mut inner = self.lock();
        let operation_number = inner.operation_number();
        let Some(cip) = inner.cips.get_mut(&cip_number) else { return };
        let rule = cip.rule.clone();
        let event = match (timer, cip.status) {
            (Timer::Expire { generation }, CipStatus::Pendiente) if generation == cip.expiry_generation => {
                cip.status = CipStatus::Expirado;
                if let Some(rule) = rule.as_ref().filter(|rule| rule.outcome == PeOutcome::PaidAfterExpiry) {
                    let at = cip.expires_at + chrono::Duration::milliseconds(ms(rule.after_ms));
                    self.schedule(cip_number, Timer::Pay { even_if_expired: true }, at);
                }
                CipEvent::Expired
            }
            (Timer::Pay { .. }, CipStatus::Pendiente) | (Timer::Pay { even_if_expired: true }, CipStatus::Expirado) => {
                cip.status = CipStatus::Pagado;
                cip.paid_at = Some(now);
                if let Some(rule) = rule.as_ref().filter(|rule| rule.outcome == PeOutcome::PaidTwice) {
                    self.schedule(
                        cip_number,
                        Timer::PayAgain,
                        now + chrono::Duration::milliseconds(ms(rule.second_after_ms)),
                    );
                }
                CipEvent::Paid
            }
            (Timer::PayAgain, CipStatus::Pagado) => CipEvent::Paid,
            // A stale timer: the CIP moved on (paid, cancelled, extended).
            (Timer::Expire { .. } | Timer::Pay { .. } | Timer::PayAgain, _) => return,
        };
        let data = CallbackData {
            cip: cip.cip,
            currency: cip.currency.code().into(),
            amount: MajorAmount::from_minor(cip.amount_minor, cip.currency),
            payment_date: (event == CipEvent::Paid).then(|| api::lima_timestamp(now)),
            transaction_code: cip.transaction_code.clone(),
        };
        let late_expired = (event == CipEvent::Paid && rule.as_ref().is_some_and(|rule| rule.callback_out_of_order))
            .then(|| inner.operation_number());
        drop(inner);
        let callback = Callback { event_type: event.as_str().into(), operation_number, data: data.clone() };
        self.notify(&callback, rule.as_ref(), 0);
        if let Some(operation_number) = late_expired {
            let data = CallbackData { payment_date: None, ..data };
            let expired = Callback { event_type: CipEvent::Expired.as_str().into(), operation_number, data };
            self.notify(&expired, rule.as_ref(), 2 * CALLBACK_GAP_MS);
        }
    }

    /// Posts a callback (twice, late, badly signed: as the rule says).
    fn notify(&self, callback: &Callback, rule: Option<&PeRule>, extra_delay_ms: u64) {
        let Some(url) = self.config.notification_url.clone() else { return };
        let body = serde_json::to_vec(callback).expect("callbacks always serialize");
        let secret = &self.config.pagoefectivo.secret;
        let signature = match rule.is_some_and(|rule| rule.callback_bad_signature) {
            true => callback_signature(&format!("{secret}-not-the-secret"), &body),
            false => callback_signature(secret, &body),
        };
        let delay_ms = rule.map_or(0, |rule| rule.callback_delay_ms) + extra_delay_ms;
        let copies = if rule.is_some_and(|rule| rule.callback_twice) { 2 } else { 1 };
        for copy in 0..copies {
            self.notifier.schedule(Delivery {
                url: url.clone(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (api::SIGNATURE_HEADER.into(), signature.clone()),
                ],
                body: body.clone(),
                delay: Duration::from_millis(delay_ms + copy * CALLBACK_GAP_MS / 2),
            });
        }
    }

    fn cip_or_404<R>(&self, cip: &str, then: impl FnOnce(&mut Cip) -> Result<R, Refusal>) -> Result<R, Refusal> {
        let not_found = || error(StatusCode::NOT_FOUND, CODE_CIP_NOT_FOUND, "CIP no encontrado", Vec::new());
        let number = cip.parse::<u64>().map_err(|_| not_found())?;
        let mut inner = self.lock();
        let cip = inner.cips.get_mut(&number).ok_or_else(not_found)?;
        then(cip)
    }
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX / 2)
}

fn not_pending(cip: &Cip) -> Refusal {
    error(
        StatusCode::CONFLICT,
        CODE_CIP_NOT_PENDING,
        &format!("El CIP {} no está pendiente ({})", cip.cip, cip.status.api_name()),
        Vec::new(),
    )
}

/// A future `dateExpiry` within `CIP_LIFETIME_MAX_DAYS`, or the field error.
fn future_expiry(text: &str) -> Result<DateTime<Utc>, FieldError> {
    let expires_at = api::parse_timestamp(text)
        .map_err(|_| field_error("dateExpiry", "Formato de fecha inválido (yyyy-MM-ddTHH:mm:ss-05:00)"))?;
    let now = Utc::now();
    if expires_at <= now {
        return Err(field_error("dateExpiry", "La fecha de expiración debe ser futura"));
    }
    if expires_at > now + chrono::Duration::days(CIP_LIFETIME_MAX_DAYS) {
        return Err(field_error("dateExpiry", &format!("La fecha de expiración excede {CIP_LIFETIME_MAX_DAYS} días")));
    }
    Ok(expires_at)
}

async fn authorize(State(sandbox): Sandbox, body: Bytes) -> Answer {
    let request: TokenRequest = decode(&body)?;
    let account = &sandbox.config.pagoefectivo;
    let bad_credentials = |field: &str| {
        error(
            StatusCode::UNAUTHORIZED,
            CODE_BAD_CREDENTIALS,
            "Credenciales inválidas",
            vec![FieldError { code: CODE_BAD_CREDENTIALS.into(), field: field.into(), message: "No válido".into() }],
        )
    };
    if request.id_service.to_string() != account.service_id {
        return Err(bad_credentials("idService"));
    }
    if !bool::from(request.access_key.as_bytes().ct_eq(account.access_key.as_bytes())) {
        return Err(bad_credentials("accessKey"));
    }
    let expected = token_hash(&account.service_id, &account.access_key, &account.secret, &request.date_request);
    if !verify_token_hash(&expected, &request.hash_string) {
        return Err(bad_credentials("hashString"));
    }
    // Checked after the hash: only an authentic request learns that its date is off.
    let fresh = api::parse_timestamp(&request.date_request)
        .ok()
        .filter(|sent| (Utc::now() - *sent).num_milliseconds().abs() <= DATE_REQUEST_SKEW_MAX_MS);
    if fresh.is_none() {
        return Err(invalid(vec![field_error("dateRequest", "Fecha de solicitud inválida o fuera de rango")]));
    }
    ok(sandbox.issue_token())
}

async fn create_cip(State(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Answer {
    sandbox.check_token(&headers)?;
    body_limit(&body)?;
    // Missing fields first, all of them at once, as PagoEfectivo lists them.
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Err(invalid(vec![field_error("", "El cuerpo debe ser un objeto JSON")]));
    };
    let missing: Vec<FieldError> = CreateCipRequest::REQUIRED_FIELDS
        .iter()
        .filter(|name| match fields.get(**name) {
            None | Some(serde_json::Value::Null) => true,
            Some(serde_json::Value::String(text)) => text.trim().is_empty(),
            Some(_) => false,
        })
        .map(|name| field_error(name, "Campo requerido"))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(missing));
    }
    let request: CreateCipRequest = decode(&body)?;
    let mut refused = Vec::new();
    let currency = api::currency(&request.currency)
        .map_err(|_| refused.push(field_error("currency", "Moneda no soportada (PEN, USD)")))
        .ok();
    let amount_minor = currency.and_then(|currency| match request.amount.to_minor(currency) {
        Ok(minor) if minor > 0 => Some(minor),
        _ => {
            refused.push(field_error("amount", "Monto inválido"));
            None
        }
    });
    let expires_at = future_expiry(&request.date_expiry).map_err(|field| refused.push(field)).ok();
    let (Some(currency), Some(amount_minor), Some(expires_at)) = (currency, amount_minor, expires_at) else {
        return Err(invalid(refused));
    };
    let scenario = &sandbox.config.scenario.pagoefectivo;
    let amount = MajorAmount::from_minor(amount_minor, currency);
    let rule = scenario.rules.iter().find(|rule| rule.matches(&request.transaction_code, amount.0)).cloned();
    let now = Utc::now();
    let cip_number = {
        let mut inner = sandbox.lock();
        if inner.cips.values().any(|cip| cip.transaction_code == request.transaction_code) {
            return Err(invalid(vec![field_error("transactionCode", "Ya existe un CIP con este transactionCode")]));
        }
        if inner.cips.len() >= CIPS_MAX {
            return Err(error(StatusCode::SERVICE_UNAVAILABLE, CODE_FULL, "Capacidad del sandbox agotada", Vec::new()));
        }
        let number = FIRST_CIP + inner.next_cip;
        inner.next_cip += 1;
        inner.cips.insert(
            number,
            Cip {
                cip: number,
                transaction_code: request.transaction_code.clone(),
                currency,
                amount_minor,
                status: CipStatus::Pendiente,
                created_at: now,
                expires_at,
                paid_at: None,
                removed_at: None,
                expiry_generation: 0,
                rule: rule.clone(),
            },
        );
        number
    };
    sandbox.schedule(cip_number, Timer::Expire { generation: 0 }, expires_at);
    if let Some(rule) = rule.filter(|rule| matches!(rule.outcome, PeOutcome::PaidAfter | PeOutcome::PaidTwice)) {
        let at = now + chrono::Duration::milliseconds(ms(rule.after_ms));
        sandbox.schedule(cip_number, Timer::Pay { even_if_expired: false }, at);
    }
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("127.0.0.1");
    ok(CreatedCipData {
        cip: cip_number,
        currency: currency.code().into(),
        amount,
        transaction_code: request.transaction_code,
        date_expiry: api::lima_timestamp(expires_at),
        cip_url: format!("http://{host}/pe/cip/{cip_number}"),
    })
}

async fn search_cips(State(sandbox): Sandbox, headers: HeaderMap, body: Bytes) -> Answer {
    sandbox.check_token(&headers)?;
    let request: SearchRequest = decode(&body)?;
    if request.data.is_empty() || request.data.len() > SEARCH_ENTRIES_MAX {
        return Err(invalid(vec![field_error("data", &format!("Entre 1 y {SEARCH_ENTRIES_MAX} elementos"))]));
    }
    let inner = sandbox.lock();
    let mut found: Vec<&Cip> = Vec::new();
    for (index, entry) in request.data.iter().enumerate() {
        let matching: Vec<&Cip> = match (entry.cip, entry.transaction_code.as_deref()) {
            (Some(number), _) => inner.cips.get(&number).into_iter().collect(),
            (None, Some(code)) => inner.cips.values().filter(|cip| cip.transaction_code == code).collect(),
            (None, None) => {
                return Err(invalid(vec![field_error(&format!("data[{index}]"), "Indique cip o transactionCode")]));
            }
        };
        for cip in matching {
            if !found.iter().any(|seen| seen.cip == cip.cip) {
                found.push(cip);
            }
        }
    }
    ok(found.into_iter().map(Cip::info).collect::<Vec<_>>())
}

async fn extend_cip(State(sandbox): Sandbox, Path(cip): Path<String>, headers: HeaderMap, body: Bytes) -> Answer {
    sandbox.check_token(&headers)?;
    let request: ExtendCipRequest = decode(&body)?;
    let expires_at = future_expiry(&request.date_expiry).map_err(|field| invalid(vec![field]))?;
    let extended = sandbox.cip_or_404(&cip, |cip| {
        if cip.status != CipStatus::Pendiente {
            return Err(not_pending(cip));
        }
        cip.expires_at = expires_at;
        cip.expiry_generation += 1;
        Ok((cip.info(), cip.cip, cip.expiry_generation))
    })?;
    let (info, number, generation) = extended;
    sandbox.schedule(number, Timer::Expire { generation }, expires_at);
    ok(info)
}

async fn cancel_cip(State(sandbox): Sandbox, Path(cip): Path<String>, headers: HeaderMap) -> Answer {
    sandbox.check_token(&headers)?;
    let cancelled = sandbox.cip_or_404(&cip, |cip| {
        if cip.status != CipStatus::Pendiente {
            return Err(not_pending(cip));
        }
        cip.status = CipStatus::Anulado;
        cip.removed_at = Some(Utc::now());
        Ok(cip.info())
    })?;
    ok(cancelled)
}

/// The payer's instructions page behind `cipUrl`.
async fn cip_page(State(sandbox): Sandbox, Path(cip): Path<String>) -> Answer {
    let shown = sandbox.cip_or_404(&cip, |cip| {
        Ok(format!(
            "<!doctype html><title>CIP {number}</title><h1>CIP {number}</h1><p>{amount} {currency}</p>\
             <p>Vence: {expiry}</p><p>Estado: {status}</p>",
            number = cip.cip,
            amount = MajorAmount::from_minor(cip.amount_minor, cip.currency).0,
            currency = cip.currency,
            expiry = api::lima_timestamp(cip.expires_at),
            status = cip.status.api_name(),
        ))
    })?;
    Ok(Html(shown).into_response())
}

// ------------------------------------------------------------------ preloaded CIPs (the demo's)

/// Puts the preloaded CIPs in the sandbox, pending, with a timer for those to
/// be paid. Their expiry is not enforced (the demo's dates are past).
fn preload(sandbox: &Arc<PeSandbox>) {
    let entries = &sandbox.config.preload.pagoefectivo;
    if entries.is_empty() {
        return;
    }
    let now = Utc::now();
    let mut to_pay = Vec::new();
    {
        let mut inner = sandbox.lock();
        for entry in entries {
            if inner.cips.len() >= CIPS_MAX || inner.cips.contains_key(&entry.cip) {
                continue;
            }
            inner.cips.insert(
                entry.cip,
                Cip {
                    cip: entry.cip,
                    transaction_code: entry.transaction_code.clone(),
                    currency: entry.currency,
                    amount_minor: entry.amount_minor,
                    status: CipStatus::Pendiente,
                    created_at: entry.created_at.unwrap_or(now),
                    expires_at: entry.expires_at.unwrap_or(now + chrono::Duration::days(30)),
                    paid_at: None,
                    removed_at: None,
                    expiry_generation: 0,
                    rule: None,
                },
            );
            if let Some(after_ms) = entry.pay_after_ms {
                to_pay.push((entry.cip, now + chrono::Duration::milliseconds(ms(after_ms))));
            }
        }
    }
    for (cip, at) in to_pay {
        sandbox.schedule(cip, Timer::Pay { even_if_expired: false }, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_reads_rules_and_refuses_unknown_keys() {
        let scenario = crate::Scenario::from_toml(
            r#"
            [pagoefectivo]
            token_lifetime_ms = 2000
            [[pagoefectivo.rules]]
            transaction_code_prefix = "PAID-"
            outcome = "paid_after"
            after_ms = 300
            callback_twice = true
            [[pagoefectivo.rules]]
            amount = "89.90"
            outcome = "never_paid"
            "#,
        )
        .unwrap();
        let pe = scenario.pagoefectivo;
        assert_eq!((pe.token_lifetime_ms, pe.token_dies_early_ms, pe.rules.len()), (2000, 0, 2));
        assert_eq!(pe.rules[0].outcome, PeOutcome::PaidAfter);
        assert!(pe.rules[0].matches("PAID-1", Decimal::new(100, 2)));
        assert!(!pe.rules[0].matches("ORD-1", Decimal::new(100, 2)));
        assert!(pe.rules[1].matches("ORD-1", Decimal::new(899, 1)));
        assert!(!pe.rules[1].matches("ORD-1", Decimal::new(8991, 2)));
        assert_eq!(PeScenario::default().token_lifetime_ms, TOKEN_LIFETIME_MS_DEFAULT);

        // The example in docs/SANDBOX.md reads as documented.
        let doc = include_str!("../../docs/SANDBOX.md");
        let example = doc.split("```toml\n").find(|block| block.starts_with("[pagoefectivo]")).unwrap();
        let example = crate::Scenario::from_toml(example.split("```").next().unwrap()).unwrap();
        let rules = &example.pagoefectivo.rules;
        assert_eq!(
            rules.iter().map(|rule| rule.outcome).collect::<Vec<_>>(),
            [PeOutcome::PaidAfter, PeOutcome::PaidTwice]
        );
        assert_eq!((rules[1].amount, rules[1].callback_twice), (Some(Decimal::new(1313, 2)), true));

        let err = crate::Scenario::from_toml("[pagoefectivo]\ntoken_life = 1\n").unwrap_err();
        assert!(err.to_string().contains("token_life"), "{err}");
        let err = crate::Scenario::from_toml("[[pagoefectivo.rules]]\noutcome = \"paid_eventually\"\n").unwrap_err();
        assert!(err.to_string().contains("paid_eventually"), "{err}");
    }
}
