//! Vouchers and their payments, as PSPs report them, with status precedence.

use crate::market::Country;
use crate::money::Currency;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Our status for a payment, whatever the PSP calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Rejected,
    Cancelled,
    Expired,
    Paid,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Pending,
        PaymentStatus::Rejected,
        PaymentStatus::Cancelled,
        PaymentStatus::Expired,
        PaymentStatus::Paid,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Rejected => "rejected",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentStatus> {
        let wanted = text.trim();
        PaymentStatus::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(wanted))
    }

    /// Precedence `pending → expired/cancelled/rejected → paid → refunded`.
    /// Within the middle tier the order is fixed too, so that the outcome never
    /// depends on the order in which reports arrive.
    pub fn rank(self) -> u8 {
        match self {
            PaymentStatus::Pending => 0,
            PaymentStatus::Rejected => 1,
            PaymentStatus::Cancelled => 2,
            PaymentStatus::Expired => 3,
            PaymentStatus::Paid => 4,
            PaymentStatus::Refunded => 5,
        }
    }

    /// The status a payment should hold after also observing `seen`.
    pub fn advanced_by(self, seen: PaymentStatus) -> PaymentStatus {
        if seen.rank() > self.rank() { seen } else { self }
    }

    pub fn is_final(self) -> bool {
        match self {
            PaymentStatus::Pending => false,
            PaymentStatus::Rejected
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Paid
            | PaymentStatus::Refunded => true,
        }
    }
}

/// Payment method of a cash voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoucherNetwork {
    Efecty,
    PagoEfectivo,
    Other,
}

impl VoucherNetwork {
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherNetwork::Efecty => "efecty",
            VoucherNetwork::PagoEfectivo => "pagoefectivo",
            VoucherNetwork::Other => "other",
        }
    }
}

/// One observation of a payment in a report, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentObservation {
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub country: Country,
    pub network: VoucherNetwork,
    pub currency: Currency,
    pub amount_minor: i64,
    pub status: PaymentStatus,
    /// The PSP's own words for the status (`PAID`, `Pagado`), kept for the timeline.
    pub psp_status: String,
    pub status_code: String,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub voucher_code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_never_moves_back_whatever_the_arrival_order() {
        // Every permutation of every pair (and so, by induction, any sequence)
        // ends on the same, most advanced, status.
        for a in PaymentStatus::ALL {
            for b in PaymentStatus::ALL {
                let ab = PaymentStatus::Pending.advanced_by(a).advanced_by(b);
                let ba = PaymentStatus::Pending.advanced_by(b).advanced_by(a);
                assert_eq!(ab, ba, "{a:?} then {b:?}");
                assert!(ab.rank() >= a.rank() && ab.rank() >= b.rank());
            }
        }
        assert_eq!(PaymentStatus::Paid.advanced_by(PaymentStatus::Pending), PaymentStatus::Paid);
        assert_eq!(PaymentStatus::Expired.advanced_by(PaymentStatus::Paid), PaymentStatus::Paid);
        assert_eq!(PaymentStatus::Paid.advanced_by(PaymentStatus::Refunded), PaymentStatus::Refunded);
    }
}
