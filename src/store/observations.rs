//! Writing one observation of a payment that did not come from a file (an
//! API answer, a notification). The payment rules are the importer's
//! (`imports::advance_payment`, `note_late_status`): one behaviour whatever
//! the source. Payments have no search terms (only orders do), so there is
//! no search index to refresh here.

use super::audit::{self, AuditEntry};
use super::imports::{advance_payment, apply_earlier_chargeback_row, insert_payment, note_late_status, ts};
use super::{Store, StoreError, StoreResult};
use crate::model::observation::{ObservationOutcome, ObservationSource, Observed};
use crate::model::payment::PaymentStatus;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// What applying one observation did, and to what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedObservation {
    pub outcome: ObservationOutcome,
    pub psp: String,
    pub payment_id: String,
    /// The order the payment names (empty when the payment is unknown).
    pub order_id: String,
    /// The payment's status before and after (`None`: not in the ledger).
    pub before: Option<PaymentStatus>,
    pub after: Option<PaymentStatus>,
}

impl Store {
    /// Applies one observation in its own IMMEDIATE transaction.
    pub fn apply_observation(
        &mut self,
        observed: &Observed,
        source: ObservationSource,
        raw: &str,
        observed_at: DateTime<Utc>,
        actor: &str,
    ) -> StoreResult<AppliedObservation> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied = apply(&tx, observed, source, raw, observed_at, actor)?;
        tx.commit()?;
        Ok(applied)
    }
}

/// Applies one observation inside the caller's transaction: creates the
/// payment if it is new, moves its status forward only, appends to its
/// history unless exactly this observation is already there, and writes the
/// audit log for any change.
pub(crate) fn apply(
    conn: &Connection,
    observed: &Observed,
    source: ObservationSource,
    raw: &str,
    observed_at: DateTime<Utc>,
    actor: &str,
) -> StoreResult<AppliedObservation> {
    // A voucher issued from the console carries our reference (`ORDER-Vn`)
    // as the PSP's order id: its payment belongs to the shop's order.
    let resolved;
    let observed = match observed {
        Observed::Payment(p) => match super::vouchers::order_of_reference(conn, &p.psp, &p.order_id)? {
            Some(order_id) => {
                resolved = Observed::Payment(crate::model::payment::PaymentObservation { order_id, ..p.clone() });
                &resolved
            }
            None => observed,
        },
        Observed::Status(_) => observed,
    };
    let (psp, payment_id, seen) = (observed.psp(), observed.payment_id(), observed.status());
    let status_at = ts(observed.status_at());
    let found: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT id, status, order_id FROM payments WHERE payment_id = ?1 AND psp = ?2")?
        .query_row(params![payment_id, psp], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let mut applied = AppliedObservation {
        outcome: ObservationOutcome::New,
        psp: psp.to_string(),
        payment_id: payment_id.to_string(),
        order_id: String::new(),
        before: None,
        after: None,
    };
    let row = match (found, observed) {
        (None, Observed::Status(_)) => {
            applied.outcome = ObservationOutcome::UnknownPayment;
            return Ok(applied);
        }
        (None, Observed::Payment(p)) => {
            applied.order_id = p.order_id.clone();
            applied.after = Some(p.status);
            insert_payment(conn, p)?
        }
        (Some((id, current, order_id)), _) => {
            let current = PaymentStatus::parse(&current)
                .ok_or_else(|| StoreError::Corrupt(format!("payment {id} has status {current:?}")))?;
            applied.order_id = order_id;
            applied.before = Some(current);
            applied.after = Some(current);
            let duplicate: bool = conn
                .prepare_cached(
                    // Without a time of its own, the same status from the same
                    // source says nothing new (a poll repeating "pending").
                    "SELECT EXISTS(SELECT 1 FROM payment_status_history WHERE payment = ?1 AND status = ?2
                         AND psp_status = ?3 AND (status_at IS ?4 OR ?4 IS NULL) AND source = ?5)",
                )?
                .query_row(params![id, seen.as_str(), observed.psp_status(), status_at, source.as_str()], |r| {
                    r.get(0)
                })?;
            if duplicate {
                applied.outcome = ObservationOutcome::Duplicate;
                return Ok(applied);
            }
            let next = current.advanced_by(seen);
            match (next != current, observed) {
                (true, Observed::Payment(p)) => advance_payment(conn, id, p, next)?,
                (true, Observed::Status(s)) => advance_status(conn, id, s, next)?,
                (false, Observed::Payment(p)) => note_late_status(conn, id, p)?,
                (false, Observed::Status(_)) => {
                    conn.prepare_cached("UPDATE payments SET last_seen_status = ?2 WHERE id = ?1")?
                        .execute(params![id, seen.as_str()])?;
                }
            }
            applied.after = Some(next);
            applied.outcome =
                if next != current { ObservationOutcome::Advanced } else { ObservationOutcome::HistoryOnly };
            id
        }
    };
    conn.prepare_cached(
        "INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at, source, raw_text)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row,
        seen.as_str(),
        observed.psp_status(),
        status_at,
        observed_at.timestamp(),
        source.as_str(),
        raw
    ])?;
    // A chargeback settlement row imported before this payment existed: the
    // same rule as a payment that arrives by file (its history line follows
    // the observation's, dated by the row).
    if applied.outcome == ObservationOutcome::New
        && apply_earlier_chargeback_row(conn, row, psp, payment_id, observed_at.timestamp())?
    {
        applied.after = Some(PaymentStatus::ChargedBack);
    }
    let after = serde_json::json!({
        "status": applied.after.map(PaymentStatus::as_str),
        "observed": seen.as_str(),
        "psp_status": observed.psp_status(),
        "outcome": applied.outcome.as_str(),
        "source": source.as_str(),
    });
    audit::append(
        conn,
        &AuditEntry {
            at: observed_at,
            operator: actor.to_string(),
            action: "payment.observe".to_string(),
            subject: format!("payment {psp}:{payment_id}"),
            before: applied.before.map(|s| s.as_str().to_string()).unwrap_or_default(),
            after: after.to_string(),
        },
    )?;
    Ok(applied)
}

/// Moves a known payment forward on a status-only report.
fn advance_status(
    conn: &Connection,
    id: i64,
    s: &crate::model::observation::StatusReport,
    next: PaymentStatus,
) -> StoreResult<()> {
    let paid_at = next.paid_time(ts(s.status_at));
    conn.prepare_cached(
        "UPDATE payments SET status = ?2, status_rank = ?3, psp_status = ?4, status_code = ?5,
             paid_at = coalesce(?6, paid_at), last_seen_status = ?2
         WHERE id = ?1",
    )?
    .execute(params![id, next.as_str(), next.rank(), s.psp_status, s.status_code, paid_at])?;
    Ok(())
}
