//! Reading and resolving exceptions.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use crate::exceptions::{ExceptionStatus, LinkTarget, ResolutionAction};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub kind: Option<String>,
    /// `None`: every status.
    pub status: Option<ExceptionStatus>,
    pub order_id: Option<String>,
    /// Keyset paging: ids after this one.
    pub after_id: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExceptionRecord {
    pub id: String,
    pub kind: String,
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
    pub updated_at: DateTime<Utc>,
    pub age_days: i64,
    pub assignee: Option<String>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRecord {
    pub at: DateTime<Utc>,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub operator: String,
    pub note: String,
}

const EXCEPTION_SELECT: &str = "SELECT id, kind, status, order_id, psp, payment_id, country, store, amount_minor,
    currency, detail, detected_at, updated_at, assignee, resolution, resolved_by, resolved_at, note FROM exceptions";

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn exception_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExceptionRecord> {
    let status: String = r.get(2)?;
    let detected_at = time(r.get(11)?);
    Ok(ExceptionRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
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
        updated_at: time(r.get(12)?),
        age_days: (Utc::now() - detected_at).num_days(),
        assignee: r.get(13)?,
        resolution: r.get(14)?,
        resolved_by: r.get(15)?,
        resolved_at: r.get::<_, Option<i64>>(16)?.map(time),
        note: r.get(17)?,
    })
}

impl Store {
    pub fn exception(&self, id: &str) -> StoreResult<Option<ExceptionRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("{EXCEPTION_SELECT} WHERE id = ?1"))?;
        Ok(stmt.query_row([id], exception_from_row).optional()?)
    }

    pub fn exceptions(&self, filter: &ExceptionFilter) -> StoreResult<Vec<ExceptionRecord>> {
        // Only the filters that are set go into the SQL, so that SQLite can use
        // the matching index ("? IS NULL OR col = ?" would force a full scan).
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::new();
        let status = filter.status.map(|s| s.as_str());
        if let Some(kind) = &filter.kind {
            clauses.push("kind = ?");
            values.push(kind);
        }
        if let Some(status) = &status {
            clauses.push("status = ?");
            values.push(status);
        }
        if let Some(order_id) = &filter.order_id {
            clauses.push("order_id = ?");
            values.push(order_id);
        }
        if let Some(after) = &filter.after_id {
            clauses.push("id > ?");
            values.push(after);
        }
        values.push(&filter.limit);
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!("{EXCEPTION_SELECT}{where_sql} ORDER BY id LIMIT ?");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(values.as_slice(), exception_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
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
