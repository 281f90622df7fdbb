//! Finding orders by anything a buyer or a PSP may quote, and reading their
//! case files.

use super::{Store, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// Where an imported row's text lies in its file's archive (see `Store::raw_row`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSpan {
    pub batch_id: i64,
    pub offset: u64,
    pub len: u64,
}

fn raw_span(batch_id: Option<i64>, offset: Option<i64>, len: Option<i64>) -> Option<RawSpan> {
    Some(RawSpan { batch_id: batch_id?, offset: u64::try_from(offset?).ok()?, len: u64::try_from(len?).ok()? })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrderRecord {
    pub order_id: String,
    pub store: String,
    pub created_at: DateTime<Utc>,
    pub buyer_name: String,
    pub buyer_email: String,
    pub buyer_phone: String,
    pub buyer_document: String,
    pub country: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub psp: String,
    pub psp_payment_id: String,
    pub voucher_code: String,
    pub voucher_expires_at: Option<DateTime<Utc>>,
    /// `FILE:LINE` of the row it came from.
    pub source: String,
    #[serde(skip)]
    pub raw_span: Option<RawSpan>,
}

/// One status a PSP reported for a payment, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StatusObservation {
    pub status: String,
    pub psp_status: String,
    pub status_at: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
    pub source: String,
    pub file: Option<String>,
    pub line: Option<i64>,
    /// A file's row (none for an API answer or a notification).
    #[serde(skip)]
    pub raw_span: Option<RawSpan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PaymentRecord {
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub linked_order_id: Option<String>,
    pub country: String,
    pub network: String,
    pub currency: String,
    pub amount_minor: i64,
    pub status: String,
    pub psp_status: String,
    pub created_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub voucher_code: String,
    pub history: Vec<StatusObservation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettlementRecord {
    pub psp: String,
    pub payment_id: String,
    pub row_type: String,
    /// Market date.
    pub settled_on: Option<String>,
    pub local_amount_minor: i64,
    pub local_currency: String,
    pub settlement_currency: String,
    pub gross_minor: i64,
    pub net_minor: i64,
    pub fee_minor: i64,
    pub source: String,
    #[serde(skip)]
    pub raw_span: Option<RawSpan>,
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// One line of as-you-type search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrderHit {
    pub order_id: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub country: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// The search-result lines for these orders, in the given order.
    pub fn order_hits(&self, order_ids: &[String]) -> StoreResult<Vec<OrderHit>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT order_id, buyer_name, buyer_email, country, amount_minor, currency, status, created_at
             FROM orders WHERE order_id = ?1",
        )?;
        let mut out = Vec::with_capacity(order_ids.len());
        for id in order_ids {
            let hit = stmt
                .query_row([id], |r| {
                    Ok(OrderHit {
                        order_id: r.get(0)?,
                        buyer_name: r.get(1)?,
                        buyer_email: r.get(2)?,
                        country: r.get(3)?,
                        amount_minor: r.get(4)?,
                        currency: r.get(5)?,
                        status: r.get(6)?,
                        created_at: time(r.get(7)?),
                    })
                })
                .optional()?;
            out.push(hit.unwrap_or_else(|| OrderHit {
                order_id: id.clone(),
                buyer_name: String::new(),
                buyer_email: String::new(),
                country: String::new(),
                amount_minor: 0,
                currency: String::new(),
                status: "unknown_order".into(),
                created_at: DateTime::default(),
            }));
        }
        Ok(out)
    }

    /// Order ids whose own id, payment id or voucher code is exactly `code`.
    pub fn order_ids_by_code(&self, code: &str, limit: u32) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT order_id FROM orders WHERE order_id = ?1
             UNION SELECT coalesce(l.order_id, p.order_id) FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
                 WHERE p.payment_id = ?1
             UNION SELECT coalesce(l.order_id, p.order_id) FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
                 WHERE p.voucher_code = ?1 AND p.voucher_code <> ''
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![code, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Order ids matching a full-text query (FTS5 syntax, already escaped).
    pub fn order_ids_by_terms(&mut self, fts_query: &str, limit: u32) -> StoreResult<Vec<String>> {
        // A team copy between writes is read-only: its pulls keep the index level.
        if self.can_write() && self.search_backlog()? > 0 {
            self.search_catch_up()?;
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.order_id FROM order_search s JOIN orders o ON o.id = s.rowid
             WHERE order_search MATCH ?1 ORDER BY s.rowid DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![fts_query, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn order(&self, order_id: &str) -> StoreResult<Option<OrderRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.order_id, o.store, o.created_at, o.buyer_name, o.buyer_email, o.buyer_phone, o.buyer_document,
                    o.country, o.amount_minor, o.currency, o.status, o.psp, o.psp_payment_id, o.voucher_code,
                    o.voucher_expires_at, b.file_name || ':' || o.line, o.batch_id, o.raw_offset, o.raw_len
             FROM orders o JOIN import_batches b ON b.id = o.batch_id WHERE o.order_id = ?1",
        )?;
        Ok(stmt
            .query_row([order_id], |r| {
                Ok(OrderRecord {
                    order_id: r.get(0)?,
                    store: r.get(1)?,
                    created_at: time(r.get(2)?),
                    buyer_name: r.get(3)?,
                    buyer_email: r.get(4)?,
                    buyer_phone: r.get(5)?,
                    buyer_document: r.get(6)?,
                    country: r.get(7)?,
                    amount_minor: r.get(8)?,
                    currency: r.get(9)?,
                    status: r.get(10)?,
                    psp: r.get(11)?,
                    psp_payment_id: r.get(12)?,
                    voucher_code: r.get(13)?,
                    voucher_expires_at: r.get::<_, Option<i64>>(14)?.map(time),
                    source: r.get(15)?,
                    raw_span: raw_span(r.get(16)?, r.get(17)?, r.get(18)?),
                })
            })
            .optional()?)
    }

    /// Payments that belong to the order (by their order-id column or a manual link).
    pub fn payments_of_order(&self, order_id: &str) -> StoreResult<Vec<PaymentRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.id, p.psp, p.payment_id, p.order_id, l.order_id, p.country, p.network, p.currency,
                    p.amount_minor, p.status, p.psp_status, p.created_at, p.paid_at, p.expires_at, p.voucher_code
             FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
             WHERE p.order_id = ?1 AND l.order_id IS NULL
             UNION
             SELECT p.id, p.psp, p.payment_id, p.order_id, l.order_id, p.country, p.network, p.currency,
                    p.amount_minor, p.status, p.psp_status, p.created_at, p.paid_at, p.expires_at, p.voucher_code
             FROM payment_links l JOIN payments p ON p.id = l.payment WHERE l.order_id = ?1
             ORDER BY 1",
        )?;
        let rows: Vec<(i64, PaymentRecord)> = stmt
            .query_map([order_id], |r| {
                Ok((
                    r.get(0)?,
                    PaymentRecord {
                        psp: r.get(1)?,
                        payment_id: r.get(2)?,
                        order_id: r.get(3)?,
                        linked_order_id: r.get(4)?,
                        country: r.get(5)?,
                        network: r.get(6)?,
                        currency: r.get(7)?,
                        amount_minor: r.get(8)?,
                        status: r.get(9)?,
                        psp_status: r.get(10)?,
                        created_at: r.get::<_, Option<i64>>(11)?.map(time),
                        paid_at: r.get::<_, Option<i64>>(12)?.map(time),
                        expires_at: r.get::<_, Option<i64>>(13)?.map(time),
                        voucher_code: r.get(14)?,
                        history: Vec::new(),
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut history = self.conn.prepare_cached(
            "SELECT h.status, h.psp_status, h.status_at, h.observed_at, h.source, b.file_name, h.line, h.batch_id,
                    h.raw_offset, h.raw_len
             FROM payment_status_history h LEFT JOIN import_batches b ON b.id = h.batch_id
             WHERE h.payment = ?1 ORDER BY coalesce(h.status_at, h.observed_at), h.id",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, mut payment) in rows {
            payment.history = history
                .query_map([row], |r| {
                    Ok(StatusObservation {
                        status: r.get(0)?,
                        psp_status: r.get(1)?,
                        status_at: r.get::<_, Option<i64>>(2)?.map(time),
                        observed_at: time(r.get(3)?),
                        source: r.get(4)?,
                        file: r.get(5)?,
                        line: r.get(6)?,
                        raw_span: raw_span(r.get(7)?, r.get(8)?, r.get(9)?),
                    })
                })?
                .collect::<Result<_, _>>()?;
            out.push(payment);
        }
        Ok(out)
    }

    pub fn settlements_of_payment(&self, psp: &str, payment_id: &str) -> StoreResult<Vec<SettlementRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.psp, s.payment_id, s.row_type, s.settled_on, s.local_amount_minor, s.local_currency,
                    s.settlement_currency, s.gross_minor, s.net_minor, s.fee_minor, b.file_name || ':' || s.line,
                    s.batch_id, s.raw_offset, s.raw_len
             FROM settlements s JOIN import_batches b ON b.id = s.batch_id
             WHERE s.payment_id = ?1 AND s.psp = ?2 ORDER BY s.id",
        )?;
        let rows = stmt.query_map(params![payment_id, psp], |r| {
            Ok(SettlementRecord {
                psp: r.get(0)?,
                payment_id: r.get(1)?,
                row_type: r.get(2)?,
                settled_on: r.get(3)?,
                local_amount_minor: r.get(4)?,
                local_currency: r.get(5)?,
                settlement_currency: r.get(6)?,
                gross_minor: r.get(7)?,
                net_minor: r.get(8)?,
                fee_minor: r.get(9)?,
                source: r.get(10)?,
                raw_span: raw_span(r.get(11)?, r.get(12)?, r.get(13)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
