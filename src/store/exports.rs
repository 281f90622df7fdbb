//! The ledger's payments and settlement rows for the daily exports, streamed
//! in id order by market date, PSP, market and store.

use super::{Store, StoreResult};

/// What one export selects. Instants are UTC seconds: each market's
/// `[from, to)` is its own business days' span, since the markets' clocks differ.
#[derive(Debug, Clone)]
pub struct LedgerExportFilter {
    /// `(country code, currency code, from, to)` for every market exported.
    pub markets: Vec<(&'static str, &'static str, i64, i64)>,
    /// Market dates as `YYYY-MM-DD`, for settlement rows that carry their own date.
    pub from_date: String,
    pub to_date: String,
    pub psp: Option<String>,
    pub store: Option<String>,
}

pub struct PaymentExportRow {
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub store: String,
    pub country: String,
    pub network: String,
    pub status: String,
    pub psp_status: String,
    pub amount_minor: i64,
    pub currency: String,
    pub created_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub voucher_code: String,
}

pub struct SettlementExportRow {
    pub psp: String,
    pub row_type: String,
    pub payment_id: String,
    pub order_id: String,
    pub store: String,
    pub settled_on: Option<String>,
    pub created_at: Option<i64>,
    pub local_amount_minor: i64,
    pub local_currency: String,
    pub fx_rate: String,
    pub settlement_currency: String,
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub net_minor: i64,
}

/// The shared WHERE parts: `time_sql` is the instant that dates a row,
/// `market_sql` the column naming its market (a country or a currency code).
fn filter_sql(
    filter: &LedgerExportFilter,
    time_sql: &str,
    market_sql: &str,
    by_currency: bool,
    own_date_sql: Option<&str>,
) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut spans = Vec::new();
    for (country, currency, from, to) in &filter.markets {
        values.push(Box::new(if by_currency { *currency } else { *country }));
        let market = values.len();
        values.push(Box::new(*from));
        values.push(Box::new(*to));
        spans.push(format!(
            "({market_sql} = ?{market} AND {time_sql} >= ?{} AND {time_sql} < ?{})",
            market + 1,
            market + 2
        ));
    }
    let mut clauses = vec![if spans.is_empty() { "0".to_string() } else { format!("({})", spans.join(" OR ")) }];
    if let Some(own_date) = own_date_sql {
        // A row with its own market date is dated by it, in the markets asked for.
        let markets: Vec<String> = filter
            .markets
            .iter()
            .map(|(country, currency, _, _)| {
                values.push(Box::new(if by_currency { *currency } else { *country }));
                format!("?{}", values.len())
            })
            .collect();
        values.push(Box::new(filter.from_date.clone()));
        values.push(Box::new(filter.to_date.clone()));
        let (from, to) = (values.len() - 1, values.len());
        clauses[0] = format!(
            "(CASE WHEN {own_date} IS NOT NULL THEN {market_sql} IN ({}) AND {own_date} >= ?{from} AND {own_date} <= ?{to} ELSE {} END)",
            markets.join(", "),
            clauses[0]
        );
    }
    if let Some(psp) = &filter.psp {
        values.push(Box::new(psp.clone()));
        clauses.push(format!("x.psp = ?{}", values.len()));
    }
    if let Some(store) = &filter.store {
        values.push(Box::new(store.clone()));
        clauses.push(format!("o.store = ?{}", values.len()));
    }
    (clauses.join(" AND "), values)
}

impl Store {
    /// Payments dated by their payment time, else their creation, in market time.
    pub fn for_each_payment_export(
        &self,
        filter: &LedgerExportFilter,
        mut each: impl FnMut(&PaymentExportRow) -> Result<(), String>,
    ) -> StoreResult<u64> {
        let (where_sql, values) = filter_sql(filter, "coalesce(x.paid_at, x.created_at)", "x.country", false, None);
        let sql = format!(
            "SELECT x.psp, x.payment_id, coalesce(l.order_id, x.order_id), coalesce(o.store, ''), x.country, x.network,
                    x.status, x.psp_status, x.amount_minor, x.currency, x.created_at, x.paid_at, x.expires_at,
                    x.voucher_code
             FROM payments x
             LEFT JOIN payment_links l ON l.payment = x.id
             LEFT JOIN orders o ON o.order_id = coalesce(l.order_id, x.order_id)
             WHERE {where_sql} ORDER BY x.id"
        );
        let read = |r: &rusqlite::Row<'_>| {
            Ok(PaymentExportRow {
                psp: r.get(0)?,
                payment_id: r.get(1)?,
                order_id: r.get(2)?,
                store: r.get(3)?,
                country: r.get(4)?,
                network: r.get(5)?,
                status: r.get(6)?,
                psp_status: r.get(7)?,
                amount_minor: r.get(8)?,
                currency: r.get(9)?,
                created_at: r.get(10)?,
                paid_at: r.get(11)?,
                expires_at: r.get(12)?,
                voucher_code: r.get(13)?,
            })
        };
        super::stream_rows(self, &sql, values, read, |row| each(&row))
    }

    /// Settlement rows dated by their own settlement date, else their creation
    /// time in market time; the market is their local currency's.
    pub fn for_each_settlement_export(
        &self,
        filter: &LedgerExportFilter,
        mut each: impl FnMut(&SettlementExportRow) -> Result<(), String>,
    ) -> StoreResult<u64> {
        let (where_sql, values) = filter_sql(filter, "x.created_at", "x.local_currency", true, Some("x.settled_on"));
        let sql = format!(
            "SELECT x.psp, x.row_type, x.payment_id, x.order_id, coalesce(o.store, ''), x.settled_on, x.created_at,
                    x.local_amount_minor, x.local_currency, x.fx_rate, x.settlement_currency, x.gross_minor,
                    x.fee_minor, x.net_minor
             FROM settlements x
             LEFT JOIN orders o ON o.order_id = x.order_id
             WHERE {where_sql} ORDER BY x.id"
        );
        let read = |r: &rusqlite::Row<'_>| {
            Ok(SettlementExportRow {
                psp: r.get(0)?,
                row_type: r.get(1)?,
                payment_id: r.get(2)?,
                order_id: r.get(3)?,
                store: r.get(4)?,
                settled_on: r.get(5)?,
                created_at: r.get(6)?,
                local_amount_minor: r.get(7)?,
                local_currency: r.get(8)?,
                fx_rate: r.get(9)?,
                settlement_currency: r.get(10)?,
                gross_minor: r.get(11)?,
                fee_minor: r.get(12)?,
                net_minor: r.get(13)?,
            })
        };
        super::stream_rows(self, &sql, values, read, |row| each(&row))
    }
}
