//! Operations KPIs over a range of market dates, per PSP and market and
//! overall: how many vouchers get paid and how fast, how late we learn it
//! (and how often the PSP's notification never came), how the PSP answers
//! refunds, and whether settlements arrive within each account's terms.
//! Every date is the market's own (America/Bogota for CO, America/Lima for PE).

use crate::calendar;
use crate::dashboard::FailureRate;
use crate::exports::market_windows;
use crate::market::Country;
use crate::operators::{Operator, OperatorError, Permission};
use crate::payments::PaymentStatus;
use crate::refunds::RefundStatus;
use crate::store::{KpiFilter, KpiPaymentRow, KpiRefundRow, RefundDatedBy, Store, StoreError};
use crate::terms::{self, TermsError, TermsSettings};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Market days one KPI report may span.
pub const KPI_DAYS_MAX: i64 = 366;
/// Payments one report reads at most; a larger one is refused, not cut short.
pub const KPI_PAYMENTS_MAX: u64 = 5_000_000;
/// Refunds one report reads at most (per kind of dating).
pub const KPI_REFUNDS_MAX: u64 = 1_000_000;
/// Basis points in a whole (10000 = 100 %).
const BP_WHOLE: u64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    #[error(transparent)]
    Permission(#[from] OperatorError),
    #[error("the range ends ({to}) before it starts ({from})")]
    Backwards { from: NaiveDate, to: NaiveDate },
    #[error("a KPI report spans at most {KPI_DAYS_MAX} market days; {days} asked")]
    TooLong { days: i64 },
    #[error("more than {0} records match: narrow the dates, PSP or market")]
    TooMany(u64),
    #[error("the ledger holds a record the KPIs cannot read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Terms(#[from] TermsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl KpiError {
    pub fn code(&self) -> &'static str {
        match self {
            KpiError::Permission(_) => "kpis.forbidden",
            KpiError::Backwards { .. } => "kpis.backwards",
            KpiError::TooLong { .. } => "kpis.too_long",
            KpiError::TooMany(_) => "kpis.too_many",
            KpiError::Corrupt(_) => "kpis.corrupt",
            KpiError::Terms(_) => "kpis.terms",
            KpiError::Store(_) => "kpis.store",
        }
    }

    /// Bad input from the caller, as opposed to a fault of the ledger.
    pub fn is_refusal(&self) -> bool {
        match self {
            KpiError::Permission(_) | KpiError::Backwards { .. } | KpiError::TooLong { .. } | KpiError::TooMany(_) => {
                true
            }
            KpiError::Corrupt(_) | KpiError::Terms(_) | KpiError::Store(_) => false,
        }
    }
}

/// Which market days (inclusive), and optionally one PSP and one market.
#[derive(Debug, Clone)]
pub struct KpiQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub psp: Option<String>,
    /// Both markets when `None`.
    pub market: Option<Country>,
}

/// The median and 90th percentile of a set of durations, by the
/// nearest-rank definition: the p-th percentile of n sorted values is the
/// value at rank ⌈p·n/100⌉ (1-based), so always one of the values, never an
/// interpolation; the median of an even count is the lower middle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Spread {
    pub count: u64,
    pub median: Option<i64>,
    pub p90: Option<i64>,
}

/// The value at nearest rank ⌈percent·n/100⌉ of `sorted`.
pub fn nearest_rank(sorted: &[i64], percent: u64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    sorted.get((rank - 1) as usize).copied()
}

impl Spread {
    fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        Spread { count: values.len() as u64, median: nearest_rank(&values, 50), p90: nearest_rank(&values, 90) }
    }
}

/// Settlement against the account's terms (`T+N` business days from the
/// paid market date), for paid payments with a `PAYMENT` settlement row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettlementKpis {
    pub settled: u64,
    pub on_time: u64,
    pub late: u64,
    /// Business days taken, paid market date → settlement date.
    pub business_days: Spread,
    /// Business days past the term, over the late ones only.
    pub days_late: Spread,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Kpis {
    /// Payments created in the range.
    pub vouchers: u64,
    /// Of those, paid (or refunded, reversed, charged back since).
    pub paid: u64,
    /// paid / vouchers in basis points (10000 = 100 %); `None` without vouchers.
    pub success_rate_bp: Option<u64>,
    /// Expired at the PSP, or still pending past the voucher's expiry.
    pub expired_unpaid: u64,
    pub expired_unpaid_bp: Option<u64>,
    /// Minutes from voucher creation to the PSP's paid time.
    pub minutes_to_pay: Spread,
    /// Minutes from the PSP's paid time to our first sight of it.
    pub sync_delay_minutes: Spread,
    /// Paid payments whose first paid observation is known.
    pub paid_observed: u64,
    /// Of those, first learnt from a report file, a poll or an operator
    /// rather than the PSP's notification.
    pub callbacks_missed: u64,
    pub callbacks_missed_bp: Option<u64>,
    /// Refunds submitted in the range and answered: submitted → finished at the PSP.
    pub refund_response_minutes: Spread,
    /// Refunds submitted in the range still waiting for the PSP's answer.
    pub refunds_awaiting: u64,
    /// Over refunds finished in the range; warns at 3 % or more.
    pub refund_failure: FailureRate,
    pub settlement: SettlementKpis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelKpis {
    pub psp: String,
    pub market: Country,
    /// The account's settlement term, `T+N` business days.
    pub settle_business_days: u32,
    #[serde(flatten)]
    pub kpis: Kpis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub psp: Option<String>,
    pub market: Option<Country>,
    /// One per PSP and market with any record, by PSP then market.
    pub channels: Vec<ChannelKpis>,
    pub overall: Kpis,
}

/// Where a payment's status was first seen (`payment_status_history.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeenBy {
    File,
    Api,
    Notification,
    Manual,
}

impl SeenBy {
    fn parse(text: &str) -> Option<SeenBy> {
        match text {
            "file" => Some(SeenBy::File),
            "api" => Some(SeenBy::Api),
            "notification" => Some(SeenBy::Notification),
            "manual" => Some(SeenBy::Manual),
            _ => None,
        }
    }

    /// Learnt some other way than the PSP telling us: the callback was missed.
    fn missed_callback(self) -> bool {
        match self {
            SeenBy::Notification => false,
            SeenBy::File | SeenBy::Api | SeenBy::Manual => true,
        }
    }
}

/// The running facts of one channel (or of all).
#[derive(Debug, Default)]
struct Tally {
    vouchers: u64,
    paid: u64,
    expired_unpaid: u64,
    minutes_to_pay: Vec<i64>,
    sync_delay_minutes: Vec<i64>,
    paid_observed: u64,
    callbacks_missed: u64,
    refund_response_minutes: Vec<i64>,
    refunds_awaiting: u64,
    refunds_failed: i64,
    refunds_finished: i64,
    settle_days: Vec<i64>,
    on_time: u64,
    days_late: Vec<i64>,
}

fn share_bp(part: u64, whole: u64) -> Option<u64> {
    (whole > 0).then(|| part * BP_WHOLE / whole)
}

impl Tally {
    fn finish(self) -> Kpis {
        Kpis {
            vouchers: self.vouchers,
            paid: self.paid,
            success_rate_bp: share_bp(self.paid, self.vouchers),
            expired_unpaid: self.expired_unpaid,
            expired_unpaid_bp: share_bp(self.expired_unpaid, self.vouchers),
            minutes_to_pay: Spread::of(self.minutes_to_pay),
            sync_delay_minutes: Spread::of(self.sync_delay_minutes),
            paid_observed: self.paid_observed,
            callbacks_missed: self.callbacks_missed,
            callbacks_missed_bp: share_bp(self.callbacks_missed, self.paid_observed),
            refund_response_minutes: Spread::of(self.refund_response_minutes),
            refunds_awaiting: self.refunds_awaiting,
            refund_failure: FailureRate::new(self.refunds_failed, self.refunds_finished),
            settlement: SettlementKpis {
                settled: self.settle_days.len() as u64,
                on_time: self.on_time,
                late: self.days_late.len() as u64,
                business_days: Spread::of(self.settle_days),
                days_late: Spread::of(self.days_late),
            },
        }
    }
}

/// Whole minutes between two UTC instants in seconds, rounded down.
fn minutes(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(60)
}

impl KpiQuery {
    fn filter(&self) -> Result<KpiFilter, KpiError> {
        if self.to < self.from {
            return Err(KpiError::Backwards { from: self.from, to: self.to });
        }
        let days = (self.to - self.from).num_days() + 1;
        if days > KPI_DAYS_MAX {
            return Err(KpiError::TooLong { days });
        }
        let markets =
            market_windows(self.market, self.from, self.to).map(|(c, start, end)| (c.code(), start, end)).collect();
        let paid_statuses =
            PaymentStatus::ALL.into_iter().filter(|s| s.was_paid()).map(PaymentStatus::as_str).collect();
        Ok(KpiFilter { markets, psp: self.psp.clone(), paid_statuses })
    }
}

type Channels = BTreeMap<(String, &'static str), (Country, Tally)>;

fn country_of(text: &str) -> Result<Country, KpiError> {
    Country::parse(text).map_err(|_| KpiError::Corrupt(format!("unknown market {text:?}")))
}

/// Adds one payment to its channel and to the overall tally.
fn count_payment(
    p: &KpiPaymentRow,
    terms: &TermsSettings,
    now: DateTime<Utc>,
    tallies: [&mut Tally; 2],
) -> Result<(), KpiError> {
    let status =
        PaymentStatus::parse(&p.status).ok_or_else(|| KpiError::Corrupt(format!("payment status {:?}", p.status)))?;
    let country = country_of(&p.country)?;
    let expired_unpaid = match status {
        PaymentStatus::Expired => true,
        // The voucher lapsed unpaid although the PSP has not said so yet.
        PaymentStatus::Pending => p.expires_at.is_some_and(|e| e <= now.timestamp()),
        PaymentStatus::Rejected
        | PaymentStatus::Cancelled
        | PaymentStatus::Paid
        | PaymentStatus::Refunded
        | PaymentStatus::Reversed
        | PaymentStatus::ChargedBack => false,
    };
    let paid = status.was_paid();
    // The PSP's paid time: the first paid observation's own time when it is a
    // paid status (a later status's time is that of the refund or reversal),
    // else the payment's paid time.
    let first_status = p.first_paid_status.as_deref().and_then(PaymentStatus::parse);
    let psp_paid_at = first_status.and_then(|s| s.paid_time(p.first_paid_status_at)).or(p.paid_at);
    let seen_by = match &p.first_paid_source {
        Some(source) => {
            Some(SeenBy::parse(source).ok_or_else(|| KpiError::Corrupt(format!("observation source {source:?}")))?)
        }
        None => None,
    };
    let settlement = match (&p.settled_on, p.paid_at) {
        (Some(on), Some(paid_at)) if paid => {
            let settled_on: NaiveDate = on.parse().map_err(|_| KpiError::Corrupt(format!("settlement date {on:?}")))?;
            let paid_on = country.business_date(DateTime::<Utc>::from_timestamp(paid_at, 0).unwrap_or_default());
            let days = calendar::business_days_between(country, paid_on, settled_on);
            Some((days, days - i64::from(terms.channel(&p.psp, country).settle_business_days)))
        }
        _ => None,
    };
    for t in tallies {
        t.vouchers += 1;
        t.expired_unpaid += u64::from(expired_unpaid);
        if !paid {
            continue;
        }
        t.paid += 1;
        if let Some(paid_at) = p.paid_at {
            t.minutes_to_pay.push(minutes(p.created_at, paid_at));
        }
        if let (Some(paid_at), Some(seen_at)) = (psp_paid_at, p.first_paid_observed_at) {
            // A PSP clock ahead of ours is no delay.
            t.sync_delay_minutes.push(minutes(paid_at, seen_at).max(0));
        }
        if let Some(seen_by) = seen_by {
            t.paid_observed += 1;
            t.callbacks_missed += u64::from(seen_by.missed_callback());
        }
        if let Some((days, late)) = settlement {
            t.settle_days.push(days);
            if late > 0 {
                t.days_late.push(late);
            } else {
                t.on_time += 1;
            }
        }
    }
    Ok(())
}

fn refund_status(r: &KpiRefundRow) -> Result<RefundStatus, KpiError> {
    RefundStatus::parse(&r.status).ok_or_else(|| KpiError::Corrupt(format!("refund status {:?}", r.status)))
}

/// A refund submitted in the range: answered (with its response time) or awaiting.
fn count_submitted(r: &KpiRefundRow, tallies: [&mut Tally; 2]) -> Result<(), KpiError> {
    let answered = match refund_status(r)? {
        RefundStatus::Succeeded | RefundStatus::Failed | RefundStatus::RejectedByPsp => {
            r.submitted_at.zip(r.finished_at).map(|(s, f)| minutes(s, f).max(0))
        }
        RefundStatus::Submitted => None,
        // Back before submission (a retry after a failed attempt) or never sent: no answer to time.
        RefundStatus::Requested | RefundStatus::PendingApproval | RefundStatus::Approved | RefundStatus::Cancelled => {
            return Ok(());
        }
    };
    for t in tallies {
        match answered {
            Some(m) => t.refund_response_minutes.push(m),
            None => t.refunds_awaiting += 1,
        }
    }
    Ok(())
}

/// A refund finished in the range: counts towards the failure rate.
fn count_finished(r: &KpiRefundRow, tallies: [&mut Tally; 2]) -> Result<(), KpiError> {
    let failed = match refund_status(r)? {
        RefundStatus::Succeeded => false,
        RefundStatus::Failed | RefundStatus::RejectedByPsp => true,
        // Not a final answer from the PSP (a failed one sent back for a retry counts when it ends).
        RefundStatus::Requested
        | RefundStatus::PendingApproval
        | RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Cancelled => return Ok(()),
    };
    for t in tallies {
        t.refunds_finished += 1;
        t.refunds_failed += i64::from(failed);
    }
    Ok(())
}

/// The channel's tally (created on first use) and the overall one.
fn tallies<'a>(channels: &'a mut Channels, overall: &'a mut Tally, psp: &str, country: Country) -> [&'a mut Tally; 2] {
    let (_, tally) = channels.entry((psp.to_string(), country.code())).or_insert_with(|| (country, Tally::default()));
    [tally, overall]
}

/// Runs a store scan whose row callback may fail with a [`KpiError`] or
/// outgrow `limit`.
fn scan<T>(
    limit: u64,
    run: impl FnOnce(&mut dyn FnMut(T) -> Result<(), String>) -> Result<u64, StoreError>,
    mut each: impl FnMut(T) -> Result<(), KpiError>,
) -> Result<(), KpiError> {
    let mut failure = None;
    let mut rows = 0_u64;
    let scanned = run(&mut |row| {
        rows += 1;
        let outcome = if rows > limit { Err(KpiError::TooMany(limit)) } else { each(row) };
        outcome.map_err(|e| {
            let text = e.to_string();
            failure = Some(e);
            text
        })
    });
    match (failure, scanned) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(_)) => Ok(()),
    }
}

/// The KPIs of `query` as seen at `now` (a voucher pending past its expiry at
/// `now` counts as expired unpaid). Any operator may read them.
pub fn report(store: &Store, operator: &Operator, query: &KpiQuery, now: DateTime<Utc>) -> Result<KpiReport, KpiError> {
    operator.require(Permission::Lookup)?;
    let filter = query.filter()?;
    let terms = terms::get(store)?;
    let mut channels = Channels::new();
    let mut overall = Tally::default();
    scan(
        KPI_PAYMENTS_MAX,
        |each| store.for_each_kpi_payment(&filter, each),
        |p: KpiPaymentRow| {
            let country = country_of(&p.country)?;
            count_payment(&p, &terms, now, tallies(&mut channels, &mut overall, &p.psp, country))
        },
    )?;
    scan(
        KPI_REFUNDS_MAX,
        |each| store.for_each_kpi_refund(&filter, RefundDatedBy::Submitted, each),
        |r: KpiRefundRow| {
            let country = country_of(&r.country)?;
            count_submitted(&r, tallies(&mut channels, &mut overall, &r.psp, country))
        },
    )?;
    scan(
        KPI_REFUNDS_MAX,
        |each| store.for_each_kpi_refund(&filter, RefundDatedBy::Finished, each),
        |r: KpiRefundRow| {
            let country = country_of(&r.country)?;
            count_finished(&r, tallies(&mut channels, &mut overall, &r.psp, country))
        },
    )?;
    Ok(KpiReport {
        from: query.from,
        to: query.to,
        psp: query.psp.clone(),
        market: query.market,
        channels: channels
            .into_iter()
            .map(|((psp, _), (market, tally))| ChannelKpis {
                settle_business_days: terms.channel(&psp, market).settle_business_days,
                psp,
                market,
                kpis: tally.finish(),
            })
            .collect(),
        overall: overall.finish(),
    })
}

/// Market days one daily series may span (one report per day).
pub const KPI_SERIES_DAYS_MAX: i64 = 92;

/// What the dashboard draws each KPI against. Only the refund failure rate's
/// comes from the seeds (002: 3 % or more needs a look); the others are
/// starting points for cash vouchers, shown as lines beside the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KpiTargets {
    /// Paid / vouchers issued, at least.
    pub success_rate_min_bp: u64,
    /// Expired unpaid / vouchers issued, at most.
    pub expired_unpaid_max_bp: u64,
    /// Median minutes from the PSP's paid time to our first sight of it, at most.
    pub sync_delay_median_max_minutes: i64,
    /// Paid payments first learnt otherwise than by the PSP's notification, at most.
    pub callbacks_missed_max_bp: u64,
    /// Failed refunds / finished refunds, below (at or above warns).
    pub refund_failure_max_bp: u64,
}

pub const KPI_TARGETS: KpiTargets = KpiTargets {
    success_rate_min_bp: 6_000,
    expired_unpaid_max_bp: 3_000,
    sync_delay_median_max_minutes: 60,
    callbacks_missed_max_bp: 500,
    refund_failure_max_bp: crate::dashboard::REFUND_FAILURE_WARN_PERCENT as u64 * 100,
};

/// One market day's KPIs, for the dashboard's charts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KpiDay {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub date: NaiveDate,
    pub vouchers: u64,
    pub success_rate_bp: Option<u64>,
    pub expired_unpaid_bp: Option<u64>,
    pub sync_delay_median_minutes: Option<i64>,
    pub callbacks_missed_bp: Option<u64>,
    pub refund_failure_bp: Option<i64>,
}

/// The dashboard's KPI panel: the range's figures, one point per market day, and the targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KpiPanel {
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub from: NaiveDate,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub to: NaiveDate,
    pub overall: Kpis,
    pub days: Vec<KpiDay>,
    pub targets: KpiTargets,
}

/// The range's KPIs and each day's, as [`report`] computes them (the same
/// numbers `voucherdesk kpis` prints, day by day).
pub fn panel(store: &Store, operator: &Operator, query: &KpiQuery, now: DateTime<Utc>) -> Result<KpiPanel, KpiError> {
    let days = (query.to - query.from).num_days() + 1;
    if days > KPI_SERIES_DAYS_MAX {
        return Err(KpiError::TooLong { days });
    }
    let overall = report(store, operator, query, now)?.overall;
    let mut series = Vec::new();
    for date in query.from.iter_days().take(days.max(0) as usize) {
        let one = KpiQuery { from: date, to: date, ..query.clone() };
        let k = report(store, operator, &one, now)?.overall;
        series.push(KpiDay {
            date,
            vouchers: k.vouchers,
            success_rate_bp: k.success_rate_bp,
            expired_unpaid_bp: k.expired_unpaid_bp,
            sync_delay_median_minutes: k.sync_delay_minutes.median,
            callbacks_missed_bp: k.callbacks_missed_bp,
            refund_failure_bp: k.refund_failure.rate_bp,
        });
    }
    Ok(KpiPanel { from: query.from, to: query.to, overall, days: series, targets: KPI_TARGETS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90_are_nearest_rank_values() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // n = 4: median rank ⌈2⌉ = 2 (the lower middle, no averaging), p90 rank ⌈3.6⌉ = 4.
        assert_eq!(nearest_rank(&[1, 2, 8, 9], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 8, 9], 90), Some(9));
        // n = 10: p90 rank exactly 9; n = 11: ⌈9.9⌉ = 10; n = 19: ⌈17.1⌉ = 18.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!((nearest_rank(&ten, 50), nearest_rank(&ten, 90)), (Some(5), Some(9)));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!((nearest_rank(&eleven, 50), nearest_rank(&eleven, 90)), (Some(6), Some(10)));
        let nineteen: Vec<i64> = (1..=19).map(|i| i * 10).collect();
        assert_eq!((nearest_rank(&nineteen, 50), nearest_rank(&nineteen, 90)), (Some(100), Some(180)));
        // Unsorted input is sorted first.
        assert_eq!(Spread::of(vec![9, 1, 8, 2]), Spread { count: 4, median: Some(2), p90: Some(9) });
        assert_eq!(Spread::of(vec![]), Spread { count: 0, median: None, p90: None });
    }

    #[test]
    fn the_refund_failure_rate_warns_from_three_percent_on() {
        let mut t = Tally::default();
        let row = |status: &str| KpiRefundRow {
            psp: "dlocal".into(),
            country: "CO".into(),
            status: status.into(),
            submitted_at: Some(0),
            finished_at: Some(60),
        };
        let mut other = Tally::default();
        for _ in 0..97 {
            count_finished(&row("succeeded"), [&mut t, &mut other]).unwrap();
        }
        count_finished(&row("failed"), [&mut t, &mut other]).unwrap();
        count_finished(&row("rejected_by_psp"), [&mut t, &mut other]).unwrap();
        // Not final answers: no effect.
        count_finished(&row("approved"), [&mut t, &mut other]).unwrap();
        count_finished(&row("cancelled"), [&mut t, &mut other]).unwrap();
        // 2 of 99 in the channel and overall alike: 202 bp, no warning.
        let rate = |t: &Tally| FailureRate::new(t.refunds_failed, t.refunds_finished);
        assert_eq!(rate(&t), FailureRate { failed: 2, finished: 99, rate_bp: Some(202), warning: false });
        assert_eq!(rate(&other), rate(&t));
        count_finished(&row("failed"), [&mut t, &mut other]).unwrap();
        // 3 of 100: exactly 3 % warns.
        assert_eq!(
            t.finish().refund_failure,
            FailureRate { failed: 3, finished: 100, rate_bp: Some(300), warning: true }
        );
        assert!(matches!(
            count_finished(&row("lost"), [&mut Tally::default(), &mut Tally::default()]),
            Err(KpiError::Corrupt(m)) if m == "refund status \"lost\""
        ));
    }

    #[test]
    fn a_backwards_or_too_long_range_is_refused() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let q = |from, to| KpiQuery { from: d(from), to: d(to), psp: None, market: None };
        let e = q("2026-03-02", "2026-03-01").filter().unwrap_err();
        assert_eq!(
            (e.code(), e.to_string()),
            ("kpis.backwards", "the range ends (2026-03-01) before it starts (2026-03-02)".into())
        );
        // 2026-01-01 … 2027-01-01 is 366 market days (inclusive): allowed; one more is refused.
        assert!(q("2026-01-01", "2027-01-01").filter().is_ok());
        let e = q("2026-01-01", "2027-01-02").filter().unwrap_err();
        assert_eq!(
            (e.code(), e.to_string()),
            ("kpis.too_long", "a KPI report spans at most 366 market days; 367 asked".into())
        );
    }
}
