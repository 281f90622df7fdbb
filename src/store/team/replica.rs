//! The team server's side of the local copy: the write lock, uploading the
//! rows a desktop changed, and handing out the rows changed past a cursor.
//! Rows travel column for column (both schemas share the columns, checked by
//! tests/team_replica.rs); they go up as binary COPY, each SQLite value
//! written as its column's PostgreSQL type (booleans from 0/1, narrower
//! integers checked), and come down typed.

use super::{TeamResult, TeamStore, TeamStoreError};
use bytes::BytesMut;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::Value;

/// The team's write lock (a session advisory lock): whoever holds it is the
/// only one numbering changes. Same key as version 2's change lock.
pub const TEAM_WRITE_LOCK_KEY: i64 = 0x7664_0000_0000_0004;
/// How long a desktop waits for another's write (an import, a reconciliation) before giving up.
pub const TEAM_WRITE_LOCK_WAIT_MS: u64 = 60_000;
/// Longest one upload or download statement may run (a million-row import is one upload).
pub const TEAM_BULK_STATEMENT_TIMEOUT_MS: u64 = 600_000;
/// The tables whose new rows go up by COPY straight into the table (team
/// schema 11): the ones an import fills row by row, millions on a first load.
const LEDGER_COPY_TABLES: &[&str] = &["orders", "payments", "payment_status_history", "settlements"];
/// The channel a change is announced on, once per upload.
pub const CHANGES_CHANNEL: &str = "voucherdesk_changes";

/// How an upload treats rows the server has already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// A desktop's own change: new rows of append-only tables must be new.
    Change,
    /// `team push` of a whole workspace: rows the server holds already are left as they are.
    Seed,
}

/// Rows an upload wrote (added or changed; rows the server had as they are
/// count not) and deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UploadCounts {
    pub written: u64,
    pub deleted: u64,
}

/// One value on its way up, as SQLite has it; written as the column's type.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

impl ToSql for Cell<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (*self, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            (Cell::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (Cell::Integer(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (Cell::Integer(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (Cell::Integer(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
            (Cell::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Cell::Text(t), &Type::BYTEA) => t.as_bytes().to_sql(ty, out),
            (Cell::Text(t), _) => t.to_sql(ty, out),
            (Cell::Blob(b), _) => b.to_sql(ty, out),
            (Cell::Integer(_) | Cell::Real(_), other) => {
                Err(format!("a number cannot go into a {other} column").into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Where an upload's rows go: one call per row, its cells in column order.
pub struct RowSink<'a, 'b> {
    writer: &'a mut BinaryCopyInWriter<'b>,
}

impl RowSink<'_, '_> {
    pub fn push(&mut self, cells: &[Cell<'_>]) -> TeamResult<()> {
        let refs: Vec<&(dyn ToSql + Sync)> = cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        self.writer.write(&refs)?;
        Ok(())
    }
}

/// Who is writing now, as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WriterNow {
    pub holder: String,
    pub since: i64,
}

impl TeamStore {
    /// Takes the write lock for this session, waiting at most
    /// [`TEAM_WRITE_LOCK_WAIT_MS`]; then notes who holds it.
    pub fn lock_writes(&mut self) -> TeamResult<()> {
        let got = self.waiting(|c| c.execute("SELECT pg_advisory_lock($1::bigint)", &[&TEAM_WRITE_LOCK_KEY]))?;
        if let Err(e) = got {
            return Err(self.busy_or(e));
        }
        self.client.execute("SELECT voucherdesk_note_writer($1)", &[&self.application])?;
        Ok(())
    }

    /// Runs one statement that may wait for the write lock: it waits at most
    /// [`TEAM_WRITE_LOCK_WAIT_MS`] (the session's statement time-out is lifted
    /// meanwhile so that the lock's own time-out is the one that fires).
    fn waiting<T>(
        &mut self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> TeamResult<Result<T, postgres::Error>> {
        self.client
            .batch_execute(&format!("SET lock_timeout = {TEAM_WRITE_LOCK_WAIT_MS}; SET statement_timeout = 0"))?;
        let got = f(&mut self.client);
        self.client.batch_execute(&format!(
            "SET lock_timeout = 0; SET statement_timeout = {}",
            super::TEAM_STATEMENT_TIMEOUT_MS
        ))?;
        Ok(got)
    }

    /// A lock wait that ran out names who is writing; any other error is itself.
    fn busy_or(&mut self, e: postgres::Error) -> TeamStoreError {
        if e.code() != Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            return e.into();
        }
        match self.writer_now() {
            Ok(writer) => TeamStoreError::Busy {
                holder: writer.as_ref().map(|w| w.holder.clone()).unwrap_or_default(),
                since: writer.map(|w| w.since),
            },
            Err(other) => other,
        }
    }

    /// Releases the write lock (a lost connection releases it too).
    pub fn unlock_writes(&mut self) -> TeamResult<()> {
        self.client.execute("SELECT pg_advisory_unlock($1::bigint)", &[&TEAM_WRITE_LOCK_KEY])?;
        Ok(())
    }

    /// Who noted the write lock last (the holder, while it is held).
    pub fn writer_now(&mut self) -> TeamResult<Option<WriterNow>> {
        let row = self.client.query_opt("SELECT holder, since FROM team_writer WHERE id = 1", &[])?;
        Ok(row.map(|r| WriterNow { holder: r.get(0), since: r.get(1) }))
    }

    /// The last change number whose row is committed. Waits for a writer in
    /// its transaction to finish (a shared hold on the write lock), so every
    /// number up to the answer is visible to the next read.
    pub fn committed_change_seq(&mut self, holding_write_lock: bool) -> TeamResult<i64> {
        if !holding_write_lock {
            let got =
                self.waiting(|c| c.execute("SELECT pg_advisory_lock_shared($1::bigint)", &[&TEAM_WRITE_LOCK_KEY]))?;
            if let Err(e) = got {
                return Err(self.busy_or(e));
            }
        }
        let seq = self
            .client
            .query_one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM voucherdesk_change_seq", &[]);
        if !holding_write_lock {
            let _ = self.client.execute("SELECT pg_advisory_unlock_shared($1::bigint)", &[&TEAM_WRITE_LOCK_KEY]);
        }
        Ok(seq?.get(0))
    }

    pub fn begin(&mut self) -> TeamResult<()> {
        self.client.batch_execute(&format!("BEGIN; SET LOCAL statement_timeout = {TEAM_BULK_STATEMENT_TIMEOUT_MS}"))?;
        Ok(())
    }

    /// Commits the open transaction, announcing the change to listeners.
    pub fn commit(&mut self, announce: bool) -> TeamResult<()> {
        if announce {
            self.client.execute("SELECT pg_notify($1, '')", &[&CHANGES_CHANNEL])?;
        }
        self.client.batch_execute("COMMIT")?;
        Ok(())
    }

    pub fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }

    /// Uploads rows into `table` inside the open transaction: `write_rows`
    /// pushes them, cells in `columns` order. Each row that is new or differs
    /// takes the next change number. Returns the counts.
    pub fn upload_rows(
        &mut self,
        table: &str,
        columns: &[String],
        append_only: bool,
        mode: UploadMode,
        write_rows: &mut dyn FnMut(&mut RowSink<'_, '_>) -> TeamResult<()>,
    ) -> TeamResult<UploadCounts> {
        let mode = match (append_only, mode) {
            // A new audit entry or approval must be new: a clash means a fork.
            (true, UploadMode::Change) => "new",
            // Seeding never overwrites: a row there already may be newer than ours.
            (_, UploadMode::Seed) => "seed",
            (false, UploadMode::Change) => "change",
        };
        let written = self.staged(table, columns, mode, write_rows)?;
        Ok(UploadCounts { written, deleted: 0 })
    }

    /// Uploads rows the server cannot have yet (a change's new rows, above the
    /// largest key the level copy had) into `table`; each takes the next
    /// change number as it lands. A key the server has after all fails the
    /// upload, and the change with it.
    pub fn copy_new_rows(
        &mut self,
        table: &str,
        columns: &[String],
        write_rows: &mut dyn FnMut(&mut RowSink<'_, '_>) -> TeamResult<()>,
    ) -> TeamResult<u64> {
        if LEDGER_COPY_TABLES.contains(&table) && self.takes_ledger_copies()? {
            return self.copied(table, columns, write_rows);
        }
        self.staged(table, columns, "new", write_rows)
    }

    /// Whether the server takes new ledger rows by COPY straight into their
    /// tables (team schema 11); an older one stages them.
    fn takes_ledger_copies(&mut self) -> TeamResult<bool> {
        if let Some(known) = self.ledger_copy {
            return Ok(known);
        }
        let found: bool = self
            .client
            .query_one("SELECT to_regprocedure('voucherdesk_ledger_inserted(text, boolean)') IS NOT NULL", &[])?
            .get(0);
        Ok(*self.ledger_copy.insert(found))
    }

    /// Streams new rows straight into `table`: the server checks the caller
    /// and the write lock before the first row, numbers each row, checks and
    /// logs the rows after the last (team schema 11, `voucherdesk_ledger_*`).
    fn copied(
        &mut self,
        table: &str,
        columns: &[String],
        write_rows: &mut dyn FnMut(&mut RowSink<'_, '_>) -> TeamResult<()>,
    ) -> TeamResult<u64> {
        // The statement trigger's checks, asked first: its refusal, coming
        // before the server takes the first row, would leave the client
        // library's connection out of step (the COPY's Sync answered twice);
        // asked here, a refusal is a plain error on a sound connection.
        let allowed: bool = self
            .client
            .query_one("SELECT (voucherdesk_caller()).name IS NULL OR voucherdesk_holds_write_lock()", &[])?
            .get(0);
        if !allowed {
            return Err(TeamStoreError::Refused(
                "the team server refused this change: an upload needs the team's write lock".into(),
            ));
        }
        let cols = columns.join(", ");
        let types = self.column_types(table, &cols)?;
        let copy = self.client.copy_in(&format!("COPY public.{table} ({cols}) FROM STDIN (FORMAT binary)"))?;
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        write_rows(&mut RowSink { writer: &mut writer })?;
        Ok(writer.finish()?)
    }

    /// The server's types of `table`'s columns `cols` (comma-separated), in order.
    fn column_types(&mut self, table: &str, cols: &str) -> TeamResult<Vec<Type>> {
        Ok(self
            .client
            .prepare(&format!("SELECT {cols} FROM {table} LIMIT 0"))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect())
    }

    /// Streams rows into this session's staging table for `table` (the
    /// server's own, which the caller may only add to), then has the server
    /// write them (`voucherdesk_upload`: each row checked against the
    /// caller's role, numbered with the next change). Operator logins write
    /// no table directly.
    fn staged(
        &mut self,
        table: &str,
        columns: &[String],
        mode: &str,
        write_rows: &mut dyn FnMut(&mut RowSink<'_, '_>) -> TeamResult<()>,
    ) -> TeamResult<u64> {
        let cols = columns.join(", ");
        self.client.execute("SELECT voucherdesk_stage($1)", &[&table])?;
        let types = self.column_types(table, &cols)?;
        let copy = self.client.copy_in(&format!("COPY pg_temp.stage_{table} ({cols}) FROM STDIN (FORMAT binary)"))?;
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        write_rows(&mut RowSink { writer: &mut writer })?;
        writer.finish()?;
        let written: i64 = self.client.query_one("SELECT voucherdesk_upload($1, $2)", &[&table, &mode])?.get(0);
        Ok(u64::try_from(written).unwrap_or(0))
    }

    /// Deletes rows of `table` by key inside the open transaction, noting each
    /// deletion with a change number so copies delete them too.
    pub fn delete_rows(&mut self, table: &str, keys: &[String]) -> TeamResult<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let deleted: i64 = self.client.query_one("SELECT voucherdesk_delete_rows($1, $2)", &[&table, &keys])?.get(0);
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    /// Rows of `table` numbered in `(after, upto]`, oldest first, at most
    /// `limit`: each as its values in `columns` order, then its change number.
    pub fn changed_rows(
        &mut self,
        table: &str,
        columns: &[String],
        after: i64,
        upto: i64,
        limit: u32,
    ) -> TeamResult<Vec<(Vec<Value>, i64)>> {
        let cols = columns.join(", ");
        let table = self.readable(table)?;
        let rows = self.client.query(
            &format!(
                "SELECT {cols}, change_seq FROM {table}
                  WHERE change_seq > $1 AND change_seq <= $2 ORDER BY change_seq LIMIT $3"
            ),
            &[&after, &upto, &i64::from(limit)],
        )?;
        let n = columns.len();
        rows.iter()
            .map(|r| {
                let values = (0..n).map(|i| sqlite_value(r, i)).collect::<TeamResult<Vec<_>>>()?;
                Ok((values, r.try_get::<_, i64>(n)?))
            })
            .collect()
    }

    /// The rows of `table` with these keys (as text), for putting a local copy back.
    pub fn rows_by_key(
        &mut self,
        table: &str,
        key: &str,
        columns: &[String],
        keys: &[String],
    ) -> TeamResult<Vec<Vec<Value>>> {
        let cols = columns.join(", ");
        let table = self.readable(table)?;
        let rows = self.client.query(&format!("SELECT {cols} FROM {table} WHERE {key}::text = ANY($1)"), &[&keys])?;
        rows.iter().map(|r| (0..columns.len()).map(|i| sqlite_value(r, i)).collect()).collect()
    }

    /// Where a copy reads `table`: operators through `operators_seen`, which
    /// shows a login no other operator's password hash (on a server older than
    /// team schema 8, the table itself).
    fn readable<'t>(&mut self, table: &'t str) -> TeamResult<&'t str> {
        if table != "operators" {
            return Ok(table);
        }
        let has_view = match self.operators_view {
            Some(known) => known,
            None => {
                let found: bool =
                    self.client.query_one("SELECT to_regclass('public.operators_seen') IS NOT NULL", &[])?.get(0);
                *self.operators_view.insert(found)
            }
        };
        Ok(if has_view { "operators_seen" } else { table })
    }

    /// Deletions numbered in `(after, upto]`: (table, key).
    pub fn deletions(&mut self, after: i64, upto: i64) -> TeamResult<Vec<(String, String)>> {
        let rows = self.client.query(
            "SELECT tbl, key FROM deletions WHERE change_seq > $1 AND change_seq <= $2 ORDER BY change_seq",
            &[&after, &upto],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Rows in `table` (for `team status` and the push report).
    pub fn row_count(&mut self, table: &str) -> TeamResult<i64> {
        let table = self.readable(table)?;
        Ok(self.client.query_one(&format!("SELECT count(*) FROM {table}"), &[])?.get(0))
    }

    /// The workspace `team push` seeded this team from, if any: (workspace, by, at).
    pub fn origin(&mut self) -> TeamResult<Option<(String, String, i64)>> {
        let row = self.client.query_opt("SELECT workspace, pushed_by, pushed_at FROM team_origin WHERE id = 1", &[])?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }

    /// Notes the seeding workspace inside the open transaction.
    pub fn set_origin(&mut self, workspace: &str, by: &str) -> TeamResult<()> {
        self.client.execute("SELECT voucherdesk_set_origin($1, $2)", &[&workspace, &by])?;
        Ok(())
    }
}

/// One column of a team row as the SQLite copy stores it: booleans as 0/1,
/// every integer width as INTEGER.
fn sqlite_value(row: &postgres::Row, i: usize) -> TeamResult<Value> {
    let ty = row.columns()[i].type_().clone();
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Integer(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Integer(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Integer(v.into())),
        Type::TEXT | Type::VARCHAR => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        other => return Err(TeamStoreError::UnknownColumnType(format!("{} ({other})", row.columns()[i].name()))),
    };
    Ok(v.unwrap_or(Value::Null))
}
