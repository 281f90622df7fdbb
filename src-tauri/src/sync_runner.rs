//! The PSP sync in the background: one tokio task owned by the app state,
//! started with the app and stopped when it exits.
//!
//! **Who it acts as.** The signed-in operator, when their role may import
//! (finance, manager, admin: syncing is an import from the PSPs' APIs). The
//! audit log and the reconciliation it triggers then name a real person. While
//! nobody is signed in, the session has locked itself, or the operator is
//! support, the sync waits (the indicator says why) and the next round starts
//! once someone who may import signs in. The library checks the permission
//! again on every round.
//!
//! **Team mode**: the sync runs on one desktop of the team at a
//! time. Each round first takes (or renews) the team's `psp_sync` lease; while
//! another desktop holds it the round is skipped and the indicator names that
//! desktop. Every database step of the round is a team write.
//!
//! Each round reads the PSP accounts and their secrets afresh (an account
//! added, rotated or removed in Settings is used from the next round); the
//! secrets live only inside the round's PSP clients.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::periodic::{PeriodicTask, Wake};
use crate::team_runner::DesktopNames;
use voucherdesk::credentials::SecretVault;
use voucherdesk::operators::{self, Operator, Permission};
use voucherdesk::store::Store;
use voucherdesk::sync::{self, SyncConfig, SyncEngine, SyncError};
use voucherdesk::team::{self, LeaseName};

/// Pause between two rounds of the app's sync.
pub const APP_SYNC_TICK_MS_DEFAULT: u64 = 30_000;
/// `VOUCHERDESK_SYNC_TICK_MS` may set it between these (the demo uses a short one).
pub const APP_SYNC_TICK_MS_MIN: u64 = 1_000;
pub const APP_SYNC_TICK_MS_MAX: u64 = 3_600_000;
pub const SYNC_TICK_ENV: &str = "VOUCHERDESK_SYNC_TICK_MS";

/// What the background task is doing, for the indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerState {
    /// Not started yet, or between start and the first round.
    Starting,
    /// Rounds run as this operator.
    Running {
        operator: String,
    },
    /// Nobody who may import is signed in.
    WaitingForOperator,
    /// No PSP account is configured.
    NoAccounts,
    /// The accounts could not be used (keyring locked or absent, a secret
    /// missing...); in team mode also `team.lease_held` (another desktop runs
    /// the sync) and the team's own codes (`team.offline`...).
    Problem {
        code: String,
        message: String,
    },
    Stopped,
}

/// The tick from the environment, clamped to its limits.
pub fn tick_from_env() -> Duration {
    let ms = std::env::var(SYNC_TICK_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(APP_SYNC_TICK_MS_DEFAULT)
        .clamp(APP_SYNC_TICK_MS_MIN, APP_SYNC_TICK_MS_MAX);
    Duration::from_millis(ms)
}

/// The handle the app state keeps: the stop switch and the task's state.
pub struct SyncRunner {
    task: PeriodicTask<RunnerState>,
}

impl Default for SyncRunner {
    fn default() -> Self {
        SyncRunner { task: PeriodicTask::new(RunnerState::Starting) }
    }
}

/// What a round needs to know about the session: the operator's name when
/// someone is signed in and not idle (called on a blocking thread; it does
/// not count as activity).
pub type SessionProbe = Arc<dyn Fn() -> Option<String> + Send + Sync>;

impl SyncRunner {
    pub fn state(&self) -> RunnerState {
        self.task.state()
    }

    /// Starts the task on Tauri's runtime. Rounds every `tick` until [`SyncRunner::stop`].
    pub fn start(
        &self,
        db_path: PathBuf,
        vault: Arc<dyn SecretVault>,
        session: SessionProbe,
        tick: Duration,
        names: DesktopNames,
    ) {
        // The sync keeps its own pace: what it records is the PSP's word, asked for
        // from the case file's refresh or by the tick, not by a wake.
        self.task.start(tick, Wake::TickOnly, RunnerState::Stopped, move || {
            let (db_path, vault, session, names) =
                (db_path.clone(), Arc::clone(&vault), Arc::clone(&session), names.clone());
            async move { one_round(&db_path, &vault, &session, &names).await }
        });
    }

    /// Asks the task to stop (it finishes the poll in flight; the queue keeps the rest).
    pub fn stop(&self) {
        self.task.stop(RunnerState::Stopped);
    }
}

/// Who may run this round, and with which sources.
type Prepared = (Store, Operator, Vec<Arc<dyn sync::StatusSource>>);

fn prepare(
    db_path: &Path,
    vault: &dyn SecretVault,
    name: Option<String>,
    names: &DesktopNames,
) -> Result<Prepared, RunnerState> {
    let problem = |code: &str, message: String| RunnerState::Problem { code: code.to_string(), message };
    let mut store =
        team::open_workspace(db_path, vault, &names.application).map_err(|e| problem(e.code(), e.to_string()))?;
    let Some(name) = name else { return Err(RunnerState::WaitingForOperator) };
    let operator = operators::act_as(&store, &name).map_err(|_| RunnerState::WaitingForOperator)?;
    if !operator.role.allows(Permission::Import) {
        return Err(RunnerState::WaitingForOperator);
    }
    match crate::team_runner::lease_for_round(&mut store, LeaseName::PspSync, &names.holder) {
        Ok(()) => {}
        Err((code, message)) => return Err(problem(&code, message)),
    }
    match sync::sources_from_config(&store, vault) {
        Ok(sources) => Ok((store, operator, sources)),
        Err(SyncError::NoAccounts) => Err(RunnerState::NoAccounts),
        Err(e) => Err(problem(e.code(), e.to_string())),
    }
}

async fn one_round(
    db_path: &Path,
    vault: &Arc<dyn SecretVault>,
    session: &SessionProbe,
    names: &DesktopNames,
) -> RunnerState {
    let (path, vault_for_round, session) = (db_path.to_path_buf(), Arc::clone(vault), Arc::clone(session));
    // The session probe and the keyring read block: off the async threads.
    let names = names.clone();
    let prepared =
        tauri::async_runtime::spawn_blocking(move || prepare(&path, &*vault_for_round, session(), &names)).await;
    let (store, operator, sources) = match prepared {
        Ok(Ok(ready)) => ready,
        Ok(Err(state)) => return state,
        Err(e) => return RunnerState::Problem { code: "internal".into(), message: e.to_string() },
    };
    let name = operator.name.clone();
    let engine = SyncEngine::new(operator, SyncConfig::default());
    // A failed round is recorded by the engine (last error in `sync::status`); the task goes on.
    let _ = engine.run_once_on(store, &sources, chrono::Utc::now()).await;
    RunnerState::Running { operator: name }
}
