//! Settlement rows: what the PSP actually transferred for a payment.

use super::money::Currency;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Business days of grace after a payment's settlement is due (its PSP's
/// `T+N` terms, the settlement terms) before `not_settled` is raised: a transfer
/// made on the due date shows in the report of the next business day.
pub const SETTLEMENT_LAG_DAYS_DEFAULT: i64 = 1;
/// The longest grace an operator may set.
pub const SETTLEMENT_LAG_DAYS_MAX: i64 = 365;

/// Which kind of movement a settlement row records: each is reconciled by
/// its own rule (payments against paid payments, refunds against our
/// refunds, chargebacks open a case, fees count in the settled figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RowType {
    Payment,
    Refund,
    Chargeback,
    Fee,
}

impl RowType {
    pub fn as_str(self) -> &'static str {
        match self {
            RowType::Payment => "PAYMENT",
            RowType::Refund => "REFUND",
            RowType::Chargeback => "CHARGEBACK",
            RowType::Fee => "FEE",
        }
    }

    /// Money leaving the merchant: written with a minus sign in PSP reports.
    pub fn is_money_out(self) -> bool {
        match self {
            RowType::Payment => false,
            RowType::Refund | RowType::Chargeback | RowType::Fee => true,
        }
    }

    pub fn parse(text: &str) -> Option<RowType> {
        match text.trim().to_ascii_uppercase().as_str() {
            "PAYMENT" | "PAYIN" | "PAGO" => Some(RowType::Payment),
            "REFUND" | "DEVOLUCION" | "EXTORNO" => Some(RowType::Refund),
            "CHARGEBACK" => Some(RowType::Chargeback),
            "FEE" | "COMISION" => Some(RowType::Fee),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettlementRow {
    pub psp: String,
    pub order_id: String,
    pub payment_id: String,
    pub row_type: RowType,
    pub created_at: Option<DateTime<Utc>>,
    pub settled_on: Option<NaiveDate>,
    pub local_amount_minor: i64,
    pub local_currency: Currency,
    /// Kept as the PSP wrote it: a rate is not money and is never summed.
    pub fx_rate: String,
    pub settlement_currency: Currency,
    pub gross_minor: i64,
    pub net_minor: i64,
    pub fee_minor: i64,
}
