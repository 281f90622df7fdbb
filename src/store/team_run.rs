//! A run of changes in team mode (the files of one `import` call): the write
//! lock is taken once, and each change's upload runs on a thread of its own
//! beside the next change's local work, instead of after it.
//!
//! Each change is still its own server transaction, uploaded in order, and
//! stays atomic: the upload reads the change from a second connection that
//! holds a snapshot of the copy as the change left it. The copy's notes keep
//! every change not yet on the server (team_pending plus the watermarks of the
//! earliest one), so a crash or a refused upload puts back from the server
//! that change and the one after it, as it would a single change.

use super::shared_rows::{self, META_TEAM_CURSOR, Selection};
use super::team::{TeamStore, UploadMode};
use super::team_link::upload_rows_of;
use super::{Store, StoreError, StoreResult};
use std::thread::JoinHandle;

/// What an upload thread hands back: the connection, and the server's change
/// number after the commit (or why it failed).
type Uploaded = (TeamStore, StoreResult<i64>);

/// The run under way.
pub(crate) struct RunState {
    /// The upload of the last change, running beside the next one.
    in_flight: Option<JoinHandle<Uploaded>>,
}

impl Store {
    /// Runs `f`, a run of changes each made through [`Store::write`], as one
    /// hold of the team's write lock, each change's upload beside the next
    /// change's local work. A change's own `write` returns once its local
    /// work is done and the change before it is on the server; a failed
    /// upload fails the next `write` (or this call, for the last change) and
    /// puts back both changes, so the caller reports a change as done only
    /// when the next call succeeded. In local mode, simply `f`.
    pub fn write_run<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> StoreResult<T> {
        if self.team.is_none() {
            return Ok(f(self));
        }
        if let Err(e) = self.retrying_once(Store::begin_run) {
            return Err(self.team_failed(e));
        }
        let result = f(self);
        self.end_run()?;
        Ok(result)
    }

    /// Whether this copy uploads its changes to a team (as opposed to a local workspace).
    pub fn is_team_copy(&self) -> bool {
        self.team.is_some()
    }

    fn begin_run(&mut self) -> StoreResult<()> {
        self.connect_team()?;
        self.team_client()?.lock_writes()?;
        let started = self.pull_locked(true).and_then(|_| {
            self.set_query_only(false)?;
            shared_rows::forget_hand_off(&self.conn)
        });
        if let Err(e) = started {
            let _ = self.set_query_only(true);
            if let Ok(c) = self.team_client() {
                let _ = c.unlock_writes();
            }
            return Err(e);
        }
        if let Some(link) = self.team.as_mut() {
            link.run = Some(RunState { in_flight: None });
        }
        Ok(())
    }

    /// One change of the run (see [`Store::write_run`]).
    pub(super) fn write_in_run<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let uploading = self.team.as_ref().and_then(|l| l.run.as_ref()).is_some_and(|r| r.in_flight.is_some());
        let started = (|| -> StoreResult<String> {
            let marks = shared_rows::watermarks_now(&self.conn)?;
            if !uploading {
                shared_rows::keep_watermarks(&self.conn, &marks)?;
            }
            shared_rows::install_capture_noting(&self.conn, uploading)?;
            Ok(marks)
        })();
        let marks = match started {
            Ok(marks) => marks,
            Err(e) => return Err(self.abort_run(e).into()),
        };
        if let Some(link) = self.team.as_mut() {
            link.writing = true;
        }
        let result = f(self);
        if let Some(link) = self.team.as_mut() {
            link.writing = false;
        }
        let _ = shared_rows::remove_capture(&self.conn);
        if let Err(e) = self.confirm_in_flight(Some(&marks)).and_then(|_| self.hand_off()) {
            return Err(self.abort_run(e).into());
        }
        result
    }

    /// Waits for the upload in flight; on success moves the copy's cursor
    /// past it, forgets its notes, and keeps `next_marks` (the watermarks of
    /// the change after it) for the change still to upload.
    fn confirm_in_flight(&mut self, next_marks: Option<&str>) -> StoreResult<()> {
        let Some(handle) = self.team.as_mut().and_then(|l| l.run.as_mut()).and_then(|r| r.in_flight.take()) else {
            return Ok(());
        };
        let waited = std::time::Instant::now();
        let (client, uploaded) =
            handle.join().map_err(|_| StoreError::Invalid("the upload to the team server stopped".into()))?;
        if std::env::var_os("VOUCHERDESK_TRACE").is_some() {
            eprintln!("team run: waited {} ms for the upload before", waited.elapsed().as_millis());
        }
        if let Some(link) = self.team.as_mut() {
            link.client = Some(client);
        }
        let cursor = uploaded?;
        let tx = self.conn.unchecked_transaction()?;
        shared_rows::forget_uploaded_notes(&tx)?;
        shared_rows::set_meta(&tx, META_TEAM_CURSOR, &cursor.to_string())?;
        match next_marks {
            Some(marks) => shared_rows::keep_watermarks(&tx, marks)?,
            None => shared_rows::clear_pending(&tx)?,
        }
        tx.commit()?;
        Ok(())
    }

    /// Starts the upload of the change just made, when it changed anything,
    /// from a snapshot of the copy as it left it.
    fn hand_off(&mut self) -> StoreResult<()> {
        if !shared_rows::any_pending(&self.conn)? {
            shared_rows::clear_pending(&self.conn)?;
            return Ok(());
        }
        let reader = self.reader()?.ok_or_else(|| StoreError::Invalid("a team copy is a file".into()))?;
        // The snapshot starts at the first read, before the next change writes.
        reader.conn.execute_batch("BEGIN; SELECT count(*) FROM store_meta;")?;
        shared_rows::hand_off_notes(&self.conn)?;
        let link = self.team.as_mut().ok_or_else(|| StoreError::Invalid("not a team copy".into()))?;
        let mut client = link.client.take().ok_or_else(|| StoreError::Invalid("no team connection".into()))?;
        let upload = std::thread::Builder::new().name("team-upload".into()).spawn(move || {
            let started = std::time::Instant::now();
            let uploaded = (|| -> StoreResult<i64> {
                client.begin()?;
                upload_rows_of(&reader.conn, &mut client, Selection::Pending, UploadMode::Change, false)?;
                client.commit(true)?;
                Ok(client.committed_change_seq(true)?)
            })();
            if uploaded.is_err() {
                client.rollback();
            }
            if std::env::var_os("VOUCHERDESK_TRACE").is_some() {
                eprintln!("team run: upload took {} ms", started.elapsed().as_millis());
            }
            (client, uploaded)
        });
        match upload {
            Ok(handle) => {
                if let Some(run) = link.run.as_mut() {
                    run.in_flight = Some(handle);
                }
                Ok(())
            }
            Err(e) => Err(StoreError::Invalid(format!("cannot start the upload: {e}"))),
        }
    }

    /// The run's end: the last upload confirmed, the lock released.
    fn end_run(&mut self) -> StoreResult<()> {
        let confirmed = self.confirm_in_flight(None);
        if let Err(e) = confirmed {
            return Err(self.abort_run(e));
        }
        self.release_run();
        Ok(())
    }

    /// A failed run: what is not on the server is put back from it (at once
    /// if the server still answers, else at the next pull), and the lock goes.
    fn abort_run(&mut self, e: StoreError) -> StoreError {
        // An upload still running is waited for: it holds the connection.
        if let Some(handle) = self.team.as_mut().and_then(|l| l.run.as_mut()).and_then(|r| r.in_flight.take()) {
            if let Ok((client, _)) = handle.join() {
                if let Some(link) = self.team.as_mut() {
                    link.client = Some(client);
                }
            }
        }
        let _ = shared_rows::remove_capture(&self.conn);
        let _ = shared_rows::forget_hand_off(&self.conn);
        if let Ok(client) = self.team_client() {
            client.rollback();
            if !client.is_closed() {
                let _ = self.put_back_unuploaded();
            }
        }
        self.release_run();
        self.team_failed(e)
    }

    fn release_run(&mut self) {
        if let Some(link) = self.team.as_mut() {
            link.run = None;
            link.writing = false;
        }
        let _ = self.set_query_only(true);
        if let Ok(client) = self.team_client() {
            let _ = client.unlock_writes();
        }
    }
}
