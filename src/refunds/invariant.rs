//! The one rule every move into `approved` or `submitted` passes (a request,
//! the last approval, an amendment, a retry, a bulk approval, the submitter
//! just before it calls the PSP): what the payment can still give back,
//! `paid − succeeded − in flight` with the refund being decided left out,
//! covers the refund. It runs inside the IMMEDIATE transaction of the move,
//! on what the store read there, so no other refund can slip in between.

use super::RefundError;
use crate::money::{Currency, format_minor};
use crate::payments::PaymentStatus;
use crate::store::RefundTotals;

/// Whether a payment's money can go back to its buyer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refundability {
    /// The PSP holds the money for us: up to the paid amount.
    Open,
    /// The money never arrived.
    NeverPaid,
    /// The PSP already gave the money back (reversal, chargeback, its own refund).
    TakenBack,
}

/// The single place where a payment's status decides what is refundable.
///
/// Payment states added to the ledger are decided here: `settled` is `Open`;
/// `reversed` and `charged_back` are `TakenBack`.
pub fn refundability(status: PaymentStatus) -> Refundability {
    match status {
        PaymentStatus::Paid => Refundability::Open,
        // PagoEfectivo's `Extornado` and a refund made at the PSP: nothing is left.
        PaymentStatus::Refunded => Refundability::TakenBack,
        // Reversed by the PSP (PagoEfectivo `Extornado`) or charged back by the buyer's bank:
        // the money already went back once.
        PaymentStatus::Reversed | PaymentStatus::ChargedBack => Refundability::TakenBack,
        PaymentStatus::Pending | PaymentStatus::Rejected | PaymentStatus::Cancelled | PaymentStatus::Expired => {
            Refundability::NeverPaid
        }
    }
}

/// The most that refunds of a payment in `status` may ever add up to.
pub fn refund_ceiling_minor(status: PaymentStatus, paid_minor: i64) -> i64 {
    match refundability(status) {
        Refundability::Open => paid_minor,
        Refundability::NeverPaid | Refundability::TakenBack => 0,
    }
}

/// Refuses a payment whose status leaves nothing to refund.
pub fn ensure_open(payment_id: &str, status_text: &str) -> Result<PaymentStatus, RefundError> {
    let status = PaymentStatus::parse(status_text)
        .ok_or_else(|| RefundError::Corrupt(format!("payment {payment_id} has status {status_text:?}")))?;
    match refundability(status) {
        Refundability::Open => Ok(status),
        Refundability::NeverPaid => {
            Err(RefundError::PaymentNotPaid { payment_id: payment_id.to_string(), status: status.as_str().into() })
        }
        Refundability::TakenBack => {
            Err(RefundError::PaymentTakenBack { payment_id: payment_id.to_string(), status: status.as_str().into() })
        }
    }
}

/// The invariant: `amount_minor` fits in what the payment still holds.
/// Returns what was refundable before this refund.
pub fn ensure_covers(payment_id: &str, held: &RefundTotals, amount_minor: i64) -> Result<i64, RefundError> {
    let payment = held.payment.as_ref().ok_or_else(|| RefundError::UnknownPayment(payment_id.to_string()))?;
    let status = ensure_open(payment_id, &payment.status)?;
    let currency = Currency::parse(&payment.currency)
        .map_err(|_| RefundError::Corrupt(format!("payment {payment_id} has currency {:?}", payment.currency)))?;
    let ceiling = refund_ceiling_minor(status, payment.amount_minor);
    let refundable = ceiling - held.succeeded_minor - held.in_flight_minor;
    if amount_minor > refundable {
        let show = |minor: i64| format!("{} {currency}", format_minor(minor, currency));
        return Err(RefundError::ExceedsRefundable {
            requested: show(amount_minor),
            refundable: show(refundable.max(0)),
            paid: show(payment.amount_minor),
            succeeded: show(held.succeeded_minor),
            in_flight: show(held.in_flight_minor),
        });
    }
    Ok(refundable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PaymentHold;

    fn held(status: &str, succeeded: i64, in_flight: i64) -> RefundTotals {
        RefundTotals {
            payment: Some(PaymentHold { status: status.into(), amount_minor: 6_710_000, currency: "COP".into() }),
            succeeded_minor: succeeded,
            in_flight_minor: in_flight,
            ..RefundTotals::default()
        }
    }

    #[test]
    fn only_a_paid_payment_is_open_and_every_status_is_decided() {
        let open: Vec<_> =
            PaymentStatus::ALL.into_iter().filter(|s| refundability(*s) == Refundability::Open).collect();
        assert_eq!(open, vec![PaymentStatus::Paid]);
        for taken_back in [PaymentStatus::Refunded, PaymentStatus::Reversed, PaymentStatus::ChargedBack] {
            assert_eq!(refundability(taken_back), Refundability::TakenBack, "{taken_back:?}");
            assert_eq!(refund_ceiling_minor(taken_back, 6_710_000), 0);
        }
        assert_eq!(refund_ceiling_minor(PaymentStatus::Paid, 6_710_000), 6_710_000);
    }

    #[test]
    fn the_invariant_allows_exactly_the_remainder_and_not_one_minor_unit_more() {
        assert_eq!(ensure_covers("D-1", &held("paid", 0, 6_000_000), 710_000).unwrap(), 710_000);
        let err = ensure_covers("D-1", &held("paid", 0, 6_000_000), 710_001).unwrap_err();
        assert_eq!(err.code(), "refunds.exceeds_refundable");
        assert_eq!(
            err.to_string(),
            "7100.01 COP is more than what remains refundable (7100.00 COP of 67100.00 COP paid; 0.00 COP refunded, 60000.00 COP in flight)"
        );
        let err = ensure_covers("D-1", &held("refunded", 0, 0), 100).unwrap_err();
        assert_eq!(err.code(), "refunds.payment_taken_back");
        for status in ["reversed", "charged_back"] {
            assert_eq!(
                ensure_covers("D-1", &held(status, 0, 0), 100).unwrap_err().code(),
                "refunds.payment_taken_back"
            );
        }
        assert_eq!(ensure_covers("D-1", &held("expired", 0, 0), 100).unwrap_err().code(), "refunds.payment_not_paid");
        assert_eq!(ensure_covers("D-1", &RefundTotals::default(), 100).unwrap_err().code(), "refunds.unknown_payment");
    }
}
