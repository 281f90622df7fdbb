//! Why a buyer message cannot be previewed, queued, re-sent or retried.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("no order {0:?}")]
    UnknownOrder(String),
    #[error(
        "unknown notification kind {0:?} (expected voucher_instructions, expiry_reminder, payment_received, refund_approved, refund_completed, cash_ready_for_pickup or voucher_cancelled)"
    )]
    UnknownKind(String),
    #[error("unknown channel {0:?} (expected email or sms)")]
    UnknownChannel(String),
    #[error("unknown locale {0:?} (expected es-CO, es-PE or en)")]
    UnknownLocale(String),
    #[error("unknown notification status {0:?} (expected queued, sending, sent, failed or unknown)")]
    UnknownStatus(String),
    #[error("order {order} has no {channel} contact: set one with `notifications set-contact`")]
    NoRecipient { order: String, channel: Channel },
    #[error("{0:?} is not an email address")]
    BadEmail(String),
    #[error("{0:?} is not a phone number (E.164: +, country code, {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits)")]
    BadPhone(String),
    #[error("{0}")]
    MissingFacts(String),
    #[error("{kind} does not fit order {order} now: {}", reason.reason())]
    Unfit { order: String, kind: Kind, reason: fit::Unfit },
    #[error(
        "order {order} was already re-sent {count} times in the last {RESEND_WINDOW_HOURS} h (limit {limit}); a manager may override"
    )]
    ResendLimit { order: String, count: u32, limit: u32 },
    #[error("no notification {0}")]
    UnknownNotification(i64),
    #[error("notification {id} is {status}: only a failed message can be retried{hint}")]
    NotRetryable { id: i64, status: String, hint: &'static str },
    #[error("at most {max} messages can be retried at once, not {given}")]
    TooManyIds { given: usize, max: usize },
    #[error("{name} ({role}) may not override the re-send limit: ask a manager")]
    OverrideForbidden { name: String, role: &'static str },
    #[error("the SMS is {septets} GSM-7 characters; one SMS holds {max}")]
    SmsTooLong { septets: usize, max: usize },
    #[error("template error: {0}")]
    Template(String),
    #[error("{0}")]
    BadSettings(String),
    #[error("the test message was not accepted: {0}")]
    TestFailed(String),
    #[error("the OS credential store: {0}")]
    Vault(#[from] crate::credentials::VaultError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for NotificationError {
    fn from(e: StoreError) -> Self {
        NotificationError::Store(e)
    }
}

impl NotificationError {
    pub fn code(&self) -> &'static str {
        match self {
            NotificationError::Operator(e) => e.code(),
            NotificationError::UnknownOrder(_) => "notifications.unknown_order",
            NotificationError::UnknownNotification(_) => "notifications.unknown_notification",
            NotificationError::NotRetryable { .. } => "notifications.not_retryable",
            NotificationError::TooManyIds { .. } => "errors.validation",
            NotificationError::UnknownKind(_)
            | NotificationError::UnknownChannel(_)
            | NotificationError::UnknownLocale(_)
            | NotificationError::UnknownStatus(_)
            | NotificationError::BadEmail(_)
            | NotificationError::BadPhone(_)
            | NotificationError::MissingFacts(_)
            | NotificationError::BadSettings(_) => "errors.validation",
            NotificationError::NoRecipient { .. } => "notifications.no_recipient",
            NotificationError::Unfit { .. } => "notifications.kind_unfit",
            NotificationError::ResendLimit { .. } => "notifications.resend_limit",
            NotificationError::OverrideForbidden { .. } => "auth.forbidden",
            NotificationError::SmsTooLong { .. } => "notifications.sms_too_long",
            NotificationError::Template(_) => "notifications.template",
            NotificationError::TestFailed(_) => "notifications.test_failed",
            NotificationError::Vault(_) => "notifications.keyring",
            NotificationError::Store(e) => e.code(),
        }
    }

    /// The user's mistake (exit 2 in the CLI), not the machine's.
    pub fn is_refusal(&self) -> bool {
        match self {
            NotificationError::Operator(_)
            | NotificationError::UnknownOrder(_)
            | NotificationError::UnknownNotification(_)
            | NotificationError::NotRetryable { .. }
            | NotificationError::TooManyIds { .. }
            | NotificationError::UnknownKind(_)
            | NotificationError::UnknownChannel(_)
            | NotificationError::UnknownLocale(_)
            | NotificationError::UnknownStatus(_)
            | NotificationError::NoRecipient { .. }
            | NotificationError::BadEmail(_)
            | NotificationError::BadPhone(_)
            | NotificationError::MissingFacts(_)
            | NotificationError::Unfit { .. }
            | NotificationError::ResendLimit { .. }
            | NotificationError::OverrideForbidden { .. }
            | NotificationError::SmsTooLong { .. }
            | NotificationError::BadSettings(_) => true,
            NotificationError::Template(_)
            | NotificationError::TestFailed(_)
            | NotificationError::Vault(_)
            | NotificationError::Store(_) => false,
        }
    }
}
