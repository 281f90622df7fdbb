//! Outbound buyer notifications: the outbox (`buyer_notifications`) and the
//! contact changes support records (`buyer_contact_changes`). The state
//! machine itself lives in `crate::notifications`; every transition here is
//! guarded by the state it expects (`WHERE status = ...`), so a second
//! deliverer or a stale row can never move a message twice.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuyerNotificationRow {
    pub id: i64,
    pub order_id: String,
    pub kind: String,
    pub channel: String,
    pub locale: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub params: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub client_ref: String,
    pub trigger: String,
    pub triggered_by: String,
    pub event_key: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The value the email's inline barcode image encodes (voucher emails), if any.
    pub barcode: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewBuyerNotification<'a> {
    pub order_id: &'a str,
    pub kind: &'a str,
    pub channel: &'a str,
    pub locale: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub params: &'a str,
    pub client_ref: &'a str,
    pub trigger: &'a str,
    pub triggered_by: &'a str,
    pub event_key: Option<&'a str>,
    pub barcode: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// What a manual re-send insert found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualInsert {
    Queued(i64),
    /// Refused: this many manual re-sends of the order already in the window.
    OverLimit(u32),
}

/// How a claimed message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome<'a> {
    Sent {
        provider_message_id: &'a str,
    },
    Retry {
        error: &'a str,
        next_attempt_at: DateTime<Utc>,
    },
    Failed {
        error: &'a str,
    },
    /// The message may or may not have gone out; a human decides.
    Unknown {
        error: &'a str,
    },
}

/// A page of the log.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter<'a> {
    pub order_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

const ROW_SELECT: &str = "SELECT id, order_id, kind, channel, locale, recipient, subject, body_text, body_html,
    params, status, attempts, next_attempt_at, last_error, provider_message_id, client_ref, trigger, triggered_by,
    event_key, queued_at, claimed_at, sent_at, updated_at, barcode FROM buyer_notifications";

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<BuyerNotificationRow> {
    Ok(BuyerNotificationRow {
        id: r.get(0)?,
        order_id: r.get(1)?,
        kind: r.get(2)?,
        channel: r.get(3)?,
        locale: r.get(4)?,
        recipient: r.get(5)?,
        subject: r.get(6)?,
        body_text: r.get(7)?,
        body_html: r.get(8)?,
        params: r.get(9)?,
        status: r.get(10)?,
        attempts: r.get(11)?,
        next_attempt_at: time(r.get(12)?),
        last_error: r.get(13)?,
        provider_message_id: r.get(14)?,
        client_ref: r.get(15)?,
        trigger: r.get(16)?,
        triggered_by: r.get(17)?,
        event_key: r.get(18)?,
        queued_at: time(r.get(19)?),
        claimed_at: r.get::<_, Option<i64>>(20)?.map(time),
        sent_at: r.get::<_, Option<i64>>(21)?.map(time),
        updated_at: time(r.get(22)?),
        barcode: r.get(23)?,
    })
}

fn insert(tx: &rusqlite::Transaction<'_>, n: &NewBuyerNotification<'_>) -> StoreResult<i64> {
    let now = n.now.timestamp();
    tx.prepare_cached(
        "INSERT INTO buyer_notifications(order_id, kind, channel, locale, recipient, subject, body_text, body_html,
             params, status, attempts, next_attempt_at, client_ref, trigger, triggered_by, event_key, queued_at,
             updated_at, barcode)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?14, 'queued', 0, ?9, ?10, ?11, ?12, ?13, ?9, ?9, ?15)",
    )?
    .execute(params![
        n.order_id,
        n.kind,
        n.channel,
        n.locale,
        n.recipient,
        n.subject,
        n.body_text,
        n.body_html,
        now,
        n.client_ref,
        n.trigger,
        n.triggered_by,
        n.event_key,
        n.params,
        n.barcode
    ])?;
    Ok(tx.last_insert_rowid())
}

impl Store {
    /// Queues an event's message; `None` when a message with the same
    /// event key exists (the event was already notified).
    pub fn queue_event_notification(
        &mut self,
        n: &NewBuyerNotification<'_>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<Option<i64>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(key) = n.event_key {
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM buyer_notifications WHERE event_key = ?1)")?
                .query_row([key], |r| r.get(0))?;
            if exists {
                return Ok(None);
            }
        }
        let id = insert(&tx, n)?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(Some(id))
    }

    /// Queues a manual re-send unless the order already had `limit` manual
    /// re-sends since `window_start` (`limit: None`: a manager's override).
    /// Counted and inserted in one IMMEDIATE transaction, so two agents
    /// clicking at once cannot both slip under the limit.
    pub fn queue_manual_notification(
        &mut self,
        n: &NewBuyerNotification<'_>,
        window_start: DateTime<Utc>,
        limit: Option<u32>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<ManualInsert> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let count: u32 = tx
            .prepare_cached(
                "SELECT count(*) FROM buyer_notifications
                 WHERE order_id = ?1 AND trigger IN ('manual', 'override') AND queued_at >= ?2",
            )?
            .query_row(params![n.order_id, window_start.timestamp()], |r| r.get(0))?;
        if limit.is_some_and(|limit| count >= limit) {
            return Ok(ManualInsert::OverLimit(count));
        }
        let id = insert(&tx, n)?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(ManualInsert::Queued(id))
    }

    /// Whether a message with this event key was ever queued.
    pub fn notification_event_exists(&self, event_key: &str) -> StoreResult<bool> {
        let mut stmt =
            self.conn.prepare_cached("SELECT EXISTS(SELECT 1 FROM buyer_notifications WHERE event_key = ?1)")?;
        Ok(stmt.query_row([event_key], |r| r.get(0))?)
    }

    /// Manual re-sends of an order queued since `since`.
    pub fn manual_notifications_since(&self, order_id: &str, since: DateTime<Utc>) -> StoreResult<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM buyer_notifications
                 WHERE order_id = ?1 AND trigger IN ('manual', 'override') AND queued_at >= ?2",
            )?
            .query_row(params![order_id, since.timestamp()], |r| r.get(0))?)
    }

    /// Moves the oldest due `queued` message to `sending` (attempts + 1) and
    /// returns it; committed before anything goes out, so a crash leaves a
    /// trace. `None` when nothing is due.
    pub fn claim_due_notification(
        &mut self,
        now: DateTime<Utc>,
        audit_for: impl Fn(&BuyerNotificationRow) -> AuditEntry,
    ) -> StoreResult<Option<BuyerNotificationRow>> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .prepare_cached(&format!(
                "{ROW_SELECT} WHERE status = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT 1"
            ))?
            .query_row([now.timestamp()], row_from)
            .optional()?;
        let Some(row) = row else { return Ok(None) };
        let changed = tx.prepare_cached(
            "UPDATE buyer_notifications SET status = 'sending', attempts = attempts + 1, claimed_at = ?2, updated_at = ?2
             WHERE id = ?1 AND status = 'queued'",
        )?
        .execute(params![row.id, now.timestamp()])?;
        if changed != 1 {
            return Err(StoreError::Conflict(format!("notification {} changed while being claimed", row.id)));
        }
        audit::append(&tx, &audit_for(&row))?;
        tx.commit()?;
        Ok(self.buyer_notification(row.id)?)
    }

    /// Records how a `sending` message ended. Refused (Conflict) unless it is
    /// still `sending`.
    pub fn finish_notification(
        &mut self,
        id: i64,
        outcome: &SendOutcome<'_>,
        now: DateTime<Utc>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now_s = now.timestamp();
        let changed = match outcome {
            SendOutcome::Sent { provider_message_id } => tx.execute(
                "UPDATE buyer_notifications SET status = 'sent', provider_message_id = ?2, sent_at = ?3,
                     last_error = NULL, updated_at = ?3 WHERE id = ?1 AND status = 'sending'",
                params![id, provider_message_id, now_s],
            )?,
            SendOutcome::Retry { error, next_attempt_at } => tx.execute(
                "UPDATE buyer_notifications SET status = 'queued', last_error = ?2, next_attempt_at = ?3,
                     updated_at = ?4 WHERE id = ?1 AND status = 'sending'",
                params![id, error, next_attempt_at.timestamp(), now_s],
            )?,
            SendOutcome::Failed { error } => tx.execute(
                "UPDATE buyer_notifications SET status = 'failed', last_error = ?2, updated_at = ?3
                 WHERE id = ?1 AND status = 'sending'",
                params![id, error, now_s],
            )?,
            SendOutcome::Unknown { error } => tx.execute(
                "UPDATE buyer_notifications SET status = 'unknown', last_error = ?2, updated_at = ?3
                 WHERE id = ?1 AND status = 'sending'",
                params![id, error, now_s],
            )?,
        };
        if changed != 1 {
            return Err(StoreError::Conflict(format!("notification {id} is no longer being sent")));
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }

    /// An operator's retry of a `failed` message: back to `queued`, due at
    /// `now`, with the same id and client reference (so the provider's
    /// idempotency key and the email's Message-ID stay the same). Guarded by
    /// `status = 'failed'`: returns false, writing nothing, for any other state.
    pub fn requeue_failed_notification(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<bool> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx
            .prepare_cached(
                "UPDATE buyer_notifications SET status = 'queued', next_attempt_at = ?2, updated_at = ?2
                 WHERE id = ?1 AND status = 'failed'",
            )?
            .execute(params![id, now.timestamp()])?;
        if changed != 1 {
            return Ok(false);
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(true)
    }

    /// Orders the shop still awaits payment for whose voucher deadline falls
    /// in `(now, until]`, with a voucher code, no paid (or refunded) payment,
    /// and no expiry reminder queued by an event yet: soonest deadline first,
    /// at most `limit`. (An order the shop cancelled, or counts as paid, gets
    /// no reminder to pay.)
    pub fn orders_due_expiry_reminder(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.order_id FROM orders o
             WHERE o.status = 'pending_payment' AND o.voucher_expires_at > ?1 AND o.voucher_expires_at <= ?2
               AND o.voucher_code <> ''
               AND NOT EXISTS (SELECT 1 FROM payments p
                               WHERE p.order_id = o.order_id AND p.status IN ('paid', 'refunded'))
               AND NOT EXISTS (SELECT 1 FROM payment_links l JOIN payments p ON p.id = l.payment
                               WHERE l.order_id = o.order_id AND p.status IN ('paid', 'refunded'))
               AND NOT EXISTS (SELECT 1 FROM buyer_notifications n
                               WHERE n.order_id = o.order_id AND n.kind = 'expiry_reminder' AND n.trigger = 'event')
             ORDER BY o.voucher_expires_at, o.order_id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![now.timestamp(), until.timestamp(), limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Messages left in `sending` by a deliverer that claimed them before
    /// `claimed_before` (crashed or killed).
    pub fn interrupted_notifications(&self, claimed_before: DateTime<Utc>) -> StoreResult<Vec<BuyerNotificationRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{ROW_SELECT} WHERE status = 'sending' AND claimed_at < ?1 ORDER BY id"))?;
        let rows = stmt.query_map([claimed_before.timestamp()], row_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn buyer_notification(&self, id: i64) -> StoreResult<Option<BuyerNotificationRow>> {
        Ok(self.conn.prepare_cached(&format!("{ROW_SELECT} WHERE id = ?1"))?.query_row([id], row_from).optional()?)
    }

    /// Newest first.
    pub fn buyer_notifications(&self, filter: &NotificationFilter<'_>) -> StoreResult<Vec<BuyerNotificationRow>> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(order) = filter.order_id {
            clauses.push("order_id = ?");
            values.push(Box::new(order.to_string()));
        }
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            values.push(Box::new(status.to_string()));
        }
        if let Some(before) = filter.before_id {
            clauses.push("id < ?");
            values.push(Box::new(before));
        }
        values.push(Box::new(filter.limit));
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let mut stmt = self.conn.prepare_cached(&format!("{ROW_SELECT}{where_sql} ORDER BY id DESC LIMIT ?"))?;
        let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let rows = stmt.query_map(refs.as_slice(), row_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest correction of a buyer's `email` or `phone`, if any.
    pub fn buyer_contact_override(&self, order_id: &str, field: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT new_value FROM buyer_contact_changes WHERE order_id = ?1 AND field = ?2
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![order_id, field], |r| r.get(0))
            .optional()?)
    }

    /// Records a changed email or phone, with who changed it.
    pub fn insert_buyer_contact_change(
        &mut self,
        order_id: &str,
        field: &str,
        old_value: &str,
        new_value: &str,
        changed_by: &str,
        now: DateTime<Utc>,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO buyer_contact_changes(order_id, field, old_value, new_value, changed_by, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![order_id, field, old_value, new_value, changed_by, now.timestamp()],
        )?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }
}
