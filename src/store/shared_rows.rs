//! The local side of team mode's copy: which tables the team
//! shares, noting the rows a change touched, reading them out for upload and
//! taking in the rows the team server hands back. Local-only tables (the
//! buyer search index, the PSP sync schedule, received PSP notifications,
//! store_meta) are never copied.

use super::team::{Cell, RowSink, TeamResult, TeamStoreError};
use super::{Store, StoreError, StoreResult};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

/// A table every desktop of a team sees the same, and its key column.
#[derive(Debug, Clone, Copy)]
pub struct SharedTable {
    pub name: &'static str,
    pub key: &'static str,
    /// Rows are never changed once written (the audit log, approvals).
    pub append_only: bool,
    /// The key is the INTEGER PRIMARY KEY SQLite numbers new rows with (one
    /// above the largest). A change's new rows are then found as the rows
    /// above the largest key before it (its watermark), so a million-row
    /// import does not note each row; changed and deleted rows are noted.
    pub numbered: bool,
}

/// A table whose key the domain chooses (a text id, another table's id).
const fn shared(name: &'static str, key: &'static str) -> SharedTable {
    SharedTable { name, key, append_only: false, numbered: false }
}

/// A table whose new rows SQLite numbers.
const fn numbered(name: &'static str) -> SharedTable {
    SharedTable { name, key: "id", append_only: false, numbered: true }
}

/// Parents before children, so that a row arrives after what it refers to.
pub const SHARED_TABLES: &[SharedTable] = &[
    numbered("operators"),
    shared("settings", "key"),
    numbered("psp_accounts"),
    // Rates every desktop converts and checks fees with.
    numbered("fx_rates"),
    shared("psp_fee_rates", "account"),
    numbered("import_batches"),
    shared("import_files", "batch_id"),
    numbered("orders"),
    numbered("payments"),
    numbered("payment_status_history"),
    numbered("settlements"),
    shared("payment_links", "payment"),
    numbered("reconcile_runs"),
    shared("exceptions", "id"),
    numbered("exception_history"),
    SharedTable { append_only: true, ..numbered("audit_log") },
    numbered("refunds"),
    SharedTable { append_only: true, ..numbered("refund_approvals") },
    numbered("buyer_notifications"),
    numbered("buyer_contact_changes"),
];

/// store_meta keys of a team copy.
pub(crate) const META_TEAM_SERVER: &str = "team_server";
pub(crate) const META_TEAM_CURSOR: &str = "team_cursor";
pub(crate) const META_WORKSPACE_ID: &str = "workspace_id";
/// The numbered tables' largest keys when the running change began
/// ("orders=1200;payments=1300;…"); present until the change is uploaded.
pub(crate) const META_TEAM_WATERMARKS: &str = "team_watermarks";

/// The columns of `table`, in table order.
pub(crate) fn columns(conn: &Connection, table: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    if names.is_empty() {
        return Err(StoreError::Corrupt(format!("shared table {table} is missing")));
    }
    Ok(names)
}

pub(crate) fn meta(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    Ok(conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO store_meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// Notes every change to a shared table in team_pending, for this connection
/// only (TEMP triggers) and only while installed.
pub(crate) fn install_capture(conn: &Connection) -> StoreResult<()> {
    install_capture_noting(conn, false)
}

/// [`install_capture`]; with `renoting`, a key that is also in the change
/// being uploaded beside this one ([`hand_off_notes`]) is listed in
/// `temp.team_renoted` too, so that the upload's end keeps its note.
pub(crate) fn install_capture_noting(conn: &Connection, renoting: bool) -> StoreResult<()> {
    remove_capture(conn)?;
    let mut sql = String::new();
    for t in SHARED_TABLES {
        let (name, key) = (t.name, t.key);
        // Each key is noted once. Not with INSERT OR IGNORE: inside a trigger the
        // outer statement's conflict policy wins, and an upsert's (ABORT) would
        // turn a key noted twice (the old and new key of an update) into an error.
        // `+` strips the row's column affinity: with it, SQLite converts the
        // untyped `key` for the comparison and cannot use the primary key, and
        // each noted row scanned every note before it (13,448 payments updated
        // by one file: 7.7 s instead of 0.4).
        let note = |row: &str| {
            let renote = if renoting {
                format!(
                    "INSERT INTO temp.team_renoted(tbl, key) SELECT '{name}', {row}.{key}
                     WHERE EXISTS (SELECT 1 FROM temp.team_uploading WHERE tbl = '{name}' AND key = +{row}.{key})
                       AND NOT EXISTS (SELECT 1 FROM temp.team_renoted WHERE tbl = '{name}' AND key = +{row}.{key});"
                )
            } else {
                String::new()
            };
            format!(
                "{renote}INSERT INTO main.team_pending(tbl, key) SELECT '{name}', {row}.{key}
                 WHERE NOT EXISTS (SELECT 1 FROM main.team_pending WHERE tbl = '{name}' AND key = +{row}.{key});"
            )
        };
        if !t.numbered {
            sql.push_str(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_ins AFTER INSERT ON main.{name}
                 BEGIN {} END;",
                note("NEW")
            ));
        }
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_upd AFTER UPDATE ON main.{name}
             BEGIN {} {} END;
             CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_del AFTER DELETE ON main.{name}
             BEGIN {} END;",
            note("OLD"),
            note("NEW"),
            note("OLD")
        ));
    }
    conn.execute_batch(&sql)?;
    Ok(())
}

pub(crate) fn remove_capture(conn: &Connection) -> StoreResult<()> {
    let mut sql = String::new();
    for t in SHARED_TABLES {
        for op in ["ins", "upd", "del"] {
            sql.push_str(&format!("DROP TRIGGER IF EXISTS temp.team_capture_{}_{op};", t.name));
        }
    }
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Which rows to read out for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// The rows a change touched (team_pending).
    Pending,
    /// Every row (`team push`).
    All,
}

/// Which part of a table's selection one upload statement carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Rows above the watermark: new, the server cannot have them.
    New(i64),
    /// Noted rows (at or below the watermark, when there is one).
    Noted(Option<i64>),
    /// Every row.
    All,
}

/// The numbered tables' largest keys now, kept until the change is uploaded.
pub(crate) fn note_watermarks(conn: &Connection) -> StoreResult<()> {
    let marks = watermarks_now(conn)?;
    keep_watermarks(conn, &marks)
}

/// The numbered tables' largest keys now ("orders=1200;payments=1300;…").
pub(crate) fn watermarks_now(conn: &Connection) -> StoreResult<String> {
    let mut marks = Vec::new();
    for t in SHARED_TABLES.iter().filter(|t| t.numbered) {
        let top: i64 = conn.query_row(&format!("SELECT coalesce(max(id), 0) FROM {}", t.name), [], |r| r.get(0))?;
        marks.push(format!("{}={top}", t.name));
    }
    Ok(marks.join(";"))
}

/// Keeps `marks` (from [`watermarks_now`]) as the start of the change waiting for upload.
pub(crate) fn keep_watermarks(conn: &Connection, marks: &str) -> StoreResult<()> {
    set_meta(conn, META_TEAM_WATERMARKS, marks)
}

/// The watermark of `table` for the change being uploaded (None: no change
/// noted one, or the table is not numbered).
pub(crate) fn watermark(conn: &Connection, table: &str) -> StoreResult<Option<i64>> {
    let Some(text) = meta(conn, META_TEAM_WATERMARKS)? else { return Ok(None) };
    for pair in text.split(';') {
        if let Some((name, top)) = pair.split_once('=') {
            if name == table {
                let top = top.parse().map_err(|_| StoreError::Corrupt(format!("{META_TEAM_WATERMARKS} = {text:?}")))?;
                return Ok(Some(top));
            }
        }
    }
    Ok(None)
}

/// Whether `table` has noted rows (at or below `upto`, when given).
pub(crate) fn has_noted(conn: &Connection, table: &SharedTable, upto: Option<i64>) -> StoreResult<bool> {
    Ok(match upto {
        Some(top) => conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM team_pending WHERE tbl = ?1 AND key <= ?2)",
            rusqlite::params![table.name, top],
            |r| r.get(0),
        )?,
        None => {
            conn.query_row("SELECT EXISTS (SELECT 1 FROM team_pending WHERE tbl = ?1)", [table.name], |r| r.get(0))?
        }
    })
}

/// Whether a numbered `table` has rows above `top`.
pub(crate) fn has_rows_above(conn: &Connection, table: &SharedTable, top: i64) -> StoreResult<bool> {
    Ok(conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id > ?1)", table.name), [top], |r| r.get(0))?)
}

/// Whether `table` has rows waiting for upload: noted, or new above its watermark.
pub(crate) fn has_pending(conn: &Connection, table: &SharedTable) -> StoreResult<bool> {
    let noted: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM team_pending WHERE tbl = ?1)", [table.name], |r| r.get(0))?;
    if noted {
        return Ok(true);
    }
    match watermark(conn, table.name)? {
        Some(top) => has_rows_above(conn, table, top),
        None => Ok(false),
    }
}

pub(crate) fn any_pending(conn: &Connection) -> StoreResult<bool> {
    for t in SHARED_TABLES {
        if has_pending(conn, t)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Turns the new rows above the watermarks into notes (for putting a change
/// back that never reached the server), and forgets the watermarks.
pub(crate) fn note_rows_above_watermarks(conn: &Connection) -> StoreResult<()> {
    for t in SHARED_TABLES.iter().filter(|t| t.numbered) {
        if let Some(top) = watermark(conn, t.name)? {
            conn.execute(
                &format!("INSERT OR IGNORE INTO team_pending(tbl, key) SELECT ?1, id FROM {} WHERE id > ?2", t.name),
                rusqlite::params![t.name, top],
            )?;
        }
    }
    conn.execute("DELETE FROM store_meta WHERE key = ?1", [META_TEAM_WATERMARKS])?;
    Ok(())
}

/// Pushes the selected rows of `table` to an upload, cells in `columns` order.
pub(crate) fn write_rows(
    conn: &Connection,
    table: &SharedTable,
    columns: &[String],
    part: Part,
    sink: &mut RowSink<'_, '_>,
) -> TeamResult<()> {
    let cols = columns.join(", ");
    let (name, key) = (table.name, table.key);
    let noted = format!("{key} IN (SELECT key FROM team_pending WHERE tbl = '{name}')");
    let sql = match part {
        Part::New(top) => format!("SELECT {cols} FROM {name} WHERE {key} > {top}"),
        Part::Noted(Some(top)) => format!("SELECT {cols} FROM {name} WHERE {key} <= {top} AND {noted}"),
        Part::Noted(None) => format!("SELECT {cols} FROM {name} WHERE {noted}"),
        Part::All => format!("SELECT {cols} FROM {name}"),
    };
    let local = |e: rusqlite::Error| TeamStoreError::Upload(format!("reading {}: {e}", table.name));
    let mut stmt = conn.prepare(&sql).map_err(local)?;
    let mut rows = stmt.query([]).map_err(local)?;
    while let Some(row) = rows.next().map_err(local)? {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            cells.push(match row.get_ref(i).map_err(local)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(v) => Cell::Integer(v),
                ValueRef::Real(v) => Cell::Real(v),
                ValueRef::Text(t) => Cell::Text(
                    std::str::from_utf8(t)
                        .map_err(|e| TeamStoreError::Upload(format!("{}.{column} is not UTF-8: {e}", table.name)))?,
                ),
                ValueRef::Blob(b) => Cell::Blob(b),
            });
        }
        sink.push(&cells)?;
    }
    Ok(())
}

/// Keys noted for `table` whose row no longer exists locally (deleted), as text.
pub(crate) fn deleted_keys(conn: &Connection, table: &SharedTable) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT CAST(key AS TEXT) FROM team_pending WHERE tbl = ?1 AND key NOT IN (SELECT {} FROM {})",
        table.key, table.name
    ))?;
    let keys = stmt.query_map([table.name], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(keys)
}

/// All keys noted for `table`, as text.
pub(crate) fn pending_keys(conn: &Connection, table: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT CAST(key AS TEXT) FROM team_pending WHERE tbl = ?1")?;
    let keys = stmt.query_map([table], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    Ok(keys)
}

/// The lists of a change whose upload runs beside the next change's local work.
const HAND_OFF_TABLES: &str = "
    CREATE TEMP TABLE IF NOT EXISTS team_uploading (tbl TEXT NOT NULL, key NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;
    CREATE TEMP TABLE IF NOT EXISTS team_renoted (tbl TEXT NOT NULL, key NOT NULL, PRIMARY KEY (tbl, key)) WITHOUT ROWID;";

/// Sets the notes taken so far aside as the change whose upload runs beside
/// the next change: the notes stay in team_pending (what a crash leaves there
/// is put back from the server), their keys are listed in `temp.team_uploading`.
pub(crate) fn hand_off_notes(conn: &Connection) -> StoreResult<()> {
    forget_hand_off(conn)?;
    conn.execute("INSERT INTO temp.team_uploading(tbl, key) SELECT tbl, key FROM main.team_pending", [])?;
    Ok(())
}

/// The handed-off change is on the server: its notes go, but for the keys the
/// change after it touched again.
pub(crate) fn forget_uploaded_notes(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM main.team_pending WHERE (tbl, key) IN
             (SELECT tbl, key FROM temp.team_uploading EXCEPT SELECT tbl, key FROM temp.team_renoted)",
        [],
    )?;
    forget_hand_off(conn)
}

/// Empties the lists [`hand_off_notes`] made (the notes themselves stay).
pub(crate) fn forget_hand_off(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(HAND_OFF_TABLES)?;
    conn.execute_batch("DELETE FROM temp.team_uploading; DELETE FROM temp.team_renoted;")?;
    Ok(())
}

/// Forgets what was waiting for upload: the notes and the watermarks.
pub(crate) fn clear_pending(conn: &Connection) -> StoreResult<()> {
    conn.execute("DELETE FROM team_pending", [])?;
    conn.execute("DELETE FROM store_meta WHERE key = ?1", [META_TEAM_WATERMARKS])?;
    Ok(())
}

/// Stores rows as the team server has them (an existing row is replaced
/// column for column; append-only rows are only ever added).
pub(crate) fn apply_rows(
    conn: &Connection,
    table: &SharedTable,
    columns: &[String],
    rows: &[Vec<Value>],
) -> StoreResult<()> {
    let cols = columns.join(", ");
    let marks = (1..=columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
    let sql = if table.append_only {
        format!("INSERT OR IGNORE INTO {} ({cols}) VALUES ({marks})", table.name)
    } else {
        let set = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
        format!("INSERT INTO {} ({cols}) VALUES ({marks}) ON CONFLICT({}) DO UPDATE SET {set}", table.name, table.key)
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let key_at = columns.iter().position(|c| c == table.key);
    let mut updated_orders = Vec::new();
    for row in rows {
        stmt.execute(params_from_iter(row.iter()))?;
        if table.name == "orders" {
            if let Some(Value::Integer(id)) = key_at.map(|i| &row[i]) {
                updated_orders.push(*id);
            }
        }
    }
    // An order that changed leaves the search index and is indexed again.
    super::search::forget_orders(conn, &updated_orders)?;
    Ok(())
}

/// Deletes rows the team server deleted (or never had), append-only ones included:
/// the copy follows the server, whose own log refuses deletes.
pub(crate) fn delete_rows(conn: &Connection, table: &SharedTable, keys: &[String]) -> StoreResult<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let guards: Vec<(String, String)> = if table.append_only {
        let mut stmt = conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1")?;
        let found = stmt.query_map([table.name], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
        found
    } else {
        Vec::new()
    };
    for (name, _) in &guards {
        conn.execute_batch(&format!("DROP TRIGGER main.{name}"))?;
    }
    let mut stmt = conn.prepare(&format!("DELETE FROM {} WHERE CAST({} AS TEXT) = ?1", table.name, table.key))?;
    for k in keys {
        stmt.execute([k])?;
    }
    for (_, sql) in &guards {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

impl Store {
    /// The team server this file is a copy of (`user@host:port/db`), if any.
    pub fn team_server(&self) -> StoreResult<Option<String>> {
        meta(&self.conn, META_TEAM_SERVER)
    }

    /// The last change number of the team server this copy holds (0: none yet).
    pub fn team_cursor(&self) -> StoreResult<i64> {
        Ok(meta(&self.conn, META_TEAM_CURSOR)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Rows of shared tables, for the question "is this a fresh file?".
    pub fn shared_row_count(&self) -> StoreResult<i64> {
        let mut total = 0;
        for t in SHARED_TABLES {
            total += self.conn.query_row(&format!("SELECT count(*) FROM {}", t.name), [], |r| r.get::<_, i64>(0))?;
        }
        Ok(total)
    }

    /// This workspace's identity, made on first use (what `team push` names).
    pub fn workspace_id(&self) -> StoreResult<String> {
        if let Some(id) = meta(&self.conn, META_WORKSPACE_ID)? {
            return Ok(id);
        }
        let id = crate::model::refund::new_idempotency_key();
        set_meta(&self.conn, META_WORKSPACE_ID, &id)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The virtual machine steps of one `UPDATE` of a row of `table` by key,
    /// with the capture installed and `noted` other keys of that table noted.
    fn steps_to_note_one_update(table: &str, key: &str, noted: i64) -> i32 {
        let store = Store::open_in_memory().unwrap();
        let conn = &store.conn;
        conn.execute_batch(
            "INSERT INTO import_batches(id, kind, profile, file_name, sha256, encoding, delimiter, header_json, operator, imported_at)
                 VALUES (1, 'orders', 'shop', 'o.csv', 'x', 'UTF-8', ',', '[]', 'ana', 0);
             INSERT INTO orders(id, order_id, store, created_at, buyer_name, buyer_email, buyer_phone, buyer_document,
                 country, amount_minor, currency, status, psp, psp_payment_id, voucher_code, batch_id, line, raw_offset,
                 raw_len)
                 VALUES (1, 'CO-1', 's', 0, '', '', '', '', 'CO', 100, 'COP', 'paid', 'dlocal', '', '', 1, 2, 0, 0);
             INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, country, store, currency, facts, detail,
                 detected_at, updated_at, last_run)
                 VALUES ('EX-1', 'recorded_not_paid', 'open', 'CO-1', '', '', 'CO', 'Tienda', 'COP', '', '', 0, 0, 0);",
        )
        .unwrap();
        install_capture(conn).unwrap();
        let mut note = conn.prepare("INSERT INTO team_pending(tbl, key) VALUES (?1, ?2)").unwrap();
        for n in 0..noted {
            let other: rusqlite::types::Value =
                if key == "id" && table != "exceptions" { (n + 1_000).into() } else { format!("EX-{n:06}").into() };
            note.execute(rusqlite::params![table, other]).unwrap();
        }
        let mut update = conn.prepare(&format!("UPDATE {table} SET {key} = {key} WHERE {key} = ?1")).unwrap();
        let this: rusqlite::types::Value =
            if table == "exceptions" { String::from("EX-1").into() } else { 1_i64.into() };
        assert_eq!(update.execute([this]).unwrap(), 1);
        update.get_status(rusqlite::StatementStatus::VmStep)
    }

    #[test]
    fn noting_a_change_looks_its_key_up_rather_than_reading_every_note() {
        // An integer key (orders) and a text one (exceptions): with a scan, the
        // steps grow with the notes already taken (2,000 here); with the key's
        // index they stay level.
        for (table, key) in [("orders", "id"), ("exceptions", "id")] {
            let few = steps_to_note_one_update(table, key, 10);
            let many = steps_to_note_one_update(table, key, 2_000);
            assert!(many < few + 50, "{table}: {few} steps with 10 notes, {many} with 2,000");
        }
    }

    #[test]
    fn every_shared_table_exists_locally_with_its_key() {
        let store = Store::open_in_memory().unwrap();
        for t in SHARED_TABLES {
            let cols = columns(&store.conn, t.name).unwrap();
            assert!(cols.iter().any(|c| c == t.key), "{} has no column {}", t.name, t.key);
        }
    }
}
