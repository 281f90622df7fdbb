//! Received PSP notifications (`psp_notifications`) and the exception a
//! forged one raises. A notification, what it changed and its audit entries
//! commit together, so a crash never leaves one without the other.

use super::audit::{self, AuditEntry};
use super::observations::{self, AppliedObservation};
use super::{Store, StoreError, StoreResult};
use crate::model::exception::{ExceptionKind, ExceptionStatus};
use crate::model::observation::{ObservationOutcome, ObservationSource, Observed};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

/// One notification as it is filed.
#[derive(Debug, Clone)]
pub struct NotificationRecord<'a> {
    pub psp: &'a str,
    /// `listen` or `log`.
    pub channel: &'a str,
    pub fingerprint: &'a str,
    pub received_at: DateTime<Utc>,
    pub headers_json: &'a str,
    pub body: &'a [u8],
    /// The verdict when nothing is applied (forged, unsigned, stale,
    /// malformed); when an observation is applied, `verdict_of` decides.
    pub verdict: &'a str,
    pub detail: &'a str,
    pub payment_id: &'a str,
    pub order_id: &'a str,
    pub claimed_status: &'a str,
    pub source_file: Option<&'a str>,
    pub source_line: Option<u64>,
}

/// A forged (or unsigned) notification that names an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgedFinding {
    pub order_id: String,
    pub psp: String,
    /// What the notification claims (possibly lies).
    pub payment_id: String,
    pub claimed_status: String,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub country: String,
    pub detail: String,
}

/// What filing a notification did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredNotification {
    /// Exactly this request was filed before (same PSP, headers and body):
    /// nothing changed. Carries the first filing's verdict.
    Repeat { id: i64, verdict: String },
    Filed {
        id: i64,
        verdict: String,
        applied: Option<AppliedObservation>,
        /// The forged-notification exception it opened, reopened or added to.
        exception: Option<String>,
    },
}

/// A filed notification, for listings and tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotificationRow {
    pub id: i64,
    pub psp: String,
    pub channel: String,
    pub received_at: DateTime<Utc>,
    pub headers_json: String,
    pub body: String,
    pub verdict: String,
    pub detail: String,
    pub payment_id: String,
    pub order_id: String,
    pub claimed_status: String,
    pub source_file: Option<String>,
    pub source_line: Option<i64>,
}

/// What to do with a notification besides filing it.
pub enum NotificationEffect<'a> {
    /// Nothing (stale, malformed, or forged without an order to name).
    None,
    /// Apply its observation; `verdict_of` names the verdict from the outcome.
    Apply { observed: &'a Observed, raw: &'a str, actor: &'a str, verdict_of: fn(ObservationOutcome) -> &'static str },
    /// Open (or reopen) the order's forged-notification exception.
    RaiseForged { finding: &'a ForgedFinding, actor: &'a str },
}

impl Store {
    /// Files one notification and its effect in one IMMEDIATE transaction;
    /// a request filed before changes nothing.
    pub fn file_notification(
        &mut self,
        record: &NotificationRecord<'_>,
        effect: NotificationEffect<'_>,
    ) -> StoreResult<StoredNotification> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let earlier: Option<(i64, String)> = tx
            .prepare_cached("SELECT id, verdict FROM psp_notifications WHERE fingerprint = ?1")?
            .query_row([record.fingerprint], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((id, verdict)) = earlier {
            return Ok(StoredNotification::Repeat { id, verdict });
        }
        let mut verdict = record.verdict.to_string();
        let mut applied = None;
        let mut exception = None;
        match effect {
            NotificationEffect::None => {}
            NotificationEffect::Apply { observed, raw, actor, verdict_of } => {
                let done = observations::apply(
                    &tx,
                    observed,
                    ObservationSource::Notification,
                    raw,
                    record.received_at,
                    actor,
                )?;
                verdict = verdict_of(done.outcome).to_string();
                applied = Some(done);
            }
            NotificationEffect::RaiseForged { finding, actor } => {
                exception = Some(raise_forged(&tx, finding, record.received_at, actor)?);
            }
        }
        tx.prepare_cached(
            "INSERT INTO psp_notifications(psp, channel, fingerprint, received_at, headers_json, body, verdict, detail,
                 payment_id, order_id, claimed_status, source_file, source_line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            record.psp,
            record.channel,
            record.fingerprint,
            record.received_at.timestamp(),
            record.headers_json,
            record.body,
            verdict,
            record.detail,
            record.payment_id,
            record.order_id,
            record.claimed_status,
            record.source_file,
            record.source_line.map(|l| l as i64)
        ])?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(StoredNotification::Filed { id, verdict, applied, exception })
    }

    /// Filed notifications, newest first, at most `limit`; `verdict` filters.
    pub fn notifications(&self, verdict: Option<&str>, limit: u32) -> StoreResult<Vec<NotificationRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, psp, channel, received_at, headers_json, body, verdict, detail, payment_id, order_id,
                    claimed_status, source_file, source_line
             FROM psp_notifications WHERE ?1 IS NULL OR verdict = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![verdict, limit], |r| {
            Ok(NotificationRow {
                id: r.get(0)?,
                psp: r.get(1)?,
                channel: r.get(2)?,
                received_at: DateTime::from_timestamp(r.get(3)?, 0).unwrap_or_default(),
                headers_json: r.get(4)?,
                body: String::from_utf8_lossy(&r.get::<_, Vec<u8>>(5)?).into_owned(),
                verdict: r.get(6)?,
                detail: r.get(7)?,
                payment_id: r.get(8)?,
                order_id: r.get(9)?,
                claimed_status: r.get(10)?,
                source_file: r.get(11)?,
                source_line: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Opens the order's forged-notification exception, or adds this one to it
/// (reopening it if someone had closed it: a new forgery is a new event).
fn raise_forged(conn: &Connection, f: &ForgedFinding, at: DateTime<Utc>, actor: &str) -> StoreResult<String> {
    let kind = ExceptionKind::ForgedNotification;
    let id = kind.exception_id(&[&f.order_id]);
    let now = at.timestamp();
    let order: Option<(String, String, i64, String)> = conn
        .prepare_cached("SELECT country, store, amount_minor, currency FROM orders WHERE order_id = ?1")?
        .query_row([&f.order_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (country, store, amount_minor, currency) = match (&order, f.amount_minor) {
        (Some((country, store, _, _)), Some(claimed)) => {
            (country.clone(), store.clone(), Some(claimed), f.currency.clone())
        }
        (Some((country, store, amount, currency)), None) => {
            (country.clone(), store.clone(), Some(*amount), currency.clone())
        }
        (None, claimed) => (f.country.clone(), String::new(), claimed, f.currency.clone()),
    };
    let facts = format!("psp={};payment={};status={}", f.psp, f.payment_id, f.claimed_status);
    let current: Option<String> = conn
        .prepare_cached("SELECT status FROM exceptions WHERE id = ?1")?
        .query_row([&id], |r| r.get(0))
        .optional()?;
    let current = current
        .map(|s| ExceptionStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("exception status {s:?}"))))
        .transpose()?;
    let mut history = conn.prepare_cached(
        "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
         VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6)",
    )?;
    match current {
        None => {
            conn.prepare_cached(
                "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store,
                     amount_minor, currency, facts, detail, detected_at, updated_at, last_run)
                 VALUES (?1, ?2, 'open', ?3, ?4, '', NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 0)",
            )?
            .execute(params![
                id,
                kind.as_str(),
                f.order_id,
                f.psp,
                country,
                store,
                amount_minor,
                currency,
                facts,
                f.detail,
                now
            ])?;
            history.execute(params![id, now, "detected", None::<String>, actor, f.detail])?;
        }
        Some(status) => {
            conn.prepare_cached(
                "UPDATE exceptions SET status = 'open', facts = ?2, detail = ?3, updated_at = ?4,
                     resolution = CASE WHEN status = 'open' THEN resolution ELSE NULL END WHERE id = ?1",
            )?
            .execute(params![id, facts, f.detail, now])?;
            let event = match status {
                ExceptionStatus::Open => "another forged notification",
                ExceptionStatus::Resolved | ExceptionStatus::Cleared => "reopened: another forged notification",
            };
            history.execute(params![id, now, event, status.as_str(), actor, f.detail])?;
        }
    }
    audit::append(
        conn,
        &AuditEntry {
            at,
            operator: actor.to_string(),
            action: "exception.raise".to_string(),
            subject: format!("exception {id}"),
            before: current.map(|s| s.as_str().to_string()).unwrap_or_default(),
            after: serde_json::json!({"kind": kind.as_str(), "status": "open", "order_id": f.order_id, "facts": facts})
                .to_string(),
        },
    )?;
    Ok(id)
}
