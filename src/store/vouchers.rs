//! Vouchers issued, extended and cancelled from the console: the attempts
//! recorded before each PSP call, and the ledger changes that follow the
//! PSP's answer, each in one transaction with its audit entry.

use super::audit::{self, AuditEntry};
use super::imports::ts;
use super::observations::{self, AppliedObservation};
use super::{Store, StoreError, StoreResult, search};
use crate::model::observation::{ObservationSource, Observed};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// One voucher issue attempt (`voucher_issues`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VoucherIssueRow {
    pub id: i64,
    pub order_id: String,
    pub psp: String,
    /// What the PSP was given as its order reference.
    pub reference: String,
    /// `requested` (sent or about to be, no answer recorded), `issued`, `failed`.
    pub status: String,
    pub hours: i64,
    pub expires_at: DateTime<Utc>,
    pub payment_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A new attempt; its reference is made from the order id when it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoucherIssue {
    pub order_id: String,
    pub psp: String,
    pub hours: i64,
    pub expires_at: DateTime<Utc>,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
}

/// The order's voucher after a new one was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderVoucher {
    pub payment_id: String,
    pub voucher_code: String,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, order_id, psp, reference, status, hours, expires_at, payment_id, attempts, last_error,
     requested_by, requested_at, finished_at";

fn instant(seconds: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, seconds))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VoucherIssueRow> {
    Ok(VoucherIssueRow {
        id: r.get(0)?,
        order_id: r.get(1)?,
        psp: r.get(2)?,
        reference: r.get(3)?,
        status: r.get(4)?,
        hours: r.get(5)?,
        expires_at: instant(r.get(6)?)?,
        payment_id: r.get(7)?,
        attempts: r.get(8)?,
        last_error: r.get(9)?,
        requested_by: r.get(10)?,
        requested_at: instant(r.get(11)?)?,
        finished_at: r.get::<_, Option<i64>>(12)?.map(instant).transpose()?,
    })
}

fn issue_by_id(conn: &Connection, id: i64) -> StoreResult<VoucherIssueRow> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM voucher_issues WHERE id = ?1"))?
        .query_row([id], row)
        .optional()?
        .ok_or_else(|| StoreError::Invalid(format!("no voucher issue {id}")))
}

/// The shop's order a PSP reference stands for, when we issued a voucher under it.
pub(crate) fn order_of_reference(conn: &Connection, psp: &str, reference: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT order_id FROM voucher_issues WHERE psp = ?1 AND reference = ?2")?
        .query_row(params![psp, reference], |r| r.get(0))
        .optional()?)
}

/// Points the order at its new voucher (the payment the shop should expect,
/// the code the buyer pays with, its deadline) and queues it for re-indexing.
fn update_order_voucher(conn: &Connection, order_id: &str, voucher: &OrderVoucher) -> StoreResult<()> {
    let rowid: Option<i64> = conn
        .prepare_cached("SELECT id FROM orders WHERE order_id = ?1")?
        .query_row([order_id], |r| r.get(0))
        .optional()?;
    let Some(rowid) = rowid else {
        return Err(StoreError::Invalid(format!("no order {order_id:?}")));
    };
    conn.prepare_cached(
        "UPDATE orders SET psp_payment_id = ?2, voucher_code = ?3, voucher_expires_at = ?4 WHERE id = ?1",
    )?
    .execute(params![rowid, voucher.payment_id, voucher.voucher_code, ts(voucher.expires_at)])?;
    search::forget_orders(conn, &[rowid])
}

impl Store {
    /// Every issue attempt for an order, oldest first.
    pub fn voucher_issues_of_order(&self, order_id: &str) -> StoreResult<Vec<VoucherIssueRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM voucher_issues WHERE order_id = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([order_id], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Records a new attempt (`requested`, one call counted) before the PSP is
    /// called. Its reference is `ORDER-Vn`, n counting the order's attempts.
    pub fn begin_voucher_issue(&mut self, new: &NewVoucherIssue, entry: &AuditEntry) -> StoreResult<VoucherIssueRow> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier: i64 = tx
            .prepare_cached("SELECT count(*) FROM voucher_issues WHERE order_id = ?1")?
            .query_row([&new.order_id], |r| r.get(0))?;
        let reference = format!("{}-V{}", new.order_id, earlier + 1);
        tx.prepare_cached(
            "INSERT INTO voucher_issues(order_id, psp, reference, status, hours, expires_at, attempts, requested_by,
                 requested_at)
             VALUES (?1, ?2, ?3, 'requested', ?4, ?5, 1, ?6, ?7)",
        )?
        .execute(params![
            new.order_id,
            new.psp,
            reference,
            new.hours,
            new.expires_at.timestamp(),
            new.requested_by,
            new.requested_at.timestamp()
        ])?;
        let id = tx.last_insert_rowid();
        let mut entry = entry.clone();
        entry.after = serde_json::json!({ "reference": reference, "after": entry.after }).to_string();
        audit::append(&tx, &entry)?;
        let stored = issue_by_id(&tx, id)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Counts one more call for a `requested` attempt (a retry) before it is made.
    pub fn retry_voucher_issue(&mut self, id: i64, entry: &AuditEntry) -> StoreResult<VoucherIssueRow> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx
            .prepare_cached("UPDATE voucher_issues SET attempts = attempts + 1 WHERE id = ?1 AND status = 'requested'")?
            .execute([id])?;
        if changed != 1 {
            return Err(StoreError::Conflict(format!("voucher issue {id} is no longer waiting for the PSP")));
        }
        audit::append(&tx, entry)?;
        let stored = issue_by_id(&tx, id)?;
        tx.commit()?;
        Ok(stored)
    }

    /// The PSP refused the attempt: nothing exists there, the attempt is over.
    pub fn fail_voucher_issue(
        &mut self,
        id: i64,
        error: &str,
        at: DateTime<Utc>,
        entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "UPDATE voucher_issues SET status = 'failed', last_error = ?2, finished_at = ?3
             WHERE id = ?1 AND status = 'requested'",
        )?
        .execute(params![id, error, at.timestamp()])?;
        audit::append(&tx, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// The PSP did not answer (time-out, 5xx): the attempt stays `requested`
    /// and keeps the error; the next try asks the PSP before creating.
    pub fn note_voucher_issue_error(&mut self, id: i64, error: &str, entry: &AuditEntry) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("UPDATE voucher_issues SET last_error = ?2 WHERE id = ?1")?.execute(params![id, error])?;
        audit::append(&tx, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// The PSP issued the voucher: in one transaction the payment enters the
    /// ledger (the observation path every API answer takes), the order points
    /// at its new voucher, the attempt is `issued`, and the audit log says so.
    #[allow(clippy::too_many_arguments)]
    pub fn record_voucher_issued(
        &mut self,
        id: i64,
        observed: &Observed,
        raw: &str,
        actor: &str,
        voucher: &OrderVoucher,
        at: DateTime<Utc>,
        entry: &AuditEntry,
    ) -> StoreResult<AppliedObservation> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let issue = issue_by_id(&tx, id)?;
        let applied = observations::apply(&tx, observed, ObservationSource::Api, raw, at, actor)?;
        update_order_voucher(&tx, &issue.order_id, voucher)?;
        tx.prepare_cached(
            "UPDATE voucher_issues SET status = 'issued', payment_id = ?2, last_error = NULL, finished_at = ?3
             WHERE id = ?1",
        )?
        .execute(params![id, voucher.payment_id, at.timestamp()])?;
        audit::append(&tx, entry)?;
        tx.commit()?;
        Ok(applied)
    }

    /// A voucher's deadline moved at the PSP: the payment and, when it is the
    /// order's current voucher, the order carry the new one.
    pub fn record_voucher_extended(
        &mut self,
        psp: &str,
        payment_id: &str,
        expires_at: DateTime<Utc>,
        entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(String, String)> = tx
            .prepare_cached("SELECT order_id, voucher_code FROM payments WHERE psp = ?1 AND payment_id = ?2")?
            .query_row(params![psp, payment_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((order_id, voucher_code)) = found else {
            return Err(StoreError::Invalid(format!("no payment {psp}:{payment_id}")));
        };
        tx.prepare_cached("UPDATE payments SET expires_at = ?3 WHERE psp = ?1 AND payment_id = ?2")?
            .execute(params![psp, payment_id, expires_at.timestamp()])?;
        tx.prepare_cached(
            "UPDATE orders SET voucher_expires_at = ?2
             WHERE order_id = ?1 AND (psp_payment_id = ?3 OR (voucher_code <> '' AND voucher_code = ?4))",
        )?
        .execute(params![order_id, expires_at.timestamp(), payment_id, voucher_code])?;
        audit::append(&tx, entry)?;
        tx.commit()?;
        Ok(())
    }

    /// The PSP cancelled a voucher: its status moves through the observation
    /// path, with the action's own audit entry, in one transaction.
    pub fn record_voucher_cancelled(
        &mut self,
        observed: &Observed,
        raw: &str,
        actor: &str,
        at: DateTime<Utc>,
        entry: &AuditEntry,
    ) -> StoreResult<AppliedObservation> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied = observations::apply(&tx, observed, ObservationSource::Api, raw, at, actor)?;
        audit::append(&tx, entry)?;
        tx.commit()?;
        Ok(applied)
    }
}
