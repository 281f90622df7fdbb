//! Refund submission in the background: one tokio task owned by the app
//! state, next to the PSP sync (`sync_runner`), started with the app and
//! stopped when it exits. Each round calls the library's
//! `refunds::submission::submit_and_follow`: approved refunds are sent with
//! their stored idempotency key (recorded before the call, so a refund is
//! never sent twice), submitted ones are resent or polled until the PSP's
//! final answer. The refund's row shows where it is (status, PSP reference,
//! last error); nothing is decided here.
//!
//! **Who it acts as.** The signed-in operator, when their role may submit
//! refunds (the library's rule: `Permission::RequestRefund`, which every
//! role has; the library checks it again on each round). While nobody is
//! signed in or the session has locked itself, the task waits.
//!
//! **Team mode**: the round is one team write (`Store::write`): the
//! team's write lock is held for it, and each refund is marked `submitted`
//! on the server before the PSP is called (the library's `barrier`), so two
//! desktops never send the same refund.
//!
//! Each round reads the dLocal account and its secrets afresh
//! (`submission::client_from_config`, the same as `refunds submit`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::periodic::{PeriodicTask, Wake};
use voucherdesk::credentials::SecretVault;
use voucherdesk::operators::{self, Operator, Permission};
use voucherdesk::psp::dlocal::client::DlocalClient;
use voucherdesk::refunds::RefundError;
use voucherdesk::refunds::submission::{self, SubmitConfig};
use voucherdesk::store::Store;

use crate::sync_runner::SessionProbe;
use crate::team_runner::DesktopNames;
use voucherdesk::team;

/// Seconds between two rounds of the app's refund submitter.
pub const APP_REFUND_INTERVAL_S_DEFAULT: u64 = 30;
/// `VOUCHERDESK_REFUND_INTERVAL_S` may set it between these (the e2e uses a short one).
pub const APP_REFUND_INTERVAL_S_MIN: u64 = 1;
pub const APP_REFUND_INTERVAL_S_MAX: u64 = 3_600;
pub const REFUND_INTERVAL_ENV: &str = "VOUCHERDESK_REFUND_INTERVAL_S";
/// Refunds per status one round handles (approved to send, submitted to follow).
pub const APP_REFUND_BATCH_MAX: u32 = 50;

/// What the background task is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRunnerState {
    Starting,
    /// Rounds run as this operator.
    Running {
        operator: String,
    },
    /// Nobody who may submit refunds is signed in.
    WaitingForOperator,
    /// No dLocal account is configured.
    NoAccount,
    /// The account could not be used, or a round failed.
    Problem {
        code: String,
        message: String,
    },
    Stopped,
}

/// The interval from the environment, clamped to its limits.
pub fn interval_from_env() -> Duration {
    let s = std::env::var(REFUND_INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(APP_REFUND_INTERVAL_S_DEFAULT)
        .clamp(APP_REFUND_INTERVAL_S_MIN, APP_REFUND_INTERVAL_S_MAX);
    Duration::from_secs(s)
}

pub struct RefundRunner {
    task: PeriodicTask<RefundRunnerState>,
}

impl Default for RefundRunner {
    fn default() -> Self {
        RefundRunner { task: PeriodicTask::new(RefundRunnerState::Starting) }
    }
}

impl RefundRunner {
    pub fn state(&self) -> RefundRunnerState {
        self.task.state()
    }

    /// Starts the task on Tauri's runtime. Rounds every `interval` until [`RefundRunner::stop`].
    pub fn start(
        &self,
        db_path: PathBuf,
        vault: Arc<dyn SecretVault>,
        session: SessionProbe,
        interval: Duration,
        names: DesktopNames,
    ) {
        self.task.start(interval, Wake::OnSignal, RefundRunnerState::Stopped, move || {
            let (db_path, vault, session) = (db_path.clone(), Arc::clone(&vault), Arc::clone(&session));
            let application = names.application.clone();
            async move { one_round(&db_path, &vault, &session, application).await }
        });
    }

    /// Asks the task to stop (a refund in flight stays `submitted` and is resent with its key).
    pub fn stop(&self) {
        self.task.stop(RefundRunnerState::Stopped);
    }
}

fn prepare(
    db_path: &Path,
    vault: &dyn SecretVault,
    name: Option<String>,
    application: &str,
) -> Result<(Store, Operator, DlocalClient), RefundRunnerState> {
    let problem = |code: &str, message: String| RefundRunnerState::Problem { code: code.to_string(), message };
    let store = team::open_workspace(db_path, vault, application).map_err(|e| problem(e.code(), e.to_string()))?;
    let Some(name) = name else { return Err(RefundRunnerState::WaitingForOperator) };
    let operator = operators::act_as(&store, &name).map_err(|_| RefundRunnerState::WaitingForOperator)?;
    if !operator.role.allows(Permission::RequestRefund) {
        return Err(RefundRunnerState::WaitingForOperator);
    }
    let timeout = Duration::from_millis(submission::SUBMIT_REQUEST_TIMEOUT_MS);
    match submission::client_from_config(&store, vault, timeout) {
        Ok(client) => Ok((store, operator, client)),
        Err(RefundError::NoPspAccount) => Err(RefundRunnerState::NoAccount),
        Err(e) => Err(problem(e.code(), e.to_string())),
    }
}

async fn one_round(
    db_path: &Path,
    vault: &Arc<dyn SecretVault>,
    session: &SessionProbe,
    application: String,
) -> RefundRunnerState {
    let (path, vault_for_round, session) = (db_path.to_path_buf(), Arc::clone(vault), Arc::clone(session));
    // The session probe, the keyring read and the team's write lock block: off the async threads.
    let round = tauri::async_runtime::spawn_blocking(move || {
        let (mut store, operator, client) = match prepare(&path, &*vault_for_round, session(), &application) {
            Ok(ready) => ready,
            Err(state) => return state,
        };
        let config = SubmitConfig { batch_max: APP_REFUND_BATCH_MAX, ..SubmitConfig::default() };
        let now = chrono::Utc::now();
        // One team write for the round (a plain call on a local file); the
        // PSP's answers are awaited on this blocking thread.
        let submitted = store.write(|s| {
            tauri::async_runtime::block_on(submission::submit_and_follow(s, &client, &operator, &config, now, &|_| {}))
        });
        // Per-refund problems are on each refund's row (last_error); only a fault of the round is kept here.
        match submitted {
            Ok(_) => RefundRunnerState::Running { operator: operator.name },
            Err(e) => RefundRunnerState::Problem { code: e.code().into(), message: e.to_string() },
        }
    });
    round.await.unwrap_or_else(|e| RefundRunnerState::Problem { code: "internal".into(), message: e.to_string() })
}
