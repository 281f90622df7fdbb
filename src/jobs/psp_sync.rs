//! The PSP status sync as a background round.
//!
//! **Who it acts as.** The signed-in operator, when their role may import
//! (finance, manager, admin: syncing is an import from the PSPs' APIs). The
//! audit log and the reconciliation it triggers then name a real person. While
//! nobody is signed in, the session has locked itself, or the operator is
//! support, the round waits (the indicator says why) and the next round starts
//! once someone who may import signs in. The sync engine checks the permission
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

use super::round::{DesktopNames, SessionProbe, acting_operator, lease_for_round};
use crate::credentials::SecretVault;
use crate::operators::{Operator, Permission};
use crate::store::Store;
use crate::sync::{self, SyncConfig, SyncEngine, SyncError};
use crate::team::{self, LeaseName};

/// What the background sync is doing, for the indicator.
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
    let operator = acting_operator(&store, name, Permission::Import).ok_or(RunnerState::WaitingForOperator)?;
    match lease_for_round(&mut store, LeaseName::PspSync, &names.holder) {
        Ok(()) => {}
        Err((code, message)) => return Err(problem(&code, message)),
    }
    match sync::sources_from_config(&store, vault) {
        Ok(sources) => Ok((store, operator, sources)),
        Err(SyncError::NoAccounts) => Err(RunnerState::NoAccounts),
        Err(e) => Err(problem(e.code(), e.to_string())),
    }
}

/// One round of the sync on the database at `db_path`, as whoever `session`
/// names. Runs inside a tokio runtime: the session probe and the keyring
/// read block, so they run on its blocking threads.
pub async fn round(
    db_path: PathBuf,
    vault: Arc<dyn SecretVault>,
    session: SessionProbe,
    names: DesktopNames,
) -> RunnerState {
    let prepared = tokio::task::spawn_blocking(move || prepare(&db_path, &*vault, session(), &names)).await;
    let (store, operator, sources) = match prepared {
        Ok(Ok(ready)) => ready,
        Ok(Err(state)) => return state,
        Err(e) => return RunnerState::Problem { code: "internal".into(), message: e.to_string() },
    };
    let name = operator.name.clone();
    let engine = SyncEngine::new(operator, SyncConfig::default());
    // A failed round is recorded by the engine (last error in `sync::status`); the rounds go on.
    let _ = engine.run_once_on(store, &sources, chrono::Utc::now()).await;
    RunnerState::Running { operator: name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryVault;
    use crate::jobs::round::tests::workspace;

    fn names() -> DesktopNames {
        DesktopNames { application: "host/desktop".into(), holder: "host/desktop#1".into() }
    }

    async fn round_as(path: &Path, who: Option<&str>) -> RunnerState {
        let who = who.map(str::to_string);
        round(path.to_path_buf(), Arc::new(MemoryVault::default()), Arc::new(move || who.clone()), names()).await
    }

    #[tokio::test]
    async fn the_sync_waits_for_someone_who_may_import_and_says_when_no_account_is_set_up() {
        let (_dir, path) = workspace();
        assert_eq!(round_as(&path, None).await, RunnerState::WaitingForOperator);
        assert_eq!(round_as(&path, Some("ana")).await, RunnerState::WaitingForOperator);
        assert_eq!(round_as(&path, Some("fabio")).await, RunnerState::NoAccounts);
    }

    #[tokio::test]
    async fn a_database_that_cannot_be_opened_is_a_problem_of_the_round() {
        let dir = tempfile::tempdir().unwrap();
        let state = round_as(dir.path(), Some("fabio")).await;
        assert!(matches!(&state, RunnerState::Problem { code, .. } if code == "store"), "{state:?}");
    }
}
