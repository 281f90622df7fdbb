//! Team mode: several desktops sharing one PostgreSQL server.
//!
//! The team server's address and password (in the OS keyring), its schema
//! (`team init`, refusing a newer one), joining a desktop and seeding a team
//! from a local workspace, the reconciliation lock and the leases for work
//! only one desktop may do. How a change reaches the server is the store's
//! business (store/team_link.rs): the domain's rules run unchanged.

use crate::credentials::SecretVault;
use crate::store::team::{LeaseRow, LeaseTake, LockHolder, SchemaReport, TeamStore, TeamStoreError};
use crate::store::{PushReport, Store, StoreError, TeamLinkStatus};

/// How long a lease lasts without renewal, in seconds: a desktop that
/// vanishes hands its work over to another after at most this long. Holders
/// renew at each round (the app's sync every 30 s, its outbox every 15 s), so
/// this is three sync rounds: one slow round does not hand the work over.
pub const LEASE_TTL_SECONDS: i64 = 90;

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

/// Before a round of work only one desktop of a team may do (the PSP sync,
/// the outbox): takes or renews `lease` for `holder`. `None`: go ahead (local
/// mode, or the lease is ours); `Some(desktop)`: that desktop has it.
pub fn claim_round(store: &mut Store, lease: LeaseName, holder: &str) -> Result<Option<String>, StoreError> {
    let Some(server) = store.team_connection()? else { return Ok(None) };
    match take_lease(server, lease, holder)? {
        LeaseTake::Acquired { .. } | LeaseTake::Renewed { .. } | LeaseTake::TakenOver { .. } => Ok(None),
        LeaseTake::HeldBy { lease } => Ok(Some(lease.holder)),
    }
}

/// Walks the team's audit chain with the same rule as the local one.
pub fn verify_audit(store: &mut TeamStore) -> Result<crate::audit::VerifyReport, TeamStoreError> {
    crate::audit::verify_chain(|after_id, limit| store.audit_entries(after_id, limit))
}

/// The keyring entry of a team server's password ("team:user@host:port/db").
pub fn password_entry(server: &str) -> String {
    format!("team:{server}")
}

/// The URL a team copy reconnects with (its server, no password).
fn url_of(server: &str) -> String {
    format!("postgres://{server}")
}

/// `team join`: makes `store` (a new file, or this team's copy already) the
/// local copy of the team at `url`, keeps the password in the OS keyring,
/// and brings the copy level.
pub fn join(
    store: &mut Store,
    url: &str,
    password: Option<&str>,
    vault: &dyn SecretVault,
    application: &str,
) -> Result<TeamLinkStatus, TeamError> {
    let server = TeamStore::describe_url(url)?;
    // Check the server answers and has the schema before anything is kept.
    TeamStore::connect(url, password, application)?.check_schema()?;
    if let Some(p) = password {
        vault.write(&password_entry(&server), p).map_err(|e| TeamError::Keyring(e.to_string()))?;
    }
    store.attach_team(url, password, application)?;
    store.team_pull()?;
    Ok(store.team_link_status()?.expect("attached"))
}

/// `team push`: uploads this local workspace into an empty team (once: a
/// second push adds nothing) and makes this file the team's copy.
pub fn push(
    store: &mut Store,
    url: &str,
    password: Option<&str>,
    vault: &dyn SecretVault,
    application: &str,
) -> Result<PushReport, TeamError> {
    let report = store.push_workspace(url, password, application)?;
    if let Some(p) = password {
        vault.write(&password_entry(&report.server), p).map_err(|e| TeamError::Keyring(e.to_string()))?;
    }
    Ok(report)
}

/// A team operation that touches both stores.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Team(#[from] TeamStoreError),
    #[error("{0}")]
    Local(#[from] crate::store::StoreError),
    #[error("the OS keyring refused the team password: {0}")]
    Keyring(String),
}

impl TeamError {
    pub fn code(&self) -> &'static str {
        match self {
            TeamError::Team(e) => e.code(),
            TeamError::Local(e) => e.code(),
            TeamError::Keyring(_) => "team.keyring",
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

/// Where a desktop keeps its copy of the team `server` when no file is named:
/// `team-USER@HOST-PORT-DB.sqlite` beside the default local database.
pub fn default_copy_path(server: &str) -> std::path::PathBuf {
    let name: String =
        server.chars().map(|c| if c.is_ascii_alphanumeric() || "@._-".contains(c) { c } else { '-' }).collect();
    let local = crate::store::default_path();
    local.with_file_name(format!("team-{name}.sqlite"))
}

/// The environment variable scripts may give the team password in (the OS
/// keyring is the usual home; this wins over it when set).
pub const TEAM_PASSWORD_ENV: &str = "VOUCHERDESK_TEAM_PASSWORD";

/// Opens what `--db` names: a file (reconnected to its team when it is a team
/// copy), or a team server `postgres://USER@HOST:PORT/DB`, whose copy on this
/// desktop is [`default_copy_path`] (joined on first use). The password comes
/// from [`TEAM_PASSWORD_ENV`] or the OS keyring. A server out of reach opens
/// the copy read-only.
pub fn open_workspace(db: &std::path::Path, vault: &dyn SecretVault, application: &str) -> Result<Store, TeamError> {
    open_workspace_as(db, vault, application, None)
}

/// Who a command signs in to the team as: an operator, with the password
/// they gave (or none: the OS keyring's entry for their login, if any, else
/// what `ask` answers, given the operator's name: the CLI asks at a terminal).
#[derive(Debug, Clone)]
pub struct SignIn {
    pub operator: String,
    pub password: Option<String>,
    pub ask: Option<fn(&str) -> Option<String>>,
}

/// [`open_workspace`], signed in to the team as `sign_in`'s operator when
/// their password is known (given, or in the OS keyring under their login):
/// a password the server refuses is an error (`team.denied`), never a
/// reason to connect otherwise. Without one the copy connects with the
/// login it was joined with, as [`open_workspace`] does; the server then
/// accepts only what that login may do.
pub fn open_workspace_as(
    db: &std::path::Path,
    vault: &dyn SecretVault,
    application: &str,
    sign_in: Option<&SignIn>,
) -> Result<Store, TeamError> {
    let text = db.to_string_lossy();
    let (mut store, joined) = if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        let server = TeamStore::describe_url(&text)?;
        (Store::open(&default_copy_path(&server))?, Some((text.to_string(), server)))
    } else {
        let store = Store::open(db)?;
        let joined = store.team_server()?.map(|server| (url_of(&server), server));
        (store, joined)
    };
    let Some((url, server)) = joined else { return Ok(store) };
    if let Some(sign_in) = sign_in {
        let login = crate::store::team::login_name(&sign_in.operator);
        let theirs = format!("{login}@{}", server.split_once('@').map(|(_, at)| at).unwrap_or(&server));
        let joined_login = server.split_once('@').map(|(l, _)| l).unwrap_or_default();
        let password = match &sign_in.password {
            Some(p) => Some(p.clone()),
            None => vault.read(&password_entry(&theirs)).ok().flatten().map(|p| p.as_str().to_string()),
        }
        .or_else(|| if login == joined_login { None } else { sign_in.ask.and_then(|ask| ask(&sign_in.operator)) });
        if let Some(password) = password {
            store.attach_team(&url_of(&theirs), Some(&password), application)?;
            return Ok(store);
        }
    }
    let password = team_password(&server, vault)?;
    store.attach_team(&url, password.as_deref(), application)?;
    Ok(store)
}

/// The app's sign-in in team mode: the copy's connection becomes `operator`'s
/// own login, so the server checks what they do against their role. A
/// password the server refuses is `team.denied`. A copy joined with the
/// team owner's credentials keeps them (set-up and tests: the server checks
/// no role for the owner), and so does a copy whose server is out of reach
/// (the sign-in is then the copy's own, read-only; the server goes on
/// checking the joined login's role once it is back). A no-op in local mode.
pub fn sign_in(store: &mut Store, operator: &str, password: &str) -> Result<(), TeamError> {
    let Some(login) = store.team_login() else { return Ok(()) };
    let wanted = crate::store::team::login_name(operator);
    if login == wanted && store.team_login_is_owner().is_some() {
        // Already this login, and the server accepted it.
        return Ok(());
    }
    if store.team_login_is_owner() != Some(false) {
        return Ok(());
    }
    store.team_sign_in(&wanted, password)?;
    Ok(())
}

/// Gives `operator` their own login on the store's team server, with
/// `password` (after `operators add` or `set-password` in team mode); the
/// signed-in login must be an admin's, the owner's, or the operator's own.
/// None in local mode.
pub fn set_operator_login(store: &mut Store, operator: &str, password: &str) -> Result<Option<String>, TeamError> {
    let Some(server) = store.team_connection()? else { return Ok(None) };
    Ok(Some(server.set_login(operator, password)?))
}

/// A second connection to the team `server` (as [`crate::store::TeamLinkStatus`]
/// names it) that is told of every change another desktop uploads: what the
/// desktop's background refresher waits on (`wait_for_change`). Same password
/// as [`open_workspace`].
pub fn change_listener(server: &str, vault: &dyn SecretVault, application: &str) -> Result<TeamStore, TeamError> {
    let password = team_password(server, vault)?;
    let mut listener = TeamStore::connect(&url_of(server), password.as_deref(), application)?;
    listener.listen_for_changes()?;
    Ok(listener)
}

/// The team password: [`TEAM_PASSWORD_ENV`] when set, else the OS keyring's entry.
fn team_password(server: &str, vault: &dyn SecretVault) -> Result<Option<String>, TeamError> {
    if let Some(p) = std::env::var(TEAM_PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
        return Ok(Some(p));
    }
    // A keyring that cannot be read is no password: a server that needs one
    // refuses the connection, and the copy opens read-only saying why.
    let stored = vault.read(&password_entry(server)).ok().flatten();
    Ok(stored.map(|p| p.as_str().to_string()))
}
