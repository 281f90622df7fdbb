//! Refunds and their approvals. The rules live in `crate::refunds`; this
//! module only reads and writes, and runs each decision inside one IMMEDIATE
//! transaction together with its audit entry, so that what a rule read is
//! still true when its outcome commits (two concurrent requests for the same
//! payment are serialised here).

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

/// A payment as a refund needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundablePayment {
    pub psp: String,
    pub payment_id: String,
    /// The order it belongs to (a manual link wins over the PSP's order id).
    pub order_id: String,
    pub country: String,
    pub currency: String,
    pub amount_minor: i64,
    pub status: String,
    pub paid_at: Option<i64>,
}

/// The payment a refund draws on, as it stands inside the deciding transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentHold {
    pub status: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// What the payment's refunds already hold, read inside the deciding
/// transaction, together with the payment itself (`None`: not on record).
/// The refund being decided is never counted in its own totals.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RefundTotals {
    pub payment: Option<PaymentHold>,
    pub succeeded_minor: i64,
    /// requested, pending approval, approved or submitted.
    pub in_flight_minor: i64,
    /// Refunds of this payment waiting for an approval, and the oldest one's id.
    pub pending_approval: i64,
    pub first_pending_id: Option<i64>,
    /// The other refunds of the same PSP and currency requested or handed over
    /// since shortly before this refund's request (`refunds::limits`).
    pub payouts: Vec<PayoutEntry>,
}

/// How far before a refund's request the payouts it is weighed against are
/// read (`refunds::limits`): more than a market day, and a refund is handed
/// over after its request.
pub const PAYOUT_LOOKBACK_SECONDS: i64 = 2 * 86_400;

/// A refund as the payout limits weigh it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayoutEntry {
    pub id: i64,
    pub method: String,
    pub status: String,
    pub amount_minor: i64,
    pub requested_at: i64,
    pub submitted_at: Option<i64>,
}

/// What `refunds_where` filters on; `None` matches every refund.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefundFilter<'a> {
    pub status: Option<&'a str>,
    pub method: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub tier: Option<i64>,
    pub psp: Option<&'a str>,
    /// The refunds of one order (a case file).
    pub order_id: Option<&'a str>,
}

/// One stored refund. Enums are kept as their stored text: the library parses them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundRow {
    pub id: i64,
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    pub note: String,
    pub method: String,
    pub details: String,
    pub tier: i64,
    pub finance_required: bool,
    pub status: String,
    pub idempotency_key: String,
    pub additional: bool,
    pub requested_by: String,
    pub requested_at: i64,
    pub fx_rate: Option<String>,
    pub fx_source: Option<String>,
    pub fx_locked_at: Option<i64>,
    pub fx_order_currency: Option<String>,
    pub fx_order_amount_minor: Option<i64>,
    pub psp_refund_id: Option<String>,
    pub withdrawal_code: Option<String>,
    pub psp_status: Option<String>,
    pub submit_attempts: i64,
    pub submitted_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub last_error: Option<String>,
    pub escalated: bool,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    pub operator: String,
    pub role: String,
    pub decision: String,
    pub comment: String,
    pub at: i64,
    pub tier: i64,
    pub amount_minor: i64,
}

/// A refund to insert (id, status bookkeeping and timestamps come from the caller's row).
pub type NewRefundRow = RefundRow;

const REFUND_SELECT: &str = "SELECT id, psp, payment_id, order_id, amount_minor, currency, reason, note, method,
    details, tier, finance_required, status, idempotency_key, additional, requested_by, requested_at, fx_rate,
    fx_source, fx_locked_at, fx_order_currency, fx_order_amount_minor, psp_refund_id, withdrawal_code, psp_status,
    submit_attempts, submitted_at, finished_at, last_error, escalated, updated_at FROM refunds";

fn refund_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RefundRow> {
    Ok(RefundRow {
        id: r.get(0)?,
        psp: r.get(1)?,
        payment_id: r.get(2)?,
        order_id: r.get(3)?,
        amount_minor: r.get(4)?,
        currency: r.get(5)?,
        reason: r.get(6)?,
        note: r.get(7)?,
        method: r.get(8)?,
        details: r.get(9)?,
        tier: r.get(10)?,
        finance_required: r.get(11)?,
        status: r.get(12)?,
        idempotency_key: r.get(13)?,
        additional: r.get(14)?,
        requested_by: r.get(15)?,
        requested_at: r.get(16)?,
        fx_rate: r.get(17)?,
        fx_source: r.get(18)?,
        fx_locked_at: r.get(19)?,
        fx_order_currency: r.get(20)?,
        fx_order_amount_minor: r.get(21)?,
        psp_refund_id: r.get(22)?,
        withdrawal_code: r.get(23)?,
        psp_status: r.get(24)?,
        submit_attempts: r.get(25)?,
        submitted_at: r.get(26)?,
        finished_at: r.get(27)?,
        last_error: r.get(28)?,
        escalated: r.get(29)?,
        updated_at: r.get(30)?,
    })
}

fn refund_by_id(conn: &Connection, id: i64) -> StoreResult<Option<RefundRow>> {
    Ok(conn.prepare_cached(&format!("{REFUND_SELECT} WHERE id = ?1"))?.query_row([id], refund_from_row).optional()?)
}

fn approvals_of(conn: &Connection, id: i64) -> StoreResult<Vec<ApprovalRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT operator, role, decision, comment, at, tier, amount_minor FROM refund_approvals
         WHERE refund = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(ApprovalRow {
            operator: r.get(0)?,
            role: r.get(1)?,
            decision: r.get(2)?,
            comment: r.get(3)?,
            at: r.get(4)?,
            tier: r.get(5)?,
            amount_minor: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Refunds of `psp` in `currency` requested or handed over at or after
/// `since`, but `except`.
fn payouts(
    conn: &Connection,
    psp: &str,
    currency: &str,
    since: i64,
    except: Option<i64>,
) -> StoreResult<Vec<PayoutEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, method, status, amount_minor, requested_at, submitted_at FROM refunds
          WHERE psp = ?1 AND currency = ?2 AND (requested_at >= ?3 OR submitted_at >= ?3) AND (?4 IS NULL OR id <> ?4)",
    )?;
    let rows = stmt.query_map(params![psp, currency, since, except], |r| {
        Ok(PayoutEntry {
            id: r.get(0)?,
            method: r.get(1)?,
            status: r.get(2)?,
            amount_minor: r.get(3)?,
            requested_at: r.get(4)?,
            submitted_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The payment's refund totals, leaving out the refund `except` (the one being decided).
fn totals(conn: &Connection, psp: &str, payment_id: &str, except: Option<i64>) -> StoreResult<RefundTotals> {
    let payment = conn
        .prepare_cached("SELECT status, amount_minor, currency FROM payments WHERE psp = ?1 AND payment_id = ?2")?
        .query_row(params![psp, payment_id], |r| {
            Ok(PaymentHold { status: r.get(0)?, amount_minor: r.get(1)?, currency: r.get(2)? })
        })
        .optional()?;
    let held = conn
        .prepare_cached(
            "SELECT
                 COALESCE(SUM(CASE WHEN status = 'succeeded' THEN amount_minor END), 0),
                 COALESCE(SUM(CASE WHEN status IN ('requested', 'pending_approval', 'approved', 'submitted')
                                   THEN amount_minor END), 0),
                 COUNT(CASE WHEN status = 'pending_approval' THEN 1 END),
                 MIN(CASE WHEN status = 'pending_approval' THEN id END)
             FROM refunds WHERE psp = ?1 AND payment_id = ?2 AND (?3 IS NULL OR id <> ?3)",
        )?
        .query_row(params![psp, payment_id, except], |r| {
            Ok(RefundTotals {
                payment: None,
                succeeded_minor: r.get(0)?,
                in_flight_minor: r.get(1)?,
                pending_approval: r.get(2)?,
                first_pending_id: r.get(3)?,
                payouts: Vec::new(),
            })
        })?;
    Ok(RefundTotals { payment, ..held })
}

fn write_refund(conn: &Connection, row: &RefundRow) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE refunds SET status = ?2, fx_rate = ?3, fx_source = ?4, fx_locked_at = ?5, fx_order_currency = ?6,
             fx_order_amount_minor = ?7, psp_refund_id = ?8, withdrawal_code = ?9, psp_status = ?10,
             submit_attempts = ?11, submitted_at = ?12, finished_at = ?13, last_error = ?14, escalated = ?15,
             updated_at = ?16, idempotency_key = ?17, details = ?18
         WHERE id = ?1",
    )?
    .execute(params![
        row.id,
        row.status,
        row.fx_rate,
        row.fx_source,
        row.fx_locked_at,
        row.fx_order_currency,
        row.fx_order_amount_minor,
        row.psp_refund_id,
        row.withdrawal_code,
        row.psp_status,
        row.submit_attempts,
        row.submitted_at,
        row.finished_at,
        row.last_error,
        row.escalated,
        row.updated_at,
        row.idempotency_key,
        row.details,
    ])?;
    Ok(())
}

/// What a decision on an existing refund writes besides the row itself.
pub struct RefundUpdate {
    pub approval: Option<ApprovalRow>,
    pub audit: AuditEntry,
}

impl Store {
    /// The payments a refund request may name: by payment id, optionally of one PSP.
    pub fn refundable_payments(&self, payment_id: &str, psp: Option<&str>) -> StoreResult<Vec<RefundablePayment>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.psp, p.payment_id, COALESCE(l.order_id, p.order_id), p.country, p.currency, p.amount_minor,
                    p.status, p.paid_at
             FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
             WHERE p.payment_id = ?1 AND (?2 IS NULL OR p.psp = ?2) ORDER BY p.psp",
        )?;
        let rows = stmt.query_map(params![payment_id, psp], |r| {
            Ok(RefundablePayment {
                psp: r.get(0)?,
                payment_id: r.get(1)?,
                order_id: r.get(2)?,
                country: r.get(3)?,
                currency: r.get(4)?,
                amount_minor: r.get(5)?,
                status: r.get(6)?,
                paid_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inserts a refund if `decide`, given what the payment's refunds hold
    /// right now, lets it; all in one IMMEDIATE transaction with the audit
    /// entry. `decide` may adjust the row (status, tier) before it is written.
    pub fn insert_refund<E: From<StoreError>>(
        &mut self,
        row: &NewRefundRow,
        decide: impl FnOnce(&RefundTotals, &mut NewRefundRow) -> Result<AuditEntry, E>,
    ) -> Result<RefundRow, E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let mut held = totals(&tx, &row.psp, &row.payment_id, None)?;
        held.payouts = payouts(&tx, &row.psp, &row.currency, row.requested_at - PAYOUT_LOOKBACK_SECONDS, None)?;
        let mut row = row.clone();
        let entry = decide(&held, &mut row)?;
        let stored = insert_row(&tx, &row, entry)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(stored)
    }

    /// Applies `decide` to the refund as it is now (with its approvals, and
    /// what its payment and the payment's other refunds hold) and writes the
    /// changed row, the approval it adds and its audit entry in one IMMEDIATE
    /// transaction. `Ok(None)`: no such refund.
    pub fn update_refund<E: From<StoreError>>(
        &mut self,
        id: i64,
        decide: impl FnOnce(&mut RefundRow, &[ApprovalRow], &RefundTotals) -> Result<RefundUpdate, E>,
    ) -> Result<Option<RefundRow>, E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let Some(mut row) = refund_by_id(&tx, id)? else { return Ok(None) };
        let approvals = approvals_of(&tx, id)?;
        let mut held = totals(&tx, &row.psp, &row.payment_id, Some(id))?;
        held.payouts = payouts(&tx, &row.psp, &row.currency, row.requested_at - PAYOUT_LOOKBACK_SECONDS, Some(id))?;
        let update = decide(&mut row, &approvals, &held)?;
        write_refund(&tx, &row)?;
        if let Some(a) = &update.approval {
            tx.prepare_cached(
                "INSERT INTO refund_approvals(refund, operator, role, decision, comment, at, tier, amount_minor)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(StoreError::from)?
            .execute(params![id, a.operator, a.role, a.decision, a.comment, a.at, a.tier, a.amount_minor])
            .map_err(StoreError::from)?;
        }
        audit::append(&tx, &update.audit)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(Some(row))
    }

    /// Refunds of `psp` in `currency` requested or handed over at or after `since`.
    pub fn payouts_since(&self, psp: &str, currency: &str, since: i64) -> StoreResult<Vec<PayoutEntry>> {
        payouts(&self.conn, psp, currency, since, None)
    }

    pub fn refund(&self, id: i64) -> StoreResult<Option<(RefundRow, Vec<ApprovalRow>)>> {
        let Some(row) = refund_by_id(&self.conn, id)? else { return Ok(None) };
        let approvals = approvals_of(&self.conn, id)?;
        Ok(Some((row, approvals)))
    }

    /// Refunds by id, optionally of one status, after `after_id`, at most `limit`.
    pub fn refunds(&self, status: Option<&str>, after_id: i64, limit: u32) -> StoreResult<Vec<RefundRow>> {
        self.refunds_where(&RefundFilter { status, ..RefundFilter::default() }, after_id, limit)
    }

    /// Refunds by id matching every given filter (`None`: any), after `after_id`.
    pub fn refunds_where(&self, f: &RefundFilter<'_>, after_id: i64, limit: u32) -> StoreResult<Vec<RefundRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{REFUND_SELECT} WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR method = ?2)
               AND (?3 IS NULL OR reason = ?3) AND (?4 IS NULL OR tier = ?4) AND (?5 IS NULL OR psp = ?5)
               AND (?8 IS NULL OR order_id = ?8)
               AND id > ?6 ORDER BY id LIMIT ?7"
        ))?;
        let rows = stmt.query_map(
            params![f.status, f.method, f.reason, f.tier, f.psp, after_id, limit, f.order_id],
            refund_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What the payment's refunds hold now (outside any decision: for display).
    pub fn refund_totals(&self, psp: &str, payment_id: &str) -> StoreResult<RefundTotals> {
        totals(&self.conn, psp, payment_id, None)
    }
}

/// The `refund_unconfirmed` exception of one refund: its stable id.
pub fn unconfirmed_exception_id(row: &RefundRow) -> String {
    crate::model::exception::ExceptionKind::RefundUnconfirmed.exception_id(&[
        &row.psp,
        &row.payment_id,
        &row.id.to_string(),
    ])
}

impl Store {
    /// Opens (or reopens) the refund's `refund_unconfirmed` exception. Returns
    /// whether anything changed (an open one is left as it is). Reconciliation
    /// never clears this kind (`raised_by_reconcile` is false); the refund
    /// follow-up does, when the PSP finally answers.
    pub fn raise_refund_unconfirmed(
        &mut self,
        row: &RefundRow,
        detail: &str,
        at: i64,
        actor: &str,
    ) -> StoreResult<bool> {
        let id = unconfirmed_exception_id(row);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<String> =
            tx.query_row("SELECT status FROM exceptions WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
        if current.as_deref() == Some("open") {
            return Ok(false);
        }
        let facts = format!("refund={};psp_refund={}", row.id, row.psp_refund_id.as_deref().unwrap_or(""));
        match &current {
            None => {
                tx.execute(
                    "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store,
                         amount_minor, currency, facts, detail, detected_at, updated_at, last_run)
                     VALUES (?1, 'refund_unconfirmed', 'open', ?2, ?3, ?4, NULL,
                         COALESCE((SELECT country FROM payments WHERE psp = ?3 AND payment_id = ?4), ''),
                         COALESCE((SELECT store FROM orders WHERE order_id = ?2), ''),
                         ?5, ?6, ?7, ?8, ?9, ?9, 0)",
                    params![
                        id,
                        row.order_id,
                        row.psp,
                        row.payment_id,
                        row.amount_minor,
                        row.currency,
                        facts,
                        detail,
                        at
                    ],
                )?;
            }
            Some(_) => {
                tx.execute(
                    "UPDATE exceptions SET status = 'open', facts = ?2, detail = ?3, updated_at = ?4, resolution = NULL
                     WHERE id = ?1",
                    params![id, facts, detail, at],
                )?;
            }
        }
        tx.execute(
            "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
             VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6)",
            params![id, at, if current.is_some() { "reopened" } else { "detected" }, current, actor, detail],
        )?;
        audit::append(
            &tx,
            &AuditEntry {
                at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
                operator: actor.to_string(),
                action: "exception.raise".into(),
                subject: format!("exception {id}"),
                before: current.unwrap_or_default(),
                after: serde_json::json!({"kind": "refund_unconfirmed", "status": "open", "refund": row.id})
                    .to_string(),
            },
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Clears the refund's open `refund_unconfirmed` exception (the PSP answered).
    pub fn clear_refund_unconfirmed(&mut self, row: &RefundRow, note: &str, at: i64, actor: &str) -> StoreResult<bool> {
        let id = unconfirmed_exception_id(row);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE exceptions SET status = 'cleared', updated_at = ?2 WHERE id = ?1 AND status = 'open'",
            params![id, at],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
             VALUES (?1, ?2, 'refund confirmed', 'open', 'cleared', ?3, ?4)",
            params![id, at, actor, note],
        )?;
        audit::append(
            &tx,
            &AuditEntry {
                at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
                operator: actor.to_string(),
                action: "exception.clear".into(),
                subject: format!("exception {id}"),
                before: "open".into(),
                after: serde_json::json!({"kind": "refund_unconfirmed", "status": "cleared", "note": note}).to_string(),
            },
        )?;
        tx.commit()?;
        Ok(true)
    }
}

impl Store {
    /// The `bank_transfer` refund whose recorded transfer has this bank
    /// reference or this proof file (by SHA-256), if any.
    pub fn manual_transfer_using(&self, reference: &str, proof_sha256: &str) -> StoreResult<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id FROM refunds WHERE method = 'bank_transfer'
                   AND (psp_refund_id = ?1 OR json_extract(details, '$.transfer.proof_sha256') = ?2)
                 ORDER BY id LIMIT 1",
            )?
            .query_row(params![reference, proof_sha256], |r| r.get(0))
            .optional()?)
    }

    /// The refund the PSP knows by `psp_refund_id` (a refund or payout id).
    pub fn refund_by_psp_id(&self, psp: &str, psp_refund_id: &str) -> StoreResult<Option<RefundRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("{REFUND_SELECT} WHERE psp = ?1 AND psp_refund_id = ?2"))?
            .query_row(params![psp, psp_refund_id], refund_from_row)
            .optional()?)
    }
}

/// Writes a new refund (its id from the insert) with its audit entry, which is
/// then about `refund {id}`; returns the refund as stored.
fn insert_row(tx: &rusqlite::Transaction<'_>, row: &NewRefundRow, mut entry: AuditEntry) -> StoreResult<RefundRow> {
    tx.prepare_cached(
        "INSERT INTO refunds(psp, payment_id, order_id, amount_minor, currency, reason, note, method, details,
             tier, finance_required, status, idempotency_key, additional, requested_by, requested_at, updated_at,
             fx_rate, fx_source, fx_locked_at, fx_order_currency, fx_order_amount_minor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16, ?17, ?18, ?19, ?20, ?21)",
    )?
    .execute(params![
        row.psp,
        row.payment_id,
        row.order_id,
        row.amount_minor,
        row.currency,
        row.reason,
        row.note,
        row.method,
        row.details,
        row.tier,
        row.finance_required,
        row.status,
        row.idempotency_key,
        row.additional,
        row.requested_by,
        row.requested_at,
        row.fx_rate,
        row.fx_source,
        row.fx_locked_at,
        row.fx_order_currency,
        row.fx_order_amount_minor,
    ])?;
    let id = tx.last_insert_rowid();
    entry.subject = format!("refund {id}");
    audit::append(tx, &entry)?;
    refund_by_id(tx, id)?.ok_or_else(|| StoreError::Corrupt(format!("refund {id} vanished")))
}

impl Store {
    /// Replaces a refund that is not submitted yet by a new one (an amended
    /// amount restarts approval): in one IMMEDIATE transaction the old one is
    /// cancelled and the new one inserted if `decide`, given what the
    /// payment's refunds hold without the old one, lets it. Records are not
    /// edited: the correction is a new entry.
    pub fn replace_refund<E: From<StoreError>>(
        &mut self,
        old_id: i64,
        decide: impl FnOnce(&RefundRow, &RefundTotals) -> Result<(RefundRow, AuditEntry, AuditEntry), E>,
    ) -> Result<Option<RefundRow>, E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let Some(old) = refund_by_id(&tx, old_id)? else { return Ok(None) };
        // The old refund gives way to the new one: it holds nothing for it.
        let mut held = totals(&tx, &old.psp, &old.payment_id, Some(old_id))?;
        held.payouts = payouts(&tx, &old.psp, &old.currency, old.requested_at - PAYOUT_LOOKBACK_SECONDS, Some(old_id))?;
        let (new, cancel_entry, request_entry) = decide(&old, &held)?;
        let mut cancelled = old.clone();
        cancelled.status = "cancelled".into();
        cancelled.finished_at = Some(new.requested_at);
        cancelled.updated_at = new.requested_at;
        write_refund(&tx, &cancelled)?;
        audit::append(&tx, &cancel_entry)?;
        let stored = insert_row(&tx, &new, request_entry)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(Some(stored))
    }
}

// ------------------------------------------------------------------ refund figures (dashboard)

/// What the dashboard's refund panel reads, in one pass of small queries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefundFigures {
    /// (tier, count, currency, amount) of refunds pending approval.
    pub pending_by_tier: Vec<(i64, String, i64, i64)>,
    /// Seconds from request to the last approval, for refunds fully approved since `since`.
    pub approve_seconds: Vec<i64>,
    /// (reason, currency, count, amount) of refunds requested since `since`, cancelled ones left out.
    pub by_reason: Vec<(String, String, i64, i64)>,
    /// (status, count) of refunds that reached a final PSP answer since `finished_since`.
    pub finished: Vec<(String, i64)>,
}

impl Store {
    pub fn refund_figures(&self, since: i64, finished_since: i64) -> StoreResult<RefundFigures> {
        let mut f = RefundFigures::default();
        let mut stmt = self.conn.prepare_cached(
            "SELECT tier, currency, COUNT(*), SUM(amount_minor) FROM refunds
              WHERE status = 'pending_approval' GROUP BY tier, currency ORDER BY tier, currency",
        )?;
        f.pending_by_tier =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
        // The last approval of a refund that needed approvals and got them all.
        let mut stmt = self.conn.prepare_cached(
            "SELECT MAX(a.at) - r.requested_at FROM refunds r JOIN refund_approvals a ON a.refund = r.id
              WHERE a.decision = 'approve'
                AND r.status IN ('approved', 'submitted', 'succeeded', 'failed', 'rejected_by_psp')
              GROUP BY r.id HAVING MAX(a.at) >= ?1 ORDER BY 1",
        )?;
        f.approve_seconds = stmt.query_map([since], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT reason, currency, COUNT(*), SUM(amount_minor) FROM refunds
              WHERE requested_at >= ?1 AND status <> 'cancelled' GROUP BY reason, currency ORDER BY reason, currency",
        )?;
        f.by_reason =
            stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, COUNT(*) FROM refunds
              WHERE finished_at >= ?1 AND status IN ('succeeded', 'failed', 'rejected_by_psp')
              GROUP BY status ORDER BY status",
        )?;
        f.finished = stmt.query_map([finished_since], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(f)
    }
}
