//! The reconciliation engine: orders × paid payments × settlement rows →
//! findings, one per (kind, subject). Each rule runs on its own; the rules
//! are plain functions over in-memory facts so they can be tested directly.

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
    FeeRate, OrderFacts, PaymentFacts, PendingFacts, RefundFacts, RunRecord, SettlementFacts, Store, StoreError,
    StoredFinding,
};
use crate::terms::{TermsSettings, settlement_due};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
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

pub struct Findings {
    pub items: Vec<StoredFinding>,
    pub matched: u64,
    pub markets: BTreeMap<&'static str, MarketCounts>,
}

/// Per market: how many orders, how many with a paid payment, how many matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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

/// Applies every rule to the facts. Pure: no I/O. The order rules and the
/// money rules read the same facts and share nothing else, so each runs on
/// its own core.
pub fn find(
    orders: &[OrderFacts],
    paid: &[PaymentFacts],
    pending: &[PendingFacts],
    settlements: &[SettlementFacts],
    money: &MoneyFacts,
    options: &ReconcileOptions,
) -> Findings {
    let (order_side, mut money_side) = std::thread::scope(|scope| {
        let order_side = scope.spawn(|| order_rules(orders, paid, pending, money, options));
        let money_side = money_rules(orders, paid, pending, settlements, money, options);
        (order_side.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), money_side)
    });
    let OrderRules { mut items, paid_by_order } = order_side;
    items.append(&mut money_side);
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
    Findings { items, matched, markets }
}

struct OrderRules<'f> {
    items: Vec<StoredFinding>,
    /// Paid payments per order: (first index, count).
    paid_by_order: FxHashMap<&'f str, (usize, u32)>,
}

/// The rules about an order and the payments made for it.
fn order_rules<'f>(
    orders: &'f [OrderFacts],
    paid: &'f [PaymentFacts],
    pending: &'f [PendingFacts],
    money: &'f MoneyFacts,
    options: &ReconcileOptions,
) -> OrderRules<'f> {
    // Paid payments per order: (first index, count). Orders paid more than once
    // are rare; their full lists are gathered separately.
    let mut paid_by_order: FxHashMap<&str, (usize, u32)> = FxHashMap::default();
    paid_by_order.reserve(paid.len());
    for (i, p) in paid.iter().enumerate() {
        paid_by_order.entry(p.order_id.as_str()).and_modify(|e| e.1 += 1).or_insert((i, 1));
    }
    let mut paid_many: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, p) in paid.iter().enumerate() {
        if paid_by_order.get(p.order_id.as_str()).is_some_and(|e| e.1 > 1) {
            paid_many.entry(p.order_id.as_str()).or_default().push(i);
        }
    }
    let taken_back_orders: FxHashSet<&str> =
        money.later.iter().filter(|p| p.status.is_taken_back()).map(|p| p.order_id.as_str()).collect();
    // The latest expiry of each order's still-pending vouchers: a voucher
    // issued again keeps the order alive until it expires too.
    let mut pending_expiry: FxHashMap<&str, i64> = FxHashMap::default();
    for p in pending {
        if let Some(at) = p.expires_at {
            pending_expiry.entry(p.order_id.as_str()).and_modify(|e| *e = (*e).max(at)).or_insert(at);
        }
    }
    let expired_unpaid_s = options.terms.expired_unpaid_hours * 3_600;
    let mut items = Vec::new();

    let order_finding = |kind: ExceptionKind, o: &OrderFacts, facts: String, detail: String| StoredFinding {
        id: kind.exception_id(&[&o.order_id]),
        kind: kind.as_str(),
        order_id: o.order_id.to_string(),
        psp: String::new(),
        payment_id: String::new(),
        settlement: None,
        country: o.country.code().to_string(),
        store: o.store.to_string(),
        amount_minor: Some(o.amount_minor),
        currency: o.currency.code().to_string(),
        facts,
        detail,
    };
    for o in orders {
        let (first, count) = paid_by_order.get(o.order_id.as_str()).copied().unwrap_or((0, 0));
        let ids = || match paid_many.get(o.order_id.as_str()) {
            Some(all) => {
                all.iter().map(|i| format!("{}:{}", paid[*i].psp, paid[*i].payment_id)).collect::<Vec<_>>().join(",")
            }
            None => format!("{}:{}", paid[first].psp, paid[first].payment_id),
        };
        let status = o.status.as_str();
        if count > 0 && o.status.awaits_payment() {
            let facts = format!("shop={status};paid={}", ids());
            let detail = format!("paid at the PSP ({}) but the shop still says {status}: deliver the order", ids());
            items.push(order_finding(ExceptionKind::PaidNotRecorded, o, facts, detail));
        }
        // An order whose payment was reversed or charged back has its own finding.
        if count == 0 && o.status.counts_as_paid() && !taken_back_orders.contains(o.order_id.as_str()) {
            let facts = format!("shop={status}");
            let detail = format!("the shop says {status} but no PSP reports a paid payment for it");
            items.push(order_finding(ExceptionKind::RecordedNotPaid, o, facts, detail));
        }
        if count >= 2 {
            let facts = format!("paid={}", ids());
            let detail = format!("{count} paid payments for one order: {}", ids());
            items.push(order_finding(ExceptionKind::DuplicatePayment, o, facts, detail));
        }
        if count > 0 && !o.psp_payment_id.is_empty() {
            let named = o.psp_payment_id.as_str();
            let named_paid = match paid_many.get(o.order_id.as_str()) {
                Some(all) => all.iter().any(|i| paid[*i].payment_id == named),
                None => paid[first].payment_id == named,
            };
            if !named_paid {
                let facts = format!("shop_payment={named};paid={}", ids());
                let detail = format!(
                    "the shop names payment {named:?} but {} paid it: check which payment the shop recorded",
                    ids()
                );
                items.push(order_finding(ExceptionKind::PaymentIdMismatch, o, facts, detail));
            }
        }
        if count == 0 && o.status == ShopStatus::PendingPayment {
            let pending_until = pending_expiry.get(o.order_id.as_str()).copied();
            let expiry = match (o.voucher_expires_at, pending_until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let Some(expiry) = expiry
                && options.at - expiry >= expired_unpaid_s
            {
                let facts = format!("expired={expiry}");
                let detail = format!(
                    "the voucher expired at {} and nothing is paid, but the shop still says {status}: \
                     release the stock (cancel the order) or issue a new voucher",
                    utc_text(expiry)
                );
                items.push(order_finding(ExceptionKind::ExpiredUnpaid, o, facts, detail));
            }
        }
    }
    OrderRules { items, paid_by_order }
}

/// The rules about the money: pending vouchers, paid payments, money taken
/// back, and settlement rows of every type.
fn money_rules(
    orders: &[OrderFacts],
    paid: &[PaymentFacts],
    pending: &[PendingFacts],
    settlements: &[SettlementFacts],
    money: &MoneyFacts,
    options: &ReconcileOptions,
) -> Vec<StoredFinding> {
    let order_index: FxHashMap<&str, usize> =
        orders.iter().enumerate().map(|(i, o)| (o.order_id.as_str(), i)).collect();
    let mut paid_by_key: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    paid_by_key.reserve(paid.len());
    for (i, p) in paid.iter().enumerate() {
        paid_by_key.insert((&p.psp, p.payment_id.as_str()), i);
    }
    let settled: FxHashSet<(&str, &str)> = settlements
        .iter()
        .filter(|s| s.row_type == RowType::Payment)
        .map(|s| (&*s.psp, s.payment_id.as_str()))
        .collect();
    // Payments paid once whose money later went back (or out again).
    let later_by_key: FxHashMap<(&str, &str), usize> =
        money.later.iter().enumerate().map(|(i, p)| ((&*p.psp, p.payment_id.as_str()), i)).collect();
    let chargeback_rows: FxHashMap<(&str, &str), &SettlementFacts> = settlements
        .iter()
        .filter(|s| s.row_type == RowType::Chargeback)
        .map(|s| ((&*s.psp, s.payment_id.as_str()), s))
        .collect();
    let stale_pending_s = options.terms.stale_pending_days * 86_400;
    let mut items = Vec::new();

    for p in pending {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let Some(expiry) = p.expires_at.or_else(|| order.and_then(|o| o.voucher_expires_at)) else { continue };
        if options.at - expiry < stale_pending_s {
            continue;
        }
        let kind = ExceptionKind::StalePending;
        items.push(StoredFinding {
            id: kind.exception_id(&[&p.psp, &p.payment_id]),
            kind: kind.as_str(),
            order_id: p.order_id.to_string(),
            psp: p.psp.to_string(),
            payment_id: p.payment_id.to_string(),
            settlement: None,
            country: p.country.code().to_string(),
            store: order.map(|o| o.store.to_string()).unwrap_or_default(),
            amount_minor: Some(p.amount_minor),
            currency: p.currency.code().to_string(),
            facts: format!("expired={expiry}"),
            detail: format!(
                "{} still says pending {} days after the voucher expired at {}: the PSP never closed this voucher, ask them",
                p.psp,
                (options.at - expiry) / 86_400,
                utc_text(expiry)
            ),
        });
    }

    for p in paid {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let payment_finding = |kind: ExceptionKind, facts: String, detail: String| StoredFinding {
            id: kind.exception_id(&[&p.psp, &p.payment_id]),
            kind: kind.as_str(),
            order_id: p.order_id.to_string(),
            psp: p.psp.to_string(),
            payment_id: p.payment_id.to_string(),
            settlement: None,
            country: p.country.code().to_string(),
            store: order.map(|o| o.store.to_string()).unwrap_or_default(),
            amount_minor: Some(p.amount_minor),
            currency: p.currency.code().to_string(),
            facts,
            detail,
        };
        match order {
            None => items.push(payment_finding(
                ExceptionKind::UnknownOrder,
                format!("order={}", p.order_id),
                format!(
                    "paid {} for order {:?}, which the shop does not know",
                    money_text(p.amount_minor, p.currency),
                    p.order_id
                ),
            )),
            Some(o) if o.currency != p.currency => {
                if let Some((kind, facts, detail)) = converted_problem(o, p, &money.fx_rates, options) {
                    items.push(payment_finding(kind, facts, detail));
                }
            }
            // The tolerance is never negative: equal amounts need no (decimal) tolerance.
            Some(o)
                if o.amount_minor != p.amount_minor
                    && (o.amount_minor - p.amount_minor).abs()
                        > options.terms.amount_tolerance_minor(options.amount_tolerance_minor, o.amount_minor) =>
            {
                items.push(payment_finding(
                    ExceptionKind::AmountMismatch,
                    format!("order={};payment={}", o.amount_minor, p.amount_minor),
                    format!(
                        "paid {} but the order is for {}",
                        money_text(p.amount_minor, p.currency),
                        money_text(o.amount_minor, o.currency)
                    ),
                ))
            }
            Some(_) => {}
        }
        let expiry = p.expires_at.or_else(|| order.and_then(|o| o.voucher_expires_at));
        if let (Some(paid_at), Some(expiry)) = (p.paid_at, expiry)
            && paid_at > expiry
        {
            items.push(payment_finding(
                ExceptionKind::PaidAfterExpiry,
                format!("paid={paid_at};expired={expiry}"),
                format!(
                    "paid at {} after the voucher expired at {} ({} min late)",
                    utc_text(paid_at),
                    utc_text(expiry),
                    (paid_at - expiry) / 60
                ),
            ));
        }
        if !settled.contains(&(&*p.psp, p.payment_id.as_str()))
            && let Some(paid_on) = p.paid_at.and_then(|t| business_date(p.country, t))
        {
            let terms = options.terms.channel(&p.psp, p.country);
            let due = settlement_due(&terms, paid_on);
            let late = calendar::business_days_between(p.country, due, options.as_of);
            if late > options.settlement_lag_days {
                items.push(payment_finding(
                    ExceptionKind::NotSettled,
                    format!("paid_on={paid_on};due={due}"),
                    format!(
                        "paid on {paid_on} (market date), settlement due by {due} (T+{} business days): none reported",
                        terms.settle_business_days
                    ),
                ));
            }
        }
    }

    // Money taken back: a reversal the shop may have shipped against, and
    // one chargeback per charged-back payment (the status or its row).
    let mut charged_back: FxHashSet<(&str, &str)> = FxHashSet::default();
    for p in &money.later {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let finding =
            |kind: ExceptionKind, amount_minor: i64, currency: Currency, facts: String, detail: String| StoredFinding {
                id: kind.exception_id(&[&p.psp, &p.payment_id]),
                kind: kind.as_str(),
                order_id: p.order_id.to_string(),
                psp: p.psp.to_string(),
                payment_id: p.payment_id.to_string(),
                settlement: None,
                country: p.country.code().to_string(),
                store: order.map(|o| o.store.to_string()).unwrap_or_default(),
                amount_minor: Some(amount_minor),
                currency: currency.code().to_string(),
                facts,
                detail,
            };
        match p.status {
            PaymentStatus::ChargedBack => {
                charged_back.insert((&*p.psp, p.payment_id.as_str()));
                let row = chargeback_rows.get(&(&*p.psp, p.payment_id.as_str())).copied();
                items.push(chargeback_finding(p, row, &finding));
            }
            PaymentStatus::Reversed => {
                if let Some(o) = order.filter(|o| o.status.counts_as_paid()) {
                    let on = p
                        .taken_back_at
                        .and_then(|t| business_date(p.country, t))
                        .map(|d| format!(" on {d}"))
                        .unwrap_or_default();
                    items.push(finding(
                        ExceptionKind::ReversedAfterFulfilment,
                        p.amount_minor,
                        p.currency,
                        format!("shop={};reversed={}", o.status.as_str(), p.taken_back_at.unwrap_or(0)),
                        format!(
                            "{} reversed payment {} of {}{on}, but the shop has the order as {} → money taken back: stop shipment or recover the goods",
                            p.psp,
                            p.payment_id,
                            money_text(p.amount_minor, p.currency),
                            o.status.as_str()
                        ),
                    ));
                }
            }
            PaymentStatus::Pending
            | PaymentStatus::Rejected
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Paid
            | PaymentStatus::Refunded => {}
        }
    }

    let refunds_by_payment: FxHashMap<(&str, &str), Vec<&RefundFacts>> =
        money.refunds.iter().fold(FxHashMap::default(), |mut map, r| {
            map.entry((r.psp.as_str(), r.payment_id.as_str())).or_insert_with(Vec::new).push(r);
            map
        });
    for s in settlements {
        let settlement_finding =
            |kind: ExceptionKind, p: Option<&PaymentFacts>, facts: String, detail: String| StoredFinding {
                id: kind.exception_id(&[&s.psp, &s.payment_id, s.row_type.as_str()]),
                kind: kind.as_str(),
                order_id: p.map(|p| p.order_id.to_string()).unwrap_or_else(|| s.order_id.to_string()),
                psp: s.psp.to_string(),
                payment_id: s.payment_id.to_string(),
                settlement: Some(s.id),
                country: p.map(|p| p.country.code().to_string()).unwrap_or_default(),
                store: String::new(),
                amount_minor: Some(s.local_amount_minor),
                currency: s.local_currency.code().to_string(),
                facts,
                detail,
            };
        let key = (&*s.psp, s.payment_id.as_str());
        let payment =
            paid_by_key.get(&key).map(|i| &paid[*i]).or_else(|| later_by_key.get(&key).map(|i| &money.later[*i]));
        if let Some(problem) = fx_problem(s) {
            items.push(settlement_finding(
                ExceptionKind::SettlementFxMismatch,
                payment,
                format!(
                    "local={}{};fx={};gross={}{}",
                    s.local_amount_minor, s.local_currency, s.fx_rate, s.gross_minor, s.settlement_currency
                ),
                problem,
            ));
        }
        match s.row_type {
            RowType::Payment => match payment {
                None => items.push(settlement_finding(
                    ExceptionKind::UnknownSettlement,
                    None,
                    format!("amount={};{}", s.local_amount_minor, s.local_currency),
                    format!(
                        "settlement of {} for payment {:?}, which is not a paid payment",
                        money_text(s.local_amount_minor, s.local_currency),
                        s.payment_id
                    ),
                )),
                Some(p) => {
                    let mut problems = Vec::new();
                    if s.local_currency != p.currency {
                        problems.push(format!("settled in {} but paid in {}", s.local_currency, p.currency));
                    } else if s.local_amount_minor != p.amount_minor {
                        problems.push(format!(
                            "settled {} but paid {}",
                            money_text(s.local_amount_minor, s.local_currency),
                            money_text(p.amount_minor, p.currency)
                        ));
                    }
                    if s.gross_minor.checked_sub(s.fee_minor) != Some(s.net_minor) {
                        problems.push(format!("net {} ≠ gross {} − fee {}", s.net_minor, s.gross_minor, s.fee_minor));
                    }
                    if !problems.is_empty() {
                        items.push(settlement_finding(
                            ExceptionKind::SettlementMismatch,
                            Some(p),
                            format!(
                                "local={}{};paid={}{};g={};n={};f={}",
                                s.local_amount_minor,
                                s.local_currency,
                                p.amount_minor,
                                p.currency,
                                s.gross_minor,
                                s.net_minor,
                                s.fee_minor
                            ),
                            problems.join("; "),
                        ));
                    }
                    if let Some(problem) = fee_problem(s, &money.fee_rates) {
                        items.push(settlement_finding(
                            ExceptionKind::FeeMismatch,
                            Some(p),
                            format!("gross={};fee={};{}", s.gross_minor, s.fee_minor, s.settlement_currency),
                            problem,
                        ));
                    }
                }
            },
            RowType::Refund => {
                let magnitude = s.local_amount_minor.abs();
                let ours = refunds_by_payment.get(&key).is_some_and(|refunds| {
                    refunds.iter().any(|r| r.currency == s.local_currency && r.amount_minor == magnitude)
                });
                if !ours {
                    items.push(settlement_finding(
                        ExceptionKind::UnmatchedRefundSettlement,
                        payment,
                        format!("amount={};{}", magnitude, s.local_currency),
                        format!(
                            "refund of {} for payment {:?} that matches none of our succeeded refunds → a refund we did not make: check the PSP portal",
                            money_text(magnitude, s.local_currency),
                            s.payment_id
                        ),
                    ));
                }
            }
            RowType::Chargeback => {
                // A chargeback row for a payment the ledger does not have as
                // charged back (or does not know) still opens its one case.
                if !charged_back.contains(&key) {
                    charged_back.insert(key);
                    let p = payment;
                    let order = p.and_then(|p| order_index.get(p.order_id.as_str())).map(|i| &orders[*i]);
                    let finding =
                        |kind: ExceptionKind, amount_minor: i64, currency: Currency, facts: String, detail: String| {
                            StoredFinding {
                                id: kind.exception_id(&[&s.psp, &s.payment_id]),
                                kind: kind.as_str(),
                                order_id: p.map(|p| p.order_id.to_string()).unwrap_or_else(|| s.order_id.to_string()),
                                psp: s.psp.to_string(),
                                payment_id: s.payment_id.to_string(),
                                settlement: Some(s.id),
                                country: p.map(|p| p.country.code().to_string()).unwrap_or_default(),
                                store: order.map(|o| o.store.to_string()).unwrap_or_default(),
                                amount_minor: Some(amount_minor),
                                currency: currency.code().to_string(),
                                facts,
                                detail,
                            }
                        };
                    let (amount, currency) = (s.local_amount_minor.abs(), s.local_currency);
                    let day = chargeback_day(Some(s), None, p);
                    items.push(finding(
                        ExceptionKind::Chargeback,
                        amount,
                        currency,
                        format!("amount={amount};{currency};on={day}"),
                        chargeback_detail(amount, currency, &day),
                    ));
                }
            }
            // Fees have no counterpart to match; they count in the settled figures.
            RowType::Fee => {}
        }
    }
    items
}

/// The market date of a chargeback: its row's creation (or transfer) date,
/// else when the ledger has the payment charged back.
fn chargeback_day(row: Option<&SettlementFacts>, taken_back_at: Option<i64>, p: Option<&PaymentFacts>) -> String {
    let country = p.map(|p| p.country).unwrap_or(Country::Colombia);
    row.and_then(|r| {
        r.created_at
            .and_then(|t| business_date(country, t))
            .map(|d| d.to_string())
            .or(r.settled_on.as_ref().map(|d| d.to_string()))
    })
    .or_else(|| taken_back_at.and_then(|t| business_date(country, t)).map(|d| d.to_string()))
    .unwrap_or_else(|| "an unreported date".to_string())
}

fn chargeback_detail(amount_minor: i64, currency: Currency, day: &str) -> String {
    format!("chargeback of {} on {day} → dispute or accept", money_text(amount_minor, currency))
}

/// The chargeback finding of a charged-back payment: amount and date from its
/// chargeback row when there is one, else the payment's.
fn chargeback_finding(
    p: &PaymentFacts,
    row: Option<&SettlementFacts>,
    finding: &dyn Fn(ExceptionKind, i64, Currency, String, String) -> StoredFinding,
) -> StoredFinding {
    let (amount, currency) = match row {
        Some(r) => (r.local_amount_minor.abs(), r.local_currency),
        None => (p.amount_minor, p.currency),
    };
    let day = chargeback_day(row, p.taken_back_at, Some(p));
    let mut f = finding(
        ExceptionKind::Chargeback,
        amount,
        currency,
        format!("amount={amount};{currency};on={day}"),
        chargeback_detail(amount, currency, &day),
    );
    f.settlement = row.map(|r| r.id);
    f
}

/// A payment in another currency than its order's: a USD-priced order paid
/// in a market's currency converts at the dated USD rate of the payment's
/// market date and compares within the amount tolerance. `None`: matched.
/// Any other pair, or no usable rate, stays a `currency_mismatch`.
fn converted_problem(
    o: &OrderFacts,
    p: &PaymentFacts,
    rates: &RateTable,
    options: &ReconcileOptions,
) -> Option<(ExceptionKind, String, String)> {
    // The facts name the missing rate, so the detail follows when it changes.
    let mismatch = |rate_facts: String, why: String| {
        Some((
            ExceptionKind::CurrencyMismatch,
            format!("order={};payment={}{rate_facts}", o.currency, p.currency),
            format!("paid in {} but the order is priced in {}{why}", p.currency, o.currency),
        ))
    };
    let Some(market) = crate::fx::market_of(p.currency).filter(|_| o.currency == Currency::Usd) else {
        return mismatch(String::new(), String::new());
    };
    let pair = FxPair { base: o.currency, quote: p.currency }.name();
    let Some(paid_on) = p.paid_at.and_then(|t| business_date(market, t)) else {
        return mismatch(";rate=undated".into(), format!(": the payment has no payment time to date a {pair} rate by"));
    };
    let Some((rate_on, rate)) = rates.on_or_before(p.currency, paid_on) else {
        return mismatch(
            format!(";rate=none@{paid_on}"),
            format!(": no {pair} rate on or before {paid_on}: add one with `voucherdesk fx add`"),
        );
    };
    // The same age limit as a refund's rate: an old rate never silently matches.
    if rate_on < crate::fx::oldest_usable_date(market, paid_on) {
        return mismatch(
            format!(";rate=stale@{rate_on}<{paid_on}"),
            format!(
                ": the latest {pair} rate on or before {paid_on} is of {rate_on}, more than \
                 {FX_RATE_AGE_BUSINESS_DAYS_MAX} business day(s) old: add one with `voucherdesk fx add`"
            ),
        );
    }
    let scale = |c: Currency| Decimal::from(10_i64.pow(c.exponent()));
    let per_order_minor = rate * scale(p.currency) / scale(o.currency);
    let expected = Decimal::from(o.amount_minor) * per_order_minor;
    let expected_minor: i64 = expected.round().try_into().unwrap_or(i64::MAX);
    // The order's price is rounded to its minor unit: half of one, converted,
    // is as close as the conversion can tell.
    let rounding = per_order_minor / Decimal::TWO;
    let allowed =
        Decimal::from(options.terms.amount_tolerance_minor(options.amount_tolerance_minor, expected_minor)) + rounding;
    if (expected - Decimal::from(p.amount_minor)).abs() <= allowed {
        return None;
    }
    Some((
        ExceptionKind::AmountMismatch,
        format!(
            "order={}{};rate={rate}@{rate_on};converted={expected_minor};payment={}",
            o.amount_minor, o.currency, p.amount_minor
        ),
        format!(
            "paid {} but the order is for {} = {} at {pair} {rate} of {rate_on}",
            money_text(p.amount_minor, p.currency),
            money_text(o.amount_minor, o.currency),
            money_text(expected_minor, p.currency)
        ),
    ))
}

/// `local_amount / fx_rate` against the gross amount, when the row converts.
/// Exact integer arithmetic on the rate's digits: it runs for every converted
/// settlement row, and decimal division was half of the money rules' time.
fn fx_problem(s: &SettlementFacts) -> Option<String> {
    let rate_text = s.fx_rate.trim();
    if rate_text.is_empty() || s.settlement_currency == s.local_currency {
        return None;
    }
    let rate: Decimal = rate_text.parse().ok().filter(|r: &Decimal| r.is_sign_positive() && !r.is_zero())?;
    let local = i128::from(s.local_amount_minor).abs();
    let gross = i128::from(s.gross_minor).abs();
    // local / 10^local_exp / rate * 10^settlement_exp, rounded half to even
    // as Decimal::round does: num / den with rate = mantissa / 10^scale.
    let pow10 = |exp: u32| 10_i128.checked_pow(exp);
    let num = pow10(s.settlement_currency.exponent() + rate.scale()).and_then(|p| local.checked_mul(p))?;
    let den = pow10(s.local_currency.exponent()).and_then(|p| p.checked_mul(rate.mantissa()))?;
    let (quotient, remainder) = (num / den, num % den);
    let expected = match (2 * remainder).cmp(&den) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    };
    // |expected - gross| <= max(expected, gross) * tolerance, without dividing.
    let allowed_times_10_000 = expected.max(gross).checked_mul(i128::from(SETTLEMENT_FX_TOLERANCE_BPS))?;
    if (expected - gross).abs().checked_mul(10_000)? <= allowed_times_10_000 {
        return None;
    }
    let expected = i64::try_from(expected).ok()?;
    Some(format!(
        "{} at {} is {}, but the row settles {} → settled at the wrong rate",
        money_text(s.local_amount_minor.abs(), s.local_currency),
        rate_text,
        money_text(expected, s.settlement_currency),
        money_text(s.gross_minor.abs(), s.settlement_currency)
    ))
}

/// The row's fee rate against the PSP's contracted rates (any of its accounts).
fn fee_problem(s: &SettlementFacts, rates: &[FeeRate]) -> Option<String> {
    // Runs for every settlement row: nothing is allocated unless the fee is off.
    let contracted = || rates.iter().filter(|r| r.psp == *s.psp);
    if contracted().next().is_none() || s.gross_minor == 0 {
        return None;
    }
    let (gross, fee) = (i128::from(s.gross_minor.abs()), i128::from(s.fee_minor.abs()));
    let fits = |bps: i64| {
        let expected = gross * i128::from(bps) / 10_000;
        let slack = gross * i128::from(FEE_RATE_TOLERANCE_BPS) / 10_000 + 1;
        (fee - expected).abs() <= slack
    };
    if contracted().any(|r| fits(r.fee_bps)) {
        return None;
    }
    let actual_bps = fee * 10_000 / gross;
    let agreed = contracted().map(|r| bps_text(r.fee_bps)).collect::<Vec<_>>().join(" or ");
    Some(format!(
        "fee {} on {} is {} %, the contract says {agreed} % → settled at the wrong fee",
        money_text(s.fee_minor.abs(), s.settlement_currency),
        money_text(s.gross_minor.abs(), s.settlement_currency),
        bps_text(actual_bps as i64)
    ))
}

fn bps_text(bps: i64) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

/// Times reconciliation starts over when another writer changed the ledger
/// between reading the facts and writing the findings.
const RECONCILE_ATTEMPTS_MAX: u32 = 3;

fn reconcile_once(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
    lap: &dyn Fn(&str),
) -> Result<(ReconcileSummary, crate::store::ApplyCounts), ReconcileError> {
    let started_at = Utc::now().timestamp();
    let read_at_version = store.data_version()?;
    // Orders and settlement rows load on connections of their own, each on
    // its own thread, while payments load here.
    let (orders, payments, settlements) = match (store.reader()?, store.reader()?) {
        (Some(order_reader), Some(settlement_reader)) => std::thread::scope(|scope| {
            let orders = scope.spawn(move || order_reader.orders_for_reconcile());
            let settlements = scope.spawn(move || settlement_reader.settlements_for_reconcile());
            let payments = store.payments_for_reconcile();
            let stopped = |what: &str| StoreError::Corrupt(format!("{what} loader stopped"));
            let orders = orders.join().unwrap_or_else(|_| Err(stopped("order")));
            let settlements = settlements.join().unwrap_or_else(|_| Err(stopped("settlement")));
            Ok::<_, StoreError>((orders?, payments?, settlements?))
        })?,
        _ => (store.orders_for_reconcile()?, store.payments_for_reconcile()?, store.settlements_for_reconcile()?),
    };
    let crate::store::PaymentFactLists { paid, later, pending } = payments;
    let fx_rates = RateTable::from_rows(store.fx_rates_of_base(Currency::Usd.code())?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let money = MoneyFacts {
        later,
        refunds: store.succeeded_refunds_for_reconcile()?,
        fee_rates: store.fee_rates()?,
        fx_rates,
    };
    lap("facts loaded");
    let payments = store.payment_count()? as u64;
    let settlement_rows = store.counts()?.settlements as u64;
    lap("counted");
    let findings = find(&orders, &paid, &pending, &settlements, &money, options);
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
    };
    drop((orders, paid, pending, settlements, money));
    let summary_json = serde_json::to_string(&summary).unwrap_or_default();
    // Only the kinds the rules raise: the others (forged notifications) are
    // events a run can neither see nor clear.
    let managed: Vec<&str> = ExceptionKind::RECONCILED.iter().map(|k| k.as_str()).collect();
    let run = RunRecord {
        as_of: &summary.as_of,
        settlement_lag_days: options.settlement_lag_days,
        amount_tolerance_minor: options.amount_tolerance_minor,
        started_at,
        summary_json: &summary_json,
    };
    let entry = audit_entry(&operator.name, "reconcile", &format!("as of {}", summary.as_of), "", &summary_json);
    let (_, applied) = store.apply_findings(
        &findings.items,
        &managed,
        Utc::now().timestamp(),
        &operator.name,
        &run,
        &entry,
        read_at_version,
    )?;
    lap("findings written");
    Ok((summary, applied))
}

/// Runs reconciliation over the whole store and persists the exception queue.
pub fn reconcile(
    store: &mut Store,
    options: &ReconcileOptions,
    operator: &Operator,
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
        match reconcile_once(store, options, operator, &lap) {
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
