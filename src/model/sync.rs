//! A status poll: what the ledger knows of a voucher to ask its PSP about it,
//! what the PSP said, and what applying that did to the payment.

use super::money::Currency;
use super::payment::PaymentStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the ledger knows of a voucher, enough for a PSP client to ask about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncTarget {
    /// `payments.id`.
    pub payment: i64,
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    /// The voucher code (PagoEfectivo CIP, Efecty reference), "" if unknown.
    pub voucher_code: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub status: PaymentStatus,
}

/// A pending voucher of the ledger, as a PSP would hold it: what the demo's
/// sandbox preload is planned from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PendingVoucher {
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub country: String,
    pub currency: Currency,
    pub amount_minor: i64,
    pub voucher_code: String,
    pub created_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a PSP said about a voucher, already mapped to our status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteObservation {
    pub status: PaymentStatus,
    /// The PSP's own word for it (`PAID`, `Pagado`), kept for the timeline.
    pub psp_status: String,
    pub status_code: String,
    /// When the PSP says the status happened (paid at, ...), if it says.
    pub status_at: Option<DateTime<Utc>>,
    /// The answer as received (the engine keeps up to `RAW_TEXT_BYTES_MAX`).
    pub raw_text: String,
}

/// What applying an observation did to the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Applied {
    pub before: PaymentStatus,
    pub after: PaymentStatus,
    /// A history row was added (the PSP said something new).
    pub recorded: bool,
}

impl Applied {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }
}
