//! Team mode's write path: how a desktop changes the team's state.
//!
//! A change runs the domain's own rules, unchanged, against this desktop's
//! local copy, inside the team's write lock:
//!
//! 1. take the write lock on the server (one writer per team at a time);
//! 2. bring the copy level with the server, so the rules see every other
//!    desktop's last change (the second approver of a refund sees the first
//!    approval and is told "already approved by NAME at TIME");
//! 3. run the change on the copy, with temporary triggers noting the shared
//!    rows it touches;
//! 4. upload those rows in one server transaction, numbered with the change
//!    cursor, and release the lock.
//!
//! Whatever is not on the server did not happen: a row noted but not uploaded
//! (the connection dropped between 3 and 4) is put back from the server the
//! next time this desktop writes or refreshes. Between writes the connection
//! to the copy is `query_only`, so a state change that forgot to go through
//! [`Store::write`] fails instead of drifting from the team. With the server
//! out of reach the copy stays readable and every change is refused as
//! `team.offline`.

use super::shared_rows::{self, META_TEAM_CURSOR, META_TEAM_SERVER, Part, SHARED_TABLES, Selection};
use super::team::{TeamStore, TeamStoreError, UploadCounts, UploadMode};
use super::{Store, StoreError, StoreResult};
use rusqlite::types::Value;

/// Rows per page when the copy pulls from the server.
pub const TEAM_PULL_PAGE_ROWS: u32 = 20_000;

/// A pull of at most this many changes lands in the copy as one transaction,
/// so a reader never sees half of another desktop's change (a refund approved
/// without its approval) and a pull cut short leaves the copy as it was. A
/// longer catch-up (joining a team, another desktop's large import) commits
/// page by page to keep the copy's WAL small and to let the desktop's other
/// writers in between (100,000 changed exceptions: 1.7-1.9 s on a debug build, within
/// their `BUSY_TIMEOUT_MS`); its cursor still moves only at the end, so a cut
/// leaves rows ahead of the cursor, taken again next time.
pub const TEAM_PULL_ONE_TRANSACTION_CHANGES_MAX: i64 = 100_000;

/// How this desktop reaches its team.
pub(crate) struct TeamLink {
    url: String,
    password: Option<String>,
    application: String,
    server: String,
    pub(super) client: Option<TeamStore>,
    /// Why the server was last out of reach (None while it answers).
    offline: Option<String>,
    pub(super) writing: bool,
    /// A run of changes under one hold of the write lock ([`Store::write_run`]).
    pub(super) run: Option<super::team_run::RunState>,
    /// Whether the login is the team schema's owner's (the server checks no
    /// role for it), as the server said when last connected.
    owner: Option<bool>,
}

/// Where a team copy stands, for the banner and `team status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TeamLinkStatus {
    /// `user@host:port/db`, never the password.
    pub server: String,
    pub online: bool,
    /// Why not, when offline.
    pub reason: Option<String>,
    /// The last change number this copy holds.
    pub cursor: i64,
}

/// What a pull brought into the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PullReport {
    pub rows: u64,
    pub deleted: u64,
    pub cursor: i64,
}

/// What `team push` uploaded, over all shared tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    pub server: String,
    /// Rows the team did not have yet (a second push adds none).
    pub added: u64,
    /// Rows per table on the server afterwards.
    pub tables: Vec<(String, i64)>,
}

/// A change's own error, or the team link's.
enum Attempt<E> {
    Inner(E),
    Store(StoreError),
}

impl<E> From<StoreError> for Attempt<E> {
    fn from(e: StoreError) -> Self {
        Attempt::Store(e)
    }
}

/// A lost or refused connection (as opposed to the server refusing a change).
fn is_unreachable(e: &TeamStoreError) -> bool {
    match e {
        TeamStoreError::Unreachable { .. } | TeamStoreError::Offline { .. } => true,
        TeamStoreError::Sql(pg) => pg.is_closed() || pg.as_db_error().is_none(),
        _ => false,
    }
}

/// Whether two servers (`user@host:port/db`) are the same team, whoever signs in.
fn same_team(a: &str, b: &str) -> bool {
    let at = |s: &str| s.split_once('@').map(|(_, rest)| rest.to_string()).unwrap_or_else(|| s.to_string());
    at(a) == at(b)
}

impl Store {
    /// Makes this file a team copy of `url` and connects. The file must be a
    /// copy of that same team already, or hold no shared rows yet. The copy is
    /// brought level at once; a server out of reach leaves it offline (readable).
    pub fn attach_team(&mut self, url: &str, password: Option<&str>, application: &str) -> StoreResult<()> {
        let server = TeamStore::describe_url(url)?;
        match self.team_server()? {
            // Any operator of the team may use this copy, each with their own login.
            Some(known) if same_team(&known, &server) => {}
            Some(other) => {
                return Err(StoreError::Invalid(format!(
                    "{} is the local copy of the team {other}, not of {server}; use another file for that team",
                    self.path.display()
                )));
            }
            None if self.shared_row_count()? > 0 => {
                return Err(StoreError::Invalid(format!(
                    "{} holds a local workspace; upload it with `voucherdesk team push`, or join the team with a new file",
                    self.path.display()
                )));
            }
            None => shared_rows::set_meta(&self.conn, META_TEAM_SERVER, &server)?,
        }
        self.team = Some(Box::new(TeamLink {
            url: url.to_string(),
            password: password.map(str::to_string),
            application: application.to_string(),
            server,
            client: None,
            run: None,
            offline: None,
            writing: false,
            owner: None,
        }));
        self.set_query_only(true)?;
        match self.team_pull() {
            Ok(_) => Ok(()),
            Err(StoreError::Team(e)) if is_unreachable(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// True when a change made now would be kept: always in local mode; in
    /// team mode only inside [`Store::write`] (the copy is read-only between
    /// writes and while the server is out of reach).
    pub fn can_write(&self) -> bool {
        self.team.as_ref().is_none_or(|l| l.writing)
    }

    /// Where the team copy stands (None in local mode).
    pub fn team_link_status(&self) -> StoreResult<Option<TeamLinkStatus>> {
        let Some(link) = &self.team else { return Ok(None) };
        Ok(Some(TeamLinkStatus {
            server: link.server.clone(),
            online: link.offline.is_none(),
            reason: link.offline.clone(),
            cursor: self.team_cursor()?,
        }))
    }

    /// The login this team copy connects with (None in local mode).
    pub fn team_login(&self) -> Option<String> {
        let link = self.team.as_ref()?;
        Some(link.server.split_once('@').map(|(user, _)| user.to_string()).unwrap_or_default())
    }

    /// Whether the team connection is the schema owner's, which the server
    /// checks no role for (None: local mode, or not known while offline).
    pub fn team_login_is_owner(&self) -> Option<bool> {
        self.team.as_ref()?.owner
    }

    /// Signs this copy in to its team as `login` with `password` (the app's
    /// sign-in in team mode): the next change reaches the server as that
    /// login. A refused password is an error and the copy keeps its former
    /// login; a server out of reach leaves it offline (read-only).
    pub fn team_sign_in(&mut self, login: &str, password: &str) -> StoreResult<()> {
        let Some(link) = self.team.as_mut() else { return Ok(()) };
        let url = format!("postgres://{login}@{}", link.server.split_once('@').map(|(_, at)| at).unwrap_or(""));
        let server = TeamStore::describe_url(&url)?;
        match TeamStore::connect(&url, Some(password), &link.application) {
            Err(e @ TeamStoreError::Denied { .. }) => Err(e.into()),
            Err(e) if is_unreachable(&e) => {
                link.offline = Some(e.to_string());
                link.client = None;
                link.owner = None;
                (link.url, link.server, link.password) = (url, server, Some(password.to_string()));
                Ok(())
            }
            Err(e) => Err(e.into()),
            Ok(mut c) => {
                let owner = c.check_schema().and_then(|_| c.is_owner())?;
                (link.url, link.server, link.password) = (url, server, Some(password.to_string()));
                link.client = Some(c);
                link.owner = Some(owner);
                link.offline = None;
                self.refresh_own_operator_row(login)
            }
        }
    }

    /// Takes the signed-in login's own operator row as the server has it,
    /// password hash included. The server shows a login no other operator's
    /// hash (team schema 8), so a copy holds the hashes of the people who
    /// signed in on it: the app's own check of the password, and an offline
    /// sign-in later, need this one.
    fn refresh_own_operator_row(&mut self, login: &str) -> StoreResult<()> {
        let Some(table) = SHARED_TABLES.iter().find(|t| t.name == "operators") else { return Ok(()) };
        let columns = shared_rows::columns(&self.conn, table.name)?;
        let rows = self.team_client()?.rows_by_key(table.name, "lower(name)", &columns, &[login.to_string()])?;
        self.set_query_only(false)?;
        let applied = (|| -> StoreResult<()> {
            let tx = self.conn.unchecked_transaction()?;
            shared_rows::apply_rows(&tx, table, &columns, &rows)?;
            tx.commit()?;
            Ok(())
        })();
        let _ = self.set_query_only(true);
        applied
    }

    /// The team server's connection, for leases and locks (None in local
    /// mode; an error when it cannot be reached).
    pub fn team_connection(&mut self) -> StoreResult<Option<&mut TeamStore>> {
        if self.team.is_none() {
            return Ok(None);
        }
        self.connect_team()?;
        Ok(self.team.as_mut().and_then(|l| l.client.as_mut()))
    }

    pub(super) fn set_query_only(&self, on: bool) -> StoreResult<()> {
        self.conn.pragma_update(None, "query_only", on)?;
        Ok(())
    }

    /// Connects when not connected; notes the server as offline when it cannot.
    pub(super) fn connect_team(&mut self) -> StoreResult<()> {
        let Some(link) = self.team.as_mut() else { return Ok(()) };
        if link.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        link.client = None;
        match TeamStore::connect(&link.url, link.password.as_deref(), &link.application)
            .and_then(|mut c| c.check_schema().map(|_| c))
            .and_then(|mut c| c.is_owner().map(|owner| (c, owner)))
        {
            Ok((c, owner)) => {
                link.client = Some(c);
                link.owner = Some(owner);
                link.offline = None;
                Ok(())
            }
            Err(e) => {
                if is_unreachable(&e) {
                    link.offline = Some(e.to_string());
                }
                Err(e.into())
            }
        }
    }

    /// Notes a failure; a lost connection puts the copy offline.
    pub(super) fn team_failed(&mut self, e: StoreError) -> StoreError {
        if let (StoreError::Team(t), Some(link)) = (&e, self.team.as_mut()) {
            if is_unreachable(t) {
                link.offline = Some(t.to_string());
                link.client = None;
                return StoreError::Team(TeamStoreError::Offline { server: link.server.clone() });
            }
        }
        e
    }

    /// Runs one state change. In local mode, simply `f`. In team mode, under
    /// the team's write lock, on a copy brought level first, and uploaded
    /// before the lock is released (see the module's comment); refused as
    /// `team.offline` when the server cannot be reached.
    pub fn write<T, E: From<StoreError>>(&mut self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        match &self.team {
            None => return self.local_write(f),
            Some(link) if link.writing => return f(self),
            Some(link) if link.run.is_some() => return self.write_in_run(f),
            Some(_) => {}
        }
        if let Err(e) = self.retrying_once(Store::begin_team_write) {
            return Err(self.team_failed(e).into());
        }
        let result = f(self);
        let finished = self.finish_team_write();
        match (result, finished) {
            (Ok(v), Ok(())) => Ok(v),
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(self.team_failed(e).into()),
        }
    }

    /// Runs `step`; when it fails on a connection that had gone stale (the
    /// server restarted since it was last used), once more on a new one.
    pub(super) fn retrying_once<T>(&mut self, step: impl Fn(&mut Store) -> StoreResult<T>) -> StoreResult<T> {
        let had_connection = self.team.as_ref().is_some_and(|l| l.client.is_some());
        match step(self) {
            Err(StoreError::Team(e)) if had_connection && is_unreachable(&e) => {
                if let Some(link) = self.team.as_mut() {
                    link.client = None;
                }
                step(self)
            }
            other => other,
        }
    }

    fn begin_team_write(&mut self) -> StoreResult<()> {
        self.connect_team()?;
        self.team_client()?.lock_writes()?;
        let started = self.pull_locked(true).and_then(|_| {
            self.set_query_only(false)?;
            shared_rows::note_watermarks(&self.conn)?;
            shared_rows::install_capture(&self.conn)?;
            self.team_client()?.begin()?;
            Ok(())
        });
        if let Err(e) = started {
            let _ = shared_rows::remove_capture(&self.conn);
            let _ = self.set_query_only(true);
            if let Ok(c) = self.team_client() {
                c.rollback();
                let _ = c.unlock_writes();
            }
            return Err(e);
        }
        if let Some(link) = self.team.as_mut() {
            link.writing = true;
        }
        Ok(())
    }

    fn finish_team_write(&mut self) -> StoreResult<()> {
        if let Some(link) = self.team.as_mut() {
            link.writing = false;
        }
        let uploaded = self.upload_pending();
        let _ = shared_rows::remove_capture(&self.conn);
        if uploaded.is_err() {
            // The server refused the change (or is gone): the copy takes the
            // server's rows back now if it can, else at its next pull.
            if let Ok(client) = self.team_client() {
                client.rollback();
                if !client.is_closed() {
                    let _ = self.put_back_unuploaded();
                }
            }
        }
        let _ = self.set_query_only(true);
        if let Ok(client) = self.team_client() {
            let _ = client.unlock_writes();
        }
        uploaded
    }

    /// Inside a team write: makes what the change did so far durable on the
    /// server before the caller acts outside VoucherDesk (sends a refund to
    /// the PSP, an email to a buyer), so that no other desktop can act on it
    /// again. The write lock stays held. A no-op in local mode.
    pub fn barrier(&mut self) -> StoreResult<()> {
        if !self.team.as_ref().is_some_and(|l| l.writing) {
            return Ok(());
        }
        if self.team.as_ref().is_some_and(|l| l.run.is_some()) {
            // Its upload would overtake the one running beside it.
            return Err(StoreError::Invalid(
                "a change that acts outside VoucherDesk cannot be part of a write run".into(),
            ));
        }
        // The callers are often async (inside a Tokio runtime), where the
        // synchronous PostgreSQL client may not block: it runs on its own thread.
        let done = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    self.upload_pending()?;
                    self.team_client()?.begin()?;
                    // What the change adds from here on is found above new watermarks.
                    shared_rows::note_watermarks(&self.conn)
                })
                .join()
                .unwrap_or_else(|_| Err(StoreError::Invalid("the upload to the team server stopped".into())))
        });
        done.map_err(|e| self.team_failed(e))
    }

    /// Uploads the noted rows and commits the server's transaction; then the
    /// copy forgets the notes and moves its cursor past its own change.
    fn upload_pending(&mut self) -> StoreResult<()> {
        if !shared_rows::any_pending(&self.conn)? {
            self.team_client()?.commit(false)?;
            shared_rows::clear_pending(&self.conn)?;
            return Ok(());
        }
        self.upload(Selection::Pending, UploadMode::Change, false)?;
        let client = self.team_client()?;
        client.commit(true)?;
        let cursor = client.committed_change_seq(true)?;
        let tx = self.conn.unchecked_transaction()?;
        shared_rows::clear_pending(&tx)?;
        shared_rows::set_meta(&tx, META_TEAM_CURSOR, &cursor.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Uploads rows of every shared table inside the server's open transaction.
    fn upload(&mut self, selection: Selection, mode: UploadMode, fresh: bool) -> StoreResult<UploadCounts> {
        let Some(link) = self.team.as_mut() else { return Ok(UploadCounts::default()) };
        let client = link.client.as_mut().ok_or(TeamStoreError::Offline { server: link.server.clone() })?;
        upload_rows_of(&self.conn, client, selection, mode, fresh)
    }

    pub(super) fn team_client(&mut self) -> StoreResult<&mut TeamStore> {
        let link = self.team.as_mut().ok_or_else(|| StoreError::Invalid("not a team copy".into()))?;
        let server = link.server.clone();
        link.client.as_mut().ok_or(StoreError::Team(TeamStoreError::Offline { server }))
    }

    /// Brings the copy level with the server (no-op in local mode). The app
    /// runs it when the server announces a change, and on a timer.
    pub fn team_pull(&mut self) -> StoreResult<PullReport> {
        if self.team.is_none() || self.team.as_ref().is_some_and(|l| l.writing) {
            return Ok(PullReport { cursor: self.team_cursor()?, ..PullReport::default() });
        }
        let pulled = self.retrying_once(|s| s.connect_team().and_then(|_| s.pull_locked(false)));
        pulled.map_err(|e| self.team_failed(e))
    }

    /// A local-mode change, then the audit anchor moved to what it appended (a
    /// long-lived connection such as the app's would otherwise move it only on
    /// closing). An anchor that cannot be written is left behind, which
    /// verification accepts; the change itself stands.
    fn local_write<T, E>(&mut self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        let result = f(self);
        let _ = self.advance_audit_anchor();
        result
    }

    /// Runs `f` when the server can be reached, as [`Store::write`]; when it
    /// cannot, runs it on the copy as it is, read-only: what only reads works,
    /// what would change something is refused as `team.offline`.
    pub fn write_or_read_only<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.team.is_none() {
            return self.local_write(f);
        }
        let mut f = Some(f);
        let attempt = self.write(|s| (f.take().expect("runs once"))(s).map_err(Attempt::Inner));
        match attempt {
            Ok(v) => Ok(v),
            Err(Attempt::Inner(e)) => Err(e),
            Err(Attempt::Store(StoreError::Team(TeamStoreError::Offline { .. }))) if f.is_some() => {
                (f.take().expect("not run yet"))(self)
            }
            Err(Attempt::Store(e)) => Err(e.into()),
        }
    }

    /// The pull itself, with the connection to the copy writable meanwhile.
    pub(super) fn pull_locked(&mut self, holding_write_lock: bool) -> StoreResult<PullReport> {
        self.set_query_only(false)?;
        let result = self.pull_inner(holding_write_lock);
        let _ = self.set_query_only(true);
        result
    }

    /// First puts back rows noted but never uploaded, then takes every row
    /// numbered past the cursor, table by table (parents first), page by
    /// page; the cursor moves once all are in.
    fn pull_inner(&mut self, holding_write_lock: bool) -> StoreResult<PullReport> {
        self.put_back_unuploaded()?;
        let after = self.team_cursor()?;
        let upto = self.team_client()?.committed_change_seq(holding_write_lock)?;
        let mut report = PullReport { cursor: after, ..PullReport::default() };
        if upto <= after {
            return Ok(report);
        }
        let whole = upto - after <= TEAM_PULL_ONE_TRANSACTION_CHANGES_MAX;
        self.conn.pragma_update(None, "foreign_keys", false)?;
        let pulled = (|| -> StoreResult<()> {
            if whole {
                self.conn.execute_batch("BEGIN IMMEDIATE")?;
            }
            for t in SHARED_TABLES {
                let columns = shared_rows::columns(&self.conn, t.name)?;
                let mut from = after;
                loop {
                    let page = self.team_client()?.changed_rows(t.name, &columns, from, upto, TEAM_PULL_PAGE_ROWS)?;
                    let Some(last) = page.last().map(|(_, seq)| *seq) else { break };
                    let rows: Vec<Vec<Value>> = page.iter().map(|(v, _)| v.clone()).collect();
                    let tx = (!whole).then(|| self.conn.unchecked_transaction()).transpose()?;
                    shared_rows::apply_rows(&self.conn, t, &columns, &rows)?;
                    tx.map(|tx| tx.commit()).transpose()?;
                    report.rows += rows.len() as u64;
                    from = last;
                    if page.len() < TEAM_PULL_PAGE_ROWS as usize {
                        break;
                    }
                }
            }
            let deletions = self.team_client()?.deletions(after, upto)?;
            let tx = (!whole).then(|| self.conn.unchecked_transaction()).transpose()?;
            for t in SHARED_TABLES {
                let keys: Vec<String> =
                    deletions.iter().filter(|(tbl, _)| tbl == t.name).map(|(_, k)| k.clone()).collect();
                report.deleted += keys.len() as u64;
                shared_rows::delete_rows(&self.conn, t, &keys)?;
            }
            shared_rows::set_meta(&self.conn, META_TEAM_CURSOR, &upto.to_string())?;
            match tx {
                Some(tx) => tx.commit()?,
                None => self.conn.execute_batch("COMMIT")?,
            }
            Ok(())
        })();
        if pulled.is_err() && whole && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        pulled?;
        self.search_catch_up()?;
        report.cursor = upto;
        Ok(report)
    }

    /// Rows noted by a change whose upload never committed take the server's
    /// version back (or go, when the server never had them).
    pub(super) fn put_back_unuploaded(&mut self) -> StoreResult<()> {
        shared_rows::note_rows_above_watermarks(&self.conn)?;
        if !shared_rows::any_pending(&self.conn)? {
            return Ok(());
        }
        self.conn.pragma_update(None, "foreign_keys", false)?;
        let put_back = (|| -> StoreResult<()> {
            for t in SHARED_TABLES {
                let keys = shared_rows::pending_keys(&self.conn, t.name)?;
                if keys.is_empty() {
                    continue;
                }
                let columns = shared_rows::columns(&self.conn, t.name)?;
                let rows = self.team_client()?.rows_by_key(t.name, t.key, &columns, &keys)?;
                let key_at = columns.iter().position(|c| c == t.key).unwrap_or(0);
                let on_server: std::collections::HashSet<String> = rows
                    .iter()
                    .map(|r| match &r[key_at] {
                        Value::Integer(i) => i.to_string(),
                        Value::Text(s) => s.clone(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                let gone: Vec<String> = keys.into_iter().filter(|k| !on_server.contains(k)).collect();
                let tx = self.conn.unchecked_transaction()?;
                shared_rows::delete_rows(&tx, t, &gone)?;
                // Append-only rows the server has are the same rows: nothing to put back.
                if !t.append_only {
                    shared_rows::apply_rows(&tx, t, &columns, &rows)?;
                }
                tx.commit()?;
            }
            shared_rows::clear_pending(&self.conn)
        })();
        self.conn.pragma_update(None, "foreign_keys", true)?;
        put_back
    }

    /// `team push`: uploads this whole local workspace to an empty team (or
    /// again to the team it seeded: rows already there are skipped), then makes
    /// this file that team's copy.
    pub fn push_workspace(&mut self, url: &str, password: Option<&str>, application: &str) -> StoreResult<PushReport> {
        let server = TeamStore::describe_url(url)?;
        if let Some(known) = self.team_server()? {
            if !same_team(&known, &server) {
                return Err(StoreError::Invalid(format!(
                    "{} is the local copy of the team {known}; it cannot be pushed to {server}",
                    self.path.display()
                )));
            }
        }
        self.set_query_only(false)?;
        let pushed = self.push_inner(url, &server, password, application);
        if self.team.is_some() {
            let _ = self.set_query_only(true);
        }
        pushed
    }

    fn push_inner(
        &mut self,
        url: &str,
        server: &str,
        password: Option<&str>,
        application: &str,
    ) -> StoreResult<PushReport> {
        let server = server.to_string();
        let workspace = self.workspace_id()?;
        let mut client = TeamStore::connect(url, password, application)?;
        client.check_schema()?;
        client.lock_writes()?;
        let pushed = (|| -> StoreResult<PushReport> {
            let fresh = match client.origin()? {
                Some((w, _, _)) if w == workspace => false,
                Some((_, by, at)) => {
                    return Err(TeamStoreError::Refused(format!(
                        "the team {server} was seeded from another workspace (by {by} at {}); push uploads a workspace only into an empty team or the one it seeded",
                        crate::store::team::format_instant(at)
                    ))
                    .into());
                }
                None => {
                    for t in SHARED_TABLES {
                        if client.row_count(t.name)? > 0 {
                            return Err(TeamStoreError::Refused(format!(
                                "the team {server} already has data ({}); push uploads a workspace only into an empty team",
                                t.name
                            ))
                            .into());
                        }
                    }
                    true
                }
            };
            client.begin()?;
            client.set_origin(&workspace, application)?;
            let link = TeamLink {
                url: url.to_string(),
                password: password.map(str::to_string),
                application: application.to_string(),
                server: server.clone(),
                client: Some(client),
                offline: None,
                writing: false,
                run: None,
                owner: Some(true),
            };
            self.team = Some(Box::new(link));
            let uploaded = self.upload(Selection::All, UploadMode::Seed, fresh).and_then(|counts| {
                let client = self.team_client()?;
                client.commit(counts.written > 0)?;
                Ok(counts)
            });
            let counts = match uploaded {
                Ok(c) => c,
                Err(e) => {
                    if let Some(mut link) = self.team.take() {
                        if let Some(c) = link.client.as_mut() {
                            c.rollback();
                        }
                    }
                    return Err(e);
                }
            };
            let client = self.team_client()?;
            // Into an empty team the copy now holds everything; a second push
            // keeps its cursor, so the next pull brings what others changed.
            let cursor = if fresh { client.committed_change_seq(true)? } else { 0 };
            let mut tables = Vec::new();
            for t in SHARED_TABLES {
                tables.push((t.name.to_string(), client.row_count(t.name)?));
            }
            let _ = client.unlock_writes();
            let cursor = if fresh { cursor } else { self.team_cursor()? };
            shared_rows::set_meta(&self.conn, META_TEAM_SERVER, &server)?;
            shared_rows::set_meta(&self.conn, META_TEAM_CURSOR, &cursor.to_string())?;
            Ok(PushReport { server: server.clone(), added: counts.written, tables })
        })();
        pushed
    }
}

/// Uploads the selected rows of every shared table, read from `conn`, inside
/// `client`'s open transaction.
pub(super) fn upload_rows_of(
    conn: &rusqlite::Connection,
    client: &mut TeamStore,
    selection: Selection,
    mode: UploadMode,
    fresh: bool,
) -> StoreResult<UploadCounts> {
    let mut total = UploadCounts::default();
    for t in SHARED_TABLES {
        let columns = shared_rows::columns(conn, t.name)?;
        match (selection, mode) {
            (Selection::Pending, _) => {
                let top = if t.numbered { shared_rows::watermark(conn, t.name)? } else { None };
                if let Some(top) = top.filter(|top| shared_rows::has_rows_above(conn, t, *top).unwrap_or(true)) {
                    total.written += client.copy_new_rows(t.name, &columns, &mut |sink| {
                        shared_rows::write_rows(conn, t, &columns, Part::New(top), sink)
                    })?;
                }
                if shared_rows::has_noted(conn, t, top)? {
                    let counts = client.upload_rows(t.name, &columns, t.append_only, mode, &mut |sink| {
                        shared_rows::write_rows(conn, t, &columns, Part::Noted(top), sink)
                    })?;
                    total.written += counts.written;
                }
            }
            // Into an empty team every row is new.
            (Selection::All, UploadMode::Seed) if fresh => {
                total.written += client.copy_new_rows(t.name, &columns, &mut |sink| {
                    shared_rows::write_rows(conn, t, &columns, Part::All, sink)
                })?;
            }
            (Selection::All, _) => {
                let counts = client.upload_rows(t.name, &columns, t.append_only, mode, &mut |sink| {
                    shared_rows::write_rows(conn, t, &columns, Part::All, sink)
                })?;
                total.written += counts.written;
            }
        }
    }
    if selection == Selection::Pending {
        for t in SHARED_TABLES.iter().rev() {
            total.deleted += client.delete_rows(t.name, &shared_rows::deleted_keys(conn, t)?)?;
        }
    }
    Ok(total)
}
