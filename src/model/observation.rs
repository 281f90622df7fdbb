//! What a PSP says about a payment outside a file (an API answer, a
//! notification): where it came from, what it carries, and what applying it did.

use super::market::Country;
use super::money::Currency;
use super::payment::{PaymentObservation, PaymentStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an observation came from (`payment_status_history.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ObservationSource {
    Api,
    Notification,
}

impl ObservationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationSource::Api => "api",
            ObservationSource::Notification => "notification",
        }
    }
}

/// A status for a payment the ledger must already know (an answer that does
/// not carry the whole payment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusReport {
    pub psp: String,
    pub payment_id: String,
    pub status: PaymentStatus,
    pub psp_status: String,
    pub status_code: String,
    /// When the PSP says the status happened, if it says.
    pub status_at: Option<DateTime<Utc>>,
}

/// One observation of one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The whole payment: enough to create it if it is new.
    Payment(PaymentObservation),
    /// Only its status: applied to a known payment, otherwise nothing is written.
    Status(StatusReport),
}

impl Observed {
    pub fn psp(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.psp,
            Observed::Status(s) => &s.psp,
        }
    }

    pub fn payment_id(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.payment_id,
            Observed::Status(s) => &s.payment_id,
        }
    }

    pub fn status(&self) -> PaymentStatus {
        match self {
            Observed::Payment(p) => p.status,
            Observed::Status(s) => s.status,
        }
    }

    pub fn psp_status(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.psp_status,
            Observed::Status(s) => &s.psp_status,
        }
    }

    /// When the observed status happened, by the same rule file imports use.
    pub fn status_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Observed::Payment(p) => super::payment::status_at(p),
            Observed::Status(s) => s.status_at,
        }
    }
}

/// What applying one observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ObservationOutcome {
    /// The payment was not in the ledger; it is now.
    New,
    /// The payment's status moved forward.
    Advanced,
    /// Recorded in the history, but the payment keeps its (more advanced or
    /// equal) status: an older status arriving late, or the same status from
    /// another source.
    HistoryOnly,
    /// Exactly this observation (status, PSP wording, time, source) is already
    /// in the history: nothing was written.
    Duplicate,
    /// A status for a payment the ledger does not know: nothing was written.
    UnknownPayment,
}

impl ObservationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationOutcome::New => "new",
            ObservationOutcome::Advanced => "advanced",
            ObservationOutcome::HistoryOnly => "history_only",
            ObservationOutcome::Duplicate => "duplicate",
            ObservationOutcome::UnknownPayment => "unknown_payment",
        }
    }

    /// Whether the ledger changed (and reconciliation may see something new).
    pub fn changed_ledger(self) -> bool {
        match self {
            ObservationOutcome::New | ObservationOutcome::Advanced | ObservationOutcome::HistoryOnly => true,
            ObservationOutcome::Duplicate | ObservationOutcome::UnknownPayment => false,
        }
    }
}

/// What a notification body says, true or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationClaims {
    pub payment_id: String,
    pub order_id: String,
    /// The PSP's word (`PAID`, `cip.paid`).
    pub status: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub country: Option<Country>,
}
