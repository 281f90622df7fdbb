//! Voucher actions from the console: issue a new voucher for an order at its
//! PSP (a dLocal Efecty/PagoEfectivo ticket or a PagoEfectivo CIP), extend a
//! CIP's deadline, cancel an unpaid CIP. The PSP is called first; the ledger
//! follows its answer through the observation path, each action is audited,
//! and each queues the buyer message that goes with it.
//!
//! Issuing happens exactly once per attempt. The attempt is recorded, with
//! the reference the PSP is given (`ORDER-Vn`), before the PSP is called. A
//! time-out, a 5xx or an unreadable answer leaves it `requested`: the next
//! `issue` for the order reuses that reference and first asks the PSP whether
//! it holds a voucher for it (dLocal `GET /orders/{reference}`, PagoEfectivo's
//! search by `transactionCode`), recording that one instead of creating
//! another. Both PSPs refuse a second voucher under one reference as well.
//! Only an explicit refusal ends an attempt (`failed`).
//!
//! dLocal decides its tickets' lifetime itself (its API takes no deadline),
//! has no extension and no cancellation of a cash ticket: extending refuses
//! with a pointer to issuing a new voucher, cancelling with a pointer to
//! letting the ticket expire.

use crate::audit::audit_entry;
use crate::credentials::{self, AccountSecrets, CredentialError, PspKind, SecretVault};
use crate::market::Country;
use crate::money::Currency;
use crate::notifications::{self, NotificationEvent};
use crate::observations::Observed;
use crate::operators::{Operator, OperatorError, Permission};
use crate::orders::ShopStatus;
use crate::payments::{PaymentObservation, PaymentStatus, VoucherNetwork};
use crate::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalError};
use crate::psp::dlocal::transformers::CashPayment;
use crate::psp::dlocal::wire::DlocalCashMethod;
use crate::psp::pagoefectivo::client::{CipQuery, CipRecord, NewCip, PagoEfectivoClient, PagoEfectivoError, Payer};
use crate::store::{NewVoucherIssue, OrderRecord, PaymentRecord, Store, StoreError, VoucherIssueRow};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

mod cancel;
mod extend;
mod issue;

pub use cancel::*;
pub use extend::*;
pub use issue::*;

/// A voucher's validity, in hours: the range finance allows and the default.
pub const VOUCHER_HOURS_MIN: u32 = 24;
pub const VOUCHER_HOURS_MAX: u32 = 72;
pub const VOUCHER_HOURS_DEFAULT: u32 = 48;
/// Per-request time-out of the voucher actions' PSP clients.
pub const VOUCHER_REQUEST_TIMEOUT_MS: u64 = crate::psp::http::REQUEST_TIMEOUT_MS;
/// Peru's country calling code, which PagoEfectivo wants beside the phone.
const PERU_PHONE_CODE: &str = "+51";
/// PagoEfectivo's `paymentConcept` limit we keep to.
const CONCEPT_CHARS_MAX: usize = 40;

const SETTINGS_KEY: &str = "vouchers";

// ------------------------------------------------------------------ settings

/// The voucher actions' settings (their own settings key, admins change them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherSettings {
    /// Validity of a new voucher or an extension when none is given.
    pub expiry_hours: u32,
}

impl Default for VoucherSettings {
    fn default() -> Self {
        VoucherSettings { expiry_hours: VOUCHER_HOURS_DEFAULT }
    }
}

/// The saved settings; the defaults when none are saved. A saved value that
/// no longer reads is an error, not silently the defaults.
pub fn settings(store: &Store) -> Result<VoucherSettings, VoucherError> {
    match store.setting(SETTINGS_KEY)? {
        None => Ok(VoucherSettings::default()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| VoucherError::Store(StoreError::Corrupt(format!("saved voucher settings do not read: {e}")))),
    }
}

/// Saves new settings (admins); the audit log keeps before and after.
pub fn set_settings(
    store: &mut Store,
    operator: &Operator,
    new: &VoucherSettings,
) -> Result<VoucherSettings, VoucherError> {
    operator.require(Permission::ChangeSettings)?;
    check_hours(new.expiry_hours)?;
    let before = serde_json::to_string(&settings(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    store.put_setting(
        SETTINGS_KEY,
        &after,
        &audit_entry(&operator.name, "settings.vouchers", "settings vouchers", &before, &after),
    )?;
    Ok(*new)
}

fn check_hours(hours: u32) -> Result<(), VoucherError> {
    if !(VOUCHER_HOURS_MIN..=VOUCHER_HOURS_MAX).contains(&hours) {
        return Err(VoucherError::BadHours(hours));
    }
    Ok(())
}

// ------------------------------------------------------------------ errors

#[derive(Debug, thiserror::Error)]
pub enum VoucherError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("a voucher is valid {VOUCHER_HOURS_MIN} to {VOUCHER_HOURS_MAX} hours, not {0}")]
    BadHours(u32),
    #[error("no order {0:?}")]
    UnknownOrder(String),
    #[error(
        "order {order} is {status} in the shop: a new voucher is issued only for an order pending payment or expired"
    )]
    OrderNotOpen { order: String, status: String },
    #[error("order {order} is already paid ({payment}): no voucher action applies")]
    AlreadyPaid { order: String, payment: String },
    #[error(
        "order {order} still has a payable voucher {voucher} ({payment}) until {until}: extend or cancel it before issuing another"
    )]
    VoucherOpen { order: String, payment: String, voucher: String, until: String },
    #[error("order {order} has no pending {psp} voucher")]
    NoOpenVoucher { order: String, psp: String },
    #[error("order {order} is paid through {psp:?}: vouchers are issued through dlocal or pagoefectivo only")]
    UnsupportedPsp { order: String, psp: String },
    #[error(
        "dLocal tickets cannot be extended: issue a new voucher instead (`voucherdesk vouchers issue --order {order}`)"
    )]
    ExtendUnsupported { order: String },
    #[error("no {psp} account is configured: add one with `voucherdesk credentials add`")]
    NoPspAccount { psp: &'static str },
    #[error("{psp} account {account}: {message}")]
    PspAccount { psp: &'static str, account: String, message: String },
    #[error("{psp} refused: {message} [{code}]")]
    PspRefused { psp: &'static str, code: &'static str, message: String },
    #[error(
        "{psp} did not confirm: {message} [{code}]; nothing was recorded as done{}",
        reference.as_ref().map(|r| format!("; run the same command again: it reuses reference {r} and never creates a second voucher")).unwrap_or_default()
    )]
    PspUnconfirmed { psp: &'static str, code: &'static str, message: String, reference: Option<String> },
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VoucherError {
    pub fn code(&self) -> &'static str {
        match self {
            VoucherError::Operator(e) => e.code(),
            VoucherError::BadHours(_) => "errors.validation",
            VoucherError::UnknownOrder(_) => "vouchers.unknown_order",
            VoucherError::OrderNotOpen { .. } => "vouchers.order_not_open",
            VoucherError::AlreadyPaid { .. } => "vouchers.already_paid",
            VoucherError::VoucherOpen { .. } => "vouchers.voucher_open",
            VoucherError::NoOpenVoucher { .. } => "vouchers.no_open_voucher",
            VoucherError::UnsupportedPsp { .. } => "vouchers.psp_unsupported",
            VoucherError::ExtendUnsupported { .. } => "vouchers.extend_unsupported",
            VoucherError::NoPspAccount { .. } => "vouchers.no_psp_account",
            VoucherError::PspAccount { .. } => "vouchers.psp_account",
            VoucherError::PspRefused { .. } => "vouchers.psp_refused",
            VoucherError::PspUnconfirmed { .. } => "vouchers.psp_unconfirmed",
            VoucherError::Credentials(e) => e.code(),
            VoucherError::Store(e) => e.code(),
        }
    }

    /// Refused (the request, the order's state, the PSP said no): nothing
    /// happened; the CLI exits 2. Otherwise a fault (exit 1).
    pub fn is_refusal(&self) -> bool {
        match self {
            VoucherError::Operator(OperatorError::Store(_)) => false,
            VoucherError::Operator(_)
            | VoucherError::BadHours(_)
            | VoucherError::UnknownOrder(_)
            | VoucherError::OrderNotOpen { .. }
            | VoucherError::AlreadyPaid { .. }
            | VoucherError::VoucherOpen { .. }
            | VoucherError::NoOpenVoucher { .. }
            | VoucherError::UnsupportedPsp { .. }
            | VoucherError::ExtendUnsupported { .. }
            | VoucherError::NoPspAccount { .. }
            | VoucherError::PspRefused { .. } => true,
            VoucherError::PspAccount { .. }
            | VoucherError::PspUnconfirmed { .. }
            | VoucherError::Credentials(_)
            | VoucherError::Store(_) => false,
        }
    }
}

// ------------------------------------------------------------------ PSP clients

/// The PSP clients the actions use: the first configured account of each PSP.
#[derive(Default)]
pub struct VoucherClients {
    pub dlocal: Option<DlocalClient>,
    pub pagoefectivo: Option<PagoEfectivoClient>,
    /// Where dLocal posts the new ticket's notifications (a `voucherdesk listen` URL).
    pub notification_url: Option<String>,
}

impl VoucherClients {
    /// The clients of the configured accounts (`psp_accounts` for the base
    /// URL, the OS keyring for the secrets), as the sync and the refund
    /// submitter build theirs: the first account of each PSP by name.
    pub fn from_config(
        store: &Store,
        vault: &dyn SecretVault,
        timeout: std::time::Duration,
    ) -> Result<VoucherClients, VoucherError> {
        let mut clients = VoucherClients::default();
        for in_use in credentials::accounts_in_use(store, vault)? {
            let account = in_use.account.name.clone();
            let scrub = |message: String| in_use.secrets.redact(&message);
            match (&in_use.secrets, in_use.account.psp) {
                (AccountSecrets::Dlocal(s), PspKind::Dlocal) if clients.dlocal.is_none() => {
                    let keys = s.credentials();
                    let client = DlocalClient::new(&in_use.account.base_url, keys, timeout).map_err(|e| {
                        VoucherError::PspAccount { psp: "dlocal", account, message: scrub(e.to_string()) }
                    })?;
                    clients.dlocal = Some(client);
                }
                (AccountSecrets::PagoEfectivo(s), PspKind::PagoEfectivo) if clients.pagoefectivo.is_none() => {
                    let keys = s.credentials();
                    let client =
                        PagoEfectivoClient::with_timeout(&in_use.account.base_url, keys, timeout).map_err(|e| {
                            VoucherError::PspAccount { psp: "pagoefectivo", account, message: scrub(e.to_string()) }
                        })?;
                    clients.pagoefectivo = Some(client);
                }
                (
                    AccountSecrets::Dlocal(_) | AccountSecrets::PagoEfectivo(_),
                    PspKind::Dlocal | PspKind::PagoEfectivo,
                ) => {}
            }
        }
        Ok(clients)
    }

    fn dlocal(&self) -> Result<&DlocalClient, VoucherError> {
        self.dlocal.as_ref().ok_or(VoucherError::NoPspAccount { psp: "dlocal" })
    }

    fn pagoefectivo(&self) -> Result<&PagoEfectivoClient, VoucherError> {
        self.pagoefectivo.as_ref().ok_or(VoucherError::NoPspAccount { psp: "pagoefectivo" })
    }
}

/// The PSP an order's vouchers are issued through (the order's `psp` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VoucherPsp {
    Dlocal,
    PagoEfectivo,
}

impl VoucherPsp {
    fn of(order: &OrderRecord) -> Result<VoucherPsp, VoucherError> {
        match order.psp.trim() {
            p if p.eq_ignore_ascii_case(crate::psp::dlocal::PSP_NAME) => Ok(VoucherPsp::Dlocal),
            p if p.eq_ignore_ascii_case(crate::psp::pagoefectivo::PSP_NAME) => Ok(VoucherPsp::PagoEfectivo),
            other => Err(VoucherError::UnsupportedPsp { order: order.order_id.clone(), psp: other.to_string() }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            VoucherPsp::Dlocal => crate::psp::dlocal::PSP_NAME,
            VoucherPsp::PagoEfectivo => crate::psp::pagoefectivo::PSP_NAME,
        }
    }
}

/// How a PSP error leaves an action: refused (nothing exists at the PSP) or
/// unconfirmed (it may have acted: the attempt stays open).
fn dlocal_failure(e: &DlocalError, reference: Option<&str>) -> VoucherError {
    match e {
        DlocalError::Refused { .. }
        | DlocalError::Unauthorized { .. }
        | DlocalError::BaseUrl { .. }
        | DlocalError::Amount { .. } => {
            VoucherError::PspRefused { psp: "dlocal", code: e.code(), message: e.to_string() }
        }
        DlocalError::Timeout { .. }
        | DlocalError::Transport { .. }
        | DlocalError::RateLimited { .. }
        | DlocalError::Server { .. }
        | DlocalError::BodyTooLarge { .. }
        | DlocalError::Decode { .. }
        | DlocalError::Unknown { .. } => VoucherError::PspUnconfirmed {
            psp: "dlocal",
            code: e.code(),
            message: e.to_string(),
            reference: reference.map(str::to_string),
        },
    }
}

fn pagoefectivo_failure(e: &PagoEfectivoError, reference: Option<&str>) -> VoucherError {
    match e {
        PagoEfectivoError::ServiceId(_)
        | PagoEfectivoError::InvalidRequest { .. }
        | PagoEfectivoError::Refused { .. }
        | PagoEfectivoError::UnexpectedStatus { .. } => {
            VoucherError::PspRefused { psp: "pagoefectivo", code: e.code(), message: e.to_string() }
        }
        PagoEfectivoError::Timeout { .. }
        | PagoEfectivoError::Transport { .. }
        | PagoEfectivoError::RateLimited { .. }
        | PagoEfectivoError::Server { .. }
        | PagoEfectivoError::BodyTooLarge { .. }
        | PagoEfectivoError::Decode { .. }
        | PagoEfectivoError::Amount { .. }
        | PagoEfectivoError::Date { .. }
        | PagoEfectivoError::UnknownStatus { .. } => VoucherError::PspUnconfirmed {
            psp: "pagoefectivo",
            code: e.code(),
            message: e.to_string(),
            reference: reference.map(str::to_string),
        },
    }
}

// ------------------------------------------------------------------ outcomes

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VoucherAction {
    Issue,
    Extend,
    Cancel,
}

impl VoucherAction {
    pub fn as_str(self) -> &'static str {
        match self {
            VoucherAction::Issue => "issue",
            VoucherAction::Extend => "extend",
            VoucherAction::Cancel => "cancel",
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VoucherOutcome {
    pub action: VoucherAction,
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    /// The code the buyer pays with (dLocal's ticket number, the CIP).
    pub voucher_code: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: PaymentStatus,
    /// The reference the PSP holds the voucher under (issue).
    pub reference: Option<String>,
    /// Nothing new happened at the PSP: this is what an earlier call did.
    pub replayed: bool,
    /// The buyer messages queued now.
    pub messages_queued: Vec<i64>,
    /// Why no message was queued, when none could be (`code: message`).
    pub message_error: Option<String>,
}

/// A voucher as the PSP holds it, ready for the ledger.
struct PspVoucher {
    observation: PaymentObservation,
    raw: String,
}

fn cash_payment_voucher(payment: &CashPayment, source: &str) -> PspVoucher {
    let raw = serde_json::json!({
        "source": source,
        "id": payment.payment_id,
        "order_id": payment.order_id,
        "status": payment.reading.dlocal_status.as_str(),
        "status_code": payment.reading.status_code,
        "ticket": payment.voucher.as_ref().map(|v| v.code.clone()),
        "expiration_date": payment.voucher.as_ref().and_then(|v| v.expires_at).map(|t| t.to_rfc3339()),
    });
    PspVoucher { observation: payment.observation(), raw: raw.to_string() }
}

fn cip_voucher(record: &CipRecord, source: &str) -> PspVoucher {
    let status_at = match record.status {
        PaymentStatus::Cancelled => record.removed_at,
        PaymentStatus::Paid => record.paid_at,
        PaymentStatus::Pending
        | PaymentStatus::Rejected
        | PaymentStatus::Expired
        | PaymentStatus::Refunded
        | PaymentStatus::Reversed
        | PaymentStatus::ChargedBack => None,
    };
    let raw = serde_json::json!({
        "source": source,
        "cip": record.cip,
        "transactionCode": record.transaction_code,
        "status": record.status_code,
        "statusName": record.status_name,
        "dateExpiry": record.expires_at.to_rfc3339(),
        "dateRemoval": record.removed_at.map(|t| t.to_rfc3339()),
    });
    let observation = PaymentObservation {
        psp: crate::psp::pagoefectivo::PSP_NAME.to_string(),
        payment_id: record.cip.to_string(),
        order_id: record.transaction_code.clone(),
        country: Country::Peru,
        network: VoucherNetwork::PagoEfectivo,
        currency: record.currency,
        amount_minor: record.amount_minor,
        status: record.status,
        psp_status: record.status_name.clone(),
        status_code: record.status_code.to_string(),
        created_at: Some(record.created_at),
        paid_at: record.paid_at,
        expires_at: Some(record.expires_at),
        voucher_code: record.cip.to_string(),
        status_at,
    };
    PspVoucher { observation, raw: raw.to_string() }
}

// ------------------------------------------------------------------ order state

fn load_order(store: &Store, order_id: &str) -> Result<OrderRecord, VoucherError> {
    store.order(order_id.trim())?.ok_or_else(|| VoucherError::UnknownOrder(order_id.trim().to_string()))
}

fn refuse_if_paid(order: &OrderRecord, payments: &[PaymentRecord]) -> Result<(), VoucherError> {
    match payments.iter().find(|p| PaymentStatus::parse(&p.status) == Some(PaymentStatus::Paid)) {
        Some(paid) => Err(VoucherError::AlreadyPaid {
            order: order.order_id.clone(),
            payment: format!("{}:{}", paid.psp, paid.payment_id),
        }),
        None => Ok(()),
    }
}

/// The refusal for an order that still has a payable voucher: the buyer can pay that one.
fn voucher_open(order: &OrderRecord, open: &PaymentRecord) -> VoucherError {
    VoucherError::VoucherOpen {
        order: order.order_id.clone(),
        payment: format!("{}:{}", open.psp, open.payment_id),
        voucher: open.voucher_code.clone(),
        until: open
            .expires_at
            .or(order.voucher_expires_at)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
    }
}

/// A voucher of the order the buyer can still pay: pending, and its deadline
/// (the payment's, else the order's when it is the order's voucher) ahead.
fn payable<'a>(order: &OrderRecord, payments: &'a [PaymentRecord], now: DateTime<Utc>) -> Option<&'a PaymentRecord> {
    payments
        .iter()
        .filter(|p| PaymentStatus::parse(&p.status) == Some(PaymentStatus::Pending))
        .filter(|p| {
            let own = if p.payment_id == order.psp_payment_id { order.voucher_expires_at } else { None };
            let deadline = p.expires_at.or(own);
            deadline.is_some_and(|at| at > now)
        })
        .max_by_key(|p| p.expires_at)
}

/// The pending voucher an extension or a cancellation is about: the one
/// named, else the order's current one, else the latest pending one.
fn pending_voucher<'a>(
    order: &OrderRecord,
    payments: &'a [PaymentRecord],
    psp: VoucherPsp,
    named: Option<&str>,
) -> Result<&'a PaymentRecord, VoucherError> {
    let pending: Vec<&PaymentRecord> = payments
        .iter()
        .filter(|p| p.psp == psp.name() && PaymentStatus::parse(&p.status) == Some(PaymentStatus::Pending))
        .collect();
    let found = match named.map(str::trim) {
        Some(id) => pending.into_iter().find(|p| p.payment_id == id || p.voucher_code == id),
        None => pending
            .iter()
            .copied()
            .find(|p| p.payment_id == order.psp_payment_id)
            .or_else(|| pending.iter().copied().max_by_key(|p| (p.expires_at, p.created_at))),
    };
    found.ok_or_else(|| VoucherError::NoOpenVoucher { order: order.order_id.clone(), psp: psp.name().to_string() })
}

fn cip_number(payment: &PaymentRecord) -> Result<u64, VoucherError> {
    payment.voucher_code.trim().parse::<u64>().or_else(|_| payment.payment_id.trim().parse::<u64>()).map_err(|_| {
        VoucherError::Store(StoreError::Corrupt(format!(
            "PagoEfectivo payment {} has no CIP number (voucher code {:?})",
            payment.payment_id, payment.voucher_code
        )))
    })
}

fn parse_currency(order: &OrderRecord) -> Result<Currency, VoucherError> {
    Currency::parse(&order.currency)
        .map_err(|_| StoreError::Corrupt(format!("order {} has currency {:?}", order.order_id, order.currency)).into())
}

fn parse_country(order: &OrderRecord) -> Result<Country, VoucherError> {
    Country::parse(&order.country)
        .map_err(|_| StoreError::Corrupt(format!("order {} has country {:?}", order.order_id, order.country)).into())
}

/// Queues a buyer message after the change is committed; a message that
/// cannot go (no contact, a template fact missing) does not undo the action.
fn queue_message(
    store: &mut Store,
    event: &NotificationEvent,
    operator: &Operator,
    outcome: &mut VoucherOutcome,
) -> Result<(), VoucherError> {
    match notifications::queue_for_event(store, event, &operator.name) {
        Ok(ids) => outcome.messages_queued = ids,
        Err(notifications::NotificationError::Store(e)) => return Err(e.into()),
        Err(e) => outcome.message_error = Some(format!("{}: {e}", e.code())),
    }
    Ok(())
}

fn audit_after(value: serde_json::Value) -> String {
    value.to_string()
}

/// The order's state allows a new voucher: its PSP issues vouchers, no PSP
/// reports it paid, and the shop holds it as pending payment or expired.
fn issuable(store: &Store, order: &OrderRecord) -> Result<(VoucherPsp, Vec<PaymentRecord>), VoucherError> {
    let psp = VoucherPsp::of(order)?;
    let payments = store.payments_of_order(&order.order_id)?;
    refuse_if_paid(order, &payments)?;
    let shop = ShopStatus::parse(&order.status)
        .ok_or_else(|| StoreError::Corrupt(format!("order {} has status {:?}", order.order_id, order.status)))?;
    match shop {
        ShopStatus::PendingPayment | ShopStatus::Expired => Ok((psp, payments)),
        ShopStatus::Paid | ShopStatus::Fulfilled | ShopStatus::Cancelled | ShopStatus::Refunded => {
            Err(VoucherError::OrderNotOpen { order: order.order_id.clone(), status: order.status.clone() })
        }
    }
}

/// The pending PagoEfectivo CIP an extension or a cancellation acts on.
fn open_cip(
    store: &Store,
    order: &OrderRecord,
    action: VoucherAction,
    named: Option<&str>,
) -> Result<PaymentRecord, VoucherError> {
    let psp = VoucherPsp::of(order)?;
    match (psp, action) {
        (VoucherPsp::PagoEfectivo, _) | (VoucherPsp::Dlocal, VoucherAction::Issue | VoucherAction::Cancel) => {}
        (VoucherPsp::Dlocal, VoucherAction::Extend) => {
            return Err(VoucherError::ExtendUnsupported { order: order.order_id.clone() });
        }
    }
    let payments = store.payments_of_order(&order.order_id)?;
    refuse_if_paid(order, &payments)?;
    Ok(pending_voucher(order, &payments, psp, named)?.clone())
}

// ------------------------------------------------------------------ what the case file may offer

/// Whether one action may be taken now, and if not, why (the error the
/// action itself would give, without calling the PSP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Availability {
    pub action: VoucherAction,
    pub allowed: bool,
    /// The refusal's stable code (`vouchers.voucher_open`, `auth.forbidden`…) when not allowed.
    pub code: Option<String>,
    pub reason: Option<String>,
}

/// What the case file may offer for an order (a button per action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VoucherActions {
    pub order_id: String,
    pub psp: String,
    pub issue: Availability,
    pub extend: Availability,
    pub cancel: Availability,
    /// The validity a new voucher gets unless the operator picks another.
    pub default_hours: u32,
}

/// The voucher actions an operator may take on an order now, by the same
/// rules the actions apply (no PSP is called). A PSP can still refuse.
pub fn available(
    store: &Store,
    operator: &Operator,
    order_id: &str,
    now: DateTime<Utc>,
) -> Result<VoucherActions, VoucherError> {
    let order = load_order(store, order_id)?;
    let verdict = |action: VoucherAction, result: Result<(), VoucherError>| match result {
        Ok(()) => Ok(Availability { action, allowed: true, code: None, reason: None }),
        Err(e @ (VoucherError::Store(_) | VoucherError::Operator(OperatorError::Store(_)))) => Err(e),
        Err(e) => {
            Ok(Availability { action, allowed: false, code: Some(e.code().to_string()), reason: Some(e.to_string()) })
        }
    };
    let issue = operator.require(Permission::IssueVoucher).map_err(VoucherError::from).and_then(|()| {
        let (_, payments) = issuable(store, &order)?;
        let waiting = store.voucher_issues_of_order(&order.order_id)?.iter().any(|a| a.status == "requested");
        match payable(&order, &payments, now).filter(|_| !waiting) {
            Some(open) => Err(voucher_open(&order, open)),
            None => Ok(()),
        }
    });
    let extend = operator
        .require(Permission::ExtendVoucher)
        .map_err(VoucherError::from)
        .and_then(|()| open_cip(store, &order, VoucherAction::Extend, None).map(drop));
    let cancel = operator
        .require(Permission::CancelVoucher)
        .map_err(VoucherError::from)
        .and_then(|()| open_cip(store, &order, VoucherAction::Cancel, None).map(drop));
    Ok(VoucherActions {
        order_id: order.order_id.clone(),
        psp: order.psp.clone(),
        issue: verdict(VoucherAction::Issue, issue)?,
        extend: verdict(VoucherAction::Extend, extend)?,
        cancel: verdict(VoucherAction::Cancel, cancel)?,
        default_hours: settings(store)?.expiry_hours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_outside_the_allowed_range_are_refused() {
        assert!(check_hours(VOUCHER_HOURS_MIN).is_ok() && check_hours(VOUCHER_HOURS_MAX).is_ok());
        let err = check_hours(23).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string().as_str()),
            ("errors.validation", "a voucher is valid 24 to 72 hours, not 23")
        );
        assert!(check_hours(73).is_err());
        assert!(err.is_refusal());
    }

    #[test]
    fn settings_default_then_saved_by_an_admin_only() {
        let mut store = Store::open_in_memory().unwrap();
        let admin = crate::operators::add(&mut store, None, "root", crate::operators::Role::Admin, None).unwrap();
        let sam =
            crate::operators::add(&mut store, Some(&admin), "sam", crate::operators::Role::Support, None).unwrap();
        assert_eq!(settings(&store).unwrap().expiry_hours, 48);
        let refused = set_settings(&mut store, &sam, &VoucherSettings { expiry_hours: 24 }).unwrap_err();
        assert_eq!(refused.code(), "auth.forbidden");
        let bad = set_settings(&mut store, &admin, &VoucherSettings { expiry_hours: 96 }).unwrap_err();
        assert_eq!(bad.code(), "errors.validation");
        set_settings(&mut store, &admin, &VoucherSettings { expiry_hours: 72 }).unwrap();
        assert_eq!(settings(&store).unwrap(), VoucherSettings { expiry_hours: 72 });
    }
}
