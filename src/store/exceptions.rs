//! Reading and resolving exceptions.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use crate::model::exception::{ExceptionKind, ExceptionStatus, LinkTarget, ResolutionAction};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub kind: Option<String>,
    /// `None`: every status.
    pub status: Option<ExceptionStatus>,
    pub order_id: Option<String>,
    pub psp: Option<String>,
    pub country: Option<String>,
    pub store: Option<String>,
    /// `Some("")` selects unassigned exceptions.
    pub assignee: Option<String>,
    /// The business event (see `OCCURRED_AT_SQL`) within [from, to) seconds
    /// since the epoch (age buckets).
    pub detected_from: Option<i64>,
    pub detected_to: Option<i64>,
    /// Keyset paging: ids after this one (with the id order).
    pub after_id: Option<String>,
    pub limit: u32,
}

/// The orders an exception page can come in. Each sorts on a column and then
/// the id, so that a (value, id) cursor pages without OFFSET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ExceptionSort {
    #[default]
    Id,
    AgeDesc,
    AgeAsc,
    AmountDesc,
    AmountAsc,
}

/// Where the next page starts: the last row's sort value and id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExceptionCursor {
    pub value: i64,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExceptionRecord {
    pub id: String,
    pub kind: ExceptionKind,
    pub status: ExceptionStatus,
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    pub country: String,
    pub store: String,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub detail: String,
    pub detected_at: DateTime<Utc>,
    /// When the business event happened: the payment (paid, else created),
    /// else the settlement row, else the order; the detection time when none is on record.
    pub occurred_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whole days since `occurred_at`.
    pub age_days: i64,
    pub assignee: Option<String>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// What the exception rules (src/exceptions.rs) need from a store: the local
/// file and the team server both give it, so a resolution follows the same
/// rules on either.
pub trait ExceptionLedger {
    fn exception(&mut self, id: &str) -> StoreResult<Option<ExceptionRecord>>;
    /// Resolves `current` if it is still open (else `StoreError::Conflict`), with
    /// its history entry, the payment link for a `link`, and `audit_entry`, in one transaction.
    fn resolve_exception(
        &mut self,
        current: &ExceptionRecord,
        action: ResolutionAction,
        note: &str,
        operator: &str,
        link: Option<&LinkTarget>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()>;
}

impl ExceptionLedger for Store {
    fn exception(&mut self, id: &str) -> StoreResult<Option<ExceptionRecord>> {
        Store::exception(self, id)
    }

    fn resolve_exception(
        &mut self,
        current: &ExceptionRecord,
        action: ResolutionAction,
        note: &str,
        operator: &str,
        link: Option<&LinkTarget>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        Store::resolve_exception(self, current, action, note, operator, link, audit_entry)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HistoryRecord {
    pub at: DateTime<Utc>,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub operator: String,
    pub note: String,
}

/// An exception's age counts from the business event, not from the run that
/// detected it: a first reconciliation of a month-old file would otherwise put
/// every exception in "0-1 d". Each lookup uses a unique index.
const OCCURRED_AT_SQL: &str = "coalesce(
    (SELECT coalesce(p.paid_at, p.created_at) FROM payments p
        WHERE exceptions.payment_id <> '' AND p.payment_id = exceptions.payment_id AND p.psp = exceptions.psp),
    (SELECT s.created_at FROM settlements s WHERE s.id = exceptions.settlement),
    (SELECT o.created_at FROM orders o WHERE exceptions.order_id <> '' AND o.order_id = exceptions.order_id),
    detected_at)";

/// The columns `exception_from_row` reads, but for the event time.
const EXCEPTION_COLUMNS: &str = "id, kind, status, order_id, psp, payment_id, country, store, amount_minor,
    currency, detail, detected_at, updated_at, assignee, resolution, resolved_by, resolved_at, note";

fn exception_select() -> String {
    format!("SELECT {EXCEPTION_COLUMNS}, {OCCURRED_AT_SQL} FROM exceptions")
}

type SqlValues = Vec<Box<dyn rusqlite::ToSql>>;

/// WHERE clauses (joined with AND by the caller) and their values for a filter.
fn filter_sql(filter: &ExceptionFilter) -> (Vec<String>, SqlValues) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: SqlValues = Vec::new();
    let mut eq = |column: &str, value: &Option<String>| {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?"));
            values.push(Box::new(v.clone()));
        }
    };
    eq("kind", &filter.kind);
    eq("status", &filter.status.map(|s| s.as_str().to_string()));
    eq("order_id", &filter.order_id);
    eq("psp", &filter.psp);
    eq("country", &filter.country);
    eq("store", &filter.store);
    match filter.assignee.as_deref() {
        Some("") => clauses.push("assignee IS NULL".into()),
        Some(name) => {
            clauses.push("assignee = ?".into());
            values.push(Box::new(name.to_string()));
        }
        None => {}
    }
    if let Some(from) = filter.detected_from {
        clauses.push(format!("{OCCURRED_AT_SQL} >= ?"));
        values.push(Box::new(from));
    }
    if let Some(to) = filter.detected_to {
        clauses.push(format!("{OCCURRED_AT_SQL} < ?"));
        values.push(Box::new(to));
    }
    if let Some(after) = &filter.after_id {
        clauses.push("id > ?".into());
        values.push(Box::new(after.clone()));
    }
    (clauses, values)
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn exception_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExceptionRecord> {
    let kind: String = r.get(1)?;
    let kind = ExceptionKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown exception kind {kind:?}").into(),
        )
    })?;
    let status: String = r.get(2)?;
    let detected_at = time(r.get(11)?);
    let occurred_at = time(r.get(18)?);
    Ok(ExceptionRecord {
        id: r.get(0)?,
        kind,
        status: ExceptionStatus::parse(&status).unwrap_or(ExceptionStatus::Open),
        order_id: r.get(3)?,
        psp: r.get(4)?,
        payment_id: r.get(5)?,
        country: r.get(6)?,
        store: r.get(7)?,
        amount_minor: r.get(8)?,
        currency: r.get(9)?,
        detail: r.get(10)?,
        detected_at,
        occurred_at,
        updated_at: time(r.get(12)?),
        age_days: (Utc::now() - occurred_at).num_days(),
        assignee: r.get(13)?,
        resolution: r.get(14)?,
        resolved_by: r.get(15)?,
        resolved_at: r.get::<_, Option<i64>>(16)?.map(time),
        note: r.get(17)?,
    })
}

impl Store {
    pub fn exception(&self, id: &str) -> StoreResult<Option<ExceptionRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("{} WHERE id = ?1", exception_select()))?;
        Ok(stmt.query_row([id], exception_from_row).optional()?)
    }

    pub fn exceptions(&self, filter: &ExceptionFilter) -> StoreResult<Vec<ExceptionRecord>> {
        self.exception_page(filter, ExceptionSort::Id, None)
    }

    /// One page of the queue. Only the filters that are set go into the SQL,
    /// so that SQLite can use the matching index ("? IS NULL OR col = ?" would
    /// force a full scan).
    pub fn exception_page(
        &self,
        filter: &ExceptionFilter,
        sort: ExceptionSort,
        after: Option<&ExceptionCursor>,
    ) -> StoreResult<Vec<ExceptionRecord>> {
        let (mut clauses, mut values) = filter_sql(filter);
        let (order, cursor_clause) = match sort {
            ExceptionSort::Id => ("id", None),
            ExceptionSort::AgeDesc => ("occurred ASC, id ASC", Some("(occurred, id) > (?, ?)")),
            ExceptionSort::AgeAsc => ("occurred DESC, id DESC", Some("(occurred, id) < (?, ?)")),
            ExceptionSort::AmountDesc => {
                ("coalesce(amount_minor, 0) DESC, id DESC", Some("(coalesce(amount_minor, 0), id) < (?, ?)"))
            }
            ExceptionSort::AmountAsc => {
                ("coalesce(amount_minor, 0) ASC, id ASC", Some("(coalesce(amount_minor, 0), id) > (?, ?)"))
            }
        };
        match (cursor_clause, after) {
            (Some(clause), Some(cursor)) => {
                clauses.push(clause.to_string());
                values.push(Box::new(cursor.value));
                values.push(Box::new(cursor.id.clone()));
            }
            // In id order the id alone is the cursor (its value is 0).
            (None, Some(cursor)) => {
                clauses.push("id > ?".to_string());
                values.push(Box::new(cursor.id.clone()));
            }
            (_, None) => {}
        }
        values.push(Box::new(filter.limit));
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        // The age sorts and their cursor use the event time, through an alias
        // of the select's last column; the inner select filters, the outer pages.
        let sql = format!(
            "SELECT {EXCEPTION_COLUMNS}, occurred
             FROM (SELECT *, {OCCURRED_AT_SQL} AS occurred FROM exceptions) AS exceptions{where_sql}
             ORDER BY {order} LIMIT ?"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let rows = stmt.query_map(refs.as_slice(), exception_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts per kind for the filter (ignoring its kind), and per age bucket
    /// boundaries given as detected-at thresholds (newest first).
    pub fn exception_counts(&self, filter: &ExceptionFilter) -> StoreResult<Vec<(String, i64)>> {
        let without_kind = ExceptionFilter { kind: None, after_id: None, ..filter.clone() };
        let (clauses, values) = filter_sql(&without_kind);
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!("SELECT kind, count(*) FROM exceptions{where_sql} GROUP BY kind ORDER BY kind");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let rows = stmt.query_map(refs.as_slice(), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Counts per kind and per event-time range in one pass over the filter's
    /// rows (ignoring its kind and its own detected range): for each kind, one
    /// count per range in `ranges` ([from, to), either end open) and the total.
    pub fn exception_counts_by_range(
        &self,
        filter: &ExceptionFilter,
        ranges: &[(Option<i64>, Option<i64>)],
    ) -> StoreResult<Vec<(String, Vec<i64>, i64)>> {
        let without_kind_and_range =
            ExceptionFilter { kind: None, after_id: None, detected_from: None, detected_to: None, ..filter.clone() };
        let (clauses, mut values) = filter_sql(&without_kind_and_range);
        let mut sums = Vec::with_capacity(ranges.len());
        let mut range_values: SqlValues = Vec::new();
        for (from, to) in ranges {
            let mut tests = Vec::new();
            if let Some(from) = from {
                tests.push("occurred >= ?");
                range_values.push(Box::new(*from));
            }
            if let Some(to) = to {
                tests.push("occurred < ?");
                range_values.push(Box::new(*to));
            }
            let test = if tests.is_empty() { "1".to_string() } else { tests.join(" AND ") };
            sums.push(format!("sum({test})"));
        }
        // The range sums come first in the SQL text, so their values go first.
        range_values.append(&mut values);
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sum_sql = sums.iter().map(|s| format!("{s}, ")).collect::<String>();
        let sql = format!(
            "SELECT kind, {sum_sql}count(*)
             FROM (SELECT kind, {OCCURRED_AT_SQL} AS occurred FROM exceptions{where_sql})
             GROUP BY kind ORDER BY kind"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let refs: Vec<&dyn rusqlite::ToSql> = range_values.iter().map(|v| v.as_ref()).collect();
        let n = ranges.len();
        let rows = stmt.query_map(refs.as_slice(), |r| {
            let per_range =
                (1..=n).map(|i| r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0))).collect::<Result<_, _>>()?;
            Ok((r.get(0)?, per_range, r.get(n + 1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets (or clears) the assignee of open exceptions, with history and audit.
    pub fn assign_exceptions(
        &mut self,
        ids: &[String],
        assignee: Option<&str>,
        operator: &str,
        audit_entry: &AuditEntry,
    ) -> StoreResult<u64> {
        let now = Utc::now().timestamp();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut changed = 0;
        {
            let mut update = tx.prepare_cached(
                "UPDATE exceptions SET assignee = ?2, updated_at = ?3 WHERE id = ?1 AND assignee IS NOT ?2",
            )?;
            let mut history = tx.prepare_cached(
                "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
                 SELECT id, ?2, ?3, status, status, ?4, '' FROM exceptions WHERE id = ?1",
            )?;
            let event = match assignee {
                Some(name) => format!("assigned to {name}"),
                None => "unassigned".to_string(),
            };
            for id in ids {
                if update.execute(params![id, assignee, now])? == 1 {
                    history.execute(params![id, now, event, operator])?;
                    changed += 1;
                }
            }
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Every exception matching the filter, in id order, for export.
    pub fn for_each_exception(
        &self,
        filter: &ExceptionFilter,
        mut each: impl FnMut(&ExceptionRecord) -> Result<(), String>,
    ) -> StoreResult<u64> {
        let (clauses, values) = filter_sql(filter);
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!("{}{where_sql} ORDER BY id", exception_select());
        let mut stmt = self.conn.prepare(&sql)?;
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let mut rows = stmt.query(refs.as_slice())?;
        let mut count = 0;
        while let Some(r) = rows.next()? {
            let record = exception_from_row(r)?;
            each(&record).map_err(StoreError::Invalid)?;
            count += 1;
        }
        Ok(count)
    }

    pub fn exception_history(&self, id: &str) -> StoreResult<Vec<HistoryRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, event, from_status, to_status, operator, note FROM exception_history
             WHERE exception_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(HistoryRecord {
                at: time(r.get(0)?),
                event: r.get(1)?,
                from_status: r.get(2)?,
                to_status: r.get(3)?,
                operator: r.get(4)?,
                note: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks an open exception resolved (and records a manual link), with its
    /// history and audit entry, in one transaction. Refuses, inside that
    /// transaction, an exception that someone else closed meanwhile.
    pub fn resolve_exception(
        &mut self,
        current: &ExceptionRecord,
        action: ResolutionAction,
        note: &str,
        operator: &str,
        link: Option<&LinkTarget>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let now = Utc::now().timestamp();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(target) = link {
            link_payment(&tx, current, target, operator, note, now)?;
        }
        let changed = tx.execute(
            "UPDATE exceptions SET status = 'resolved', resolution = ?2, resolved_by = ?3, resolved_at = ?4,
                 note = ?5, updated_at = ?4 WHERE id = ?1 AND status = 'open'",
            params![current.id, action.as_str(), operator, now, note],
        )?;
        if changed != 1 {
            return Err(StoreError::Conflict(format!("exception {} is no longer open", current.id)));
        }
        tx.execute(
            "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
             VALUES (?1, ?2, ?3, 'open', 'resolved', ?4, ?5)",
            params![current.id, now, format!("resolved: {}", action.as_str()), operator, note],
        )?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }
}

fn link_payment(
    tx: &rusqlite::Transaction<'_>,
    current: &ExceptionRecord,
    target: &LinkTarget,
    operator: &str,
    note: &str,
    now: i64,
) -> StoreResult<()> {
    let (payment_row, order_id): (i64, String) = match target {
        LinkTarget::Order(order_id) => {
            if current.payment_id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "exception {} is about order {}, not a payment: link it with --payment",
                    current.id, current.order_id
                )));
            }
            let exists: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM orders WHERE order_id = ?1)", [order_id], |r| r.get(0))?;
            if !exists {
                return Err(StoreError::Invalid(format!("no order {order_id:?} to link to")));
            }
            let row: i64 = tx
                .query_row(
                    "SELECT id FROM payments WHERE payment_id = ?1 AND psp = ?2",
                    params![current.payment_id, current.psp],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::Invalid(format!("payment {} is not in the ledger", current.payment_id)))?;
            (row, order_id.clone())
        }
        LinkTarget::Payment(payment_id) => {
            if current.order_id.is_empty() || !current.payment_id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "exception {} is about a payment: link it with --order",
                    current.id
                )));
            }
            let rows: Vec<i64> = {
                let mut stmt =
                    tx.prepare("SELECT id FROM payments WHERE payment_id = ?1 OR voucher_code = ?1 LIMIT 2")?;
                let found = stmt.query_map([payment_id], |r| r.get(0))?;
                found.collect::<Result<_, _>>()?
            };
            match rows.as_slice() {
                [row] => (*row, current.order_id.clone()),
                [] => return Err(StoreError::Invalid(format!("no payment {payment_id:?} to link"))),
                _ => return Err(StoreError::Invalid(format!("{payment_id:?} names more than one payment"))),
            }
        }
    };
    tx.execute(
        "INSERT INTO payment_links(payment, order_id, operator, linked_at, note) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(payment) DO UPDATE SET order_id = excluded.order_id, operator = excluded.operator,
             linked_at = excluded.linked_at, note = excluded.note",
        params![payment_row, order_id, operator, now, note],
    )?;
    Ok(())
}

/// A possible manual match for an exception: an order (for a payment) or a
/// paid payment (for an order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Candidate"))]
pub struct LinkCandidate {
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    pub buyer_name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub at: DateTime<Utc>,
}

/// Where a manual link looks for its other half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidatesAmong {
    /// Orders, by creation time (for a payment exception).
    Orders,
    /// Paid payments whose order id names no known order, by paid time (for an order exception).
    UnlinkedPayments,
}

impl Store {
    /// Candidates in `currency` for an amount in `amounts`, created (orders) or
    /// paid (payments) within `times`; at most `limit`, unranked.
    pub fn candidates(
        &self,
        among: CandidatesAmong,
        currency: &str,
        amounts: std::ops::RangeInclusive<i64>,
        times: std::ops::Range<i64>,
        limit: u32,
    ) -> StoreResult<Vec<LinkCandidate>> {
        let sql = match among {
            CandidatesAmong::Orders => {
                "SELECT order_id, '', '', buyer_name, amount_minor, currency, created_at FROM orders
                 WHERE currency = ?1 AND amount_minor BETWEEN ?2 AND ?3 AND created_at >= ?4 AND created_at < ?5
                 LIMIT ?6"
            }
            CandidatesAmong::UnlinkedPayments => {
                "SELECT p.order_id, p.psp, p.payment_id, '', p.amount_minor, p.currency, p.paid_at FROM payments p
                 LEFT JOIN payment_links l ON l.payment = p.id
                 WHERE p.status = 'paid' AND p.currency = ?1 AND p.amount_minor BETWEEN ?2 AND ?3
                   AND p.paid_at >= ?4 AND p.paid_at < ?5 AND l.payment IS NULL
                   AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = p.order_id)
                 LIMIT ?6"
            }
        };
        self.link_candidates(sql, params![currency, amounts.start(), amounts.end(), times.start, times.end, limit])
    }

    /// Candidates as `sql` selects them: order id, PSP, payment id, buyer,
    /// amount, currency and the time that placed them in the window.
    fn link_candidates(&self, sql: &str, window: impl rusqlite::Params) -> StoreResult<Vec<LinkCandidate>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(window, |r| {
            Ok(LinkCandidate {
                order_id: r.get(0)?,
                psp: r.get(1)?,
                payment_id: r.get(2)?,
                buyer_name: r.get(3)?,
                amount_minor: r.get(4)?,
                currency: r.get(5)?,
                at: time(r.get::<_, Option<i64>>(6)?.unwrap_or(0)),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
