//! PagoEfectivo → core mappings. Exhaustive, no catch-all.

use super::wire::CipStatus;
use crate::payments::PaymentStatus;
use crate::psp::PspError;

impl From<CipStatus> for PaymentStatus {
    fn from(status: CipStatus) -> Self {
        match status {
            CipStatus::Pendiente => PaymentStatus::Pending,
            CipStatus::Pagado => PaymentStatus::Paid,
            CipStatus::Expirado => PaymentStatus::Expired,
            CipStatus::Anulado => PaymentStatus::Cancelled,
            CipStatus::Extornado => PaymentStatus::Refunded,
        }
    }
}

pub fn payment_status(text: &str) -> Result<PaymentStatus, PspError> {
    CipStatus::parse(text).map(PaymentStatus::from).ok_or_else(|| PspError::UnknownStatus {
        psp: "PagoEfectivo",
        status: text.trim().to_string(),
        expected: CipStatus::EXPECTED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_estado() {
        let cases = [
            ("Pendiente", PaymentStatus::Pending),
            ("Pagado", PaymentStatus::Paid),
            ("PAGADO", PaymentStatus::Paid),
            ("Expirado", PaymentStatus::Expired),
            ("Anulado", PaymentStatus::Cancelled),
            ("Extornado", PaymentStatus::Refunded),
        ];
        for (text, expected) in cases {
            assert_eq!(payment_status(text), Ok(expected), "{text}");
        }
        assert!(payment_status("Cobrado").unwrap_err().to_string().contains("Cobrado"));
    }
}
