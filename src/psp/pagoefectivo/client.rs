//! The PagoEfectivo CIP API client: a token cached until shortly before it
//! expires (and renewed once when the API answers 401 anyway), then CIPs
//! created, searched, extended and cancelled with it.

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::api::{
    self, CipInfo, CreateCipRequest, CreatedCipData, DecodeError, Envelope, ErrorBody, ExtendCipRequest, FieldError,
    MajorAmount, SearchEntry, SearchRequest, TokenData, TokenRequest,
};
use super::signature::token_hash;
use super::transformers;
use super::wire::CipStatus;
use crate::market::TimeError;
use crate::money::{Currency, MoneyError};
use crate::payments::PaymentStatus;
use crate::psp::PspError;
use crate::psp::http::RESPONSE_BODY_MAX_BYTES;

/// Whole-request limit for one CIP API call.
pub const REQUEST_TIMEOUT_MS: u64 = 15_000;
/// A token is renewed this long before it expires...
pub const TOKEN_RENEW_MARGIN_MS: i64 = 60_000;
/// ...or, for short-lived tokens, after this share of its life (percent).
pub const TOKEN_RENEW_AT_LIFE_PERCENT: i64 = 80;
/// Lines in one search request.
pub const SEARCH_ENTRIES_MAX: usize = 100;
/// PagoEfectivo answers in Peruvian Spanish.
pub const LANGUAGE: &str = "es-PE";

/// A PagoEfectivo service's credentials. `Debug` never shows the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct PeCredentials {
    pub service_id: String,
    pub access_key: String,
    pub secret: String,
}

impl fmt::Debug for PeCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeCredentials")
            .field("service_id", &self.service_id)
            .field("access_key", &"<redacted>")
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PagoEfectivoError {
    #[error("PagoEfectivo service id {0:?} must be a number")]
    ServiceId(String),
    #[error("PagoEfectivo {operation}: {reason}")]
    InvalidRequest { operation: &'static str, reason: String },
    #[error("PagoEfectivo {operation}: no answer within the time limit")]
    Timeout { operation: &'static str },
    #[error("PagoEfectivo {operation}: {source}")]
    Transport { operation: &'static str, source: reqwest::Error },
    #[error("PagoEfectivo {operation}: rate limited (HTTP 429)")]
    RateLimited { operation: &'static str },
    #[error("PagoEfectivo {operation}: server error (HTTP {status})")]
    Server { operation: &'static str, status: u16 },
    #[error("PagoEfectivo {operation}: refused (HTTP {status}), code {code}: {message}{}", describe_fields(.fields))]
    Refused { operation: &'static str, status: u16, code: String, message: String, fields: Vec<FieldError> },
    #[error("PagoEfectivo {operation}: unexpected HTTP {status} without a PagoEfectivo error body")]
    UnexpectedStatus { operation: &'static str, status: u16 },
    #[error("PagoEfectivo {operation}: answer larger than {RESPONSE_BODY_MAX_BYTES} bytes")]
    BodyTooLarge { operation: &'static str },
    #[error("PagoEfectivo {operation}: unreadable answer, {source}")]
    Decode { operation: &'static str, source: DecodeError },
    #[error("PagoEfectivo {operation}: {field}: {source}")]
    Amount { operation: &'static str, field: &'static str, source: MoneyError },
    #[error("PagoEfectivo {operation}: {field}: {source}")]
    Date { operation: &'static str, field: &'static str, source: TimeError },
    #[error("PagoEfectivo {operation}: {source}")]
    UnknownStatus { operation: &'static str, source: PspError },
}

fn describe_fields(fields: &[FieldError]) -> String {
    fields.iter().map(|f| format!("; {}: {} ({})", f.field, f.message, f.code)).collect()
}

impl PagoEfectivoError {
    pub fn code(&self) -> &'static str {
        match self {
            PagoEfectivoError::ServiceId(_) => "pagoefectivo.config",
            PagoEfectivoError::InvalidRequest { .. } => "pagoefectivo.invalid_request",
            PagoEfectivoError::Timeout { .. } => "pagoefectivo.timeout",
            PagoEfectivoError::Transport { .. } => "pagoefectivo.transport",
            PagoEfectivoError::RateLimited { .. } => "pagoefectivo.rate_limited",
            PagoEfectivoError::Server { .. } => "pagoefectivo.server",
            PagoEfectivoError::Refused { status: 401, .. } => "pagoefectivo.unauthorized",
            PagoEfectivoError::Refused { .. } => "pagoefectivo.refused",
            PagoEfectivoError::UnexpectedStatus { .. } => "pagoefectivo.http_status",
            PagoEfectivoError::BodyTooLarge { .. } => "pagoefectivo.body_too_large",
            PagoEfectivoError::Decode { .. } => "pagoefectivo.decode",
            PagoEfectivoError::Amount { .. } => "pagoefectivo.amount",
            PagoEfectivoError::Date { .. } => "pagoefectivo.date",
            PagoEfectivoError::UnknownStatus { .. } => "pagoefectivo.unknown_status",
        }
    }

    /// Worth trying again later: the PSP was unreachable, slow, busy or broken.
    /// Whether a retry is safe (a CIP creation that may have gone through) is
    /// the caller's call: reuse the same `transactionCode`.
    pub fn is_retryable(&self) -> bool {
        match self {
            PagoEfectivoError::Timeout { .. }
            | PagoEfectivoError::Transport { .. }
            | PagoEfectivoError::RateLimited { .. }
            | PagoEfectivoError::Server { .. } => true,
            PagoEfectivoError::ServiceId(_)
            | PagoEfectivoError::InvalidRequest { .. }
            | PagoEfectivoError::Refused { .. }
            | PagoEfectivoError::UnexpectedStatus { .. }
            | PagoEfectivoError::BodyTooLarge { .. }
            | PagoEfectivoError::Decode { .. }
            | PagoEfectivoError::Amount { .. }
            | PagoEfectivoError::Date { .. }
            | PagoEfectivoError::UnknownStatus { .. } => false,
        }
    }

    /// PagoEfectivo's own error code, when it refused the request.
    pub fn psp_code(&self) -> Option<&str> {
        match self {
            PagoEfectivoError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The person who will pay the CIP (PagoEfectivo requires these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer {
    pub email: String,
    pub name: String,
    pub last_name: String,
    /// `DNI`, `CE`, `PAS`...
    pub document_type: String,
    pub document_number: String,
    pub phone: String,
    /// `+51`.
    pub phone_country_code: String,
    pub ubigeo: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCip {
    /// Our order reference; PagoEfectivo echoes it and searches by it.
    pub transaction_code: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub expires_at: DateTime<Utc>,
    pub concept: String,
    pub additional_data: Option<String>,
    pub payer: Payer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedCip {
    pub cip: u64,
    pub transaction_code: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub expires_at: DateTime<Utc>,
    /// `dateExpiry` exactly as PagoEfectivo wrote it (Lima time and offset).
    pub date_expiry: String,
    /// The payment instructions page for the payer.
    pub cip_url: String,
}

/// One thing to look up in a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CipQuery {
    Cip(u64),
    TransactionCode(String),
}

/// A CIP as PagoEfectivo reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipRecord {
    pub cip: u64,
    pub transaction_code: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub status: PaymentStatus,
    pub cip_status: CipStatus,
    /// The API's numeric status and its word, kept for the timeline.
    pub status_code: i64,
    pub status_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
}

struct CachedToken {
    value: String,
    renew_at: Instant,
}

pub struct PagoEfectivoClient {
    http: reqwest::Client,
    base_url: String,
    credentials: PeCredentials,
    service_id: u64,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl fmt::Debug for PagoEfectivoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagoEfectivoClient")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl PagoEfectivoClient {
    /// `text` (an error of this client) without this account's keys or
    /// anything credential-shaped: [`crate::redact::redact`].
    pub fn redact(&self, text: &str) -> String {
        let c = &self.credentials;
        crate::redact::redact(text, &[&c.service_id, &c.access_key, &c.secret])
    }

    /// `base_url` without a trailing slash: `https://services.pagoefectivo.pe`, or the sandbox.
    pub fn new(base_url: &str, credentials: PeCredentials) -> Result<PagoEfectivoClient, PagoEfectivoError> {
        Self::with_timeout(base_url, credentials, Duration::from_millis(REQUEST_TIMEOUT_MS))
    }

    pub fn with_timeout(
        base_url: &str,
        credentials: PeCredentials,
        request_timeout: Duration,
    ) -> Result<PagoEfectivoClient, PagoEfectivoError> {
        let service_id = credentials
            .service_id
            .trim()
            .parse::<u64>()
            .map_err(|_| PagoEfectivoError::ServiceId(credentials.service_id.clone()))?;
        let http = crate::psp::http::client(request_timeout)
            .map_err(|source| PagoEfectivoError::Transport { operation: "setup", source })?;
        Ok(PagoEfectivoClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            service_id,
            token: tokio::sync::Mutex::new(None),
        })
    }

    pub async fn create_cip(&self, cip: &NewCip) -> Result<CreatedCip, PagoEfectivoError> {
        const OP: &str = "create_cip";
        let invalid = |reason: String| PagoEfectivoError::InvalidRequest { operation: OP, reason };
        if !api::CURRENCIES.contains(&cip.currency) {
            return Err(invalid(format!("currency {} is not taken (PEN or USD)", cip.currency)));
        }
        if cip.amount_minor <= 0 {
            return Err(invalid(format!("amount must be positive, got {} minor units", cip.amount_minor)));
        }
        let request = CreateCipRequest {
            currency: cip.currency.code().to_string(),
            amount: MajorAmount::from_minor(cip.amount_minor, cip.currency),
            transaction_code: cip.transaction_code.clone(),
            date_expiry: api::lima_timestamp(cip.expires_at),
            payment_concept: cip.concept.clone(),
            additional_data: cip.additional_data.clone(),
            user_email: cip.payer.email.clone(),
            user_name: cip.payer.name.clone(),
            user_last_name: cip.payer.last_name.clone(),
            user_ubigeo: cip.payer.ubigeo.clone(),
            user_country: cip.payer.country.clone(),
            user_document_type: cip.payer.document_type.clone(),
            user_document_number: cip.payer.document_number.clone(),
            user_phone: cip.payer.phone.clone(),
            user_code_country: cip.payer.phone_country_code.clone(),
        };
        let data: CreatedCipData = self.call(OP, Method::POST, api::CIPS_PATH.to_string(), Some(&request)).await?;
        let currency = api::currency(&data.currency).map_err(|source| PagoEfectivoError::Amount {
            operation: OP,
            field: "data.currency",
            source,
        })?;
        let amount_minor = data.amount.to_minor(currency).map_err(|source| PagoEfectivoError::Amount {
            operation: OP,
            field: "data.amount",
            source,
        })?;
        let expires_at = api::parse_timestamp(&data.date_expiry).map_err(|source| PagoEfectivoError::Date {
            operation: OP,
            field: "data.dateExpiry",
            source,
        })?;
        Ok(CreatedCip {
            cip: data.cip,
            transaction_code: data.transaction_code,
            currency,
            amount_minor,
            expires_at,
            date_expiry: data.date_expiry,
            cip_url: data.cip_url,
        })
    }

    /// CIPs by number or `transactionCode`; ones PagoEfectivo does not know are left out.
    pub async fn search_cips(&self, queries: &[CipQuery]) -> Result<Vec<CipRecord>, PagoEfectivoError> {
        const OP: &str = "search_cips";
        if queries.is_empty() || queries.len() > SEARCH_ENTRIES_MAX {
            return Err(PagoEfectivoError::InvalidRequest {
                operation: OP,
                reason: format!("a search takes 1 to {SEARCH_ENTRIES_MAX} lines, got {}", queries.len()),
            });
        }
        let data = queries
            .iter()
            .map(|query| match query {
                CipQuery::Cip(cip) => SearchEntry { cip: Some(*cip), transaction_code: None },
                CipQuery::TransactionCode(code) => SearchEntry { cip: None, transaction_code: Some(code.clone()) },
            })
            .collect();
        let found: Vec<CipInfo> =
            self.call(OP, Method::POST, api::CIPS_SEARCH_PATH.to_string(), Some(&SearchRequest { data })).await?;
        found.into_iter().map(|info| record(OP, info)).collect()
    }

    /// Moves a pending CIP's expiry (later, usually).
    pub async fn extend_cip(&self, cip: u64, expires_at: DateTime<Utc>) -> Result<CipRecord, PagoEfectivoError> {
        const OP: &str = "extend_cip";
        let request = ExtendCipRequest { date_expiry: api::lima_timestamp(expires_at) };
        let info: CipInfo = self.call(OP, Method::PATCH, format!("{}/{cip}", api::CIPS_PATH), Some(&request)).await?;
        record(OP, info)
    }

    /// Cancels (deletes) a pending CIP: the payer can no longer pay it.
    pub async fn cancel_cip(&self, cip: u64) -> Result<CipRecord, PagoEfectivoError> {
        const OP: &str = "cancel_cip";
        let info: CipInfo = self.call::<(), _>(OP, Method::DELETE, format!("{}/{cip}", api::CIPS_PATH), None).await?;
        record(OP, info)
    }

    /// Asks for a fresh token (and keeps it): succeeds exactly when
    /// PagoEfectivo accepts the service id, access key and secret. The
    /// connection test of a PagoEfectivo account.
    pub async fn authorize(&self) -> Result<(), PagoEfectivoError> {
        let fresh = self.fetch_token().await?;
        *self.token.lock().await = Some(fresh);
        Ok(())
    }

    /// One authenticated call; a 401 (token revoked or expired early) renews the token and tries once more.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        path: String,
        body: Option<&B>,
    ) -> Result<T, PagoEfectivoError> {
        let mut renewed = false;
        loop {
            let token = self.bearer().await?;
            let (status, bytes) = self.send(operation, method.clone(), &path, body, Some(&token)).await?;
            if status == 401 && !renewed {
                self.forget_token(&token).await;
                renewed = true;
                continue;
            }
            return interpret::<T>(operation, status, &bytes).map(|envelope| envelope.data);
        }
    }

    async fn bearer(&self) -> Result<String, PagoEfectivoError> {
        // Held across the fetch: concurrent callers wait for one token instead of each asking.
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|token| Instant::now() < token.renew_at) {
            return Ok(token.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn forget_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|token| token.value == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, PagoEfectivoError> {
        const OP: &str = "token";
        let date_request = api::lima_timestamp(Utc::now());
        let id_service = self.service_id.to_string();
        let request = TokenRequest {
            access_key: self.credentials.access_key.clone(),
            id_service: self.service_id,
            hash_string: token_hash(&id_service, &self.credentials.access_key, &self.credentials.secret, &date_request),
            date_request,
        };
        let received_at = Instant::now();
        let (status, bytes) = self.send(OP, Method::POST, api::AUTHORIZATIONS_PATH, Some(&request), None).await?;
        let data: TokenData = interpret(OP, status, &bytes)?.data;
        let date = |field, text: &str| {
            api::parse_timestamp(text).map_err(|source| PagoEfectivoError::Date { operation: OP, field, source })
        };
        let start = date("data.tokenStart", &data.token_start)?;
        let expires = date("data.tokenExpires", &data.token_expires)?;
        // Lifetime by the PSP's own two dates (immune to clock skew), but never past
        // `tokenExpires` read on our clock either: the earlier of the two wins.
        let lifetime_ms = (expires - start).num_milliseconds();
        let left_on_our_clock_ms = (expires - Utc::now()).num_milliseconds();
        let usable_ms = lifetime_ms.min(left_on_our_clock_ms);
        let margin_ms = TOKEN_RENEW_MARGIN_MS.min(lifetime_ms * (100 - TOKEN_RENEW_AT_LIFE_PERCENT) / 100);
        let renew_after = Duration::from_millis(u64::try_from(usable_ms - margin_ms).unwrap_or(0));
        Ok(CachedToken { value: data.token, renew_at: received_at + renew_after })
    }

    async fn send<B: Serialize>(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        bearer: Option<&str>,
    ) -> Result<(u16, Vec<u8>), PagoEfectivoError> {
        let transport = |source: reqwest::Error| {
            if source.is_timeout() {
                PagoEfectivoError::Timeout { operation }
            } else {
                PagoEfectivoError::Transport { operation, source }
            }
        };
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(ACCEPT, "application/json")
            .header(ACCEPT_LANGUAGE, LANGUAGE)
            .header(CONTENT_TYPE, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(serde_json::to_vec(body).expect("wire types always serialize"));
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if response.content_length().is_some_and(|length| length > RESPONSE_BODY_MAX_BYTES as u64) {
            return Err(PagoEfectivoError::BodyTooLarge { operation });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > RESPONSE_BODY_MAX_BYTES {
                return Err(PagoEfectivoError::BodyTooLarge { operation });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }
}

/// An answer into its data, or the error it stands for.
fn interpret<T: DeserializeOwned>(
    operation: &'static str,
    status: u16,
    bytes: &[u8],
) -> Result<Envelope<T>, PagoEfectivoError> {
    let refused = |body: ErrorBody| PagoEfectivoError::Refused {
        operation,
        status,
        code: body.code,
        message: body.message,
        fields: body.data,
    };
    match status {
        200..=299 => {
            if let Ok(body) = api::decode::<ErrorBody>(bytes)
                .map_err(drop)
                .and_then(|body| if body.code == api::SUCCESS_CODE { Err(()) } else { Ok(body) })
            {
                return Err(refused(body));
            }
            api::decode(bytes).map_err(|source| PagoEfectivoError::Decode { operation, source })
        }
        429 => Err(PagoEfectivoError::RateLimited { operation }),
        500..=599 => Err(PagoEfectivoError::Server { operation, status }),
        _ => match api::decode::<ErrorBody>(bytes) {
            Ok(body) => Err(refused(body)),
            Err(_) => Err(PagoEfectivoError::UnexpectedStatus { operation, status }),
        },
    }
}

fn record(operation: &'static str, info: CipInfo) -> Result<CipRecord, PagoEfectivoError> {
    let cip_status = transformers::api_status(info.status, &info.status_name)
        .map_err(|source| PagoEfectivoError::UnknownStatus { operation, source })?;
    let currency = api::currency(&info.currency).map_err(|source| PagoEfectivoError::Amount {
        operation,
        field: "currency",
        source,
    })?;
    let amount_minor = info.amount.to_minor(currency).map_err(|source| PagoEfectivoError::Amount {
        operation,
        field: "amount",
        source,
    })?;
    let date = |field, text: &str| {
        api::parse_timestamp(text).map_err(|source| PagoEfectivoError::Date { operation, field, source })
    };
    let optional_date = |field, text: &Option<String>| text.as_deref().map(|text| date(field, text)).transpose();
    Ok(CipRecord {
        cip: info.cip,
        status: PaymentStatus::from(cip_status),
        cip_status,
        status_code: info.status,
        created_at: date("dateCreation", &info.date_creation)?,
        expires_at: date("dateExpiry", &info.date_expiry)?,
        paid_at: optional_date("datePayment", &info.date_payment)?,
        removed_at: optional_date("dateRemoval", &info.date_removal)?,
        status_name: info.status_name,
        transaction_code: info.transaction_code,
        currency,
        amount_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_redacts_the_keys() {
        let credentials =
            PeCredentials { service_id: "1234".into(), access_key: "pe-access".into(), secret: "pe-secret".into() };
        let shown = format!("{credentials:?}");
        assert_eq!(shown, r#"PeCredentials { service_id: "1234", access_key: "<redacted>", secret: "<redacted>" }"#);
        let client = PagoEfectivoClient::new("http://127.0.0.1:9", credentials).unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("pe-access") && !shown.contains("pe-secret"), "{shown}");
    }

    #[test]
    fn a_service_id_must_be_a_number() {
        let credentials = PeCredentials { service_id: "abc".into(), access_key: "k".into(), secret: "s".into() };
        let err = PagoEfectivoClient::new("http://127.0.0.1:9", credentials).unwrap_err();
        assert_eq!(err.code(), "pagoefectivo.config");
    }

    #[test]
    fn answers_map_to_errors_by_status_and_code() {
        let refused = r#"{"code":"111","message":"Solicitud con datos inválidos",
            "data":[{"code":"111","field":"currency","message":"moneda no soportada"}]}"#
            .as_bytes();
        let err = interpret::<CipInfo>("create_cip", 400, refused).unwrap_err();
        assert_eq!(err.code(), "pagoefectivo.refused");
        assert_eq!(err.psp_code(), Some("111"));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "PagoEfectivo create_cip: refused (HTTP 400), code 111: Solicitud con datos inválidos; \
             currency: moneda no soportada (111)"
        );
        // A 200 that carries an error code is still an error.
        let err = interpret::<CipInfo>("search_cips", 200, br#"{"code":"111","message":"x","data":[]}"#).unwrap_err();
        assert_eq!(err.psp_code(), Some("111"));
        let err = interpret::<CipInfo>("search_cips", 429, b"").unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), ("pagoefectivo.rate_limited", true));
        let err = interpret::<CipInfo>("search_cips", 503, b"<html>").unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), ("pagoefectivo.server", true));
        let err = interpret::<CipInfo>("search_cips", 404, b"<html>").unwrap_err();
        assert_eq!((err.code(), err.is_retryable()), ("pagoefectivo.http_status", false));
        let err =
            interpret::<TokenData>("token", 200, br#"{"code":"100","message":"ok","data":{"token":1}}"#).unwrap_err();
        assert_eq!(err.code(), "pagoefectivo.decode");
        assert!(err.to_string().contains("field data.token"), "{err}");
    }

    #[test]
    fn search_records_map_every_status_and_refuse_unknown_ones() {
        let info = |status: i64, name: &str| CipInfo {
            cip: 7,
            transaction_code: "ORD-7".into(),
            amount: MajorAmount::from_minor(8_990, Currency::Pen),
            currency: "PEN".into(),
            status,
            status_name: name.into(),
            date_creation: "2026-03-04T10:00:00-05:00".into(),
            date_expiry: "2026-03-05T10:00:00-05:00".into(),
            date_payment: None,
            date_removal: None,
        };
        for (code, name, expected) in [
            (21, "Expirado", PaymentStatus::Expired),
            (22, "Generado", PaymentStatus::Pending),
            (23, "Pagado", PaymentStatus::Paid),
            (25, "Eliminado", PaymentStatus::Cancelled),
        ] {
            let record = record("search_cips", info(code, name)).unwrap();
            assert_eq!((record.status, record.amount_minor, record.status_code), (expected, 8_990, code));
        }
        let err = record("search_cips", info(24, "Bloqueado")).unwrap_err();
        assert_eq!(err.code(), "pagoefectivo.unknown_status");
        assert!(err.to_string().contains("\"24 (Bloqueado)\""), "{err}");
    }
}
