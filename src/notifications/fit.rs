//! Which buyer message fits an order as it stands: a paid order hears that
//! its payment arrived and is never asked to pay again; voucher instructions
//! and reminders go out only while the voucher can still be paid. The case
//! file suggests the fitting message and a re-send of one that does not fit
//! is refused, so support cannot confuse a buyer by accident.

use super::Kind;
use crate::payments::PaymentStatus;
use crate::store::{OrderRecord, PaymentRecord};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Where the order's money stands, as far as the buyer is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMoney {
    /// A PSP reports a payment that is still the shop's.
    pub paid: bool,
    /// The PSP took a payment back (reversal, chargeback) and none is left paid.
    pub taken_back: bool,
    /// The latest deadline of the order's vouchers, if any is known.
    pub voucher_expires_at: Option<DateTime<Utc>>,
    /// The order or a payment carries a code the buyer can pay with.
    pub has_voucher: bool,
}

impl OrderMoney {
    pub fn of(order: &OrderRecord, payments: &[PaymentRecord]) -> OrderMoney {
        let statuses: Vec<PaymentStatus> = payments.iter().filter_map(|p| PaymentStatus::parse(&p.status)).collect();
        let paid = statuses.iter().any(|s| *s == PaymentStatus::Paid);
        OrderMoney {
            paid,
            taken_back: !paid && statuses.iter().any(|s| s.is_taken_back()),
            voucher_expires_at: payments.iter().filter_map(|p| p.expires_at).max().or(order.voucher_expires_at),
            has_voucher: !order.voucher_code.trim().is_empty() || payments.iter().any(|p| !p.voucher_code.is_empty()),
        }
    }

    fn voucher_valid(&self, now: DateTime<Utc>) -> bool {
        self.has_voucher && self.voucher_expires_at.is_none_or(|at| at > now)
    }
}

/// Why a message does not fit the order now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MessageUnfit"))]
#[serde(rename_all = "snake_case")]
pub enum Unfit {
    /// Paid already: asking to pay would make the buyer pay twice.
    AlreadyPaid,
    /// The PSP took the money back: nothing to announce or to pay with.
    TakenBack,
    /// The voucher's deadline passed: its code can no longer be paid.
    VoucherExpired,
    /// The order has no voucher code to pay with.
    NoVoucher,
    /// No PSP reports a payment: "payment received" would be false.
    NotPaid,
}

impl Unfit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unfit::AlreadyPaid => "already_paid",
            Unfit::TakenBack => "taken_back",
            Unfit::VoucherExpired => "voucher_expired",
            Unfit::NoVoucher => "no_voucher",
            Unfit::NotPaid => "not_paid",
        }
    }

    /// The sentence the CLI and the error message give.
    pub fn reason(self) -> &'static str {
        match self {
            Unfit::AlreadyPaid => "the order is paid, so asking the buyer to pay would make them pay twice",
            Unfit::TakenBack => "the PSP took the payment back",
            Unfit::VoucherExpired => "the voucher expired, so its code can no longer be paid",
            Unfit::NoVoucher => "the order has no voucher code",
            Unfit::NotPaid => "no PSP reports a payment for the order",
        }
    }
}

/// Whether `kind` may be sent for an order whose money stands as `money`.
/// Refund messages carry their own event and are checked against it elsewhere.
pub fn check(kind: Kind, money: &OrderMoney, now: DateTime<Utc>) -> Result<(), Unfit> {
    match kind {
        Kind::VoucherInstructions | Kind::ExpiryReminder => {
            if money.paid {
                Err(Unfit::AlreadyPaid)
            } else if money.taken_back {
                Err(Unfit::TakenBack)
            } else if !money.has_voucher {
                Err(Unfit::NoVoucher)
            } else if !money.voucher_valid(now) {
                Err(Unfit::VoucherExpired)
            } else {
                Ok(())
            }
        }
        Kind::PaymentReceived => {
            if money.paid {
                Ok(())
            } else if money.taken_back {
                Err(Unfit::TakenBack)
            } else {
                Err(Unfit::NotPaid)
            }
        }
        // Telling a buyer not to pay a voucher only makes sense while nothing is paid.
        Kind::VoucherCancelled => {
            if money.paid {
                Err(Unfit::AlreadyPaid)
            } else if money.taken_back {
                Err(Unfit::TakenBack)
            } else {
                Ok(())
            }
        }
        Kind::RefundApproved | Kind::RefundCompleted | Kind::CashReadyForPickup => Ok(()),
    }
}

/// The message the order's state calls for, if any: "payment received" for
/// a paid order, the reminder in the voucher's last
/// [`super::EXPIRY_REMINDER_HOURS`] hours, the instructions before that.
pub fn suggested(money: &OrderMoney, now: DateTime<Utc>) -> Option<Kind> {
    if money.paid {
        return Some(Kind::PaymentReceived);
    }
    if check(Kind::VoucherInstructions, money, now).is_err() {
        return None;
    }
    match money.voucher_expires_at {
        Some(at) if at - now <= Duration::hours(super::EXPIRY_REMINDER_HOURS) => Some(Kind::ExpiryReminder),
        Some(_) | None => Some(Kind::VoucherInstructions),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn money(paid: bool, taken_back: bool, expires_in_h: Option<i64>, has_voucher: bool) -> OrderMoney {
        OrderMoney {
            paid,
            taken_back,
            voucher_expires_at: expires_in_h.map(|h| now() + Duration::hours(h)),
            has_voucher,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap()
    }

    #[test]
    fn a_paid_order_is_told_it_paid_and_never_asked_to_pay() {
        let paid = money(true, false, Some(-200 * 24), true);
        assert_eq!(suggested(&paid, now()), Some(Kind::PaymentReceived));
        assert_eq!(check(Kind::VoucherInstructions, &paid, now()), Err(Unfit::AlreadyPaid));
        assert_eq!(check(Kind::ExpiryReminder, &paid, now()), Err(Unfit::AlreadyPaid));
        assert_eq!(check(Kind::PaymentReceived, &paid, now()), Ok(()));
    }

    #[test]
    fn voucher_messages_only_while_the_voucher_can_be_paid() {
        let open = money(false, false, Some(48), true);
        assert_eq!(suggested(&open, now()), Some(Kind::VoucherInstructions));
        assert_eq!(suggested(&money(false, false, Some(5), true), now()), Some(Kind::ExpiryReminder));
        assert_eq!(check(Kind::PaymentReceived, &open, now()), Err(Unfit::NotPaid));
        let expired = money(false, false, Some(-1), true);
        assert_eq!(suggested(&expired, now()), None);
        assert_eq!(check(Kind::VoucherInstructions, &expired, now()), Err(Unfit::VoucherExpired));
        assert_eq!(check(Kind::VoucherInstructions, &money(false, false, None, false), now()), Err(Unfit::NoVoucher));
        let reversed = money(false, true, Some(48), true);
        assert_eq!(suggested(&reversed, now()), None);
        assert_eq!(check(Kind::PaymentReceived, &reversed, now()), Err(Unfit::TakenBack));
        assert_eq!(check(Kind::RefundCompleted, &reversed, now()), Ok(()));
    }

    #[test]
    fn a_cancellation_fits_only_an_unpaid_order() {
        assert_eq!(check(Kind::VoucherCancelled, &money(false, false, Some(-1), true), now()), Ok(()));
        assert_eq!(check(Kind::VoucherCancelled, &money(false, false, Some(48), true), now()), Ok(()));
        assert_eq!(check(Kind::VoucherCancelled, &money(true, false, Some(48), true), now()), Err(Unfit::AlreadyPaid));
        assert_eq!(check(Kind::VoucherCancelled, &money(false, true, Some(48), true), now()), Err(Unfit::TakenBack));
    }
}
