//! The local copy of a team's shared rows (team mode, issue 7): rows as both
//! backends store them, and how the local file takes them in.

use super::{Store, StoreResult};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

/// One exception exactly as its columns hold it (both schemas share them),
/// with the team server's change number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionCopy {
    pub change_seq: i64,
    pub id: String,
    pub kind: String,
    pub status: String,
    pub order_id: String,
    pub psp: String,
    pub payment_id: String,
    pub settlement: Option<i64>,
    pub country: String,
    pub store: String,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub facts: String,
    pub detail: String,
    pub detected_at: i64,
    pub updated_at: i64,
    pub last_run: i64,
    pub assignee: Option<String>,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<i64>,
    pub note: Option<String>,
}

/// The copy's cursor per table, in store_meta.
fn cursor_key(table: &str) -> String {
    format!("team_cursor:{table}")
}

impl Store {
    /// How far the local copy of `table` has followed the team server (0: not yet).
    pub fn team_cursor(&self, table: &str) -> StoreResult<i64> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [cursor_key(table)], |r| r.get(0))
            .optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Stores a page of exceptions from the team server and moves the cursor
    /// to the last one, in one transaction: a crash mid-page stores nothing
    /// and the page is pulled again.
    pub fn apply_exception_copies(&mut self, rows: &[ExceptionCopy]) -> StoreResult<i64> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut cursor: i64 = tx
            .query_row("SELECT value FROM store_meta WHERE key = ?1", [cursor_key("exceptions")], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store,
                     amount_minor, currency, facts, detail, detected_at, updated_at, last_run, assignee,
                     resolution, resolved_by, resolved_at, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
                 ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, status = excluded.status,
                     order_id = excluded.order_id, psp = excluded.psp, payment_id = excluded.payment_id,
                     settlement = excluded.settlement, country = excluded.country, store = excluded.store,
                     amount_minor = excluded.amount_minor, currency = excluded.currency, facts = excluded.facts,
                     detail = excluded.detail, detected_at = excluded.detected_at, updated_at = excluded.updated_at,
                     last_run = excluded.last_run, assignee = excluded.assignee, resolution = excluded.resolution,
                     resolved_by = excluded.resolved_by, resolved_at = excluded.resolved_at, note = excluded.note",
            )?;
            for e in rows {
                upsert.execute(params![
                    e.id,
                    e.kind,
                    e.status,
                    e.order_id,
                    e.psp,
                    e.payment_id,
                    e.settlement,
                    e.country,
                    e.store,
                    e.amount_minor,
                    e.currency,
                    e.facts,
                    e.detail,
                    e.detected_at,
                    e.updated_at,
                    e.last_run,
                    e.assignee,
                    e.resolution,
                    e.resolved_by,
                    e.resolved_at,
                    e.note
                ])?;
                cursor = cursor.max(e.change_seq);
            }
        }
        tx.execute(
            "INSERT INTO store_meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![cursor_key("exceptions"), cursor.to_string()],
        )?;
        tx.commit()?;
        Ok(cursor)
    }
}
