//! Refund submission as a background round. Each round calls
//! `refunds::submission::submit_and_follow`: approved refunds are sent with
//! their stored idempotency key (recorded before the call, so a refund is
//! never sent twice), submitted ones are resent or polled until the PSP's
//! final answer. The refund's row shows where it is (status, PSP reference,
//! last error); nothing is decided here.
//!
//! **Who it acts as.** The signed-in operator, when their role may submit
//! refunds (`Permission::RequestRefund`, which every role has; the library
//! checks it again on each round). While nobody is signed in or the session
//! has locked itself, the round waits.
//!
//! **Team mode**: the round is one team write (`Store::write`): the
//! team's write lock is held for it, and each refund is marked `submitted`
//! on the server before the PSP is called (the library's `barrier`), so two
//! desktops never send the same refund.
//!
//! Each round reads the PSP account and its secrets afresh and pays through
//! its refund rail (`psp::RefundRail`, from `submission::client_from_config`,
//! the same as `refunds submit`). A `bank_transfer` is paid by finance, who
//! records it: the round leaves it alone.

use std::path::Path;
use std::time::Duration;

use super::round::acting_operator;
use crate::credentials::SecretVault;
use crate::operators::{Operator, Permission};
use crate::psp::RefundRail;
use crate::refunds::RefundError;
use crate::refunds::submission::{self, SubmitConfig};
use crate::store::Store;
use crate::team;

/// Refunds per status one round of the app handles (approved to send, submitted to follow).
pub const APP_REFUND_BATCH_MAX: u32 = 50;

/// What the background submitter is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRunnerState {
    Starting,
    /// Rounds run as this operator.
    Running {
        operator: String,
    },
    /// Nobody who may submit refunds is signed in.
    WaitingForOperator,
    /// No account of a PSP whose API pays refunds is configured.
    NoAccount,
    /// The account could not be used, or a round failed.
    Problem {
        code: String,
        message: String,
    },
    Stopped,
}

fn prepare(
    db_path: &Path,
    vault: &dyn SecretVault,
    name: Option<String>,
    application: &str,
) -> Result<(Store, Operator, Box<dyn RefundRail>), RefundRunnerState> {
    let problem = |code: &str, message: String| RefundRunnerState::Problem { code: code.to_string(), message };
    let store = team::open_workspace(db_path, vault, application).map_err(|e| problem(e.code(), e.to_string()))?;
    let operator =
        acting_operator(&store, name, Permission::RequestRefund).ok_or(RefundRunnerState::WaitingForOperator)?;
    let timeout = Duration::from_millis(submission::SUBMIT_REQUEST_TIMEOUT_MS);
    match submission::client_from_config(&store, vault, timeout) {
        Ok(client) => Ok((store, operator, client)),
        Err(RefundError::NoPspAccount) => Err(RefundRunnerState::NoAccount),
        Err(e) => Err(problem(e.code(), e.to_string())),
    }
}

/// One round on the database at `db_path`, as the signed-in operator `name`.
/// Blocks (the keyring, the team's write lock): call it on a blocking
/// thread; the PSP's answers are awaited on `runtime`.
pub fn round(
    db_path: &Path,
    vault: &dyn SecretVault,
    name: Option<String>,
    application: &str,
    runtime: &tokio::runtime::Handle,
) -> RefundRunnerState {
    let (mut store, operator, rail) = match prepare(db_path, vault, name, application) {
        Ok(ready) => ready,
        Err(state) => return state,
    };
    let config = SubmitConfig { batch_max: APP_REFUND_BATCH_MAX, ..SubmitConfig::default() };
    let now = chrono::Utc::now();
    // One team write for the round (a plain call on a local file); the
    // PSP's answers are awaited on this blocking thread.
    let submitted = store
        .write(|s| runtime.block_on(submission::submit_and_follow(s, rail.as_ref(), &operator, &config, now, &|_| {})));
    // Per-refund problems are on each refund's row (last_error); only a fault of the round is kept here.
    match submitted {
        Ok(_) => RefundRunnerState::Running { operator: operator.name },
        Err(e) => RefundRunnerState::Problem { code: e.code().into(), message: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryVault;
    use crate::jobs::round::tests::workspace;

    #[test]
    fn the_submitter_waits_for_a_signed_in_operator_and_says_when_no_account_is_set_up() {
        let (_dir, path) = workspace();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let vault = MemoryVault::default();
        let state = |who: Option<&str>| round(&path, &vault, who.map(str::to_string), "host/desktop", runtime.handle());
        assert_eq!(state(None), RefundRunnerState::WaitingForOperator);
        assert_eq!(state(Some("old")), RefundRunnerState::WaitingForOperator);
        assert_eq!(state(Some("ana")), RefundRunnerState::NoAccount);
    }
}
