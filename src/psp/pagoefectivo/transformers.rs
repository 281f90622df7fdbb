//! PagoEfectivo → core mappings. Exhaustive, no catch-all.

use super::wire::{CipEvent, CipStatus};
use crate::payments::PaymentStatus;
use crate::psp::PspError;

const PSP: &str = "PagoEfectivo";

impl From<CipStatus> for PaymentStatus {
    fn from(status: CipStatus) -> Self {
        match status {
            CipStatus::Pendiente => PaymentStatus::Pending,
            CipStatus::Pagado => PaymentStatus::Paid,
            CipStatus::Expirado => PaymentStatus::Expired,
            CipStatus::Anulado => PaymentStatus::Cancelled,
            // An extorno takes a paid CIP's money back: a reversal, not a refund we made.
            CipStatus::Extornado => PaymentStatus::Reversed,
        }
    }
}

impl From<CipEvent> for PaymentStatus {
    fn from(event: CipEvent) -> Self {
        match event {
            CipEvent::Paid => PaymentStatus::Paid,
            CipEvent::Expired => PaymentStatus::Expired,
        }
    }
}

/// A report's `ESTADO` word.
pub fn payment_status(text: &str) -> Result<PaymentStatus, PspError> {
    CipStatus::parse(text).map(PaymentStatus::from).ok_or_else(|| PspError::UnknownStatus {
        psp: PSP,
        status: text.trim().to_string(),
        expected: CipStatus::EXPECTED,
    })
}

/// The API's numeric `status` (its `statusName` is only shown in the error).
pub fn api_status(code: i64, status_name: &str) -> Result<CipStatus, PspError> {
    CipStatus::from_code(code).ok_or_else(|| PspError::UnknownStatus {
        psp: PSP,
        status: format!("{code} ({})", status_name.trim()),
        expected: CipStatus::EXPECTED_CODES,
    })
}

/// A callback's `eventType`.
pub fn callback_event(text: &str) -> Result<CipEvent, PspError> {
    CipEvent::parse(text).ok_or_else(|| PspError::UnknownStatus {
        psp: PSP,
        status: text.trim().to_string(),
        expected: CipEvent::EXPECTED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_estado() {
        let cases = [
            ("Pendiente", PaymentStatus::Pending),
            ("Generado", PaymentStatus::Pending),
            ("Pagado", PaymentStatus::Paid),
            ("PAGADO", PaymentStatus::Paid),
            ("Expirado", PaymentStatus::Expired),
            ("Anulado", PaymentStatus::Cancelled),
            ("Eliminado", PaymentStatus::Cancelled),
            ("Extornado", PaymentStatus::Reversed),
        ];
        for (text, expected) in cases {
            assert_eq!(payment_status(text), Ok(expected), "{text}");
        }
        assert!(payment_status("Cobrado").unwrap_err().to_string().contains("Cobrado"));
    }

    #[test]
    fn maps_every_api_status_code_and_round_trips() {
        let cases = [
            (21, CipStatus::Expirado, PaymentStatus::Expired),
            (22, CipStatus::Pendiente, PaymentStatus::Pending),
            (23, CipStatus::Pagado, PaymentStatus::Paid),
            (25, CipStatus::Anulado, PaymentStatus::Cancelled),
        ];
        for (code, cip_status, payment) in cases {
            assert_eq!(api_status(code, cip_status.api_name()), Ok(cip_status));
            assert_eq!(PaymentStatus::from(cip_status), payment);
            assert_eq!(cip_status.api_code(), Some(code));
            assert_eq!(CipStatus::parse(cip_status.api_name()), Some(cip_status));
        }
        assert_eq!(CipStatus::Extornado.api_code(), None);
        let err = api_status(24, "Bloqueado").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown PagoEfectivo status \"24 (Bloqueado)\" (expected one of 21 (Expirado), 22 (Generado), \
             23 (Pagado), 25 (Eliminado))"
        );
    }

    #[test]
    fn maps_every_callback_event() {
        assert_eq!(callback_event("cip.paid").map(PaymentStatus::from), Ok(PaymentStatus::Paid));
        assert_eq!(callback_event("cip.expired").map(PaymentStatus::from), Ok(PaymentStatus::Expired));
        for event in [CipEvent::Paid, CipEvent::Expired] {
            assert_eq!(callback_event(event.as_str()), Ok(event));
        }
        let err = callback_event("cip.refunded").unwrap_err();
        assert!(err.to_string().contains("\"cip.refunded\""), "{err}");
    }
}
