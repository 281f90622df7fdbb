//! Outbound buyer notifications: voucher instructions, reminders, payment and
//! refund news, by email (SMTP) and SMS (an HTTP provider). Not to be confused
//! with `crate::webhooks`, which receives the PSPs' inbound notifications.
//!
//! Every message goes through the outbox (`store::notifications`):
//! `queued → sending → sent | failed`, plus `unknown` for a message whose
//! fate a crash hid (see [`delivery`]). Content is rendered from the
//! templates under `assets/templates/` when the message is queued and kept,
//! so the log shows exactly what the buyer got.
//!
//! Other modules queue messages with [`queue_for_event`]; support re-sends by
//! hand with [`resend`] (at most [`RESENDS_PER_ORDER_MAX`] per order per
//! [`RESEND_WINDOW_HOURS`] hours; managers and admins may override, audited).

pub mod barcode;
pub mod config;
pub mod delivery;
pub mod fit;
pub mod format;
mod templates;

pub use templates::Rendered;

use crate::audit::audit_entry;
use crate::market::Country;
use crate::money::Currency;
use crate::operators::{Operator, OperatorError, Permission, Role};
use crate::store::{
    BuyerNotificationRow, ManualInsert, NewBuyerNotification, NotificationFilter, OrderRecord, Store, StoreError,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Manual re-sends one order may get in [`RESEND_WINDOW_HOURS`] (support's limit).
pub const RESENDS_PER_ORDER_MAX: u32 = 3;
pub const RESEND_WINDOW_HOURS: i64 = 24;
/// Longest email address accepted (RFC 5321 path limit).
pub const EMAIL_CHARS_MAX: usize = 254;
/// An E.164 number has at most 15 digits; national numbers we send to have at least 8.
pub const PHONE_DIGITS_MIN: usize = 8;
pub const PHONE_DIGITS_MAX: usize = 15;
/// Rows one page of the notification log may hold.
pub const LIST_PAGE_ROWS_MAX: u32 = 500;
/// Longest event reference (refund id, payment id) and withdrawal code accepted.
pub const EVENT_REF_CHARS_MAX: usize = 64;

// ------------------------------------------------------------------ enums

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
    fn template_folder(self) -> &'static str {
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

// ------------------------------------------------------------------ errors

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

// ------------------------------------------------------------------ facts

/// What an event knows that the order does not. Stored with the message
/// (`params`) so a re-send tells the same facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFacts {
    /// The refund (or payment) this message is about, for the event key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_amount_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_deadline: Option<DateTime<Utc>>,
    /// An approved refund: the business days the buyer should expect to wait, at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_business_days: Option<u32>,
    /// The voucher the message is about when it is not the order's current
    /// one (a cancelled voucher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voucher_code: Option<String>,
}

/// An event other modules report; each queues its notification on every
/// channel the buyer has a contact for, once per event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationEvent {
    /// The buyer's cash payment arrived.
    PaymentReceived { order_id: String, payment_id: String },
    /// The voucher's deadline is near and it is not paid (once per voucher and channel).
    ExpiryReminder { order_id: String },
    /// A refund was approved (not yet paid out); the money should reach the
    /// buyer within `expected_business_days`.
    RefundApproved { order_id: String, refund_id: String, amount_minor: i64, expected_business_days: u32 },
    /// A refund was paid out to the buyer's account.
    RefundCompleted { order_id: String, refund_id: String, amount_minor: i64 },
    /// A new voucher was issued for the order (it is now the order's voucher),
    /// or its deadline moved (`revision` tells the deadlines apart): the buyer
    /// gets its instructions, once per voucher and deadline.
    VoucherIssued { order_id: String, payment_id: String, revision: Option<String> },
    /// A voucher was cancelled at the PSP.
    VoucherCancelled { order_id: String, payment_id: String, voucher_code: String },
    /// A cash refund waits at a payment point for the buyer.
    CashReadyForPickup {
        order_id: String,
        refund_id: String,
        amount_minor: i64,
        withdrawal_code: String,
        pickup_deadline: Option<DateTime<Utc>>,
    },
}

impl NotificationEvent {
    fn parts(&self) -> (&str, Kind, EventFacts) {
        match self {
            NotificationEvent::PaymentReceived { order_id, payment_id } => (
                order_id,
                Kind::PaymentReceived,
                EventFacts { reference: Some(payment_id.clone()), ..EventFacts::default() },
            ),
            NotificationEvent::ExpiryReminder { order_id } => (order_id, Kind::ExpiryReminder, EventFacts::default()),
            NotificationEvent::VoucherIssued { order_id, payment_id, revision } => (
                order_id,
                Kind::VoucherInstructions,
                EventFacts {
                    reference: Some(match revision {
                        Some(revision) => format!("{payment_id}@{revision}"),
                        None => payment_id.clone(),
                    }),
                    ..EventFacts::default()
                },
            ),
            NotificationEvent::VoucherCancelled { order_id, payment_id, voucher_code } => (
                order_id,
                Kind::VoucherCancelled,
                EventFacts {
                    reference: Some(payment_id.clone()),
                    voucher_code: Some(voucher_code.clone()),
                    ..EventFacts::default()
                },
            ),
            NotificationEvent::RefundApproved { order_id, refund_id, amount_minor, expected_business_days } => (
                order_id,
                Kind::RefundApproved,
                EventFacts {
                    reference: Some(refund_id.clone()),
                    refund_amount_minor: Some(*amount_minor),
                    expected_business_days: Some(*expected_business_days),
                    ..EventFacts::default()
                },
            ),
            NotificationEvent::RefundCompleted { order_id, refund_id, amount_minor } => (
                order_id,
                Kind::RefundCompleted,
                EventFacts {
                    reference: Some(refund_id.clone()),
                    refund_amount_minor: Some(*amount_minor),
                    ..EventFacts::default()
                },
            ),
            NotificationEvent::CashReadyForPickup {
                order_id,
                refund_id,
                amount_minor,
                withdrawal_code,
                pickup_deadline,
            } => (
                order_id,
                Kind::CashReadyForPickup,
                EventFacts {
                    reference: Some(refund_id.clone()),
                    refund_amount_minor: Some(*amount_minor),
                    withdrawal_code: Some(withdrawal_code.clone()),
                    pickup_deadline: *pickup_deadline,
                    expected_business_days: None,
                    voucher_code: None,
                },
            ),
        }
    }
}

/// The order as the templates need it, with the buyer's current contacts.
struct OrderFacts {
    order: OrderRecord,
    country: Country,
    currency: Currency,
    email: String,
    phone: String,
}

fn load_order(store: &Store, order_id: &str) -> Result<OrderFacts, NotificationError> {
    let order = store.order(order_id.trim())?.ok_or_else(|| NotificationError::UnknownOrder(order_id.to_string()))?;
    let country = Country::parse(&order.country)
        .map_err(|_| StoreError::Corrupt(format!("order {} has country {:?}", order.order_id, order.country)))?;
    let currency = Currency::parse(&order.currency)
        .map_err(|_| StoreError::Corrupt(format!("order {} has currency {:?}", order.order_id, order.currency)))?;
    let email = store.buyer_contact_override(&order.order_id, "email")?.unwrap_or_else(|| order.buyer_email.clone());
    let phone = store.buyer_contact_override(&order.order_id, "phone")?.unwrap_or_else(|| order.buyer_phone.clone());
    Ok(OrderFacts { order, country, currency, email, phone })
}

/// Refuses a message that does not fit the order now ([`fit::check`]).
fn check_fit(store: &Store, facts: &OrderFacts, kind: Kind) -> Result<(), NotificationError> {
    let payments = store.payments_of_order(&facts.order.order_id)?;
    let money = fit::OrderMoney::of(&facts.order, &payments);
    fit::check(kind, &money, Utc::now()).map_err(|reason| NotificationError::Unfit {
        order: facts.order.order_id.clone(),
        kind,
        reason,
    })
}

/// Control characters (a newline in a name) become spaces: nothing a buyer
/// typed can start a new header line or break the layout.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

fn network(country: Country) -> &'static str {
    match country {
        Country::Colombia => "Efecty",
        Country::Peru => "PagoEfectivo",
    }
}

fn where_to_pay(country: Country, locale: Locale) -> &'static str {
    match (country, locale) {
        (Country::Colombia, Locale::EsCo | Locale::EsPe) => "cualquier punto Efecty del país, en efectivo",
        (Country::Colombia, Locale::En) => "any Efecty point in Colombia, in cash",
        (Country::Peru, Locale::EsCo | Locale::EsPe) => {
            "agentes y bodegas PagoEfectivo, o la banca por internet o móvil de tu banco (opción PagoEfectivo)"
        }
        (Country::Peru, Locale::En) => {
            "PagoEfectivo agents and corner shops, or your bank's online or mobile banking (PagoEfectivo option)"
        }
    }
}

fn pickup_where(country: Country, locale: Locale) -> &'static str {
    match (country, locale) {
        (Country::Colombia, Locale::EsCo | Locale::EsPe) => "cualquier punto Efecty del país",
        (Country::Colombia, Locale::En) => "any Efecty point in Colombia",
        (Country::Peru, Locale::EsCo | Locale::EsPe) => "cualquier agente PagoEfectivo",
        (Country::Peru, Locale::En) => "any PagoEfectivo agent",
    }
}

/// The ID the buyer must show, named by its last four characters only.
fn id_to_bring(country: Country, locale: Locale, document: &str) -> String {
    let chars: Vec<char> = document.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    match (country, locale) {
        (Country::Colombia, Locale::EsCo | Locale::EsPe) => {
            format!("tu cédula de ciudadanía original (terminada en {tail})")
        }
        (Country::Peru, Locale::EsCo | Locale::EsPe) => format!("tu DNI original (terminado en {tail})"),
        (Country::Colombia | Country::Peru, Locale::En) => format!("your original ID document (ending in {tail})"),
    }
}

#[derive(Serialize)]
struct TemplateContext {
    lang: &'static str,
    buyer_name: String,
    order_id: String,
    store: String,
    store_short: String,
    amount: String,
    voucher_code: String,
    deadline: String,
    deadline_short: String,
    where_to_pay: &'static str,
    network: &'static str,
    barcode_url: String,
    /// `cid:voucher-barcode` when the email carries the code as an inline image.
    barcode_cid: String,
    refund_amount: String,
    withdrawal_code: String,
    id_to_bring: String,
    pickup_where: &'static str,
    pickup_deadline: String,
    /// An approved refund's expected wait, in business days.
    expected_business_days: String,
}

/// Characters of the shop name an SMS shows.
const SMS_STORE_CHARS_MAX: usize = 20;

/// The value an email of `kind` draws as its inline barcode: the voucher code
/// of voucher instructions and expiry reminders sent by email, when CODE_128
/// can draw it.
fn inline_barcode(kind: Kind, channel: Channel, voucher_code: &str) -> Option<String> {
    let wants = matches!(kind, Kind::VoucherInstructions | Kind::ExpiryReminder) && channel == Channel::Email;
    (wants && barcode::code128_modules(voucher_code).is_ok()).then(|| voucher_code.to_string())
}

fn context(
    facts: &OrderFacts,
    kind: Kind,
    locale: Locale,
    channel: Channel,
    event: &EventFacts,
    barcode_url_template: Option<&str>,
) -> Result<TemplateContext, NotificationError> {
    let order = &facts.order;
    let missing = |what: &str| {
        NotificationError::MissingFacts(format!("order {} has no {what}: cannot send {kind}", order.order_id))
    };
    let (deadline, deadline_short) = match (kind, order.voucher_expires_at) {
        (Kind::VoucherInstructions | Kind::ExpiryReminder, None) => return Err(missing("voucher deadline")),
        (_, Some(at)) => {
            (format::market_time(at, facts.country, locale), format::market_time_short(at, facts.country, locale))
        }
        (_, None) => (String::new(), String::new()),
    };
    let voucher_code = clean(event.voucher_code.as_deref().unwrap_or(&order.voucher_code));
    if matches!(kind, Kind::VoucherInstructions | Kind::ExpiryReminder | Kind::VoucherCancelled)
        && voucher_code.is_empty()
    {
        return Err(missing("voucher code"));
    }
    let refund_amount = match (kind.needs_event(), event.refund_amount_minor) {
        (true, None) => return Err(missing("refund amount (it comes with the refund event)")),
        (_, Some(minor)) => format::amount(minor, facts.currency),
        (false, None) => String::new(),
    };
    let withdrawal_code = event.withdrawal_code.as_deref().map(clean).unwrap_or_default();
    if kind == Kind::CashReadyForPickup && withdrawal_code.is_empty() {
        return Err(missing("withdrawal code (it comes with the cash-ready event)"));
    }
    let expected_business_days = match (kind, event.expected_business_days) {
        (Kind::RefundApproved, None) => return Err(missing("expected time (it comes with the refund event)")),
        (_, Some(days)) => days.to_string(),
        (_, None) => String::new(),
    };
    let store_name = clean(&order.store);
    Ok(TemplateContext {
        lang: locale.as_str(),
        buyer_name: clean(&order.buyer_name),
        order_id: clean(&order.order_id),
        store_short: store_name.chars().take(SMS_STORE_CHARS_MAX).collect::<String>().trim().to_string(),
        store: store_name,
        amount: format::amount(order.amount_minor, facts.currency),
        barcode_url: barcode_url_template.map(|t| t.replace("{code}", &voucher_code)).unwrap_or_default(),
        barcode_cid: inline_barcode(kind, channel, &voucher_code)
            .map(|_| format!("cid:{}", barcode::BARCODE_CONTENT_ID))
            .unwrap_or_default(),
        voucher_code,
        deadline,
        deadline_short,
        where_to_pay: where_to_pay(facts.country, locale),
        network: network(facts.country),
        refund_amount,
        withdrawal_code,
        id_to_bring: id_to_bring(facts.country, locale, &order.buyer_document),
        pickup_where: pickup_where(facts.country, locale),
        pickup_deadline: event
            .pickup_deadline
            .map(|at| format::market_time(at, facts.country, locale))
            .unwrap_or_default(),
        expected_business_days,
    })
}

/// Renders one message; an SMS is made GSM-7 and must fit one SMS.
fn render(
    facts: &OrderFacts,
    kind: Kind,
    locale: Locale,
    channel: Channel,
    event: &EventFacts,
    barcode_url_template: Option<&str>,
) -> Result<Rendered, NotificationError> {
    let ctx = context(facts, kind, locale, channel, event, barcode_url_template)?;
    let mut rendered = templates::render(kind, locale, channel, &ctx)?;
    match channel {
        Channel::Email => {}
        Channel::Sms => {
            rendered.text = format::to_gsm7(&rendered.text);
            let septets = format::gsm7_septets(&rendered.text).unwrap_or(usize::MAX);
            if septets > format::SMS_GSM7_SEPTETS_MAX {
                return Err(NotificationError::SmsTooLong { septets, max: format::SMS_GSM7_SEPTETS_MAX });
            }
        }
    }
    Ok(rendered)
}

// ------------------------------------------------------------------ contacts

/// A plausible address: one `@`, a dotted domain, no spaces, at most
/// [`EMAIL_CHARS_MAX`]. (Deliverability is the SMTP server's to judge.)
pub fn check_email(text: &str) -> Result<String, NotificationError> {
    let t = text.trim();
    let bad = || NotificationError::BadEmail(text.to_string());
    if t.is_empty() || t.chars().count() > EMAIL_CHARS_MAX || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = t.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    lettre::Address::new(local, domain).map_err(|_| bad())?;
    Ok(t.to_string())
}

/// The number in E.164 (`+573001234567`). Spaces, dashes, dots and brackets
/// are dropped; a national mobile number gets its market's country code
/// (Colombia: 10 digits starting with 3; Peru: 9 digits starting with 9).
pub fn check_phone(text: &str, country: Country) -> Result<String, NotificationError> {
    let bad = || NotificationError::BadPhone(text.to_string());
    let t = text.trim();
    let plus = t.starts_with('+');
    let body = if plus { &t[1..] } else { t };
    if body.chars().any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))) {
        return Err(bad());
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let e164 = if plus {
        digits
    } else {
        match (country, digits.len(), digits.chars().next()) {
            (Country::Colombia, 10, Some('3')) => format!("57{digits}"),
            (Country::Peru, 9, Some('9')) => format!("51{digits}"),
            (Country::Colombia | Country::Peru, _, _) => return Err(bad()),
        }
    };
    if !(PHONE_DIGITS_MIN..=PHONE_DIGITS_MAX).contains(&e164.len()) || e164.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{e164}"))
}

fn recipient(facts: &OrderFacts, channel: Channel) -> Result<String, NotificationError> {
    let no_recipient = || NotificationError::NoRecipient { order: facts.order.order_id.clone(), channel };
    match channel {
        Channel::Email if facts.email.trim().is_empty() => Err(no_recipient()),
        Channel::Email => check_email(&facts.email),
        Channel::Sms if facts.phone.trim().is_empty() => Err(no_recipient()),
        Channel::Sms => check_phone(&facts.phone, facts.country),
    }
}

/// Which contact [`set_contact`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    Email,
    Phone,
}

impl ContactField {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactField::Email => "email",
            ContactField::Phone => "phone",
        }
    }
}

/// Corrects a buyer's email or phone for notifications; recorded with who
/// changed it (and audited). The imported order is left as it was.
pub fn set_contact(
    store: &mut Store,
    operator: &Operator,
    order_id: &str,
    field: ContactField,
    value: &str,
) -> Result<String, NotificationError> {
    operator.require(Permission::ResendNotification)?;
    let facts = load_order(store, order_id)?;
    let (old, new) = match field {
        ContactField::Email => (facts.email.clone(), check_email(value)?),
        ContactField::Phone => (facts.phone.clone(), check_phone(value, facts.country)?),
    };
    let subject = format!("order {}", facts.order.order_id);
    let action = format!("notifications.set_{}", field.as_str());
    let entry = audit_entry(&operator.name, &action, &subject, &old, &new);
    store.insert_buyer_contact_change(
        &facts.order.order_id,
        field.as_str(),
        &old,
        &new,
        &operator.name,
        Utc::now(),
        &entry,
    )?;
    Ok(new)
}

// ------------------------------------------------------------------ preview and queueing

/// What a message would look like, rendered without sending (the app's
/// preview, `notifications preview`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationPreview"))]
pub struct Preview {
    pub order_id: String,
    pub kind: Kind,
    pub channel: Channel,
    pub locale: Locale,
    pub recipient: String,
    #[serde(flatten)]
    pub rendered: Rendered,
}

/// The facts of the latest event message of this kind for the order.
fn latest_event_facts(store: &Store, order_id: &str, kind: Kind) -> Result<Option<EventFacts>, NotificationError> {
    let rows = store.buyer_notifications(&NotificationFilter {
        order_id: Some(order_id),
        status: None,
        before_id: None,
        limit: LIST_PAGE_ROWS_MAX,
    })?;
    Ok(rows.iter().find(|r| r.kind == kind.as_str()).and_then(|r| serde_json::from_str::<EventFacts>(&r.params).ok()))
}

fn facts_for_resend(store: &Store, order_id: &str, kind: Kind) -> Result<EventFacts, NotificationError> {
    if !kind.needs_event() {
        return Ok(EventFacts::default());
    }
    latest_event_facts(store, order_id, kind)?.ok_or_else(|| {
        NotificationError::MissingFacts(format!(
            "order {order_id} never had a {kind} notification: it is sent when the refund module reports the event, and only then can it be re-sent"
        ))
    })
}

/// Renders a message for an order without queueing or sending anything.
pub fn preview(
    store: &Store,
    operator: &Operator,
    order_id: &str,
    kind: Kind,
    locale: Option<Locale>,
    channel: Channel,
) -> Result<Preview, NotificationError> {
    operator.require(Permission::Lookup)?;
    let facts = load_order(store, order_id)?;
    check_fit(store, &facts, kind)?;
    let locale = locale.unwrap_or_else(|| Locale::default_for(facts.country));
    let event = facts_for_resend(store, &facts.order.order_id, kind)?;
    let settings = config::get(store)?;
    let rendered = render(&facts, kind, locale, channel, &event, settings.barcode_url_template.as_deref())?;
    Ok(Preview {
        order_id: facts.order.order_id.clone(),
        kind,
        channel,
        locale,
        recipient: recipient(&facts, channel)?,
        rendered,
    })
}

/// A fresh client reference: the SMS provider's idempotency key and the
/// email's Message-ID, fixed when the message is queued.
fn client_ref() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("vd-{}", hex::encode(bytes))
}

struct Queued<'a> {
    facts: &'a OrderFacts,
    kind: Kind,
    locale: Locale,
    channel: Channel,
    recipient: String,
    rendered: Rendered,
    params: String,
    client_ref: String,
    trigger: Trigger,
    triggered_by: &'a str,
    event_key: Option<String>,
    /// What the email's inline barcode encodes (the code its HTML shows), if it has one.
    barcode: Option<String>,
    now: DateTime<Utc>,
}

impl Queued<'_> {
    fn row(&self) -> NewBuyerNotification<'_> {
        NewBuyerNotification {
            order_id: &self.facts.order.order_id,
            kind: self.kind.as_str(),
            channel: self.channel.as_str(),
            locale: self.locale.as_str(),
            recipient: &self.recipient,
            subject: &self.rendered.subject,
            body_text: &self.rendered.text,
            body_html: &self.rendered.html,
            params: &self.params,
            client_ref: &self.client_ref,
            trigger: self.trigger.as_str(),
            triggered_by: self.triggered_by,
            event_key: self.event_key.as_deref(),
            barcode: self.barcode.as_deref(),
            now: self.now,
        }
    }

    fn audit_after(&self) -> String {
        serde_json::json!({
            "kind": self.kind.as_str(),
            "channel": self.channel.as_str(),
            "recipient": self.recipient,
            "trigger": self.trigger.as_str(),
        })
        .to_string()
    }
}

fn check_ref(what: &str, text: &str) -> Result<(), NotificationError> {
    if text.trim().is_empty() || text.chars().count() > EVENT_REF_CHARS_MAX || text.chars().any(char::is_control) {
        return Err(NotificationError::MissingFacts(format!(
            "the {what} must be 1 to {EVENT_REF_CHARS_MAX} printable characters"
        )));
    }
    Ok(())
}

/// Queues the notification an event calls for, on every channel the buyer
/// has a contact for; once per event and channel (a second call for the same
/// event queues nothing). Returns the ids queued now. `triggered_by` is the
/// operator (or module) that caused the event. Fails, writing nothing, when
/// the buyer has no usable contact at all or the event's facts are missing.
/// A payment that has just become paid tells its buyer (`payment_received`,
/// once per payment and channel): called after the change is committed, by
/// every path that learns it live (the PSP sync, "Refresh from PSP", the PSP's
/// own notifications). Imported files are history and notify nobody. `None`
/// when the change is not a payment becoming paid of a known order.
pub fn queue_payment_received(
    store: &mut Store,
    order_id: &str,
    payment_id: &str,
    before: Option<crate::payments::PaymentStatus>,
    after: Option<crate::payments::PaymentStatus>,
    triggered_by: &str,
) -> Option<Result<Vec<i64>, NotificationError>> {
    use crate::payments::PaymentStatus;
    let newly_paid = after == Some(PaymentStatus::Paid) && before != Some(PaymentStatus::Paid);
    if !newly_paid || order_id.trim().is_empty() {
        return None;
    }
    let event =
        NotificationEvent::PaymentReceived { order_id: order_id.to_string(), payment_id: payment_id.to_string() };
    Some(queue_for_event(store, &event, triggered_by))
}

/// A refund that has just reached `approved` tells its buyer
/// (`refund_approved`, once per refund and channel: a retry that approves it
/// again queues nothing). Called after the change is committed.
pub fn queue_refund_approved(
    store: &mut Store,
    order_id: &str,
    refund_id: i64,
    amount_minor: i64,
    expected_business_days: u32,
    triggered_by: &str,
) -> Result<Vec<i64>, NotificationError> {
    let event = NotificationEvent::RefundApproved {
        order_id: order_id.to_string(),
        refund_id: refund_id.to_string(),
        amount_minor,
        expected_business_days,
    };
    queue_for_event(store, &event, triggered_by)
}

pub fn queue_for_event(
    store: &mut Store,
    event: &NotificationEvent,
    triggered_by: &str,
) -> Result<Vec<i64>, NotificationError> {
    let (order_id, kind, facts_in) = event.parts();
    if let Some(reference) = &facts_in.reference {
        check_ref("event reference", reference)?;
    }
    if let Some(code) = &facts_in.withdrawal_code {
        check_ref("withdrawal code", code)?;
    }
    if facts_in.refund_amount_minor.is_some_and(|m| m <= 0) {
        return Err(NotificationError::MissingFacts("a refund amount must be positive".into()));
    }
    let facts = load_order(store, order_id)?;
    let locale = Locale::default_for(facts.country);
    let settings = config::get(store)?;
    let params = serde_json::to_string(&facts_in).unwrap_or_else(|_| "{}".into());
    let now = Utc::now();
    // Render everything first: a broken template or a missing fact writes nothing.
    let mut messages = Vec::new();
    for channel in Channel::ALL {
        let to = match recipient(&facts, channel) {
            Ok(to) => to,
            Err(NotificationError::NoRecipient { .. }) => continue,
            Err(e) => return Err(e),
        };
        let rendered = render(&facts, kind, locale, channel, &facts_in, settings.barcode_url_template.as_deref())?;
        let event_key = format!(
            "{}:{}:{}:{}",
            kind.as_str(),
            facts.order.order_id,
            facts_in.reference.as_deref().unwrap_or(""),
            channel.as_str()
        );
        messages.push(Queued {
            facts: &facts,
            kind,
            locale,
            channel,
            recipient: to,
            rendered,
            params: params.clone(),
            client_ref: client_ref(),
            trigger: Trigger::Event,
            triggered_by,
            event_key: Some(event_key),
            barcode: inline_barcode(kind, channel, &clean(&facts.order.voucher_code)),
            now,
        });
    }
    if messages.is_empty() {
        return Err(NotificationError::NoRecipient { order: facts.order.order_id.clone(), channel: Channel::Email });
    }
    let mut ids = Vec::new();
    for m in &messages {
        let entry = audit_entry(
            triggered_by,
            "notifications.queue",
            &format!("order {}", facts.order.order_id),
            "",
            &m.audit_after(),
        );
        if let Some(id) = store.queue_event_notification(&m.row(), &entry)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Whether a role may re-send past the limit.
pub fn may_override(role: Role) -> bool {
    match role {
        Role::Manager | Role::Admin => true,
        Role::Support | Role::Finance => false,
    }
}

/// A re-send by hand from a case file. At most [`RESENDS_PER_ORDER_MAX`]
/// manual re-sends per order in [`RESEND_WINDOW_HOURS`] hours; past that only
/// a manager (or admin) passing `override_limit` may, and the override is
/// audited as such. Queues the message (the deliverer sends it) and returns
/// its id.
pub fn resend(
    store: &mut Store,
    operator: &Operator,
    order_id: &str,
    kind: Kind,
    channel: Channel,
    override_limit: bool,
) -> Result<i64, NotificationError> {
    operator.require(Permission::ResendNotification)?;
    if override_limit && !may_override(operator.role) {
        return Err(NotificationError::OverrideForbidden { name: operator.name.clone(), role: operator.role.as_str() });
    }
    let facts = load_order(store, order_id)?;
    check_fit(store, &facts, kind)?;
    let locale = Locale::default_for(facts.country);
    let event = facts_for_resend(store, &facts.order.order_id, kind)?;
    let settings = config::get(store)?;
    let to = recipient(&facts, channel)?;
    let rendered = render(&facts, kind, locale, channel, &event, settings.barcode_url_template.as_deref())?;
    let now = Utc::now();
    let window_start = now - Duration::hours(RESEND_WINDOW_HOURS);
    let already = store.manual_notifications_since(&facts.order.order_id, window_start)?;
    let trigger = if already >= RESENDS_PER_ORDER_MAX && override_limit { Trigger::Override } else { Trigger::Manual };
    let message = Queued {
        facts: &facts,
        kind,
        locale,
        channel,
        recipient: to,
        rendered,
        params: serde_json::to_string(&event).unwrap_or_else(|_| "{}".into()),
        client_ref: client_ref(),
        trigger,
        triggered_by: &operator.name,
        event_key: None,
        barcode: inline_barcode(kind, channel, &clean(&facts.order.voucher_code)),
        now,
    };
    let action = match trigger {
        Trigger::Override => "notifications.resend_override",
        Trigger::Manual | Trigger::Event => "notifications.resend",
    };
    let before = format!("{already} manual re-sends in the last {RESEND_WINDOW_HOURS} h");
    let entry = audit_entry(
        &operator.name,
        action,
        &format!("order {}", facts.order.order_id),
        &before,
        &message.audit_after(),
    );
    let limit = if override_limit { None } else { Some(RESENDS_PER_ORDER_MAX) };
    match store.queue_manual_notification(&message.row(), window_start, limit, &entry)? {
        ManualInsert::Queued(id) => Ok(id),
        ManualInsert::OverLimit(count) => Err(NotificationError::ResendLimit {
            order: facts.order.order_id.clone(),
            count,
            limit: RESENDS_PER_ORDER_MAX,
        }),
    }
}

// ------------------------------------------------------------------ expiry reminders

/// How far ahead of a voucher's deadline its reminder goes out.
pub const EXPIRY_REMINDER_HOURS: i64 = 24;
/// Orders one call looks at, at most (the rest wait for the next round).
pub const EXPIRY_REMINDERS_PER_ROUND_MAX: u32 = 200;

/// What [`queue_expiry_reminders`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReminderReport {
    /// Messages queued (one per channel the buyer has).
    pub queued: Vec<i64>,
    /// Orders left without a reminder: no usable contact, or facts missing.
    pub skipped: Vec<String>,
}

/// Queues an expiry reminder for every open voucher whose deadline falls in
/// the next `within_hours` hours (at most [`EXPIRY_REMINDERS_PER_ROUND_MAX`]
/// orders), once per voucher and channel: the event key makes a second call
/// queue nothing. A voucher already paid (a paid or refunded payment for the
/// order) gets none. Audited as `triggered_by`. Run by the app's deliverer
/// before each round.
pub fn queue_expiry_reminders(
    store: &mut Store,
    now: DateTime<Utc>,
    within_hours: i64,
    triggered_by: &str,
) -> Result<ReminderReport, NotificationError> {
    let until = now + Duration::hours(within_hours.max(0));
    let mut report = ReminderReport::default();
    for order_id in store.orders_due_expiry_reminder(now, until, EXPIRY_REMINDERS_PER_ROUND_MAX)? {
        let event = NotificationEvent::ExpiryReminder { order_id: order_id.clone() };
        match queue_for_event(store, &event, triggered_by) {
            Ok(ids) => report.queued.extend(ids),
            Err(e @ (NotificationError::Store(_) | NotificationError::Template(_) | NotificationError::Vault(_))) => {
                return Err(e);
            }
            Err(_) => report.skipped.push(order_id),
        }
    }
    Ok(report)
}

// ------------------------------------------------------------------ retry

/// Messages one retry may name.
pub const RETRY_IDS_MAX: usize = 100;

/// What a retry of several messages did, per message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryOutcome {
    /// Back in the queue (same id, same client reference).
    pub retried: Vec<i64>,
    /// Left as they were, with why.
    pub refused: Vec<RetryRefusal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RetryRefusal {
    pub id: i64,
    pub code: String,
    pub message: String,
}

/// Puts a `failed` message back in the queue, due now, keeping its id and
/// client reference: a failed message was never accepted by the provider, so
/// sending it again cannot make a duplicate, and the provider's idempotency
/// key (SMS) and the Message-ID (email) stay the same. Anything else is
/// refused: `sent` (already delivered), `unknown` (may have been delivered:
/// re-send by hand after checking with the buyer), `queued`/`sending` (the
/// deliverer has it). Audited with the operator. Does not count towards the
/// manual re-send limit: no new message is made.
pub fn retry_one(store: &mut Store, operator: &Operator, id: i64) -> Result<(), NotificationError> {
    operator.require(Permission::ResendNotification)?;
    let row = store.buyer_notification(id)?.ok_or(NotificationError::UnknownNotification(id))?;
    let status = Status::parse(&row.status)
        .map_err(|_| StoreError::Corrupt(format!("notification {id} has status {:?}", row.status)))?;
    let refuse = |hint: &'static str| NotificationError::NotRetryable { id, status: row.status.clone(), hint };
    match status {
        Status::Failed => {}
        Status::Sent => return Err(refuse(" (this one was delivered)")),
        Status::Unknown => {
            return Err(refuse(
                " (this one may have been delivered: check with the buyer and re-send from the case file if needed)",
            ));
        }
        Status::Queued | Status::Sending => return Err(refuse(" (this one is already with the deliverer)")),
    }
    debug_assert!(status.can_move_to(Status::Queued));
    let entry = audit_entry(
        &operator.name,
        "notifications.retry",
        &format!("notification {id} (order {})", row.order_id),
        &format!("failed after {} attempts: {}", row.attempts, row.last_error.as_deref().unwrap_or("")),
        Status::Queued.as_str(),
    );
    if store.requeue_failed_notification(id, Utc::now(), &entry)? {
        Ok(())
    } else {
        // Moved between the read and the update (another operator's retry).
        let now = store.buyer_notification(id)?.map(|r| r.status).unwrap_or_default();
        Err(NotificationError::NotRetryable { id, status: now, hint: "" })
    }
}

/// [`retry_one`] for each of `ids` (at most [`RETRY_IDS_MAX`]); each message
/// on its own, so one refusal does not hold back the others.
pub fn retry(store: &mut Store, operator: &Operator, ids: &[i64]) -> Result<RetryOutcome, NotificationError> {
    operator.require(Permission::ResendNotification)?;
    if ids.len() > RETRY_IDS_MAX {
        return Err(NotificationError::TooManyIds { given: ids.len(), max: RETRY_IDS_MAX });
    }
    let mut outcome = RetryOutcome::default();
    let mut seen = std::collections::BTreeSet::new();
    for &id in ids.iter().filter(|id| seen.insert(**id)) {
        match retry_one(store, operator, id) {
            Ok(()) => outcome.retried.push(id),
            Err(e @ (NotificationError::Store(_) | NotificationError::Operator(_))) => return Err(e),
            Err(e) => outcome.refused.push(RetryRefusal { id, code: e.code().to_string(), message: e.to_string() }),
        }
    }
    Ok(outcome)
}

// ------------------------------------------------------------------ the log

/// One line of the notification log (a case file's, or the failures screen's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationLogEntry"))]
pub struct LogEntry {
    pub id: i64,
    pub order_id: String,
    pub kind: String,
    pub channel: String,
    pub locale: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub trigger: String,
    pub triggered_by: String,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<BuyerNotificationRow> for LogEntry {
    fn from(r: BuyerNotificationRow) -> Self {
        let next = (r.status == "queued").then_some(r.next_attempt_at);
        LogEntry {
            id: r.id,
            order_id: r.order_id,
            kind: r.kind,
            channel: r.channel,
            locale: r.locale,
            recipient: r.recipient,
            subject: r.subject,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            provider_message_id: r.provider_message_id,
            trigger: r.trigger,
            triggered_by: r.triggered_by,
            queued_at: r.queued_at,
            sent_at: r.sent_at,
            next_attempt_at: next,
        }
    }
}

/// A page of the log, newest first.
pub fn list(
    store: &Store,
    operator: &Operator,
    order_id: Option<&str>,
    status: Option<Status>,
    before_id: Option<i64>,
    limit: u32,
) -> Result<Vec<LogEntry>, NotificationError> {
    operator.require(Permission::Lookup)?;
    let rows = store.buyer_notifications(&NotificationFilter {
        order_id: order_id.map(str::trim),
        status: status.map(Status::as_str),
        before_id,
        limit: limit.clamp(1, LIST_PAGE_ROWS_MAX),
    })?;
    Ok(rows.into_iter().map(LogEntry::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_only_moves_forward() {
        use Status::*;
        let allowed: Vec<(Status, Status)> = Status::ALL
            .into_iter()
            .flat_map(|a| Status::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Queued, Sending),
                (Sending, Queued),
                (Sending, Sent),
                (Sending, Failed),
                (Sending, Unknown),
                (Failed, Queued)
            ]
        );
        // Sent and unknown never move again: either could already be in the buyer's hands.
        assert!([Sent, Unknown].into_iter().all(|s| s.is_terminal() && !Status::ALL.iter().any(|n| s.can_move_to(*n))));
    }

    #[test]
    fn phones_become_e164_and_emails_are_checked() {
        assert_eq!(check_phone("+57 300 123 4567", Country::Colombia).unwrap(), "+573001234567");
        assert_eq!(check_phone("300-123-4567", Country::Colombia).unwrap(), "+573001234567");
        assert_eq!(check_phone("987 654 321", Country::Peru).unwrap(), "+51987654321");
        assert!(check_phone("12345", Country::Peru).is_err());
        assert!(check_phone("+57 300 abc", Country::Colombia).is_err());
        assert_eq!(check_email(" ana@correo.example ").unwrap(), "ana@correo.example");
        for bad in ["ana", "ana@", "@x.co", "a b@x.co", "ana@x", "ana@x.co\r\nBcc: eve@x.co"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_managers_and_admins_override() {
        assert_eq!(
            Role::ALL.into_iter().filter(|r| may_override(*r)).collect::<Vec<_>>(),
            vec![Role::Manager, Role::Admin]
        );
    }
}
