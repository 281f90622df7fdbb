//! Dated exchange rates. The rules (pairs, markets, staleness) live in
//! `crate::fx`; this module reads and writes, and records a batch of rates
//! with its audit entry in one IMMEDIATE transaction.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

/// One stored rate. Currencies, market and date are kept as their stored text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FxRateRow {
    pub id: i64,
    pub base: String,
    pub quote: String,
    pub market: String,
    pub market_date: String,
    pub rate: String,
    pub source: String,
    pub entered_by: String,
    pub entered_at: i64,
}

/// What recording a batch of rates did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FxWrite {
    /// Every new rate written; `unchanged` were already recorded with the same rate.
    Written { added: usize, unchanged: usize },
    /// The rate at `index` differs from the one recorded for its pair and date:
    /// nothing was written.
    Conflict { index: usize, existing: FxRateRow },
}

const FX_SELECT: &str =
    "SELECT id, base, quote, market, market_date, rate, source, entered_by, entered_at FROM fx_rates";

fn fx_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FxRateRow> {
    Ok(FxRateRow {
        id: r.get(0)?,
        base: r.get(1)?,
        quote: r.get(2)?,
        market: r.get(3)?,
        market_date: r.get(4)?,
        rate: r.get(5)?,
        source: r.get(6)?,
        entered_by: r.get(7)?,
        entered_at: r.get(8)?,
    })
}

impl Store {
    /// Records `rows` (their `id` is ignored) and `entry`, all or nothing. A
    /// row whose pair and date are recorded with the same rate is left as it
    /// is; with another rate, the whole batch is refused.
    pub fn insert_fx_rates(&mut self, rows: &[FxRateRow], entry: &AuditEntry) -> StoreResult<FxWrite> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut added, mut unchanged) = (0, 0);
        for (index, row) in rows.iter().enumerate() {
            let existing = tx
                .prepare_cached(&format!("{FX_SELECT} WHERE base = ?1 AND quote = ?2 AND market_date = ?3"))?
                .query_row(params![row.base, row.quote, row.market_date], fx_from_row)
                .optional()?;
            match existing {
                Some(existing) if existing.rate == row.rate => unchanged += 1,
                Some(existing) => return Ok(FxWrite::Conflict { index, existing }),
                None => {
                    tx.prepare_cached(
                        "INSERT INTO fx_rates(base, quote, market, market_date, rate, source, entered_by, entered_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![
                        row.base,
                        row.quote,
                        row.market,
                        row.market_date,
                        row.rate,
                        row.source,
                        row.entered_by,
                        row.entered_at
                    ])?;
                    added += 1;
                }
            }
        }
        if added > 0 {
            audit::append(&tx, entry)?;
            tx.commit()?;
        }
        Ok(FxWrite::Written { added, unchanged })
    }

    /// The latest rate of the pair dated on or before `market_date` (YYYY-MM-DD).
    pub fn fx_rate_on_or_before(&self, base: &str, quote: &str, market_date: &str) -> StoreResult<Option<FxRateRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{FX_SELECT} WHERE base = ?1 AND quote = ?2 AND market_date <= ?3 ORDER BY market_date DESC LIMIT 1"
            ))?
            .query_row(params![base, quote, market_date], fx_from_row)
            .optional()?)
    }

    /// Every rate of one base currency, for reconciliation: one query per run.
    pub fn fx_rates_of_base(&self, base: &str) -> StoreResult<Vec<FxRateRow>> {
        let mut stmt = self.conn.prepare_cached(&format!("{FX_SELECT} WHERE base = ?1 ORDER BY quote, market_date"))?;
        let rows = stmt.query_map(params![base], fx_from_row)?;
        rows.collect::<Result<_, _>>().map_err(StoreError::from)
    }

    /// Rates, newest date first, optionally of one pair; at most `limit`.
    pub fn fx_rates(&self, pair: Option<(&str, &str)>, limit: u32) -> StoreResult<Vec<FxRateRow>> {
        let (base, quote) = pair.unzip();
        let mut stmt = self.conn.prepare_cached(&format!(
            "{FX_SELECT} WHERE (?1 IS NULL OR base = ?1) AND (?2 IS NULL OR quote = ?2)
             ORDER BY market_date DESC, base, quote LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![base, quote, limit], fx_from_row)?;
        rows.collect::<Result<_, _>>().map_err(StoreError::from)
    }
}
