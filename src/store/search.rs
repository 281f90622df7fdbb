//! The buyer search index (FTS5, contentless, accent-insensitive). It is filled
//! in bulk after imports rather than by triggers, so that a million-row import
//! is not slowed by it; `catch_up` brings it level before any search.

use super::{Store, StoreResult};
use rusqlite::{Connection, params};

/// Rows indexed per statement when catching up.
const SEARCH_CATCH_UP_CHUNK_ROWS: i64 = 50_000;

/// Removes updated orders from the index and lowers the watermark so they are
/// indexed again with their new terms.
pub(crate) fn forget_orders(conn: &Connection, order_rows: &[i64]) -> StoreResult<()> {
    if order_rows.is_empty() {
        return Ok(());
    }
    let upto = indexed_upto(conn)?;
    let mut delete = conn.prepare_cached("DELETE FROM order_search WHERE rowid = ?1")?;
    let mut pending =
        conn.prepare_cached("INSERT OR IGNORE INTO store_meta(key, value) VALUES ('search_reindex:' || ?1, '1')")?;
    for row in order_rows.iter().filter(|r| **r <= upto) {
        delete.execute([row])?;
        pending.execute([row])?;
    }
    Ok(())
}

fn indexed_upto(conn: &Connection) -> StoreResult<i64> {
    let text: String =
        conn.query_row("SELECT value FROM store_meta WHERE key = 'search_indexed_upto'", [], |r| r.get(0))?;
    text.parse().map_err(|_| super::StoreError::Corrupt(format!("search_indexed_upto = {text:?}")))
}

/// SQL expression for the searchable terms of an order row `o`: the people
/// fields. Ids and codes are found exactly through their own indexes first
/// (see `Store::order_ids_by_code`); the shop's voucher code is here too for
/// vouchers the PSP has not reported yet. A phone number is indexed as its
/// national digits, which the query side also reduces to (see `lookup::fts_query`).
const TERMS_SQL: &str =
    "o.buyer_name || ' ' || o.buyer_email || ' ' || o.buyer_document || ' ' || o.voucher_code || ' '
    || national_digits(digits(o.buyer_phone))";

impl Store {
    /// How many orders are waiting to enter the search index.
    pub fn search_backlog(&self) -> StoreResult<i64> {
        let upto = indexed_upto(&self.conn)?;
        let behind: i64 = self.conn.query_row("SELECT count(*) FROM orders WHERE id > ?1", [upto], |r| r.get(0))?;
        let reindex: i64 =
            self.conn
                .query_row("SELECT count(*) FROM store_meta WHERE key LIKE 'search_reindex:%'", [], |r| r.get(0))?;
        Ok(behind + reindex)
    }

    /// Indexes every order not yet in the search index. Returns how many.
    pub fn search_catch_up(&mut self) -> StoreResult<i64> {
        register_functions(&self.conn)?;
        let mut done = 0;
        loop {
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let upto = indexed_upto(&tx)?;
            let max: i64 = tx.query_row(
                "SELECT coalesce(max(id), 0) FROM (SELECT id FROM orders WHERE id > ?1 ORDER BY id LIMIT ?2)",
                params![upto, SEARCH_CATCH_UP_CHUNK_ROWS],
                |r| r.get(0),
            )?;
            let mut reindexed = 0;
            if max == 0 {
                let keys: Vec<(String, i64)> = {
                    let mut stmt = tx.prepare(
                        "SELECT key, CAST(substr(key, 16) AS INTEGER) FROM store_meta WHERE key LIKE 'search_reindex:%'",
                    )?;
                    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect::<Result<_, _>>()?
                };
                for (key, row) in &keys {
                    tx.execute(
                        &format!("INSERT INTO order_search(rowid, terms) SELECT o.id, {TERMS_SQL} FROM orders o WHERE o.id = ?1"),
                        [row],
                    )?;
                    tx.execute("DELETE FROM store_meta WHERE key = ?1", [key])?;
                }
                reindexed = keys.len() as i64;
                tx.commit()?;
                return Ok(done + reindexed);
            }
            let added = tx.execute(
                &format!(
                    "INSERT INTO order_search(rowid, terms) SELECT o.id, {TERMS_SQL} FROM orders o
                     WHERE o.id > ?1 AND o.id <= ?2"
                ),
                params![upto, max],
            )?;
            tx.execute("UPDATE store_meta SET value = ?1 WHERE key = 'search_indexed_upto'", [max.to_string()])?;
            tx.commit()?;
            done += added as i64 + reindexed;
        }
    }
}

/// Registers the small SQL helpers the index uses.
pub(crate) fn register_functions(conn: &Connection) -> StoreResult<()> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("digits", 1, flags, |ctx| {
        let text: String = ctx.get::<Option<String>>(0)?.unwrap_or_default();
        Ok(text.chars().filter(char::is_ascii_digit).collect::<String>())
    })?;
    conn.create_scalar_function("national_digits", 1, flags, |ctx| {
        let text: String = ctx.get::<Option<String>>(0)?.unwrap_or_default();
        Ok(crate::model::contact::national_number(&text).to_string())
    })?;
    Ok(())
}
