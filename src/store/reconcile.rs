//! Streaming the columns reconciliation needs, and writing its findings.
//! Matching happens in memory (hash maps), not as SQL joins: at a million
//! orders that is several times faster on this kind of machine.

use super::audit::{self, AuditEntry};
use super::reconcile_changes::{ExceptionNote, MemoUpdate, RowMarks};
use super::{Store, StoreError, StoreResult};
use crate::model::exception::{ExceptionStatus, Finding, after_run};
use crate::model::market::Country;
use crate::model::money::Currency;
use crate::model::order::ShopStatus;
use crate::model::payment::PaymentStatus;
use crate::model::settlement::RowType;
use rusqlite::{TransactionBehavior, params};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// An id or short text in a fact list, inline when it is short.
pub type Id = compact_str::CompactString;

/// Shares one allocation per distinct short text (store names, PSP names).
/// Rows come in runs of one value, so the last one is checked first.
#[derive(Default)]
struct Interner {
    seen: FxHashMap<String, Arc<str>>,
    last: Option<Arc<str>>,
}

impl Interner {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(last) = self.last.as_ref().filter(|last| ***last == *text) {
            return last.clone();
        }
        let shared = match self.seen.get(text) {
            Some(found) => found.clone(),
            None => {
                let shared: Arc<str> = Arc::from(text);
                self.seen.insert(text.to_string(), shared.clone());
                shared
            }
        };
        self.last = Some(shared.clone());
        shared
    }
}

fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?
        .as_str()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
}

/// The most rows a fact list reserves up front; beyond it the list grows as
/// rows come.
const FACT_ROWS_RESERVED_MAX: usize = 20_000_000;

/// Findings from which a run into an empty queue writes them in bulk: in key
/// order, with the exception tables' secondary indexes dropped and built again
/// by sorting once (a first run at a million orders writes about 65,000
/// exceptions, eleven B-tree inserts each, most of them at random places).
const FINDINGS_BULK_MIN_ROWS: usize = 1_000;

/// The tables a bulk write of findings sets the indexes of aside.
const EXCEPTION_TABLES: [&str; 2] = ["exceptions", "exception_history"];

/// An upper bound of a table's rows (its largest rowid: an index seek, not a
/// count), so a fact list is allocated once instead of being copied as it
/// doubles: at a million rows the copies and the fresh pages they touch cost
/// more than reading the rows.
fn rows_hint(conn: &rusqlite::Connection, table: &str, from: &str) -> StoreResult<usize> {
    if from.starts_with("temp.") {
        // A scoped run's few rows.
        return Ok(0);
    }
    let max: Option<i64> = conn.query_row(&format!("SELECT max(rowid) FROM {table}"), [], |r| r.get(0))?;
    Ok((max.unwrap_or(0).max(0) as usize).min(FACT_ROWS_RESERVED_MAX))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unexpected {what} {value:?} in the ledger"))
}

fn country(value: &str) -> StoreResult<Country> {
    Country::parse(value).map_err(|_| corrupt("country", value))
}

fn currency(value: &str) -> StoreResult<Currency> {
    Currency::parse(value).map_err(|_| corrupt("currency", value))
}

pub struct OrderFacts {
    pub order_id: Id,
    pub store: Arc<str>,
    pub country: Country,
    pub status: ShopStatus,
    pub currency: Currency,
    pub amount_minor: i64,
    pub voucher_expires_at: Option<i64>,
    /// The payment the shop says paid it (may be empty).
    pub psp_payment_id: Id,
}

/// A payment the PSP still reports as pending, with its voucher's expiry.
pub struct PendingFacts {
    pub psp: Arc<str>,
    pub payment_id: Id,
    pub order_id: Id,
    pub country: Country,
    pub currency: Currency,
    pub amount_minor: i64,
    pub expires_at: Option<i64>,
}

/// A payment that was paid (and may since have been refunded, reversed or
/// charged back), with the order it belongs to (a manual link wins over the
/// file's order-id column).
pub struct PaymentFacts {
    pub status: PaymentStatus,
    /// When the money was taken back (reversed, charged back), if the PSP said.
    pub taken_back_at: Option<i64>,
    pub psp: Arc<str>,
    pub payment_id: Id,
    pub order_id: Id,
    pub country: Country,
    pub currency: Currency,
    pub amount_minor: i64,
    pub paid_at: Option<i64>,
    pub expires_at: Option<i64>,
}

/// The payments reconciliation reads, by what became of them.
pub struct PaymentFactLists {
    pub paid: Vec<PaymentFacts>,
    /// Paid once, since refunded, reversed or charged back.
    pub later: Vec<PaymentFacts>,
    pub pending: Vec<PendingFacts>,
}

pub struct SettlementFacts {
    pub id: i64,
    /// The import the row came in with: one report file.
    pub batch_id: i64,
    pub psp: Arc<str>,
    pub payment_id: Id,
    pub order_id: Id,
    pub row_type: RowType,
    pub created_at: Option<i64>,
    pub settled_on: Option<Id>,
    /// As the PSP wrote it (empty when the row has none).
    pub fx_rate: Id,
    pub settlement_currency: Currency,
    pub local_currency: Currency,
    pub local_amount_minor: i64,
    pub gross_minor: i64,
    pub net_minor: i64,
    pub fee_minor: i64,
}

/// One of our refunds the PSP confirmed.
pub struct RefundFacts {
    pub psp: String,
    pub payment_id: String,
    pub currency: Currency,
    pub amount_minor: i64,
}

/// A PSP's contracted fee rate, in basis points of the gross amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRate {
    pub account: String,
    pub psp: String,
    pub fee_bps: i64,
}

/// One finding as the store keeps it.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    pub id: String,
    pub kind: &'static str,
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    pub settlement: Option<i64>,
    pub country: String,
    pub store: String,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub facts: String,
    pub detail: String,
}

pub struct ExceptionState {
    pub status: ExceptionStatus,
    pub facts: String,
    /// Whether the last run found it.
    pub found_last_run: bool,
}

/// Which exceptions a run decides, and what it leaves for the next run.
pub enum RunScope<'a> {
    /// Every exception of the managed kinds.
    Full { memo: MemoUpdate<'a>, marks: RowMarks },
    /// Only these: the exceptions about the orders and payments the run re-examined.
    Scoped { decided: &'a [ExceptionNote], memo: MemoUpdate<'a>, marks: RowMarks },
}

/// Which facts a reconciliation reads: the whole ledger, or those a scoped
/// run's changes touch (see [`Store::close_reconcile_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactScope {
    Ledger,
    Changed,
}

impl FactScope {
    /// The FROM clause: the table itself, or the scoped run's join onto it.
    fn from_clause(self, ledger: &'static str, changed: &'static str) -> &'static str {
        match self {
            FactScope::Ledger => ledger,
            FactScope::Changed => changed,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct ApplyCounts {
    pub opened: u64,
    pub reopened: u64,
    pub cleared: u64,
    pub updated: u64,
    /// Whether the findings went into an empty queue in bulk (`FINDINGS_BULK_MIN_ROWS`).
    pub in_bulk: bool,
}

impl Store {
    /// The orders reconciliation reads.
    pub fn orders_for_reconcile(&self, scope: FactScope) -> StoreResult<Vec<OrderFacts>> {
        let from = scope.from_clause("orders o", super::reconcile_changes::SCOPED_ORDERS);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT o.order_id, o.store, o.country, o.status, o.currency, o.amount_minor, o.voucher_expires_at,
                    o.psp_payment_id
             FROM {from}"
        ))?;
        let mut rows = stmt.query([])?;
        let mut stores = Interner::default();
        let mut out = Vec::with_capacity(rows_hint(&self.conn, "orders", from)?);
        while let Some(r) = rows.next()? {
            let status = text(r, 3)?;
            out.push(OrderFacts {
                order_id: text(r, 0)?.into(),
                store: stores.get(text(r, 1)?),
                country: country(text(r, 2)?)?,
                status: ShopStatus::parse(status).ok_or_else(|| corrupt("shop status", status))?,
                currency: currency(text(r, 4)?)?,
                amount_minor: r.get(5)?,
                voucher_expires_at: r.get(6)?,
                psp_payment_id: text(r, 7)?.into(),
            });
        }
        Ok(out)
    }

    /// Payments that were paid: `paid` ones, apart from them those refunded,
    /// reversed or charged back since (with when the money was taken back),
    /// and those the PSP still reports as pending (vouchers not yet closed).
    /// One pass over the table.
    pub fn payments_for_reconcile(&self, scope: FactScope) -> StoreResult<PaymentFactLists> {
        let from = scope.from_clause("payments p", super::reconcile_changes::SCOPED_PAYMENTS);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT p.psp, p.payment_id, p.order_id, p.country, p.currency, p.amount_minor,
                    p.paid_at, p.expires_at, p.status,
                    CASE WHEN p.status IN ('reversed', 'charged_back') THEN
                        (SELECT max(h.status_at) FROM payment_status_history h
                         WHERE h.payment = p.id AND h.status = p.status) END,
                    p.id
             FROM {from}
             WHERE p.status IN ('paid', 'refunded', 'reversed', 'charged_back', 'pending')"
        ))?;
        // A manual link wins over the file's order id. Links are few: a map
        // here costs less than a join probe for every payment.
        let links: FxHashMap<i64, Id> = self
            .conn
            .prepare("SELECT payment, order_id FROM payment_links")?
            .query_map([], |r| Ok((r.get(0)?, Id::from(text(r, 1)?))))?
            .collect::<Result<_, _>>()?;
        let order_of = |r: &rusqlite::Row<'_>| -> StoreResult<Id> {
            if !links.is_empty()
                && let Some(linked) = links.get(&r.get::<_, i64>(10)?)
            {
                return Ok(linked.clone());
            }
            Ok(text(r, 2)?.into())
        };
        let mut rows = stmt.query([])?;
        let mut psps = Interner::default();
        let mut out = PaymentFactLists {
            paid: Vec::with_capacity(rows_hint(&self.conn, "payments", from)?),
            later: Vec::new(),
            pending: Vec::new(),
        };
        while let Some(r) = rows.next()? {
            let status = text(r, 8)?;
            let status = PaymentStatus::parse(status).ok_or_else(|| corrupt("payment status", status))?;
            let list = match status {
                PaymentStatus::Pending => {
                    out.pending.push(PendingFacts {
                        psp: psps.get(text(r, 0)?),
                        payment_id: text(r, 1)?.into(),
                        order_id: order_of(r)?,
                        country: country(text(r, 3)?)?,
                        currency: currency(text(r, 4)?)?,
                        amount_minor: r.get(5)?,
                        expires_at: r.get(7)?,
                    });
                    continue;
                }
                PaymentStatus::Paid => &mut out.paid,
                PaymentStatus::Refunded | PaymentStatus::Reversed | PaymentStatus::ChargedBack => &mut out.later,
                PaymentStatus::Rejected | PaymentStatus::Cancelled | PaymentStatus::Expired => {
                    return Err(corrupt("payment status for reconciliation", status.as_str()));
                }
            };
            list.push(PaymentFacts {
                status,
                taken_back_at: r.get(9)?,
                psp: psps.get(text(r, 0)?),
                payment_id: text(r, 1)?.into(),
                order_id: order_of(r)?,
                country: country(text(r, 3)?)?,
                currency: currency(text(r, 4)?)?,
                amount_minor: r.get(5)?,
                paid_at: r.get(6)?,
                expires_at: r.get(7)?,
            });
        }
        Ok(out)
    }

    /// Settlement rows of every type.
    pub fn settlements_for_reconcile(&self, scope: FactScope) -> StoreResult<Vec<SettlementFacts>> {
        let from = scope.from_clause("settlements s", super::reconcile_changes::SCOPED_SETTLEMENTS);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT s.id, s.psp, s.payment_id, s.order_id, s.local_currency, s.local_amount_minor, s.gross_minor,
                    s.net_minor, s.fee_minor, s.row_type, s.created_at, s.settled_on, s.fx_rate, s.settlement_currency,
                    s.batch_id
             FROM {from}"
        ))?;
        let mut rows = stmt.query([])?;
        let mut psps = Interner::default();
        let mut out = Vec::with_capacity(rows_hint(&self.conn, "settlements", from)?);
        while let Some(r) = rows.next()? {
            let row_type = text(r, 9)?;
            out.push(SettlementFacts {
                id: r.get(0)?,
                batch_id: r.get(14)?,
                psp: psps.get(text(r, 1)?),
                payment_id: text(r, 2)?.into(),
                order_id: text(r, 3)?.into(),
                row_type: RowType::parse(row_type).ok_or_else(|| corrupt("settlement row type", row_type))?,
                created_at: r.get(10)?,
                settled_on: r
                    .get_ref(11)?
                    .as_str_or_null()
                    .map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Text, Box::new(e))
                    })?
                    .map(Id::from),
                fx_rate: text(r, 12)?.into(),
                settlement_currency: currency(text(r, 13)?)?,
                local_currency: currency(text(r, 4)?)?,
                local_amount_minor: r.get(5)?,
                gross_minor: r.get(6)?,
                net_minor: r.get(7)?,
                fee_minor: r.get(8)?,
            });
        }
        Ok(out)
    }

    /// Our refunds the PSP confirmed (`succeeded`).
    pub fn succeeded_refunds_for_reconcile(&self) -> StoreResult<Vec<RefundFacts>> {
        let mut stmt = self
            .conn
            .prepare("SELECT psp, payment_id, currency, amount_minor FROM refunds WHERE status = 'succeeded'")?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(RefundFacts {
                psp: text(r, 0)?.to_string(),
                payment_id: text(r, 1)?.to_string(),
                currency: currency(text(r, 2)?)?,
                amount_minor: r.get(3)?,
            });
        }
        Ok(out)
    }

    /// Every PSP account's contracted fee rate, by account name.
    pub fn fee_rates(&self) -> StoreResult<Vec<FeeRate>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.name, a.psp, f.fee_bps FROM psp_fee_rates f JOIN psp_accounts a ON a.name = f.account
             ORDER BY a.name",
        )?;
        let rows = stmt.query_map([], |r| Ok(FeeRate { account: r.get(0)?, psp: r.get(1)?, fee_bps: r.get(2)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets (or with `None` removes) an account's contracted fee rate, with
    /// its audit entry, in one transaction.
    pub fn set_fee_rate(
        &mut self,
        account: &str,
        fee_bps: Option<i64>,
        operator: &str,
        now: i64,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: i64 = tx.query_row("SELECT count(*) FROM psp_accounts WHERE name = ?1", [account], |r| r.get(0))?;
        if known == 0 {
            return Err(super::StoreError::Invalid(format!("no PSP account named {account:?}")));
        }
        match fee_bps {
            Some(bps) => tx.execute(
                "INSERT INTO psp_fee_rates(account, fee_bps, set_by, set_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(account) DO UPDATE SET fee_bps = ?2, set_by = ?3, set_at = ?4",
                params![account, bps, operator, now],
            )?,
            None => tx.execute("DELETE FROM psp_fee_rates WHERE account = ?1", [account])?,
        };
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }

    pub fn payment_count(&self) -> StoreResult<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM payments", [], |r| r.get(0))?)
    }

    /// Writes a run's findings: new exceptions open, vanished ones clear,
    /// resolved ones stay resolved unless their facts changed. Everything in
    /// one transaction with the run record and its audit entry.
    ///
    /// A full run compares its findings with every exception of the managed
    /// kinds; a scoped run only with `RunScope::Scoped`'s, the exceptions about
    /// what it re-examined. Either way the run leaves its memo for the next.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_findings(
        &mut self,
        findings: &[StoredFinding],
        managed_kinds: &[&str],
        now: i64,
        operator: &str,
        run: &RunRecord<'_>,
        audit_entry: &AuditEntry,
        read_at_version: i64,
        scope: RunScope<'_>,
    ) -> StoreResult<(i64, ApplyCounts)> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now_version: i64 = tx.pragma_query_value(None, "data_version", |r| r.get(0))?;
        if now_version != read_at_version {
            return Err(StoreError::Conflict("the ledger changed while reconciling".into()));
        }
        tx.execute(
            "INSERT INTO reconcile_runs(as_of, settlement_lag_days, amount_tolerance, started_at, finished_at, operator, summary_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![run.as_of, run.settlement_lag_days, run.amount_tolerance_minor, run.started_at, now, operator, run.summary_json],
        )?;
        let run_id = tx.last_insert_rowid();
        let mut existing: FxHashMap<String, ExceptionState> = FxHashMap::default();
        match &scope {
            RunScope::Full { .. } => {
                let mut stmt = tx.prepare(
                    "SELECT e.id, e.kind, e.status, e.facts, f.id IS NOT NULL
                     FROM exceptions e LEFT JOIN reconcile_findings f ON f.id = e.id",
                )?;
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    let kind: String = r.get(1)?;
                    if !managed_kinds.contains(&kind.as_str()) {
                        continue;
                    }
                    let status: String = r.get(2)?;
                    let status = ExceptionStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("exception status {status:?}")))?;
                    existing.insert(r.get(0)?, ExceptionState { status, facts: r.get(3)?, found_last_run: r.get(4)? });
                }
            }
            RunScope::Scoped { decided, .. } => {
                for note in decided.iter().filter(|n| managed_kinds.contains(&n.kind.as_str())) {
                    existing.insert(
                        note.id.clone(),
                        ExceptionState {
                            status: note.status,
                            facts: note.facts.clone(),
                            found_last_run: note.found_last_run,
                        },
                    );
                }
            }
        }
        let bulk = findings.len() >= FINDINGS_BULK_MIN_ROWS
            && !tx.query_row("SELECT EXISTS(SELECT 1 FROM exceptions)", [], |r| r.get::<_, bool>(0))?;
        let set_aside = if bulk { Some(super::indexes::set_aside(&tx, &EXCEPTION_TABLES)?) } else { None };
        let mut in_order: Vec<&StoredFinding> = findings.iter().collect();
        if bulk {
            // Ids in key order fill the exceptions' and findings' B-trees page after page.
            in_order.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        }
        let mut found = tx.prepare_cached("INSERT OR IGNORE INTO reconcile_findings(id) VALUES (?1)")?;
        let mut lost = tx.prepare_cached("DELETE FROM reconcile_findings WHERE id = ?1")?;
        let mut counts = ApplyCounts { in_bulk: bulk, ..ApplyCounts::default() };
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store,
                     amount_minor, currency, facts, detail, detected_at, updated_at, last_run)
                 VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
            )?;
            let mut set_status = tx.prepare_cached(
                "UPDATE exceptions SET status = ?2, facts = ?3, detail = ?4, updated_at = ?5, last_run = ?6,
                     resolution = CASE WHEN ?2 = 'open' THEN NULL ELSE resolution END
                 WHERE id = ?1",
            )?;
            let mut history = tx.prepare_cached(
                "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for f in in_order {
                let before = existing.remove(&f.id);
                if !before.as_ref().is_some_and(|state| state.found_last_run) {
                    found.execute([&f.id])?;
                }
                match before {
                    None => {
                        insert.execute(params![
                            f.id,
                            f.kind,
                            f.order_id,
                            f.psp,
                            f.payment_id,
                            f.settlement,
                            f.country,
                            f.store,
                            f.amount_minor,
                            f.currency,
                            f.facts,
                            f.detail,
                            now,
                            run_id
                        ])?;
                        history.execute(params![f.id, now, "detected", None::<String>, "open", operator, f.detail])?;
                        counts.opened += 1;
                    }
                    Some(state) => {
                        let seen = if state.facts == f.facts { Finding::Unchanged } else { Finding::FactsChanged };
                        match after_run(state.status, seen) {
                            Some(next) => {
                                set_status.execute(params![f.id, next.as_str(), f.facts, f.detail, now, run_id])?;
                                let event = match state.status {
                                    ExceptionStatus::Cleared => "reappeared",
                                    ExceptionStatus::Resolved | ExceptionStatus::Open => "reopened: facts changed",
                                };
                                history.execute(params![
                                    f.id,
                                    now,
                                    event,
                                    state.status.as_str(),
                                    next.as_str(),
                                    operator,
                                    f.detail
                                ])?;
                                counts.reopened += 1;
                            }
                            None if seen == Finding::FactsChanged => {
                                set_status.execute(params![
                                    f.id,
                                    state.status.as_str(),
                                    f.facts,
                                    f.detail,
                                    now,
                                    run_id
                                ])?;
                                history.execute(params![
                                    f.id,
                                    now,
                                    "facts changed",
                                    state.status.as_str(),
                                    state.status.as_str(),
                                    operator,
                                    f.detail
                                ])?;
                                counts.updated += 1;
                            }
                            None => {}
                        }
                    }
                }
            }
            for (id, state) in existing {
                if state.found_last_run {
                    lost.execute([&id])?;
                }
                if let Some(next) = after_run(state.status, Finding::Gone) {
                    tx.execute(
                        "UPDATE exceptions SET status = ?2, updated_at = ?3, last_run = ?4 WHERE id = ?1",
                        params![id, next.as_str(), now, run_id],
                    )?;
                    history.execute(params![
                        id,
                        now,
                        "cleared by data",
                        state.status.as_str(),
                        next.as_str(),
                        operator,
                        "the condition no longer holds"
                    ])?;
                    counts.cleared += 1;
                }
            }
        }
        drop((found, lost));
        if let Some(set_aside) = set_aside {
            super::indexes::restore(&tx, set_aside)?;
        }
        let (memo, full, marks) = match &scope {
            RunScope::Full { memo, marks } => (memo, true, *marks),
            RunScope::Scoped { memo, marks, .. } => (memo, false, *marks),
        };
        super::reconcile_changes::write_memo(&tx, memo, full, marks)?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok((run_id, counts))
    }

    pub fn open_exception_count(&self) -> StoreResult<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM exceptions WHERE status = 'open'", [], |r| r.get(0))?)
    }
}

pub struct RunRecord<'a> {
    pub as_of: &'a str,
    pub settlement_lag_days: i64,
    pub amount_tolerance_minor: i64,
    pub started_at: i64,
    pub summary_json: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding of kind `stale_pending` numbered `n`; ids in no particular order.
    fn finding(n: u64) -> StoredFinding {
        StoredFinding {
            id: format!("stale_pending:{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            kind: "stale_pending",
            order_id: format!("O-{n}"),
            psp: "dlocal".into(),
            payment_id: format!("D-{n}"),
            settlement: None,
            country: "CO".into(),
            store: "shop".into(),
            amount_minor: Some(n as i64 * 100),
            currency: "COP".into(),
            facts: format!("{{\"n\":{n}}}"),
            detail: "the voucher is still pending".into(),
        }
    }

    fn apply(store: &mut Store, findings: &[StoredFinding]) -> ApplyCounts {
        let version: i64 = store.conn.pragma_query_value(None, "data_version", |r| r.get(0)).unwrap();
        let memo = MemoUpdate {
            options: "",
            as_of: "2026-03-20",
            at: 0,
            summary_json: "{}",
            paid_days: &[],
            report_spans: &[],
            awaiting_settlement: &[],
            full_needed_next: false,
        };
        let record = RunRecord {
            as_of: "2026-03-20",
            settlement_lag_days: 2,
            amount_tolerance_minor: 0,
            started_at: 0,
            summary_json: "{}",
        };
        let entry = AuditEntry {
            at: chrono::Utc::now(),
            operator: "admin".into(),
            action: "reconcile".into(),
            subject: "as of 2026-03-20".into(),
            before: String::new(),
            after: String::new(),
        };
        let scope = RunScope::Full { memo, marks: RowMarks::default() };
        store.apply_findings(findings, &["stale_pending"], 1, "admin", &record, &entry, version, scope).unwrap().1
    }

    fn exception_indexes(store: &Store) -> Vec<(String, String)> {
        let mut stmt = store
            .conn
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                 AND tbl_name IN ('exceptions', 'exception_history') ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    }

    fn count(store: &Store, table: &str) -> i64 {
        store.conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_first_run_into_an_empty_queue_is_written_in_bulk_with_its_indexes_built_again() {
        let mut store = Store::open_in_memory().unwrap();
        let indexes = exception_indexes(&store);
        assert_eq!(indexes.len(), 7, "{indexes:?}");
        let findings: Vec<StoredFinding> = (0..FINDINGS_BULK_MIN_ROWS as u64 + 500).map(finding).collect();
        let first = apply(&mut store, &findings);
        assert_eq!((first.opened, first.in_bulk), (1_500, true));
        assert_eq!(exception_indexes(&store), indexes, "the same indexes, from the same SQL");
        let check: String = store.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        for table in ["exceptions", "exception_history", "reconcile_findings"] {
            assert_eq!(count(&store, table), 1_500, "{table}");
        }
        let by_order: String = store
            .conn
            .query_row("SELECT id FROM exceptions INDEXED BY exceptions_by_order WHERE order_id = 'O-777'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(by_order, finding(777).id);

        // The queue is no longer empty: the next run writes row by row, and
        // finds what the first wrote (found last run, facts unchanged).
        let mut more = findings.clone();
        more.push(finding(5_000));
        let second = apply(&mut store, &more);
        assert_eq!((second.opened, second.updated, second.cleared, second.in_bulk), (1, 0, 0, false));
        assert_eq!(count(&store, "exception_history"), 1_501);

        // A small first run is written row by row.
        let mut small = Store::open_in_memory().unwrap();
        let few: Vec<StoredFinding> = (0..FINDINGS_BULK_MIN_ROWS as u64 - 1).map(finding).collect();
        assert!(!apply(&mut small, &few).in_bulk);
        assert_eq!(count(&small, "exceptions"), FINDINGS_BULK_MIN_ROWS as i64 - 1);
    }
}
