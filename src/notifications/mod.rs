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
mod contacts;
pub mod delivery;
mod error;
pub mod fit;
pub mod format;
mod kinds;
mod log;
mod reminders;
mod retry;
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
pub use contacts::*;
pub use error::*;
pub use kinds::*;
pub use log::*;
pub use reminders::*;
pub use retry::*;
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
/// A new message's client reference (the SMS idempotency key, the email's Message-ID).
pub fn new_client_ref() -> String {
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
            client_ref: new_client_ref(),
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
        client_ref: new_client_ref(),
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
