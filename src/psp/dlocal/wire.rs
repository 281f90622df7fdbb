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

    /// The status as dLocal writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Paid => "PAID",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
            Self::Authorized => "AUTHORIZED",
            Self::Verified => "VERIFIED",
        }
    }
}

/// Refund status as dLocal writes it (codes 100, 200, 300, 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlocalRefundStatus {
    Pending,
    Success,
    Rejected,
    Cancelled,
}

impl DlocalRefundStatus {
    pub const EXPECTED: &'static str = "PENDING, SUCCESS, REJECTED, CANCELLED";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "SUCCESS" => Self::Success,
            "REJECTED" => Self::Rejected,
            "CANCELLED" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Success => "SUCCESS",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Self::Pending => 100,
            Self::Success => 200,
            Self::Rejected => 300,
            Self::Cancelled => 400,
        }
    }

    /// No later answer can change it.
    pub fn is_final(self) -> bool {
        match self {
            Self::Pending => false,
            Self::Success | Self::Rejected | Self::Cancelled => true,
        }
    }
}

/// Chargeback status as dLocal writes it. A chargeback is its own object,
/// notified with the `payment_id` it debits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlocalChargebackStatus {
    /// 100: opened, the money is held against the merchant.
    Pending,
    /// 101: the merchant's defence was received.
    DisputeReceived,
    /// 200: executed, the money left the merchant.
    Completed,
    /// 201: the merchant is disputing it; the money stays debited meanwhile.
    InDispute,
    /// 202: the merchant lost the dispute.
    DisputeLost,
    /// 700: the merchant won the dispute and the money comes back.
    Reversal,
    /// 800: the issuer asks for information; no money moved.
    Inquiry,
}

impl DlocalChargebackStatus {
    pub const EXPECTED: &'static str =
        "PENDING, DISPUTE_RECEIVED, COMPLETED, IN_DISPUTE, DISPUTE_LOST, REVERSAL, INQUIRY";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "DISPUTE_RECEIVED" => Self::DisputeReceived,
            "COMPLETED" => Self::Completed,
            "IN_DISPUTE" => Self::InDispute,
            "DISPUTE_LOST" => Self::DisputeLost,
            "REVERSAL" => Self::Reversal,
            "INQUIRY" => Self::Inquiry,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::DisputeReceived => "DISPUTE_RECEIVED",
            Self::Completed => "COMPLETED",
            Self::InDispute => "IN_DISPUTE",
            Self::DisputeLost => "DISPUTE_LOST",
            Self::Reversal => "REVERSAL",
            Self::Inquiry => "INQUIRY",
        }
    }

    /// dLocal's status code ("Chargeback status" table).
    pub fn code(self) -> u16 {
        match self {
            Self::Pending => 100,
            Self::DisputeReceived => 101,
            Self::Completed => 200,
            Self::InDispute => 201,
            Self::DisputeLost => 202,
            Self::Reversal => 700,
            Self::Inquiry => 800,
        }
    }

    /// Whether the chargeback can still change, so sync keeps re-reading it.
    /// Only a decided dispute is final: `DISPUTE_LOST` and `REVERSAL` (won).
    /// `COMPLETED` means the money was debited, not that the case is closed:
    /// the merchant may still dispute it and win the money back (`REVERSAL`),
    /// and dLocal says a dispute can take up to 150 days to resolve.
    /// `INQUIRY` is a request for information that may turn into a chargeback.
    pub fn is_final(self) -> bool {
        match self {
            Self::DisputeLost | Self::Reversal => true,
            Self::Pending | Self::DisputeReceived | Self::Completed | Self::InDispute | Self::Inquiry => false,
        }
    }

    pub const ALL: [DlocalChargebackStatus; 7] = [
        Self::Pending,
        Self::DisputeReceived,
        Self::Completed,
        Self::InDispute,
        Self::DisputeLost,
        Self::Reversal,
        Self::Inquiry,
    ];
}

/// `format` of a ticket's barcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarcodeFormat {
    Code128,
    /// Interleaved 2 of 5.
    Itf,
}

impl BarcodeFormat {
    pub const EXPECTED: &'static str = "CODE_128, ITF";

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "CODE_128" | "CODE128" => Some(Self::Code128),
            "ITF" => Some(Self::Itf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code128 => "CODE_128",
            Self::Itf => "ITF",
        }
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

    pub fn id(self) -> &'static str {
        match self {
            Self::Efecty => "EY",
            Self::PagoEfectivo => "EF",
        }
    }
}
