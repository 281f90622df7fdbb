//! The buyer search index (FTS5, contentless, accent-insensitive). It is filled
//! in bulk after imports rather than by triggers, so that a million-row import
//! is not slowed by it; `catch_up` brings it level before any search.
//!
//! A first load (an empty index) can have it built beside the rest of the
//! import: [`Store::search_image_start`] indexes the orders already written
//! into a file of its own on a thread of its own, while payments and
//! settlements are written; [`Store::search_catch_up_from`] then copies that
//! image into the empty index and catches up on what came after it.

use super::{Store, StoreError, StoreResult};
use rusqlite::{Connection, params};
use std::thread::JoinHandle;

/// Rows indexed per statement when catching up.
const SEARCH_CATCH_UP_CHUNK_ROWS: i64 = 50_000;

/// The highest order row an image being built covers (see `search_image_start`).
const META_SEARCH_IMAGE_UPTO: &str = "search_image_upto";

/// The scratch file an image is built in, beside the ledger, removed once used.
pub const SEARCH_IMAGE_FILE_PREFIX: &str = ".voucherdesk-search-";

/// Page cache of each side of the image builder's connection, in KiB: it
/// streams the orders once and appends index segments, so a small one serves.
const SEARCH_IMAGE_CACHE_KIB: i64 = 32_768;

/// The index's definition, shared by the ledger's table and an image's, so
/// that an image's rows are the rows the ledger's table would hold.
const ORDER_SEARCH_FTS5: &str = "fts5(terms, content = '', contentless_delete = 1, tokenize = \"unicode61 remove_diacritics 2 tokenchars '@._-+'\")";

/// Removes updated orders from the index and lowers the watermark so they are
/// indexed again with their new terms.
/// An order an image being built already covers is noted too: the image may
/// hold its old terms, which the catch-up after the copy replaces.
pub(crate) fn forget_orders(conn: &Connection, order_rows: &[i64]) -> StoreResult<()> {
    if order_rows.is_empty() {
        return Ok(());
    }
    let upto = indexed_upto(conn)?;
    let imaged = image_upto(conn)?.unwrap_or(0);
    let mut delete = conn.prepare_cached("DELETE FROM order_search WHERE rowid = ?1")?;
    let mut pending =
        conn.prepare_cached("INSERT OR IGNORE INTO store_meta(key, value) VALUES ('search_reindex:' || ?1, '1')")?;
    for row in order_rows.iter().filter(|r| **r <= upto.max(imaged)) {
        if *row <= upto {
            delete.execute([row])?;
        }
        pending.execute([row])?;
    }
    Ok(())
}

fn image_upto(conn: &Connection) -> StoreResult<Option<i64>> {
    use rusqlite::OptionalExtension;
    let text: Option<String> = conn
        .query_row("SELECT value FROM store_meta WHERE key = ?1", [META_SEARCH_IMAGE_UPTO], |r| r.get(0))
        .optional()?;
    text.map(|t| t.parse().map_err(|_| StoreError::Corrupt(format!("{META_SEARCH_IMAGE_UPTO} = {t:?}")))).transpose()
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
        let mut done = 0;
        loop {
            let step = self.search_catch_up_step()?;
            done += step.indexed;
            if step.level {
                return Ok(done);
            }
        }
    }

    /// One transaction of the catch-up: up to [`SEARCH_CATCH_UP_CHUNK_ROWS`]
    /// new orders, or, once none is left, the orders noted for re-indexing.
    /// Short, so a caller that repeats it in the background lets other
    /// writes in between.
    pub fn search_catch_up_step(&mut self) -> StoreResult<SearchStep> {
        register_functions(&self.conn)?;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let upto = indexed_upto(&tx)?;
        let max: i64 = tx.query_row(
            "SELECT coalesce(max(id), 0) FROM (SELECT id FROM orders WHERE id > ?1 ORDER BY id LIMIT ?2)",
            params![upto, SEARCH_CATCH_UP_CHUNK_ROWS],
            |r| r.get(0),
        )?;
        if max == 0 {
            let keys: Vec<(String, i64)> = {
                let mut stmt = tx.prepare(
                    "SELECT key, CAST(substr(key, 16) AS INTEGER) FROM store_meta WHERE key LIKE 'search_reindex:%'",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (key, row) in &keys {
                // A noted order may still be in the index (an image copied
                // with its old terms); deleting an absent row does nothing.
                tx.execute("DELETE FROM order_search WHERE rowid = ?1", [row])?;
                tx.execute(
                    &format!(
                        "INSERT INTO order_search(rowid, terms) SELECT o.id, {TERMS_SQL} FROM orders o WHERE o.id = ?1"
                    ),
                    [row],
                )?;
                tx.execute("DELETE FROM store_meta WHERE key = ?1", [key])?;
            }
            tx.commit()?;
            return Ok(SearchStep { indexed: keys.len() as i64, level: true });
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
        Ok(SearchStep { indexed: added as i64, level: false })
    }
}

/// What one step of the catch-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchStep {
    /// Orders indexed (or indexed again) by the step.
    pub indexed: i64,
    /// Whether the index is level with the ledger after it.
    pub level: bool,
}

/// The search index of a first load, being built on a thread of its own.
pub struct SearchImage {
    builder: JoinHandle<StoreResult<BuiltImage>>,
}

/// What bringing the index level took: orders copied from an image built
/// beside the import, and orders indexed after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchIndexed {
    pub from_image: i64,
    pub caught_up: i64,
}

struct BuiltImage {
    /// Removed when dropped, copied or not.
    file: tempfile::NamedTempFile,
    upto: i64,
}

impl Store {
    /// Starts indexing, beside the writes that follow, the orders written so
    /// far, when the index is still empty (a first load). None when it is not
    /// (a day's orders are quick to index at the end) or the store is in memory.
    /// Any order changed from here on is noted for the catch-up after the copy.
    pub fn search_image_start(&mut self) -> StoreResult<Option<SearchImage>> {
        if self.path == std::path::Path::new(":memory:") {
            return Ok(None);
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let last_order: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM orders", [], |r| r.get(0))?;
        if indexed_upto(&tx)? > 0 || last_order == 0 {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO store_meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![META_SEARCH_IMAGE_UPTO, last_order.to_string()],
        )?;
        tx.commit()?;
        remove_scratch_files(&self.path);
        let ledger = self.path.clone();
        let builder = std::thread::Builder::new()
            .name("search-image".into())
            .spawn(move || build_image(&ledger, last_order))
            .map_err(|e| StoreError::Invalid(format!("cannot start the search index's thread: {e}")))?;
        Ok(Some(SearchImage { builder }))
    }

    /// Copies a finished image into the index if the index is still empty,
    /// then catches up on every order after the image and every order changed
    /// since it began. An image that failed or came too late is left unused:
    /// the catch-up alone builds the same index, only later.
    pub fn search_catch_up_from(&mut self, image: Option<SearchImage>) -> StoreResult<SearchIndexed> {
        let from_image = match image.map(|image| image.builder.join()) {
            Some(Ok(Ok(built))) => match self.copy_image(&built) {
                Ok(copied) => copied,
                // Its scratch file gone or unreadable: the catch-up does it all.
                Err(_) => {
                    self.forget_image()?;
                    0
                }
            },
            Some(Ok(Err(_)) | Err(_)) => {
                self.forget_image()?;
                0
            }
            None => 0,
        };
        Ok(SearchIndexed { from_image, caught_up: self.search_catch_up()? })
    }

    /// On a connection of its own: FTS5 keeps the index's structure cached
    /// per connection and reloads it only when another connection commits,
    /// so rows copied under a connection that had already read the (empty)
    /// index collide with its next write to it (the catch-up then fails on a
    /// primary-key constraint).
    fn copy_image(&mut self, built: &BuiltImage) -> StoreResult<i64> {
        let path = built.file.path().to_str().ok_or_else(|| StoreError::Invalid("scratch path is not UTF-8".into()))?;
        let mut conn = Connection::open_with_flags(&self.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.busy_timeout(std::time::Duration::from_millis(super::BUSY_TIMEOUT_MS))?;
        conn.execute("ATTACH DATABASE ?1 AS search_image", [path])?;
        let copied = (|| -> StoreResult<i64> {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let indexed: i64 = tx.query_row("SELECT count(*) FROM order_search_docsize", [], |r| r.get(0))?;
            let config_differs: i64 = tx.query_row(
                "SELECT count(*) FROM (SELECT k, v FROM order_search_config
                     EXCEPT SELECT k, v FROM search_image.order_search_config)",
                [],
                |r| r.get(0),
            )?;
            tx.execute("DELETE FROM store_meta WHERE key = ?1", [META_SEARCH_IMAGE_UPTO])?;
            if indexed > 0 || indexed_upto(&tx)? > 0 || config_differs > 0 {
                tx.commit()?;
                return Ok(0);
            }
            // The index's own tables, row for row: what inserting the same
            // orders here would have written (the structure record included).
            tx.execute_batch(
                "DELETE FROM order_search_data;
                 INSERT INTO order_search_data SELECT * FROM search_image.order_search_data;
                 INSERT INTO order_search_idx SELECT * FROM search_image.order_search_idx;
                 INSERT INTO order_search_docsize SELECT * FROM search_image.order_search_docsize;",
            )?;
            let copied: i64 = tx.query_row("SELECT count(*) FROM order_search_docsize", [], |r| r.get(0))?;
            tx.execute("UPDATE store_meta SET value = ?1 WHERE key = 'search_indexed_upto'", [built.upto.to_string()])?;
            tx.commit()?;
            Ok(copied)
        })();
        let detached = conn.execute("DETACH DATABASE search_image", []);
        let copied = copied?;
        detached?;
        Ok(copied)
    }

    fn forget_image(&mut self) -> StoreResult<()> {
        self.conn.execute("DELETE FROM store_meta WHERE key = ?1", [META_SEARCH_IMAGE_UPTO])?;
        Ok(())
    }
}

/// The folder of a ledger's scratch files: its own.
fn ledger_folder(ledger: &std::path::Path) -> &std::path::Path {
    ledger.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."))
}

/// Removes the scratch files a process that died left beside the ledger. One
/// that another import is still building is removed too; that import then
/// builds its index the slow way, which gives the same index.
fn remove_scratch_files(ledger: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(ledger_folder(ledger)) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(SEARCH_IMAGE_FILE_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Indexes orders 1..=`upto` of the ledger at `ledger` into a new temporary
/// file, reading one snapshot of the ledger and writing nothing to it.
fn build_image(ledger: &std::path::Path, upto: i64) -> StoreResult<BuiltImage> {
    // Beside the ledger: on its disk, not in a temporary directory that may be RAM.
    let file = tempfile::Builder::new()
        .prefix(SEARCH_IMAGE_FILE_PREFIX)
        .suffix(".sqlite")
        .tempfile_in(ledger_folder(ledger))
        .map_err(|e| StoreError::Invalid(format!("cannot create the search index's scratch file: {e}")))?;
    let image = file.path().to_str().ok_or_else(|| StoreError::Invalid("scratch path is not UTF-8".into()))?;
    let conn = Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    conn.busy_timeout(std::time::Duration::from_millis(super::BUSY_TIMEOUT_MS))?;
    register_functions(&conn)?;
    conn.execute("ATTACH DATABASE ?1 AS search_image", [image])?;
    // A scratch file: nothing to recover if the process dies, so no journal.
    conn.execute_batch(&format!(
        "PRAGMA main.cache_size = -{SEARCH_IMAGE_CACHE_KIB};
         PRAGMA search_image.cache_size = -{SEARCH_IMAGE_CACHE_KIB};
         PRAGMA search_image.journal_mode = OFF;
         PRAGMA search_image.synchronous = OFF;
         CREATE VIRTUAL TABLE search_image.order_search USING {ORDER_SEARCH_FTS5};"
    ))?;
    // The ledger's settings (its migrations set some): an image whose
    // settings differ is not copied (see `copy_image`).
    let settings: Vec<(String, rusqlite::types::Value)> = conn
        .prepare("SELECT k, v FROM main.order_search_config WHERE k <> 'version'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (key, value) in &settings {
        conn.execute("INSERT INTO search_image.order_search(order_search, rank) VALUES (?1, ?2)", params![key, value])?;
    }
    conn.execute(
        &format!(
            "INSERT INTO search_image.order_search(rowid, terms) SELECT o.id, {TERMS_SQL} FROM main.orders o
             WHERE o.id <= ?1"
        ),
        [upto],
    )?;
    drop(conn);
    Ok(BuiltImage { file, upto })
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

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: i64 = 3_000;

    /// A ledger file with `ORDERS` orders, each buyer named after its row.
    fn ledger(dir: &tempfile::TempDir) -> Store {
        let store = Store::open(&dir.path().join("vd.sqlite")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO import_batches(id, kind, profile, file_name, sha256, encoding, delimiter, header_json,
                     operator, imported_at) VALUES (1, 'orders', 'shop', 'o.csv', 'x', 'UTF-8', ',', '[]', 'ana', 0)",
            )
            .unwrap();
        add_orders(&store, 1, ORDERS);
        store
    }

    fn add_orders(store: &Store, first: i64, last: i64) {
        store
            .conn
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                 INSERT INTO orders(id, order_id, store, created_at, buyer_name, buyer_email, buyer_phone,
                     buyer_document, country, amount_minor, currency, status, psp, psp_payment_id, voucher_code,
                     batch_id, line, raw_offset, raw_len)
                 SELECT i, 'CO-' || i, 'main', 0, 'Nombre' || i || ' Pérez', 'b' || i || '@correo.example',
                     '+57 300 ' || (1000000 + i), 'DOC' || i, 'CO', 1000, 'COP', 'pending_payment', 'dlocal',
                     'D-' || i, 'V' || i, 1, i + 1, 0, 0 FROM n",
                params![first, last],
            )
            .unwrap();
    }

    fn found(store: &mut Store, word: &str) -> Vec<String> {
        store.order_ids_by_terms(&format!("\"{word}\""), 50).unwrap()
    }

    fn assert_index_is_whole(store: &Store, orders: i64) {
        store.conn.execute_batch("INSERT INTO order_search(order_search) VALUES ('integrity-check')").unwrap();
        let indexed: i64 = store.conn.query_row("SELECT count(*) FROM order_search_docsize", [], |r| r.get(0)).unwrap();
        assert_eq!(indexed, orders);
        assert_eq!(indexed_upto(&store.conn).unwrap(), orders);
        assert_eq!(image_upto(&store.conn).unwrap(), None);
        let notes: i64 = store
            .conn
            .query_row("SELECT count(*) FROM store_meta WHERE key LIKE 'search_reindex:%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(notes, 0);
    }

    #[test]
    fn an_image_built_beside_the_writes_is_copied_and_the_writes_after_it_are_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ledger(&dir);
        let left_by_a_crash = dir.path().join(format!("{SEARCH_IMAGE_FILE_PREFIX}dead.sqlite"));
        std::fs::write(&left_by_a_crash, b"scratch").unwrap();
        let image = store.search_image_start().unwrap().expect("an empty index gets an image");
        assert!(!left_by_a_crash.exists(), "a scratch file a dead process left is removed");
        // The (empty) index read on the ledger's own connection first, as the
        // open's migrations do: the copy must still be seen there.
        let hits: i64 = store
            .conn
            .query_row("SELECT count(*) FROM order_search WHERE order_search MATCH 'nombre5'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(hits, 0);
        // While it is built: a buyer renamed (as an order file's update does) and new orders.
        store.conn.execute("UPDATE orders SET buyer_name = 'Zacarías Núñez' WHERE id = 5", []).unwrap();
        forget_orders(&store.conn, &[5]).unwrap();
        add_orders(&store, ORDERS + 1, ORDERS + 10);

        let indexed = store.search_catch_up_from(Some(image)).unwrap();
        // The ten after the image, and the renamed order again. Copied, so
        // the image took the ledger's settings (migration 23's among them).
        assert_eq!(indexed, SearchIndexed { from_image: ORDERS, caught_up: 10 + 1 });
        let automerge: i64 =
            store.conn.query_row("SELECT v FROM order_search_config WHERE k = 'automerge'", [], |r| r.get(0)).unwrap();
        assert_eq!(automerge, 16);
        assert_index_is_whole(&store, ORDERS + 10);
        assert_eq!(found(&mut store, "zacarias"), ["CO-5"]);
        assert_eq!(found(&mut store, "nombre5"), Vec::<String>::new(), "the old name is gone");
        assert_eq!(found(&mut store, "nombre6"), ["CO-6"]);
        assert_eq!(found(&mut store, "nombre3010"), ["CO-3010"]);
        assert_eq!(found(&mut store, "b2999@correo.example"), ["CO-2999"]);
        let scratch: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(SEARCH_IMAGE_FILE_PREFIX))
            .collect();
        assert_eq!(scratch, Vec::<String>::new(), "the image's own scratch file is gone too");
    }

    #[test]
    fn an_image_that_comes_after_the_index_was_filled_is_left_unused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = ledger(&dir);
        let image = store.search_image_start().unwrap().expect("an empty index gets an image");
        // A lookup elsewhere fills the index first.
        assert_eq!(store.search_catch_up().unwrap(), ORDERS);
        store.conn.execute("UPDATE orders SET buyer_name = 'Zacarías Núñez' WHERE id = 5", []).unwrap();
        forget_orders(&store.conn, &[5]).unwrap();

        let indexed = store.search_catch_up_from(Some(image)).unwrap();
        assert_eq!(indexed, SearchIndexed { from_image: 0, caught_up: 1 }, "only the renamed order");
        assert_index_is_whole(&store, ORDERS);
        assert_eq!(found(&mut store, "zacarias"), ["CO-5"]);
        assert_eq!(found(&mut store, "nombre7"), ["CO-7"]);
        assert!(store.search_image_start().unwrap().is_none(), "a filled index gets no image");
    }

    #[test]
    fn the_image_is_built_with_the_ledger_tables_definition() {
        let dir = tempfile::tempdir().unwrap();
        let store = ledger(&dir);
        let sql: String = store
            .conn
            .query_row("SELECT sql FROM sqlite_master WHERE name = 'order_search'", [], |r| r.get(0))
            .unwrap();
        let bare = |s: &str| s.split_whitespace().collect::<String>();
        assert_eq!(bare(&sql), bare(&format!("CREATE VIRTUAL TABLE order_search USING {ORDER_SEARCH_FTS5}")));
    }
}
