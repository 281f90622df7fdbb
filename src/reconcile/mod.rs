//! The reconciliation engine: orders × paid payments × settlement rows →
//! findings, one per (kind, subject). Each rule runs on its own; the rules
//! are plain functions over in-memory facts so they can be tested directly.

use crate::audit::audit_entry;
use crate::calendar;
use crate::exceptions::ExceptionKind;
use crate::market::Country;
use crate::money::{Currency, format_minor};
use crate::operators::{Operator, OperatorError, Permission};
use crate::orders::ShopStatus;
use crate::store::PendingFacts;
use crate::store::{OrderFacts, PaymentFacts, RunRecord, SettlementFacts, Store, StoreError, StoredFinding};
use crate::terms::{TermsSettings, settlement_due};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::collections::BTreeMap;

/// Business days of grace after a payment's settlement is due (its PSP's
/// `T+N` terms, `crate::terms`) before `not_settled` is raised: a transfer
/// made on the due date shows in the report of the next business day.
pub const SETTLEMENT_LAG_DAYS_DEFAULT: i64 = 1;
pub const SETTLEMENT_LAG_DAYS_MAX: i64 = 365;

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

/// Applies every rule to the facts. Pure: no I/O.
pub fn find(
    orders: &[OrderFacts],
    paid: &[PaymentFacts],
    pending: &[PendingFacts],
    settlements: &[SettlementFacts],
    options: &ReconcileOptions,
) -> Findings {
    let order_index: FxHashMap<&str, usize> =
        orders.iter().enumerate().map(|(i, o)| (o.order_id.as_str(), i)).collect();
    // Paid payments per order: (first index, count). Orders paid more than once
    // are rare; their full lists are gathered separately.
    let mut paid_by_order: FxHashMap<&str, (usize, u32)> = FxHashMap::default();
    paid_by_order.reserve(paid.len());
    let mut paid_by_key: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    paid_by_key.reserve(paid.len());
    for (i, p) in paid.iter().enumerate() {
        paid_by_order.entry(p.order_id.as_str()).and_modify(|e| e.1 += 1).or_insert((i, 1));
        paid_by_key.insert((&p.psp, p.payment_id.as_str()), i);
    }
    let mut paid_many: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, p) in paid.iter().enumerate() {
        if paid_by_order.get(p.order_id.as_str()).is_some_and(|e| e.1 > 1) {
            paid_many.entry(p.order_id.as_str()).or_default().push(i);
        }
    }
    let settled: FxHashSet<(&str, &str)> = settlements.iter().map(|s| (&*s.psp, s.payment_id.as_str())).collect();
    // The latest expiry of each order's still-pending vouchers: a voucher
    // issued again keeps the order alive until it expires too.
    let mut pending_expiry: FxHashMap<&str, i64> = FxHashMap::default();
    for p in pending {
        if let Some(at) = p.expires_at {
            pending_expiry.entry(p.order_id.as_str()).and_modify(|e| *e = (*e).max(at)).or_insert(at);
        }
    }
    let expired_unpaid_s = options.terms.expired_unpaid_hours * 3_600;
    let stale_pending_s = options.terms.stale_pending_days * 86_400;
    let mut items = Vec::new();
    let mut flagged_orders: FxHashSet<&str> = FxHashSet::default();

    let order_finding = |kind: ExceptionKind, o: &OrderFacts, facts: String, detail: String| StoredFinding {
        id: kind.exception_id(&[&o.order_id]),
        kind: kind.as_str(),
        order_id: o.order_id.clone(),
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
        if count == 0 && o.status.counts_as_paid() {
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
            order_id: p.order_id.clone(),
            psp: p.psp.to_string(),
            payment_id: p.payment_id.clone(),
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
            order_id: p.order_id.clone(),
            psp: p.psp.to_string(),
            payment_id: p.payment_id.clone(),
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
            Some(o) if o.currency != p.currency => items.push(payment_finding(
                ExceptionKind::CurrencyMismatch,
                format!("order={};payment={}", o.currency, p.currency),
                format!("paid in {} but the order is priced in {}", p.currency, o.currency),
            )),
            Some(o)
                if (o.amount_minor - p.amount_minor).abs()
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

    for s in settlements {
        let settlement_finding =
            |kind: ExceptionKind, p: Option<&PaymentFacts>, facts: String, detail: String| StoredFinding {
                id: kind.exception_id(&[&s.psp, &s.payment_id, "PAYMENT"]),
                kind: kind.as_str(),
                order_id: p.map(|p| p.order_id.clone()).unwrap_or_else(|| s.order_id.clone()),
                psp: s.psp.to_string(),
                payment_id: s.payment_id.clone(),
                settlement: Some(s.id),
                country: p.map(|p| p.country.code().to_string()).unwrap_or_default(),
                store: String::new(),
                amount_minor: Some(s.local_amount_minor),
                currency: s.local_currency.code().to_string(),
                facts,
                detail,
            };
        match paid_by_key.get(&(&*s.psp, s.payment_id.as_str())).map(|i| &paid[*i]) {
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
            }
        }
    }

    for f in &items {
        flagged_orders.insert(f.order_id.as_str());
    }
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
    Findings { items, matched, markets }
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
    // Orders load on a second connection and core while payments and
    // settlements load here.
    let (orders, paid, pending, settlements) = match store.reader()? {
        Some(reader) => std::thread::scope(|scope| {
            let orders = scope.spawn(move || reader.orders_for_reconcile());
            let paid = store.paid_payments_for_reconcile();
            let pending = store.pending_payments_for_reconcile();
            let settlements = store.settlements_for_reconcile();
            let orders = orders.join().unwrap_or_else(|_| Err(StoreError::Corrupt("order loader stopped".into())));
            Ok::<_, StoreError>((orders?, paid?, pending?, settlements?))
        })?,
        None => (
            store.orders_for_reconcile()?,
            store.paid_payments_for_reconcile()?,
            store.pending_payments_for_reconcile()?,
            store.settlements_for_reconcile()?,
        ),
    };
    lap("facts loaded");
    let payments = store.payment_count()? as u64;
    let settlement_rows = store.counts()?.settlements as u64;
    lap("counted");
    let findings = find(&orders, &paid, &pending, &settlements, options);
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
    drop((orders, paid, pending, settlements));
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
