//! Team mode in the background: keeps this desktop's copy level with the
//! team server while the app is open.
//!
//! The refresher has its own connection to the server that `LISTEN`s for the
//! changes other desktops upload. Each round waits for an announced change,
//! or [`TEAM_REFRESH_EVERY_MS`] at most, then pulls into the app's store
//! (`Store::team_pull`) and says whether rows arrived or the server came back
//! or went away (the face tells its window). While the server is out of reach
//! it keeps trying: the pull reconnects, and so does the listener. It also
//! reads the team's leases for Settings → Team, so that screen never waits on
//! the network.
//!
//! It only refreshes: every change still goes through `Store::write`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::credentials::SecretVault;
use crate::store::Store;
use crate::store::team::{LeaseRow, TeamStore};
use crate::team;

/// Longest wait for an announcement before pulling anyway (also how soon a
/// server that came back is noticed, and how soon the refresher stops).
pub const TEAM_REFRESH_EVERY_MS: u64 = 2_000;

/// What the refresher last saw, for `team_status`.
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

/// What a round brought that the window should hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamChange {
    /// Rows pulled (changed and deleted).
    pub rows: u64,
    /// Whether the server answers now.
    pub online: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The refresher of one team copy, carried from round to round.
pub struct TeamRefresher {
    server: String,
    vault: Arc<dyn SecretVault>,
    application: String,
    listener: Option<TeamStore>,
    was_online: bool,
    state: TeamRunnerState,
}

impl TeamRefresher {
    /// The refresher for the team copy in `store`; `None` in local mode.
    pub fn new(store: &Store, vault: Arc<dyn SecretVault>, application: String) -> Option<TeamRefresher> {
        let Ok(Some(link)) = store.team_link_status() else { return None };
        let mut state = TeamRunnerState::default();
        if !link.online {
            state.offline_since = Some(Utc::now());
        }
        Some(TeamRefresher { server: link.server, vault, application, listener: None, was_online: link.online, state })
    }

    /// What the refresher last saw.
    pub fn state(&self) -> TeamRunnerState {
        self.state.clone()
    }

    /// Waits for an announced change, [`TEAM_REFRESH_EVERY_MS`] at most
    /// (re-opening the listener first when it is gone). Blocks.
    pub fn wait_for_change(&mut self) {
        let every = Duration::from_millis(TEAM_REFRESH_EVERY_MS);
        if self.listener.as_ref().is_none_or(TeamStore::is_closed) {
            self.listener = team::change_listener(&self.server, &*self.vault, &self.application).ok();
        }
        match self.listener.as_mut() {
            Some(l) => {
                if l.wait_for_change(every).is_err() {
                    self.listener = None;
                }
            }
            None => std::thread::sleep(every),
        }
    }

    /// Pulls into `store` and reads the leases; `Some` when rows arrived or
    /// the server came back or went away. Blocks.
    pub fn pull(&mut self, store: &Mutex<Store>) -> Option<TeamChange> {
        // While the server is away and the listener cannot reconnect, the
        // store is left alone: a connect attempt under its lock (up to
        // TEAM_CONNECT_TIMEOUT_SECONDS to an unreachable host) would hold
        // up every command. Pulled once when the server is lost (to say so),
        // and again as soon as the listener is back.
        if self.listener.is_none() && !self.was_online {
            return None;
        }
        let (pulled, online) = {
            let mut store = lock(store);
            let pulled = store.team_pull();
            let online = store.team_link_status().ok().flatten().is_some_and(|s| s.online);
            (pulled, online)
        };
        let leases = self.listener.as_mut().and_then(|l| l.leases().ok());
        let rows = pulled.as_ref().map(|r| r.rows + r.deleted).unwrap_or(0);
        {
            let s = &mut self.state;
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
        let change = (rows > 0 || online != self.was_online).then_some(TeamChange { rows, online });
        self.was_online = online;
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryVault;
    use crate::jobs::round::tests::workspace;

    #[test]
    fn a_local_workspace_has_no_refresher() {
        let (_dir, path) = workspace();
        let store = Store::open(&path).unwrap();
        assert!(TeamRefresher::new(&store, Arc::new(MemoryVault::default()), "host/desktop".into()).is_none());
    }
}
