//! Vouchers and their payments, as PSPs report them, with status precedence.

use super::market::Country;
use super::money::Currency;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Our status for a payment, whatever the PSP calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Rejected,
    Cancelled,
    Expired,
    Paid,
    Refunded,
    /// The PSP took the money back after paying it (PagoEfectivo `Extornado`).
    Reversed,
    /// The payer disputed the payment and the PSP debited it (a chargeback).
    ChargedBack,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 8] = [
        PaymentStatus::Pending,
        PaymentStatus::Rejected,
        PaymentStatus::Cancelled,
        PaymentStatus::Expired,
        PaymentStatus::Paid,
        PaymentStatus::Refunded,
        PaymentStatus::Reversed,
        PaymentStatus::ChargedBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Rejected => "rejected",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Reversed => "reversed",
            PaymentStatus::ChargedBack => "charged_back",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentStatus> {
        let wanted = text.trim();
        PaymentStatus::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(wanted))
    }

    /// Precedence `pending → expired/cancelled/rejected → paid → refunded →
    /// reversed → charged_back`. Within the middle tier the order is fixed too,
    /// so that the outcome never depends on the order in which reports arrive.
    /// Money taken back after payment (a reversal, then a chargeback, the
    /// strongest claim on it) is a later step, never a regression.
    pub fn rank(self) -> u8 {
        match self {
            PaymentStatus::Pending => 0,
            PaymentStatus::Rejected => 1,
            PaymentStatus::Cancelled => 2,
            PaymentStatus::Expired => 3,
            PaymentStatus::Paid => 4,
            PaymentStatus::Refunded => 5,
            PaymentStatus::Reversed => 6,
            PaymentStatus::ChargedBack => 7,
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
            | PaymentStatus::Refunded
            | PaymentStatus::Reversed
            | PaymentStatus::ChargedBack => true,
        }
    }

    /// The PSP took the money back after it was paid: nothing is left to ship
    /// against or to refund.
    pub fn is_taken_back(self) -> bool {
        match self {
            PaymentStatus::Reversed | PaymentStatus::ChargedBack => true,
            PaymentStatus::Pending
            | PaymentStatus::Rejected
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Paid
            | PaymentStatus::Refunded => false,
        }
    }

    /// Paid now: the money is with the merchant.
    pub fn is_paid(self) -> bool {
        match self {
            PaymentStatus::Paid => true,
            PaymentStatus::Pending
            | PaymentStatus::Rejected
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Refunded
            | PaymentStatus::Reversed
            | PaymentStatus::ChargedBack => false,
        }
    }

    /// A time that is a paid time only when this status is `paid` (a later
    /// status's time is that of its refund or reversal).
    pub fn paid_time<T>(self, at: Option<T>) -> Option<T> {
        at.filter(|_| self.is_paid())
    }

    /// The payment was paid at some point (whatever happened to the money since).
    pub fn was_paid(self) -> bool {
        match self {
            PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::Reversed | PaymentStatus::ChargedBack => {
                true
            }
            PaymentStatus::Pending | PaymentStatus::Rejected | PaymentStatus::Cancelled | PaymentStatus::Expired => {
                false
            }
        }
    }
}

/// Payment method of a cash voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// When the observed status happened, when the source says so apart from
    /// the paid and expiry dates (a report's reversal date, a notification's time).
    pub status_at: Option<DateTime<Utc>>,
}

/// When the PSP says an observed status happened: paid at payment, expired
/// at expiry, otherwise at the observation's own time, and failing those at
/// creation. Money taken back (a reversal, a chargeback) is never dated by the
/// voucher's creation: without its own time it has none, and the history
/// places it when it was learned.
pub fn status_at(p: &PaymentObservation) -> Option<DateTime<Utc>> {
    match p.status {
        PaymentStatus::Paid => p.paid_at.or(p.status_at).or(p.created_at),
        PaymentStatus::Expired => p.expires_at.or(p.status_at).or(p.created_at),
        PaymentStatus::Pending | PaymentStatus::Rejected | PaymentStatus::Cancelled | PaymentStatus::Refunded => {
            p.status_at.or(p.created_at)
        }
        PaymentStatus::Reversed | PaymentStatus::ChargedBack => p.status_at,
    }
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
        assert_eq!(PaymentStatus::Paid.advanced_by(PaymentStatus::Reversed), PaymentStatus::Reversed);
        assert_eq!(PaymentStatus::Reversed.advanced_by(PaymentStatus::Paid), PaymentStatus::Reversed);
        assert_eq!(PaymentStatus::Reversed.advanced_by(PaymentStatus::ChargedBack), PaymentStatus::ChargedBack);
        assert_eq!(PaymentStatus::ChargedBack.advanced_by(PaymentStatus::Reversed), PaymentStatus::ChargedBack);
        assert_eq!(PaymentStatus::parse("charged_back"), Some(PaymentStatus::ChargedBack));
    }
}
