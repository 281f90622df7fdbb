//! The local side of team mode's copy (issue 7): which tables the team
//! shares, noting the rows a change touched, reading them out for upload and
//! taking in the rows the team server hands back. Local-only tables (the
//! buyer search index, the PSP sync schedule, received PSP notifications,
//! store_meta) are never copied.

use super::{Store, StoreError, StoreResult};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use std::io::Write;

/// A table every desktop of a team sees the same, and its key column.
#[derive(Debug, Clone, Copy)]
pub struct SharedTable {
    pub name: &'static str,
    pub key: &'static str,
    /// Rows are never changed once written (the audit log, approvals).
    pub append_only: bool,
}

const fn shared(name: &'static str, key: &'static str) -> SharedTable {
    SharedTable { name, key, append_only: false }
}

/// Parents before children, so that a row arrives after what it refers to.
pub const SHARED_TABLES: &[SharedTable] = &[
    shared("operators", "id"),
    shared("settings", "key"),
    shared("psp_accounts", "id"),
    shared("import_batches", "id"),
    shared("import_files", "batch_id"),
    shared("orders", "id"),
    shared("payments", "id"),
    shared("payment_status_history", "id"),
    shared("settlements", "id"),
    shared("payment_links", "payment"),
    shared("reconcile_runs", "id"),
    shared("exceptions", "id"),
    shared("exception_history", "id"),
    SharedTable { name: "audit_log", key: "id", append_only: true },
    shared("refunds", "id"),
    SharedTable { name: "refund_approvals", key: "id", append_only: true },
    shared("buyer_notifications", "id"),
    shared("buyer_contact_changes", "id"),
];

/// store_meta keys of a team copy.
pub(crate) const META_TEAM_SERVER: &str = "team_server";
pub(crate) const META_TEAM_CURSOR: &str = "team_cursor";
pub(crate) const META_WORKSPACE_ID: &str = "workspace_id";

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
    let mut sql = String::new();
    for t in SHARED_TABLES {
        let (name, key) = (t.name, t.key);
        sql.push_str(&format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_ins AFTER INSERT ON main.{name}
             BEGIN INSERT OR IGNORE INTO main.team_pending(tbl, key) VALUES ('{name}', NEW.{key}); END;
             CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_upd AFTER UPDATE ON main.{name}
             BEGIN INSERT OR IGNORE INTO main.team_pending(tbl, key) VALUES ('{name}', OLD.{key}), ('{name}', NEW.{key}); END;
             CREATE TEMP TRIGGER IF NOT EXISTS team_capture_{name}_del AFTER DELETE ON main.{name}
             BEGIN INSERT OR IGNORE INTO main.team_pending(tbl, key) VALUES ('{name}', OLD.{key}); END;"
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

/// How many rows of `table` are waiting for upload.
pub(crate) fn pending_count(conn: &Connection, table: &str) -> StoreResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM team_pending WHERE tbl = ?1", [table], |r| r.get(0))?)
}

pub(crate) fn any_pending(conn: &Connection) -> StoreResult<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM team_pending)", [], |r| r.get(0))?)
}

/// Writes the selected rows of `table` as COPY text lines, in `columns` order.
pub(crate) fn write_rows(
    conn: &Connection,
    table: &SharedTable,
    columns: &[String],
    selection: Selection,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let cols = columns.join(", ");
    let sql = match selection {
        Selection::Pending => format!(
            "SELECT {cols} FROM {} WHERE {} IN (SELECT key FROM team_pending WHERE tbl = '{}')",
            table.name, table.key, table.name
        ),
        Selection::All => format!("SELECT {cols} FROM {}", table.name),
    };
    let mut stmt = conn.prepare(&sql).map_err(std::io::Error::other)?;
    let mut rows = stmt.query([]).map_err(std::io::Error::other)?;
    let mut line = Vec::with_capacity(512);
    while let Some(row) = rows.next().map_err(std::io::Error::other)? {
        line.clear();
        for i in 0..columns.len() {
            if i > 0 {
                line.push(b'\t');
            }
            copy_text(&mut line, row.get_ref(i).map_err(std::io::Error::other)?);
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// One value in PostgreSQL's COPY text format.
fn copy_text(out: &mut Vec<u8>, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => out.extend_from_slice(b"\\N"),
        ValueRef::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        ValueRef::Real(f) => out.extend_from_slice(f.to_string().as_bytes()),
        ValueRef::Text(t) => {
            for &b in t {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
        ValueRef::Blob(bytes) => {
            // bytea's hex form; the backslash itself escaped for COPY.
            out.extend_from_slice(b"\\\\x");
            for b in bytes {
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
        }
    }
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

pub(crate) fn clear_pending(conn: &Connection) -> StoreResult<()> {
    conn.execute("DELETE FROM team_pending", [])?;
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
        let id = crate::refunds::new_idempotency_key();
        set_meta(&self.conn, META_WORKSPACE_ID, &id)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: ValueRef<'_>) -> String {
        let mut out = Vec::new();
        copy_text(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_are_written_in_copy_text_form() {
        assert_eq!(text(ValueRef::Null), "\\N");
        assert_eq!(text(ValueRef::Integer(-125_000)), "-125000");
        assert_eq!(text(ValueRef::Text("Pérez\tcalle 1\nBogotá \\ 2".as_bytes())), "Pérez\\tcalle 1\\nBogotá \\\\ 2");
        assert_eq!(text(ValueRef::Blob(&[0x00, 0xff, 0x10])), "\\\\x00ff10");
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
