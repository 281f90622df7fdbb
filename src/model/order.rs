//! Orders as the shop reports them.

use super::market::Country;
use super::money::Currency;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The shop's own status for an order. Exhaustive: an unknown status in a file
/// is an import error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ShopStatus {
    PendingPayment,
    Paid,
    Fulfilled,
    Cancelled,
    Expired,
    Refunded,
}

impl ShopStatus {
    pub const ALL: [ShopStatus; 6] = [
        ShopStatus::PendingPayment,
        ShopStatus::Paid,
        ShopStatus::Fulfilled,
        ShopStatus::Cancelled,
        ShopStatus::Expired,
        ShopStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShopStatus::PendingPayment => "pending_payment",
            ShopStatus::Paid => "paid",
            ShopStatus::Fulfilled => "fulfilled",
            ShopStatus::Cancelled => "cancelled",
            ShopStatus::Expired => "expired",
            ShopStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<ShopStatus> {
        let wanted = text.trim();
        ShopStatus::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(wanted))
    }

    /// The shop believes the buyer has not paid (so goods are not going out).
    pub fn awaits_payment(self) -> bool {
        match self {
            ShopStatus::PendingPayment | ShopStatus::Cancelled | ShopStatus::Expired => true,
            ShopStatus::Paid | ShopStatus::Fulfilled | ShopStatus::Refunded => false,
        }
    }

    /// The shop believes money came in (and may ship).
    pub fn counts_as_paid(self) -> bool {
        match self {
            ShopStatus::Paid | ShopStatus::Fulfilled => true,
            ShopStatus::PendingPayment | ShopStatus::Cancelled | ShopStatus::Expired | ShopStatus::Refunded => false,
        }
    }
}

/// One order row, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Order {
    pub order_id: String,
    pub store: String,
    pub created_at: DateTime<Utc>,
    pub buyer_name: String,
    pub buyer_email: String,
    pub buyer_phone: String,
    pub buyer_document: String,
    pub country: Country,
    pub amount_minor: i64,
    pub currency: Currency,
    pub status: ShopStatus,
    pub psp: String,
    pub psp_payment_id: String,
    pub voucher_code: String,
    pub voucher_expires_at: Option<DateTime<Utc>>,
}
