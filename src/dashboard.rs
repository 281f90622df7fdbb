//! The dashboard: match rate, open exceptions by kind and age, paid versus
//! settled, and a 30-day trend, for one market or all.

use crate::exceptions::{self, ExceptionError, ExceptionQuery, ExceptionStatus};
use crate::market::Country;
use crate::reconcile::MarketCounts;
use crate::store::{Store, StoreError};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Days in the trend chart.
pub const TREND_DAYS: i64 = 30;

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub market: Option<Country>,
    /// The last reconciliation's date and counts; `None` before the first run.
    pub as_of: Option<String>,
    pub orders: u64,
    pub paid_orders: u64,
    pub matched: u64,
    /// matched / paid_orders, in basis points (10000 = 100 %), to stay exact.
    pub match_rate_bp: Option<u64>,
    pub open_by_kind: BTreeMap<String, i64>,
    pub open_by_age: BTreeMap<&'static str, i64>,
    pub open_total: i64,
    pub paid: Vec<CurrencyTotal>,
    pub settled: Vec<CurrencyTotal>,
    pub trend: Vec<TrendDay>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendDay {
    /// Market date.
    pub day: String,
    pub currency: String,
    pub paid_count: i64,
    pub paid_minor: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Exceptions(#[from] ExceptionError),
}

impl DashboardError {
    pub fn code(&self) -> &'static str {
        match self {
            DashboardError::Store(_) => "store",
            DashboardError::Exceptions(e) => e.code(),
        }
    }
}

fn totals(rows: Vec<(String, i64, i64)>) -> Vec<CurrencyTotal> {
    rows.into_iter().map(|(currency, count, amount_minor)| CurrencyTotal { currency, count, amount_minor }).collect()
}

/// The dashboard for `market` (`None`: both), with the trend ending on `as_of`
/// (default: the last reconciliation's date, else today in the markets).
pub fn summary(store: &Store, market: Option<Country>, as_of: Option<NaiveDate>) -> Result<Dashboard, DashboardError> {
    let run = store.latest_run_summary()?;
    let (run_as_of, counts) = match &run {
        Some((as_of, json)) => {
            let parsed: Option<ReconcileSummaryLite> = serde_json::from_str(json).ok();
            let counts = parsed.map(|p| match market {
                Some(c) => p.markets.get(c.code()).copied().unwrap_or_default(),
                None => p.markets.values().fold(MarketCounts::default(), |a, m| MarketCounts {
                    orders: a.orders + m.orders,
                    paid_orders: a.paid_orders + m.paid_orders,
                    matched: a.matched + m.matched,
                }),
            });
            (Some(as_of.clone()), counts.unwrap_or_default())
        }
        None => (None, MarketCounts::default()),
    };
    let query = ExceptionQuery {
        status: Some(ExceptionStatus::Open),
        country: market.map(|c| c.code().to_string()),
        ..ExceptionQuery::default()
    };
    let open = exceptions::counts(store, &query)?;
    let country = market.map(|c| c.code());
    let end = as_of
        .or_else(|| run_as_of.as_deref().and_then(|d| d.parse().ok()))
        .unwrap_or_else(|| Country::Colombia.business_date(Utc::now()));
    let zone = market.unwrap_or(Country::Colombia).zone();
    let day_start = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or(0)
    };
    let to = day_start(end + chrono::Duration::days(1));
    let from = day_start(end - chrono::Duration::days(TREND_DAYS - 1));
    let trend = store
        .paid_per_day(country, from, to)?
        .into_iter()
        .map(|(day, currency, paid_count, paid_minor)| TrendDay { day, currency, paid_count, paid_minor })
        .collect();
    Ok(Dashboard {
        market,
        as_of: run_as_of,
        orders: counts.orders,
        paid_orders: counts.paid_orders,
        matched: counts.matched,
        match_rate_bp: (counts.paid_orders > 0).then(|| counts.matched * 10_000 / counts.paid_orders),
        open_by_kind: open.by_kind,
        open_by_age: open.by_age,
        open_total: open.total,
        paid: totals(store.paid_totals(country)?),
        settled: totals(store.settled_totals(country)?),
        trend,
    })
}

/// The part of a stored run summary the dashboard reads.
#[derive(serde::Deserialize)]
struct ReconcileSummaryLite {
    #[serde(default)]
    markets: BTreeMap<String, MarketCounts>,
}
