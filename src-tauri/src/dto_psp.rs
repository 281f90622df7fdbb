//! IPC payloads of the PSP sync and the PSP accounts. Same
//! conventions as `dto`: snake_case, instants as RFC 3339 UTC. No payload
//! here ever carries a secret: the account list says only whether the
//! keyring holds one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use voucherdesk::{credentials, sync};

use voucherdesk::jobs::psp_sync::RunnerState;

type Instant = DateTime<Utc>;

/// What the background sync task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncRunnerStatus {
    Starting,
    Running,
    /// Nobody who may import (finance, manager, admin) is signed in.
    WaitingForOperator,
    NoAccounts,
    /// The accounts could not be used: see `runner_code` / `runner_message`.
    Problem,
    Stopped,
}

/// The header's sync indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncIndicator {
    pub runner: SyncRunnerStatus,
    /// The operator the rounds run as (when running).
    pub runner_operator: Option<String>,
    pub runner_code: Option<String>,
    pub runner_message: Option<String>,
    pub paused: bool,
    pub paused_by: Option<String>,
    pub paused_at: Option<Instant>,
    pub last_round_at: Option<Instant>,
    pub last_success_at: Option<Instant>,
    pub last_error_at: Option<Instant>,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub errors_last_hour: i64,
    pub queue_size: i64,
    pub due_now: i64,
    /// PSPs that asked us to wait (Retry-After), as `psp` and until when.
    pub holds: Vec<PspHold>,
    pub polls_total: i64,
    pub changes_total: i64,
    pub errors_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PspHold {
    pub psp: String,
    pub until: Instant,
}

impl SyncIndicator {
    pub fn new(status: sync::SyncStatus, runner: RunnerState) -> SyncIndicator {
        let sync::SyncStatus {
            paused,
            paused_by,
            paused_at,
            last_round_at,
            last_success_at,
            last_error_at,
            last_error_code,
            last_error_message,
            errors_last_hour,
            queue_size,
            due_now,
            holds,
            polls_total,
            changes_total,
            errors_total,
        } = status;
        let (runner, runner_operator, runner_code, runner_message) = match runner {
            RunnerState::Starting => (SyncRunnerStatus::Starting, None, None, None),
            RunnerState::Running { operator } => (SyncRunnerStatus::Running, Some(operator), None, None),
            RunnerState::WaitingForOperator => (SyncRunnerStatus::WaitingForOperator, None, None, None),
            RunnerState::NoAccounts => (SyncRunnerStatus::NoAccounts, None, None, None),
            RunnerState::Problem { code, message } => (SyncRunnerStatus::Problem, None, Some(code), Some(message)),
            RunnerState::Stopped => (SyncRunnerStatus::Stopped, None, None, None),
        };
        SyncIndicator {
            runner,
            runner_operator,
            runner_code,
            runner_message,
            paused,
            paused_by,
            paused_at,
            last_round_at,
            last_success_at,
            last_error_at,
            last_error_code,
            last_error_message,
            errors_last_hour,
            queue_size,
            due_now,
            holds: holds.into_iter().map(|h| PspHold { psp: h.psp, until: h.until }).collect(),
            polls_total,
            changes_total,
            errors_total,
        }
    }
}

/// The answer to "refresh from PSP".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Refreshed {
    pub psp: String,
    pub payment_id: String,
    /// Our status before and after (snake_case, as `PaymentRecord.status`).
    pub before: String,
    pub after: String,
    /// The PSP's own word (`PAID`, `Pagado`).
    pub psp_status: String,
    /// The PSP said something new: a timeline entry (source `api`) was added.
    pub recorded: bool,
    pub reconciled: bool,
}

impl From<sync::Refreshed> for Refreshed {
    fn from(r: sync::Refreshed) -> Refreshed {
        let sync::Refreshed { psp, payment_id, before, after, psp_status, recorded, reconciled } = r;
        Refreshed {
            psp,
            payment_id,
            before: before.as_str().to_string(),
            after: after.as_str().to_string(),
            psp_status,
            recorded,
            reconciled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum PspName {
    #[serde(rename = "dlocal")]
    Dlocal,
    #[serde(rename = "pagoefectivo")]
    PagoEfectivo,
}

impl From<credentials::PspKind> for PspName {
    fn from(k: credentials::PspKind) -> PspName {
        match k {
            credentials::PspKind::Dlocal => PspName::Dlocal,
            credentials::PspKind::PagoEfectivo => PspName::PagoEfectivo,
        }
    }
}

impl From<PspName> for credentials::PspKind {
    fn from(n: PspName) -> credentials::PspKind {
        match n {
            PspName::Dlocal => credentials::PspKind::Dlocal,
            PspName::PagoEfectivo => credentials::PspKind::PagoEfectivo,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct ConnectionTest {
    pub ok: bool,
    /// "connection OK", or the PSP's refusal with its code.
    pub message: String,
    pub at: Instant,
}

impl From<credentials::ConnectionTestResult> for ConnectionTest {
    fn from(t: credentials::ConnectionTestResult) -> ConnectionTest {
        let credentials::ConnectionTestResult { ok, message, at } = t;
        ConnectionTest { ok, message, at }
    }
}

/// One PSP account as the settings screen lists it: never its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct PspAccountRow {
    pub name: String,
    pub psp: PspName,
    pub base_url: String,
    pub created_at: Instant,
    pub created_by: String,
    pub rotated_at: Option<Instant>,
    pub last_test: Option<ConnectionTest>,
    /// The OS keyring holds this account's secrets.
    pub secret_present: bool,
}

impl From<credentials::PspAccount> for PspAccountRow {
    fn from(a: credentials::PspAccount) -> PspAccountRow {
        PspAccountRow::new(a, true)
    }
}

impl PspAccountRow {
    fn new(a: credentials::PspAccount, secret_present: bool) -> PspAccountRow {
        let credentials::PspAccount { name, psp, base_url, created_at, created_by, rotated_at, last_test } = a;
        PspAccountRow {
            name,
            psp: psp.into(),
            base_url,
            created_at,
            created_by,
            rotated_at,
            last_test: last_test.map(Into::into),
            secret_present,
        }
    }
}

impl From<credentials::AccountListing> for PspAccountRow {
    fn from(l: credentials::AccountListing) -> PspAccountRow {
        let credentials::AccountListing { account, secret_present } = l;
        PspAccountRow::new(account, secret_present)
    }
}
