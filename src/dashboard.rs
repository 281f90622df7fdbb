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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dashboard {
    /// `null`: both markets.
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
    /// What settlement reports took out again (refunds, chargebacks, fees):
    /// paid − settled is only explained with these.
    pub settled_out: Vec<SettledOut>,
}

/// Money out of one settlement row type in one currency (a magnitude).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettledOut {
    /// `REFUND`, `CHARGEBACK` or `FEE`.
    pub row_type: String,
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
            DashboardError::Store(e) => e.code(),
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
    summary_at(store, market, as_of, Utc::now())
}

/// `summary` as seen at `now`: the open exceptions' age buckets count from
/// each exception's business event up to `now`.
pub fn summary_at(
    store: &Store,
    market: Option<Country>,
    as_of: Option<NaiveDate>,
    now: chrono::DateTime<Utc>,
) -> Result<Dashboard, DashboardError> {
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
    let open = exceptions::counts_at(store, &query, now)?;
    let country = market.map(|c| c.code());
    let end = as_of
        .or_else(|| run_as_of.as_deref().and_then(|d| d.parse().ok()))
        .unwrap_or_else(|| Country::Colombia.business_date(now));
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
        settled_out: store
            .settled_out_totals(market.map(market_currency))?
            .into_iter()
            .map(|(row_type, currency, count, amount_minor)| SettledOut { row_type, currency, count, amount_minor })
            .collect(),
    })
}

fn market_currency(country: Country) -> &'static str {
    match country {
        Country::Colombia => crate::money::Currency::Cop.code(),
        Country::Peru => crate::money::Currency::Pen.code(),
    }
}

/// The part of a stored run summary the dashboard reads.
#[derive(serde::Deserialize)]
struct ReconcileSummaryLite {
    #[serde(default)]
    markets: BTreeMap<String, MarketCounts>,
}

// ------------------------------------------------------------------ refunds

/// Days of the refund failure rate (and its warning banner).
pub const REFUND_FAILURE_WINDOW_DAYS: i64 = 7;
/// From this share of failed refunds (in percent) on, the dashboard warns
/// (seed 002: "3 % or more").
pub const REFUND_FAILURE_WARN_PERCENT: i64 = 3;
/// Days of time-to-approve and amounts by reason.
pub const REFUND_STATS_DAYS: i64 = 30;

/// The refund failure rate: failed + rejected_by_psp over the refunds that
/// reached a final PSP answer (succeeded, failed, rejected_by_psp; a refund
/// cancelled before submission never reached the PSP and does not count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FailureRate {
    pub failed: i64,
    pub finished: i64,
    /// failed / finished in basis points (10000 = 100 %); `None` with nothing finished.
    pub rate_bp: Option<i64>,
    /// At [`REFUND_FAILURE_WARN_PERCENT`] or above: exactly 3 % warns.
    pub warning: bool,
}

impl FailureRate {
    pub fn new(failed: i64, finished: i64) -> FailureRate {
        debug_assert!(0 <= failed && failed <= finished);
        FailureRate {
            failed,
            finished,
            rate_bp: (finished > 0).then(|| failed * 10_000 / finished),
            // Exact integer comparison: failed / finished >= 3 / 100.
            warning: finished > 0 && failed * 100 >= REFUND_FAILURE_WARN_PERCENT * finished,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TierPending {
    pub tier: i64,
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReasonAmount {
    pub reason: String,
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RefundDashboard {
    pub pending_by_tier: Vec<TierPending>,
    /// Median seconds from request to full approval over the last [`REFUND_STATS_DAYS`]
    /// (the lower middle of an even count); `None` when nothing was approved.
    pub median_approve_seconds: Option<i64>,
    pub approved_count: i64,
    pub by_reason: Vec<ReasonAmount>,
    pub failure: FailureRate,
}

/// The lower median of sorted values.
fn median(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() { None } else { Some(sorted[(sorted.len() - 1) / 2]) }
}

/// The refund panel as of `now`.
pub fn refunds(store: &Store, now: chrono::DateTime<Utc>) -> Result<RefundDashboard, DashboardError> {
    let since = (now - chrono::Duration::days(REFUND_STATS_DAYS)).timestamp();
    let finished_since = (now - chrono::Duration::days(REFUND_FAILURE_WINDOW_DAYS)).timestamp();
    let f = store.refund_figures(since, finished_since)?;
    let mut seconds = f.approve_seconds;
    seconds.sort_unstable();
    let finished: i64 = f.finished.iter().map(|(_, n)| n).sum();
    let failed: i64 = f.finished.iter().filter(|(s, _)| s == "failed" || s == "rejected_by_psp").map(|(_, n)| n).sum();
    Ok(RefundDashboard {
        pending_by_tier: f
            .pending_by_tier
            .into_iter()
            .map(|(tier, currency, count, amount_minor)| TierPending { tier, currency, count, amount_minor })
            .collect(),
        median_approve_seconds: median(&seconds),
        approved_count: seconds.len() as i64,
        by_reason: f
            .by_reason
            .into_iter()
            .map(|(reason, currency, count, amount_minor)| ReasonAmount { reason, currency, count, amount_minor })
            .collect(),
        failure: FailureRate::new(failed, finished),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_banner_shows_from_three_percent_on() {
        let exactly = FailureRate::new(3, 100);
        assert_eq!((exactly.rate_bp, exactly.warning), (Some(300), true));
        let just_below = FailureRate::new(299, 10_000);
        assert_eq!((just_below.rate_bp, just_below.warning), (Some(299), false));
        let above = FailureRate::new(31, 1_000);
        assert_eq!((above.rate_bp, above.warning), (Some(310), true));
        let below = FailureRate::new(29, 1_000);
        assert_eq!((below.rate_bp, below.warning), (Some(290), false));
        let four = FailureRate::new(4, 100);
        assert_eq!((four.rate_bp, four.warning), (Some(400), true));
        let none = FailureRate::new(0, 0);
        assert_eq!((none.rate_bp, none.warning), (None, false));
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[1, 2, 9]), Some(2));
        assert_eq!(median(&[1, 2, 8, 9]), Some(2));
    }
}
