//! Team mode in the background: keeps this desktop's copy level
//! with the team server while the app is open.
//!
//! One thread with its own connection to the server that `LISTEN`s for the
//! changes other desktops upload. On an announced change, or every
//! [`TEAM_REFRESH_EVERY_MS`] anyway, it locks the app's store and pulls
//! (`Store::team_pull`); when rows arrived or the server came back or went
//! away it tells the window (`team-changed`), which refreshes the open screen
//! and the banner. While the server is out of reach it keeps trying: the
//! pull reconnects, and so does the listener. It also reads the team's
//! leases for Settings → Team, so that screen never waits on the network.
//!
//! It only refreshes: every change still goes through `Store::write` (see state.rs).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::dto_team::TeamChanged;
use chrono::{DateTime, Utc};
use voucherdesk::credentials::SecretVault;
use voucherdesk::store::team::{LeaseRow, TeamStore, TeamStoreError};
use voucherdesk::store::{Store, StoreError};
use voucherdesk::team::{self, LeaseName};

/// The event the runner emits (payload: [`TeamChanged`]).
pub const TEAM_CHANGED_EVENT: &str = "team-changed";
/// Longest wait for an announcement before pulling anyway (also how soon a
/// server that came back is noticed, and how soon the thread stops).
pub const TEAM_REFRESH_EVERY_MS: u64 = 2_000;

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

/// What the runner last saw, for `team_status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamRunnerState {
    pub last_pull_at: Option<DateTime<Utc>>,
    pub last_pull_rows: u64,
    /// Since when the server has been out of reach (None while it answers).
    pub offline_since: Option<DateTime<Utc>>,
    /// The leases as last read, and when.
    pub leases: Vec<LeaseRow>,
    pub leases_at: Option<DateTime<Utc>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

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

/// The handle the app state keeps.
#[derive(Default)]
pub struct TeamRunner {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<TeamRunnerState>>,
}

pub type OnChange = Arc<dyn Fn(TeamChanged) + Send + Sync>;

impl TeamRunner {
    pub fn state(&self) -> TeamRunnerState {
        lock(&self.state).clone()
    }

    /// Starts the thread for the team copy in `store` (does nothing in local mode).
    pub fn start(
        &self,
        store: Arc<Mutex<Store>>,
        vault: Arc<dyn SecretVault>,
        application: String,
        on_change: OnChange,
    ) {
        let Ok(Some(link)) = lock(&store).team_link_status() else { return };
        let server = link.server;
        let (stop, state) = (Arc::clone(&self.stop), Arc::clone(&self.state));
        if !link.online {
            lock(&state).offline_since = Some(Utc::now());
        }
        let spawned = std::thread::Builder::new().name("team-refresh".into()).spawn(move || {
            let mut listener: Option<TeamStore> = None;
            let mut was_online = link.online;
            let every = Duration::from_millis(TEAM_REFRESH_EVERY_MS);
            while !stop.load(Ordering::Relaxed) {
                if listener.as_ref().is_none_or(TeamStore::is_closed) {
                    listener = team::change_listener(&server, &*vault, &application).ok();
                }
                match listener.as_mut() {
                    Some(l) => {
                        if l.wait_for_change(every).is_err() {
                            listener = None;
                        }
                    }
                    None => std::thread::sleep(every),
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // While the server is away and the listener cannot reconnect, the
                // store is left alone: a connect attempt under its lock (up to
                // TEAM_CONNECT_TIMEOUT_SECONDS to an unreachable host) would hold
                // up every command. Pulled once when the server is lost (to say so),
                // and again as soon as the listener is back.
                if listener.is_none() && !was_online {
                    continue;
                }
                let (pulled, online) = {
                    let mut store = lock(&store);
                    let pulled = store.team_pull();
                    let online = store.team_link_status().ok().flatten().is_some_and(|s| s.online);
                    (pulled, online)
                };
                let leases = listener.as_mut().and_then(|l| l.leases().ok());
                let rows = pulled.as_ref().map(|r| r.rows + r.deleted).unwrap_or(0);
                {
                    let mut s = lock(&state);
                    let now = Utc::now();
                    if pulled.is_ok() {
                        s.last_pull_at = Some(now);
                        s.last_pull_rows = rows;
                    }
                    s.offline_since = if online { None } else { s.offline_since.or(Some(now)) };
                    if let Some(leases) = leases {
                        s.leases = leases;
                        s.leases_at = Some(now);
                    }
                }
                if rows > 0 || online != was_online {
                    on_change(TeamChanged { rows: i64::try_from(rows).unwrap_or(i64::MAX), online });
                }
                was_online = online;
            }
        });
        if let Err(e) = spawned {
            eprintln!("voucherdesk-desktop: the team refresher could not start: {e}");
        }
    }

    /// Asks the thread to stop (within [`TEAM_REFRESH_EVERY_MS`]).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
