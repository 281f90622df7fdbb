//! Background sync with the PSPs' APIs: every voucher that is not final is
//! polled at an adaptive interval ([`schedule`]), each PSP within its rate
//! limit ([`rate_limit`]), and what the PSP says is applied to the ledger the
//! way a report file would be; after a round that changed a payment,
//! reconciliation runs so the same exceptions are raised.
//!
//! The queue is persistent (`sync_queue`): a poll's observation and the
//! item's new schedule commit in one transaction, so stopping or crashing
//! mid-round neither loses nor repeats work. The whole sync can be paused
//! (persisted, audited), and a PSP that says "too many requests" is left
//! alone until its Retry-After.

#[cfg(test)]
mod chargeback_follow_tests;
pub mod engine;
pub mod rate_limit;
pub mod schedule;
pub mod sources;

pub use crate::model::sync::{Applied, PendingVoucher, RemoteObservation, SyncTarget};
pub use engine::{Refreshed, SyncConfig, SyncEngine, SyncReport};

use crate::audit::audit_entry;
use crate::credentials::{self, CredentialError, SecretVault};
use crate::operators::{Operator, OperatorError, Permission};
use crate::reconcile::ReconcileError;
use crate::store::{Store, StoreError};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// An API answer is kept in the status history up to this size.
pub const RAW_TEXT_BYTES_MAX: usize = 16 * 1024;
/// An error message is kept for the indicator up to this size.
pub const ERROR_MESSAGE_BYTES_MAX: usize = 500;
/// "Errors in the last hour" of the indicator.
pub const RECENT_ERRORS_WINDOW_SECS: i64 = 3_600;
/// Chargebacks read again per PSP in one sync round; the next round goes on
/// after the last one read.
pub const CHARGEBACKS_REREAD_PER_RUN_MAX: u32 = 50;
/// A chargeback first learned longer ago than this is no longer read again:
/// dLocal says a dispute takes up to 150 days to resolve.
pub const CHARGEBACK_FOLLOW_DAYS_MAX: i64 = 180;

/// Why a poll failed, as the engine needs to know it. The PSP clients'
/// own errors map into this (retryable: time-outs and 5xx; `retry_after`:
/// a 429's Retry-After). Never carries a secret: it is stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    /// Stable dotted code, e.g. `dlocal.http_5xx`.
    pub code: &'static str,
    pub message: String,
}

/// The future a [`StatusSource`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<RemoteObservation, SourceError>> + Send + 'a>>;

/// A PSP that can be asked for a voucher's status (one per configured account).
pub trait StatusSource: Send + Sync {
    /// The `payments.psp` value this source answers for (`dlocal`, `pagoefectivo`).
    fn psp(&self) -> &'static str;
    /// The PSP's rate limit for status queries.
    fn requests_per_second_max(&self) -> u32;
    fn fetch<'a>(&'a self, target: &'a SyncTarget) -> FetchFuture<'a>;
    /// Its chargebacks, when the PSP can be asked for one by id.
    fn chargebacks(&self) -> Option<&dyn ChargebackSource> {
        None
    }
}

/// A chargeback as its PSP answers it now, already read into the status
/// report its notification would give (the PSP's one mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargebackAnswer {
    pub report: crate::observations::StatusReport,
    /// The PSP's own word for its status (`COMPLETED`).
    pub status: String,
    /// The answer as received (the chargeback object, id included).
    pub raw_text: String,
}

/// The future a [`ChargebackSource`] returns.
pub type ChargebackFuture<'a> = Pin<Box<dyn Future<Output = Result<ChargebackAnswer, SourceError>> + Send + 'a>>;

/// A PSP whose chargebacks can be read by id.
pub trait ChargebackSource: Send + Sync {
    /// Statuses after which a chargeback no longer changes (not read again).
    fn final_statuses(&self) -> Vec<&'static str>;
    fn chargeback<'a>(&'a self, chargeback_id: &'a str) -> ChargebackFuture<'a>;
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no PSP account configured (voucherdesk credentials add …)")]
    NoAccounts,
    #[error("no PSP account configured for {0} (voucherdesk credentials add …)")]
    NoSource(String),
    #[error("no payment {payment_id:?} from {psp} in the ledger")]
    UnknownPayment { psp: String, payment_id: String },
    #[error("{psp} asked us to wait until {until} (Retry-After)")]
    Held { psp: String, until: DateTime<Utc> },
    #[error("{psp} did not answer: {source}")]
    Source { psp: String, source: SourceError },
    #[error("sync stopped unexpectedly: {0}")]
    Internal(String),
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("PSP account {account:?}: {message}")]
    Config { account: String, code: &'static str, message: String },
    #[error("reconciliation after sync failed: {0}")]
    Reconcile(#[from] ReconcileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::NoAccounts | SyncError::NoSource(_) => "sync.no_account",
            SyncError::UnknownPayment { .. } => "sync.unknown_payment",
            SyncError::Held { .. } => "sync.rate_limited",
            SyncError::Source { source, .. } => source.code,
            SyncError::Internal(_) => "sync.internal",
            SyncError::Forbidden(e) => e.code(),
            SyncError::Credentials(e) => e.code(),
            SyncError::Config { code, .. } => *code,
            SyncError::Reconcile(e) => e.code(),
            SyncError::Store(e) => e.code(),
        }
    }
}

/// The PSP status sources built from the configured accounts (`psp_accounts`
/// rows for the base URL, the OS keyring for the secrets): one source per
/// PSP, from its first account by name (a second account of the same PSP
/// would share its rate limit and its vouchers' ids anyway).
///
/// No account: [`SyncError::NoAccounts`]. A locked or absent keyring, or an
/// account whose keyring entry is gone: [`SyncError::Credentials`], which says so.
pub fn sources_from_config(store: &Store, vault: &dyn SecretVault) -> Result<Vec<Arc<dyn StatusSource>>, SyncError> {
    let accounts = credentials::accounts_in_use(store, vault)?;
    if accounts.is_empty() {
        return Err(SyncError::NoAccounts);
    }
    let mut built: Vec<Arc<dyn StatusSource>> = Vec::new();
    for in_use in &accounts {
        if built.iter().any(|s| s.psp() == in_use.account.psp.as_str()) {
            continue;
        }
        built.push(self::sources::source_for(&in_use.account, &in_use.secrets)?);
    }
    Ok(built)
}

/// What the app's sync indicator shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub paused: bool,
    pub paused_by: Option<String>,
    pub paused_at: Option<DateTime<Utc>>,
    pub last_round_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    /// Vouchers whose latest poll failed within the last hour.
    pub errors_last_hour: i64,
    pub queue_size: i64,
    pub due_now: i64,
    /// PSPs left alone until their Retry-After.
    pub holds: Vec<PspHold>,
    pub polls_total: i64,
    pub changes_total: i64,
    pub errors_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PspHold {
    pub psp: String,
    pub until: DateTime<Utc>,
}

/// The indicator's state as of `now`. Anyone may read it.
pub fn status(store: &Store, now: DateTime<Utc>) -> Result<SyncStatus, SyncError> {
    let state = store.sync_state()?;
    let counts = store.sync_queue_counts(now, now - TimeDelta::seconds(RECENT_ERRORS_WINDOW_SECS))?;
    let holds = store.sync_holds(now)?.into_iter().map(|(psp, until)| PspHold { psp, until }).collect();
    Ok(SyncStatus {
        paused: state.paused,
        paused_by: state.paused_by,
        paused_at: state.paused_at,
        last_round_at: state.last_round_at,
        last_success_at: state.last_success_at,
        last_error_at: state.last_error_at,
        last_error_code: state.last_error_code,
        last_error_message: state.last_error_message,
        errors_last_hour: counts.failed_since,
        queue_size: counts.queued,
        due_now: counts.due,
        holds,
        polls_total: state.polls_total,
        changes_total: state.changes_total,
        errors_total: state.errors_total,
    })
}

/// Pauses the sync (persisted: a restarted app stays paused). Managers and
/// admins only; audited. Returns false when it was already paused.
pub fn pause(store: &mut Store, operator: &Operator) -> Result<bool, SyncError> {
    set_paused(store, operator, true)
}

/// Resumes a paused sync. Managers and admins only; audited.
pub fn resume(store: &mut Store, operator: &Operator) -> Result<bool, SyncError> {
    set_paused(store, operator, false)
}

fn set_paused(store: &mut Store, operator: &Operator, paused: bool) -> Result<bool, SyncError> {
    operator.require(Permission::ControlSync)?;
    let (before, after, action) =
        if paused { ("running", "paused", "sync.pause") } else { ("paused", "running", "sync.resume") };
    let entry = audit_entry(&operator.name, action, "sync", before, after);
    Ok(store.sync_set_paused(paused, &operator.name, entry.at, &entry)?)
}

/// Cuts `text` to at most `bytes_max` bytes on a character boundary.
pub(crate) fn truncated(text: &str, bytes_max: usize) -> &str {
    if text.len() <= bytes_max {
        return text;
    }
    let mut end = bytes_max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncated("Pagado", 100), "Pagado");
        assert_eq!(truncated("añ", 2), "a");
        assert_eq!(truncated("añb", 3), "añ");
    }

    #[test]
    fn error_codes_are_stable() {
        let source = SourceError { retryable: true, retry_after: None, code: "dlocal.http_5xx", message: "x".into() };
        assert_eq!(SyncError::Source { psp: "dlocal".into(), source }.code(), "dlocal.http_5xx");
        assert_eq!(SyncError::NoAccounts.code(), "sync.no_account");
        assert_eq!(SyncError::NoAccounts.to_string(), "no PSP account configured (voucherdesk credentials add …)");
    }
}
