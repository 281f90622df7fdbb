//! Aggregates for the dashboard.

use super::{Store, StoreResult};
use rusqlite::OptionalExtension;

/// Seconds between UTC and both markets' civil time (Bogotá and Lima are UTC−5
/// all year, no daylight saving since the 1990s); used to group by market date.
const MARKET_OFFSET_SECONDS: i64 = -5 * 3600;

impl Store {
    /// The summary JSON of the latest reconciliation run, if any.
    pub fn latest_run_summary(&self) -> StoreResult<Option<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT as_of, summary_json FROM reconcile_runs ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Paid amounts per currency (minor units) for a market (`None`: all).
    pub fn paid_totals(&self, country: Option<&str>) -> StoreResult<Vec<(String, i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT currency, count(*), sum(amount_minor) FROM payments
             WHERE status = 'paid' AND (?1 IS NULL OR country = ?1) GROUP BY currency ORDER BY currency",
        )?;
        let rows = stmt.query_map([country], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Settled amounts (local currency, payment rows) per currency for a market.
    pub fn settled_totals(&self, country: Option<&str>) -> StoreResult<Vec<(String, i64, i64)>> {
        let sql = match country {
            None => {
                "SELECT local_currency, count(*), sum(local_amount_minor) FROM settlements
                 WHERE row_type = 'PAYMENT' AND ?1 IS NULL GROUP BY local_currency ORDER BY local_currency"
            }
            Some(_) => {
                "SELECT s.local_currency, count(*), sum(s.local_amount_minor) FROM settlements s
                 JOIN payments p ON p.payment_id = s.payment_id AND p.psp = s.psp
                 WHERE s.row_type = 'PAYMENT' AND p.country = ?1 GROUP BY s.local_currency ORDER BY s.local_currency"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map([country], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Money the settlement reports take out again, per row type and local
    /// currency (refunds, chargebacks, fees), as magnitudes. A market is
    /// chosen by its currency: account fees name no payment.
    pub fn settled_out_totals(&self, currency: Option<&str>) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT row_type, local_currency, count(*), sum(abs(local_amount_minor)) FROM settlements
             WHERE row_type <> 'PAYMENT' AND (?1 IS NULL OR local_currency = ?1)
             GROUP BY row_type, local_currency ORDER BY row_type, local_currency",
        )?;
        let rows = stmt.query_map([currency], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Paid payments per market date in [from, to) (seconds), with their
    /// amounts per currency: (date, currency, count, amount_minor).
    pub fn paid_per_day(
        &self,
        country: Option<&str>,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT date(paid_at + ?4, 'unixepoch') AS day, currency, count(*), sum(amount_minor) FROM payments
             WHERE status = 'paid' AND paid_at >= ?2 AND paid_at < ?3 AND (?1 IS NULL OR country = ?1)
             GROUP BY day, currency ORDER BY day, currency",
        )?;
        let rows = stmt.query_map(rusqlite::params![country, from, to, MARKET_OFFSET_SECONDS], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
