//! A run that re-examines only what changed since the last one: the orders,
//! payments and settlement keys added or changed since (see
//! `store::reconcile_changes`), and those a clock-driven rule can flip between
//! the two runs' instants, all closed over order ↔ payment ↔ settlement rows,
//! so every rule sees all it would see in a full run for each of them. The
//! counts are the last run's, corrected by what these orders and findings
//! counted then and count now.

use super::*;
use crate::store::{
    ChangedPayment, ExceptionNote, FactScope, LedgerChanges, MemoUpdate, PaidDayRow, ReconcileMemo, ReportSpanRow,
    RunScope,
};
use report_rules::ReportFacts;
use std::sync::Arc;

/// The most noted changes a scoped run takes on; beyond them a full run reads
/// the ledger faster than the scoped one reads the notes and the rows one by one.
pub const SCOPED_CHANGES_MAX: i64 = 200_000;

/// The most orders and payment keys a scoped run re-examines, for the same reason.
const SCOPED_SUBJECTS_MAX: usize = 400_000;

/// The counts of the last run, as its summary holds them.
#[derive(serde::Deserialize)]
struct PriorCounts {
    payments: u64,
    settlements: u64,
    exceptions: BTreeMap<String, u64>,
    markets: BTreeMap<String, MarketCounts>,
}

/// What makes the rules' results comparable between two runs: the settings,
/// the terms, and the rules themselves (a new version may decide otherwise).
pub(super) fn options_fingerprint(options: &ReconcileOptions) -> String {
    serde_json::json!({
        "rules": env!("CARGO_PKG_VERSION"),
        "lag": options.settlement_lag_days,
        "tolerance": options.amount_tolerance_minor,
        "terms": options.terms,
    })
    .to_string()
}

/// Why a run reads the whole ledger; `None`: it may re-examine only what changed.
pub(super) fn full_run_reason(
    store: &Store,
    memo: &ReconcileMemo,
    options: &ReconcileOptions,
) -> Result<Option<&'static str>, ReconcileError> {
    if memo.full_needed {
        return Ok(Some("no earlier run, or a change a scoped run cannot follow"));
    }
    if memo.options != options_fingerprint(options) {
        return Ok(Some("the settings, terms or rules changed"));
    }
    let earlier_date = NaiveDate::parse_from_str(&memo.as_of, "%Y-%m-%d").map_or(true, |prior| options.as_of < prior);
    if earlier_date || options.at < memo.at {
        return Ok(Some("an as-of date before the last run's"));
    }
    if serde_json::from_str::<PriorCounts>(&memo.summary_json).is_err() {
        return Ok(Some("the last run's summary is unreadable"));
    }
    if store.team_link_status()?.is_some() {
        return Ok(Some("team mode: other desktops change the queue"));
    }
    if store.reconcile_change_count(&memo.seen)? > SCOPED_CHANGES_MAX {
        return Ok(Some("too many changes since the last run"));
    }
    Ok(None)
}

#[derive(Default)]
struct Scope {
    orders: FxHashSet<String>,
    keys: FxHashSet<(String, String)>,
}

impl Scope {
    fn add_key(&mut self, psp: &str, payment_id: &str) {
        self.keys.insert((psp.to_string(), payment_id.to_string()));
    }

    fn add_order(&mut self, order_id: &str) {
        if !order_id.is_empty() {
            self.orders.insert(order_id.to_string());
        }
    }
}

/// The paid dates whose payments, still unsettled, become `not_settled`
/// between the two as-of dates: late by more than the lag now, not before.
fn newly_late_days(psp: &str, country: Country, prior: NaiveDate, options: &ReconcileOptions) -> Vec<NaiveDate> {
    let terms = options.terms.channel(psp, country);
    let late = |paid_on: NaiveDate, as_of: NaiveDate| {
        calendar::business_days_between(country, settlement_due(&terms, paid_on), as_of) > options.settlement_lag_days
    };
    // A paid date not late at `prior` lies within the lag (business days, at
    // most 7 calendar days per 5) plus the terms of it; two months spare.
    let reach_days = options.settlement_lag_days * 7 / 5 + i64::from(terms.settle_business_days) * 3 + 60;
    let mut days = Vec::new();
    let mut day = options.as_of;
    let earliest = prior - chrono::TimeDelta::days(reach_days);
    while day >= earliest {
        if late(day, options.as_of) && !late(day, prior) {
            days.push(day);
        }
        let Some(before) = day.pred_opt() else { break };
        day = before;
    }
    days
}

/// What a scoped run found and how it changes the counts.
pub(super) struct ScopedRun {
    pub findings: Vec<StoredFinding>,
    pub decided: Vec<ExceptionNote>,
    pub summary: ReconcileSummary,
    pub paid_days: Vec<PaidDayRow>,
    pub report_spans: Vec<ReportSpanRow>,
    pub awaiting_settlement: Vec<AwaitingSettlement>,
    pub marks: crate::store::RowMarks,
}

/// The orders and payment keys to re-examine: the noted ones, the
/// clock-driven candidates, closed over order ↔ payment.
fn gather_scope(
    store: &mut Store,
    changes: &LedgerChanges,
    memo: &ReconcileMemo,
    prior_days: &[PaidDayRow],
    options: &ReconcileOptions,
) -> Result<Option<Scope>, ReconcileError> {
    // Rows added since the last run join the scope in SQL (see
    // `close_reconcile_scope`); here the changed ones, as they are and as they were.
    let mut scope = Scope::default();
    for o in changes.orders.iter().filter(|o| o.existed) {
        scope.add_order(&o.order_id);
    }
    for p in &changes.payments {
        if let Some(before) = &p.before {
            scope.add_key(&p.psp, &p.payment_id);
            scope.add_order(&p.order_id);
            scope.add_key(&before.psp, &before.payment_id);
            scope.add_order(&before.order_id);
        }
    }
    for (psp, payment_id) in &changes.keys {
        scope.add_key(psp, payment_id);
    }
    // Vouchers whose expiry the clock passed: expired_unpaid and stale_pending.
    if options.at > memo.at {
        for window in [options.terms.expired_unpaid_hours * 3_600, options.terms.stale_pending_days * 86_400] {
            let (after, until) = (memo.at - window, options.at - window);
            for order in store.orders_awaiting_payment_expiring_between(after, until)? {
                scope.add_order(&order);
            }
            for (psp, payment_id) in store.pending_expiring_between(after, until)? {
                scope.add_key(&psp, &payment_id);
            }
            for (psp, payment_id) in store.pending_without_expiry_of_orders_expiring_between(after, until)? {
                scope.add_key(&psp, &payment_id);
            }
        }
    }
    // Payments whose settlement fell due: not_settled.
    let prior = NaiveDate::parse_from_str(&memo.as_of, "%Y-%m-%d").unwrap_or(options.as_of);
    if options.as_of > prior {
        let channels: std::collections::BTreeSet<(&str, &str)> =
            prior_days.iter().map(|(psp, country, _, _)| (psp.as_str(), country.as_str())).collect();
        for (psp, code) in channels {
            let Ok(country) = Country::parse(code) else { continue };
            for day in newly_late_days(psp, country, prior, options) {
                for (psp, payment_id) in store.awaiting_settlement_paid_on(psp, code, &day.to_string())? {
                    scope.add_key(&psp, &payment_id);
                }
            }
        }
    }
    // Closed over order ↔ payment: an order's rules read all its payments,
    // a payment's rules its order, and settlement rows load by payment key.
    let seeds_orders = scope.orders.iter().map(String::as_str);
    let seeds_keys = scope.keys.iter().map(|(psp, id)| (psp.as_str(), id.as_str()));
    let Some(closed) = store.close_reconcile_scope(&memo.seen, seeds_orders, seeds_keys, SCOPED_SUBJECTS_MAX)? else {
        return Ok(None);
    };
    Ok(Some(Scope { orders: closed.orders.into_iter().collect(), keys: closed.keys.into_iter().collect() }))
}

fn prior_report_facts(days: &[PaidDayRow], spans: &[ReportSpanRow]) -> Result<ReportFacts, ReconcileError> {
    let corrupt = |what: &str| ReconcileError::Store(StoreError::Corrupt(format!("reconcile memo: {what}")));
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt(text));
    let mut facts = ReportFacts::default();
    let mut psps: FxHashMap<&str, Arc<str>> = FxHashMap::default();
    for (psp, country, day, payments) in days {
        let psp = psps.entry(psp).or_insert_with(|| Arc::from(psp.as_str())).clone();
        let country = Country::parse(country).map_err(|_| corrupt(country))?;
        facts.paid_days.insert((psp, country, date(day)?), *payments);
    }
    for (batch, psp, market, first, last) in spans {
        let psp = psps.entry(psp).or_insert_with(|| Arc::from(psp.as_str())).clone();
        let market = Country::parse(market).map_err(|_| corrupt(market))?;
        facts.cover(&psp, market, *batch, date(first)?, date(last)?);
    }
    Ok(facts)
}

/// Counts a payment whose money was due to settle on its paid date.
fn counts_for_reports(status: PaymentStatus) -> bool {
    match status {
        PaymentStatus::Paid | PaymentStatus::Refunded | PaymentStatus::ChargedBack => true,
        PaymentStatus::Reversed
        | PaymentStatus::Pending
        | PaymentStatus::Rejected
        | PaymentStatus::Cancelled
        | PaymentStatus::Expired => false,
    }
}

/// One order's share of the market counts.
#[derive(Clone, Copy, PartialEq, Eq)]
struct OrderShare {
    country: Country,
    paid: bool,
    flagged: bool,
}

fn add_share(markets: &mut BTreeMap<&'static str, (i64, i64, i64)>, share: Option<OrderShare>, sign: i64) {
    if let Some(s) = share {
        let counts = markets.entry(s.country.code()).or_default();
        counts.0 += sign;
        counts.1 += sign * i64::from(s.paid);
        counts.2 += sign * i64::from(s.paid && !s.flagged);
    }
}

/// Re-examines the scope. `None`: the scope turned out too large, or the
/// counts would not add up; the caller runs in full.
pub(super) fn run(
    store: &mut Store,
    memo: &ReconcileMemo,
    options: &ReconcileOptions,
    lap: &dyn Fn(&str),
) -> Result<Option<ScopedRun>, ReconcileError> {
    let Ok(prior) = serde_json::from_str::<PriorCounts>(&memo.summary_json) else { return Ok(None) };
    let marks = store.ledger_row_marks()?;
    let changes = store.reconcile_changes(&memo.seen)?;
    let prior_days = store.reconcile_paid_days()?;
    let prior_spans = store.reconcile_report_spans()?;
    lap("changes read");
    let Some(scope) = gather_scope(store, &changes, memo, &prior_days, options)? else { return Ok(None) };
    lap(&format!("scope: {} orders, {} payment keys", scope.orders.len(), scope.keys.len()));
    let orders = store.orders_for_reconcile(FactScope::Changed)?;
    let crate::store::PaymentFactLists { paid, later, pending } = store.payments_for_reconcile(FactScope::Changed)?;
    let settlements = store.settlements_for_reconcile(FactScope::Changed)?;
    let money = MoneyFacts::load(store, later)?;
    lap("scoped facts loaded");

    // The report rule reads every file and paid day: the last run's, with this scope's changes.
    let mut report = prior_report_facts(&prior_days, &prior_spans)?;
    let mut new_spans = ReportFacts::default();
    for s in &settlements {
        new_spans.cover_row(s);
        report.cover_row(s);
    }
    let mut day_changes = ReportFacts::default();
    let now_by_key: FxHashMap<(&str, &str), &PaymentFacts> =
        paid.iter().chain(&money.later).map(|p| ((&*p.psp, p.payment_id.as_str()), p)).collect();
    for ChangedPayment { before, psp, payment_id, .. } in &changes.payments {
        if let Some(b) = before
            && PaymentStatus::parse(&b.status).is_some_and(counts_for_reports)
            && let Ok(country) = Country::parse(&b.country)
        {
            day_changes.count_paid(&Arc::from(b.psp.as_str()), country, b.paid_at, -1);
        }
        if let Some(p) = now_by_key.get(&(psp.as_str(), payment_id.as_str()))
            && counts_for_reports(p.status)
        {
            day_changes.count_paid(&p.psp, p.country, p.paid_at, 1);
        }
    }
    for (key, delta) in &day_changes.paid_days {
        *report.paid_days.entry(key.clone()).or_default() += delta;
    }

    let facts = Facts { orders: &orders, paid: &paid, pending: &pending, settlements: &settlements, money: &money };
    let Findings { items: mut findings, awaiting_settlement: awaiting_now, .. } =
        find_with_reports(&facts, options, &report);
    findings.retain(|f| {
        f.kind == ExceptionKind::SettlementReportMissing.as_str()
            || match ExceptionKind::parse(f.kind).map(ExceptionKind::subject) {
                Some(crate::model::exception::Subject::Order) => scope.orders.contains(&f.order_id),
                Some(_) => scope.keys.contains(&(f.psp.clone(), f.payment_id.clone())),
                None => false,
            }
    });
    lap("rules applied");

    // The exceptions this run decides: about its orders and keys, and every missing report.
    let in_scope = |n: &ExceptionNote| match ExceptionKind::parse(&n.kind) {
        Some(kind) if kind.raised_by_reconcile() => match kind.subject() {
            crate::model::exception::Subject::Order => scope.orders.contains(&n.order_id),
            crate::model::exception::Subject::Payment | crate::model::exception::Subject::Settlement => {
                scope.keys.contains(&(n.psp.clone(), n.payment_id.clone()))
            }
            crate::model::exception::Subject::Report => true,
        },
        _ => false,
    };
    let mut notes = store.exceptions_in_scope()?;
    lap("exceptions in scope read");
    // Orders outside the scope whose match a finding of it made or unmade.
    let mut outside: Vec<&str> = notes
        .iter()
        .filter(|n| in_scope(n) && n.found_last_run)
        .map(|n| n.order_id.as_str())
        .chain(findings.iter().map(|f| f.order_id.as_str()))
        .filter(|o| !o.is_empty() && !scope.orders.contains(*o))
        .collect();
    outside.sort_unstable();
    outside.dedup();
    let outside: Vec<String> = outside.into_iter().map(str::to_string).collect();
    let outside_refs: Vec<&str> = outside.iter().map(String::as_str).collect();
    let known: FxHashSet<String> = notes.iter().map(|n| n.id.clone()).collect();
    notes.extend(store.exceptions_of_orders(&outside_refs)?.into_iter().filter(|n| !known.contains(&n.id)));

    // Per kind: the last run's count, less what the decided exceptions counted then, plus what is found now.
    let mut per_kind: BTreeMap<&'static str, i64> = ExceptionKind::RECONCILED
        .iter()
        .map(|k| (k.as_str(), prior.exceptions.get(k.as_str()).copied().unwrap_or(0) as i64))
        .collect();
    for n in notes.iter().filter(|n| in_scope(n) && n.found_last_run) {
        if let Some(count) = ExceptionKind::parse(&n.kind).and_then(|k| per_kind.get_mut(k.as_str())) {
            *count -= 1;
        }
    }
    for f in &findings {
        *per_kind.entry(f.kind).or_default() += 1;
    }

    // Per market: each affected order's share then and now.
    let flagged_then: FxHashSet<&str> =
        notes.iter().filter(|n| n.found_last_run).map(|n| n.order_id.as_str()).collect();
    let flagged_now: FxHashSet<&str> = notes
        .iter()
        .filter(|n| n.found_last_run && !in_scope(n))
        .map(|n| n.order_id.as_str())
        .chain(findings.iter().map(|f| f.order_id.as_str()))
        .collect();
    let orders_now: FxHashMap<&str, &OrderFacts> = orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let paid_now: FxHashSet<&str> = paid.iter().map(|p| p.order_id.as_str()).collect();
    let changed_now: FxHashSet<(&str, &str)> =
        changes.payments.iter().map(|p| (p.psp.as_str(), p.payment_id.as_str())).collect();
    let paid_then_unchanged: FxHashSet<&str> = paid
        .iter()
        .filter(|p| !changed_now.contains(&(&*p.psp, p.payment_id.as_str())))
        .map(|p| p.order_id.as_str())
        .collect();
    let paid_then_changed: FxHashSet<&str> = changes
        .payments
        .iter()
        .filter_map(|p| p.before.as_ref())
        .filter(|b| b.status == PaymentStatus::Paid.as_str())
        .map(|b| b.order_id.as_str())
        .collect();
    let orders_before: FxHashMap<&str, &crate::store::ChangedOrder> =
        changes.orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let mut markets: BTreeMap<&'static str, (i64, i64, i64)> = prior
        .markets
        .iter()
        .filter_map(|(code, c)| {
            let code = Country::parse(code).ok()?.code();
            Some((code, (c.orders as i64, c.paid_orders as i64, c.matched as i64)))
        })
        .collect();
    let affected = scope.orders.iter().map(String::as_str).chain(outside.iter().map(String::as_str));
    for order_id in affected {
        let (then, now) = if scope.orders.contains(order_id) {
            let now = orders_now.get(order_id).map(|o| OrderShare {
                country: o.country,
                paid: paid_now.contains(order_id),
                flagged: flagged_now.contains(order_id),
            });
            let country_then = match orders_before.get(order_id) {
                Some(before) if !before.existed => None,
                Some(before) => before.country.as_deref().and_then(|c| Country::parse(c).ok()),
                None => now.map(|s| s.country),
            };
            let then = country_then.map(|country| OrderShare {
                country,
                paid: paid_then_unchanged.contains(order_id) || paid_then_changed.contains(order_id),
                flagged: flagged_then.contains(order_id),
            });
            (then, now)
        } else {
            // Untouched: the same order, the same payments; only its findings moved.
            match store.order_paid_state(order_id)? {
                Some((country, paid)) => {
                    let country = Country::parse(&country).map_err(|_| StoreError::Corrupt(country.clone()))?;
                    let share = |flagged| Some(OrderShare { country, paid, flagged });
                    (share(flagged_then.contains(order_id)), share(flagged_now.contains(order_id)))
                }
                None => (None, None),
            }
        };
        add_share(&mut markets, then, -1);
        add_share(&mut markets, now, 1);
    }
    let consistent = per_kind.values().all(|c| *c >= 0)
        && markets.values().all(|(orders, paid, matched)| *orders >= 0 && *paid >= 0 && *matched >= 0);
    if !consistent {
        lap("the scoped counts do not add up; reading the whole ledger");
        return Ok(None);
    }
    lap("counts corrected");
    let (payments_added, settlements_added) = store.ledger_rows_after(memo.seen.payments, memo.seen.settlements)?;
    let markets: BTreeMap<&'static str, MarketCounts> = markets
        .into_iter()
        .map(|(code, (orders, paid_orders, matched))| {
            (code, MarketCounts { orders: orders as u64, paid_orders: paid_orders as u64, matched: matched as u64 })
        })
        .collect();
    let summary = ReconcileSummary {
        as_of: options.as_of.to_string(),
        orders: markets.values().map(|m| m.orders).sum(),
        payments: prior.payments + payments_added as u64,
        settlements: prior.settlements + settlements_added as u64,
        matched: markets.values().map(|m| m.matched).sum(),
        exceptions: per_kind.into_iter().map(|(k, c)| (k, c as u64)).collect(),
        open_exceptions: 0,
        markets,
        newly_opened: 0,
        cleared: 0,
        elapsed_ms: 0,
        scope: Some(RunScopeCounts { orders: scope.orders.len() as u64, payments: scope.keys.len() as u64 }),
    };
    let decided: Vec<ExceptionNote> = notes.into_iter().filter(|n| in_scope(n)).collect();
    let paid_days = day_changes
        .paid_days
        .iter()
        .filter(|(_, delta)| **delta != 0)
        .map(|((psp, country, day), delta)| (psp.to_string(), country.code().to_string(), day.to_string(), *delta))
        .collect();
    let awaiting_settlement =
        awaiting_now.into_iter().filter(|a| scope.keys.contains(&(a.psp.clone(), a.payment_id.clone()))).collect();
    Ok(Some(ScopedRun {
        findings,
        decided,
        summary,
        paid_days,
        report_spans: spans_rows(&new_spans),
        awaiting_settlement,
        marks,
    }))
}

/// Report spans as the memo stores them.
pub(super) fn spans_rows(facts: &ReportFacts) -> Vec<ReportSpanRow> {
    facts
        .spans
        .iter()
        .flat_map(|((psp, market), files)| {
            files.iter().map(move |(batch, (first, last))| {
                (*batch, psp.to_string(), market.code().to_string(), first.to_string(), last.to_string())
            })
        })
        .collect()
}

/// Writes a scoped run's findings, deciding only the exceptions in its scope.
pub(super) fn apply(
    store: &mut Store,
    run: &ScopedRun,
    record: &RunRecord<'_>,
    options: &ReconcileOptions,
    operator: &Operator,
    entry: &crate::store::AuditEntry,
    read_at_version: i64,
) -> Result<crate::store::ApplyCounts, ReconcileError> {
    let managed: Vec<&str> = ExceptionKind::RECONCILED.iter().map(|k| k.as_str()).collect();
    let fingerprint = options_fingerprint(options);
    let memo = MemoUpdate {
        options: &fingerprint,
        as_of: record.as_of,
        at: options.at,
        summary_json: record.summary_json,
        paid_days: &run.paid_days,
        report_spans: &run.report_spans,
        awaiting_settlement: &run.awaiting_settlement,
        full_needed_next: false,
    };
    let (_, applied) = store.apply_findings(
        &run.findings,
        &managed,
        Utc::now().timestamp(),
        &operator.name,
        record,
        entry,
        read_at_version,
        RunScope::Scoped { decided: &run.decided, memo, marks: run.marks },
    )?;
    Ok(applied)
}
