//! dLocal Payins API v2.1 client: cash tickets (Efecty, PagoEfectivo), their
//! status, orders and refunds. Every request is signed (`V2-HMAC-SHA256`).
//!
//! No retries here: the sync engine owns backoff and asks [`DlocalError::is_retryable`]
//! and [`DlocalError::retry_after`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{self, CreatePaymentRequest, ErrorBody, Payer};
use super::signature;
use super::transformers::{
    self, CashPayment, OrderReading, RefundReading, StatusReading, TransformError, UnquotableAmount,
};
use super::wire::DlocalCashMethod;
use crate::market::Country;
use crate::model::observation::{Observed, StatusReport};
use crate::money::Currency;
use crate::psp::PspError;
use crate::psp::http::{self, RESPONSE_BODY_MAX_BYTES};

/// A `Retry-After` beyond this is treated as this: the engine should come back within the hour.
pub const RETRY_AFTER_MAX_S: u64 = 3_600;

pub const HEADER_DATE: &str = "X-Date";
pub const HEADER_LOGIN: &str = "X-Login";
pub const HEADER_TRANS_KEY: &str = "X-Trans-Key";
pub const HEADER_VERSION: &str = "X-Version";
/// Refunds and payouts: the client's operation id, created and stored
/// before the first call and sent again on every retry, so the PSP creates one
/// refund whatever happens to the answers.
pub const HEADER_IDEMPOTENCY_KEY: &str = "X-Idempotency-Key";

/// The merchant's API keys. Only the login is ever shown.
#[derive(Clone, PartialEq, Eq)]
pub struct DlocalCredentials {
    pub login: String,
    pub trans_key: String,
    pub secret: String,
}

impl fmt::Debug for DlocalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DlocalCredentials")
            .field("login", &self.login)
            .field("trans_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// `X-Date`: ISO-8601 UTC with milliseconds, as dLocal's examples write it.
pub fn x_date(now: DateTime<Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum DlocalError {
    #[error("invalid dLocal base URL {url:?}")]
    BaseUrl { url: String },
    #[error("dLocal {operation}: no answer within the time-out")]
    Timeout { operation: &'static str },
    #[error("dLocal {operation}: transport error: {message}")]
    Transport { operation: &'static str, message: String },
    #[error("dLocal {operation}: rate limited (HTTP 429){}", retry_after_s.map(|s| format!(", retry after {s} s")).unwrap_or_default())]
    RateLimited { operation: &'static str, retry_after_s: Option<u64> },
    #[error("dLocal {operation}: server error (HTTP {http_status}{}): {message}", dlocal_code.map(|c| format!(", dLocal code {c}")).unwrap_or_default())]
    Server { operation: &'static str, http_status: u16, dlocal_code: Option<i64>, message: String },
    #[error("dLocal {operation}: credentials or signature refused (HTTP {http_status}{}): {message}", dlocal_code.map(|c| format!(", dLocal code {c}")).unwrap_or_default())]
    Unauthorized { operation: &'static str, http_status: u16, dlocal_code: Option<i64>, message: String },
    #[error("dLocal {operation}: refused (HTTP {http_status}{}): {message}", dlocal_code.map(|c| format!(", dLocal code {c}")).unwrap_or_default())]
    Refused {
        operation: &'static str,
        http_status: u16,
        dlocal_code: Option<i64>,
        message: String,
        param: Option<String>,
    },
    #[error("dLocal {operation}: answer larger than {RESPONSE_BODY_MAX_BYTES} bytes")]
    BodyTooLarge { operation: &'static str },
    #[error("dLocal {operation}: unreadable answer at `{field}`: {message}")]
    Decode { operation: &'static str, field: String, message: String },
    #[error("dLocal {operation}: {source}")]
    Unknown { operation: &'static str, source: PspError },
    #[error("dLocal {operation}: {source}")]
    Amount { operation: &'static str, source: UnquotableAmount },
}

impl DlocalError {
    pub fn code(&self) -> &'static str {
        match self {
            DlocalError::BaseUrl { .. } => "dlocal.base_url",
            DlocalError::Timeout { .. } => "dlocal.timeout",
            DlocalError::Transport { .. } => "dlocal.transport",
            DlocalError::RateLimited { .. } => "dlocal.rate_limited",
            DlocalError::Server { .. } => "dlocal.server",
            DlocalError::Unauthorized { .. } => "dlocal.credentials",
            DlocalError::Refused { .. } => "dlocal.refused",
            DlocalError::BodyTooLarge { .. } => "dlocal.body_too_large",
            DlocalError::Decode { .. } => "dlocal.decode",
            DlocalError::Unknown { source: PspError::UnknownStatus { .. }, .. } => "dlocal.unknown_status",
            DlocalError::Unknown { source: PspError::UnknownMethod { .. }, .. } => "dlocal.unknown_method",
            DlocalError::Amount { .. } => "dlocal.amount",
        }
    }

    /// The same request may succeed later (the PSP or the network was busy or down).
    pub fn is_retryable(&self) -> bool {
        match self {
            DlocalError::Timeout { .. }
            | DlocalError::Transport { .. }
            | DlocalError::RateLimited { .. }
            | DlocalError::Server { .. } => true,
            DlocalError::BaseUrl { .. }
            | DlocalError::Unauthorized { .. }
            | DlocalError::Refused { .. }
            | DlocalError::BodyTooLarge { .. }
            | DlocalError::Decode { .. }
            | DlocalError::Unknown { .. }
            | DlocalError::Amount { .. } => false,
        }
    }

    /// How long dLocal asked us to wait (a 429's `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DlocalError::RateLimited { retry_after_s, .. } => retry_after_s.map(Duration::from_secs),
            _ => None,
        }
    }

    /// dLocal's own error code (`3001`, `5001`…), when it sent one.
    pub fn dlocal_code(&self) -> Option<i64> {
        match self {
            DlocalError::Server { dlocal_code, .. }
            | DlocalError::Unauthorized { dlocal_code, .. }
            | DlocalError::Refused { dlocal_code, .. } => *dlocal_code,
            _ => None,
        }
    }

    pub(super) fn from_transform(operation: &'static str, error: TransformError) -> DlocalError {
        match error {
            TransformError::Psp(source) => DlocalError::Unknown { operation, source },
            TransformError::Field { field, message } => {
                DlocalError::Decode { operation, field: field.to_string(), message }
            }
        }
    }
}

/// One reading of a chargeback from dLocal's API: the same status report a
/// notification of it gives, and the answer as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargebackReading {
    pub chargeback_id: String,
    pub report: StatusReport,
    pub amount_minor: Option<i64>,
    pub raw: String,
}

/// A payer as the cash networks need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashPayer {
    pub name: String,
    pub email: String,
    /// National id (CC in Colombia, DNI in Peru).
    pub document: String,
}

/// A cash ticket to issue, in our terms (minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashPaymentRequest {
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub country: Country,
    pub method: DlocalCashMethod,
    pub payer: CashPayer,
    pub description: Option<String>,
    pub notification_url: Option<String>,
}

/// Where a ticket payment's refund is paid (by bank transfer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundBeneficiary {
    pub name: Option<String>,
    pub bank: Option<String>,
    pub account: Option<String>,
    /// `C` current, `S` savings, `I` international.
    pub account_type: Option<String>,
    pub branch: Option<String>,
    /// The beneficiary's national id (refunds).
    pub document: Option<String>,
}

/// A refund to ask for, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashRefundRequest {
    pub payment_id: String,
    /// `None`: the whole payment.
    pub amount_minor: Option<i64>,
    pub currency: Currency,
    pub notification_url: Option<String>,
    pub description: Option<String>,
    pub beneficiary: RefundBeneficiary,
}

pub struct DlocalClient {
    http: reqwest::Client,
    base_url: reqwest::Url,
    credentials: DlocalCredentials,
}

impl DlocalClient {
    /// `text` (an error of this client) without this account's keys or
    /// anything credential-shaped: [`crate::redact::redact`].
    pub fn redact(&self, text: &str) -> String {
        let c = &self.credentials;
        crate::redact::redact(text, &[&c.login, &c.trans_key, &c.secret])
    }

    /// `base_url` is `https://api.dlocal.com`, the sandbox's, or a local one in tests.
    pub fn new(base_url: &str, credentials: DlocalCredentials, timeout: Duration) -> Result<DlocalClient, DlocalError> {
        let bad_url = || DlocalError::BaseUrl { url: base_url.to_string() };
        let base_url = reqwest::Url::parse(base_url).map_err(|_| bad_url())?;
        if base_url.cannot_be_a_base() {
            return Err(bad_url());
        }
        let http = http::client(timeout)
            .map_err(|e| DlocalError::Transport { operation: "client set-up", message: e.to_string() })?;
        Ok(DlocalClient { http, base_url, credentials })
    }

    pub async fn create_cash_payment(&self, request: &CashPaymentRequest) -> Result<CashPayment, DlocalError> {
        const OPERATION: &str = "create payment";
        let amount = transformers::wire_amount(request.amount_minor, request.currency)
            .map_err(|source| DlocalError::Amount { operation: OPERATION, source })?;
        let body = CreatePaymentRequest {
            amount,
            currency: request.currency.code().to_string(),
            country: request.country.code().to_string(),
            payment_method_id: request.method.id().to_string(),
            payment_method_flow: api::FLOW_DIRECT.to_string(),
            payer: Payer {
                name: request.payer.name.clone(),
                email: request.payer.email.clone(),
                document: request.payer.document.clone(),
            },
            order_id: request.order_id.clone(),
            description: request.description.clone(),
            notification_url: request.notification_url.clone(),
        };
        let payment: api::Payment = self.post(OPERATION, &["payments"], &body).await?;
        transformers::cash_payment(&payment).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    /// The whole payment object, ticket included.
    pub async fn payment(&self, payment_id: &str) -> Result<CashPayment, DlocalError> {
        const OPERATION: &str = "payment";
        let payment: api::Payment = self.get(OPERATION, &["payments", payment_id]).await?;
        transformers::cash_payment(&payment).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    /// `POST /payments/{id}/cancel`: cancels a payment still pending (an
    /// unpaid cash ticket); dLocal refuses any other status. The answer is the
    /// payment, now CANCELLED.
    pub async fn cancel_payment(&self, payment_id: &str) -> Result<CashPayment, DlocalError> {
        const OPERATION: &str = "cancel payment";
        let payment: api::Payment =
            self.post(OPERATION, &["payments", payment_id, "cancel"], &serde_json::json!({})).await?;
        transformers::cash_payment(&payment).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    pub async fn payment_status(&self, payment_id: &str) -> Result<StatusReading, DlocalError> {
        const OPERATION: &str = "payment status";
        let answer: api::PaymentStatusAnswer = self.get(OPERATION, &["payments", payment_id, "status"]).await?;
        transformers::status_reading(&answer.status, answer.status_code, &answer.status_detail)
            .map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    /// `GET /chargebacks/{id}`, read by the notification's own parser: the
    /// answer is the object a chargeback notification carries, so one mapping
    /// serves both. The answer must be the chargeback asked for.
    pub async fn chargeback(&self, chargeback_id: &str) -> Result<ChargebackReading, DlocalError> {
        const OPERATION: &str = "chargeback";
        let raw: Box<serde_json::value::RawValue> = self.get(OPERATION, &["chargebacks", chargeback_id]).await?;
        let decode =
            |field: &str, message: String| DlocalError::Decode { operation: OPERATION, field: field.into(), message };
        let (observed, claims) = super::webhook::parse(raw.get().as_bytes()).map_err(|e| match e {
            super::webhook::DlocalNotificationError::Psp(source) => {
                DlocalError::Unknown { operation: OPERATION, source }
            }
            other => decode("chargeback", other.to_string()),
        })?;
        let Observed::Status(report) = observed else {
            return Err(decode("payment_id", "the answer is not a chargeback".into()));
        };
        let answered_id = serde_json::from_str::<serde_json::Value>(raw.get())
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(|id| id.trim().to_string()))
            .unwrap_or_default();
        if answered_id != chargeback_id {
            return Err(decode("id", format!("asked for chargeback {chargeback_id:?}, answered {answered_id:?}")));
        }
        Ok(ChargebackReading {
            chargeback_id: answered_id,
            report,
            amount_minor: claims.amount_minor,
            raw: raw.get().to_string(),
        })
    }

    /// The payment dLocal holds for one of our order ids.
    pub async fn order(&self, order_id: &str) -> Result<OrderReading, DlocalError> {
        const OPERATION: &str = "order";
        let answer: api::OrderAnswer = self.get(OPERATION, &["orders", order_id]).await?;
        transformers::order_reading(&answer).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    pub async fn create_refund(&self, request: &CashRefundRequest) -> Result<RefundReading, DlocalError> {
        self.create_refund_keyed(request, None).await
    }

    /// `create_refund` with an idempotency key: a retry with the same key and
    /// body answers the refund the first call created, never a second one.
    pub async fn create_refund_keyed(
        &self,
        request: &CashRefundRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RefundReading, DlocalError> {
        const OPERATION: &str = "create refund";
        let amount = request
            .amount_minor
            .map(|minor| transformers::wire_amount(minor, request.currency))
            .transpose()
            .map_err(|source| DlocalError::Amount { operation: OPERATION, source })?;
        let beneficiary = &request.beneficiary;
        let body = api::RefundRequest {
            payment_id: request.payment_id.clone(),
            amount,
            currency: Some(request.currency.code().to_string()),
            notification_url: request.notification_url.clone(),
            description: request.description.clone(),
            beneficiary_name: beneficiary.name.clone(),
            bank: beneficiary.bank.clone(),
            bank_account: beneficiary.account.clone(),
            bank_account_type: beneficiary.account_type.clone(),
            bank_branch: beneficiary.branch.clone(),
            beneficiary_document: beneficiary.document.clone(),
        };
        let refund: api::Refund = self.post_keyed(OPERATION, &["refunds"], &body, idempotency_key).await?;
        transformers::refund_reading(&refund).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    pub async fn refund_status(&self, refund_id: &str) -> Result<RefundReading, DlocalError> {
        const OPERATION: &str = "refund status";
        let refund: api::Refund = self.get(OPERATION, &["refunds", refund_id, "status"]).await?;
        transformers::refund_reading(&refund).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
    ) -> Result<T, DlocalError> {
        self.send(operation, reqwest::Method::GET, path, Vec::new(), None).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
        body: &impl Serialize,
    ) -> Result<T, DlocalError> {
        self.post_keyed(operation, path, body, None).await
    }

    pub(super) async fn post_keyed<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &[&str],
        body: &impl Serialize,
        idempotency_key: Option<&str>,
    ) -> Result<T, DlocalError> {
        let body = serde_json::to_vec(body).map_err(|e| DlocalError::Decode {
            operation,
            field: "request".into(),
            message: e.to_string(),
        })?;
        self.send(operation, reqwest::Method::POST, path, body, idempotency_key).await
    }

    fn url(&self, path: &[&str]) -> reqwest::Url {
        let mut url = self.base_url.clone();
        {
            // Each part is escaped: an id with `/` or `?` cannot change the route.
            let mut segments = url.path_segments_mut().expect("checked in new(): the base URL can be a base");
            segments.pop_if_empty();
            segments.extend(path);
        }
        url
    }

    async fn send<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        path: &[&str],
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<T, DlocalError> {
        let credentials = &self.credentials;
        let date = x_date(Utc::now());
        let authorization = signature::authorization(&credentials.secret, &credentials.login, &date, &body);
        let mut builder = self.http.request(method, self.url(path));
        if let Some(key) = idempotency_key {
            builder = builder.header(HEADER_IDEMPOTENCY_KEY, key);
        }
        let response = builder
            .header(HEADER_DATE, &date)
            .header(HEADER_LOGIN, &credentials.login)
            .header(HEADER_TRANS_KEY, &credentials.trans_key)
            .header(HEADER_VERSION, api::API_VERSION)
            .header(CONTENT_TYPE, "application/json")
            .header(reqwest::header::AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| transport_error(operation, e))?;
        let status = response.status();
        let retry_after_s = retry_after_s(response.headers());
        let text = read_capped(operation, response).await?;
        if status.is_success() {
            return decode(operation, &text);
        }
        Err(answer_error(operation, status.as_u16(), retry_after_s, &text))
    }
}

fn transport_error(operation: &'static str, error: reqwest::Error) -> DlocalError {
    if error.is_timeout() {
        return DlocalError::Timeout { operation };
    }
    // The URL carries no secret; the error's source chain says what failed.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    DlocalError::Transport { operation, message }
}

/// `Retry-After` in seconds (dLocal sends seconds; an HTTP date is ignored).
fn retry_after_s(headers: &HeaderMap) -> Option<u64> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    text.trim().parse::<u64>().ok().map(|s| s.min(RETRY_AFTER_MAX_S))
}

async fn read_capped(operation: &'static str, mut response: reqwest::Response) -> Result<Vec<u8>, DlocalError> {
    if response.content_length().is_some_and(|len| len > RESPONSE_BODY_MAX_BYTES as u64) {
        return Err(DlocalError::BodyTooLarge { operation });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(operation, e))? {
        if body.len() + chunk.len() > RESPONSE_BODY_MAX_BYTES {
            return Err(DlocalError::BodyTooLarge { operation });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// JSON → `T`, naming the path of the field that did not fit (`ticket.expiration_date`).
fn decode<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T, DlocalError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        DlocalError::Decode { operation, field, message: e.into_inner().to_string() }
    })
}

fn answer_error(operation: &'static str, http_status: u16, retry_after_s: Option<u64>, body: &[u8]) -> DlocalError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let dlocal_code = parsed.as_ref().map(|e| e.code);
    let message = match &parsed {
        Some(error) => error.message.clone(),
        None => format!("HTTP {http_status} without a dLocal error body"),
    };
    match http_status {
        429 => DlocalError::RateLimited { operation, retry_after_s },
        401 | 403 => DlocalError::Unauthorized { operation, http_status, dlocal_code, message },
        500..=599 => DlocalError::Server { operation, http_status, dlocal_code, message },
        _ => DlocalError::Refused { operation, http_status, dlocal_code, message, param: parsed.and_then(|e| e.param) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_shows_only_the_login() {
        let credentials =
            DlocalCredentials { login: "merchant-1".into(), trans_key: "tk-SECRET".into(), secret: "s3cr3t".into() };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("merchant-1"), "{shown}");
        assert!(!shown.contains("tk-SECRET") && !shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn x_date_has_milliseconds_and_z() {
        let at = DateTime::parse_from_rfc3339("2026-03-05T03:30:00.5+00:00").unwrap().with_timezone(&Utc);
        assert_eq!(x_date(at), "2026-03-05T03:30:00.500Z");
    }

    #[test]
    fn error_answers_become_the_right_kind() {
        let refused = answer_error("x", 400, None, br#"{"code":5001,"message":"Missing parameter","param":"payer"}"#);
        assert_eq!(refused.code(), "dlocal.refused");
        assert_eq!(refused.dlocal_code(), Some(5001));
        assert!(!refused.is_retryable());
        let denied = answer_error("x", 403, None, br#"{"code":3001,"message":"Invalid Credentials."}"#);
        assert_eq!(denied.code(), "dlocal.credentials");
        assert_eq!(
            denied.to_string(),
            "dLocal x: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials."
        );
        let busy = answer_error("x", 502, None, b"<html>bad gateway</html>");
        assert_eq!(busy.code(), "dlocal.server");
        assert!(busy.is_retryable());
        assert_eq!(busy.to_string(), "dLocal x: server error (HTTP 502): HTTP 502 without a dLocal error body");
        let limited = answer_error("x", 429, Some(2), b"{}");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(limited.to_string(), "dLocal x: rate limited (HTTP 429), retry after 2 s");
    }

    #[test]
    fn decode_errors_name_the_field() {
        let err = decode::<api::Payment>(
            "payment",
            br#"{"id":"D-1","amount":1,"currency":"PEN","country":"PE","payment_method_id":"EF","status":"PAID","status_code":"200","ticket":{"number":7}}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), "dlocal.decode");
        assert!(err.to_string().contains("at `ticket.number`"), "{err}");
        let err = decode::<api::PaymentStatusAnswer>("payment status", br#"{"status_code":"200"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `status`"), "{err}");
        let ok: api::Payment = decode(
            "payment",
            br#"{"id":"D-1","amount":12.5,"currency":"PEN","country":"PE","payment_method_id":"EF","status":"PAID","status_code":200}"#,
        )
        .unwrap();
        assert_eq!(ok.amount.0.to_string(), "12.5");
    }
}
