//! dLocal → core mappings. Exhaustive: a new dLocal status is a compile error here.

use super::wire::{DlocalCashMethod, DlocalPaymentStatus};
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
}
