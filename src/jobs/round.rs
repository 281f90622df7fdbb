//! What every background round shares: how this app names itself to the
//! team, whom a round acts as, and the team lease it takes first.

use std::sync::Arc;

use crate::operators::{self, Operator, Permission};
use crate::store::team::TeamStoreError;
use crate::store::{Store, StoreError};
use crate::team::{self, LeaseName};

/// How this app names itself on the team server: `application`, its
/// connections' name (`host/desktop`, what "another desktop is writing (…)"
/// shows); `holder`, this running app on the leases (with its process id:
/// two apps on one machine are two holders).
#[derive(Debug, Clone)]
pub struct DesktopNames {
    pub application: String,
    pub holder: String,
}

impl DesktopNames {
    pub fn this_desktop() -> DesktopNames {
        let host = team::this_host();
        DesktopNames {
            application: team::desktop_name(&host, "desktop"),
            holder: team::desktop_name(&host, &format!("desktop#{}", std::process::id())),
        }
    }
}

/// What a round needs to know about the session: the operator's name when
/// someone is signed in and not idle (called on a blocking thread; it does
/// not count as activity).
pub type SessionProbe = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// Whom a round acts as: the signed-in operator (`name`), when they exist,
/// are enabled and their role allows `permission`. `None`: the round waits
/// for someone who may.
pub fn acting_operator(store: &Store, name: Option<String>, permission: Permission) -> Option<Operator> {
    let operator = operators::act_as(store, &name?).ok()?;
    operator.role.allows(permission).then_some(operator)
}

/// The code a background task's status carries while another desktop of the
/// team holds its lease (the round is skipped).
pub const LEASE_HELD: &str = "team.lease_held";

/// "… runs on another desktop of the team: HOST/desktop#PID": what the task's status says.
pub fn held_message(lease: LeaseName, desktop: &str) -> String {
    let what = match lease {
        LeaseName::PspSync => "the PSP sync",
        LeaseName::NotificationOutbox => "the notification outbox",
    };
    format!("{what} runs on another desktop of the team: {desktop}")
}

/// Team mode: takes or renews `lease` for this app before a background
/// round (`team::claim_round`). `Err((code, message))` skips the round:
/// [`LEASE_HELD`] while another desktop holds it, `team.offline` when the
/// server cannot be reached (the store notes it too). Always `Ok` in local mode.
pub fn lease_for_round(store: &mut Store, lease: LeaseName, holder: &str) -> Result<(), (String, String)> {
    let failed = |code: &str, message: String| (code.to_string(), message);
    let Some(server) = store.team_link_status().ok().flatten().map(|s| s.server) else { return Ok(()) };
    match team::claim_round(store, lease, holder) {
        Ok(None) => Ok(()),
        Ok(Some(desktop)) => Err(failed(LEASE_HELD, held_message(lease, &desktop))),
        Err(StoreError::Team(e)) if connection_lost(&e) => {
            // Let the store notice too (its next pull reconnects or notes the server offline).
            let _ = store.team_pull();
            let offline = TeamStoreError::Offline { server };
            Err(failed(offline.code(), offline.to_string()))
        }
        Err(e) => Err(failed(e.code(), e.to_string())),
    }
}

/// A connection that dropped or never came (as opposed to the server refusing something).
fn connection_lost(e: &TeamStoreError) -> bool {
    match e {
        TeamStoreError::Unreachable { .. } | TeamStoreError::Offline { .. } => true,
        // 57P01..57P03: the server is shutting down or restarting.
        TeamStoreError::Sql(pg) => {
            pg.is_closed() || pg.as_db_error().is_none() || pg.code().is_some_and(|c| c.code().starts_with("57P"))
        }
        TeamStoreError::BadAddress(_)
        | TeamStoreError::NotInitialised { .. }
        | TeamStoreError::TooNew { .. }
        | TeamStoreError::Migration { .. }
        | TeamStoreError::Busy { .. }
        | TeamStoreError::Upload(_)
        | TeamStoreError::UnknownColumnType(_)
        | TeamStoreError::Refused(_)
        | TeamStoreError::Denied { .. } => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::operators::Role;

    /// A workspace file with an admin `root`, `fabio` (finance), `ana` (support) and `old` (finance, disabled).
    pub(crate) fn workspace() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite");
        let mut store = Store::open(&path).unwrap();
        let root = operators::add(&mut store, None, "root", Role::Admin, None).unwrap();
        for (name, role) in [("fabio", Role::Finance), ("ana", Role::Support), ("old", Role::Finance)] {
            operators::add(&mut store, Some(&root), name, role, None).unwrap();
        }
        operators::disable(&mut store, &root, "old").unwrap();
        (dir, path)
    }

    #[test]
    fn a_round_acts_as_the_signed_in_operator_only_when_their_role_allows() {
        let (_dir, path) = workspace();
        let store = Store::open(&path).unwrap();
        let fabio = acting_operator(&store, Some("fabio".into()), Permission::Import).unwrap();
        assert_eq!((fabio.name.as_str(), fabio.role), ("fabio", Role::Finance));
        assert!(acting_operator(&store, Some("ana".into()), Permission::Import).is_none(), "support may not import");
        assert_eq!(acting_operator(&store, Some("ana".into()), Permission::RequestRefund).unwrap().name, "ana");
        assert!(acting_operator(&store, None, Permission::RequestRefund).is_none(), "nobody signed in");
        assert!(acting_operator(&store, Some("old".into()), Permission::Import).is_none(), "disabled");
        assert!(acting_operator(&store, Some("nobody".into()), Permission::Import).is_none(), "unknown");
    }

    #[test]
    fn a_local_workspace_needs_no_lease() {
        let (_dir, path) = workspace();
        let mut store = Store::open(&path).unwrap();
        assert_eq!(lease_for_round(&mut store, LeaseName::PspSync, "host/desktop#1"), Ok(()));
        assert_eq!(lease_for_round(&mut store, LeaseName::NotificationOutbox, "host/desktop#2"), Ok(()));
    }

    #[test]
    fn a_held_lease_names_the_job_and_the_desktop() {
        assert_eq!(
            held_message(LeaseName::PspSync, "host-a/desktop#7"),
            "the PSP sync runs on another desktop of the team: host-a/desktop#7"
        );
        assert_eq!(
            held_message(LeaseName::NotificationOutbox, "host-b/desktop#8"),
            "the notification outbox runs on another desktop of the team: host-b/desktop#8"
        );
    }
}
