//! dLocal Payins API v2.1 on the wire: request and answer bodies exactly as
//! dLocal documents them (payments, cash tickets, orders, refunds, errors).
//! Nothing here interprets a status: `transformers` does, exhaustively.
//!
//! Amounts travel as JSON numbers in major units. They are read from the raw
//! JSON text into a `Decimal` (never through `f64`) and turned into minor units
//! by `transformers`.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// `payment_method_flow` for a ticket issued straight to us (no hosted page).
pub const FLOW_DIRECT: &str = "DIRECT";
pub const API_VERSION: &str = "2.1";

/// Status codes dLocal documents (payments; refunds share 100–400).
pub const CODE_PENDING: u16 = 100;
pub const CODE_PAID: u16 = 200;
pub const CODE_REJECTED: u16 = 300;
pub const CODE_DUPLICATED_PAYMENT: u16 = 307;
pub const CODE_CANCELLED: u16 = 400;
pub const CODE_AUTHORIZED: u16 = 600;
pub const CODE_VERIFIED: u16 = 700;

/// Error codes of dLocal's error body (`{"code": 3001, "message": …}`).
pub const ERROR_INVALID_CREDENTIALS: i64 = 3001;
pub const ERROR_PAYMENT_NOT_FOUND: i64 = 4000;
pub const ERROR_INVALID_REQUEST: i64 = 5000;
pub const ERROR_MISSING_PARAMETER: i64 = 5001;
pub const ERROR_INVALID_TRANSACTION_STATUS: i64 = 5002;
pub const ERROR_COUNTRY_NOT_SUPPORTED: i64 = 5003;
pub const ERROR_CURRENCY_NOT_ALLOWED: i64 = 5004;
pub const ERROR_AMOUNT_EXCEEDED: i64 = 5007;
pub const ERROR_ORDER_ID_DUPLICATED: i64 = 5009;
pub const ERROR_METHOD_NOT_AVAILABLE: i64 = 5010;
pub const ERROR_UNSUPPORTED_OPERATION: i64 = 5013;
pub const ERROR_INVALID_API_VERSION: i64 = 5017;
pub const ERROR_INTERNAL: i64 = 7000;

/// An amount in major units as dLocal writes it (`120.00`, `50000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlocalAmount(pub Decimal);

impl fmt::Display for DlocalAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for DlocalAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        // A number arrives as its own text; a quoted number is tolerated.
        let text = raw.get().trim();
        let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
        if !plain {
            return Err(de::Error::custom(format_args!("amount {text} is not a plain decimal number")));
        }
        Decimal::from_str(text)
            .map(DlocalAmount)
            .map_err(|_| de::Error::custom(format_args!("amount {text} is not a decimal number")))
    }
}

impl Serialize for DlocalAmount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Written as a JSON number with exactly the decimal's digits.
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// `status_code`: dLocal writes `"200"` in payments and `200` in some refund
/// answers; both are read. Sub-codes (307 duplicated payment) are kept as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode(pub u16);

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl Visitor<'_> for CodeVisitor {
            type Value = StatusCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code as a number or a string of digits")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusCode, E> {
                u16::try_from(v).map(StatusCode).map_err(|_| E::custom(format_args!("status code {v} out of range")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusCode, E> {
                u16::try_from(v).map(StatusCode).map_err(|_| E::custom(format_args!("status code {v} out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusCode, E> {
                v.trim()
                    .parse::<u16>()
                    .map(StatusCode)
                    .map_err(|_| E::custom(format_args!("status code {v:?} is not a number")))
            }
        }
        deserializer.deserialize_any(CodeVisitor)
    }
}

impl Serialize for StatusCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// `payer` of a payment. Cash methods need the document (Colombian CC, Peruvian DNI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub name: String,
    pub email: String,
    pub document: String,
}

/// `POST /payments` for a cash ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePaymentRequest {
    pub amount: DlocalAmount,
    pub currency: String,
    pub country: String,
    /// `EY` Efecty (CO), `EF` PagoEfectivo (PE).
    pub payment_method_id: String,
    /// Always [`FLOW_DIRECT`]: we show the ticket ourselves.
    pub payment_method_flow: String,
    pub payer: Payer,
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
}

/// The ticket of a cash payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// `NUMERIC`, `BARCODE`, `CUSTOM` or `REFERENCE_CODE`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// The code the payer tells the cashier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// `CODE_128` or `ITF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// The payment object: the answer to `POST /payments` and `GET /payments/{id}`,
/// and the body of a payment notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub amount: DlocalAmount,
    pub currency: String,
    pub country: String,
    pub payment_method_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_flow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_date: Option<String>,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
}

/// The chargeback object: the answer to `GET /chargebacks/{id}` and the body
/// of a chargeback notification (one shape, read by one parser:
/// `webhook::parse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chargeback {
    pub id: String,
    pub payment_id: String,
    pub amount: DlocalAmount,
    pub currency: String,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
}

/// `GET /payments/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStatusAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
}

/// `GET /orders/{order_id}`: the payment made for one of our order ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAnswer {
    pub order_id: String,
    pub payment_id: String,
    pub amount: DlocalAmount,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_date: Option<String>,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
}

/// `POST /refunds`. A ticket payment has no card to credit, so dLocal pays
/// the refund by bank transfer to the beneficiary fields (and emails the
/// payer for them when they are missing). The fields are flat on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub payment_id: String,
    /// Absent: the whole payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<DlocalAmount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account: Option<String>,
    /// `C` current, `S` savings, `I` international.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_branch: Option<String>,
    /// The beneficiary's national id (dLocal asks for it with the bank fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_document: Option<String>,
}

/// The refund object: the answer to `POST /refunds`, `GET /refunds/{id}/status`,
/// and the body of a refund notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: DlocalAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_refunded: Option<DlocalAmount>,
    pub currency: String,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
}

/// dLocal's error body, with every 4xx and 5xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: i64,
    pub message: String,
    /// The offending parameter, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_every_digit_of_the_json_number() {
        let payment: PaymentStatusAnswer =
            serde_json::from_str(r#"{"status":"PAID","status_code":200,"status_detail":"ok"}"#).unwrap();
        assert_eq!(payment.status_code, StatusCode(200));
        let amount: DlocalAmount = serde_json::from_str("120.10").unwrap();
        assert_eq!(amount.0, Decimal::new(12010, 2));
        // 0.1 + 0.2 style values stay exact: no f64 on the way.
        let amount: DlocalAmount = serde_json::from_str("1234567890123.37").unwrap();
        assert_eq!(amount.0.to_string(), "1234567890123.37");
        assert_eq!(serde_json::to_string(&DlocalAmount(Decimal::new(5_000_000, 2))).unwrap(), "50000.00");
        assert!(serde_json::from_str::<DlocalAmount>("1e3").is_err());
        assert!(serde_json::from_str::<DlocalAmount>("null").is_err());
    }

    #[test]
    fn status_code_reads_strings_and_numbers_and_writes_a_string() {
        assert_eq!(serde_json::from_str::<StatusCode>("\"307\"").unwrap(), StatusCode(307));
        assert_eq!(serde_json::from_str::<StatusCode>("307").unwrap(), StatusCode(307));
        assert!(serde_json::from_str::<StatusCode>("\"abc\"").is_err());
        assert!(serde_json::from_str::<StatusCode>("70000").is_err());
        assert_eq!(serde_json::to_string(&StatusCode(100)).unwrap(), "\"100\"");
    }

    #[test]
    fn reads_a_documented_ticket_payment() {
        let text = r#"{
            "id": "D-4-cf8a3c44", "amount": 50000, "currency": "COP", "country": "CO",
            "payment_method_id": "EY", "payment_method_type": "TICKET", "payment_method_flow": "DIRECT",
            "created_date": "2026-03-05T03:30:00.000+0000", "status": "PENDING", "status_code": "100",
            "status_detail": "The payment is pending.", "order_id": "ORD-1",
            "ticket": {"type": "CUSTOM", "number": "4412345678", "barcode": "41577099980004", "format": "CODE_128",
                       "expiration_date": "2026-03-07T03:30:00.000+0000", "provider_name": "Efecty",
                       "image_url": "https://x/t.png", "unexpected": 1}
        }"#;
        let payment: Payment = serde_json::from_str(text).unwrap();
        assert_eq!(payment.amount.0, Decimal::from(50_000));
        assert_eq!(payment.status_code, StatusCode(CODE_PENDING));
        let ticket = payment.ticket.unwrap();
        assert_eq!(ticket.format.as_deref(), Some("CODE_128"));
        assert_eq!(ticket.number.as_deref(), Some("4412345678"));
    }

    #[test]
    fn refund_request_round_trips_with_bank_fields_flat() {
        let request = RefundRequest {
            payment_id: "D-1".into(),
            amount: Some(DlocalAmount(Decimal::new(1000, 0))),
            currency: Some("COP".into()),
            notification_url: None,
            description: None,
            beneficiary_name: None,
            bank: Some("Bancolombia".into()),
            bank_account: None,
            bank_account_type: None,
            bank_branch: None,
            beneficiary_document: None,
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"payment_id":"D-1","amount":1000,"currency":"COP","bank":"Bancolombia"}"#
        );
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<RefundRequest>(&text).unwrap(), request);
    }
}
