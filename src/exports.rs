//! The ledger's own records as files finance keeps and compares with the
//! PSPs' reports: payments and settlement rows by market date, PSP, market
//! and store, through the one formula-safe CSV writer. The exception queue
//! and the refunds list have their exports beside them.

use crate::export_csv::{Cell, ExportCsvError, ExportWriter};
use crate::market::Country;
use crate::money::{Currency, format_minor};
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{LedgerExportFilter, Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Market days one export may span.
pub const EXPORT_DAYS_MAX: i64 = 366;
/// Rows one export writes at most; a larger one is refused, not cut short.
pub const EXPORT_ROWS_MAX: u64 = 2_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Permission(#[from] OperatorError),
    #[error("the export ends ({to}) before it starts ({from})")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("an export spans at most {EXPORT_DAYS_MAX} market days; {days} asked")]
    TooLong { days: i64 },
    #[error("more than {EXPORT_ROWS_MAX} rows match: narrow the dates, PSP, market or store")]
    TooMany,
    #[error("{0}")]
    Write(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Permission(_) => "exports.forbidden",
            ExportError::Backwards { .. } => "exports.backwards",
            ExportError::TooLong { .. } => "exports.too_long",
            ExportError::TooMany => "exports.too_many",
            ExportError::Write(_) => "exports.write",
            ExportError::Store(_) => "exports.store",
        }
    }

    /// Refused as asked (nothing written); otherwise a fault of the disk or the ledger.
    pub fn is_refusal(&self) -> bool {
        match self {
            ExportError::Permission(_)
            | ExportError::Backwards { .. }
            | ExportError::TooLong { .. }
            | ExportError::TooMany => true,
            ExportError::Write(_) | ExportError::Store(_) => false,
        }
    }
}

impl From<ExportCsvError> for ExportError {
    fn from(e: ExportCsvError) -> ExportError {
        ExportError::Write(e.to_string())
    }
}

/// Which records, by market date (inclusive) and optional PSP, market and store.
#[derive(Debug, Clone)]
pub struct ExportQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub psp: Option<String>,
    /// Both markets when `None`.
    pub market: Option<Country>,
    pub store: Option<String>,
}

fn market_currency(country: Country) -> Currency {
    match country {
        Country::Colombia => Currency::Cop,
        Country::Peru => Currency::Pen,
    }
}

/// Midnight of `date` in `country`'s clock, as a UTC instant.
fn market_midnight(country: Country, date: NaiveDate) -> i64 {
    let local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    country.zone().from_local_datetime(&local).earliest().map(|t| t.timestamp()).unwrap_or_else(|| {
        // Neither market has a gap at midnight; UTC midnight is the nearest sane answer.
        local.and_utc().timestamp()
    })
}

/// The markets asked for (both when `None`), each with the UTC instants its
/// market days `from..=to` start and end at.
pub(crate) fn market_windows(
    market: Option<Country>,
    from: NaiveDate,
    to: NaiveDate,
) -> impl Iterator<Item = (Country, i64, i64)> {
    let after = to.succ_opt().unwrap_or(to);
    [Country::Colombia, Country::Peru]
        .into_iter()
        .filter(move |c| market.is_none_or(|m| m == *c))
        .map(move |c| (c, market_midnight(c, from), market_midnight(c, after)))
}

impl ExportQuery {
    fn filter(&self) -> Result<LedgerExportFilter, ExportError> {
        if self.to < self.from {
            return Err(ExportError::Backwards { from: self.from, to: self.to });
        }
        let days = (self.to - self.from).num_days() + 1;
        if days > EXPORT_DAYS_MAX {
            return Err(ExportError::TooLong { days });
        }
        let markets = market_windows(self.market, self.from, self.to)
            .map(|(c, start, end)| (c.code(), market_currency(c).code(), start, end))
            .collect();
        Ok(LedgerExportFilter {
            markets,
            from_date: self.from.to_string(),
            to_date: self.to.to_string(),
            psp: self.psp.clone(),
            store: self.store.clone(),
        })
    }
}

fn utc(at: Option<i64>) -> String {
    at.and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn market_date(country: Option<Country>, at: Option<i64>) -> String {
    match (country, at.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))) {
        (Some(c), Some(t)) => c.business_date(t).to_string(),
        (None, _) | (_, None) => String::new(),
    }
}

fn amount(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| format_minor(minor, c)).unwrap_or_else(|_| minor.to_string())
}

const PAYMENT_HEADER: [&str; 15] = [
    "market_date",
    "psp",
    "payment_id",
    "order_id",
    "store",
    "country",
    "network",
    "status",
    "psp_status",
    "amount",
    "currency",
    "created_at_utc",
    "paid_at_utc",
    "expires_at_utc",
    "voucher_code",
];

/// Writes the payments dated (paid, else created) within the query's market
/// days; returns the rows written. A refused export leaves no file behind.
pub fn export_payments(
    store: &Store,
    operator: &Operator,
    query: &ExportQuery,
    path: &Path,
) -> Result<u64, ExportError> {
    operator.require(Permission::Lookup)?;
    let filter = query.filter()?;
    let mut writer = ExportWriter::create(path, &PAYMENT_HEADER)?;
    let mut rows = 0_u64;
    let written = store.for_each_payment_export(&filter, |p| {
        let country = Country::parse(&p.country).ok();
        let cells = [
            Cell::Text(&market_date(country, p.paid_at.or(p.created_at))),
            Cell::Text(&p.psp),
            Cell::Text(&p.payment_id),
            Cell::Text(&p.order_id),
            Cell::Text(&p.store),
            Cell::Text(&p.country),
            Cell::Text(&p.network),
            Cell::Text(&p.status),
            Cell::Text(&p.psp_status),
            Cell::Number(&amount(p.amount_minor, &p.currency)),
            Cell::Text(&p.currency),
            Cell::Text(&utc(p.created_at)),
            Cell::Text(&utc(p.paid_at)),
            Cell::Text(&utc(p.expires_at)),
            Cell::Text(&p.voucher_code),
        ];
        write_row(&mut writer, &mut rows, &cells)
    });
    finish(writer, written, path)
}

const SETTLEMENT_HEADER: [&str; 14] = [
    "market_date",
    "psp",
    "row_type",
    "payment_id",
    "order_id",
    "store",
    "local_amount",
    "local_currency",
    "fx_rate",
    "settlement_currency",
    "gross",
    "fee",
    "net",
    "created_at_utc",
];

/// Writes the settlement rows of every type dated (their settlement date,
/// else their creation) within the query's market days.
pub fn export_settlements(
    store: &Store,
    operator: &Operator,
    query: &ExportQuery,
    path: &Path,
) -> Result<u64, ExportError> {
    operator.require(Permission::Lookup)?;
    let filter = query.filter()?;
    let mut writer = ExportWriter::create(path, &SETTLEMENT_HEADER)?;
    let mut rows = 0_u64;
    let written = store.for_each_settlement_export(&filter, |s| {
        let country = Currency::parse(&s.local_currency).ok().and_then(crate::fx::market_of);
        let date = s.settled_on.clone().unwrap_or_else(|| market_date(country, s.created_at));
        let cells = [
            Cell::Text(&date),
            Cell::Text(&s.psp),
            Cell::Text(&s.row_type),
            Cell::Text(&s.payment_id),
            Cell::Text(&s.order_id),
            Cell::Text(&s.store),
            Cell::Number(&amount(s.local_amount_minor, &s.local_currency)),
            Cell::Text(&s.local_currency),
            Cell::Number(&s.fx_rate),
            Cell::Text(&s.settlement_currency),
            Cell::Number(&amount(s.gross_minor, &s.settlement_currency)),
            Cell::Number(&amount(s.fee_minor, &s.settlement_currency)),
            Cell::Number(&amount(s.net_minor, &s.settlement_currency)),
            Cell::Text(&utc(s.created_at)),
        ];
        write_row(&mut writer, &mut rows, &cells)
    });
    finish(writer, written, path)
}

/// Money of one currency on a report: how many rows and their sum (minor units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "LedgerSum"))]
pub struct Sum {
    pub rows: u64,
    pub amount_minor: i64,
}

/// What a day's payments and settlement rows add up to, per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LedgerTotals {
    /// Payments dated in the range (paid, else created).
    pub payments: u64,
    /// Of those, paid (a paid time on record), by currency.
    pub paid: BTreeMap<String, Sum>,
    /// Settlement rows dated in the range.
    pub settlement_rows: u64,
    /// Net settled, by settlement currency and row type ("PAYMENT", "REFUND"…).
    pub settled_net: BTreeMap<String, BTreeMap<String, Sum>>,
}

/// The totals of what [`export_payments`] and [`export_settlements`] write for `query`.
pub fn ledger_totals(store: &Store, operator: &Operator, query: &ExportQuery) -> Result<LedgerTotals, ExportError> {
    operator.require(Permission::Lookup)?;
    let filter = query.filter()?;
    let mut totals = LedgerTotals::default();
    store.for_each_payment_export(&filter, |p| {
        totals.payments += 1;
        if p.paid_at.is_some() {
            let sum = totals.paid.entry(p.currency.clone()).or_default();
            sum.rows += 1;
            sum.amount_minor += p.amount_minor;
        }
        Ok(())
    })?;
    store.for_each_settlement_export(&filter, |s| {
        totals.settlement_rows += 1;
        let by_type = totals.settled_net.entry(s.settlement_currency.clone()).or_default();
        let sum = by_type.entry(s.row_type.clone()).or_default();
        sum.rows += 1;
        sum.amount_minor += s.net_minor;
        Ok(())
    })?;
    Ok(totals)
}

/// What the row callbacks say when the export grows past its limit.
const TOO_MANY: &str = "export row limit";

/// Writes one row of an export, counted in `rows`; past [`EXPORT_ROWS_MAX`]
/// rows it stops the export instead.
fn write_row(writer: &mut ExportWriter, rows: &mut u64, cells: &[Cell<'_>]) -> Result<(), String> {
    *rows += 1;
    if *rows > EXPORT_ROWS_MAX {
        return Err(TOO_MANY.into());
    }
    writer.row(cells).map_err(|e| e.to_string())
}

/// Flushes a finished export, or removes the partial file of a failed one:
/// a file on disk is always a whole export.
fn finish(writer: ExportWriter, written: Result<u64, StoreError>, path: &Path) -> Result<u64, ExportError> {
    let failed = |error: ExportError| {
        // Best effort: the error that stopped the export is what the caller needs.
        let _ = std::fs::remove_file(path);
        Err(error)
    };
    let rows = match written {
        Ok(rows) => rows,
        Err(error) => {
            drop(writer);
            return failed(match error {
                StoreError::Invalid(reason) if reason == TOO_MANY => ExportError::TooMany,
                StoreError::Invalid(reason) => ExportError::Write(reason),
                other => ExportError::Store(other),
            });
        }
    };
    match writer.finish() {
        Ok(()) => Ok(rows),
        Err(error) => failed(error.into()),
    }
}
