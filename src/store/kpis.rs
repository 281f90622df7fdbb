//! The facts the operations KPIs are computed from: the payments created in
//! a range of market dates with their first paid observation and their
//! settlement date, and the refunds submitted or finished in such a range.

use super::{Store, StoreResult};

/// What the KPIs read. Instants are UTC seconds: each market's `[from, to)`
/// is its own span of market days, since the markets' clocks differ.
#[derive(Debug, Clone)]
pub struct KpiFilter {
    /// `(country code, from, to)` for every market asked for.
    pub markets: Vec<(&'static str, i64, i64)>,
    pub psp: Option<String>,
    /// The statuses that mean the payment was paid (paid and what follows it).
    pub paid_statuses: Vec<&'static str>,
}

/// One payment with what the KPIs need about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiPaymentRow {
    pub psp: String,
    pub country: String,
    pub status: String,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// The earliest observation of a paid status: its status, the PSP's time
    /// for it, when we saw it and where (`file`, `api`, `notification`, `manual`).
    pub first_paid_status: Option<String>,
    pub first_paid_status_at: Option<i64>,
    pub first_paid_observed_at: Option<i64>,
    pub first_paid_source: Option<String>,
    /// The earliest settlement date of its `PAYMENT` settlement rows.
    pub settled_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiRefundRow {
    pub psp: String,
    /// The refunded payment's market.
    pub country: String,
    pub status: String,
    pub submitted_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// Which instant places a refund in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundDatedBy {
    Submitted,
    Finished,
}

/// The market spans over `time_sql`, and the PSP when asked.
fn filter_sql(filter: &KpiFilter, time_sql: &str, market_sql: &str) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut spans = Vec::new();
    for (country, from, to) in &filter.markets {
        values.push(Box::new(*country));
        values.push(Box::new(*from));
        values.push(Box::new(*to));
        let n = values.len();
        spans.push(format!("({market_sql} = ?{} AND {time_sql} >= ?{} AND {time_sql} < ?{n})", n - 2, n - 1));
    }
    let mut clauses = vec![if spans.is_empty() { "0".to_string() } else { format!("({})", spans.join(" OR ")) }];
    if let Some(psp) = &filter.psp {
        values.push(Box::new(psp.clone()));
        clauses.push(format!("x.psp = ?{}", values.len()));
    }
    (clauses.join(" AND "), values)
}

impl Store {
    /// The payments created within the filter's market days, in id order.
    pub fn for_each_kpi_payment(
        &self,
        filter: &KpiFilter,
        each: impl FnMut(KpiPaymentRow) -> Result<(), String>,
    ) -> StoreResult<u64> {
        let (where_sql, mut values) = filter_sql(filter, "x.created_at", "x.country");
        let statuses: Vec<String> = filter
            .paid_statuses
            .iter()
            .map(|s| {
                values.push(Box::new(*s));
                format!("?{}", values.len())
            })
            .collect();
        let statuses = if statuses.is_empty() { "NULL".to_string() } else { statuses.join(", ") };
        let sql = format!(
            "SELECT x.psp, x.country, x.status, x.created_at, x.paid_at, x.expires_at,
                    h.status, h.status_at, h.observed_at, h.source,
                    (SELECT min(s.settled_on) FROM settlements s
                      WHERE s.payment_id = x.payment_id AND s.psp = x.psp AND s.row_type = 'PAYMENT'
                        AND s.settled_on IS NOT NULL)
             FROM payments x
             LEFT JOIN payment_status_history h ON h.id = (
                 SELECT f.id FROM payment_status_history f
                  WHERE f.payment = x.id AND f.status IN ({statuses})
                  ORDER BY f.observed_at, f.id LIMIT 1)
             WHERE x.created_at IS NOT NULL AND {where_sql} ORDER BY x.id"
        );
        let read = |r: &rusqlite::Row<'_>| {
            Ok(KpiPaymentRow {
                psp: r.get(0)?,
                country: r.get(1)?,
                status: r.get(2)?,
                created_at: r.get(3)?,
                paid_at: r.get(4)?,
                expires_at: r.get(5)?,
                first_paid_status: r.get(6)?,
                first_paid_status_at: r.get(7)?,
                first_paid_observed_at: r.get(8)?,
                first_paid_source: r.get(9)?,
                settled_on: r.get(10)?,
            })
        };
        super::stream_rows(self, &sql, values, read, each)
    }

    /// The refunds submitted (or finished) within the filter's market days,
    /// in the market of the payment they refund, in id order.
    pub fn for_each_kpi_refund(
        &self,
        filter: &KpiFilter,
        dated_by: RefundDatedBy,
        each: impl FnMut(KpiRefundRow) -> Result<(), String>,
    ) -> StoreResult<u64> {
        let time_sql = match dated_by {
            RefundDatedBy::Submitted => "x.submitted_at",
            RefundDatedBy::Finished => "x.finished_at",
        };
        let (where_sql, values) = filter_sql(filter, time_sql, "p.country");
        let sql = format!(
            "SELECT x.psp, p.country, x.status, x.submitted_at, x.finished_at
             FROM refunds x
             JOIN payments p ON p.payment_id = x.payment_id AND p.psp = x.psp
             WHERE {time_sql} IS NOT NULL AND {where_sql} ORDER BY x.id"
        );
        let read = |r: &rusqlite::Row<'_>| {
            Ok(KpiRefundRow {
                psp: r.get(0)?,
                country: r.get(1)?,
                status: r.get(2)?,
                submitted_at: r.get(3)?,
                finished_at: r.get(4)?,
            })
        };
        super::stream_rows(self, &sql, values, read, each)
    }
}
