//! Writing imported rows: one IMMEDIATE transaction per file, so a rejected
//! file leaves the database exactly as it was.

use super::audit::{self, AuditEntry};
use super::{Store, StoreResult, indexes};
use crate::model::order::Order;
use crate::model::payment::status_at;
use crate::model::payment::{PaymentObservation, PaymentStatus};
use crate::model::settlement::SettlementRow;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, ToSql, Transaction, TransactionBehavior, params};

/// What writing one row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    New,
    Updated,
    Unchanged,
}

/// Where a row sits in its file: the line (header = 1) and its bytes in the
/// archived, decoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSpan {
    pub line: u64,
    pub offset: u64,
    pub len: u64,
}

pub struct NewBatch<'a> {
    pub kind: &'a str,
    pub profile: &'a str,
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub encoding: &'a str,
    pub delimiter: &'a str,
    pub header_json: &'a str,
    pub operator: &'a str,
    pub imported_at: DateTime<Utc>,
}

/// A previously imported file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BatchInfo {
    pub id: i64,
    pub kind: String,
    pub profile: String,
    pub file_name: String,
    pub sha256: String,
    pub encoding: String,
    pub rows_total: i64,
    pub rows_new: i64,
    pub rows_updated: i64,
    pub rows_unchanged: i64,
    pub rows_duplicate: i64,
    pub operator: String,
    pub imported_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RowCounts {
    pub total: i64,
    pub new: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub duplicate: i64,
}

/// Files smaller than this always go row by row through the indexes.
const BULK_ROWS_MIN: u64 = 10_000;
/// The most rows a bulk load's list of rowids is sized for up front (8 bytes each).
const BULK_ROWS_RESERVED_MAX: u64 = 5_000_000;

/// A row that repeats the key of an earlier row of its file: the earlier
/// row's position among the file's rows (from 0), as the parser found it.
/// In bulk mode, where the dropped indexes cannot spot a repeat, this is how
/// the writer finds the row to update.
pub type FirstOfKey = Option<usize>;

pub(crate) fn ts(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

impl Store {
    pub fn batch_by_sha256(&self, sha256: &str) -> StoreResult<Option<BatchInfo>> {
        let mut stmt = self.conn.prepare_cached(&format!("{BATCH_SELECT} WHERE sha256 = ?1"))?;
        Ok(stmt.query_row([sha256], batch_from_row).optional()?)
    }

    /// Newest first, at most `limit`.
    pub fn import_history(&self, limit: u32) -> StoreResult<Vec<BatchInfo>> {
        let mut stmt = self.conn.prepare_cached(&format!("{BATCH_SELECT} ORDER BY id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit], batch_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Starts writing one file. Nothing is visible to others until `finish`;
    /// dropping the `ImportTx` rolls everything back.
    ///
    /// `rows_hint` is the file's approximate row count: a large file into an
    /// empty table is loaded in bulk mode (indexes rebuilt at the end).
    pub fn begin_import(&mut self, batch: &NewBatch<'_>, rows_hint: u64) -> StoreResult<ImportTx<'_>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO import_batches(kind, profile, file_name, sha256, encoding, delimiter, header_json, operator, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                batch.kind,
                batch.profile,
                batch.file_name,
                batch.sha256,
                batch.encoding,
                batch.delimiter,
                batch.header_json,
                batch.operator,
                batch.imported_at.timestamp()
            ],
        )?;
        let batch_id = tx.last_insert_rowid();
        let tables: &'static [&'static str] = match batch.kind {
            "orders" => &["orders"],
            "payments" => &["payments", "payment_status_history"],
            _ => &["settlements"],
        };
        // Whether the table holds a row at all: a count would read all of a large ledger.
        let holds_rows: bool =
            tx.query_row(&format!("SELECT EXISTS(SELECT 1 FROM {})", tables[0]), [], |r| r.get(0))?;
        // Bulk mode only into an empty table: measured on a second 500k-row
        // orders file, preloading the existing keys and rebuilding the index
        // over the whole table cost more than row-by-row index inserts.
        let bulk = rows_hint >= BULK_ROWS_MIN && !holds_rows;
        let bulk_rows = if bulk {
            indexes::drop_for(&tx, tables)?;
            Some(Vec::with_capacity(rows_hint.min(BULK_ROWS_RESERVED_MAX) as usize))
        } else {
            None
        };
        let notes_suspended = super::reconcile_changes::begin_import(&tx, rows_hint >= super::NOTED_IMPORT_ROWS_MAX)?;
        Ok(ImportTx { tx, batch_id, imported_at: batch.imported_at.timestamp(), bulk_rows, tables, notes_suspended })
    }
}

/// The zstd level an imported file's text is archived at: the fastest, which
/// still keeps a CSV report to about a sixth of its size.
pub const ARCHIVE_ZSTD_LEVEL: i32 = 1;
/// Plain bytes per zstd frame of an archive: one row is read back by
/// decompressing the frame or two it lies in, not the file up to it.
pub const ARCHIVE_FRAME_BYTES: usize = 1 << 20;
/// The first bytes of a zstd frame; an archive written before compression is
/// the plain UTF-8 text, which cannot begin with them (0xB5 is not a first byte).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// The most bytes of one row read back from an archive.
pub const RAW_ROW_BYTES_MAX: u64 = 64 * 1024;

/// A file's decoded text as it is archived with its batch: zstd frames of
/// [`ARCHIVE_FRAME_BYTES`] each, one after the other (a valid zstd stream),
/// each recording its plain size.
pub fn archive_text(text: &str) -> std::io::Result<Vec<u8>> {
    let mut compressor = zstd::bulk::Compressor::new(ARCHIVE_ZSTD_LEVEL)?;
    let mut archive = Vec::with_capacity(text.len() / 4);
    for frame in text.as_bytes().chunks(ARCHIVE_FRAME_BYTES) {
        archive.extend_from_slice(&compressor.compress(frame)?);
    }
    Ok(archive)
}

/// Bytes `offset..offset + len` of an archive's plain text, decompressing only
/// the frames they lie in; None when the span lies outside the text.
fn archived_span(archive: &[u8], offset: u64, len: u64) -> Result<Option<Vec<u8>>, String> {
    if !archive.starts_with(&ZSTD_MAGIC) {
        let start = usize::try_from(offset).map_err(|e| e.to_string())?;
        let end = start.saturating_add(len as usize);
        return Ok(archive.get(start..end).map(<[u8]>::to_vec));
    }
    let end = offset.saturating_add(len);
    let (mut at, mut plain_at) = (0usize, 0u64);
    let mut span = Vec::with_capacity(len as usize);
    while at < archive.len() && plain_at < end {
        let rest = &archive[at..];
        let frame_len = zstd::zstd_safe::find_frame_compressed_size(rest)
            .map_err(|code| format!("a damaged frame at byte {at}: {}", zstd::zstd_safe::get_error_name(code)))?;
        let plain_len = match zstd::zstd_safe::get_frame_content_size(rest) {
            Ok(Some(n)) => n,
            Ok(None) | Err(_) => return Err(format!("a frame at byte {at} without its size")),
        };
        if plain_at + plain_len > offset {
            let plain = zstd::bulk::decompress(&rest[..frame_len], plain_len as usize).map_err(|e| e.to_string())?;
            let from = offset.saturating_sub(plain_at) as usize;
            let to = (end - plain_at).min(plain_len) as usize;
            let part = plain.get(from..to).ok_or_else(|| format!("a frame at byte {at} shorter than it says"))?;
            span.extend_from_slice(part);
        }
        at += frame_len;
        plain_at += plain_len;
    }
    Ok((span.len() as u64 == len).then_some(span))
}

impl Store {
    /// The raw text of one imported row (`offset` and `len` as the row's
    /// `raw_offset` and `raw_len`), from its file's archive, compressed or not.
    /// None when the batch has no archive or the span lies outside it.
    pub fn raw_row(&self, batch_id: i64, offset: u64, len: u64) -> StoreResult<Option<String>> {
        let archive: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT text FROM import_files WHERE batch_id = ?1", [batch_id], |r| r.get(0))
            .optional()?;
        let Some(archive) = archive else { return Ok(None) };
        let span = archived_span(&archive, offset, len.min(RAW_ROW_BYTES_MAX))
            .map_err(|reason| super::StoreError::Corrupt(format!("batch {batch_id}'s archived text: {reason}")))?;
        Ok(span.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }
}

#[cfg(test)]
mod archive_tests {
    use super::*;

    #[test]
    fn a_span_reads_back_across_frame_boundaries_and_from_plain_text() {
        // Three frames and a bit; rows of 45 bytes and spans of 37 never line up with a frame.
        let row = |i: usize| format!("CO-{i:07},Tienda Ñandú,{:>18}\n", i * 7);
        let text: String = (0..(3 * ARCHIVE_FRAME_BYTES / 37 + 500)).map(row).collect();
        let archive = archive_text(&text).unwrap();
        assert!(archive.len() * 4 < text.len(), "compressed: {} of {}", archive.len(), text.len());
        let mut frames = 0;
        let mut at = 0;
        while at < archive.len() {
            at += zstd::zstd_safe::find_frame_compressed_size(&archive[at..]).unwrap();
            frames += 1;
        }
        assert_eq!(frames, 4);
        for offset in [0, 37, ARCHIVE_FRAME_BYTES - 10, 2 * ARCHIVE_FRAME_BYTES - 1, text.len() - 37] {
            let want = &text.as_bytes()[offset..offset + 37];
            assert_eq!(archived_span(&archive, offset as u64, 37).unwrap().as_deref(), Some(want), "at {offset}");
            assert_eq!(archived_span(text.as_bytes(), offset as u64, 37).unwrap().as_deref(), Some(want));
        }
        assert_eq!(archived_span(&archive, text.len() as u64 - 5, 10).unwrap(), None, "past the end");
        assert_eq!(archived_span(text.as_bytes(), text.len() as u64 - 5, 10).unwrap(), None);
        // One whole frame, as the first compressed archives were written, reads the same.
        let single = zstd::bulk::compress(text.as_bytes(), 1).unwrap();
        assert_eq!(archived_span(&single, 74, 37).unwrap().as_deref(), Some(&text.as_bytes()[74..111]));
        assert!(archived_span(&archive[..archive.len() / 2], text.len() as u64 - 37, 37).is_err(), "cut short");
    }
}

const BATCH_SELECT: &str = "SELECT id, kind, profile, file_name, sha256, encoding, rows_total, rows_new, rows_updated,
        rows_unchanged, rows_duplicate, operator, imported_at FROM import_batches";

fn batch_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchInfo> {
    Ok(BatchInfo {
        id: r.get(0)?,
        kind: r.get(1)?,
        profile: r.get(2)?,
        file_name: r.get(3)?,
        sha256: r.get(4)?,
        encoding: r.get(5)?,
        rows_total: r.get(6)?,
        rows_new: r.get(7)?,
        rows_updated: r.get(8)?,
        rows_unchanged: r.get(9)?,
        rows_duplicate: r.get(10)?,
        operator: r.get(11)?,
        imported_at: DateTime::from_timestamp(r.get(12)?, 0).unwrap_or_default(),
    })
}

pub struct ImportTx<'c> {
    tx: Transaction<'c>,
    batch_id: i64,
    imported_at: i64,
    /// Bulk mode: the rowid each of the file's rows went to, by position,
    /// standing in for the dropped indexes (see [`FirstOfKey`]).
    bulk_rows: Option<Vec<i64>>,
    tables: &'static [&'static str],
    /// A large file: no change notes for reconciliation (it asks for a full run instead).
    notes_suspended: bool,
}

/// Writes the rows of one file inside its `ImportTx`.
pub struct RowWriter<'t> {
    conn: &'t rusqlite::Connection,
    batch_id: i64,
    imported_at: i64,
    bulk_rows: Option<&'t mut Vec<i64>>,
    insert_order: rusqlite::Statement<'t>,
    insert_payment: rusqlite::Statement<'t>,
    insert_history: rusqlite::Statement<'t>,
    insert_settlement: rusqlite::Statement<'t>,
    /// Whether the ledger holds any chargeback row a new payment may already have.
    chargebacks_known: bool,
    /// Orders updated in place: their search terms are refreshed at commit.
    touched_orders: Vec<i64>,
}

const INSERT_ORDER: &str = "INSERT INTO orders(order_id, store, created_at, buyer_name, buyer_email, buyer_phone,
        buyer_document, country, amount_minor, currency, status, psp, psp_payment_id, voucher_code, voucher_expires_at,
        batch_id, line, raw_offset, raw_len)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";
const INSERT_PAYMENT: &str = "INSERT INTO payments(psp, payment_id, order_id, country, network, currency, amount_minor,
        status, status_rank, psp_status, status_code, created_at, paid_at, expires_at, voucher_code, last_seen_status)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?8)";
const INSERT_HISTORY: &str = "INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at,
        source, batch_id, line, raw_offset, raw_len)
    VALUES (?1, ?2, ?3, ?4, ?5, 'file', ?6, ?7, ?8, ?9)";
const INSERT_SETTLEMENT: &str = "INSERT INTO settlements(psp, order_id, payment_id, row_type, created_at, settled_on,
        local_amount_minor, local_currency, fx_rate, settlement_currency, gross_minor, net_minor, fee_minor, batch_id,
        line, raw_offset, raw_len)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

impl ImportTx<'_> {
    pub fn batch_id(&self) -> i64 {
        self.batch_id
    }

    /// The row writer, with its hot statements prepared once for the file.
    pub fn rows(&mut self) -> StoreResult<RowWriter<'_>> {
        let conn: &rusqlite::Connection = &self.tx;
        // With the unique indexes in place, a conflict is detected by the insert
        // itself; in bulk mode there is no index, and the key map decides.
        let on_conflict = |sql: &str, target: &str| match self.bulk_rows {
            Some(_) => sql.to_string(),
            None => format!("{sql} ON CONFLICT{target} DO NOTHING"),
        };
        Ok(RowWriter {
            conn,
            batch_id: self.batch_id,
            imported_at: self.imported_at,
            insert_order: conn.prepare(&on_conflict(INSERT_ORDER, "(order_id)"))?,
            insert_payment: conn.prepare(&on_conflict(INSERT_PAYMENT, "(payment_id, psp)"))?,
            insert_history: conn.prepare(INSERT_HISTORY)?,
            insert_settlement: conn.prepare(&on_conflict(INSERT_SETTLEMENT, "(payment_id, psp, row_type)"))?,
            chargebacks_known: conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM settlements WHERE row_type = 'CHARGEBACK')",
                [],
                |r| r.get(0),
            )?,
            bulk_rows: self.bulk_rows.as_mut(),
            touched_orders: Vec::new(),
        })
    }

    /// Archives the file's text (see [`archive_text`]), rebuilds what bulk
    /// mode dropped, records the counts and the audit entry, and commits.
    pub fn finish(
        self,
        counts: &RowCounts,
        touched_orders: &[i64],
        audit_entry: &AuditEntry,
        archived_text: &[u8],
    ) -> StoreResult<i64> {
        self.tx.execute(
            "INSERT INTO import_files(batch_id, text) VALUES (?1, ?2)",
            params![self.batch_id, archived_text],
        )?;
        if self.bulk_rows.is_some() {
            indexes::create_for(&self.tx, self.tables)?;
        }
        super::reconcile_changes::finish_import(&self.tx, self.notes_suspended)?;
        self.tx.execute(
            "UPDATE import_batches SET rows_total = ?2, rows_new = ?3, rows_updated = ?4, rows_unchanged = ?5,
                 rows_duplicate = ?6 WHERE id = ?1",
            params![self.batch_id, counts.total, counts.new, counts.updated, counts.unchanged, counts.duplicate],
        )?;
        super::search::forget_orders(&self.tx, touched_orders)?;
        audit::append(&self.tx, audit_entry)?;
        self.tx.commit()?;
        Ok(self.batch_id)
    }
}

/// The parameters of [`INSERT_PAYMENT`] for an observation, in order.
macro_rules! payment_values {
    ($p:expr) => {
        params![
            $p.psp,
            $p.payment_id,
            $p.order_id,
            $p.country.code(),
            $p.network.as_str(),
            $p.currency.code(),
            $p.amount_minor,
            $p.status.as_str(),
            $p.status.rank(),
            $p.psp_status,
            $p.status_code,
            ts($p.created_at),
            ts($p.paid_at),
            ts($p.expires_at),
            $p.voucher_code
        ]
    };
}

/// Inserts a payment never seen before (its first observation); shared with
/// observations from the API and notifications.
pub(crate) fn insert_payment(conn: &rusqlite::Connection, p: &PaymentObservation) -> StoreResult<i64> {
    conn.prepare_cached(INSERT_PAYMENT)?.execute(payment_values!(p))?;
    Ok(conn.last_insert_rowid())
}

/// Moves a payment to `next`: the advancing report is the PSP's latest word on
/// it. A voucher issued from the console is known to the PSP by our reference
/// (`ORDER-Vn`, see `store::vouchers`): its payment keeps the shop's order id.
pub(crate) fn advance_payment(
    conn: &rusqlite::Connection,
    id: i64,
    p: &PaymentObservation,
    next: PaymentStatus,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE payments SET order_id = coalesce((SELECT v.order_id FROM voucher_issues v
                 WHERE v.psp = ?15 AND v.reference = ?2), ?2), country = ?3, network = ?4, currency = ?5,
             amount_minor = ?6, status = ?7, status_rank = ?8, psp_status = ?9, status_code = ?10,
             created_at = coalesce(created_at, ?11), paid_at = coalesce(?12, paid_at),
             expires_at = coalesce(?13, expires_at),
             voucher_code = CASE WHEN ?14 = '' THEN voucher_code ELSE ?14 END,
             last_seen_status = ?7
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        p.order_id,
        p.country.code(),
        p.network.as_str(),
        p.currency.code(),
        p.amount_minor,
        next.as_str(),
        next.rank(),
        p.psp_status,
        p.status_code,
        ts(p.created_at),
        ts(p.paid_at),
        ts(p.expires_at),
        p.voucher_code,
        p.psp
    ])?;
    Ok(())
}

/// A chargeback settlement row, as the source of a payment's `charged_back`.
struct ChargebackRow {
    created_at: Option<i64>,
    batch_id: i64,
    line: i64,
    offset: i64,
    len: i64,
}

/// Moves a payment to `charged_back` on its chargeback row (whichever of the
/// two arrived first), and keeps the row in the payment's history dated by
/// the row's own creation date.
fn charge_back(conn: &rusqlite::Connection, payment: i64, row: &ChargebackRow, observed_at: i64) -> StoreResult<()> {
    let next = PaymentStatus::ChargedBack;
    conn.prepare_cached(
        "UPDATE payments SET status = ?2, status_rank = ?3, psp_status = 'CHARGEBACK', last_seen_status = ?2
         WHERE id = ?1 AND status_rank < ?3",
    )?
    .execute(params![payment, next.as_str(), next.rank()])?;
    conn.prepare_cached(
        "INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at, source, batch_id,
             line, raw_offset, raw_len)
         VALUES (?1, ?2, 'CHARGEBACK', ?3, ?4, 'file', ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        payment,
        next.as_str(),
        row.created_at,
        observed_at,
        row.batch_id,
        row.line,
        row.offset,
        row.len
    ])?;
    Ok(())
}

/// A chargeback row imported before its payment: applied when the payment
/// first reaches the ledger, whatever brought it (a file, an API answer, a
/// notification), so the outcome does not depend on which came first.
/// Returns whether the payment was charged back.
pub(crate) fn apply_earlier_chargeback_row(
    conn: &rusqlite::Connection,
    payment: i64,
    psp: &str,
    payment_id: &str,
    observed_at: i64,
) -> StoreResult<bool> {
    let row = conn
        .prepare_cached(
            "SELECT created_at, batch_id, line, raw_offset, raw_len FROM settlements
             WHERE payment_id = ?1 AND psp = ?2 AND row_type = 'CHARGEBACK'",
        )?
        .query_row(params![payment_id, psp], |r| {
            Ok(ChargebackRow {
                created_at: r.get(0)?,
                batch_id: r.get(1)?,
                line: r.get(2)?,
                offset: r.get(3)?,
                len: r.get(4)?,
            })
        })
        .optional()?;
    let Some(row) = row else { return Ok(false) };
    charge_back(conn, payment, &row, observed_at)?;
    Ok(true)
}

/// An older status arriving late: history only, the payment stays (it may
/// fill in dates the payment did not have).
pub(crate) fn note_late_status(conn: &rusqlite::Connection, id: i64, p: &PaymentObservation) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE payments SET last_seen_status = ?2, expires_at = coalesce(expires_at, ?3),
             created_at = coalesce(created_at, ?4) WHERE id = ?1",
    )?
    .execute(params![id, p.status.as_str(), ts(p.expires_at), ts(p.created_at)])?;
    Ok(())
}

impl RowWriter<'_> {
    /// Orders whose search terms must be refreshed; hand them to `finish`.
    pub fn into_touched_orders(self) -> Vec<i64> {
        self.touched_orders
    }

    /// Inserts a row unless its key exists; returns the existing rowid if it does.
    /// `insert` runs the prepared insert. With the indexes in place the insert
    /// spots an existing key itself and the index finds its row; in bulk mode
    /// the table held nothing before this file, so only a row the parser saw
    /// repeat an earlier one (`first_of_key`) can exist.
    fn insert_or_find(
        &mut self,
        key: [&str; 3],
        first_of_key: FirstOfKey,
        table: Table,
        insert: impl FnOnce(&mut Self) -> rusqlite::Result<usize>,
    ) -> StoreResult<Option<i64>> {
        let Some(bulk_rows) = self.bulk_rows.as_deref() else {
            if insert(self)? == 1 {
                return Ok(None);
            }
            return Ok(Some(table.find(self.conn, key)?));
        };
        let earlier = first_of_key.and_then(|at| bulk_rows.get(at).copied());
        // The parser compares key digests: the stored key rules out a collision.
        let existing = match earlier {
            Some(row) if table.key_of(self.conn, row)? == key => Some(row),
            _ => None,
        };
        let row = match existing {
            Some(row) => row,
            None => {
                insert(self)?;
                self.conn.last_insert_rowid()
            }
        };
        if let Some(bulk_rows) = self.bulk_rows.as_deref_mut() {
            bulk_rows.push(row);
        }
        Ok(existing)
    }

    /// Upserts an order; the latest file is the shop's latest word on it.
    pub fn put_order(&mut self, o: &Order, at: RowSpan, first_of_key: FirstOfKey) -> StoreResult<RowOutcome> {
        let (batch_id, created_at, expires) = (self.batch_id, o.created_at.timestamp(), ts(o.voucher_expires_at));
        let (line, offset, len) = (at.line as i64, at.offset as i64, at.len as i64);
        let (country, currency, status) = (o.country.code(), o.currency.code(), o.status.as_str());
        // ?1..?19 of INSERT_ORDER; the update reuses them and adds the rowid as ?20.
        let values: [&dyn ToSql; 19] = [
            &o.order_id,
            &o.store,
            &created_at,
            &o.buyer_name,
            &o.buyer_email,
            &o.buyer_phone,
            &o.buyer_document,
            &country,
            &o.amount_minor,
            &currency,
            &status,
            &o.psp,
            &o.psp_payment_id,
            &o.voucher_code,
            &expires,
            &batch_id,
            &line,
            &offset,
            &len,
        ];
        let existing = self.insert_or_find([&o.order_id, "", ""], first_of_key, Table::Orders, |w| {
            w.insert_order.execute(&values[..])
        })?;
        let Some(row) = existing else { return Ok(RowOutcome::New) };
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE orders SET store = ?2, created_at = ?3, buyer_name = ?4, buyer_email = ?5, buyer_phone = ?6,
                     buyer_document = ?7, country = ?8, amount_minor = ?9, currency = ?10, status = ?11, psp = ?12,
                     psp_payment_id = ?13, voucher_code = ?14, voucher_expires_at = ?15, batch_id = ?16, line = ?17,
                     raw_offset = ?18, raw_len = ?19
                 WHERE id = ?20 AND order_id = ?1 AND (store IS NOT ?2 OR created_at IS NOT ?3 OR buyer_name IS NOT ?4
                     OR buyer_email IS NOT ?5 OR buyer_phone IS NOT ?6 OR buyer_document IS NOT ?7 OR country IS NOT ?8
                     OR amount_minor IS NOT ?9 OR currency IS NOT ?10 OR status IS NOT ?11 OR psp IS NOT ?12
                     OR psp_payment_id IS NOT ?13 OR voucher_code IS NOT ?14 OR voucher_expires_at IS NOT ?15)",
            )?
            .execute(rusqlite::params_from_iter(values.iter().copied().chain([&row as &dyn ToSql])))?;
        if changed == 0 {
            return Ok(RowOutcome::Unchanged);
        }
        self.touched_orders.push(row);
        Ok(RowOutcome::Updated)
    }

    /// Records one observation of a payment. The payment's status only moves
    /// forward (see [`PaymentStatus::rank`]); every distinct observation is kept
    /// in its history with the file line and raw row.
    pub fn put_payment(
        &mut self,
        p: &PaymentObservation,
        at: RowSpan,
        first_of_key: FirstOfKey,
    ) -> StoreResult<RowOutcome> {
        let status_at = status_at(p);
        let existing = self.insert_or_find([&p.payment_id, &p.psp, ""], first_of_key, Table::Payments, |w| {
            w.insert_payment.execute(payment_values!(p))
        })?;
        let (payment_row, outcome) = match existing {
            None => (self.conn.last_insert_rowid(), RowOutcome::New),
            Some(id) => {
                let (current, last_seen) = self
                    .conn
                    .prepare_cached("SELECT status, last_seen_status FROM payments WHERE id = ?1")?
                    .query_row([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                let current = PaymentStatus::parse(&current)
                    .ok_or_else(|| super::StoreError::Corrupt(format!("payment {id} has status {current:?}")))?;
                // The same status as the last report said: nothing new was observed.
                if last_seen == p.status.as_str() {
                    return Ok(RowOutcome::Unchanged);
                }
                let next = current.advanced_by(p.status);
                if next != current {
                    advance_payment(self.conn, id, p, next)?;
                } else {
                    note_late_status(self.conn, id, p)?;
                }
                (id, RowOutcome::Updated)
            }
        };
        self.insert_history.execute(params![
            payment_row,
            p.status.as_str(),
            p.psp_status,
            ts(status_at),
            self.imported_at,
            self.batch_id,
            at.line as i64,
            at.offset as i64,
            at.len as i64
        ])?;
        // Bulk loads skip the lookup when the ledger holds no chargeback row at all.
        if outcome == RowOutcome::New && self.chargebacks_known {
            apply_earlier_chargeback_row(self.conn, payment_row, &p.psp, &p.payment_id, self.imported_at)?;
        }
        Ok(outcome)
    }

    pub fn put_settlement(
        &mut self,
        s: &SettlementRow,
        at: RowSpan,
        first_of_key: FirstOfKey,
    ) -> StoreResult<RowOutcome> {
        let settled_on = s.settled_on.map(|d| d.to_string());
        let (batch_id, created_at, row_type) = (self.batch_id, ts(s.created_at), s.row_type.as_str());
        let (local_currency, settlement_currency) = (s.local_currency.code(), s.settlement_currency.code());
        let (line, offset, len) = (at.line as i64, at.offset as i64, at.len as i64);
        // ?1..?17 of INSERT_SETTLEMENT; the update reuses them and adds the rowid as ?18.
        let values: [&dyn ToSql; 17] = [
            &s.psp,
            &s.order_id,
            &s.payment_id,
            &row_type,
            &created_at,
            &settled_on,
            &s.local_amount_minor,
            &local_currency,
            &s.fx_rate,
            &settlement_currency,
            &s.gross_minor,
            &s.net_minor,
            &s.fee_minor,
            &batch_id,
            &line,
            &offset,
            &len,
        ];
        let existing =
            self.insert_or_find([&s.payment_id, &s.psp, row_type], first_of_key, Table::Settlements, |w| {
                w.insert_settlement.execute(&values[..])
            })?;
        let Some(row) = existing else {
            if s.row_type == crate::model::settlement::RowType::Chargeback {
                let payment = self
                    .conn
                    .prepare_cached("SELECT id FROM payments WHERE payment_id = ?1 AND psp = ?2")?
                    .query_row(params![s.payment_id, s.psp], |r| r.get::<_, i64>(0))
                    .optional()?;
                if let Some(payment) = payment {
                    let row = ChargebackRow { created_at, batch_id, line, offset, len };
                    charge_back(self.conn, payment, &row, self.imported_at)?;
                }
            }
            return Ok(RowOutcome::New);
        };
        let updated = self
            .conn
            .prepare_cached(
                "UPDATE settlements SET order_id = ?2, created_at = ?5, settled_on = ?6, local_amount_minor = ?7,
                     local_currency = ?8, fx_rate = ?9, settlement_currency = ?10, gross_minor = ?11, net_minor = ?12,
                     fee_minor = ?13, batch_id = ?14, line = ?15, raw_offset = ?16, raw_len = ?17
                 WHERE id = ?18 AND psp = ?1 AND payment_id = ?3 AND row_type = ?4
                     AND (order_id IS NOT ?2 OR settled_on IS NOT ?6 OR local_amount_minor IS NOT ?7
                     OR local_currency IS NOT ?8 OR fx_rate IS NOT ?9 OR settlement_currency IS NOT ?10
                     OR gross_minor IS NOT ?11 OR net_minor IS NOT ?12 OR fee_minor IS NOT ?13)",
            )?
            .execute(rusqlite::params_from_iter(values.iter().copied().chain([&row as &dyn ToSql])))?;
        Ok(if updated == 1 { RowOutcome::Updated } else { RowOutcome::Unchanged })
    }
}

/// The keyed ledger tables.
#[derive(Clone, Copy)]
enum Table {
    Orders,
    Payments,
    Settlements,
}

impl Table {
    /// The rowid of a key, through the unique index.
    fn find(self, conn: &rusqlite::Connection, key: [&str; 3]) -> StoreResult<i64> {
        let sql = match self {
            Table::Orders => "SELECT id FROM orders WHERE order_id = ?1 AND ?2 = '' AND ?3 = ''",
            Table::Payments => "SELECT id FROM payments WHERE payment_id = ?1 AND psp = ?2 AND ?3 = ''",
            Table::Settlements => "SELECT id FROM settlements WHERE payment_id = ?1 AND psp = ?2 AND row_type = ?3",
        };
        Ok(conn.prepare_cached(sql)?.query_row(params![key[0], key[1], key[2]], |r| r.get(0))?)
    }

    /// The key of a rowid (to rule out a digest collision in bulk mode).
    fn key_of(self, conn: &rusqlite::Connection, row: i64) -> StoreResult<[String; 3]> {
        let sql = match self {
            Table::Orders => "SELECT order_id, '', '' FROM orders WHERE id = ?1",
            Table::Payments => "SELECT payment_id, psp, '' FROM payments WHERE id = ?1",
            Table::Settlements => "SELECT payment_id, psp, row_type FROM settlements WHERE id = ?1",
        };
        Ok(conn.prepare_cached(sql)?.query_row([row], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]))?)
    }
}
