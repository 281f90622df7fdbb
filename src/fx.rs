//! Dated exchange rates: entered by hand or imported from a bank's file of
//! daily rates, and read by the refund approval, which refuses a rate more
//! than one business day old in the market.
//!
//! A pair `USD/COP` reads "1 USD = rate COP"; its quote currency names the
//! market (COP: Colombia, PEN: Peru) whose calendar dates the rate. A rate is
//! never changed once recorded: the same pair and date again with the same
//! rate is a no-op, with another rate a refusal.

use crate::audit::audit_entry;
use crate::market::Country;
use crate::money::Currency;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{FxRateRow, FxWrite, Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::path::Path;
use std::str::FromStr;

/// A rate's text: "4125.50", at most this many characters.
pub const FX_RATE_TEXT_CHARS_MAX: usize = 24;
/// Decimal places a rate may carry.
pub const FX_RATE_DECIMALS_MAX: u32 = 6;
/// A rate's source ("Bancolombia TRM file", "manual"): a short label.
pub const FX_SOURCE_CHARS_MAX: usize = 120;
/// A bank's file of daily rates: some years of them.
pub const FX_IMPORT_ROWS_MAX: usize = 20_000;
pub const FX_IMPORT_BYTES_MAX: u64 = 2_000_000;
/// Rates one list page may hold.
pub const FX_LIST_ROWS_MAX: u32 = 1_000;
/// Colombia's TRM is published the day before it applies: a rate may be
/// dated a few days ahead of the market's today, not more.
pub const FX_DATE_AHEAD_DAYS_MAX: i64 = 7;
/// Business days a rate stays usable for approving a refund.
pub const FX_RATE_AGE_BUSINESS_DAYS_MAX: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum FxError {
    #[error("currency pair {0:?}: expected BASE/QUOTE with the market's currency as QUOTE, e.g. USD/COP or USD/PEN")]
    BadPair(String),
    #[error("date {0:?}: expected YYYY-MM-DD (the market date the rate applies to)")]
    BadDate(String),
    #[error("date {date} is more than {FX_DATE_AHEAD_DAYS_MAX} days after today in the market ({today})")]
    DateAhead { date: NaiveDate, today: NaiveDate },
    #[error(
        "rate {0:?}: expected a positive decimal with `.` as the decimal point and at most {FX_RATE_DECIMALS_MAX} decimals, e.g. 4125.50"
    )]
    BadRate(String),
    #[error("the source is longer than {FX_SOURCE_CHARS_MAX} characters")]
    SourceTooLong,
    #[error(
        "{pair} for {date} is already recorded as {existing} (by {by}, {origin}): a recorded rate is never changed"
    )]
    Conflict { pair: String, date: String, existing: String, by: String, origin: String },
    /// A file's problem, with where it is: nothing of the file was written.
    #[error("{file}:{line}: {message}")]
    BadRow { file: String, line: u64, message: String },
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error("stored rate is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FxError {
    pub fn code(&self) -> &'static str {
        match self {
            FxError::BadPair(_) => "fx.bad_pair",
            FxError::BadDate(_) | FxError::DateAhead { .. } => "fx.bad_date",
            FxError::BadRate(_) => "fx.bad_rate",
            FxError::SourceTooLong => "fx.source_too_long",
            FxError::Conflict { .. } => "fx.conflict",
            FxError::BadRow { .. } | FxError::BadFile { .. } => "fx.bad_file",
            FxError::Forbidden(e) => e.code(),
            FxError::Corrupt(_) => "fx.corrupt",
            FxError::Store(_) => "store.error",
        }
    }

    /// The caller's input was refused (as opposed to a failure of ours).
    pub fn is_refusal(&self) -> bool {
        match self {
            FxError::Corrupt(_) | FxError::Store(_) | FxError::Forbidden(OperatorError::Store(_)) => false,
            FxError::BadPair(_)
            | FxError::BadDate(_)
            | FxError::DateAhead { .. }
            | FxError::BadRate(_)
            | FxError::SourceTooLong
            | FxError::Conflict { .. }
            | FxError::BadRow { .. }
            | FxError::BadFile { .. }
            | FxError::Forbidden(_) => true,
        }
    }
}

/// 1 `base` = rate `quote`; the quote currency's market dates the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FxPair {
    pub base: Currency,
    pub quote: Currency,
}

impl FxPair {
    pub fn parse(text: &str) -> Result<FxPair, FxError> {
        let bad = || FxError::BadPair(text.trim().to_string());
        let (base, quote) = text.trim().split_once('/').ok_or_else(bad)?;
        let base = Currency::parse(base.trim()).map_err(|_| bad())?;
        let quote = Currency::parse(quote.trim()).map_err(|_| bad())?;
        let pair = FxPair { base, quote };
        if base == quote || pair.market().is_none() {
            return Err(bad());
        }
        Ok(pair)
    }

    /// The market whose currency is quoted (and whose calendar dates the rate).
    pub fn market(self) -> Option<Country> {
        market_of(self.quote)
    }

    pub fn name(self) -> String {
        format!("{}/{}", self.base, self.quote)
    }
}

/// The market of a local currency; USD has none.
pub fn market_of(currency: Currency) -> Option<Country> {
    match currency {
        Currency::Cop => Some(Country::Colombia),
        Currency::Pen => Some(Country::Peru),
        Currency::Usd => None,
    }
}

/// A business day in `market`: its public-holiday calendar (`crate::calendar`).
pub fn is_business_day(market: Country, date: NaiveDate) -> bool {
    crate::calendar::is_business_day(market, date)
}

/// The last business day in `market` before `date`.
pub fn previous_business_day(market: Country, date: NaiveDate) -> NaiveDate {
    let mut day = date - TimeDelta::days(1);
    // A calendar never has more than a few non-business days in a row.
    while !is_business_day(market, day) {
        day -= TimeDelta::days(1);
    }
    day
}

/// The oldest rate date still usable on `today`: one business day back.
pub fn oldest_usable_date(market: Country, today: NaiveDate) -> NaiveDate {
    let mut day = today;
    for _ in 0..FX_RATE_AGE_BUSINESS_DAYS_MAX {
        day = previous_business_day(market, day);
    }
    day
}

/// Every rate of one base currency, held in memory for reconciliation: a
/// run looks up one rate per converted payment, so the table loads once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateTable {
    /// Per quote currency, (market date, rate) in ascending date order.
    by_quote: Vec<(Currency, Vec<(NaiveDate, Decimal)>)>,
}

impl RateTable {
    /// The table of `rows` (any order, one base currency).
    pub fn from_rows(rows: Vec<FxRateRow>) -> Result<RateTable, FxError> {
        let mut table = RateTable::default();
        for row in rows {
            let rate = FxRate::from_row(row)?;
            let pair = FxPair::parse(&rate.pair).map_err(|_| FxError::Corrupt(format!("fx rate {}: pair", rate.id)))?;
            let dates = match table.by_quote.iter_mut().find(|(q, _)| *q == pair.quote) {
                Some((_, dates)) => dates,
                None => {
                    table.by_quote.push((pair.quote, Vec::new()));
                    &mut table.by_quote.last_mut().expect("just pushed").1
                }
            };
            dates.push((rate.market_date, rate.rate.normalize()));
        }
        for (_, dates) in &mut table.by_quote {
            dates.sort_by_key(|(date, _)| *date);
        }
        Ok(table)
    }

    /// The latest rate quoted in `quote` dated on or before `date`.
    pub fn on_or_before(&self, quote: Currency, date: NaiveDate) -> Option<(NaiveDate, Decimal)> {
        let (_, dates) = self.by_quote.iter().find(|(q, _)| *q == quote)?;
        let after = dates.partition_point(|(d, _)| *d <= date);
        after.checked_sub(1).map(|i| dates[i])
    }
}

/// A recorded rate, as the CLI and the app show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FxRate {
    pub id: i64,
    /// `USD/COP`.
    pub pair: String,
    pub market: Country,
    pub market_date: NaiveDate,
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    pub source: String,
    pub entered_by: String,
    pub entered_at: DateTime<Utc>,
}

impl FxRate {
    fn from_row(row: FxRateRow) -> Result<FxRate, FxError> {
        let corrupt = |what: &str| FxError::Corrupt(format!("fx rate {}: {what}", row.id));
        let pair = FxPair::parse(&format!("{}/{}", row.base, row.quote)).map_err(|_| corrupt("pair"))?;
        let market = Country::parse(&row.market).map_err(|_| corrupt("market"))?;
        let market_date =
            NaiveDate::parse_from_str(&row.market_date, "%Y-%m-%d").map_err(|_| corrupt("market date"))?;
        let rate = Decimal::from_str(&row.rate).map_err(|_| corrupt("rate"))?;
        Ok(FxRate {
            id: row.id,
            pair: pair.name(),
            market,
            market_date,
            rate,
            source: row.source,
            entered_by: row.entered_by,
            entered_at: DateTime::from_timestamp(row.entered_at, 0).unwrap_or_default(),
        })
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, FxError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| FxError::BadDate(text.trim().to_string()))
}

fn parse_rate(text: &str) -> Result<Decimal, FxError> {
    let t = text.trim();
    let bad = || FxError::BadRate(t.to_string());
    if t.is_empty() || t.len() > FX_RATE_TEXT_CHARS_MAX || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let rate = Decimal::from_str(t).map_err(|_| bad())?;
    if rate <= Decimal::ZERO || rate.scale() > FX_RATE_DECIMALS_MAX {
        return Err(bad());
    }
    Ok(rate.normalize())
}

fn check_source(source: &str) -> Result<String, FxError> {
    let s: String = source.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = s.trim().to_string();
    if s.chars().count() > FX_SOURCE_CHARS_MAX {
        return Err(FxError::SourceTooLong);
    }
    Ok(s)
}

/// One checked rate, ready to record.
fn new_row(
    pair: FxPair,
    date: NaiveDate,
    rate: Decimal,
    source: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<FxRateRow, FxError> {
    let market = pair.market().ok_or_else(|| FxError::BadPair(pair.name()))?;
    let today = market.business_date(now);
    if date > today + TimeDelta::days(FX_DATE_AHEAD_DAYS_MAX) {
        return Err(FxError::DateAhead { date, today });
    }
    Ok(FxRateRow {
        id: 0,
        base: pair.base.code().into(),
        quote: pair.quote.code().into(),
        market: market.code().into(),
        market_date: date.format("%Y-%m-%d").to_string(),
        rate: rate.to_string(),
        source: source.to_string(),
        entered_by: by.to_string(),
        entered_at: now.timestamp(),
    })
}

fn conflict(row: &FxRateRow, existing: &FxRateRow) -> FxError {
    FxError::Conflict {
        pair: format!("{}/{}", row.base, row.quote),
        date: row.market_date.clone(),
        existing: existing.rate.clone(),
        by: existing.entered_by.clone(),
        origin: existing.source.clone(),
    }
}

/// Records one rate by hand. Admins only (as every rate the refunds use).
pub fn add(
    store: &mut Store,
    operator: &Operator,
    pair: &str,
    date: &str,
    rate: &str,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FxRate, FxError> {
    operator.require(Permission::ChangeSettings)?;
    let pair = FxPair::parse(pair)?;
    let date = parse_date(date)?;
    let rate = parse_rate(rate)?;
    let source = check_source(source.unwrap_or("manual entry"))?;
    let source = if source.is_empty() { "manual entry".to_string() } else { source };
    let row = new_row(pair, date, rate, &source, &operator.name, now)?;
    let after = serde_json::json!({ "pair": pair.name(), "market_date": row.market_date, "rate": row.rate, "source": row.source });
    let entry = audit_entry(&operator.name, "fx.add", &format!("fx {}", pair.name()), "", &after.to_string());
    match store.insert_fx_rates(std::slice::from_ref(&row), &entry)? {
        FxWrite::Written { .. } => {}
        FxWrite::Conflict { existing, .. } => return Err(conflict(&row, &existing)),
    }
    let stored = store
        .fx_rate_on_or_before(&row.base, &row.quote, &row.market_date)?
        .ok_or_else(|| FxError::Corrupt(format!("{} for {} vanished", pair.name(), row.market_date)))?;
    FxRate::from_row(stored)
}

/// What an import recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FxImport {
    pub rows: usize,
    pub added: usize,
    /// Already recorded with the same rate (a file imported twice).
    pub unchanged: usize,
}

/// Imports a bank's daily rates: a CSV with the columns `date`, `pair` and
/// `rate` (any order, `,` or `;` between fields, an optional `source`
/// column). Every row is checked first: one bad row refuses the whole file,
/// naming FILE:LINE, and nothing is written.
pub fn import(
    store: &mut Store,
    operator: &Operator,
    path: &Path,
    source: Option<&str>,
    now: DateTime<Utc>,
) -> Result<FxImport, FxError> {
    operator.require(Permission::ChangeSettings)?;
    let file = path.display().to_string();
    let bad_file = |message: String| FxError::BadFile { file: file.clone(), message };
    let size = std::fs::metadata(path).map_err(|e| bad_file(e.to_string()))?.len();
    if size > FX_IMPORT_BYTES_MAX {
        return Err(bad_file(format!("{size} bytes: a rate file is at most {FX_IMPORT_BYTES_MAX} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| bad_file(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad_file("not UTF-8 text".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') && !first.contains(',') { b';' } else { b',' };
    let default_source = check_source(source.unwrap_or(""))?;
    let default_source = if default_source.is_empty() {
        format!("file {}", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    } else {
        default_source
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|e| FxError::BadRow { file: file.clone(), line: 1, message: e.to_string() })?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(date_col), Some(pair_col), Some(rate_col)) = (column("date"), column("pair"), column("rate")) else {
        return Err(FxError::BadRow {
            file: file.clone(),
            line: 1,
            message: format!(
                "the header must name the columns date, pair and rate (found: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        });
    };
    let source_col = column("source");
    let mut rows: Vec<(u64, FxRateRow)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            FxError::BadRow { file: file.clone(), line, message: e.to_string() }
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == FX_IMPORT_ROWS_MAX {
            return Err(FxError::BadRow {
                file: file.clone(),
                line,
                message: format!("a rate file holds at most {FX_IMPORT_ROWS_MAX} rates"),
            });
        }
        let at_line = |e: FxError| FxError::BadRow { file: file.clone(), line, message: e.to_string() };
        let field = |i: usize| record.get(i).unwrap_or("");
        let pair = FxPair::parse(field(pair_col)).map_err(at_line)?;
        let date = parse_date(field(date_col)).map_err(at_line)?;
        let rate = parse_rate(field(rate_col)).map_err(at_line)?;
        let source = match source_col.map(field).map(check_source).transpose().map_err(at_line)? {
            Some(s) if !s.is_empty() => s,
            Some(_) | None => default_source.clone(),
        };
        let row = new_row(pair, date, rate, &source, &operator.name, now).map_err(at_line)?;
        if let Some((first_line, earlier)) =
            rows.iter().find(|(_, r)| r.base == row.base && r.quote == row.quote && r.market_date == row.market_date)
        {
            if earlier.rate != row.rate {
                return Err(FxError::BadRow {
                    file: file.clone(),
                    line,
                    message: format!(
                        "{} for {} is {} here but {} on line {first_line}",
                        pair.name(),
                        row.market_date,
                        row.rate,
                        earlier.rate
                    ),
                });
            }
            continue;
        }
        rows.push((line, row));
    }
    if rows.is_empty() {
        return Err(bad_file("no rates in the file (expected a header line and one line per rate)".into()));
    }
    let batch: Vec<FxRateRow> = rows.iter().map(|(_, r)| r.clone()).collect();
    let after = serde_json::json!({ "file": file, "rows": batch.len(), "source": default_source });
    let entry = audit_entry(&operator.name, "fx.import", "fx rates", "", &after.to_string());
    match store.insert_fx_rates(&batch, &entry)? {
        FxWrite::Written { added, unchanged } => Ok(FxImport { rows: batch.len(), added, unchanged }),
        FxWrite::Conflict { index, existing } => {
            let (line, row) = &rows[index];
            Err(FxError::BadRow { file: file.clone(), line: *line, message: conflict(row, &existing).to_string() })
        }
    }
}

/// Recorded rates, newest date first, optionally of one pair.
pub fn list(store: &Store, pair: Option<&str>, limit: u32) -> Result<Vec<FxRate>, FxError> {
    let pair = pair.map(str::trim).filter(|p| !p.is_empty()).map(FxPair::parse).transpose()?;
    let codes = pair.map(|p| (p.base.code(), p.quote.code()));
    store.fx_rates(codes, limit.clamp(1, FX_LIST_ROWS_MAX))?.into_iter().map(FxRate::from_row).collect()
}

/// The latest rate of `pair` dated on or before `today` (a market date).
pub fn latest(store: &Store, pair: FxPair, today: NaiveDate) -> Result<Option<FxRate>, FxError> {
    let date = today.format("%Y-%m-%d").to_string();
    store.fx_rate_on_or_before(pair.base.code(), pair.quote.code(), &date)?.map(FxRate::from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_rate_table_finds_the_latest_rate_on_or_before_a_date() {
        let row = |quote: &str, date: &str, rate: &str| FxRateRow {
            id: 1,
            base: "USD".into(),
            quote: quote.into(),
            market: if quote == "COP" { "CO".into() } else { "PE".into() },
            market_date: date.into(),
            rate: rate.into(),
            source: "test".into(),
            entered_by: "t".into(),
            entered_at: 0,
        };
        let table = RateTable::from_rows(vec![
            row("COP", "2026-03-05", "4200"),
            row("COP", "2026-03-03", "4100"),
            row("PEN", "2026-03-04", "3.75"),
        ])
        .unwrap();
        let on = |q, date| table.on_or_before(q, d(date)).map(|(d, r)| (d.to_string(), r.to_string()));
        assert_eq!(on(Currency::Cop, "2026-03-02"), None);
        assert_eq!(on(Currency::Cop, "2026-03-03"), Some(("2026-03-03".into(), "4100".into())));
        assert_eq!(on(Currency::Cop, "2026-03-04"), Some(("2026-03-03".into(), "4100".into())));
        assert_eq!(on(Currency::Cop, "2026-03-09"), Some(("2026-03-05".into(), "4200".into())));
        assert_eq!(on(Currency::Pen, "2026-03-04"), Some(("2026-03-04".into(), "3.75".into())));
        assert_eq!(on(Currency::Usd, "2026-03-04"), None);
    }

    #[test]
    fn one_business_day_back_skips_the_weekend() {
        // 2026-03-02 is a Monday.
        let co = Country::Colombia;
        assert_eq!(previous_business_day(co, d("2026-03-04")), d("2026-03-03"));
        assert_eq!(previous_business_day(co, d("2026-03-02")), d("2026-02-27"));
        assert_eq!(previous_business_day(co, d("2026-03-01")), d("2026-02-27"));
        assert_eq!(previous_business_day(co, d("2026-02-28")), d("2026-02-27"));
        assert_eq!(oldest_usable_date(co, d("2026-03-02")), d("2026-02-27"));
    }

    #[test]
    fn pairs_rates_and_dates_are_checked_exactly() {
        assert_eq!(FxPair::parse(" usd/cop ").unwrap(), FxPair { base: Currency::Usd, quote: Currency::Cop });
        assert_eq!(FxPair::parse("USD/PEN").unwrap().market(), Some(Country::Peru));
        for bad in ["COP/USD", "USD/USD", "USD-COP", "EUR/COP", ""] {
            assert_eq!(FxPair::parse(bad).unwrap_err().code(), "fx.bad_pair", "{bad}");
        }
        assert_eq!(parse_rate("4125.50").unwrap().to_string(), "4125.5");
        for bad in ["4.125,50", "-1", "0", "0.0000001", "1e3", "abc", ""] {
            assert_eq!(parse_rate(bad).unwrap_err().code(), "fx.bad_rate", "{bad}");
        }
        assert_eq!(parse_date("2026-02-30").unwrap_err().code(), "fx.bad_date");
    }
}
