//! Buyer message kinds, their channels, locales, outbox statuses and triggers.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationKind"))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    VoucherInstructions,
    ExpiryReminder,
    PaymentReceived,
    RefundApproved,
    RefundCompleted,
    CashReadyForPickup,
    // A voucher was cancelled at the PSP: the buyer must not pay it.
    VoucherCancelled,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::VoucherInstructions,
        Kind::ExpiryReminder,
        Kind::PaymentReceived,
        Kind::RefundApproved,
        Kind::RefundCompleted,
        Kind::CashReadyForPickup,
        Kind::VoucherCancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::VoucherInstructions => "voucher_instructions",
            Kind::ExpiryReminder => "expiry_reminder",
            Kind::PaymentReceived => "payment_received",
            Kind::RefundApproved => "refund_approved",
            Kind::RefundCompleted => "refund_completed",
            Kind::CashReadyForPickup => "cash_ready_for_pickup",
            Kind::VoucherCancelled => "voucher_cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<Kind, NotificationError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
            .ok_or_else(|| NotificationError::UnknownKind(text.to_string()))
    }

    /// Kinds whose facts come from an event (a refund's amount, a withdrawal
    /// code), not from the order alone: a re-send reuses the event's facts.
    pub fn needs_event(self) -> bool {
        match self {
            Kind::VoucherInstructions | Kind::ExpiryReminder | Kind::PaymentReceived | Kind::VoucherCancelled => false,
            Kind::RefundApproved | Kind::RefundCompleted | Kind::CashReadyForPickup => true,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationChannel"))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(text: &str) -> Result<Channel, NotificationError> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == text.trim())
            .ok_or_else(|| NotificationError::UnknownChannel(text.to_string()))
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationLocale"))]
pub enum Locale {
    #[serde(rename = "es-CO")]
    EsCo,
    #[serde(rename = "es-PE")]
    EsPe,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::EsCo, Locale::EsPe, Locale::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::EsCo => "es-CO",
            Locale::EsPe => "es-PE",
            Locale::En => "en",
        }
    }

    pub fn parse(text: &str) -> Result<Locale, NotificationError> {
        Locale::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| NotificationError::UnknownLocale(text.to_string()))
    }

    /// The market's own: es-CO in Colombia, es-PE in Peru.
    pub fn default_for(country: Country) -> Locale {
        match country {
            Country::Colombia => Locale::EsCo,
            Country::Peru => Locale::EsPe,
        }
    }

    /// Both Spanish locales share the `es` templates; what differs between
    /// them (amounts, time zone, where to pay) is data.
    pub(super) fn template_folder(self) -> &'static str {
        match self {
            Locale::EsCo | Locale::EsPe => "es",
            Locale::En => "en",
        }
    }
}

/// Where a message is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationStatus"))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Queued,
    Sending,
    Sent,
    Failed,
    /// Left in `sending` by a crash where a resend could duplicate it (SMTP):
    /// a human checks with the buyer and re-sends by hand if needed.
    Unknown,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Queued, Status::Sending, Status::Sent, Status::Failed, Status::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Result<Status, NotificationError> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| NotificationError::UnknownStatus(text.to_string()))
    }

    /// The state machine, every pair spelt out.
    pub fn can_move_to(self, next: Status) -> bool {
        match (self, next) {
            (Status::Queued, Status::Sending) => true,
            // Only by an operator's retry (`retry`): nothing was accepted, so the
            // same message (same id and client reference) may go again.
            (Status::Failed, Status::Queued) => true,
            // Sent; a retryable error (back to the queue); given up; or a crash reconciled.
            (Status::Sending, Status::Sent | Status::Queued | Status::Failed | Status::Unknown) => true,
            (Status::Queued, Status::Queued | Status::Sent | Status::Failed | Status::Unknown) => false,
            (Status::Sending, Status::Sending) => false,
            // Terminal: a new attempt is a new message (a re-send), never an edit.
            (Status::Sent | Status::Unknown, _) => false,
            (Status::Failed, Status::Sending | Status::Sent | Status::Failed | Status::Unknown) => false,
        }
    }

    /// Finished as far as the deliverer is concerned (a `failed` message
    /// moves again only when an operator retries it).
    pub fn is_terminal(self) -> bool {
        match self {
            Status::Sent | Status::Failed | Status::Unknown => true,
            Status::Queued | Status::Sending => false,
        }
    }
}

/// Why a message was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Event,
    Manual,
    Override,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Event => "event",
            Trigger::Manual => "manual",
            Trigger::Override => "override",
        }
    }
}
