//! The daily report (seeds 001 and 004: compare the day's transactions with
//! the PSP's report, and keep them for Peru's tax rules): for one market date,
//! per market, the day's payments and settlement rows as CSV or `.xlsx`
//! (through the one export writer) and a one-page PDF summary with the day's
//! KPIs, what was paid and settled, and the open exceptions by age and kind.
//!
//! Written into a folder of the operator's choosing: the files of a run appear
//! together or not at all (they are written aside first, then moved in).
//! `schedule` emails it every market day.

pub mod schedule;

use crate::dashboard::{self, DashboardError};
use crate::export_csv::is_xlsx;
use crate::exports::{self, ExportError, ExportQuery, LedgerTotals};
use crate::kpis::{self, KpiError, KpiQuery, Kpis};
use crate::market::Country;
use crate::money::{Currency, format_minor};
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Exception kinds the summary names one by one; the rest are counted together.
const SUMMARY_KINDS_MAX: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum DailyReportError {
    #[error(transparent)]
    Permission(#[from] OperatorError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Kpis(#[from] KpiError),
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
    #[error("the report folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("the summary PDF could not be made: {0}")]
    Pdf(String),
    #[error("{0}")]
    BadSchedule(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Notifications(#[from] crate::notifications::NotificationError),
}

impl DailyReportError {
    pub fn code(&self) -> &'static str {
        match self {
            DailyReportError::Permission(e) => e.code(),
            DailyReportError::Export(e) => e.code(),
            DailyReportError::Kpis(e) => e.code(),
            DailyReportError::Dashboard(e) => e.code(),
            DailyReportError::Folder { .. } => "report.folder",
            DailyReportError::Pdf(_) => "report.pdf",
            DailyReportError::BadSchedule(_) => "report.bad_schedule",
            DailyReportError::Store(e) => e.code(),
            DailyReportError::Notifications(e) => e.code(),
        }
    }

    pub fn is_refusal(&self) -> bool {
        match self {
            DailyReportError::Permission(_) | DailyReportError::Folder { .. } | DailyReportError::BadSchedule(_) => {
                true
            }
            DailyReportError::Export(e) => e.is_refusal(),
            DailyReportError::Kpis(e) => e.is_refusal(),
            DailyReportError::Dashboard(_)
            | DailyReportError::Pdf(_)
            | DailyReportError::Store(_)
            | DailyReportError::Notifications(_) => false,
        }
    }
}

/// The data files' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ReportDataFormat"))]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    Csv,
    Xlsx,
}

impl DataFormat {
    fn extension(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Xlsx => "xlsx",
        }
    }
}

/// One market's part of the report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DailyMarketReport"))]
pub struct MarketReport {
    pub market: Country,
    pub totals: LedgerTotals,
    pub kpis: Kpis,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, number>"))]
    pub open_by_age: BTreeMap<&'static str, i64>,
    pub open_by_kind: BTreeMap<String, i64>,
    #[cfg_attr(feature = "ts", ts(type = "Array<string>"))]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DailyReport {
    pub date: NaiveDate,
    pub markets: Vec<MarketReport>,
}

/// The report of market date `date` into `folder` (created if missing), for
/// each market (or `market` only). Any operator may make it.
pub fn daily(
    store: &Store,
    operator: &Operator,
    date: NaiveDate,
    market: Option<Country>,
    folder: &Path,
    format: DataFormat,
    now: DateTime<Utc>,
) -> Result<DailyReport, DailyReportError> {
    operator.require(Permission::Lookup)?;
    let folder_error = |reason: String| DailyReportError::Folder { path: folder.to_path_buf(), reason };
    std::fs::create_dir_all(folder).map_err(|e| folder_error(e.to_string()))?;
    // Written aside in the same folder (so the final move is a rename), moved in at the end.
    let aside =
        Aside(folder.join(format!(".voucherdesk-daily-{date}-{}-{}", std::process::id(), now.timestamp_micros())));
    std::fs::create_dir(&aside.0).map_err(|e| folder_error(e.to_string()))?;
    let mut markets = Vec::new();
    for country in [Country::Colombia, Country::Peru].into_iter().filter(|c| market.is_none_or(|m| m == *c)) {
        markets.push(one_market(store, operator, date, country, &aside.0, format, now)?);
    }
    for m in &mut markets {
        for file in &mut m.files {
            let name = file.file_name().map(PathBuf::from).unwrap_or_default();
            let target = folder.join(&name);
            std::fs::rename(&*file, &target).map_err(|e| folder_error(format!("{}: {e}", name.display())))?;
            *file = target;
        }
    }
    Ok(DailyReport { date, markets })
}

/// A folder removed with whatever it still holds when dropped (a run that failed).
struct Aside(PathBuf);

impl Drop for Aside {
    fn drop(&mut self) {
        // Best effort: the error that stopped the run is what the caller needs.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One market's figures of the day (no files): what the summary page says.
pub fn market_figures(
    store: &Store,
    operator: &Operator,
    date: NaiveDate,
    country: Country,
    now: DateTime<Utc>,
) -> Result<MarketReport, DailyReportError> {
    operator.require(Permission::Lookup)?;
    let query = ExportQuery { from: date, to: date, psp: None, market: Some(country), store: None };
    let totals = exports::ledger_totals(store, operator, &query)?;
    let kpi_query = KpiQuery { from: date, to: date, psp: None, market: Some(country) };
    let kpis = kpis::report(store, operator, &kpi_query, now)?.overall;
    let queue = dashboard::summary_at(store, Some(country), Some(date), now)?;
    Ok(MarketReport {
        market: country,
        totals,
        kpis,
        open_by_age: queue.open_by_age,
        open_by_kind: queue.open_by_kind,
        files: Vec::new(),
    })
}

fn one_market(
    store: &Store,
    operator: &Operator,
    date: NaiveDate,
    country: Country,
    dir: &Path,
    format: DataFormat,
    now: DateTime<Utc>,
) -> Result<MarketReport, DailyReportError> {
    let stem = format!("voucherdesk-daily-{date}-{}", country.code());
    let query = ExportQuery { from: date, to: date, psp: None, market: Some(country), store: None };
    let payments = dir.join(format!("{stem}-payments.{}", format.extension()));
    let settlements = dir.join(format!("{stem}-settlements.{}", format.extension()));
    debug_assert_eq!(is_xlsx(&payments), format == DataFormat::Xlsx);
    exports::export_payments(store, operator, &query, &payments)?;
    exports::export_settlements(store, operator, &query, &settlements)?;
    let mut report = market_figures(store, operator, date, country, now)?;
    report.files = vec![payments, settlements];
    let pdf = dir.join(format!("{stem}.pdf"));
    let lines = crate::pdf_page::wrap(summary_lines(date, &report, now));
    let bytes = crate::pdf_page::render(&format!("VoucherDesk daily report {date} {}", country.code()), &lines)
        .map_err(DailyReportError::Pdf)?;
    std::fs::write(&pdf, bytes).map_err(|e| DailyReportError::Pdf(e.to_string()))?;
    report.files.push(pdf);
    Ok(report)
}

fn money(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map(|c| format_minor(minor, c)).unwrap_or_else(|_| minor.to_string()) + " " + currency
}

fn rate(bp: Option<u64>) -> String {
    bp.map(|bp| format!("{}.{:02} %", bp / 100, bp % 100)).unwrap_or_else(|| "-".into())
}

fn minutes(m: Option<i64>) -> String {
    m.map(|m| format!("{m} min")).unwrap_or_else(|| "-".into())
}

/// The summary page's lines (also what a test reads back from the PDF).
pub fn summary_lines(date: NaiveDate, r: &MarketReport, now: DateTime<Utc>) -> Vec<String> {
    let k = &r.kpis;
    let mut out = vec![
        format!("VoucherDesk - Daily report / Reporte diario - {date} - {}", r.market.code()),
        format!("Market date {date} ({}); made {}", r.market.zone().name(), now.format("%Y-%m-%d %H:%M UTC")),
        String::new(),
        format!("Payments dated that day:   {}", r.totals.payments),
    ];
    for (currency, sum) in &r.totals.paid {
        out.push(format!("  paid:                    {} ({} payments)", money(sum.amount_minor, currency), sum.rows));
    }
    out.push(format!("Settlement rows that day:  {}", r.totals.settlement_rows));
    for (currency, by_type) in &r.totals.settled_net {
        for (row_type, sum) in by_type {
            out.push(format!(
                "  {row_type:<8} net:            {} ({} rows)",
                money(sum.amount_minor, currency),
                sum.rows
            ));
        }
    }
    out.extend([
        String::new(),
        "KPIs of the day".to_string(),
        format!("  vouchers issued:         {}", k.vouchers),
        format!("  paid:                    {}", k.paid),
        format!("  payment success rate:    {}", rate(k.success_rate_bp)),
        format!("  expired unpaid:          {} ({})", k.expired_unpaid, rate(k.expired_unpaid_bp)),
        format!("  time to pay, median/p90: {} / {}", minutes(k.minutes_to_pay.median), minutes(k.minutes_to_pay.p90)),
        format!(
            "  status-sync delay:       {} / {}",
            minutes(k.sync_delay_minutes.median),
            minutes(k.sync_delay_minutes.p90)
        ),
        format!(
            "  callbacks missed:        {} of {} ({})",
            k.callbacks_missed,
            k.paid_observed,
            rate(k.callbacks_missed_bp)
        ),
        format!(
            "  refund failure rate:     {} of {} ({}){}",
            k.refund_failure.failed,
            k.refund_failure.finished,
            rate(k.refund_failure.rate_bp.map(|b| b.max(0) as u64)),
            if k.refund_failure.warning { "  WARNING: 3 % or more" } else { "" }
        ),
        String::new(),
        format!("Open exceptions: {}", r.open_by_kind.values().sum::<i64>()),
    ]);
    let ages: Vec<String> = r.open_by_age.iter().map(|(age, n)| format!("{age} {n}")).collect();
    out.push(format!("  by age (days): {}", ages.join(", ")));
    let mut kinds: Vec<(&String, &i64)> = r.open_by_kind.iter().filter(|(_, n)| **n > 0).collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown = kinds.len().min(SUMMARY_KINDS_MAX);
    for (kind, n) in &kinds[..shown] {
        out.push(format!("  {kind:<28} {n}"));
    }
    if kinds.len() > shown {
        let rest: i64 = kinds[shown..].iter().map(|(_, n)| **n).sum();
        out.push(format!("  {:<28} {rest}", "other kinds"));
    }
    out
}
