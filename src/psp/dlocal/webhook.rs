//! dLocal payment notifications: the payment object dLocal POSTs to our
//! `notification_url`, read into an observation. Only the fields a
//! notification needs; the full API types live in `api.rs`.
//!
//! A chargeback comes as its own object (`id` is the chargeback's, `payment_id`
//! the payment it debits) and is read into a status report on that payment.
//!
//! Amounts are read from the JSON text itself (never through `f64`). dLocal
//! quotes COP in whole pesos: a COP amount with decimals is refused rather
//! than rounded; every other currency may carry up to its ISO decimals.

use super::transformers;
use crate::market::{TimestampFormat, parse_timestamp};
use crate::model::observation::NotificationClaims;
use crate::model::observation::{Observed, StatusReport};
use crate::money::{self, Currency, NumberFormat};
use crate::payments::{PaymentObservation, PaymentStatus};
use crate::psp::{Headers, NotificationSecrets, PspError, SignatureCheck, WebhookReader};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Clock skew tolerated for an X-Date in the future.
pub const X_DATE_FUTURE_SKEW_S_MAX: i64 = 60;

/// The headers kept with a filed notification: what the signature covers or carries.
pub const KEPT_HEADERS: &[&str] = &["x-date", "x-login", "authorization"];

/// dLocal's notifications as the listener reads them: signed over X-Login,
/// X-Date and the body, dated by X-Date.
pub struct DlocalWebhook;

impl WebhookReader for DlocalWebhook {
    fn kept_headers(&self) -> &'static [&'static str] {
        KEPT_HEADERS
    }

    fn check_signature(
        &self,
        headers: Headers<'_>,
        body: &[u8],
        secrets: &NotificationSecrets,
    ) -> Option<SignatureCheck> {
        let key = secrets.dlocal.as_ref()?;
        let (Some(x_date), Some(x_login), Some(authorization)) =
            (headers.get("x-date"), headers.get("x-login"), headers.get("authorization"))
        else {
            let absent: Vec<&str> = [("X-Date", "x-date"), ("X-Login", "x-login"), ("Authorization", "authorization")]
                .into_iter()
                .filter(|(_, h)| headers.get(h).is_none())
                .map(|(label, _)| label)
                .collect();
            return Some(SignatureCheck::Unsigned(format!("no {} header", absent.join(", "))));
        };
        if let Some(login) = &key.login
            && login != x_login
        {
            return Some(SignatureCheck::Forged(format!("X-Login {x_login:?} is not the merchant's login")));
        }
        Some(match super::signature::verify(key.secret.expose(), x_login, x_date, body, authorization) {
            Ok(()) => SignatureCheck::Verified,
            Err(e) => SignatureCheck::Forged(e.refusal_text()),
        })
    }

    /// Refuses a notification whose X-Date is older than `stale_after_s` or
    /// more than [`X_DATE_FUTURE_SKEW_S_MAX`] ahead of `now`.
    fn check_fresh(&self, headers: Headers<'_>, now: DateTime<Utc>, stale_after_s: i64) -> Result<(), String> {
        let text = headers.get("x-date").unwrap_or_default();
        let sent = DateTime::parse_from_rfc3339(text)
            .map_err(|_| format!("X-Date {text:?} is not an RFC 3339 date/time"))?
            .with_timezone(&Utc);
        let age_s = (now - sent).num_seconds();
        if age_s > stale_after_s {
            return Err(format!("X-Date {text} is {age_s} s old (the limit is {stale_after_s} s)"));
        }
        if -age_s > X_DATE_FUTURE_SKEW_S_MAX {
            return Err(format!("X-Date {text} is {} s in the future", -age_s));
        }
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
struct PaymentWire {
    id: String,
    status: String,
    /// Only on a chargeback: the payment it debits.
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    status_code: Option<Box<RawValue>>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    payment_method_id: Option<String>,
    #[serde(default)]
    created_date: Option<String>,
    #[serde(default)]
    approved_date: Option<String>,
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default)]
    ticket: Option<TicketWire>,
}

#[derive(Deserialize)]
struct TicketWire {
    #[serde(default)]
    number: Option<Box<RawValue>>,
    #[serde(default)]
    expiration_date: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DlocalNotificationError {
    #[error("not a dLocal payment notification: {0}")]
    Json(String),
    #[error(transparent)]
    Psp(#[from] PspError),
    #[error("amount {text}: {reason}")]
    Amount { text: String, reason: String },
    #[error("{field} {text:?} is not a date/time")]
    Date { field: &'static str, text: String },
    #[error("{0} is empty")]
    Empty(&'static str),
}

impl DlocalNotificationError {
    pub fn code(&self) -> &'static str {
        match self {
            DlocalNotificationError::Json(_) | DlocalNotificationError::Empty(_) => "dlocal.notification.malformed",
            DlocalNotificationError::Psp(PspError::UnknownStatus { .. }) => "dlocal.notification.status",
            DlocalNotificationError::Psp(PspError::UnknownMethod { .. }) => "dlocal.notification.method",
            DlocalNotificationError::Amount { .. } => "dlocal.notification.amount",
            DlocalNotificationError::Date { .. } => "dlocal.notification.date",
        }
    }
}

/// A JSON string or number as plain text (`"200"` and `200` both give `200`).
pub(crate) fn scalar_text(raw: &RawValue) -> String {
    let text = raw.get().trim();
    match serde_json::from_str::<String>(text) {
        Ok(s) => s.trim().to_string(),
        Err(_) if text == "null" => String::new(),
        Err(_) => text.to_string(),
    }
}

/// dLocal's amount (`150000`, `"75.50"`) in minor units of `currency`.
pub fn amount_minor(raw: &RawValue, currency: Currency) -> Result<i64, DlocalNotificationError> {
    let text = scalar_text(raw);
    let bad = |reason: String| DlocalNotificationError::Amount { text: text.clone(), reason };
    let value = money::parse_decimal(&text, NumberFormat::PLAIN).map_err(|e| bad(e.to_string()))?;
    match currency {
        Currency::Cop if !value.fract().is_zero() => {
            return Err(bad("dLocal quotes COP in whole pesos; a fraction is refused, not rounded".into()));
        }
        Currency::Cop | Currency::Pen | Currency::Usd => {}
    }
    money::parse_minor(&text, currency, NumberFormat::PLAIN).map_err(|e| bad(e.to_string()))
}

fn instant(field: &'static str, text: &Option<String>) -> Result<Option<DateTime<Utc>>, DlocalNotificationError> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_timestamp(t, &TimestampFormat::Iso, chrono_tz::UTC)
            .map(Some)
            .map_err(|_| DlocalNotificationError::Date { field, text: t.to_string() }),
    }
}

fn wire(body: &[u8]) -> Result<PaymentWire, DlocalNotificationError> {
    serde_json::from_slice(body).map_err(|e| DlocalNotificationError::Json(e.to_string()))
}

/// The payment a chargeback debits, when the body is one.
fn charged_payment(w: &PaymentWire) -> Option<&str> {
    w.payment_id.as_deref().map(str::trim).filter(|p| !p.is_empty())
}

fn claims_of(w: &PaymentWire) -> NotificationClaims {
    let currency = w.currency.as_deref().and_then(|c| Currency::parse(c).ok());
    NotificationClaims {
        payment_id: charged_payment(w).unwrap_or(w.id.trim()).to_string(),
        order_id: w.order_id.as_deref().unwrap_or("").trim().to_string(),
        status: w.status.trim().to_string(),
        amount_minor: match (&w.amount, currency) {
            (Some(raw), Some(c)) => amount_minor(raw, c).ok(),
            _ => None,
        },
        currency,
        country: w.country.as_deref().and_then(|c| crate::market::Country::parse(c).ok()),
    }
}

/// What a body claims, read leniently: for forged and refused notifications,
/// whose claims are evidence even when they are lies.
pub fn claims(body: &[u8]) -> Option<NotificationClaims> {
    wire(body).ok().map(|w| claims_of(&w))
}

/// Reads a notification body. A body that carries the whole payment gives an
/// observation that can create it; one that lacks the order, country,
/// method, currency or amount only updates a payment we know.
pub fn parse(body: &[u8]) -> Result<(Observed, NotificationClaims), DlocalNotificationError> {
    let w = wire(body)?;
    if w.id.trim().is_empty() {
        return Err(DlocalNotificationError::Empty("id"));
    }
    if let Some(payment_id) = charged_payment(&w) {
        return chargeback(&w, payment_id);
    }
    let status = transformers::payment_status(&w.status)?;
    let claims = claims_of(&w);
    let status_code = w.status_code.as_deref().map(scalar_text).unwrap_or_default();
    let created_at = instant("created_date", &w.created_date)?;
    let paid_at = instant("approved_date", &w.approved_date)?;
    let expiration = w.ticket.as_ref().and_then(|t| t.expiration_date.clone()).or(w.expiration_date.clone());
    let expires_at = instant("expiration_date", &expiration)?;
    let psp_status = w.status.trim().to_ascii_uppercase();
    let whole = (
        w.order_id.as_deref().map(str::trim).filter(|o| !o.is_empty()),
        w.country.as_deref(),
        w.payment_method_id.as_deref(),
        w.currency.as_deref(),
        w.amount.as_deref(),
    );
    let observed = match whole {
        (Some(order_id), Some(country), Some(method), Some(currency), Some(amount)) => {
            let currency = Currency::parse(currency)
                .map_err(|e| DlocalNotificationError::Amount { text: currency.to_string(), reason: e.to_string() })?;
            let country = crate::market::Country::parse(country)
                .map_err(|e| DlocalNotificationError::Json(format!("country: {e}")))?;
            Observed::Payment(PaymentObservation {
                psp: super::PSP_NAME.to_string(),
                payment_id: w.id.trim().to_string(),
                order_id: order_id.to_string(),
                country,
                network: transformers::network(method)?,
                currency,
                amount_minor: amount_minor(amount, currency)?,
                status,
                psp_status,
                status_code,
                created_at,
                paid_at,
                expires_at,
                voucher_code: w.ticket.as_ref().and_then(|t| t.number.as_deref()).map(scalar_text).unwrap_or_default(),
                status_at: None,
            })
        }
        _ => Observed::Status(StatusReport {
            psp: super::PSP_NAME.to_string(),
            payment_id: w.id.trim().to_string(),
            status,
            psp_status,
            status_code,
            status_at: match status {
                PaymentStatus::Paid => paid_at.or(created_at),
                PaymentStatus::Expired => expires_at.or(created_at),
                PaymentStatus::Pending
                | PaymentStatus::Rejected
                | PaymentStatus::Cancelled
                | PaymentStatus::Refunded => created_at,
                // Money taken back is never dated by the payment's creation.
                PaymentStatus::Reversed | PaymentStatus::ChargedBack => None,
            },
        }),
    };
    Ok((observed, claims))
}

/// A chargeback: a status report on the payment it names, dated by the
/// chargeback's own time and kept apart from payment statuses in the history
/// (`CHARGEBACK COMPLETED`, with the chargeback's id).
fn chargeback(w: &PaymentWire, payment_id: &str) -> Result<(Observed, NotificationClaims), DlocalNotificationError> {
    let chargeback_status = transformers::chargeback_status(&w.status)?;
    let status_at = instant("created_date", &w.created_date)?;
    let code = w.status_code.as_deref().map(scalar_text).unwrap_or_default();
    let observed = Observed::Status(StatusReport {
        psp: super::PSP_NAME.to_string(),
        payment_id: payment_id.to_string(),
        status: PaymentStatus::from(chargeback_status),
        psp_status: format!("CHARGEBACK {}", chargeback_status.as_str()),
        status_code: format!("{} {code}", w.id.trim()).trim().to_string(),
        status_at,
    });
    Ok((observed, claims_of(w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::VoucherNetwork;

    const PAID: &str = r#"{"id":"D-1001","amount":150000,"currency":"COP","payment_method_id":"EY",
        "payment_method_type":"TICKET","country":"CO","created_date":"2026-03-01T14:15:00.000+0000",
        "approved_date":"2026-03-02T15:00:00.000+0000","status":"PAID","status_detail":"The payment was paid.",
        "status_code":200,"order_id":"S-001","ticket":{"number":"4000001001","expiration_date":"2026-03-04T14:15:00.000+0000"}}"#;

    #[test]
    fn reads_a_whole_payment_in_minor_units() {
        let (observed, claims) = parse(PAID.as_bytes()).unwrap();
        let Observed::Payment(p) = observed else { panic!("whole payment expected") };
        assert_eq!(p.amount_minor, 15_000_000);
        assert_eq!(p.currency, Currency::Cop);
        assert_eq!(p.status, PaymentStatus::Paid);
        assert_eq!(p.psp_status, "PAID");
        assert_eq!(p.status_code, "200");
        assert_eq!(p.network, VoucherNetwork::Efecty);
        assert_eq!(p.voucher_code, "4000001001");
        assert_eq!(p.paid_at.unwrap().to_rfc3339(), "2026-03-02T15:00:00+00:00");
        assert_eq!(p.expires_at.unwrap().to_rfc3339(), "2026-03-04T14:15:00+00:00");
        assert_eq!(claims.order_id, "S-001");
        assert_eq!(claims.amount_minor, Some(15_000_000));
    }

    #[test]
    fn amounts_are_exact_and_cop_has_no_fractions() {
        let raw = |t: &str| RawValue::from_string(t.to_string()).unwrap();
        assert_eq!(amount_minor(&raw("75.50"), Currency::Pen), Ok(7_550));
        assert_eq!(amount_minor(&raw("\"1234.5\""), Currency::Pen), Ok(123_450));
        assert_eq!(amount_minor(&raw("0.1"), Currency::Usd), Ok(10));
        assert_eq!(amount_minor(&raw("150000.0"), Currency::Cop), Ok(15_000_000));
        let err = amount_minor(&raw("150000.5"), Currency::Cop).unwrap_err();
        assert!(err.to_string().contains("whole pesos"), "{err}");
        assert!(amount_minor(&raw("1e5"), Currency::Pen).is_err());
        assert!(amount_minor(&raw("-3"), Currency::Pen).is_err());
        assert!(amount_minor(&raw("1.005"), Currency::Pen).is_err());
    }

    #[test]
    fn a_chargeback_is_a_dated_report_on_the_payment_it_debits() {
        let body = br#"{"id":"CHBK-77","payment_id":"D-1001","created_date":"2026-04-10T16:20:00.000+0000",
            "currency":"COP","amount":150000,"status":"COMPLETED","status_code":200,"order_id":"S-001"}"#;
        let (observed, claims) = parse(body).unwrap();
        let Observed::Status(s) = observed else { panic!("status report expected") };
        assert_eq!((s.payment_id.as_str(), s.status), ("D-1001", PaymentStatus::ChargedBack));
        assert_eq!((s.psp_status.as_str(), s.status_code.as_str()), ("CHARGEBACK COMPLETED", "CHBK-77 200"));
        assert_eq!(s.status_at.unwrap().to_rfc3339(), "2026-04-10T16:20:00+00:00");
        assert_eq!((claims.payment_id.as_str(), claims.amount_minor), ("D-1001", Some(15_000_000)));

        let open = br#"{"id":"CHBK-78","payment_id":"D-1002","status":"PENDING","status_code":100}"#;
        let (Observed::Status(s), _) = parse(open).unwrap() else { panic!("status report expected") };
        assert_eq!(s.status, PaymentStatus::ChargedBack, "an opened chargeback already holds the money");
        assert_eq!(s.status_at, None, "never dated by a default");
        for (text, status) in [("REVERSAL", PaymentStatus::Paid), ("INQUIRY", PaymentStatus::Paid)] {
            let body = format!(r#"{{"id":"CHBK-79","payment_id":"D-1003","status":"{text}"}}"#);
            let (Observed::Status(s), _) = parse(body.as_bytes()).unwrap() else { panic!("status report expected") };
            assert_eq!(s.status, status, "{text}");
        }
        let err = parse(br#"{"id":"CHBK-80","payment_id":"D-1004","status":"SUCCESS"}"#).unwrap_err();
        assert!(err.to_string().contains("chargeback") && err.to_string().contains("\"SUCCESS\""), "{err}");
        assert_eq!(err.code(), "dlocal.notification.status");
    }

    #[test]
    fn a_terse_body_is_a_status_report_and_unknown_statuses_are_named() {
        let (observed, _) = parse(br#"{"id":"D-9","status":"EXPIRED","status_code":"308"}"#).unwrap();
        let Observed::Status(s) = observed else { panic!("status report expected") };
        assert_eq!((s.status, s.status_code.as_str()), (PaymentStatus::Expired, "308"));
        let err = parse(br#"{"id":"D-9","status":"SETTLED"}"#).unwrap_err();
        assert!(err.to_string().contains("\"SETTLED\""), "{err}");
        assert_eq!(err.code(), "dlocal.notification.status");
        assert_eq!(parse(b"{not json").unwrap_err().code(), "dlocal.notification.malformed");
    }
}
