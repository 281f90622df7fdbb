//! IPC payloads of team mode: the banner, the header's team
//! indicator and Settings → Team. Same conventions as `dto`: snake_case,
//! instants as RFC 3339 UTC. Never a password.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;
use voucherdesk::store::TeamLinkStatus;
use voucherdesk::store::team::LeaseRow;

use voucherdesk::jobs::team_refresh::TeamRunnerState;

type Instant = DateTime<Utc>;

/// Where this desktop's team copy stands (`team_status` answers null in local mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TeamStatus {
    /// `user@host:port/db`.
    pub server: String,
    pub online: bool,
    /// Why the server cannot be reached, when offline.
    pub reason: Option<String>,
    /// Since when this desktop has seen it offline.
    pub offline_since: Option<Instant>,
    /// The last change number this copy holds.
    pub cursor: i64,
    /// The background refresher's last pull, and the rows it brought.
    pub last_pull_at: Option<Instant>,
    pub last_pull_rows: i64,
    /// The team's leases as last read (empty before the first read).
    pub leases: Vec<TeamLease>,
    pub leases_at: Option<Instant>,
    /// This app's name on the leases (`host/desktop#pid`).
    pub this_desktop: String,
}

/// Work only one desktop does at a time, and who does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TeamLease {
    /// `psp_sync` or `notification_outbox`.
    pub name: String,
    pub holder: String,
    pub expires_at: Option<Instant>,
    /// True when this app holds it.
    pub mine: bool,
}

/// The `team-changed` event's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TeamChanged {
    /// Rows the pull brought in (changed or removed).
    pub rows: i64,
    pub online: bool,
}

fn instant(unix_seconds: i64) -> Option<Instant> {
    DateTime::from_timestamp(unix_seconds, 0)
}

impl TeamStatus {
    pub fn new(link: TeamLinkStatus, runner: TeamRunnerState, this_desktop: &str) -> TeamStatus {
        let lease = |l: LeaseRow| TeamLease {
            mine: l.holder == this_desktop,
            expires_at: instant(l.expires_at),
            name: l.name,
            holder: l.holder,
        };
        TeamStatus {
            server: link.server,
            online: link.online,
            reason: link.reason,
            offline_since: if link.online { None } else { runner.offline_since },
            cursor: link.cursor,
            last_pull_at: runner.last_pull_at,
            last_pull_rows: i64::try_from(runner.last_pull_rows).unwrap_or(i64::MAX),
            leases: runner.leases.into_iter().map(lease).collect(),
            leases_at: runner.leases_at,
            this_desktop: this_desktop.to_string(),
        }
    }
}
