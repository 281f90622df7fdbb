//! Team mode: several desktops sharing one PostgreSQL server (issue 7).
//!
//! What is here so far: the team server's address and password, its schema
//! (`team init`, refusing a newer one), the reconciliation lock (one run at a
//! time per team) and the leases for work only one desktop may do. The domain
//! modules still write to the local store; routing their writes to the team
//! store is the next step (docs/TEAM-MODE.md).

use crate::store::team::{LeaseRow, LeaseTake, LockHolder, SchemaReport, TeamStore, TeamStoreError};

/// How long a lease lasts without renewal, in seconds: a desktop that
/// vanishes hands its work over to another after at most this long.
pub const LEASE_TTL_SECONDS: i64 = 30;
/// How often a holder renews, in seconds: well inside the TTL, so one slow
/// round trip does not lose the lease.
pub const LEASE_RENEW_EVERY_SECONDS: u64 = 10;

/// Work only one desktop of a team may do at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseName {
    /// The PSP sync engine (polling the PSPs' APIs).
    PspSync,
    /// The buyer-notification outbox deliverer.
    NotificationOutbox,
}

impl LeaseName {
    pub const ALL: [LeaseName; 2] = [LeaseName::PspSync, LeaseName::NotificationOutbox];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaseName::PspSync => "psp_sync",
            LeaseName::NotificationOutbox => "notification_outbox",
        }
    }
}

/// How a desktop names itself to the others: "host/operator", what the
/// "already running on …" messages show.
pub fn desktop_name(host: &str, operator: &str) -> String {
    format!("{}/{}", host.trim(), operator.trim())
}

/// This machine's name, for [`desktop_name`].
pub fn this_host() -> String {
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "desktop".to_string())
}

/// Creates or migrates the team schema on the server.
pub fn init(store: &mut TeamStore) -> Result<SchemaReport, TeamStoreError> {
    store.init()
}

/// Takes (or renews) `lease` for `holder`.
pub fn take_lease(store: &mut TeamStore, lease: LeaseName, holder: &str) -> Result<LeaseTake, TeamStoreError> {
    store.take_lease(lease.as_str(), holder, LEASE_TTL_SECONDS)
}

/// Walks the team's audit chain with the same rule as the local one.
pub fn verify_audit(store: &mut TeamStore) -> Result<crate::audit::VerifyReport, TeamStoreError> {
    crate::audit::verify_chain(|after_id, limit| store.audit_entries(after_id, limit))
}

/// Rows pulled from the team server per page while catching up.
pub const TEAM_COPY_PAGE_ROWS: u32 = 5_000;

/// What one catch-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CatchUp {
    pub rows: u64,
    pub pages: u32,
    pub cursor: i64,
}

/// Brings the local copy of the exceptions up to the team server's, page by
/// page from its cursor; each page commits with its cursor, so an interrupted
/// catch-up resumes where it stopped.
pub fn catch_up_exceptions(team: &mut TeamStore, local: &mut crate::store::Store) -> Result<CatchUp, TeamError> {
    let mut cursor = local.team_cursor("exceptions")?;
    let (mut rows, mut pages) = (0u64, 0u32);
    loop {
        let page = team.exceptions_changed_after(cursor, TEAM_COPY_PAGE_ROWS)?;
        if page.is_empty() {
            return Ok(CatchUp { rows, pages, cursor });
        }
        cursor = local.apply_exception_copies(&page)?;
        rows += page.len() as u64;
        pages += 1;
    }
}

/// A team operation that touches both stores.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Team(#[from] TeamStoreError),
    #[error("local copy: {0}")]
    Local(#[from] crate::store::StoreError),
}

impl TeamError {
    pub fn code(&self) -> &'static str {
        match self {
            TeamError::Team(e) => e.code(),
            TeamError::Local(_) => "store",
        }
    }
}

/// What `team status` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamStatus {
    pub server: String,
    pub schema_version: i32,
    pub server_now: i64,
    pub leases: Vec<LeaseRow>,
    /// Who is reconciling right now, if anyone.
    pub reconciling: Option<LockHolder>,
}

pub fn status(store: &mut TeamStore) -> Result<TeamStatus, TeamStoreError> {
    let schema_version = store.check_schema()?;
    let server_now = store.server_now()?;
    let leases = store.leases()?;
    let reconciling = store.reconcile_lock_holder()?;
    Ok(TeamStatus { server: store.server().to_string(), schema_version, server_now, leases, reconciling })
}
