//! The sync queue and its state (see `crate::sync`): which payments to poll
//! when, the pause switch, Retry-After holds, and the one transaction in which
//! a poll's observation and the item's new schedule commit together.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use crate::model::observation::{ObservationOutcome, ObservationSource, Observed, StatusReport};
use crate::model::payment::PaymentStatus;
use crate::model::sync::{Applied, RemoteObservation, SyncTarget};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

/// One due item of the queue, with what the ledger knows of its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncItem {
    /// `next_poll_at` as read: the item is only rescheduled if it still holds
    /// this value (another runner has not handled it meanwhile).
    pub due_at: i64,
    /// Failed polls in a row.
    pub attempts: u32,
    pub target: SyncTarget,
}

/// The persisted sync switch and indicator fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncStateRecord {
    pub paused: bool,
    pub paused_by: Option<String>,
    pub paused_at: Option<DateTime<Utc>>,
    pub reconcile_needed: bool,
    pub last_round_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub polls_total: i64,
    pub changes_total: i64,
    pub errors_total: i64,
}

/// Queue counts for the indicator, as of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncQueueCounts {
    pub queued: i64,
    pub due: i64,
    pub failed_since: i64,
}

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// `status IN (...)` over every status that is not final, written from
/// [`PaymentStatus::is_final`] so the rule lives in one place.
fn non_final_sql_list() -> String {
    let names: Vec<String> =
        PaymentStatus::ALL.iter().filter(|s| !s.is_final()).map(|s| format!("'{}'", s.as_str())).collect();
    names.join(", ")
}

const TARGET_COLUMNS: &str = "p.id, p.psp, p.payment_id, p.order_id, p.voucher_code,
        coalesce(p.expires_at, (SELECT o.voucher_expires_at FROM orders o WHERE o.order_id = p.order_id)),
        p.created_at, p.status";

/// Maps the columns of `TARGET_COLUMNS` (from `first` on).
fn target_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<SyncTarget> {
    let status: String = r.get(first + 7)?;
    let status = PaymentStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            first + 7,
            rusqlite::types::Type::Text,
            format!("unknown payment status {status:?}").into(),
        )
    })?;
    Ok(SyncTarget {
        payment: r.get(first)?,
        psp: r.get(first + 1)?,
        payment_id: r.get(first + 2)?,
        order_id: r.get(first + 3)?,
        voucher_code: r.get(first + 4)?,
        expires_at: r.get::<_, Option<i64>>(first + 5)?.map(time),
        created_at: r.get::<_, Option<i64>>(first + 6)?.map(time),
        status,
    })
}

impl Store {
    /// Queues every non-final payment not considered yet, due at `now`.
    /// Only payments above the watermark are read, so a round costs nothing
    /// on a large ledger when no file brought new payments. Returns how many
    /// were queued.
    pub fn sync_enqueue_new(&mut self, now: DateTime<Utc>) -> StoreResult<u64> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (upto, max_id): (i64, i64) = tx.query_row(
            "SELECT (SELECT enqueued_upto FROM sync_state WHERE id = 1), (SELECT coalesce(max(id), 0) FROM payments)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if max_id <= upto {
            return Ok(0);
        }
        let queued = tx.execute(
            &format!(
                "INSERT OR IGNORE INTO sync_queue(payment, psp, next_poll_at)
                 SELECT id, psp, ?3 FROM payments WHERE id > ?1 AND id <= ?2 AND status IN ({})",
                non_final_sql_list()
            ),
            params![upto, max_id, now.timestamp()],
        )?;
        tx.execute("UPDATE sync_state SET enqueued_upto = ?1 WHERE id = 1", [max_id])?;
        tx.commit()?;
        Ok(queued as u64)
    }

    /// Up to `limit` items of one PSP due at `now`, most overdue first.
    pub fn sync_due(&self, psp: &str, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<SyncItem>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT q.next_poll_at, q.attempts, {TARGET_COLUMNS} FROM sync_queue q JOIN payments p ON p.id = q.payment
             WHERE q.psp = ?1 AND q.next_poll_at <= ?2 ORDER BY q.next_poll_at, q.payment LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![psp, now.timestamp(), limit], |r| {
            Ok(SyncItem { due_at: r.get(0)?, attempts: r.get(1)?, target: target_from_row(r, 2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Items due at `now`, of one PSP or of all.
    pub fn sync_due_count(&self, psp: Option<&str>, now: DateTime<Utc>) -> StoreResult<i64> {
        Ok(match psp {
            Some(psp) => self
                .conn
                .prepare_cached("SELECT count(*) FROM sync_queue WHERE psp = ?1 AND next_poll_at <= ?2")?
                .query_row(params![psp, now.timestamp()], |r| r.get(0))?,
            None => self
                .conn
                .prepare_cached("SELECT count(*) FROM sync_queue WHERE next_poll_at <= ?1")?
                .query_row([now.timestamp()], |r| r.get(0))?,
        })
    }

    /// The PSPs with items due at `now`.
    pub fn sync_due_psps(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT DISTINCT psp FROM sync_queue WHERE next_poll_at <= ?1")?;
        let rows = stmt.query_map([now.timestamp()], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Drops items whose payment became final by other means (a file import).
    pub fn sync_retire(&mut self, payments: &[i64]) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM sync_queue WHERE payment = ?1")?;
            for p in payments {
                stmt.execute([p])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What the ledger knows of one payment, for polling it on demand.
    pub fn sync_target(&self, psp: &str, payment_id: &str) -> StoreResult<Option<SyncTarget>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TARGET_COLUMNS} FROM payments p WHERE p.payment_id = ?1 AND p.psp = ?2"
        ))?;
        Ok(stmt.query_row(params![payment_id, psp], |r| target_from_row(r, 0)).optional()?)
    }

    /// The pending vouchers, oldest first, at most `limit` (the demo's sandbox preload).
    pub fn sync_pending_vouchers(&self, limit: u32) -> StoreResult<Vec<crate::model::sync::PendingVoucher>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT p.psp, p.payment_id, p.order_id, p.country, p.currency, p.amount_minor, p.voucher_code,
                    p.created_at,
                    coalesce(p.expires_at, (SELECT o.voucher_expires_at FROM orders o WHERE o.order_id = p.order_id))
             FROM payments p WHERE p.status = 'pending' ORDER BY p.id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            let currency: String = r.get(4)?;
            let currency = crate::model::money::Currency::parse(&currency).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.to_string().into())
            })?;
            Ok(crate::model::sync::PendingVoucher {
                psp: r.get(0)?,
                payment_id: r.get(1)?,
                order_id: r.get(2)?,
                country: r.get(3)?,
                currency,
                amount_minor: r.get(5)?,
                voucher_code: r.get(6)?,
                created_at: r.get::<_, Option<i64>>(7)?.map(time),
                expires_at: r.get::<_, Option<i64>>(8)?.map(time),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn sync_state(&self) -> StoreResult<SyncStateRecord> {
        Ok(self.conn.query_row(
            "SELECT paused, paused_by, paused_at, reconcile_needed, last_round_at, last_success_at, last_error_at,
                    last_error_code, last_error_message, polls_total, changes_total, errors_total
             FROM sync_state WHERE id = 1",
            [],
            |r| {
                Ok(SyncStateRecord {
                    paused: r.get(0)?,
                    paused_by: r.get(1)?,
                    paused_at: r.get::<_, Option<i64>>(2)?.map(time),
                    reconcile_needed: r.get(3)?,
                    last_round_at: r.get::<_, Option<i64>>(4)?.map(time),
                    last_success_at: r.get::<_, Option<i64>>(5)?.map(time),
                    last_error_at: r.get::<_, Option<i64>>(6)?.map(time),
                    last_error_code: r.get(7)?,
                    last_error_message: r.get(8)?,
                    polls_total: r.get(9)?,
                    changes_total: r.get(10)?,
                    errors_total: r.get(11)?,
                })
            },
        )?)
    }

    pub fn sync_queue_counts(&self, now: DateTime<Utc>, failed_since: DateTime<Utc>) -> StoreResult<SyncQueueCounts> {
        Ok(SyncQueueCounts {
            queued: self.conn.query_row("SELECT count(*) FROM sync_queue", [], |r| r.get(0))?,
            due: self.sync_due_count(None, now)?,
            failed_since: self
                .conn
                .prepare_cached("SELECT count(*) FROM sync_queue WHERE last_error_at >= ?1")?
                .query_row([failed_since.timestamp()], |r| r.get(0))?,
        })
    }

    /// Sets the pause switch with its audit entry. Returns false (and writes
    /// nothing) when it was already in that position.
    pub fn sync_set_paused(
        &mut self,
        paused: bool,
        by: &str,
        at: DateTime<Utc>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE sync_state SET paused = ?1, paused_by = CASE WHEN ?1 THEN ?2 END, paused_at = CASE WHEN ?1 THEN ?3 END
             WHERE id = 1 AND paused <> ?1",
            params![paused, by, at.timestamp()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(true)
    }

    /// Retry-After holds still running at `now`: (psp, until).
    pub fn sync_holds(&self, now: DateTime<Utc>) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        let mut stmt =
            self.conn.prepare_cached("SELECT psp, until_at FROM sync_psp_holds WHERE until_at > ?1 ORDER BY psp")?;
        let rows = stmt.query_map([now.timestamp()], |r| Ok((r.get(0)?, time(r.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that a round ran; a failure of the round itself (not of one
    /// poll) is kept as the last error.
    pub fn sync_round_finished(&mut self, at: DateTime<Utc>, error: Option<(&str, &str)>) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("UPDATE sync_state SET last_round_at = ?1 WHERE id = 1", [at.timestamp()])?;
        if let Some((code, message)) = error {
            tx.execute(
                "UPDATE sync_state SET last_error_at = ?1, last_error_code = ?2, last_error_message = ?3,
                     errors_total = errors_total + 1 WHERE id = 1",
                params![at.timestamp(), code, message],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Reconciliation ran after the changes sync made: nothing is owed.
    pub fn sync_reconciled(&mut self) -> StoreResult<()> {
        self.conn.execute("UPDATE sync_state SET reconcile_needed = 0 WHERE id = 1", [])?;
        Ok(())
    }

    /// Starts the transaction in which one poll's outcome is written.
    pub fn sync_begin(&mut self) -> StoreResult<SyncTx<'_>> {
        Ok(SyncTx { tx: self.conn.transaction_with_behavior(TransactionBehavior::Immediate)? })
    }
}

/// One poll's write: the observation, the item's new schedule, the
/// indicator's counters and the audit entry commit together or not at all.
pub struct SyncTx<'c> {
    tx: Transaction<'c>,
}

impl SyncTx<'_> {
    /// Whether the item still waits with `due_at` (not handled meanwhile by
    /// another runner, nor retired).
    pub fn still_due(&self, payment: i64, due_at: i64) -> StoreResult<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM sync_queue WHERE payment = ?1 AND next_poll_at = ?2)")?
            .query_row(params![payment, due_at], |r| r.get(0))?)
    }

    /// Applies a poll's answer through the ledger's one observation entry
    /// point (status precedence, history unless an exact duplicate, audit),
    /// inside this poll's transaction, so the answer and the reschedule
    /// commit together.
    pub fn record_api_observation(
        &self,
        target: &SyncTarget,
        seen: &RemoteObservation,
        observed_at: DateTime<Utc>,
        actor: &str,
    ) -> StoreResult<Applied> {
        let report = Observed::Status(StatusReport {
            psp: target.psp.clone(),
            payment_id: target.payment_id.clone(),
            status: seen.status,
            psp_status: seen.psp_status.clone(),
            status_code: seen.status_code.clone(),
            status_at: seen.status_at,
        });
        let applied =
            super::observations::apply(&self.tx, &report, ObservationSource::Api, &seen.raw_text, observed_at, actor)?;
        let before = applied.before.ok_or_else(|| {
            StoreError::Invalid(format!("payment {}:{} is no longer in the ledger", target.psp, target.payment_id))
        })?;
        let after = applied.after.unwrap_or(before);
        let recorded = match applied.outcome {
            ObservationOutcome::Advanced | ObservationOutcome::HistoryOnly | ObservationOutcome::New => true,
            ObservationOutcome::Duplicate | ObservationOutcome::UnknownPayment => false,
        };
        Ok(Applied { before, after, recorded })
    }

    /// After a successful poll: the next poll at `next` (None: the payment is
    /// final, it leaves the queue). `changed`: the poll moved the payment.
    pub fn reschedule_after_success(
        &self,
        target: &SyncTarget,
        next: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        changed: bool,
    ) -> StoreResult<()> {
        match next {
            None => {
                self.tx.prepare_cached("DELETE FROM sync_queue WHERE payment = ?1")?.execute([target.payment])?;
            }
            Some(next) => {
                self.tx
                    .prepare_cached(
                        "INSERT INTO sync_queue(payment, psp, next_poll_at, attempts, last_polled_at)
                         VALUES (?1, ?2, ?3, 0, ?4)
                         ON CONFLICT(payment) DO UPDATE SET next_poll_at = ?3, attempts = 0, last_polled_at = ?4",
                    )?
                    .execute(params![target.payment, target.psp, next.timestamp(), now.timestamp()])?;
            }
        }
        self.tx
            .prepare_cached(
                "UPDATE sync_state SET last_success_at = ?1, polls_total = polls_total + 1,
                     changes_total = changes_total + ?2, reconcile_needed = max(reconcile_needed, ?2) WHERE id = 1",
            )?
            .execute(params![now.timestamp(), i64::from(changed)])?;
        Ok(())
    }

    /// After a failed poll: the next try at `next`, with the error kept for
    /// the indicator. `attempts` is the item's new count of failures in a row.
    pub fn reschedule_after_error(
        &self,
        target: &SyncTarget,
        next: DateTime<Utc>,
        now: DateTime<Utc>,
        attempts: u32,
        code: &str,
        message: &str,
    ) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO sync_queue(payment, psp, next_poll_at, attempts, last_polled_at, last_error_code,
                     last_error_message, last_error_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5)
                 ON CONFLICT(payment) DO UPDATE SET next_poll_at = ?3, attempts = ?4, last_polled_at = ?5,
                     last_error_code = ?6, last_error_message = ?7, last_error_at = ?5",
            )?
            .execute(params![target.payment, target.psp, next.timestamp(), attempts, now.timestamp(), code, message])?;
        self.tx
            .prepare_cached(
                "UPDATE sync_state SET last_error_at = ?1, last_error_code = ?2, last_error_message = ?3,
                     polls_total = polls_total + 1, errors_total = errors_total + 1 WHERE id = 1",
            )?
            .execute(params![now.timestamp(), code, message])?;
        Ok(())
    }

    /// Leaves a PSP alone until `until` (its Retry-After).
    pub fn hold_psp(&self, psp: &str, until: DateTime<Utc>, reason: &str) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO sync_psp_holds(psp, until_at, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT(psp) DO UPDATE SET until_at = max(until_at, ?2), reason = ?3",
            )?
            .execute(params![psp, until.timestamp(), reason])?;
        Ok(())
    }

    pub fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        audit::append(&self.tx, entry)
    }

    pub fn commit(self) -> StoreResult<()> {
        self.tx.commit()?;
        Ok(())
    }
}

/// A chargeback the ledger knows by its PSP id, to be read again at the PSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedChargeback {
    pub chargeback_id: String,
    pub payment_id: String,
    /// Its latest status in the payment's history (`COMPLETED`), `None` when
    /// only a notification filed before its payment was known names it.
    pub last_status: Option<String>,
}

/// Where a chargeback's id is kept: the raw body of each chargeback
/// observation (`CHARGEBACK <status>` history lines from a notification or
/// the API), and the filed notification of one that arrived before its
/// payment (verdict `unmatched`). Settlement rows carry no chargeback id.
const KNOWN_CHARGEBACKS: &str = "
    WITH known(chargeback_id, payment_id, status, learned_at, seq) AS (
        SELECT json_extract(h.raw_text, '$.id'), p.payment_id, substr(h.psp_status, 12), h.observed_at, h.id
        FROM payment_status_history h JOIN payments p ON p.id = h.payment
        WHERE p.psp = ?1 AND h.source IN ('notification', 'api') AND h.psp_status LIKE 'CHARGEBACK %'
            AND json_valid(h.raw_text)
        UNION ALL
        SELECT json_extract(n.body_text, '$.id'), p.payment_id, NULL, n.received_at, 0
        FROM (SELECT psp, received_at, CAST(body AS TEXT) AS body_text FROM psp_notifications
              WHERE psp = ?1 AND verdict = 'unmatched') n
        JOIN payments p ON p.psp = n.psp
            AND p.payment_id = CASE WHEN json_valid(n.body_text) THEN json_extract(n.body_text, '$.payment_id') END
    ),
    followed AS (
        SELECT chargeback_id, max(payment_id) AS payment_id, min(learned_at) AS first_learned,
            (SELECT k.status FROM known k WHERE k.chargeback_id = g.chargeback_id ORDER BY k.seq DESC LIMIT 1)
                AS last_status
        FROM known g WHERE typeof(chargeback_id) = 'text' AND chargeback_id <> '' GROUP BY chargeback_id
    )
    SELECT chargeback_id, payment_id, last_status FROM followed
    WHERE coalesce(last_status, '') NOT IN (SELECT value FROM json_each(?2)) AND first_learned >= ?3
        AND chargeback_id > ?4
    ORDER BY chargeback_id LIMIT ?5";

impl Store {
    /// Up to `limit` chargebacks of `psp` still worth reading again: last
    /// status not in `final_statuses`, first learned at or after
    /// `learned_since`, ids after `after` (a rotating cursor; "" for the first).
    pub fn sync_chargebacks_to_follow(
        &self,
        psp: &str,
        final_statuses: &[&str],
        learned_since: DateTime<Utc>,
        after: &str,
        limit: u32,
    ) -> StoreResult<Vec<FollowedChargeback>> {
        let finals = serde_json::to_string(final_statuses).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut stmt = self.conn.prepare_cached(KNOWN_CHARGEBACKS)?;
        let rows = stmt.query_map(params![psp, finals, learned_since.timestamp(), after, limit], |r| {
            Ok(FollowedChargeback { chargeback_id: r.get(0)?, payment_id: r.get(1)?, last_status: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a chargeback read again at the PSP, through the ledger's one
    /// observation entry point (source `api`), and owes a reconciliation when
    /// the ledger changed.
    pub fn sync_record_chargeback(
        &mut self,
        report: &StatusReport,
        raw: &str,
        now: DateTime<Utc>,
        actor: &str,
    ) -> StoreResult<super::AppliedObservation> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied = super::observations::apply(
            &tx,
            &Observed::Status(report.clone()),
            ObservationSource::Api,
            raw,
            now,
            actor,
        )?;
        if applied.outcome.changed_ledger() {
            tx.execute(
                "UPDATE sync_state SET changes_total = changes_total + 1, reconcile_needed = 1 WHERE id = 1",
                [],
            )?;
        }
        tx.commit()?;
        Ok(applied)
    }

    /// A chargeback that could not be read again: kept as the indicator's
    /// last error; nothing else is written.
    pub fn sync_chargeback_failed(&mut self, now: DateTime<Utc>, code: &str, message: &str) -> StoreResult<()> {
        self.conn.execute(
            "UPDATE sync_state SET last_error_at = ?1, last_error_code = ?2, last_error_message = ?3,
                 errors_total = errors_total + 1 WHERE id = 1",
            params![now.timestamp(), code, message],
        )?;
        Ok(())
    }
}
