//! Resolving exceptions on the team server: the same rules as the local file
//! (src/exceptions.rs through `ExceptionLedger`), decided in the server's
//! transaction so that of two desktops resolving one exception exactly one wins.

use super::{TeamStore, audit};
use crate::exceptions::{ExceptionStatus, LinkTarget, ResolutionAction};
use crate::store::{AuditEntry, ExceptionLedger, ExceptionRecord, StoreError, StoreResult};
use chrono::{DateTime, Utc};

const EXCEPTION_COLUMNS: &str = "id, kind, status, order_id, psp, payment_id, country, store, amount_minor, currency,
    detail, detected_at, updated_at, assignee, resolution, resolved_by, resolved_at, note";

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn exception_from_row(r: &postgres::Row) -> StoreResult<ExceptionRecord> {
    let status: String = r.get(2);
    let detected_at = time(r.get(11));
    Ok(ExceptionRecord {
        id: r.get(0),
        kind: r.get(1),
        status: ExceptionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("exception status {status:?}")))?,
        order_id: r.get(3),
        psp: r.get(4),
        payment_id: r.get(5),
        country: r.get(6),
        store: r.get(7),
        amount_minor: r.get(8),
        currency: r.get(9),
        detail: r.get(10),
        detected_at,
        updated_at: time(r.get(12)),
        age_days: (Utc::now() - detected_at).num_days(),
        assignee: r.get(13),
        resolution: r.get(14),
        resolved_by: r.get(15),
        resolved_at: r.get::<_, Option<i64>>(16).map(time),
        note: r.get(17),
    })
}

impl ExceptionLedger for TeamStore {
    fn exception(&mut self, id: &str) -> StoreResult<Option<ExceptionRecord>> {
        let row = self
            .client
            .query_opt(&format!("SELECT {EXCEPTION_COLUMNS} FROM exceptions WHERE id = $1"), &[&id])
            .map_err(super::TeamStoreError::from)?;
        row.as_ref().map(exception_from_row).transpose()
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
        let team = |e: postgres::Error| StoreError::Team(e.into());
        let mut tx = self.client.transaction().map_err(team)?;
        let now: i64 = tx.query_one("SELECT extract(epoch FROM clock_timestamp())::bigint", &[]).map_err(team)?.get(0);
        // The row lock makes the second desktop wait here, then see the first one's resolution.
        let status: Option<String> = tx
            .query_opt("SELECT status FROM exceptions WHERE id = $1 FOR UPDATE", &[&current.id])
            .map_err(team)?
            .map(|r| r.get(0));
        if status.as_deref() != Some(ExceptionStatus::Open.as_str()) {
            return Err(StoreError::Conflict(format!("exception {} is no longer open", current.id)));
        }
        if let Some(target) = link {
            link_payment(&mut tx, current, target, operator, note, now)?;
        }
        tx.execute(
            "UPDATE exceptions SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4,
                 note = $5, updated_at = $4 WHERE id = $1",
            &[&current.id, &action.as_str(), &operator, &now, &note],
        )
        .map_err(team)?;
        tx.execute(
            "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
             VALUES ($1, $2, $3, 'open', 'resolved', $4, $5)",
            &[&current.id, &now, &format!("resolved: {}", action.as_str()), &operator, &note],
        )
        .map_err(team)?;
        audit::append(&mut tx, audit_entry)?;
        tx.commit().map_err(team)?;
        Ok(())
    }
}

/// The payment ↔ order link a `link` resolution records (as store::exceptions does locally).
fn link_payment(
    tx: &mut postgres::Transaction<'_>,
    current: &ExceptionRecord,
    target: &LinkTarget,
    operator: &str,
    note: &str,
    now: i64,
) -> StoreResult<()> {
    let team = |e: postgres::Error| StoreError::Team(e.into());
    let (payment_row, order_id): (i64, String) = match target {
        LinkTarget::Order(order_id) => {
            if current.payment_id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "exception {} is about order {}, not a payment: link it with --payment",
                    current.id, current.order_id
                )));
            }
            let exists: bool = tx
                .query_one("SELECT EXISTS(SELECT 1 FROM orders WHERE order_id = $1)", &[order_id])
                .map_err(team)?
                .get(0);
            if !exists {
                return Err(StoreError::Invalid(format!("no order {order_id:?} to link to")));
            }
            let row = tx
                .query_opt(
                    "SELECT id FROM payments WHERE payment_id = $1 AND psp = $2",
                    &[&current.payment_id, &current.psp],
                )
                .map_err(team)?
                .ok_or_else(|| StoreError::Invalid(format!("payment {} is not in the ledger", current.payment_id)))?;
            (row.get(0), order_id.clone())
        }
        LinkTarget::Payment(payment_id) => {
            if current.order_id.is_empty() || !current.payment_id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "exception {} is about a payment: link it with --order",
                    current.id
                )));
            }
            let rows = tx
                .query("SELECT id FROM payments WHERE payment_id = $1 OR voucher_code = $1 LIMIT 2", &[payment_id])
                .map_err(team)?;
            match rows.as_slice() {
                [row] => (row.get(0), current.order_id.clone()),
                [] => return Err(StoreError::Invalid(format!("no payment {payment_id:?} to link"))),
                _ => return Err(StoreError::Invalid(format!("{payment_id:?} names more than one payment"))),
            }
        }
    };
    tx.execute(
        "INSERT INTO payment_links(payment, order_id, operator, linked_at, note) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (payment) DO UPDATE SET order_id = EXCLUDED.order_id, operator = EXCLUDED.operator,
             linked_at = EXCLUDED.linked_at, note = EXCLUDED.note",
        &[&payment_row, &order_id, &operator, &now, &note],
    )
    .map_err(team)?;
    Ok(())
}
