//! Indexes of the bulk ledger tables, declared once. `ensure` creates any that
//! are missing when a database opens; a large import drops a table's indexes
//! and rebuilds them before it commits (sorting once beats a million B-tree
//! inserts), all inside its transaction, so a failed import leaves them as
//! they were.

use super::StoreResult;
use rusqlite::Connection;

pub(crate) struct IndexDef {
    pub table: &'static str,
    pub name: &'static str,
    pub columns: &'static str,
    pub unique: bool,
}

pub(crate) const LEDGER_INDEXES: &[IndexDef] = &[
    IndexDef { table: "orders", name: "orders_by_order_id", columns: "(order_id)", unique: true },
    IndexDef { table: "payments", name: "payments_by_payment_id", columns: "(payment_id, psp)", unique: true },
    IndexDef { table: "payments", name: "payments_by_order", columns: "(order_id)", unique: false },
    IndexDef {
        table: "payments",
        name: "payments_by_voucher",
        columns: "(voucher_code) WHERE voucher_code <> ''",
        unique: false,
    },
    IndexDef { table: "payment_status_history", name: "history_by_payment", columns: "(payment)", unique: false },
    IndexDef { table: "settlements", name: "settlements_by_key", columns: "(payment_id, psp, row_type)", unique: true },
    // The few chargeback rows: whether any exists decides if each new payment
    // must look for one (a scan of every settlement row otherwise).
    IndexDef {
        table: "settlements",
        name: "settlements_chargebacks",
        columns: "(payment_id, psp) WHERE row_type = 'CHARGEBACK'",
        unique: false,
    },
    // A scoped reconciliation looks up the pending vouchers whose expiry its
    // clock passed (the payments whose settlement fell due, it keeps itself:
    // `reconcile_unsettled`).
    IndexDef {
        table: "payments",
        name: "payments_pending_by_expiry",
        columns: "(expires_at) WHERE status = 'pending'",
        unique: false,
    },
];

fn create_sql(def: &IndexDef) -> String {
    format!(
        "CREATE {}INDEX IF NOT EXISTS {} ON {}{}",
        if def.unique { "UNIQUE " } else { "" },
        def.name,
        def.table,
        def.columns
    )
}

pub(crate) fn ensure(conn: &Connection) -> StoreResult<()> {
    for def in LEDGER_INDEXES {
        conn.execute_batch(&create_sql(def))?;
    }
    Ok(())
}

pub(crate) fn drop_for(conn: &Connection, tables: &[&str]) -> StoreResult<()> {
    for def in LEDGER_INDEXES.iter().filter(|d| tables.contains(&d.table)) {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {}", def.name))?;
    }
    Ok(())
}

pub(crate) fn create_for(conn: &Connection, tables: &[&str]) -> StoreResult<()> {
    for def in LEDGER_INDEXES.iter().filter(|d| tables.contains(&d.table)) {
        conn.execute_batch(&create_sql(def))?;
    }
    Ok(())
}

pub(crate) fn all_present(conn: &Connection) -> StoreResult<bool> {
    let mut present = 0usize;
    for def in LEDGER_INDEXES {
        let found: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
            [def.name],
            |r| r.get(0),
        )?;
        present += usize::from(found);
    }
    Ok(present == LEDGER_INDEXES.len())
}

/// The secondary indexes of some tables, dropped for a bulk write: their
/// definitions as the schema held them, to be created again by [`restore`].
pub(crate) struct SetAside(Vec<String>);

/// Drops the secondary indexes of `tables` (whatever the migrations made them),
/// keeping their SQL. Inside the caller's transaction: a failure before
/// [`restore`] rolls the drop back with the rest.
pub(crate) fn set_aside(conn: &Connection, tables: &[&str]) -> StoreResult<SetAside> {
    let mut kept = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
        )?;
        let defs: Vec<(String, String)> =
            stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        for (name, sql) in defs {
            conn.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
            kept.push(sql);
        }
    }
    Ok(SetAside(kept))
}

/// Creates again the indexes [`set_aside`] dropped, each by sorting its table once.
pub(crate) fn restore(conn: &Connection, set: SetAside) -> StoreResult<()> {
    for sql in set.0 {
        conn.execute_batch(&sql)?;
    }
    Ok(())
}
