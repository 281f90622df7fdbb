//! dLocal's own vocabulary, exactly as it appears in reports and the API.

/// Payment status as dLocal writes it. Cash payments expire all the time, so
/// `Expired` is here (some integrations forget it and fail to parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlocalPaymentStatus {
    Pending,
    Paid,
    Rejected,
    Cancelled,
    Expired,
    Authorized,
    Verified,
}

impl DlocalPaymentStatus {
    pub const EXPECTED: &'static str = "PENDING, PAID, REJECTED, CANCELLED, EXPIRED, AUTHORIZED, VERIFIED";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "PAID" => Self::Paid,
            "REJECTED" => Self::Rejected,
            "CANCELLED" => Self::Cancelled,
            "EXPIRED" => Self::Expired,
            "AUTHORIZED" => Self::Authorized,
            "VERIFIED" => Self::Verified,
            _ => return None,
        })
    }
}

/// `PAYMENT_METHOD_ID` for the cash networks we handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlocalCashMethod {
    /// `EY`: Efecty, Colombia.
    Efecty,
    /// `EF`: PagoEfectivo, Peru.
    PagoEfectivo,
}

impl DlocalCashMethod {
    pub const EXPECTED: &'static str = "EY (Efecty), EF (PagoEfectivo)";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "EY" => Some(Self::Efecty),
            "EF" => Some(Self::PagoEfectivo),
            _ => None,
        }
    }
}
