//! The payloads that cross IPC, as TypeScript sees them (ts-rs writes them to
//! `ui/src/bindings/`). Core types cross as the core serializes them: they
//! derive `TS` behind the core's `ts` feature, and are named here only so the
//! commands have one place to take them from (the alias keeps a binding's
//! name where the core's differs). What is defined here is either shell-only
//! (app status, page requests, file tokens, counts of a command's work) or a
//! JSON type whose form must differ from the core's; each says why.
//!
//! JSON conventions: snake_case fields; enums as snake_case strings; instants
//! as RFC 3339 strings in UTC; business dates as `YYYY-MM-DD` market dates;
//! money as integer minor units plus an ISO currency code (64-bit integers are
//! `number` in TypeScript: amounts stay far below 2^53).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use voucherdesk::{dashboard, operators, reconcile};

// Core types that cross as the core serializes them.
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
pub use voucherdesk::refunds::bulk::{BulkApproval, BulkRefusal};
pub use voucherdesk::refunds::preview::TierPreview;
pub use voucherdesk::refunds::{ApprovalView as Approval, PayeeCheck};
pub use voucherdesk::refunds::{ApproverRole, ReasonCode, RefundMethod, RefundStatus};
pub use voucherdesk::refunds::{
    BeneficiaryInput as Beneficiary, FxLock, PayeeInput as Payee, Refund, RefundDetails, RefundQuery,
    RefundRequestInput as RefundRequest, Refundable,
};
pub use voucherdesk::settings::Settings;
pub use voucherdesk::store::ExceptionSort;
pub use voucherdesk::store::{
    BatchInfo, ExceptionCursor, HistoryRecord, LinkCandidate as Candidate, OrderHit, RowCounts,
};

// ------------------------------------------------------------------ imports

/// One chosen file of `import_files`: its read token, and the kind and
/// built-in profile it is imported as. Shell-only: the core takes a path.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct RunFileRequest {
    pub token: String,
    pub kind: ImportKind,
    pub profile: String,
}

/// The file of `import_files` whose write begins: its `import-file-started`
/// event (the rows that follow in `import-progress` are its own).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RunFileStarted {
    pub token: String,
}

/// How one file of `import_files` ended: its `import-file-ended` event and
/// its line of the reply. Shell-only: the file is named by its token.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RunFileEnded {
    pub token: String,
    pub outcome: Option<ImportOutcome>,
    pub error: Option<crate::error::ApiError>,
}

// ------------------------------------------------------------------ session

/// The operator UI languages (`operators::set_language` accepts these). The
/// core keeps an operator's language as its stored code; this types it.
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

/// The signed-in operator (the app status's part; the language typed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Operator {
    pub name: String,
    pub role: Role,
    pub language: Language,
}

impl From<operators::Operator> for Operator {
    fn from(o: operators::Operator) -> Operator {
        let operators::Operator { name, role, language } = o;
        Operator { name, role: role, language: Language::from_code(&language) }
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

/// `assign_exceptions`' answer: how many it assigned (the core answers a bare count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct AssignOutcome {
    pub assigned: u64,
}

/// `export_exceptions`' answer: the rows written (the core answers a bare count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ExportOutcome {
    pub rows: u64,
}

// ------------------------------------------------------------------ imports

/// `reconcile`'s answer: the core's summary plus the run's own figures (new,
/// cleared, time taken), which the core leaves out of its JSON for the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ReconcileSummary {
    #[serde(flatten)]
    pub summary: reconcile::ReconcileSummary,
    pub newly_opened: u64,
    pub cleared: u64,
    pub elapsed_ms: u64,
    /// The orders a run of only what changed re-examined; `null`: it read the whole ledger.
    pub rechecked_orders: Option<u64>,
}

impl From<reconcile::ReconcileSummary> for ReconcileSummary {
    fn from(summary: reconcile::ReconcileSummary) -> ReconcileSummary {
        let (newly_opened, cleared, elapsed_ms) = (summary.newly_opened, summary.cleared, summary.elapsed_ms);
        let rechecked_orders = summary.scope.map(|scope| scope.orders);
        ReconcileSummary { summary, newly_opened, cleared, elapsed_ms, rechecked_orders }
    }
}

// ------------------------------------------------------------------ dashboard

/// The dashboard's market selector: "all" is a choice here, where the core
/// takes `Option<Country>`.
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

// ------------------------------------------------------------------ refunds

/// One page of refunds by id; pass `next_after` as `after_id` for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefundPage {
    pub items: Vec<Refund>,
    /// `null` when this page was the last.
    pub next_after: Option<i64>,
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

/// `dashboard_refunds`: the core's refund panel plus the windows its figures
/// cover (the core keeps those as constants, the UI prints them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RefundDashboard {
    #[serde(flatten)]
    pub figures: dashboard::RefundDashboard,
    pub failure_window_days: i64,
    pub stats_days: i64,
}

impl From<dashboard::RefundDashboard> for RefundDashboard {
    fn from(figures: dashboard::RefundDashboard) -> RefundDashboard {
        RefundDashboard {
            figures,
            failure_window_days: dashboard::REFUND_FAILURE_WINDOW_DAYS,
            stats_days: dashboard::REFUND_STATS_DAYS,
        }
    }
}

// ------------------------------------------------------------------ buyer notifications

pub use voucherdesk::notifications::Kind as NotificationKind;
