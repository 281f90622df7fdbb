//! The payloads that cross IPC, as TypeScript sees them (ts-rs writes them to
//! `ui/src/bindings/`). Each mirrors a core type field for field and converts
//! from it with an exhaustive destructuring, so a field added in the core
//! stops this crate from compiling until the payload (and the bindings)
//! follow. No logic lives here beyond naming.
//!
//! JSON conventions: snake_case fields; enums as snake_case strings; instants
//! as RFC 3339 strings in UTC; business dates as `YYYY-MM-DD` market dates;
//! money as integer minor units plus an ISO currency code (64-bit integers are
//! `number` in TypeScript: amounts stay far below 2^53).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use ts_rs::TS;
use voucherdesk::{dashboard, operators, reconcile, refunds};

type Instant = DateTime<Utc>;

// Core types that cross IPC as the core serializes them (their bindings come from the core's `ts` feature).
pub use voucherdesk::audit::{BrokenLink, StoredAuditEntry as AuditRow, VerifyReport};
pub use voucherdesk::dashboard::{CurrencyTotal, TrendDay};
pub use voucherdesk::exceptions::{AgeBucket, ExceptionQuery, LinkTarget};
pub use voucherdesk::exceptions::{BulkFailure, BulkOutcome, QueueCounts, QueuePage};
pub use voucherdesk::import::ImportProgress;
pub use voucherdesk::import::profile::ImportKind;
pub use voucherdesk::import::{ImportOutcome, ImportReport, ProfileSuggestion};
pub use voucherdesk::notifications::LogEntry as NotificationLogEntry;
pub use voucherdesk::notifications::Preview as NotificationPreview;
pub use voucherdesk::notifications::{
    Channel as NotificationChannel, Locale as NotificationLocale, Status as NotificationStatus,
};
pub use voucherdesk::operators::OperatorSummary;
pub use voucherdesk::operators::Role;
pub use voucherdesk::reconcile::MarketCounts;
pub use voucherdesk::refunds::{ApprovalView as Approval, PayeeCheck};
pub use voucherdesk::refunds::{ApproverRole, ReasonCode, RefundMethod, RefundStatus};
pub use voucherdesk::settings::Settings;
pub use voucherdesk::store::ExceptionSort;
pub use voucherdesk::store::{
    BatchInfo, ExceptionCursor, HistoryRecord, LinkCandidate as Candidate, OrderHit, RowCounts,
};

// ------------------------------------------------------------------ session

/// The operator UI languages (`operators::set_language` accepts these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    En,
    Es,
    Zh,
}

impl Language {
    /// The stored code; anything the core would not have stored reads as English.
    pub fn from_code(code: &str) -> Language {
        match code {
            "es" => Language::Es,
            "zh" => Language::Zh,
            _ => Language::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Es => "es",
            Language::Zh => "zh",
        }
    }
}

/// The signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Operator {
    pub name: String,
    pub role: Role,
    pub language: Language,
}

impl From<operators::Operator> for Operator {
    fn from(o: operators::Operator) -> Operator {
        let operators::Operator { name, role, language } = o;
        Operator { name, role: role.into(), language: Language::from_code(&language) }
    }
}

/// What the app opens on: first run (no operator yet: create the admin), the
/// database, the session, and the idle lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AppStatus {
    pub first_run: bool,
    pub db_path: String,
    /// `null` when nobody is signed in or the session locked itself.
    pub operator: Option<Operator>,
    pub idle_lock_minutes: u32,
    /// `0.1.0 (commit 1a2b3c4d5e6f, schema 17)`: what this build is.
    pub version: String,
    /// Crash reports written since the operator last dismissed the notice; `null` when there are none.
    pub crash_reports: Option<CrashReports>,
    /// Set when the app started without its database (a newer VoucherDesk wrote it): the
    /// window shows only this, and no other command is there.
    pub cannot_open: Option<CannotOpen>,
}

/// Crash reports not yet seen (crash.rs in the core): the notice's count and folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CrashReports {
    pub count: u32,
    pub folder: String,
    pub newest: String,
}

impl From<voucherdesk::crash::Unseen> for CrashReports {
    fn from(u: voucherdesk::crash::Unseen) -> CrashReports {
        let voucherdesk::crash::Unseen { count, folder, newest } = u;
        CrashReports {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            folder: folder.display().to_string(),
            newest: newest.display().to_string(),
        }
    }
}

/// Why the database was not opened; the file was left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CannotOpen {
    /// `store.too_new`: a newer VoucherDesk wrote the file.
    pub code: String,
    /// The core's message (English).
    pub message: String,
    pub db_path: String,
    /// The schema version the file holds.
    pub file_schema: u32,
    /// The newest schema version this build knows.
    pub app_schema: u32,
}

impl CannotOpen {
    pub const TOO_NEW: &'static str = "store.too_new";

    /// The refusal of a database a newer VoucherDesk wrote; `None` for any other store error.
    pub fn too_new(e: &voucherdesk::store::StoreError) -> Option<CannotOpen> {
        let voucherdesk::store::StoreError::TooNew { path, found, known } = e else { return None };
        Some(CannotOpen {
            code: CannotOpen::TOO_NEW.to_string(),
            message: e.to_string(),
            db_path: path.display().to_string(),
            file_schema: *found,
            app_schema: *known,
        })
    }
}

// ------------------------------------------------------------------ lookup

// The case file and its records cross as the core returns them.
pub use voucherdesk::lookup::{CaseFile, NextStep, StepAction, Verdict, VerdictCode, VerdictFacts};
pub use voucherdesk::store::{ExceptionRecord, OrderRecord, PaymentRecord, SettlementRecord, StatusObservation};

// ------------------------------------------------------------------ exceptions

// The exception kinds, statuses and resolution actions cross as the core's own enums.
pub use voucherdesk::exceptions::{ExceptionKind, ExceptionStatus, ResolutionAction};

/// `exception_page`'s `page` argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(optional_fields = nullable)]
pub struct PageRequest {
    pub after: Option<ExceptionCursor>,
    /// At most 500.
    pub limit: u32,
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AssignOutcome {
    pub assigned: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ExportOutcome {
    pub rows: u64,
}

// ------------------------------------------------------------------ imports

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReconcileSummary {
    /// Market date the run was made as of.
    pub as_of: String,
    pub orders: u64,
    pub payments: u64,
    pub settlements: u64,
    pub matched: u64,
    /// Every kind, even at zero.
    pub exceptions: BTreeMap<String, u64>,
    pub open_exceptions: u64,
    /// Per market (`CO`, `PE`).
    pub markets: BTreeMap<String, MarketCounts>,
    pub newly_opened: u64,
    pub cleared: u64,
    pub elapsed_ms: u64,
}

impl From<reconcile::ReconcileSummary> for ReconcileSummary {
    fn from(s: reconcile::ReconcileSummary) -> ReconcileSummary {
        let reconcile::ReconcileSummary {
            as_of,
            orders,
            payments,
            settlements,
            matched,
            exceptions,
            open_exceptions,
            markets,
            newly_opened,
            cleared,
            elapsed_ms,
        } = s;
        ReconcileSummary {
            as_of,
            orders,
            payments,
            settlements,
            matched,
            exceptions: exceptions.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            open_exceptions,
            markets: markets.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect(),
            newly_opened,
            cleared,
            elapsed_ms,
        }
    }
}

// ------------------------------------------------------------------ dashboard

/// The dashboard's market selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Market {
    #[serde(rename = "all")]
    All,
    #[serde(rename = "CO")]
    Colombia,
    #[serde(rename = "PE")]
    Peru,
}

impl Market {
    pub fn country(self) -> Option<voucherdesk::market::Country> {
        match self {
            Market::All => None,
            Market::Colombia => Some(voucherdesk::market::Country::Colombia),
            Market::Peru => Some(voucherdesk::market::Country::Peru),
        }
    }
}

impl From<Option<voucherdesk::market::Country>> for Market {
    fn from(c: Option<voucherdesk::market::Country>) -> Market {
        match c {
            None => Market::All,
            Some(voucherdesk::market::Country::Colombia) => Market::Colombia,
            Some(voucherdesk::market::Country::Peru) => Market::Peru,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Dashboard {
    pub market: Market,
    /// The last reconciliation's market date; `null` before the first run.
    pub as_of: Option<String>,
    pub orders: u64,
    pub paid_orders: u64,
    pub matched: u64,
    /// matched / paid_orders in basis points (10000 = 100 %).
    pub match_rate_bp: Option<u64>,
    pub open_by_kind: BTreeMap<String, i64>,
    pub open_by_age: BTreeMap<String, i64>,
    pub open_total: i64,
    pub paid: Vec<CurrencyTotal>,
    pub settled: Vec<CurrencyTotal>,
    pub trend: Vec<TrendDay>,
}

impl From<dashboard::Dashboard> for Dashboard {
    fn from(d: dashboard::Dashboard) -> Dashboard {
        let dashboard::Dashboard {
            market,
            as_of,
            orders,
            paid_orders,
            matched,
            match_rate_bp,
            open_by_kind,
            open_by_age,
            open_total,
            paid,
            settled,
            trend,
            // Not shown in the app yet: the core figures of refunds,
            // chargebacks and fees settled out.
            settled_out: _,
        } = d;
        Dashboard {
            market: market.into(),
            as_of,
            orders,
            paid_orders,
            matched,
            match_rate_bp,
            open_by_kind,
            open_by_age: open_by_age.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            open_total,
            paid: convert(paid),
            settled: convert(settled),
            trend: convert(trend),
        }
    }
}

// ------------------------------------------------------------------ audit

// ------------------------------------------------------------------ settings

// ---- refunds ------------------------------------------------------

/// A ticket payment's `psp_refund` is paid by bank transfer to these details.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Beneficiary {
    pub name: String,
    pub bank: String,
    pub account: String,
    /// `C` current or `S` savings.
    pub account_type: String,
    pub document: String,
}

impl From<refunds::BeneficiaryInput> for Beneficiary {
    fn from(b: refunds::BeneficiaryInput) -> Beneficiary {
        let refunds::BeneficiaryInput { name, bank, account, account_type, document } = b;
        Beneficiary { name, bank, account, account_type, document }
    }
}

impl From<Beneficiary> for refunds::BeneficiaryInput {
    fn from(b: Beneficiary) -> refunds::BeneficiaryInput {
        let Beneficiary { name, bank, account, account_type, document } = b;
        refunds::BeneficiaryInput { name, bank, account, account_type, document }
    }
}

/// Who collects a cash withdrawal (checked against the order's buyer by the library).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Payee {
    pub name: String,
    /// `CC`, `CE`, `DNI` or `PP`.
    pub document_type: String,
    pub document_number: String,
    /// `+57…` or `+51…`.
    pub phone: String,
}

impl From<Payee> for refunds::PayeeInput {
    fn from(p: Payee) -> refunds::PayeeInput {
        let Payee { name, document_type, document_number, phone } = p;
        refunds::PayeeInput { name, document_type, document_number, phone }
    }
}

impl From<refunds::VerifiedPayee> for Payee {
    fn from(p: refunds::VerifiedPayee) -> Payee {
        let refunds::VerifiedPayee { name, document_type, document_number, phone } = p;
        Payee { name, document_type: document_type.as_str().to_string(), document_number, phone }
    }
}

/// `refunds_request`'s input: text as the operator typed it; the library parses and checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RefundRequest {
    pub payment_id: String,
    /// Only when the payment id is known at several PSPs.
    pub psp: Option<String>,
    /// Major units of the payment's currency ("150000", "89.90").
    pub amount: String,
    /// Optional check: must be the payment's currency.
    pub currency: Option<String>,
    /// A reason code (`buyer_cancelled`, …, `other`).
    pub reason: String,
    pub note: Option<String>,
    /// `psp_refund` or `cash_withdrawal`.
    pub method: String,
    #[serde(default)]
    pub beneficiary: Beneficiary,
    #[serde(default)]
    pub payee: Payee,
    /// Another partial refund while one of the same payment awaits approval.
    #[serde(default)]
    pub additional: bool,
}

impl From<RefundRequest> for refunds::RefundRequestInput {
    fn from(r: RefundRequest) -> refunds::RefundRequestInput {
        let RefundRequest { payment_id, psp, amount, currency, reason, note, method, beneficiary, payee, additional } =
            r;
        refunds::RefundRequestInput {
            payment_id,
            psp,
            amount,
            currency,
            reason,
            note,
            method,
            beneficiary: beneficiary.into(),
            payee: payee.into(),
            additional,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RefundDetails {
    BankTransfer { beneficiary: Beneficiary },
    CashPickup { payee: Payee },
}

impl From<refunds::RefundDetails> for RefundDetails {
    fn from(d: refunds::RefundDetails) -> RefundDetails {
        match d {
            refunds::RefundDetails::BankTransfer { beneficiary } => {
                RefundDetails::BankTransfer { beneficiary: beneficiary.into() }
            }
            refunds::RefundDetails::CashPickup { payee } => RefundDetails::CashPickup { payee: payee.into() },
        }
    }
}

/// An exchange rate locked at approval (or, before it, quoted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FxLock {
    /// 1 `order_currency` = `rate` refund currency.
    pub rate: String,
    pub source: String,
    /// The market date the rate applies to (YYYY-MM-DD), when known.
    pub rate_date: Option<String>,
    pub locked_at: Option<Instant>,
    pub order_currency: String,
    pub order_amount_minor: i64,
    pub order_amount: String,
}

impl From<refunds::FxLock> for FxLock {
    fn from(f: refunds::FxLock) -> FxLock {
        let refunds::FxLock { rate, source, rate_date, locked_at, order_currency, order_amount_minor, order_amount } =
            f;
        FxLock {
            rate,
            source,
            rate_date: rate_date.map(|d| d.to_string()),
            locked_at,
            order_currency: order_currency.to_string(),
            order_amount_minor,
            order_amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Refund {
    pub id: i64,
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Major units, for people.
    pub amount: String,
    pub reason: ReasonCode,
    pub note: String,
    pub method: RefundMethod,
    pub details: RefundDetails,
    /// The payee or beneficiary against the order's buyer now; `null` when the order is not on record.
    pub payee_check: Option<PayeeCheck>,
    pub tier: i64,
    /// Past the refund window: finance approves whatever the amount.
    pub finance_required: bool,
    pub status: RefundStatus,
    pub required_approvals: Vec<ApproverRole>,
    /// The roles still to approve (empty once approved).
    pub awaiting: Vec<ApproverRole>,
    pub approvals: Vec<Approval>,
    pub idempotency_key: String,
    pub additional: bool,
    pub requested_by: String,
    pub requested_at: Instant,
    pub fx: Option<FxLock>,
    pub fx_quote: Option<FxLock>,
    pub psp_refund_id: Option<String>,
    pub withdrawal_code: Option<String>,
    pub psp_status: Option<String>,
    pub submit_attempts: i64,
    pub submitted_at: Option<Instant>,
    pub finished_at: Option<Instant>,
    pub last_error: Option<String>,
    pub escalated: bool,
}

impl From<refunds::Refund> for Refund {
    fn from(r: refunds::Refund) -> Refund {
        let refunds::Refund {
            id,
            psp,
            payment_id,
            order_id,
            amount_minor,
            currency,
            amount,
            reason,
            note,
            method,
            details,
            payee_check,
            tier,
            finance_required,
            status,
            required_approvals,
            awaiting,
            approvals,
            idempotency_key,
            additional,
            requested_by,
            requested_at,
            fx,
            fx_quote,
            psp_refund_id,
            withdrawal_code,
            psp_status,
            submit_attempts,
            submitted_at,
            finished_at,
            last_error,
            escalated,
        } = r;
        Refund {
            id,
            psp,
            payment_id,
            order_id,
            amount_minor,
            currency: currency.to_string(),
            amount,
            reason: reason.into(),
            note,
            method: method.into(),
            details: details.into(),
            payee_check: payee_check.map(Into::into),
            tier,
            finance_required,
            status: status.into(),
            required_approvals: convert(required_approvals),
            awaiting: convert(awaiting),
            approvals: convert(approvals),
            idempotency_key,
            additional,
            requested_by,
            requested_at,
            fx: fx.map(Into::into),
            fx_quote: fx_quote.map(Into::into),
            psp_refund_id,
            withdrawal_code,
            psp_status,
            submit_attempts,
            submitted_at,
            finished_at,
            last_error,
            escalated,
        }
    }
}

/// The refunds list's filters (`null`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RefundQuery {
    pub status: Option<RefundStatus>,
    pub method: Option<RefundMethod>,
    pub reason: Option<ReasonCode>,
    /// 1, 2 or 3.
    pub tier: Option<i64>,
    pub psp: Option<String>,
    /// The refunds of one order (its case file).
    #[serde(default)]
    pub order_id: Option<String>,
}

impl From<RefundQuery> for refunds::RefundQuery {
    fn from(q: RefundQuery) -> refunds::RefundQuery {
        let RefundQuery { status, method, reason, tier, psp, order_id } = q;
        refunds::RefundQuery {
            status: status.map(Into::into),
            method: method.map(Into::into),
            reason: reason.map(Into::into),
            tier,
            psp,
            order_id,
        }
    }
}

/// One page of refunds by id; pass `next_after` as `after_id` for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefundPage {
    pub items: Vec<Refund>,
    /// `null` when this page was the last.
    pub next_after: Option<i64>,
}

/// What a payment can still give back: paid − succeeded − in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Refundable {
    pub paid_minor: i64,
    pub succeeded_minor: i64,
    pub in_flight_minor: i64,
    pub refundable_minor: i64,
    pub currency: String,
}

impl From<refunds::Refundable> for Refundable {
    fn from(r: refunds::Refundable) -> Refundable {
        let refunds::Refundable { paid_minor, succeeded_minor, in_flight_minor, refundable_minor, currency } = r;
        Refundable { paid_minor, succeeded_minor, in_flight_minor, refundable_minor, currency: currency.to_string() }
    }
}

/// A file the operator chose in a dialog (or dropped on the window). The file
/// commands take `token`; `name` and `path` are for showing only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PickedFile {
    pub token: String,
    pub name: String,
    pub path: String,
}

/// Where the archived PDF receipt of a succeeded refund is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReceiptPath {
    pub path: String,
}

/// `refunds_preview`: the tier and who must approve, before the request is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TierPreview {
    pub amount_minor: i64,
    pub currency: String,
    pub amount: String,
    pub tier: i64,
    pub finance_required: bool,
    /// Beyond the requester (empty for tier 1).
    pub required_approvals: Vec<ApproverRole>,
    /// Two different people must approve.
    pub two_people: bool,
    pub refundable: Refundable,
    pub exceeds_refundable: bool,
}

impl From<refunds::preview::TierPreview> for TierPreview {
    fn from(p: refunds::preview::TierPreview) -> TierPreview {
        let refunds::preview::TierPreview {
            amount_minor,
            currency,
            amount,
            tier,
            finance_required,
            required_approvals,
            two_people,
            refundable,
            exceeds_refundable,
        } = p;
        TierPreview {
            amount_minor,
            currency: currency.to_string(),
            amount,
            tier,
            finance_required,
            required_approvals: convert(required_approvals),
            two_people,
            refundable: refundable.into(),
            exceeds_refundable,
        }
    }
}

/// A refund of a bulk approval the library refused (it is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkRefusal {
    pub id: i64,
    pub code: String,
    pub message: String,
}

/// `refunds_bulk_approve`: each refund approved in its own transaction, or refused on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct BulkApproval {
    pub approved: Vec<Refund>,
    pub refused: Vec<BulkRefusal>,
}

impl From<refunds::bulk::BulkApproval> for BulkApproval {
    fn from(b: refunds::bulk::BulkApproval) -> BulkApproval {
        BulkApproval {
            approved: convert(b.approved),
            refused: b
                .refused
                .into_iter()
                .map(|r| BulkRefusal { id: r.id, code: r.code, message: r.message })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TierPending {
    pub tier: i64,
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReasonAmount {
    pub reason: String,
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

/// failed + rejected_by_psp over finished refunds, over the last 7 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FailureRate {
    pub failed: i64,
    pub finished: i64,
    /// Basis points (10000 = 100 %); `null` with nothing finished.
    pub rate_bp: Option<i64>,
    /// 3 % or more (seed 002).
    pub warning: bool,
}

/// `dashboard_refunds`: the dashboard's refund panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefundDashboard {
    pub pending_by_tier: Vec<TierPending>,
    pub median_approve_seconds: Option<i64>,
    pub approved_count: i64,
    pub by_reason: Vec<ReasonAmount>,
    pub failure: FailureRate,
    pub failure_window_days: i64,
    pub stats_days: i64,
}

impl From<dashboard::RefundDashboard> for RefundDashboard {
    fn from(d: dashboard::RefundDashboard) -> RefundDashboard {
        let dashboard::RefundDashboard { pending_by_tier, median_approve_seconds, approved_count, by_reason, failure } =
            d;
        RefundDashboard {
            pending_by_tier: pending_by_tier
                .into_iter()
                .map(|p| TierPending {
                    tier: p.tier,
                    currency: p.currency,
                    count: p.count,
                    amount_minor: p.amount_minor,
                })
                .collect(),
            median_approve_seconds,
            approved_count,
            by_reason: by_reason
                .into_iter()
                .map(|r| ReasonAmount {
                    reason: r.reason,
                    currency: r.currency,
                    count: r.count,
                    amount_minor: r.amount_minor,
                })
                .collect(),
            failure: FailureRate {
                failed: failure.failed,
                finished: failure.finished,
                rate_bp: failure.rate_bp,
                warning: failure.warning,
            },
            failure_window_days: dashboard::REFUND_FAILURE_WINDOW_DAYS,
            stats_days: dashboard::REFUND_STATS_DAYS,
        }
    }
}

/// Converts every element of a list.
pub fn convert<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(U::from).collect()
}

// ------------------------------------------------------------------ buyer notifications

pub use voucherdesk::notifications::Kind as NotificationKind;

// ------------------------------------------------------------------ PSP sync and accounts

pub use crate::dto_psp::{ConnectionTest, PspAccountRow, PspHold, PspName, Refreshed, SyncIndicator, SyncRunnerStatus};
