//! Team mode's store: the team's shared state on a PostgreSQL server.
//!
//! The second backend of the store layer (the first is the local SQLite file
//! in `store/`): every line of SQL that talks to the team server lives here.
//! This module connects, brings the team schema up to date (refusing a newer
//! one), and gives the primitives that make two desktops one team: the
//! reconciliation lock (one run at a time per team) and the leases for work
//! only one desktop may do (the PSP sync, the notification outbox). Times that
//! decide between desktops come from the server's clock, never a desktop's:
//! a Shenzhen laptop and a Bogotá one need not agree on the time.

mod audit;
mod leases;
mod listen;
mod replica;

pub use leases::{LeaseRow, LeaseTake};
pub use replica::{
    CHANGES_CHANNEL, Cell, RowSink, TEAM_BULK_STATEMENT_TIMEOUT_MS, TEAM_WRITE_LOCK_KEY, TEAM_WRITE_LOCK_WAIT_MS,
    UploadCounts, UploadMode, WriterNow,
};

use postgres::{Client, Config, NoTls};
use std::time::Duration;

/// How long connecting to the team server may take before it counts as unreachable.
pub const TEAM_CONNECT_TIMEOUT_SECONDS: u64 = 5;
/// Longest any one statement may run on the team server (a stuck lock fails, it does not hang).
pub const TEAM_STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// Team schema migrations, applied in order inside one transaction; never edit a shipped one.
const TEAM_MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_team.sql")),
    (2, include_str!("migrations/0002_change_cursor.sql")),
    (3, include_str!("migrations/0003_replica.sql")),
    (4, include_str!("migrations/0004_voucher_cancelled_kind.sql")),
    (5, include_str!("migrations/0005_rates.sql")),
    (6, include_str!("migrations/0006_server_roles.sql")),
    (7, include_str!("migrations/0007_refund_bank_transfer.sql")),
    (8, include_str!("migrations/0008_operator_hashes.sql")),
    (9, include_str!("migrations/0009_refund_window.sql")),
    (10, include_str!("migrations/0010_daily_report.sql")),
    (11, include_str!("migrations/0011_ledger_copy.sql")),
];

/// Advisory-lock keys (64-bit, chosen once): "vd" + a purpose.
const MIGRATION_LOCK_KEY: i64 = 0x7664_0000_0000_0001;
const RECONCILE_LOCK_KEY: i64 = 0x7664_0000_0000_0002;

pub fn team_schema_version_latest() -> i32 {
    TEAM_MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum TeamStoreError {
    #[error("the team server address is not valid: {0}")]
    BadAddress(String),
    #[error("cannot reach the team server {server}: {}", pg_message(.source))]
    Unreachable { server: String, source: postgres::Error },
    #[error("the team server {server} has no VoucherDesk schema yet: run `voucherdesk team init` first")]
    NotInitialised { server: String },
    #[error(
        "the team server {server} has schema version {found}, newer than this VoucherDesk knows ({known}); upgrade VoucherDesk to use it"
    )]
    TooNew { server: String, found: i32, known: i32 },
    #[error("team schema migration to version {version} failed: {}", pg_message(.source))]
    Migration { version: i32, source: postgres::Error },
    #[error(
        "the team server {server} refused the sign-in of {login}: wrong password, or no team login of that name ({})",
        pg_message(.source)
    )]
    Denied { server: String, login: String, source: postgres::Error },
    #[error("team server error: {}", pg_message(.0))]
    Sql(postgres::Error),
    #[error("another desktop is writing to the team server ({}{}); try again in a moment", holder_or_unknown(.holder), since_text(*.since))]
    Busy { holder: String, since: Option<i64> },
    #[error(
        "the team server {server} cannot be reached, so VoucherDesk is read-only: lookups and lists work from this desktop's copy, changes wait until the server is back"
    )]
    Offline { server: String },
    #[error("uploading to the team server failed: {0}")]
    Upload(String),
    #[error("the team server has a column VoucherDesk cannot copy: {0}")]
    UnknownColumnType(String),
    #[error("{0}")]
    Refused(String),
}

/// What the server refuses as the caller's role or the maker-checker rules
/// (`insufficient_privilege`, from the grants or the team schema's checks) is
/// a refusal; anything else is the server's error.
impl From<postgres::Error> for TeamStoreError {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if db.code() == &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => {
                TeamStoreError::Refused(format!("the team server refused this change: {}", db.message()))
            }
            _ => TeamStoreError::Sql(e),
        }
    }
}

/// An operator's login on the team server: the name in lower case (the team
/// schema refuses names that cannot be one, `voucherdesk_set_login`).
pub fn login_name(operator: &str) -> String {
    operator.trim().to_lowercase()
}

fn holder_or_unknown(holder: &str) -> &str {
    if holder.is_empty() { "unknown desktop" } else { holder }
}

fn since_text(since: Option<i64>) -> String {
    since.map(|s| format!(" since {}", format_instant(s))).unwrap_or_default()
}

/// A server instant for messages: `2026-12-02 03:04:05 UTC`.
pub fn format_instant(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| unix_seconds.to_string())
}

impl TeamStoreError {
    /// Stable code for the CLI, IPC and tests.
    pub fn code(&self) -> &'static str {
        match self {
            TeamStoreError::BadAddress(_) => "team.bad_address",
            TeamStoreError::Unreachable { .. } => "team.unreachable",
            TeamStoreError::NotInitialised { .. } => "team.not_initialised",
            TeamStoreError::TooNew { .. } => "team.schema_too_new",
            TeamStoreError::Migration { .. } => "team.migration",
            TeamStoreError::Denied { .. } => "team.denied",
            TeamStoreError::Sql(_) => "team.sql",
            TeamStoreError::Busy { .. } => "team.busy",
            TeamStoreError::Offline { .. } => "team.offline",
            TeamStoreError::Upload(_) => "team.upload",
            TeamStoreError::UnknownColumnType(_) => "team.unknown_column",
            TeamStoreError::Refused(_) => "team.refused",
        }
    }
}

pub type TeamResult<T> = Result<T, TeamStoreError>;

/// What `init` did to the team schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SchemaReport {
    /// The version found before (0: no VoucherDesk schema).
    pub from: i32,
    pub to: i32,
}

/// Who holds the team's reconciliation lock, as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockHolder {
    /// The holder's `application_name` (desktop and operator, see [`TeamStore::connect`]).
    pub holder: String,
    /// When it took the lock (server clock, Unix seconds), if it said.
    pub since: Option<i64>,
}

/// A connection to the team server.
pub struct TeamStore {
    client: Client,
    /// The server as shown to people: user, host, port, database; never the password.
    server: String,
    /// This connection's `application_name`: how other desktops see it.
    application: String,
    /// The login this connection signed in with.
    login: String,
    /// Whether the server has `operators_seen` (team schema 8), once asked.
    operators_view: Option<bool>,
    /// Whether the server takes new ledger rows by COPY (team schema 11), once asked.
    ledger_copy: Option<bool>,
}

impl TeamStore {
    /// Connects to `url` (`postgres://user@host:port/db`). `password`, when
    /// given, wins over one in the URL (it comes from the OS keyring or an
    /// environment variable, so the URL shown anywhere carries none).
    /// `application` names this desktop to the others ("desktop/operator").
    pub fn connect(url: &str, password: Option<&str>, application: &str) -> TeamResult<TeamStore> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| TeamStoreError::BadAddress(e.to_string()))?;
        let server = describe(&config);
        if let Some(p) = password {
            config.password(p);
        }
        config
            .application_name(application)
            .connect_timeout(Duration::from_secs(TEAM_CONNECT_TIMEOUT_SECONDS))
            .options(&format!("-c statement_timeout={TEAM_STATEMENT_TIMEOUT_MS}"));
        let login = config.get_user().unwrap_or("").to_string();
        let client = config.connect(NoTls).map_err(|source| {
            let refused = source.code().is_some_and(|c| {
                c == &postgres::error::SqlState::INVALID_PASSWORD
                    || c == &postgres::error::SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            });
            if refused {
                TeamStoreError::Denied { server: server.clone(), login: login.clone(), source }
            } else {
                TeamStoreError::Unreachable { server: server.clone(), source }
            }
        })?;
        Ok(TeamStore {
            client,
            server,
            application: application.to_string(),
            login,
            operators_view: None,
            ledger_copy: None,
        })
    }

    /// `user@host:port/db` for `url`, checking it parses; never the password.
    pub fn describe_url(url: &str) -> TeamResult<String> {
        let config: Config = url.parse().map_err(|e: postgres::Error| TeamStoreError::BadAddress(e.to_string()))?;
        Ok(describe(&config))
    }

    /// True once the connection is gone (the server stopped, the network dropped).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The server as shown to people (no password).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The login this connection signed in with.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// True when this connection is the team schema's owner's (or a
    /// superuser's): the server checks no role for it. Desktops sign in as
    /// operators; the owner's credentials set the team up.
    pub fn is_owner(&mut self) -> TeamResult<bool> {
        Ok(self.client.query_one("SELECT voucherdesk_is_owner()", &[])?.get(0))
    }

    /// Creates `operator`'s own login on the team server, or gives it a new
    /// password: an admin's (or the owner's) for anyone, everyone's for
    /// themselves. Only a SCRAM-SHA-256 verifier leaves this desktop, never
    /// the password. Returns the login's name.
    pub fn set_login(&mut self, operator: &str, password: &str) -> TeamResult<String> {
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        Ok(self.client.query_one("SELECT voucherdesk_set_login($1, $2)", &[&operator, &verifier])?.get(0))
    }

    /// The schema version on the server; 0 when it has none.
    pub fn schema_version(&mut self) -> TeamResult<i32> {
        let exists: bool = self.client.query_one("SELECT to_regclass('voucherdesk_schema') IS NOT NULL", &[])?.get(0);
        if !exists {
            return Ok(0);
        }
        let v: Option<i32> = self.client.query_one("SELECT max(version) FROM voucherdesk_schema", &[])?.get(0);
        Ok(v.unwrap_or(0))
    }

    /// Creates or migrates the team schema, in one transaction (PostgreSQL's
    /// DDL is transactional: a failed migration leaves the server as it was).
    /// Two desktops running it at once take turns on an advisory lock.
    pub fn init(&mut self) -> TeamResult<SchemaReport> {
        let known = team_schema_version_latest();
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1::bigint)", &[&MIGRATION_LOCK_KEY])?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS voucherdesk_schema (
                 version     INTEGER PRIMARY KEY,
                 applied_at  BIGINT  NOT NULL
             )",
        )?;
        let found: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM voucherdesk_schema", &[])?.get(0);
        if found > known {
            return Err(TeamStoreError::TooNew { server: self.server.clone(), found, known });
        }
        for (version, sql) in TEAM_MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            tx.batch_execute(sql).map_err(|source| TeamStoreError::Migration { version: *version, source })?;
            tx.execute(
                "INSERT INTO voucherdesk_schema(version, applied_at)
                 VALUES ($1, extract(epoch FROM clock_timestamp())::bigint)",
                &[version],
            )
            .map_err(|source| TeamStoreError::Migration { version: *version, source })?;
        }
        tx.commit()?;
        Ok(SchemaReport { from: found, to: known.max(found) })
    }

    /// Refuses a server this build cannot work with: no schema yet, or a newer one.
    pub fn check_schema(&mut self) -> TeamResult<i32> {
        let found = self.schema_version()?;
        let known = team_schema_version_latest();
        if found == 0 {
            return Err(TeamStoreError::NotInitialised { server: self.server.clone() });
        }
        if found > known {
            return Err(TeamStoreError::TooNew { server: self.server.clone(), found, known });
        }
        Ok(found)
    }

    /// The server's clock, Unix seconds.
    pub fn server_now(&mut self) -> TeamResult<i64> {
        Ok(self.client.query_one("SELECT extract(epoch FROM clock_timestamp())::bigint", &[])?.get(0))
    }

    /// Takes the team's reconciliation lock, or says who has it. The lock is
    /// the server's (a session advisory lock): a desktop that crashes or loses
    /// its connection releases it with its session, so it never stays stuck.
    pub fn try_reconcile_lock(&mut self) -> TeamResult<Result<ReconcileLock<'_>, LockHolder>> {
        let got: bool =
            self.client.query_one("SELECT pg_try_advisory_lock($1::bigint)", &[&RECONCILE_LOCK_KEY])?.get(0);
        if got {
            let noted = self.client.execute("SELECT voucherdesk_note_reconciler($1)", &[&self.application]);
            // The guard releases the lock if noting its holder failed.
            let lock = ReconcileLock { store: self };
            noted?;
            return Ok(Ok(lock));
        }
        // Released between the two statements: the caller may simply try again.
        Ok(Err(self.reconcile_lock_holder()?.unwrap_or(LockHolder { holder: String::new(), since: None })))
    }

    /// Who holds the reconciliation lock now, without trying to take it. The
    /// holder's session is the truth (pg_locks shows a bigint key as its high
    /// and low 32 bits, objsubid 1); the row says since when, if it is that holder's.
    pub fn reconcile_lock_holder(&mut self) -> TeamResult<Option<LockHolder>> {
        let row = self.client.query_opt(
            "SELECT a.application_name, h.since
               FROM pg_locks l
               JOIN pg_stat_activity a ON a.pid = l.pid
               LEFT JOIN reconcile_lock_holder h ON h.holder = a.application_name
              WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & 4294967295)",
            &[&RECONCILE_LOCK_KEY],
        )?;
        Ok(row.map(|r| LockHolder { holder: r.get(0), since: r.get(1) }))
    }
}

/// Held while this desktop reconciles; released when dropped (or with the session).
pub struct ReconcileLock<'a> {
    store: &'a mut TeamStore,
}

impl ReconcileLock<'_> {
    pub fn holder(&self) -> &str {
        &self.store.application
    }
}

impl Drop for ReconcileLock<'_> {
    fn drop(&mut self) {
        // A failure here means the connection is gone, and the lock with it.
        let _ = self.store.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&RECONCILE_LOCK_KEY]);
    }
}

/// The server's own words when it refused something ("password authentication
/// failed for user …"), else the client's; postgres::Error alone prints "db error".
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// `user@host:port/db`, from what the URL said; the password is never part of it.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_string());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_described_without_its_password() {
        let config: Config = "postgres://finance:s3cret-pw@db.example:6543/team".parse().unwrap();
        assert_eq!(describe(&config), "finance@db.example:6543/team");
    }

    #[test]
    fn a_bad_address_is_refused_before_any_connection() {
        let err = TeamStore::connect("postgres://a@b:notaport/x", None, "t").err().expect("must refuse");
        assert_eq!(err.code(), "team.bad_address");
    }
}
