//! PagoEfectivo's CIP API v1 on the wire (JSON, camelCase), shared by the
//! client and the sandbox.
//!
//! - `POST /v1/authorizations` `{accessKey, idService, dateRequest, hashString}` → a token.
//! - `POST /v1/cips` → a CIP (the code the payer takes to an agent or bank).
//! - `POST /v1/cips/search` `{data: [{cip} | {transactionCode}]}` → each CIP with its status.
//! - `PATCH /v1/cips/{cip}` `{dateExpiry}` extends a pending CIP; `DELETE /v1/cips/{cip}` cancels it.
//! - Callbacks `{eventType, operationNumber, data{cip, currency, amount, paymentDate, transactionCode}}`
//!   signed with `PE-Signature`.
//!
//! Every answer is an envelope `{code, message, data}`; `code` is `"100"` on
//! success, and an error's `data` lists `{code, field, message}` per bad field.
//! Amounts are decimals in major units, read and written as the exact text of
//! the JSON number (never through a float). Dates are Lima wall time with its
//! offset (`2026-03-04T22:30:00-05:00`).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::market::{self, Country, TimeError, TimestampFormat};
use crate::money::{self, Currency, MoneyError, NumberFormat};

pub const AUTHORIZATIONS_PATH: &str = "/v1/authorizations";
pub const CIPS_PATH: &str = "/v1/cips";
pub const CIPS_SEARCH_PATH: &str = "/v1/cips/search";
/// Callback header carrying the hex HMAC-SHA256 of the raw body.
pub const SIGNATURE_HEADER: &str = "PE-Signature";

/// `code` of a successful answer.
pub const SUCCESS_CODE: &str = "100";
pub const SUCCESS_MESSAGE: &str = "Solicitud exitosa";
/// `code` of a request refused for its data; `data` names the fields.
pub const INVALID_DATA_CODE: &str = "111";
pub const INVALID_DATA_MESSAGE: &str = "Solicitud con datos inválidos";

/// Callback `eventType`s.
pub const EVENT_CIP_PAID: &str = "cip.paid";
pub const EVENT_CIP_EXPIRED: &str = "cip.expired";

/// Currencies PagoEfectivo takes (Peru: soles and dollars).
pub const CURRENCIES: [Currency; 2] = [Currency::Pen, Currency::Usd];

/// An instant as PagoEfectivo writes it: Lima wall time and its offset.
pub fn lima_timestamp(instant: DateTime<Utc>) -> String {
    instant.with_timezone(&Country::Peru.zone()).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Reads a PagoEfectivo date (`-05:00`, `-0500` or `Z`; no offset means Lima).
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, TimeError> {
    market::parse_timestamp(text, &TimestampFormat::Iso, Country::Peru.zone())
}

/// A currency PagoEfectivo takes, from its wire code.
pub fn currency(text: &str) -> Result<Currency, MoneyError> {
    let currency = Currency::parse(text)?;
    if CURRENCIES.contains(&currency) {
        Ok(currency)
    } else {
        Err(MoneyError::UnknownCurrency(text.trim().to_string()))
    }
}

/// A decimal amount in major units (`89.90`), written as a JSON number with
/// the currency's decimals and read from the number's exact text (or a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorAmount(pub Decimal);

impl MajorAmount {
    pub fn from_minor(minor: i64, currency: Currency) -> MajorAmount {
        MajorAmount(Decimal::new(minor, currency.exponent()))
    }

    /// Minor units through the one exponent table; refuses extra decimals and negatives.
    pub fn to_minor(self, currency: Currency) -> Result<i64, MoneyError> {
        money::parse_minor(&self.0.to_string(), currency, NumberFormat::PLAIN)
    }
}

impl Serialize for MajorAmount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MajorAmount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MajorAmount, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let literal = raw.get();
        let text = if literal.starts_with('"') {
            serde_json::from_str::<String>(literal).map_err(de::Error::custom)?
        } else {
            literal.to_string()
        };
        let plain = !text.is_empty()
            && text.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.')
            && text.chars().any(|c| c.is_ascii_digit());
        let value = plain.then(|| Decimal::from_str(&text).ok()).flatten();
        value.map(MajorAmount).ok_or_else(|| de::Error::custom(format!("{text:?} is not a plain decimal amount")))
    }
}

/// Numbers PagoEfectivo sends sometimes as JSON numbers, sometimes as strings
/// (`cip`, `operationNumber`, `code`): kept as text.
fn text_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrInteger {
        Text(String),
        Integer(i64),
    }
    Ok(match TextOrInteger::deserialize(deserializer)? {
        TextOrInteger::Text(text) => text,
        TextOrInteger::Integer(number) => number.to_string(),
    })
}

/// A CIP number: digits, sent as a JSON number, read from a number or a string.
fn cip_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let text = text_or_integer(deserializer)?;
    text.trim().parse::<u64>().map_err(|_| de::Error::custom(format!("CIP {text:?} is not a number")))
}

fn optional_cip_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    cip_number(deserializer).map(Some)
}

/// `POST /v1/authorizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    pub access_key: String,
    #[serde(deserialize_with = "cip_number")]
    pub id_service: u64,
    pub date_request: String,
    pub hash_string: String,
}

/// `{code, message, data}` around every successful answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    #[serde(deserialize_with = "text_or_integer")]
    pub code: String,
    pub message: String,
    pub data: T,
}

impl<T> Envelope<T> {
    pub fn success(data: T) -> Envelope<T> {
        Envelope { code: SUCCESS_CODE.into(), message: SUCCESS_MESSAGE.into(), data }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub token: String,
    #[serde(deserialize_with = "text_or_integer")]
    pub code_service: String,
    pub token_start: String,
    pub token_expires: String,
}

/// `POST /v1/cips`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCipRequest {
    pub currency: String,
    pub amount: MajorAmount,
    pub transaction_code: String,
    pub date_expiry: String,
    pub payment_concept: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_data: Option<String>,
    pub user_email: String,
    pub user_name: String,
    pub user_last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ubigeo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_country: Option<String>,
    pub user_document_type: String,
    pub user_document_number: String,
    pub user_phone: String,
    pub user_code_country: String,
}

impl CreateCipRequest {
    /// Fields a CIP request cannot go without (the sandbox names the missing ones).
    pub const REQUIRED_FIELDS: [&'static str; 12] = [
        "currency",
        "amount",
        "transactionCode",
        "dateExpiry",
        "paymentConcept",
        "userEmail",
        "userName",
        "userLastName",
        "userDocumentType",
        "userDocumentNumber",
        "userPhone",
        "userCodeCountry",
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedCipData {
    #[serde(deserialize_with = "cip_number")]
    pub cip: u64,
    pub currency: String,
    pub amount: MajorAmount,
    pub transaction_code: String,
    pub date_expiry: String,
    pub cip_url: String,
}

/// One line of `POST /v1/cips/search`: a CIP number or a `transactionCode`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchEntry {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_cip_number")]
    pub cip: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRequest {
    pub data: Vec<SearchEntry>,
}

/// A CIP as search, extend and cancel return it. `status` is the numeric code
/// (see [`super::wire::CipStatus::from_code`]), `statusName` its Spanish word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CipInfo {
    #[serde(deserialize_with = "cip_number")]
    pub cip: u64,
    pub transaction_code: String,
    pub amount: MajorAmount,
    pub currency: String,
    pub status: i64,
    pub status_name: String,
    pub date_creation: String,
    pub date_expiry: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_payment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_removal: Option<String>,
}

/// `PATCH /v1/cips/{cip}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendCipRequest {
    pub date_expiry: String,
}

/// The body PagoEfectivo posts to the service's callback URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    pub event_type: String,
    #[serde(deserialize_with = "text_or_integer")]
    pub operation_number: String,
    pub data: CallbackData,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackData {
    #[serde(deserialize_with = "cip_number")]
    pub cip: u64,
    pub currency: String,
    pub amount: MajorAmount,
    /// Absent on `cip.expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_date: Option<String>,
    pub transaction_code: String,
}

/// One refused field in an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    #[serde(deserialize_with = "text_or_integer")]
    pub code: String,
    #[serde(default)]
    pub field: String,
    pub message: String,
}

/// PagoEfectivo's error body: `{code, message, data: [{code, field, message}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(deserialize_with = "text_or_integer")]
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub data: Vec<FieldError>,
}

/// Decodes JSON naming the path of the first bad field (`data.token`) on failure.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| DecodeError { path: err.path().to_string(), detail: err.inner().to_string() })?;
    deserializer.end().map_err(|err| DecodeError { path: ".".into(), detail: err.to_string() })?;
    Ok(value)
}

/// Why a body did not decode: where (`data.amount`) and what serde said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {path}: {detail}")]
pub struct DecodeError {
    pub path: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_cross_the_wire_as_exact_numbers() {
        let amount = MajorAmount::from_minor(8_990, Currency::Pen);
        assert_eq!(serde_json::to_string(&amount).unwrap(), "89.90");
        let read: MajorAmount = serde_json::from_str("89.90").unwrap();
        assert_eq!(read.to_minor(Currency::Pen), Ok(8_990));
        let read: MajorAmount = serde_json::from_str("\"1250.5\"").unwrap();
        assert_eq!(read.to_minor(Currency::Usd), Ok(125_050));
        // The largest amount we accept, to the cent.
        let read: MajorAmount = serde_json::from_str("999999999999.99").unwrap();
        assert_eq!(read.to_minor(Currency::Pen), Ok(99_999_999_999_999));
        assert!(matches!(
            serde_json::from_str::<MajorAmount>("89.901").unwrap().to_minor(Currency::Pen),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(serde_json::from_str::<MajorAmount>("1e3").unwrap_err().to_string().contains("\"1e3\""));
        assert!(serde_json::from_str::<MajorAmount>("true").is_err());
    }

    #[test]
    fn decode_errors_name_the_field() {
        let body = br#"{"code":"100","message":"ok","data":{"cip":"123","currency":"PEN","amount":"x",
            "transactionCode":"T","dateExpiry":"2026-03-04T22:30:00-05:00","cipUrl":"u"}}"#;
        let err = decode::<Envelope<CreatedCipData>>(body).unwrap_err();
        assert_eq!(err.path, "data.amount");
        assert!(err.detail.contains("\"x\" is not a plain decimal amount"), "{err}");
        let err = decode::<Envelope<TokenData>>(br#"{"code":100,"message":"ok","data":{"token":"t"}}"#).unwrap_err();
        assert!(err.to_string().contains("codeService"), "{err}");
    }

    #[test]
    fn cip_numbers_read_from_numbers_or_strings() {
        let entry: SearchEntry = serde_json::from_str(r#"{"cip":"2654431"}"#).unwrap();
        assert_eq!(entry.cip, Some(2_654_431));
        let entry: SearchEntry = serde_json::from_str(r#"{"transactionCode":"ORD-1"}"#).unwrap();
        assert_eq!(entry, SearchEntry { cip: None, transaction_code: Some("ORD-1".into()) });
        assert_eq!(serde_json::to_string(&entry).unwrap(), r#"{"transactionCode":"ORD-1"}"#);
    }

    #[test]
    fn dates_are_lima_wall_time() {
        let instant = parse_timestamp("2026-03-05T03:30:00Z").unwrap();
        assert_eq!(lima_timestamp(instant), "2026-03-04T22:30:00-05:00");
        assert_eq!(parse_timestamp("2026-03-04T22:30:00-0500"), Ok(instant));
        assert_eq!(currency("pen"), Ok(Currency::Pen));
        assert_eq!(currency("COP"), Err(MoneyError::UnknownCurrency("COP".into())));
    }
}
