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
        | TeamStoreError::Refused(_) => false,
    }
}
