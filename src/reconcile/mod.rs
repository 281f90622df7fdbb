//! The reconciliation engine: orders × paid payments × settlement rows →
//! findings, one per (kind, subject). Each rule runs on its own; the rules
//! are plain functions over in-memory facts so they can be tested directly.

mod money_rules;
mod order_rules;
mod report_rules;
mod scoped;
mod settlement_checks;

use crate::audit::audit_entry;
use crate::calendar;
use crate::exceptions::ExceptionKind;
use crate::fx::{FX_RATE_AGE_BUSINESS_DAYS_MAX, FxPair, RateTable};
use crate::market::Country;
use crate::model::settlement::{SETTLEMENT_LAG_DAYS_DEFAULT, SETTLEMENT_LAG_DAYS_MAX};
use crate::money::{Currency, format_minor};
use crate::operators::{Operator, OperatorError, Permission};
use crate::orders::ShopStatus;
use crate::payments::PaymentStatus;
use crate::settlements::RowType;
use crate::store::{
    AwaitingSettlement, FactScope, FeeRate, OrderFacts, PaymentFacts, PendingFacts, RefundFacts, RunRecord,
    SettlementFacts, Store, StoreError, StoredFinding,
};
use crate::terms::{TermsSettings, settlement_due};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use money_rules::*;
use order_rules::*;
pub use report_rules::{ReportFacts, SETTLEMENT_REPORT_GRACE_BUSINESS_DAYS, SETTLEMENT_REPORT_LOOKBACK_DAYS};
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};
pub use scoped::SCOPED_CHANGES_MAX;
use serde::Serialize;
use settlement_checks::*;
use std::collections::BTreeMap;

/// How far `local_amount / fx_rate` may be from the gross amount, in basis
/// points of the gross: 1 %, the alert threshold seed 003 recommends.
pub const SETTLEMENT_FX_TOLERANCE_BPS: i64 = 100;
/// How far a row's fee rate may be from the contracted one, in basis points
/// of the gross (0.10 percentage point), beyond one minor unit of rounding.
pub const FEE_RATE_TOLERANCE_BPS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileOptions {
    pub as_of: NaiveDate,
    /// Grace in business days after the settlement due date.
    pub settlement_lag_days: i64,
    /// Largest difference (minor units) still counted as the same amount.
    pub amount_tolerance_minor: i64,
    /// Settlement terms, ship policy, the post-expiry thresholds, the percentage tolerance.
    pub terms: TermsSettings,
    /// The instant the hour- and day-based rules measure from: now for today,
    /// the end of the as-of date (Bogotá and Lima share UTC−5) for a past date.
    pub at: i64,
}

/// The last second of `date` in the markets' calendar, or `now` if that is earlier.
pub fn instant_of(date: NaiveDate, now: DateTime<Utc>) -> i64 {
    let end = date
        .succ_opt()
        .and_then(|next| next.and_hms_opt(0, 0, 0))
        .and_then(|midnight| Country::Colombia.zone().from_local_datetime(&midnight).earliest())
        .map(|t| t.timestamp() - 1)
        .unwrap_or(i64::MAX);
    end.min(now.timestamp())
}

impl ReconcileOptions {
    /// Today in the markets' calendar (Bogotá and Lima share UTC−5), built-in terms.
    pub fn today() -> ReconcileOptions {
        ReconcileOptions::on(Country::Colombia.business_date(Utc::now()))
    }

    /// As of `as_of` with the built-in settings and terms.
    pub fn on(as_of: NaiveDate) -> ReconcileOptions {
        ReconcileOptions {
            as_of,
            settlement_lag_days: SETTLEMENT_LAG_DAYS_DEFAULT,
            amount_tolerance_minor: 0,
            terms: TermsSettings::default(),
            at: instant_of(as_of, Utc::now()),
        }
    }

    /// The saved settings and terms, as of `as_of` (default: today).
    pub fn from_settings(
        settings: &crate::settings::Settings,
        terms: &TermsSettings,
        as_of: Option<NaiveDate>,
    ) -> ReconcileOptions {
        let as_of = as_of.unwrap_or_else(|| Country::Colombia.business_date(Utc::now()));
        ReconcileOptions {
            settlement_lag_days: settings.settlement_lag_days,
            amount_tolerance_minor: settings.amount_tolerance_minor,
            terms: terms.clone(),
            ..ReconcileOptions::on(as_of)
        }
    }

    /// The store's saved settings and terms, as of `as_of` (default: today).
    pub fn load(store: &Store, as_of: Option<NaiveDate>) -> Result<ReconcileOptions, ReconcileError> {
        let settings = crate::settings::get(store).map_err(|e| match e {
            crate::settings::SettingsError::Store(s) => ReconcileError::Store(s),
            other => ReconcileError::Store(StoreError::Invalid(other.to_string())),
        })?;
        let terms = crate::terms::get(store).map_err(|e| match e {
            crate::terms::TermsError::Store(s) => ReconcileError::Store(s),
            other => ReconcileError::BadTerms(other.to_string()),
        })?;
        Ok(ReconcileOptions::from_settings(&settings, &terms, as_of))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("settlement lag must be between 0 and {SETTLEMENT_LAG_DAYS_MAX} days, not {0}")]
    BadLag(i64),
    #[error("the amount tolerance cannot be negative")]
    BadTolerance,
    #[error("{0}")]
    BadTerms(String),
    #[error(transparent)]
    Forbidden(#[from] OperatorError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReconcileError {
    pub fn code(&self) -> &'static str {
        match self {
            ReconcileError::BadLag(_) | ReconcileError::BadTolerance | ReconcileError::BadTerms(_) => {
                "errors.validation"
            }
            ReconcileError::Forbidden(e) => e.code(),
            ReconcileError::Store(e) => e.code(),
        }
    }
}

/// The `--json` summary: every kind present, even at zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReconcileSummary {
    pub as_of: String,
    pub orders: u64,
    pub payments: u64,
    pub settlements: u64,
    pub matched: u64,
    pub exceptions: BTreeMap<&'static str, u64>,
    pub open_exceptions: u64,
    /// Per market (CO, PE): orders, orders with a paid payment, matched orders.
    pub markets: BTreeMap<&'static str, MarketCounts>,
    #[serde(skip)]
    pub newly_opened: u64,
    #[serde(skip)]
    pub cleared: u64,
    #[serde(skip)]
    pub elapsed_ms: u64,
    /// A run that re-examined only what changed: how much it re-examined.
    #[serde(skip)]
    pub scope: Option<RunScopeCounts>,
}

/// How many orders and payments a scoped run re-examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunScopeCounts {
    pub orders: u64,
    pub payments: u64,
}

/// Whether a run may re-examine only what changed since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Only what changed, when the last run's memo allows it; else everything.
    Changes,
    /// Everything, whatever changed.
    Full,
}

/// What reconciliation knows besides orders, paid payments and settlements.
#[derive(Default)]
pub struct MoneyFacts {
    /// Payments paid once and since refunded, reversed or charged back.
    pub later: Vec<PaymentFacts>,
    /// Our refunds the PSP confirmed.
    pub refunds: Vec<RefundFacts>,
    /// Contracted fee rates per PSP account.
    pub fee_rates: Vec<FeeRate>,
    /// Every dated USD/* rate: a USD-priced order paid in local currency
    /// converts at its payment's market date.
    pub fx_rates: RateTable,
}

impl MoneyFacts {
    /// The refunds, fee rates and FX rates every run reads whole (they are
    /// few), with the payments whose money went back.
    fn load(store: &Store, later: Vec<PaymentFacts>) -> Result<MoneyFacts, ReconcileError> {
        let fx_rates = RateTable::from_rows(store.fx_rates_of_base(Currency::Usd.code())?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(MoneyFacts {
            later,
            refunds: store.succeeded_refunds_for_reconcile()?,
            fee_rates: store.fee_rates()?,
            fx_rates,
        })
    }
}

/// The facts one run's rules read.
#[derive(Clone, Copy)]
struct Facts<'f> {
    orders: &'f [OrderFacts],
    paid: &'f [PaymentFacts],
    pending: &'f [PendingFacts],
    settlements: &'f [SettlementFacts],
    money: &'f MoneyFacts,
}

pub struct Findings {
    pub items: Vec<StoredFinding>,
    pub matched: u64,
    pub markets: BTreeMap<&'static str, MarketCounts>,
    /// The paid payments no settlement row reports yet (see `money_rules::MoneyRules`).
    pub awaiting_settlement: Vec<AwaitingSettlement>,
}

/// Per market: how many orders, how many with a paid payment, how many matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MarketCounts {
    pub orders: u64,
    pub paid_orders: u64,
    pub matched: u64,
}

fn money_text(minor: i64, currency: Currency) -> String {
    format!("{} {}", format_minor(minor, currency), currency)
}

fn business_date(country: Country, at: i64) -> Option<NaiveDate> {
    Some(country.business_date(DateTime::from_timestamp(at, 0)?))
}

fn utc_text(at: i64) -> String {
    DateTime::from_timestamp(at, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Applies every rule to the facts. Pure: no I/O.
pub fn find(
    orders: &[OrderFacts],
    paid: &[PaymentFacts],
    pending: &[PendingFacts],
    settlements: &[SettlementFacts],
    money: &MoneyFacts,
    options: &ReconcileOptions,
) -> Findings {
    let report = ReportFacts::gather(settlements, settled_first(paid, money));
    find_with_reports(&Facts { orders, paid, pending, settlements, money }, options, &report)
}

/// The payments whose money was due to settle: paid, and those refunded or
/// charged back since (a reversal undoes the payment before it settles).
fn settled_first<'a>(paid: &'a [PaymentFacts], money: &'a MoneyFacts) -> impl Iterator<Item = &'a PaymentFacts> {
    paid.iter().chain(money.later.iter().filter(|p| p.status != PaymentStatus::Reversed))
}

/// [`find`] with the report rule's facts gathered apart (a scoped run keeps
/// them between runs). The order rules and the money rules read the same
/// facts and share nothing else, so each runs on its own core.
fn find_with_reports(facts: &Facts<'_>, options: &ReconcileOptions, report: &ReportFacts) -> Findings {
    let Facts { orders, paid, pending, settlements, money } = *facts;
    let (order_side, mut money_side) = std::thread::scope(|scope| {
        let order_side = scope.spawn(|| order_rules(orders, paid, pending, money, options));
        let money_side = money_rules(orders, paid, pending, settlements, money, options);
        (order_side.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), money_side)
    });
    let OrderRules { mut items, paid_by_order } = order_side;
    items.append(&mut money_side.items);
    items.append(&mut report_rules::missing_reports(report, options));
    let flagged_orders: FxHashSet<&str> = items.iter().map(|f| f.order_id.as_str()).collect();
    let mut markets: BTreeMap<&'static str, MarketCounts> = BTreeMap::new();
    let mut matched = 0;
    for o in orders {
        let market = markets.entry(o.country.code()).or_default();
        market.orders += 1;
        if paid_by_order.contains_key(o.order_id.as_str()) {
            market.paid_orders += 1;
            if !flagged_orders.contains(o.order_id.as_str()) {
                market.matched += 1;
                matched += 1;
            }
        }
    }
    drop(flagged_orders);
    Findings { items, matched, markets, awaiting_settlement: money_side.awaiting_settlement }
}

/// Times reconciliation starts over when another writer changed the ledger
/// between reading the facts and writing the findings.
const RECONCILE_ATTEMPTS_MAX: u32 = 3;

/// Reads the whole ledger and decides every exception.
fn full_run(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
    lap: &dyn Fn(&str),
) -> Result<(ReconcileSummary, crate::store::ApplyCounts), ReconcileError> {
    let started_at = Utc::now().timestamp();
    let read_at_version = store.data_version()?;
    let marks = store.ledger_row_marks()?;
    // Orders and settlement rows load on connections of their own, each on
    // its own thread, while payments load here.
    let (orders, payments, settlements) = match (store.reader()?, store.reader()?) {
        (Some(order_reader), Some(settlement_reader)) => std::thread::scope(|scope| {
            let orders = scope.spawn(move || order_reader.orders_for_reconcile(FactScope::Ledger));
            let settlements = scope.spawn(move || settlement_reader.settlements_for_reconcile(FactScope::Ledger));
            let payments = store.payments_for_reconcile(FactScope::Ledger);
            let stopped = |what: &str| StoreError::Corrupt(format!("{what} loader stopped"));
            let orders = orders.join().unwrap_or_else(|_| Err(stopped("order")));
            let settlements = settlements.join().unwrap_or_else(|_| Err(stopped("settlement")));
            Ok::<_, StoreError>((orders?, payments?, settlements?))
        })?,
        _ => (
            store.orders_for_reconcile(FactScope::Ledger)?,
            store.payments_for_reconcile(FactScope::Ledger)?,
            store.settlements_for_reconcile(FactScope::Ledger)?,
        ),
    };
    let crate::store::PaymentFactLists { paid, later, pending } = payments;
    let money = MoneyFacts::load(store, later)?;
    lap("facts loaded");
    let payments = store.payment_count()? as u64;
    let settlement_rows = store.counts()?.settlements as u64;
    lap("counted");
    let report = ReportFacts::gather(&settlements, settled_first(&paid, &money));
    let facts = Facts { orders: &orders, paid: &paid, pending: &pending, settlements: &settlements, money: &money };
    let mut findings = find_with_reports(&facts, options, &report);
    lap("rules applied");
    let mut per_kind: BTreeMap<&'static str, u64> = ExceptionKind::RECONCILED.iter().map(|k| (k.as_str(), 0)).collect();
    for f in &findings.items {
        *per_kind.entry(f.kind).or_default() += 1;
    }
    let summary = ReconcileSummary {
        as_of: options.as_of.to_string(),
        orders: orders.len() as u64,
        payments,
        settlements: settlement_rows,
        matched: findings.matched,
        exceptions: per_kind,
        open_exceptions: 0,
        markets: findings.markets.clone(),
        newly_opened: 0,
        cleared: 0,
        elapsed_ms: 0,
        scope: None,
    };
    let awaiting_settlement = std::mem::take(&mut findings.awaiting_settlement);
    drop((orders, paid, pending, settlements, money));
    let paid_days: Vec<crate::store::PaidDayRow> = report
        .paid_days
        .iter()
        .map(|((psp, country, day), n)| (psp.to_string(), country.code().to_string(), day.to_string(), *n))
        .collect();
    let report_spans = scoped::spans_rows(&report);
    let summary_json = serde_json::to_string(&summary).unwrap_or_default();
    let record = run_record(&summary.as_of, options, started_at, &summary_json);
    let fingerprint = scoped::options_fingerprint(options);
    let memo = crate::store::MemoUpdate {
        options: &fingerprint,
        as_of: &summary.as_of,
        at: options.at,
        summary_json: &summary_json,
        paid_days: &paid_days,
        report_spans: &report_spans,
        awaiting_settlement: &awaiting_settlement,
        full_needed_next: store.team_link_status()?.is_some(),
    };
    let entry = audit_entry(&operator.name, "reconcile", &format!("as of {}", summary.as_of), "", &summary_json);
    let (_, applied) = store.apply_findings(
        &findings.items,
        &managed_kinds(),
        Utc::now().timestamp(),
        &operator.name,
        &record,
        &entry,
        read_at_version,
        crate::store::RunScope::Full { memo, marks },
    )?;
    lap(if applied.in_bulk { "findings written in bulk" } else { "findings written" });
    Ok((summary, applied))
}

/// Only the kinds the rules raise: the others (forged notifications) are
/// events a run can neither see nor clear.
fn managed_kinds() -> Vec<&'static str> {
    ExceptionKind::RECONCILED.iter().map(|k| k.as_str()).collect()
}

fn run_record<'a>(as_of: &'a str, options: &ReconcileOptions, started_at: i64, summary_json: &'a str) -> RunRecord<'a> {
    RunRecord {
        as_of,
        settlement_lag_days: options.settlement_lag_days,
        amount_tolerance_minor: options.amount_tolerance_minor,
        started_at,
        summary_json,
    }
}

/// Re-examines what changed since the last run; `None` when it must read everything.
fn scoped_run(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
    lap: &dyn Fn(&str),
) -> Result<Option<(ReconcileSummary, crate::store::ApplyCounts)>, ReconcileError> {
    let memo = store.reconcile_memo()?;
    if let Some(reason) = scoped::full_run_reason(store, &memo, options)? {
        lap(&format!("reading the whole ledger: {reason}"));
        return Ok(None);
    }
    let started_at = Utc::now().timestamp();
    let read_at_version = store.data_version()?;
    let Some(run) = scoped::run(store, &memo, options, lap)? else { return Ok(None) };
    let summary_json = serde_json::to_string(&run.summary).unwrap_or_default();
    let record = run_record(&run.summary.as_of, options, started_at, &summary_json);
    let entry = audit_entry(&operator.name, "reconcile", &format!("as of {}", run.summary.as_of), "", &summary_json);
    let applied = scoped::apply(store, &run, &record, options, operator, &entry, read_at_version)?;
    lap("findings written");
    Ok(Some((run.summary, applied)))
}

/// Runs reconciliation and persists the exception queue: re-examining only
/// what changed since the last run when it can, else the whole store.
pub fn reconcile(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
) -> Result<ReconcileSummary, ReconcileError> {
    reconcile_with(store, options, operator, RunMode::Changes)
}

/// [`reconcile`], or with `RunMode::Full` over the whole store whatever changed.
pub fn reconcile_with(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
    mode: RunMode,
) -> Result<ReconcileSummary, ReconcileError> {
    operator.require(Permission::Reconcile)?;
    if !(0..=SETTLEMENT_LAG_DAYS_MAX).contains(&options.settlement_lag_days) {
        return Err(ReconcileError::BadLag(options.settlement_lag_days));
    }
    if options.amount_tolerance_minor < 0 {
        return Err(ReconcileError::BadTolerance);
    }
    options.terms.check().map_err(|e| ReconcileError::BadTerms(e.to_string()))?;
    let started = std::time::Instant::now();
    let trace = std::env::var_os("VOUCHERDESK_TRACE").is_some();
    let lap = |what: &str| {
        if trace {
            eprintln!("reconcile: {what} at {} ms", started.elapsed().as_millis());
        }
    };
    let mut attempt = 1;
    let (mut summary, applied) = loop {
        let outcome = match mode {
            RunMode::Changes => match scoped_run(store, options, operator, &lap) {
                Ok(Some(done)) => Ok(done),
                Ok(None) => full_run(store, options, operator, &lap),
                Err(e) => Err(e),
            },
            RunMode::Full => full_run(store, options, operator, &lap),
        };
        match outcome {
            Err(ReconcileError::Store(StoreError::Conflict(_))) if attempt < RECONCILE_ATTEMPTS_MAX => {
                lap("the ledger changed meanwhile; starting over");
                attempt += 1;
            }
            other => break other?,
        }
    };
    summary.open_exceptions = store.open_exception_count()? as u64;
    summary.newly_opened = applied.opened + applied.reopened;
    summary.cleared = applied.cleared;
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(summary)
}

#[cfg(test)]
mod lifecycle_tests {
    use super::*;

    fn row(local_minor: i64, fx: &str, gross_minor: i64, fee_minor: i64) -> SettlementFacts {
        SettlementFacts {
            id: 1,
            batch_id: 1,
            psp: "dlocal".into(),
            payment_id: "D-1".into(),
            order_id: "O-1".into(),
            row_type: RowType::Payment,
            created_at: None,
            settled_on: None,
            fx_rate: fx.into(),
            settlement_currency: Currency::Usd,
            local_currency: Currency::Cop,
            local_amount_minor: local_minor,
            gross_minor,
            net_minor: gross_minor - fee_minor,
            fee_minor,
        }
    }

    #[test]
    fn fx_is_checked_within_one_percent_of_the_gross() {
        // 995,000 COP at 4,125.5 is 241.18 USD, not 100.
        let wrong = fx_problem(&row(99_500_000, "4125.5", 10_000, 0)).expect("a mismatch");
        assert_eq!(
            wrong,
            "995000.00 COP at 4125.5 is 241.18 USD, but the row settles 100.00 USD → settled at the wrong rate"
        );
        assert_eq!(fx_problem(&row(99_500_000, "4125.5", 24_118, 0)), None);
        // 1 % either way is tolerated, a little more is not.
        assert_eq!(fx_problem(&row(99_500_000, "4125.5", 23_877, 0)), None);
        assert!(fx_problem(&row(99_500_000, "4125.5", 23_870, 0)).is_some());
        // Money out is compared by magnitude; no rate or no conversion: no check.
        assert_eq!(fx_problem(&row(-99_500_000, "4125.5", -24_118, 0)), None);
        assert_eq!(fx_problem(&row(99_500_000, "", 10_000, 0)), None);
        let same_currency = SettlementFacts { settlement_currency: Currency::Cop, ..row(99_500_000, "1", 1, 0) };
        assert_eq!(fx_problem(&same_currency), None);
    }

    /// The decimal formula the integer check replaces, as the reference.
    fn fx_expected_by_decimal(s: &SettlementFacts) -> Option<(i64, bool)> {
        let rate: Decimal = s.fx_rate.trim().parse().ok()?;
        let scale = |c: Currency| Decimal::from(10_i64.pow(c.exponent()));
        let local = Decimal::from(s.local_amount_minor.abs()) / scale(s.local_currency);
        let expected_minor = (local / rate * scale(s.settlement_currency)).round();
        let gross = Decimal::from(s.gross_minor.abs());
        let allowed = expected_minor.max(gross) * Decimal::from(SETTLEMENT_FX_TOLERANCE_BPS) / Decimal::from(10_000);
        Some((expected_minor.try_into().ok()?, (expected_minor - gross).abs() > allowed))
    }

    #[test]
    fn the_integer_fx_check_agrees_with_decimal_division_at_every_edge() {
        let rates = ["4125.5", "4125.50", "3.7512", "3999.99", "0.00025", "1", "4000", "3.75", "4321.1234567"];
        let mut compared = 0;
        let mut mismatches = 0;
        for rate in rates {
            for local in [1_i64, 99, 100, 12_345, 99_500_000, 1_650_250, 4_125_50, 8_251_00, 999_999_999_999] {
                let (expected, _) = fx_expected_by_decimal(&row(local, rate, 0, 0)).expect("the reference computes");
                // The gross around the expected value and at the tolerance's edges.
                let edge = expected / 100;
                for gross in
                    [expected, expected + 1, expected - 1, expected + edge, expected - edge, expected + edge + 1]
                {
                    let s = row(local, rate, gross, 0);
                    let (_, reference_flags) = fx_expected_by_decimal(&s).expect("the reference computes");
                    let flagged = fx_problem(&s);
                    assert_eq!(flagged.is_some(), reference_flags, "local {local} at {rate}, gross {gross}");
                    if let Some(text) = flagged {
                        assert!(text.contains(&money_text(expected, Currency::Usd)), "{text}");
                        mismatches += 1;
                    }
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 9 * 9 * 6);
        assert!(mismatches > 0 && mismatches < compared, "the edges fall on both sides: {mismatches}");
    }

    #[test]
    fn fees_are_checked_against_any_of_the_psps_contracted_rates() {
        let rate = |psp: &str, bps: i64| FeeRate { account: format!("{psp}-{bps}"), psp: psp.into(), fee_bps: bps };
        let at_3 = row(20_000_000, "4125.5", 4_848, 145);
        assert_eq!(fee_problem(&at_3, &[]), None, "no rate, no check");
        assert_eq!(fee_problem(&at_3, &[rate("dlocal", 300)]), None);
        assert_eq!(fee_problem(&at_3, &[rate("pagoefectivo", 500)]), None, "another PSP's rate does not apply");
        let at_6 = row(20_000_000, "4125.5", 4_848, 315);
        assert_eq!(
            fee_problem(&at_6, &[rate("dlocal", 300)]).as_deref(),
            Some("fee 3.15 USD on 48.48 USD is 6.49 %, the contract says 3.00 % → settled at the wrong fee")
        );
        assert_eq!(fee_problem(&at_6, &[rate("dlocal", 300), rate("dlocal", 650)]), None, "a second account at 6.5 %");
    }

    fn usd_order(amount_minor: i64) -> OrderFacts {
        OrderFacts {
            order_id: "F-1".into(),
            store: "Tienda".into(),
            country: Country::Colombia,
            status: ShopStatus::Paid,
            currency: Currency::Usd,
            amount_minor,
            voucher_expires_at: None,
            psp_payment_id: Default::default(),
        }
    }

    fn paid_in(currency: Currency, amount_minor: i64) -> PaymentFacts {
        PaymentFacts {
            status: PaymentStatus::Paid,
            taken_back_at: None,
            psp: "dlocal".into(),
            payment_id: "D-F1".into(),
            order_id: "F-1".into(),
            country: Country::Colombia,
            currency,
            amount_minor,
            // 2026-03-04 14:00 in Bogotá and Lima.
            paid_at: Some(1_772_650_800),
            expires_at: None,
        }
    }

    fn rates(pairs: &[(&str, &str, &str)]) -> RateTable {
        let rows = pairs
            .iter()
            .map(|(quote, date, rate)| crate::store::FxRateRow {
                id: 1,
                base: "USD".into(),
                quote: (*quote).into(),
                market: if *quote == "COP" { "CO".into() } else { "PE".into() },
                market_date: (*date).into(),
                rate: (*rate).into(),
                source: "test".into(),
                entered_by: "t".into(),
                entered_at: 0,
            })
            .collect();
        RateTable::from_rows(rows).unwrap()
    }

    #[test]
    fn a_usd_order_converts_within_the_rounding_of_its_price_and_the_tolerance() {
        let mut options = ReconcileOptions::on(NaiveDate::from_ymd_opt(2026, 3, 6).unwrap());
        let cop = rates(&[("COP", "2026-03-04", "4125.50")]);
        // 241.18 USD × 4125.50 = 994,988.09 COP; half a cent is 20.63 COP.
        assert_eq!(converted_problem(&usd_order(24_118), &paid_in(Currency::Cop, 99_500_000), &cop, &options), None);
        assert_eq!(converted_problem(&usd_order(24_118), &paid_in(Currency::Cop, 99_500_800), &cop, &options), None);
        let (kind, facts, detail) =
            converted_problem(&usd_order(24_118), &paid_in(Currency::Cop, 99_501_000), &cop, &options).unwrap();
        assert_eq!(kind, ExceptionKind::AmountMismatch);
        assert_eq!(facts, "order=24118USD;rate=4125.5@2026-03-04;converted=99498809;payment=99501000");
        assert_eq!(
            detail,
            "paid 995010.00 COP but the order is for 241.18 USD = 994988.09 COP at USD/COP 4125.5 of 2026-03-04"
        );
        // 1,000,000 COP is 0.5 % over: within a 1 % tolerance, not within 0.
        let over = paid_in(Currency::Cop, 100_000_000);
        assert_eq!(
            converted_problem(&usd_order(24_118), &over, &cop, &options).unwrap().0,
            ExceptionKind::AmountMismatch
        );
        options.terms.amount_tolerance_percent = Decimal::ONE;
        assert_eq!(converted_problem(&usd_order(24_118), &over, &cop, &options), None);
        // The absolute tolerance (payment currency minor units) wins when larger.
        options.terms.amount_tolerance_percent = Decimal::ZERO;
        options.amount_tolerance_minor = 600_000;
        assert_eq!(converted_problem(&usd_order(24_118), &over, &cop, &options), None);
    }

    #[test]
    fn only_a_usd_order_in_a_market_currency_converts() {
        let options = ReconcileOptions::on(NaiveDate::from_ymd_opt(2026, 3, 6).unwrap());
        let table = rates(&[("COP", "2026-03-04", "4125.50"), ("PEN", "2026-03-04", "3.75")]);
        // 100.00 USD at 3.75 is 375.00 PEN.
        assert_eq!(converted_problem(&usd_order(10_000), &paid_in(Currency::Pen, 37_500), &table, &options), None);
        let cop_order = OrderFacts { currency: Currency::Cop, ..usd_order(99_500_000) };
        let (kind, _, detail) =
            converted_problem(&cop_order, &paid_in(Currency::Usd, 24_118), &table, &options).unwrap();
        assert_eq!(
            (kind, detail.as_str()),
            (ExceptionKind::CurrencyMismatch, "paid in USD but the order is priced in COP")
        );
        let unpaid = PaymentFacts { paid_at: None, ..paid_in(Currency::Cop, 99_500_000) };
        let (kind, _, detail) = converted_problem(&usd_order(24_118), &unpaid, &table, &options).unwrap();
        assert_eq!(kind, ExceptionKind::CurrencyMismatch);
        assert_eq!(
            detail,
            "paid in COP but the order is priced in USD: the payment has no payment time to date a USD/COP rate by"
        );
        let (kind, _, detail) =
            converted_problem(&usd_order(10_000), &paid_in(Currency::Pen, 37_500), &RateTable::default(), &options)
                .unwrap();
        assert_eq!(kind, ExceptionKind::CurrencyMismatch);
        assert_eq!(
            detail,
            "paid in PEN but the order is priced in USD: no USD/PEN rate on or before 2026-03-04: add one with `voucherdesk fx add`"
        );
    }

    #[test]
    fn a_chargeback_row_opens_one_case_and_no_unknown_settlement() {
        let cb = SettlementFacts {
            row_type: RowType::Chargeback,
            created_at: Some(1_773_324_000),
            local_amount_minor: -15_000_000,
            ..row(0, "", 0, 0)
        };
        let options = ReconcileOptions::on(NaiveDate::from_ymd_opt(2026, 3, 20).unwrap());
        let found = find(&[], &[], &[], &[cb], &MoneyFacts::default(), &options);
        let kinds: Vec<&str> = found.items.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, ["chargeback"]);
        assert_eq!(found.items[0].detail, "chargeback of 150000.00 COP on 2026-03-12 → dispute or accept");
    }
}
