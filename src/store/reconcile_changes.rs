//! What changed since the last reconciliation, so a run can re-examine only
//! the orders, payments and settlement keys it touches.
//!
//! Rows added since the last run are those past the largest row ids it saw
//! (every table here numbers its rows in order), whichever path added them.
//! Triggers note every order and payment that changes, with its state before
//! the first change (a run needs the state it last counted to correct its
//! counts), and every payment key whose refunds change. Anything a run cannot
//! scope (a row deleted, a manual link, a fee or FX rate, a settlement row
//! rewritten) asks for a full run. The triggers live in code, not in a
//! migration, so a large import can drop them for its transaction (asking for
//! a full run instead) and make them again before it commits.

use super::{Store, StoreResult};
use crate::model::exception::ExceptionStatus;
use rusqlite::{Connection, OptionalExtension, params};

/// An import of at least this many rows drops the change triggers for its
/// transaction and asks for a full run: a large file re-sent with changes would
/// otherwise fire a trigger per changed row, and a full run reads the ledger
/// faster than a scoped one re-examines that many rows.
pub const NOTED_IMPORT_ROWS_MAX: u64 = 100_000;

const FULL_RUN: &str = "UPDATE reconcile_state SET full_needed = 1;";

/// (name, what fires it, what it does). A note is written only where none
/// is: the first one holds the state before the first change. (Not `INSERT
/// OR IGNORE`: an outer statement's conflict policy overrides a trigger's.)
const TRIGGERS: &[(&str, &str, &str)] = &[
    (
        "reconcile_note_order_changed",
        "BEFORE UPDATE ON orders",
        "INSERT INTO reconcile_changed_orders(order_id, existed, country) SELECT OLD.order_id, 1, OLD.country
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_orders WHERE order_id = OLD.order_id);",
    ),
    ("reconcile_note_order_renamed", "AFTER UPDATE OF order_id ON orders WHEN NEW.order_id <> OLD.order_id", FULL_RUN),
    ("reconcile_note_order_removed", "AFTER DELETE ON orders", FULL_RUN),
    (
        "reconcile_note_payment_changed",
        "BEFORE UPDATE ON payments",
        "INSERT INTO reconcile_changed_payments(payment, existed, psp, payment_id, order_id, country, status, paid_at)
             SELECT OLD.id, 1, OLD.psp, OLD.payment_id, OLD.order_id, OLD.country, OLD.status, OLD.paid_at
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_payments WHERE payment = OLD.id);",
    ),
    ("reconcile_note_payment_removed", "AFTER DELETE ON payments", FULL_RUN),
    ("reconcile_note_history_changed", "AFTER UPDATE ON payment_status_history", FULL_RUN),
    ("reconcile_note_history_removed", "AFTER DELETE ON payment_status_history", FULL_RUN),
    ("reconcile_note_link_added", "AFTER INSERT ON payment_links", FULL_RUN),
    ("reconcile_note_link_changed", "AFTER UPDATE ON payment_links", FULL_RUN),
    ("reconcile_note_link_removed", "AFTER DELETE ON payment_links", FULL_RUN),
    ("reconcile_note_settlement_changed", "AFTER UPDATE ON settlements", FULL_RUN),
    ("reconcile_note_settlement_removed", "AFTER DELETE ON settlements", FULL_RUN),
    (
        "reconcile_note_refund_added",
        "AFTER INSERT ON refunds",
        "INSERT INTO reconcile_changed_keys(payment_id, psp) SELECT NEW.payment_id, NEW.psp
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_keys WHERE payment_id = NEW.payment_id AND psp = NEW.psp);",
    ),
    (
        "reconcile_note_refund_changed",
        "AFTER UPDATE OF status, psp, payment_id, currency, amount_minor ON refunds",
        "INSERT INTO reconcile_changed_keys(payment_id, psp) SELECT NEW.payment_id, NEW.psp
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_keys WHERE payment_id = NEW.payment_id AND psp = NEW.psp);
         INSERT INTO reconcile_changed_keys(payment_id, psp) SELECT OLD.payment_id, OLD.psp
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_keys WHERE payment_id = OLD.payment_id AND psp = OLD.psp);",
    ),
    (
        "reconcile_note_refund_removed",
        "AFTER DELETE ON refunds",
        "INSERT INTO reconcile_changed_keys(payment_id, psp) SELECT OLD.payment_id, OLD.psp
             WHERE NOT EXISTS (SELECT 1 FROM reconcile_changed_keys WHERE payment_id = OLD.payment_id AND psp = OLD.psp);",
    ),
    ("reconcile_note_fee_rate_added", "AFTER INSERT ON psp_fee_rates", FULL_RUN),
    ("reconcile_note_fee_rate_changed", "AFTER UPDATE ON psp_fee_rates", FULL_RUN),
    ("reconcile_note_fee_rate_removed", "AFTER DELETE ON psp_fee_rates", FULL_RUN),
    ("reconcile_note_account_changed", "AFTER UPDATE OF name, psp ON psp_accounts", FULL_RUN),
    ("reconcile_note_account_removed", "AFTER DELETE ON psp_accounts", FULL_RUN),
    ("reconcile_note_fx_added", "AFTER INSERT ON fx_rates", FULL_RUN),
    ("reconcile_note_fx_changed", "AFTER UPDATE ON fx_rates", FULL_RUN),
    ("reconcile_note_fx_removed", "AFTER DELETE ON fx_rates", FULL_RUN),
];

/// Makes any trigger that is missing (a migration that rebuilds a table drops its triggers).
pub(crate) fn ensure(conn: &Connection) -> StoreResult<()> {
    for (name, event, body) in TRIGGERS {
        conn.execute_batch(&format!("CREATE TRIGGER IF NOT EXISTS {name} {event} BEGIN {body} END;"))?;
    }
    Ok(())
}

pub(crate) fn all_present(conn: &Connection) -> StoreResult<bool> {
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'reconcile_note_%'",
        [],
        |r| r.get(0),
    )?;
    Ok(present == TRIGGERS.len() as i64)
}

/// At the start of an import's transaction: a large file drops the triggers
/// and asks for a full run (noting each of its rows would cost more than
/// reading the ledger). Returns whether it did; [`finish_import`] makes them
/// again before the commit, and a rollback undoes both.
pub(crate) fn begin_import(conn: &Connection, large: bool) -> StoreResult<bool> {
    if large {
        for (name, _, _) in TRIGGERS {
            conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {name}"))?;
        }
        conn.execute_batch(FULL_RUN)?;
    }
    Ok(large)
}

/// At the end of an import's transaction that began with [`begin_import`].
pub(crate) fn finish_import(conn: &Connection, suspended: bool) -> StoreResult<()> {
    if suspended { ensure(conn) } else { Ok(()) }
}

/// The last run as reconciliation left it.
#[derive(Debug, Clone, Default)]
pub struct ReconcileMemo {
    pub full_needed: bool,
    pub options: String,
    pub as_of: String,
    pub at: i64,
    pub summary_json: String,
    /// The largest row ids the last run saw.
    pub seen: RowMarks,
}

/// The largest row ids of the ledger tables that number rows in order: rows
/// past them were added since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowMarks {
    pub orders: i64,
    pub payments: i64,
    pub history: i64,
    pub settlements: i64,
}

/// A payment as it was before its first change since the last run.
#[derive(Debug, Clone)]
pub struct PaymentBefore {
    pub psp: String,
    pub payment_id: String,
    /// The order it counted for (a manual link wins; links do not change
    /// between scoped runs).
    pub order_id: String,
    pub country: String,
    pub status: String,
    pub paid_at: Option<i64>,
}

/// A payment added or changed since the last run.
#[derive(Debug, Clone)]
pub struct ChangedPayment {
    /// `None`: added since.
    pub before: Option<PaymentBefore>,
    /// Its key and the order it counts for now.
    pub psp: String,
    pub payment_id: String,
    pub order_id: String,
}

/// An order added or changed since the last run, as it was.
#[derive(Debug, Clone)]
pub struct ChangedOrder {
    pub order_id: String,
    pub existed: bool,
    pub country: Option<String>,
}

/// A scoped run's orders and payment keys (psp, payment id), closed over order ↔ payment.
#[derive(Debug, Default)]
pub struct ClosedScope {
    pub orders: Vec<String>,
    pub keys: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct LedgerChanges {
    pub orders: Vec<ChangedOrder>,
    pub payments: Vec<ChangedPayment>,
    /// (psp, payment id) whose refunds changed. (Settlement rows added since
    /// join the scope in [`Store::close_reconcile_scope`].)
    pub keys: Vec<(String, String)>,
}

/// An exception a scoped run may decide, or whose order it recounts.
#[derive(Debug, Clone)]
pub struct ExceptionNote {
    pub id: String,
    pub kind: String,
    pub status: ExceptionStatus,
    pub facts: String,
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    /// Whether the last run found it.
    pub found_last_run: bool,
}

/// A paid market day as the memo keeps it: (PSP, market, day, payments).
pub type PaidDayRow = (String, String, String, i64);
/// A report file's span as the memo keeps it: (batch, PSP, market, first day, last day).
pub type ReportSpanRow = (i64, String, String, String, String);

/// A paid payment no settlement row reports yet, with its market paid date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingSettlement {
    pub psp: String,
    pub payment_id: String,
    pub country: String,
    pub paid_on: String,
}

/// What a run leaves for the next one.
pub struct MemoUpdate<'a> {
    pub options: &'a str,
    pub as_of: &'a str,
    pub at: i64,
    pub summary_json: &'a str,
    /// Paid market days with their payment counts: all of them (a full run) or the changes (a scoped one).
    pub paid_days: &'a [PaidDayRow],
    /// Report spans: (batch, psp, market, first day, last day); all or the new and widened ones.
    pub report_spans: &'a [ReportSpanRow],
    /// The paid payments awaiting settlement: all of them (a full run) or
    /// those of the payment keys it re-examined (a scoped one).
    pub awaiting_settlement: &'a [AwaitingSettlement],
    /// The next run must read everything too (team mode: other desktops' rows
    /// come with row ids of their own).
    pub full_needed_next: bool,
}

/// Temporary tables holding a scoped run's orders and payment keys; `round`
/// is the pass of the closure that added a row (0: a seed), so each pass
/// follows only the rows the one before added.
const SCOPE_TABLES: &str = "
    CREATE TEMP TABLE IF NOT EXISTS reconcile_scope_orders(order_id TEXT PRIMARY KEY, round INTEGER NOT NULL DEFAULT 0)
        WITHOUT ROWID;
    CREATE TEMP TABLE IF NOT EXISTS reconcile_scope_keys(payment_id TEXT NOT NULL, psp TEXT NOT NULL,
        round INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (payment_id, psp)) WITHOUT ROWID;
    DELETE FROM temp.reconcile_scope_orders;
    DELETE FROM temp.reconcile_scope_keys;";

/// The FROM clause of each fact loader over a scoped run's rows.
pub(crate) const SCOPED_ORDERS: &str = "temp.reconcile_scope_orders k CROSS JOIN orders o ON o.order_id = k.order_id";
pub(crate) const SCOPED_PAYMENTS: &str =
    "temp.reconcile_scope_keys k CROSS JOIN payments p ON p.payment_id = k.payment_id AND p.psp = k.psp";
pub(crate) const SCOPED_SETTLEMENTS: &str =
    "temp.reconcile_scope_keys k CROSS JOIN settlements s ON s.payment_id = k.payment_id AND s.psp = k.psp";

const EXCEPTION_NOTE_SELECT: &str =
    "SELECT e.id, e.kind, e.status, e.facts, e.order_id, e.psp, e.payment_id, f.id IS NOT NULL
     FROM exceptions e LEFT JOIN reconcile_findings f ON f.id = e.id";

fn exception_note(r: &rusqlite::Row<'_>) -> StoreResult<ExceptionNote> {
    let status: String = r.get(2)?;
    let status = ExceptionStatus::parse(&status)
        .ok_or_else(|| super::StoreError::Corrupt(format!("exception status {status:?}")))?;
    Ok(ExceptionNote {
        id: r.get(0)?,
        kind: r.get(1)?,
        status,
        facts: r.get(3)?,
        order_id: r.get(4)?,
        psp: r.get(5)?,
        payment_id: r.get(6)?,
        found_last_run: r.get(7)?,
    })
}

fn dedup_notes(mut notes: Vec<ExceptionNote>) -> Vec<ExceptionNote> {
    notes.sort_by(|a, b| a.id.cmp(&b.id));
    notes.dedup_by(|a, b| a.id == b.id);
    notes
}

impl Store {
    pub fn reconcile_memo(&self) -> StoreResult<ReconcileMemo> {
        Ok(self.conn.query_row(
            "SELECT full_needed, options, as_of, at, summary_json, orders_seen, payments_seen, history_seen,
                    settlements_seen
             FROM reconcile_state WHERE id = 1",
            [],
            |r| {
                Ok(ReconcileMemo {
                    full_needed: r.get::<_, i64>(0)? != 0,
                    options: r.get(1)?,
                    as_of: r.get(2)?,
                    at: r.get(3)?,
                    summary_json: r.get(4)?,
                    seen: RowMarks {
                        orders: r.get(5)?,
                        payments: r.get(6)?,
                        history: r.get(7)?,
                        settlements: r.get(8)?,
                    },
                })
            },
        )?)
    }

    /// How many changes are noted or added since `seen`, without reading them.
    pub fn reconcile_change_count(&self, seen: &RowMarks) -> StoreResult<i64> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM reconcile_changed_orders) + (SELECT count(*) FROM reconcile_changed_payments)
                  + (SELECT count(*) FROM reconcile_changed_keys) + (SELECT count(*) FROM orders WHERE id > ?1)
                  + (SELECT count(*) FROM payments WHERE id > ?2) + (SELECT count(*) FROM payment_status_history WHERE id > ?3)
                  + (SELECT count(*) FROM settlements WHERE id > ?4)",
            [seen.orders, seen.payments, seen.history, seen.settlements],
            |r| r.get(0),
        )?)
    }

    /// Everything added or changed since the last run (`seen`: the row ids it
    /// saw), with each changed payment's key and order now. A row added since
    /// and changed since counts as added.
    pub fn reconcile_changes(&self, seen: &RowMarks) -> StoreResult<LedgerChanges> {
        let mut changes = LedgerChanges::default();
        let mut stmt = self.conn.prepare(
            "SELECT c.order_id, c.existed AND coalesce(o.id <= ?1, 1), c.country
             FROM reconcile_changed_orders c LEFT JOIN orders o ON o.order_id = c.order_id
             UNION ALL
             SELECT o.order_id, 0, NULL FROM orders o
             WHERE o.id > ?1 AND NOT EXISTS (SELECT 1 FROM reconcile_changed_orders c WHERE c.order_id = o.order_id)",
        )?;
        changes.orders = stmt
            .query_map([seen.orders], |r| {
                Ok(ChangedOrder { order_id: r.get(0)?, existed: r.get::<_, i64>(1)? != 0, country: r.get(2)? })
            })?
            .collect::<Result<_, _>>()?;
        // Changed payments with their state before; added ones; and those with
        // a new status in their history but none changed (a late one: its
        // state before is its state now).
        let mut stmt = self.conn.prepare(
            "SELECT c.existed AND c.payment <= ?1, c.psp, c.payment_id, coalesce(l.order_id, c.order_id), c.country,
                    c.status, c.paid_at, p.psp, p.payment_id, coalesce(l.order_id, p.order_id)
             FROM reconcile_changed_payments c
             JOIN payments p ON p.id = c.payment
             LEFT JOIN payment_links l ON l.payment = c.payment
             UNION ALL
             SELECT 0, NULL, NULL, NULL, NULL, NULL, NULL, p.psp, p.payment_id, coalesce(l.order_id, p.order_id)
             FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
             WHERE p.id > ?1 AND p.id NOT IN (SELECT payment FROM reconcile_changed_payments)
             UNION ALL
             SELECT 1, p.psp, p.payment_id, coalesce(l.order_id, p.order_id), p.country, p.status, p.paid_at,
                    p.psp, p.payment_id, coalesce(l.order_id, p.order_id)
             FROM payments p LEFT JOIN payment_links l ON l.payment = p.id
             WHERE p.id IN (SELECT h.payment FROM payment_status_history h WHERE h.id > ?2)
               AND p.id <= ?1 AND p.id NOT IN (SELECT payment FROM reconcile_changed_payments)",
        )?;
        changes.payments = stmt
            .query_map([seen.payments, seen.history], |r| {
                let before = if r.get::<_, i64>(0)? != 0 {
                    Some(PaymentBefore {
                        psp: r.get(1)?,
                        payment_id: r.get(2)?,
                        order_id: r.get(3)?,
                        country: r.get(4)?,
                        status: r.get(5)?,
                        paid_at: r.get(6)?,
                    })
                } else {
                    None
                };
                Ok(ChangedPayment { before, psp: r.get(7)?, payment_id: r.get(8)?, order_id: r.get(9)? })
            })?
            .collect::<Result<_, _>>()?;
        let mut stmt = self.conn.prepare("SELECT psp, payment_id FROM reconcile_changed_keys")?;
        changes.keys = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(changes)
    }

    /// Orders the shop still awaits payment for whose voucher expires in
    /// (`after`, `until`]: `expired_unpaid` asks for that shop status.
    pub fn orders_awaiting_payment_expiring_between(&self, after: i64, until: i64) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT order_id FROM orders
             WHERE status = 'pending_payment' AND voucher_expires_at > ?1 AND voucher_expires_at <= ?2",
        )?;
        Ok(stmt.query_map(params![after, until], |r| r.get(0))?.collect::<Result<_, _>>()?)
    }

    /// Pending payments without an expiry of their own whose order's voucher
    /// expires in (`after`, `until`]: (psp, payment id). Their order's
    /// deadline is theirs, whatever the shop says of the order.
    pub fn pending_without_expiry_of_orders_expiring_between(
        &self,
        after: i64,
        until: i64,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.psp, p.payment_id FROM payments p
             LEFT JOIN payment_links l ON l.payment = p.id
             JOIN orders o ON o.order_id = coalesce(l.order_id, p.order_id)
             WHERE p.status = 'pending' AND p.expires_at IS NULL
               AND o.voucher_expires_at > ?1 AND o.voucher_expires_at <= ?2",
        )?;
        Ok(stmt.query_map(params![after, until], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
    }

    /// Pending payments whose voucher expires in (`after`, `until`]: (psp, payment id).
    pub fn pending_expiring_between(&self, after: i64, until: i64) -> StoreResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT psp, payment_id FROM payments
             WHERE status = 'pending' AND expires_at > ?1 AND expires_at <= ?2",
        )?;
        Ok(stmt.query_map(params![after, until], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
    }

    /// The paid payments of a PSP in a market, paid on a market date, that no
    /// settlement row reported by the last run: (psp, payment id).
    pub fn awaiting_settlement_paid_on(
        &self,
        psp: &str,
        country: &str,
        paid_on: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT psp, payment_id FROM reconcile_unsettled WHERE psp = ?1 AND country = ?2 AND paid_on = ?3",
        )?;
        Ok(stmt.query_map(params![psp, country, paid_on], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
    }

    /// Fills the temporary scope tables the scoped fact loaders read with the
    /// seeds, closed over order ↔ payment: an order brings all its payments
    /// (a manual link wins), a payment the order it counts for. Returns the
    /// closed sets, or `None` once they pass `subjects_max` together.
    pub fn close_reconcile_scope<'a>(
        &mut self,
        seen: &RowMarks,
        orders: impl Iterator<Item = &'a str>,
        keys: impl Iterator<Item = (&'a str, &'a str)>,
        subjects_max: usize,
    ) -> StoreResult<Option<ClosedScope>> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(SCOPE_TABLES)?;
        // The rows added since `seen`, in a statement each: a day's tens of
        // thousands would otherwise go through one insert each.
        tx.execute(
            "INSERT OR IGNORE INTO temp.reconcile_scope_orders(order_id) SELECT order_id FROM orders WHERE id > ?1",
            [seen.orders],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO temp.reconcile_scope_keys(payment_id, psp)
             SELECT payment_id, psp FROM payments WHERE id > ?1
             UNION ALL
             SELECT p.payment_id, p.psp FROM payments p
             WHERE p.id IN (SELECT h.payment FROM payment_status_history h WHERE h.id > ?2)
             UNION ALL
             SELECT payment_id, psp FROM settlements WHERE id > ?3",
            [seen.payments, seen.history, seen.settlements],
        )?;
        {
            let mut insert = tx.prepare("INSERT OR IGNORE INTO temp.reconcile_scope_orders(order_id) VALUES (?1)")?;
            for order in orders {
                insert.execute([order])?;
            }
            let mut insert =
                tx.prepare("INSERT OR IGNORE INTO temp.reconcile_scope_keys(psp, payment_id) VALUES (?1, ?2)")?;
            for (psp, payment_id) in keys {
                insert.execute([psp, payment_id])?;
            }
        }
        let mut size: usize = tx.query_row(
            "SELECT (SELECT count(*) FROM temp.reconcile_scope_orders) + (SELECT count(*) FROM temp.reconcile_scope_keys)",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize;
        for round in 0_i64.. {
            if size > subjects_max {
                return Ok(None);
            }
            let added = tx.execute(
                "INSERT OR IGNORE INTO temp.reconcile_scope_keys(payment_id, psp, round)
                 SELECT p.payment_id, p.psp, ?1 + 1 FROM temp.reconcile_scope_orders o
                 CROSS JOIN payments p ON p.order_id = o.order_id WHERE o.round = ?1",
                [round],
            )? + tx.execute(
                "INSERT OR IGNORE INTO temp.reconcile_scope_keys(payment_id, psp, round)
                 SELECT p.payment_id, p.psp, ?1 + 1 FROM temp.reconcile_scope_orders o
                 CROSS JOIN payment_links l ON l.order_id = o.order_id JOIN payments p ON p.id = l.payment
                 WHERE o.round = ?1",
                [round],
            )? + tx.execute(
                "INSERT OR IGNORE INTO temp.reconcile_scope_orders(order_id, round)
                 SELECT coalesce(l.order_id, p.order_id), ?1 + 1 FROM temp.reconcile_scope_keys k
                 CROSS JOIN payments p ON p.payment_id = k.payment_id AND p.psp = k.psp
                 LEFT JOIN payment_links l ON l.payment = p.id
                 WHERE k.round = ?1 AND coalesce(l.order_id, p.order_id) <> ''",
                [round],
            )?;
            if added == 0 {
                break;
            }
            size += added;
        }
        let closed = ClosedScope {
            orders: tx
                .prepare("SELECT order_id FROM temp.reconcile_scope_orders")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            keys: tx
                .prepare("SELECT psp, payment_id FROM temp.reconcile_scope_keys")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?,
        };
        tx.commit()?;
        Ok(Some(closed))
    }

    /// The exceptions about the scope's orders or payment keys, and every missing-report one.
    pub fn exceptions_in_scope(&self) -> StoreResult<Vec<ExceptionNote>> {
        let mut out = Vec::new();
        for filter in [
            "e.order_id IN (SELECT order_id FROM temp.reconcile_scope_orders)",
            "(e.payment_id, e.psp) IN (SELECT payment_id, psp FROM temp.reconcile_scope_keys) AND e.payment_id <> ''",
            // Through the (status, kind) index, not a scan of the queue.
            "e.status IN ('open', 'resolved', 'cleared') AND e.kind = 'settlement_report_missing'",
        ] {
            let mut stmt = self.conn.prepare(&format!("{EXCEPTION_NOTE_SELECT} WHERE {filter}"))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                out.push(exception_note(r)?);
            }
        }
        Ok(dedup_notes(out))
    }

    /// The exceptions about these orders.
    pub fn exceptions_of_orders(&self, orders: &[&str]) -> StoreResult<Vec<ExceptionNote>> {
        let mut stmt = self.conn.prepare_cached(&format!("{EXCEPTION_NOTE_SELECT} WHERE e.order_id = ?1"))?;
        let mut out = Vec::new();
        for order in orders {
            let mut rows = stmt.query([order])?;
            while let Some(r) = rows.next()? {
                out.push(exception_note(r)?);
            }
        }
        Ok(dedup_notes(out))
    }

    /// An order's market, and whether a paid payment counts for it, as the ledger has them now.
    pub fn order_paid_state(&self, order_id: &str) -> StoreResult<Option<(String, bool)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT country,
                    EXISTS(SELECT 1 FROM payments p WHERE p.order_id = ?1 AND p.status = 'paid'
                               AND NOT EXISTS (SELECT 1 FROM payment_links l WHERE l.payment = p.id))
                    OR EXISTS(SELECT 1 FROM payment_links l JOIN payments p ON p.id = l.payment
                               WHERE l.order_id = ?1 AND p.status = 'paid')
             FROM orders WHERE order_id = ?1",
        )?;
        Ok(stmt.query_row([order_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
    }

    /// The largest row ids now.
    pub fn ledger_row_marks(&self) -> StoreResult<RowMarks> {
        Ok(self.conn.query_row(
            "SELECT coalesce((SELECT max(id) FROM orders), 0), coalesce((SELECT max(id) FROM payments), 0),
                    coalesce((SELECT max(id) FROM payment_status_history), 0),
                    coalesce((SELECT max(id) FROM settlements), 0)",
            [],
            |r| Ok(RowMarks { orders: r.get(0)?, payments: r.get(1)?, history: r.get(2)?, settlements: r.get(3)? }),
        )?)
    }

    /// Payment and settlement rows added after the given row ids.
    pub fn ledger_rows_after(&self, payments_seen: i64, settlements_seen: i64) -> StoreResult<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM payments WHERE id > ?1), (SELECT count(*) FROM settlements WHERE id > ?2)",
            [payments_seen, settlements_seen],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// The paid market days a scoped run counts from: (psp, country, day, payments).
    pub fn reconcile_paid_days(&self) -> StoreResult<Vec<PaidDayRow>> {
        let mut stmt = self.conn.prepare("SELECT psp, country, day, payments FROM reconcile_paid_days")?;
        Ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?)
    }

    /// The report spans a scoped run counts from: (batch, psp, market, first day, last day).
    pub fn reconcile_report_spans(&self) -> StoreResult<Vec<ReportSpanRow>> {
        let mut stmt =
            self.conn.prepare("SELECT batch_id, psp, market, first_day, last_day FROM reconcile_report_spans")?;
        Ok(stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
            .collect::<Result<_, _>>()?)
    }
}

/// Writes what a run leaves for the next one, inside the run's transaction:
/// the memo, the paid days and report spans (replaced by a full run, merged by
/// a scoped one), and empties the notes.
pub(crate) fn write_memo(tx: &Connection, memo: &MemoUpdate<'_>, full: bool, marks: RowMarks) -> StoreResult<()> {
    if full {
        tx.execute_batch(
            "DELETE FROM reconcile_paid_days; DELETE FROM reconcile_report_spans; DELETE FROM reconcile_unsettled;",
        )?;
    } else {
        // The scope's keys are still in the temporary table the run's facts were read through.
        tx.execute(
            "DELETE FROM reconcile_unsettled WHERE (psp, payment_id) IN (SELECT psp, payment_id FROM temp.reconcile_scope_keys)",
            [],
        )?;
    }
    {
        let mut days = tx.prepare_cached(
            "INSERT INTO reconcile_paid_days(psp, country, day, payments) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(psp, country, day) DO UPDATE SET payments = payments + excluded.payments",
        )?;
        for (psp, country, day, payments) in memo.paid_days {
            days.execute(params![psp, country, day, payments])?;
        }
        tx.execute("DELETE FROM reconcile_paid_days WHERE payments <= 0", [])?;
        let mut spans = tx.prepare_cached(
            "INSERT INTO reconcile_report_spans(batch_id, psp, market, first_day, last_day) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(batch_id, psp, market) DO UPDATE SET first_day = min(first_day, excluded.first_day),
                 last_day = max(last_day, excluded.last_day)",
        )?;
        for (batch, psp, market, first, last) in memo.report_spans {
            spans.execute(params![batch, psp, market, first, last])?;
        }
        let mut unsettled = tx.prepare_cached(
            "INSERT OR REPLACE INTO reconcile_unsettled(psp, payment_id, country, paid_on) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for a in memo.awaiting_settlement {
            unsettled.execute(params![a.psp, a.payment_id, a.country, a.paid_on])?;
        }
    }
    tx.execute_batch(
        "DELETE FROM reconcile_changed_orders; DELETE FROM reconcile_changed_payments; DELETE FROM reconcile_changed_keys;",
    )?;
    tx.execute(
        "UPDATE reconcile_state SET full_needed = ?9, options = ?1, as_of = ?2, at = ?3, summary_json = ?4,
             orders_seen = ?5, payments_seen = ?6, history_seen = ?7, settlements_seen = ?8 WHERE id = 1",
        params![
            memo.options,
            memo.as_of,
            memo.at,
            memo.summary_json,
            marks.orders,
            marks.payments,
            marks.history,
            marks.settlements,
            memo.full_needed_next
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditEntry, NewBatch, RowCounts};

    fn batch(sha256: &str) -> NewBatch<'_> {
        NewBatch {
            kind: "orders",
            profile: "shop",
            file_name: "orders.csv",
            sha256,
            encoding: "UTF-8",
            delimiter: ",",
            header_json: "[]",
            operator: "admin",
            imported_at: chrono::Utc::now(),
        }
    }

    fn entry() -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            operator: "admin".into(),
            action: "import".into(),
            subject: "orders.csv".into(),
            before: String::new(),
            after: String::new(),
        }
    }

    #[test]
    fn a_large_import_drops_the_notes_for_its_transaction_only_and_asks_for_a_full_run() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.reconcile_memo().unwrap().full_needed, "no run yet");
        store.conn.execute("UPDATE reconcile_state SET full_needed = 0", []).unwrap();
        assert!(all_present(&store.conn).unwrap());

        // Rolled back: the triggers and the memo are as they were.
        drop(store.begin_import(&batch("a"), NOTED_IMPORT_ROWS_MAX).unwrap());
        assert!(all_present(&store.conn).unwrap());
        assert!(!store.reconcile_memo().unwrap().full_needed);

        // A small file keeps noting; a large one asks for a full run, and the triggers are back after it.
        store
            .begin_import(&batch("b"), NOTED_IMPORT_ROWS_MAX - 1)
            .unwrap()
            .finish(&RowCounts::default(), &[], &entry(), b"")
            .unwrap();
        assert!(!store.reconcile_memo().unwrap().full_needed);
        store
            .begin_import(&batch("c"), NOTED_IMPORT_ROWS_MAX)
            .unwrap()
            .finish(&RowCounts::default(), &[], &entry(), b"")
            .unwrap();
        assert!(store.reconcile_memo().unwrap().full_needed);
        assert!(all_present(&store.conn).unwrap());
        store
            .conn
            .execute(
                "INSERT INTO orders(order_id, store, created_at, buyer_name, buyer_email, buyer_phone, buyer_document,
                     country, amount_minor, currency, status, psp, psp_payment_id, voucher_code, batch_id, line, raw_offset,
                     raw_len)
                 VALUES ('CO-1', 's', 0, '', '', '', '', 'CO', 100, 'COP', 'paid', 'dlocal', '', '', 1, 2, 0, 0)",
                [],
            )
            .unwrap();
        let changes = store.reconcile_changes(&RowMarks::default()).unwrap();
        assert_eq!(changes.orders.len(), 1);
        assert!(!changes.orders[0].existed);
    }
}
