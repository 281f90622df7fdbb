//! PagoEfectivo callbacks: `{eventType, operationNumber, data{cip, currency,
//! amount, paymentDate, transactionCode}}`, read into an observation. Only
//! what a callback needs; the full API types live in `api.rs`.
//!
//! The CIP is the payment id (as in PagoEfectivo's reports) and
//! `transactionCode` is the shop's order id. A callback with the CIP, the
//! order, the currency and the amount is enough to create the payment;
//! without them it can only update a CIP we know.

use super::transformers;
use super::wire::CipStatus;
use crate::market::{Country, TimestampFormat, parse_timestamp};
use crate::model::observation::NotificationClaims;
use crate::model::observation::{Observed, StatusReport};
use crate::money::{self, Currency, NumberFormat};
use crate::payments::{PaymentObservation, PaymentStatus, VoucherNetwork};
use crate::psp::dlocal::webhook::scalar_text;
use crate::psp::{Headers, NotificationSecrets, SignatureCheck, WebhookReader};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The headers kept with a filed callback: the signature.
pub const KEPT_HEADERS: &[&str] = &["pe-signature"];

/// PagoEfectivo's callbacks as the listener reads them: the body alone is
/// signed (PE-Signature) and no date is sent, so every callback is fresh;
/// replays are harmless because applying is idempotent.
pub struct PagoEfectivoWebhook;

impl WebhookReader for PagoEfectivoWebhook {
    fn kept_headers(&self) -> &'static [&'static str] {
        KEPT_HEADERS
    }

    fn check_signature(
        &self,
        headers: Headers<'_>,
        body: &[u8],
        secrets: &NotificationSecrets,
    ) -> Option<SignatureCheck> {
        let key = secrets.pagoefectivo.as_ref()?;
        let Some(signature) = headers.get("pe-signature") else {
            return Some(SignatureCheck::Unsigned("no PE-Signature header".into()));
        };
        Some(match super::signature::verify_callback(key.expose(), body, signature) {
            Ok(()) => SignatureCheck::Verified,
            Err(e) => SignatureCheck::Forged(e.refusal_text()),
        })
    }

    fn check_fresh(&self, _headers: Headers<'_>, _now: DateTime<Utc>, _stale_after_s: i64) -> Result<(), String> {
        Ok(())
    }

    fn parse(&self, body: &[u8]) -> Result<(Observed, NotificationClaims), (&'static str, String)> {
        parse(body).map_err(|e| (e.code(), e.to_string()))
    }

    fn claims(&self, body: &[u8]) -> Option<NotificationClaims> {
        claims(body)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallbackWire {
    event_type: String,
    #[serde(default)]
    operation_number: Option<Box<RawValue>>,
    data: DataWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataWire {
    cip: Box<RawValue>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default)]
    payment_date: Option<String>,
    #[serde(default)]
    transaction_code: Option<String>,
}

/// The callback events PagoEfectivo sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackEvent {
    CipPaid,
    CipExpired,
    /// A paid CIP taken back (`Extornado`): the money is no longer the shop's.
    CipReversed,
}

impl CallbackEvent {
    pub const EXPECTED: &'static str = "cip.paid, cip.expired, cip.extorned";

    pub fn parse(text: &str) -> Option<CallbackEvent> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cip.paid" => Some(CallbackEvent::CipPaid),
            "cip.expired" => Some(CallbackEvent::CipExpired),
            // PagoEfectivo's Spanish `extornado` and the English name some
            // integrations send for the same event.
            "cip.extorned" | "cip.extornado" | "cip.reversed" => Some(CallbackEvent::CipReversed),
            _ => None,
        }
    }

    /// The CIP state the event announces; our status comes from the one
    /// exhaustive CIP mapping in `transformers`.
    pub fn cip_status(self) -> CipStatus {
        match self {
            CallbackEvent::CipPaid => CipStatus::Pagado,
            CallbackEvent::CipExpired => CipStatus::Expirado,
            CallbackEvent::CipReversed => CipStatus::Extornado,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PagoEfectivoCallbackError {
    #[error("not a PagoEfectivo callback: {0}")]
    Json(String),
    #[error("unknown PagoEfectivo eventType {0:?} (expected one of {exp})", exp = CallbackEvent::EXPECTED)]
    UnknownEvent(String),
    #[error("amount {text}: {reason}")]
    Amount { text: String, reason: String },
    #[error("paymentDate {0:?} is not a date/time")]
    Date(String),
    #[error("{0} is empty")]
    Empty(&'static str),
}

impl PagoEfectivoCallbackError {
    pub fn code(&self) -> &'static str {
        match self {
            PagoEfectivoCallbackError::Json(_) | PagoEfectivoCallbackError::Empty(_) => {
                "pagoefectivo.callback.malformed"
            }
            PagoEfectivoCallbackError::UnknownEvent(_) => "pagoefectivo.callback.event",
            PagoEfectivoCallbackError::Amount { .. } => "pagoefectivo.callback.amount",
            PagoEfectivoCallbackError::Date(_) => "pagoefectivo.callback.date",
        }
    }
}

fn wire(body: &[u8]) -> Result<CallbackWire, PagoEfectivoCallbackError> {
    serde_json::from_slice(body).map_err(|e| PagoEfectivoCallbackError::Json(e.to_string()))
}

fn amount_minor(raw: &RawValue, currency: Currency) -> Result<i64, PagoEfectivoCallbackError> {
    let text = scalar_text(raw);
    money::parse_minor(&text, currency, NumberFormat::PLAIN)
        .map_err(|e| PagoEfectivoCallbackError::Amount { text: text.clone(), reason: e.to_string() })
}

fn claims_of(w: &CallbackWire) -> NotificationClaims {
    let currency = w.data.currency.as_deref().and_then(|c| Currency::parse(c).ok());
    NotificationClaims {
        payment_id: scalar_text(&w.data.cip),
        order_id: w.data.transaction_code.as_deref().unwrap_or("").trim().to_string(),
        status: w.event_type.trim().to_string(),
        amount_minor: match (&w.data.amount, currency) {
            (Some(raw), Some(c)) => amount_minor(raw, c).ok(),
            _ => None,
        },
        currency,
        country: Some(Country::Peru),
    }
}

/// What a body claims, read leniently (for forged and refused callbacks).
pub fn claims(body: &[u8]) -> Option<NotificationClaims> {
    wire(body).ok().map(|w| claims_of(&w))
}

/// Reads a callback body into an observation of its CIP.
pub fn parse(body: &[u8]) -> Result<(Observed, NotificationClaims), PagoEfectivoCallbackError> {
    let w = wire(body)?;
    let event = CallbackEvent::parse(&w.event_type)
        .ok_or_else(|| PagoEfectivoCallbackError::UnknownEvent(w.event_type.trim().to_string()))?;
    let status = PaymentStatus::from(event.cip_status());
    let claims = claims_of(&w);
    if claims.payment_id.is_empty() {
        return Err(PagoEfectivoCallbackError::Empty("data.cip"));
    }
    let event_date: Option<DateTime<Utc>> = match w.data.payment_date.as_deref().map(str::trim) {
        None | Some("") => None,
        // Offset-less times are Lima's, as in PagoEfectivo's reports.
        Some(t) => Some(
            parse_timestamp(t, &TimestampFormat::Iso, Country::Peru.zone())
                .map_err(|_| PagoEfectivoCallbackError::Date(t.to_string()))?,
        ),
    };
    let paid_at = status.paid_time(event_date);
    // The CIP's own word for its state, as the reports write it.
    let psp_status = match event.cip_status() {
        CipStatus::Pagado => "Pagado",
        CipStatus::Expirado => "Expirado",
        CipStatus::Pendiente => "Pendiente",
        CipStatus::Anulado => "Anulado",
        CipStatus::Extornado => "Extornado",
    }
    .to_string();
    debug_assert_eq!(transformers::payment_status(&psp_status), Ok(status));
    let status_code = w.operation_number.as_deref().map(scalar_text).unwrap_or_default();
    let observed = match (claims.order_id.as_str(), w.data.currency.as_deref(), w.data.amount.as_deref()) {
        (order_id, Some(currency), Some(amount)) if !order_id.is_empty() => {
            let currency = Currency::parse(currency)
                .map_err(|e| PagoEfectivoCallbackError::Amount { text: currency.to_string(), reason: e.to_string() })?;
            Observed::Payment(PaymentObservation {
                psp: super::PSP_NAME.to_string(),
                payment_id: claims.payment_id.clone(),
                order_id: order_id.to_string(),
                country: Country::Peru,
                network: VoucherNetwork::PagoEfectivo,
                currency,
                amount_minor: amount_minor(amount, currency)?,
                status,
                psp_status,
                status_code,
                created_at: None,
                paid_at,
                expires_at: match status {
                    PaymentStatus::Expired => event_date,
                    PaymentStatus::Pending
                    | PaymentStatus::Rejected
                    | PaymentStatus::Cancelled
                    | PaymentStatus::Paid
                    | PaymentStatus::Refunded
                    | PaymentStatus::Reversed
                    | PaymentStatus::ChargedBack => None,
                },
                voucher_code: claims.payment_id.clone(),
                // The event's own time: a reversal is dated by it, not by the CIP's creation.
                status_at: event_date,
            })
        }
        _ => Observed::Status(StatusReport {
            psp: super::PSP_NAME.to_string(),
            payment_id: claims.payment_id.clone(),
            status,
            psp_status,
            status_code,
            status_at: event_date,
        }),
    };
    Ok((observed, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_paid_callback() {
        let body = br#"{"eventType":"cip.paid","operationNumber":"OP90001003","data":{"cip":90001003,
            "currency":"PEN","amount":1234.50,"paymentDate":"2026-03-03T18:45:10-05:00","transactionCode":"S-003"}}"#;
        let (observed, claims) = parse(body).unwrap();
        let Observed::Payment(p) = observed else { panic!("whole payment expected") };
        assert_eq!((p.payment_id.as_str(), p.order_id.as_str()), ("90001003", "S-003"));
        assert_eq!(p.amount_minor, 123_450);
        assert_eq!(
            (p.status, p.psp_status.as_str(), p.status_code.as_str()),
            (PaymentStatus::Paid, "Pagado", "OP90001003")
        );
        assert_eq!(p.paid_at.unwrap().to_rfc3339(), "2026-03-03T23:45:10+00:00");
        assert_eq!(claims.status, "cip.paid");
    }

    #[test]
    fn a_reversal_is_dated_by_its_own_event_and_never_marks_a_payment_time() {
        let body = br#"{"eventType":"cip.extorned","operationNumber":"OP90001003-X","data":{"cip":90001003,
            "currency":"PEN","amount":1234.50,"paymentDate":"2026-03-09T10:00:00-05:00","transactionCode":"S-003"}}"#;
        let (observed, _) = parse(body).unwrap();
        let Observed::Payment(p) = observed else { panic!("whole payment expected") };
        assert_eq!((p.status, p.psp_status.as_str()), (PaymentStatus::Reversed, "Extornado"));
        assert_eq!(p.paid_at, None, "the reversal's date is not a payment date");
        assert_eq!(p.status_at.unwrap().to_rfc3339(), "2026-03-09T15:00:00+00:00");
        let (observed, _) = parse(br#"{"eventType":"cip.reversed","data":{"cip":"90001004"}}"#).unwrap();
        assert!(matches!(observed, Observed::Status(StatusReport { status: PaymentStatus::Reversed, .. })));
    }

    #[test]
    fn refuses_unknown_events_by_name() {
        let err = parse(br#"{"eventType":"cip.refunded","data":{"cip":"1"}}"#).unwrap_err();
        assert!(err.to_string().contains("\"cip.refunded\""), "{err}");
        assert_eq!(err.code(), "pagoefectivo.callback.event");
        let (observed, _) = parse(br#"{"eventType":"cip.expired","data":{"cip":"90001004"}}"#).unwrap();
        assert!(matches!(observed, Observed::Status(StatusReport { status: PaymentStatus::Expired, .. })));
    }
}
