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
use crate::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalCredentials, DlocalError};
use crate::psp::dlocal::transformers::CashPayment;
use crate::psp::dlocal::wire::DlocalCashMethod;
use crate::psp::pagoefectivo::client::{
    CipQuery, CipRecord, NewCip, PagoEfectivoClient, PagoEfectivoError, Payer, PeCredentials,
};
use crate::store::{NewVoucherIssue, OrderRecord, PaymentRecord, Store, StoreError, VoucherIssueRow};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

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
    #[error(
        "dLocal offers no cancellation of a cash ticket: it stays payable until it expires; if the buyer pays it, refund the payment"
    )]
    CancelUnsupported { order: String },
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
            VoucherError::CancelUnsupported { .. } => "vouchers.cancel_unsupported",
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
            | VoucherError::CancelUnsupported { .. }
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
                    let keys = DlocalCredentials {
                        login: s.login.clone(),
                        trans_key: s.trans_key.clone(),
                        secret: s.secret.clone(),
                    };
                    let client = DlocalClient::new(&in_use.account.base_url, keys, timeout).map_err(|e| {
                        VoucherError::PspAccount { psp: "dlocal", account, message: scrub(e.to_string()) }
                    })?;
                    clients.dlocal = Some(client);
                }
                (AccountSecrets::PagoEfectivo(s), PspKind::PagoEfectivo) if clients.pagoefectivo.is_none() => {
                    let keys = PeCredentials {
                        service_id: s.service_id.clone(),
                        access_key: s.access_key.clone(),
                        secret: s.secret.clone(),
                    };
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
        (VoucherPsp::PagoEfectivo, _) | (VoucherPsp::Dlocal, VoucherAction::Issue) => {}
        (VoucherPsp::Dlocal, VoucherAction::Extend) => {
            return Err(VoucherError::ExtendUnsupported { order: order.order_id.clone() });
        }
        (VoucherPsp::Dlocal, VoucherAction::Cancel) => {
            return Err(VoucherError::CancelUnsupported { order: order.order_id.clone() });
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
            Some(open) => Err(VoucherError::VoucherOpen {
                order: order.order_id.clone(),
                payment: format!("{}:{}", open.psp, open.payment_id),
                voucher: open.voucher_code.clone(),
                until: open
                    .expires_at
                    .or(order.voucher_expires_at)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
            }),
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

// ------------------------------------------------------------------ issue

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub order_id: String,
    /// Validity in hours; `None`: the setting ([`VoucherSettings::expiry_hours`]).
    pub hours: Option<u32>,
}

/// Issues a new voucher for an order pending payment (or expired) that no
/// PSP reports as paid and that has no payable voucher left; see the module
/// documentation for how a retry never creates a second one.
pub async fn issue(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &IssueRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::IssueVoucher)?;
    let hours = match request.hours {
        Some(hours) => hours,
        None => settings(store)?.expiry_hours,
    };
    check_hours(hours)?;
    let order = load_order(store, &request.order_id)?;
    let (psp, payments) = issuable(store, &order)?;
    let currency = parse_currency(&order)?;
    let country = parse_country(&order)?;
    match psp {
        VoucherPsp::Dlocal => clients.dlocal().map(drop)?,
        VoucherPsp::PagoEfectivo => clients.pagoefectivo().map(drop)?,
    }
    let attempts = store.voucher_issues_of_order(&order.order_id)?;
    let waiting = attempts.iter().rev().find(|a| a.status == "requested").cloned();
    if waiting.is_none()
        && let Some(open) = payable(&order, &payments, now)
    {
        // The voucher an earlier issue created is still payable: the same answer again.
        let ours =
            attempts.iter().rev().find(|a| a.status == "issued" && a.payment_id.as_ref() == Some(&open.payment_id));
        return match ours {
            Some(attempt) => Ok(VoucherOutcome {
                action: VoucherAction::Issue,
                order_id: order.order_id.clone(),
                psp: open.psp.clone(),
                payment_id: open.payment_id.clone(),
                voucher_code: open.voucher_code.clone(),
                amount_minor: open.amount_minor,
                currency,
                expires_at: open.expires_at,
                status: PaymentStatus::Pending,
                reference: Some(attempt.reference.clone()),
                replayed: true,
                messages_queued: Vec::new(),
                message_error: None,
            }),
            None => Err(VoucherError::VoucherOpen {
                order: order.order_id.clone(),
                payment: format!("{}:{}", open.psp, open.payment_id),
                voucher: open.voucher_code.clone(),
                until: open
                    .expires_at
                    .or(order.voucher_expires_at)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
            }),
        };
    }
    let subject = format!("order {}", order.order_id);
    let attempt: VoucherIssueRow = match waiting {
        Some(waiting) => {
            let entry = audit_entry(
                &operator.name,
                "voucher.issue_retry",
                &subject,
                "requested",
                &audit_after(serde_json::json!({
                    "reference": waiting.reference, "attempt": waiting.attempts + 1, "psp": psp.name(),
                })),
            );
            store.retry_voucher_issue(waiting.id, &entry)?
        }
        None => {
            let new = NewVoucherIssue {
                order_id: order.order_id.clone(),
                psp: psp.name().to_string(),
                hours: i64::from(hours),
                expires_at: now + Duration::hours(i64::from(hours)),
                requested_by: operator.name.clone(),
                requested_at: now,
            };
            let entry = audit_entry(
                &operator.name,
                "voucher.issue_request",
                &subject,
                "",
                &audit_after(serde_json::json!({
                    "psp": psp.name(), "hours": hours, "amount_minor": order.amount_minor, "currency": currency.code(),
                })),
            );
            store.begin_voucher_issue(&new, &entry)?
        }
    };
    // Team mode: the attempt is on the server before the PSP is called.
    store.barrier()?;
    let reference = attempt.reference.clone();
    let answer = match psp {
        VoucherPsp::Dlocal => issue_dlocal(clients.dlocal()?, clients, &order, &attempt, currency, country).await,
        VoucherPsp::PagoEfectivo => issue_cip(clients.pagoefectivo()?, &order, &attempt, currency).await,
    };
    let (voucher, replayed) = match answer {
        Ok(found) => found,
        Err(e) => {
            let entry = |action: &str| {
                audit_entry(
                    &operator.name,
                    action,
                    &subject,
                    "requested",
                    &audit_after(
                        serde_json::json!({ "reference": reference, "code": e.code(), "message": e.to_string() }),
                    ),
                )
            };
            // Only a refusal says nothing exists at the PSP; anything else may hide a voucher.
            if e.is_refusal() {
                store.fail_voucher_issue(
                    attempt.id,
                    &format!("{}: {e}", e.code()),
                    Utc::now(),
                    &entry("voucher.issue_refused"),
                )?;
            } else {
                store.note_voucher_issue_error(
                    attempt.id,
                    &format!("{}: {e}", e.code()),
                    &entry("voucher.issue_unconfirmed"),
                )?;
            }
            return Err(e);
        }
    };
    let observation = &voucher.observation;
    let order_voucher = crate::store::OrderVoucher {
        payment_id: observation.payment_id.clone(),
        voucher_code: observation.voucher_code.clone(),
        expires_at: observation.expires_at,
    };
    let entry = audit_entry(
        &operator.name,
        "voucher.issue",
        &subject,
        &audit_after(serde_json::json!({
            "psp_payment_id": order.psp_payment_id, "voucher_code": order.voucher_code,
            "voucher_expires_at": order.voucher_expires_at.map(|t| t.to_rfc3339()),
        })),
        &audit_after(serde_json::json!({
            "psp": psp.name(), "reference": reference, "payment_id": observation.payment_id,
            "voucher_code": observation.voucher_code, "expires_at": observation.expires_at.map(|t| t.to_rfc3339()),
            "amount_minor": observation.amount_minor, "attempt": attempt.attempts, "replayed": replayed,
        })),
    );
    store.record_voucher_issued(
        attempt.id,
        &Observed::Payment(observation.clone()),
        &voucher.raw,
        &operator.name,
        &order_voucher,
        Utc::now(),
        &entry,
    )?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Issue,
        order_id: order.order_id.clone(),
        psp: psp.name().to_string(),
        payment_id: observation.payment_id.clone(),
        voucher_code: observation.voucher_code.clone(),
        amount_minor: observation.amount_minor,
        currency: observation.currency,
        expires_at: observation.expires_at,
        status: observation.status,
        reference: Some(reference),
        replayed,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let event = NotificationEvent::VoucherIssued {
        order_id: order.order_id.clone(),
        payment_id: observation.payment_id.clone(),
        revision: None,
    };
    queue_message(store, &event, operator, &mut outcome)?;
    Ok(outcome)
}

/// dLocal: the ticket already created under the reference (a retry), or a new one.
async fn issue_dlocal(
    client: &DlocalClient,
    clients: &VoucherClients,
    order: &OrderRecord,
    attempt: &VoucherIssueRow,
    currency: Currency,
    country: Country,
) -> Result<(PspVoucher, bool), VoucherError> {
    let reference = attempt.reference.as_str();
    if attempt.attempts > 1 {
        match client.order(reference).await {
            Ok(found) => {
                let payment =
                    client.payment(&found.payment_id).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
                return Ok((cash_payment_voucher(&payment, "GET /payments/{id}"), true));
            }
            // Not found: the earlier call never reached dLocal's books.
            Err(DlocalError::Refused { http_status: 404, .. }) => {}
            Err(e) => {
                // A lookup refused otherwise is not a verdict on the voucher: try again later.
                return Err(VoucherError::PspUnconfirmed {
                    psp: "dlocal",
                    code: e.code(),
                    message: e.to_string(),
                    reference: Some(reference.to_string()),
                });
            }
        }
    }
    let method = match country {
        Country::Colombia => DlocalCashMethod::Efecty,
        Country::Peru => DlocalCashMethod::PagoEfectivo,
    };
    let request = CashPaymentRequest {
        order_id: reference.to_string(),
        amount_minor: order.amount_minor,
        currency,
        country,
        method,
        payer: CashPayer {
            name: order.buyer_name.trim().to_string(),
            email: order.buyer_email.trim().to_string(),
            document: order.buyer_document.trim().to_string(),
        },
        description: Some(concept(order)),
        notification_url: clients.notification_url.clone(),
    };
    match client.create_cash_payment(&request).await {
        Ok(payment) => Ok((cash_payment_voucher(&payment, "POST /payments"), false)),
        // The reference is taken at dLocal (another desktop's attempt, a ledger
        // restored from an older copy): the ticket made under it is this order's.
        Err(DlocalError::Refused { dlocal_code: Some(code), .. })
            if code == crate::psp::dlocal::api::ERROR_ORDER_ID_DUPLICATED =>
        {
            let found = client.order(reference).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
            let payment = client.payment(&found.payment_id).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
            same_money(&payment.observation(), order, currency, "dlocal")?;
            Ok((cash_payment_voucher(&payment, "GET /payments/{id}"), true))
        }
        Err(e) => Err(dlocal_failure(&e, Some(reference))),
    }
}

/// A voucher found under our reference must be for the order's money, or it is not ours.
fn same_money(
    found: &PaymentObservation,
    order: &OrderRecord,
    currency: Currency,
    psp: &'static str,
) -> Result<(), VoucherError> {
    if found.amount_minor == order.amount_minor && found.currency == currency {
        return Ok(());
    }
    Err(VoucherError::PspRefused {
        psp,
        code: "vouchers.reference_taken",
        message: format!(
            "{} {} holds {} {} under reference {}, not the order's {} {}",
            psp,
            found.payment_id,
            crate::money::format_minor(found.amount_minor, found.currency),
            found.currency,
            found.order_id,
            crate::money::format_minor(order.amount_minor, currency),
            currency
        ),
    })
}

fn concept(order: &OrderRecord) -> String {
    let text = format!("Pedido {} {}", order.order_id, order.store);
    text.chars().filter(|c| !c.is_control()).take(CONCEPT_CHARS_MAX).collect::<String>().trim().to_string()
}

/// PagoEfectivo: the CIP already created under the reference (a retry), or a new one.
async fn issue_cip(
    client: &PagoEfectivoClient,
    order: &OrderRecord,
    attempt: &VoucherIssueRow,
    currency: Currency,
) -> Result<(PspVoucher, bool), VoucherError> {
    let reference = attempt.reference.as_str();
    let search = "POST /v1/cips/search";
    if attempt.attempts > 1 {
        let found = client.search_cips(&[CipQuery::TransactionCode(reference.to_string())]).await.map_err(|e| {
            match pagoefectivo_failure(&e, Some(reference)) {
                // A refused lookup is not a verdict on the voucher: try again later.
                VoucherError::PspRefused { psp, code, message } => {
                    VoucherError::PspUnconfirmed { psp, code, message, reference: Some(reference.to_string()) }
                }
                other => other,
            }
        })?;
        if let Some(record) = found.into_iter().find(|r| r.transaction_code == reference) {
            return Ok((cip_voucher(&record, search), true));
        }
    }
    let name = order.buyer_name.trim();
    let (first, last) = name.split_once(' ').map(|(f, l)| (f.trim(), l.trim())).unwrap_or((name, name));
    let phone: String = order.buyer_phone.chars().filter(char::is_ascii_digit).collect();
    let phone = phone.strip_prefix("51").filter(|rest| rest.len() == 9).unwrap_or(phone.as_str()).to_string();
    let cip = NewCip {
        transaction_code: reference.to_string(),
        currency,
        amount_minor: order.amount_minor,
        expires_at: attempt.expires_at,
        concept: concept(order),
        additional_data: None,
        payer: Payer {
            email: order.buyer_email.trim().to_string(),
            name: first.to_string(),
            last_name: last.to_string(),
            document_type: "DNI".into(),
            document_number: order.buyer_document.trim().to_string(),
            phone,
            phone_country_code: PERU_PHONE_CODE.into(),
            ubigeo: None,
            country: Some("PE".into()),
        },
    };
    let created = match client.create_cip(&cip).await {
        Ok(created) => created,
        // The transactionCode is taken (another desktop's attempt, a ledger
        // restored from an older copy): the CIP made under it is this order's.
        Err(PagoEfectivoError::Refused { fields, .. }) if fields.iter().any(|f| f.field == "transactionCode") => {
            let found = client
                .search_cips(&[CipQuery::TransactionCode(reference.to_string())])
                .await
                .map_err(|e| pagoefectivo_failure(&e, Some(reference)))?;
            let Some(record) = found.into_iter().find(|r| r.transaction_code == reference) else {
                return Err(VoucherError::PspRefused {
                    psp: "pagoefectivo",
                    code: "pagoefectivo.refused",
                    message: format!("transactionCode {reference} is taken but PagoEfectivo finds no CIP under it"),
                });
            };
            let voucher = cip_voucher(&record, search);
            same_money(&voucher.observation, order, currency, "pagoefectivo")?;
            return Ok((voucher, true));
        }
        Err(e) => return Err(pagoefectivo_failure(&e, Some(reference))),
    };
    // The creation answer carries no status: read the CIP back as PagoEfectivo holds it.
    let record = CipRecord {
        cip: created.cip,
        transaction_code: created.transaction_code.clone(),
        currency: created.currency,
        amount_minor: created.amount_minor,
        status: PaymentStatus::Pending,
        cip_status: crate::psp::pagoefectivo::wire::CipStatus::Pendiente,
        status_code: CIP_CREATED_CODE,
        status_name: CIP_CREATED_NAME.to_string(),
        created_at: Utc::now(),
        expires_at: created.expires_at,
        paid_at: None,
        removed_at: None,
    };
    Ok((cip_voucher(&record, "POST /v1/cips"), false))
}

/// A CIP just created is `Generado` (API status 22).
const CIP_CREATED_CODE: i64 = 22;
const CIP_CREATED_NAME: &str = "Generado";

// ------------------------------------------------------------------ extend

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendRequest {
    pub order_id: String,
    /// The voucher (payment id or CIP); `None`: the order's pending one.
    pub payment_id: Option<String>,
    /// The new deadline is this many hours from now.
    pub hours: u32,
}

/// Moves a pending PagoEfectivo CIP's deadline to `hours` from now. dLocal
/// has no extension: refused with a pointer to issuing a new voucher.
pub async fn extend(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &ExtendRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::ExtendVoucher)?;
    check_hours(request.hours)?;
    let order = load_order(store, &request.order_id)?;
    let target = open_cip(store, &order, VoucherAction::Extend, request.payment_id.as_deref())?;
    let cip = cip_number(&target)?;
    let client = clients.pagoefectivo()?;
    let expires_at = now + Duration::hours(i64::from(request.hours));
    store.barrier()?;
    // Extending is idempotent at the PSP (the same deadline again): a failure
    // records nothing and the command can simply be run again.
    let record = client.extend_cip(cip, expires_at).await.map_err(|e| pagoefectivo_failure(&e, None))?;
    let entry = audit_entry(
        &operator.name,
        "voucher.extend",
        &format!("order {}", order.order_id),
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "expires_at": target.expires_at.map(|t| t.to_rfc3339()),
        })),
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "expires_at": record.expires_at.to_rfc3339(), "hours": request.hours,
        })),
    );
    store.record_voucher_extended(&target.psp, &target.payment_id, record.expires_at, &entry)?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Extend,
        order_id: order.order_id.clone(),
        psp: target.psp.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
        amount_minor: target.amount_minor,
        currency: record.currency,
        expires_at: Some(record.expires_at),
        status: record.status,
        reference: Some(record.transaction_code.clone()),
        replayed: false,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let current = store.order(&order.order_id)?;
    if current.is_some_and(|o| o.voucher_expires_at == Some(record.expires_at)) {
        let event = NotificationEvent::VoucherIssued {
            order_id: order.order_id.clone(),
            payment_id: target.payment_id.clone(),
            revision: Some(record.expires_at.timestamp().to_string()),
        };
        queue_message(store, &event, operator, &mut outcome)?;
    } else {
        outcome.message_error =
            Some("vouchers.not_current: the extended voucher is not the order's current one; no message".into());
    }
    Ok(outcome)
}

// ------------------------------------------------------------------ cancel

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: String,
    /// The voucher (payment id or CIP); `None`: the order's pending one.
    pub payment_id: Option<String>,
}

/// Cancels an unpaid PagoEfectivo CIP: the PSP first, then the ledger (the
/// payment moves to `cancelled` through the observation path). dLocal has no
/// cancellation for cash tickets: refused.
pub async fn cancel(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &CancelRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::CancelVoucher)?;
    let order = load_order(store, &request.order_id)?;
    let target = open_cip(store, &order, VoucherAction::Cancel, request.payment_id.as_deref())?;
    let cip = cip_number(&target)?;
    let client = clients.pagoefectivo()?;
    store.barrier()?;
    let (record, replayed, source) = match client.cancel_cip(cip).await {
        Ok(record) => (record, false, "DELETE /v1/cips/{cip}"),
        // Not pending any more: an earlier cancel whose answer was lost, or the buyer paid meanwhile.
        Err(e @ PagoEfectivoError::Refused { status: 409, .. }) => {
            let found = client.search_cips(&[CipQuery::Cip(cip)]).await.map_err(|e| pagoefectivo_failure(&e, None))?;
            let Some(record) = found.into_iter().next() else { return Err(pagoefectivo_failure(&e, None)) };
            if record.status != PaymentStatus::Cancelled {
                // The ledger learns what the PSP says, then the cancel is refused.
                let voucher = cip_voucher(&record, "POST /v1/cips/search");
                crate::observations::apply(
                    store,
                    &Observed::Payment(voucher.observation),
                    crate::observations::ObservationSource::Api,
                    &voucher.raw,
                    &operator.name,
                )
                .map_err(|e| match e {
                    crate::observations::ObservationError::Store(e) => VoucherError::Store(e),
                    other => VoucherError::Store(StoreError::Invalid(other.to_string())),
                })?;
                return Err(pagoefectivo_failure(&e, None));
            }
            (record, true, "POST /v1/cips/search")
        }
        Err(e) => return Err(pagoefectivo_failure(&e, None)),
    };
    let voucher = cip_voucher(&record, source);
    let entry = audit_entry(
        &operator.name,
        "voucher.cancel",
        &format!("order {}", order.order_id),
        &target.status,
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "voucher_code": target.voucher_code,
            "psp_status": record.status_name, "replayed": replayed, "at": now.to_rfc3339(),
        })),
    );
    store.record_voucher_cancelled(
        &Observed::Payment(voucher.observation.clone()),
        &voucher.raw,
        &operator.name,
        Utc::now(),
        &entry,
    )?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Cancel,
        order_id: order.order_id.clone(),
        psp: target.psp.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
        amount_minor: target.amount_minor,
        currency: record.currency,
        expires_at: Some(record.expires_at),
        status: record.status,
        reference: Some(record.transaction_code.clone()),
        replayed,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let event = NotificationEvent::VoucherCancelled {
        order_id: order.order_id.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
    };
    queue_message(store, &event, operator, &mut outcome)?;
    Ok(outcome)
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
