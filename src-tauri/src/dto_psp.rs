//! IPC payloads of the PSP sync and the PSP accounts. Same conventions as
//! `dto`: the core's own types, and here only the sync task's state, which
//! lives in the shell. No payload here ever carries a secret: the account
//! list says only whether the keyring holds one.

use serde::Serialize;
use ts_rs::TS;
use voucherdesk::sync;

use voucherdesk::jobs::psp_sync::RunnerState;

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

/// The header's sync indicator: the background task's state (shell-only)
/// beside the core's sync status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SyncIndicator {
    pub runner: SyncRunnerStatus,
    /// The operator the rounds run as (when running).
    pub runner_operator: Option<String>,
    pub runner_code: Option<String>,
    pub runner_message: Option<String>,
    #[serde(flatten)]
    pub status: sync::SyncStatus,
}

impl SyncIndicator {
    pub fn new(status: sync::SyncStatus, runner: RunnerState) -> SyncIndicator {
        let (runner, runner_operator, runner_code, runner_message) = match runner {
            RunnerState::Starting => (SyncRunnerStatus::Starting, None, None, None),
            RunnerState::Running { operator } => (SyncRunnerStatus::Running, Some(operator), None, None),
            RunnerState::WaitingForOperator => (SyncRunnerStatus::WaitingForOperator, None, None, None),
            RunnerState::NoAccounts => (SyncRunnerStatus::NoAccounts, None, None, None),
            RunnerState::Problem { code, message } => (SyncRunnerStatus::Problem, None, Some(code), Some(message)),
            RunnerState::Stopped => (SyncRunnerStatus::Stopped, None, None, None),
        };
        SyncIndicator { runner, runner_operator, runner_code, runner_message, status }
    }
}
