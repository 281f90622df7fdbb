//! dLocal → core mappings. Exhaustive: a new dLocal status is a compile error here.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::api::{self, DlocalAmount};
use super::wire::{BarcodeFormat, DlocalCashMethod, DlocalChargebackStatus, DlocalPaymentStatus, DlocalRefundStatus};
use crate::market::{self, Country, TimestampFormat};
use crate::money::{self, Currency, MoneyError, NumberFormat};
use crate::payments::{PaymentStatus, VoucherNetwork};
use crate::psp::PspError;

impl From<DlocalPaymentStatus> for PaymentStatus {
    fn from(status: DlocalPaymentStatus) -> Self {
        match status {
            DlocalPaymentStatus::Pending => PaymentStatus::Pending,
            DlocalPaymentStatus::Paid => PaymentStatus::Paid,
            DlocalPaymentStatus::Rejected => PaymentStatus::Rejected,
            DlocalPaymentStatus::Cancelled => PaymentStatus::Cancelled,
            DlocalPaymentStatus::Expired => PaymentStatus::Expired,
            // Authorized/verified are card flows' intermediate states: no cash
            // has arrived yet, so for a voucher they are still pending.
            DlocalPaymentStatus::Authorized => PaymentStatus::Pending,
            DlocalPaymentStatus::Verified => PaymentStatus::Pending,
        }
    }
}

/// What a chargeback in this state means for the payment it names. From the
/// moment one is opened the money is at risk: nothing ships and nothing is
/// refunded on top of it. A won dispute or a mere inquiry leaves the payment
/// paid; status only moves forward, so a payment already charged back stays
/// so after a won dispute (the settlement report's credit row shows the money
/// coming back).
impl From<DlocalChargebackStatus> for PaymentStatus {
    fn from(status: DlocalChargebackStatus) -> Self {
        match status {
            DlocalChargebackStatus::Pending
            | DlocalChargebackStatus::DisputeReceived
            | DlocalChargebackStatus::Completed
            | DlocalChargebackStatus::InDispute
            | DlocalChargebackStatus::DisputeLost => PaymentStatus::ChargedBack,
            DlocalChargebackStatus::Reversal | DlocalChargebackStatus::Inquiry => PaymentStatus::Paid,
        }
    }
}

pub fn chargeback_status(text: &str) -> Result<DlocalChargebackStatus, PspError> {
    DlocalChargebackStatus::parse(text).ok_or_else(|| PspError::UnknownStatus {
        psp: "dLocal (chargeback)",
        status: text.trim().to_string(),
        expected: DlocalChargebackStatus::EXPECTED,
    })
}

impl From<DlocalCashMethod> for VoucherNetwork {
    fn from(method: DlocalCashMethod) -> Self {
        match method {
            DlocalCashMethod::Efecty => VoucherNetwork::Efecty,
            DlocalCashMethod::PagoEfectivo => VoucherNetwork::PagoEfectivo,
        }
    }
}

pub fn payment_status(text: &str) -> Result<PaymentStatus, PspError> {
    DlocalPaymentStatus::parse(text).map(PaymentStatus::from).ok_or_else(|| PspError::UnknownStatus {
        psp: "dLocal",
        status: text.trim().to_string(),
        expected: DlocalPaymentStatus::EXPECTED,
    })
}

pub fn network(text: &str) -> Result<VoucherNetwork, PspError> {
    DlocalCashMethod::parse(text).map(VoucherNetwork::from).ok_or_else(|| PspError::UnknownMethod {
        psp: "dLocal",
        method: text.trim().to_string(),
        expected: DlocalCashMethod::EXPECTED,
    })
}

pub fn refund_status(text: &str) -> Result<DlocalRefundStatus, PspError> {
    DlocalRefundStatus::parse(text).ok_or_else(|| PspError::UnknownStatus {
        psp: "dLocal",
        status: text.trim().to_string(),
        expected: DlocalRefundStatus::EXPECTED,
    })
}

/// Why an answer from dLocal could not become one of ours.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransformError {
    #[error(transparent)]
    Psp(#[from] PspError),
    #[error("field `{field}`: {message}")]
    Field { field: &'static str, message: String },
}

fn field(field: &'static str, message: impl ToString) -> TransformError {
    TransformError::Field { field, message: message.to_string() }
}

/// Decimals dLocal writes for a currency. COP is quoted in whole pesos although
/// ISO 4217 (and so our minor units) gives it two decimals.
pub fn wire_decimals(currency: Currency) -> u32 {
    match currency {
        Currency::Cop => 0,
        Currency::Pen => 2,
        Currency::Usd => 2,
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{minor} minor units of {currency} cannot be quoted to dLocal, which takes {currency} with {decimals} decimals"
)]
pub struct UnquotableAmount {
    pub minor: i64,
    pub currency: Currency,
    pub decimals: u32,
}

/// Minor units → dLocal's major-unit amount. Exact or refused: a COP amount
/// with centavos is refused rather than rounded (the payer would be asked for
/// a different sum than the order's).
pub fn wire_amount(minor: i64, currency: Currency) -> Result<DlocalAmount, UnquotableAmount> {
    let decimals = wire_decimals(currency);
    let dropped = 10_i64.pow(currency.exponent() - decimals);
    if minor < 0 || minor % dropped != 0 {
        return Err(UnquotableAmount { minor, currency, decimals });
    }
    Ok(DlocalAmount(Decimal::new(minor / dropped, decimals)))
}

/// dLocal's major-unit amount → minor units, refusing precision below the
/// currency's minor unit (ISO exponent) and negatives.
pub fn minor_amount(amount: DlocalAmount, currency: Currency) -> Result<i64, MoneyError> {
    money::parse_minor(&amount.0.to_string(), currency, NumberFormat::PLAIN)
}

fn currency(text: &str) -> Result<Currency, TransformError> {
    Currency::parse(text).map_err(|e| field("currency", e))
}

fn amount(name: &'static str, amount: DlocalAmount, currency: Currency) -> Result<i64, TransformError> {
    minor_amount(amount, currency).map_err(|e| field(name, e))
}

/// dLocal writes `2026-03-05T03:30:00.000+0000`, `…Z` or `…-00:00`; all carry
/// an offset. One without is read in the market's zone.
fn instant(
    name: &'static str,
    text: &Option<String>,
    zone: chrono_tz::Tz,
) -> Result<Option<DateTime<Utc>>, TransformError> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => market::parse_timestamp(text, &TimestampFormat::Iso, zone).map(Some).map_err(|e| field(name, e)),
    }
}

/// One reading of a payment's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReading {
    pub status: PaymentStatus,
    pub dlocal_status: DlocalPaymentStatus,
    /// Kept as dLocal sent it: sub-codes such as 307 (duplicated payment) matter.
    pub status_code: u16,
    pub status_detail: Option<String>,
}

/// The status text decides (dLocal has no code for `EXPIRED`); the code is
/// kept beside it for its sub-code.
pub fn status_reading(
    status: &str,
    code: api::StatusCode,
    detail: &Option<String>,
) -> Result<StatusReading, TransformError> {
    let dlocal_status = DlocalPaymentStatus::parse(status).ok_or_else(|| PspError::UnknownStatus {
        psp: "dLocal",
        status: status.trim().to_string(),
        expected: DlocalPaymentStatus::EXPECTED,
    })?;
    Ok(StatusReading {
        status: PaymentStatus::from(dlocal_status),
        dlocal_status,
        status_code: code.0,
        status_detail: detail.clone(),
    })
}

/// The voucher the payer takes to the cashier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashVoucher {
    /// The ticket number (the reference the payer quotes).
    pub code: String,
    pub barcode: Option<String>,
    pub barcode_format: Option<BarcodeFormat>,
    pub expires_at: Option<DateTime<Utc>>,
    pub image_url: Option<String>,
    pub provider_name: Option<String>,
}

/// A cash payment at dLocal, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashPayment {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub country: Country,
    pub method: DlocalCashMethod,
    pub network: VoucherNetwork,
    pub currency: Currency,
    pub amount_minor: i64,
    pub reading: StatusReading,
    pub created_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
    pub voucher: Option<CashVoucher>,
}

pub fn cash_voucher(ticket: &api::Ticket, zone: chrono_tz::Tz) -> Result<CashVoucher, TransformError> {
    let code = ticket
        .number
        .clone()
        .or_else(|| ticket.id.clone())
        .or_else(|| ticket.barcode.clone())
        .filter(|code| !code.trim().is_empty())
        .ok_or_else(|| field("ticket.number", "the ticket has no number, id or barcode"))?;
    let barcode_format = match ticket.format.as_deref() {
        None => None,
        Some(text) => Some(BarcodeFormat::parse(text).ok_or_else(|| {
            field(
                "ticket.format",
                format!("unknown barcode format {text:?} (expected one of {})", BarcodeFormat::EXPECTED),
            )
        })?),
    };
    Ok(CashVoucher {
        code,
        barcode: ticket.barcode.clone(),
        barcode_format,
        expires_at: instant("ticket.expiration_date", &ticket.expiration_date, zone)?,
        image_url: ticket.image_url.clone(),
        provider_name: ticket.provider_name.clone(),
    })
}

pub fn cash_payment(payment: &api::Payment) -> Result<CashPayment, TransformError> {
    let country = Country::parse(&payment.country).map_err(|e| field("country", e))?;
    let zone = country.zone();
    let method = DlocalCashMethod::parse(&payment.payment_method_id).ok_or_else(|| PspError::UnknownMethod {
        psp: "dLocal",
        method: payment.payment_method_id.trim().to_string(),
        expected: DlocalCashMethod::EXPECTED,
    })?;
    let currency = currency(&payment.currency)?;
    Ok(CashPayment {
        payment_id: payment.id.clone(),
        order_id: payment.order_id.clone(),
        country,
        method,
        network: VoucherNetwork::from(method),
        currency,
        amount_minor: amount("amount", payment.amount, currency)?,
        reading: status_reading(&payment.status, payment.status_code, &payment.status_detail)?,
        created_at: instant("created_date", &payment.created_date, zone)?,
        approved_at: instant("approved_date", &payment.approved_date, zone)?,
        voucher: payment.ticket.as_ref().map(|t| cash_voucher(t, zone)).transpose()?,
    })
}

impl CashPayment {
    /// The payment as one ledger observation (what an API answer adds to the
    /// status history). A payment dLocal holds without our order id keeps an
    /// empty one: reconciliation reports it as an unknown order.
    pub fn observation(&self) -> crate::payments::PaymentObservation {
        crate::payments::PaymentObservation {
            psp: super::PSP_NAME.to_string(),
            payment_id: self.payment_id.clone(),
            order_id: self.order_id.clone().unwrap_or_default(),
            country: self.country,
            network: self.network,
            currency: self.currency,
            amount_minor: self.amount_minor,
            status: self.reading.status,
            psp_status: self.reading.dlocal_status.as_str().to_string(),
            status_code: self.reading.status_code.to_string(),
            created_at: self.created_at,
            paid_at: self.approved_at,
            expires_at: self.voucher.as_ref().and_then(|v| v.expires_at),
            voucher_code: self.voucher.as_ref().map(|v| v.code.clone()).unwrap_or_default(),
            status_at: None,
        }
    }
}

/// `GET /orders/{order_id}` in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReading {
    pub order_id: String,
    pub payment_id: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub reading: StatusReading,
    pub created_at: Option<DateTime<Utc>>,
    pub approved_at: Option<DateTime<Utc>>,
}

pub fn order_reading(order: &api::OrderAnswer) -> Result<OrderReading, TransformError> {
    let currency = currency(&order.currency)?;
    // The order answer names no country; its dates carry their offset anyway.
    let zone = chrono_tz::UTC;
    Ok(OrderReading {
        order_id: order.order_id.clone(),
        payment_id: order.payment_id.clone(),
        currency,
        amount_minor: amount("amount", order.amount, currency)?,
        reading: status_reading(&order.status, order.status_code, &order.status_detail)?,
        created_at: instant("created_date", &order.created_date, zone)?,
        approved_at: instant("approved_date", &order.approved_date, zone)?,
    })
}

/// A refund at dLocal, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundReading {
    pub refund_id: String,
    pub payment_id: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub status: DlocalRefundStatus,
    pub status_code: u16,
    pub status_detail: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

pub fn refund_reading(refund: &api::Refund) -> Result<RefundReading, TransformError> {
    let currency = currency(&refund.currency)?;
    Ok(RefundReading {
        refund_id: refund.id.clone(),
        payment_id: refund.payment_id.clone(),
        currency,
        amount_minor: amount("amount", refund.amount, currency)?,
        status: refund_status(&refund.status)?,
        status_code: refund.status_code.0,
        status_detail: refund.status_detail.clone(),
        created_at: instant("created_date", &refund.created_date, chrono_tz::UTC)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_report_status() {
        let cases = [
            ("PENDING", PaymentStatus::Pending),
            ("PAID", PaymentStatus::Paid),
            ("paid", PaymentStatus::Paid),
            ("REJECTED", PaymentStatus::Rejected),
            ("CANCELLED", PaymentStatus::Cancelled),
            ("EXPIRED", PaymentStatus::Expired),
            ("AUTHORIZED", PaymentStatus::Pending),
            ("VERIFIED", PaymentStatus::Pending),
        ];
        for (text, expected) in cases {
            assert_eq!(payment_status(text), Ok(expected), "{text}");
        }
        let err = payment_status("SETTLED").unwrap_err();
        assert!(err.to_string().contains("\"SETTLED\""), "{err}");
        assert_eq!(network("EY"), Ok(VoucherNetwork::Efecty));
        assert_eq!(network("ef"), Ok(VoucherNetwork::PagoEfectivo));
        assert!(network("VI").is_err());
    }

    #[test]
    fn maps_every_refund_status_and_refuses_others() {
        for (text, expected) in [
            ("PENDING", DlocalRefundStatus::Pending),
            ("SUCCESS", DlocalRefundStatus::Success),
            ("REJECTED", DlocalRefundStatus::Rejected),
            ("CANCELLED", DlocalRefundStatus::Cancelled),
        ] {
            assert_eq!(refund_status(text), Ok(expected), "{text}");
        }
        let err = refund_status("PAID").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown dLocal status \"PAID\" (expected one of PENDING, SUCCESS, REJECTED, CANCELLED)"
        );
    }

    #[test]
    fn quotes_cop_in_whole_pesos_and_pen_with_centimos() {
        assert_eq!(wire_amount(5_000_000, Currency::Cop).unwrap().to_string(), "50000");
        assert_eq!(wire_amount(8_990, Currency::Pen).unwrap().to_string(), "89.90");
        assert_eq!(
            wire_amount(5_000_050, Currency::Cop).unwrap_err().to_string(),
            "5000050 minor units of COP cannot be quoted to dLocal, which takes COP with 0 decimals"
        );
        assert!(wire_amount(-1, Currency::Pen).is_err());
        let read = |text: &str, c| minor_amount(DlocalAmount(text.parse().unwrap()), c);
        assert_eq!(read("50000", Currency::Cop), Ok(5_000_000));
        assert_eq!(read("89.9", Currency::Pen), Ok(8_990));
        assert!(matches!(read("89.905", Currency::Pen), Err(MoneyError::TooManyDecimals { .. })));
    }

    #[test]
    fn reads_a_ticket_payment_into_our_terms() {
        let text = r#"{"id":"D-4-1","amount":50000,"currency":"COP","country":"CO","payment_method_id":"EY",
            "created_date":"2026-03-05T03:30:00.000+0000","status":"REJECTED","status_code":"307",
            "status_detail":"Duplicated payment.","order_id":"ORD-1",
            "ticket":{"number":"4412","barcode":"1234","format":"ITF","expiration_date":"2026-03-07T03:30:00Z"}}"#;
        let payment: api::Payment = serde_json::from_str(text).unwrap();
        let cash = cash_payment(&payment).unwrap();
        assert_eq!(cash.amount_minor, 5_000_000);
        assert_eq!(cash.network, VoucherNetwork::Efecty);
        assert_eq!(cash.reading.status, PaymentStatus::Rejected);
        assert_eq!(cash.reading.status_code, 307);
        let voucher = cash.voucher.unwrap();
        assert_eq!(voucher.code, "4412");
        assert_eq!(voucher.barcode_format, Some(BarcodeFormat::Itf));
        assert_eq!(voucher.expires_at.unwrap().to_rfc3339(), "2026-03-07T03:30:00+00:00");
        assert_eq!(cash.created_at.unwrap().to_rfc3339(), "2026-03-05T03:30:00+00:00");

        let mut odd = payment.clone();
        odd.amount = DlocalAmount("500.001".parse().unwrap());
        let err = cash_payment(&odd).unwrap_err();
        assert_eq!(err.to_string(), "field `amount`: 500.001 has more decimals than COP allows (2)");
        let mut odd = payment.clone();
        odd.ticket.as_mut().unwrap().format = Some("QR".into());
        assert!(
            cash_payment(&odd)
                .unwrap_err()
                .to_string()
                .starts_with("field `ticket.format`: unknown barcode format \"QR\"")
        );
        let mut odd = payment;
        odd.status = "SETTLED".into();
        assert!(matches!(cash_payment(&odd), Err(TransformError::Psp(PspError::UnknownStatus { .. }))));
    }
}
