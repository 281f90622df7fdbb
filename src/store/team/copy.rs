//! What a desktop's local copy pulls from the team server: the rows changed
//! past its cursor, oldest change first (see migrations/0002_change_cursor.sql).

use super::{TeamResult, TeamStore};
use crate::store::copy::ExceptionCopy;
use postgres::fallible_iterator::FallibleIterator;
use std::time::Duration;

/// The channel the change triggers announce on.
const CHANGES_CHANNEL: &str = "voucherdesk_changes";

impl TeamStore {
    /// Up to `limit` exceptions changed after `cursor`, in change order.
    pub fn exceptions_changed_after(&mut self, cursor: i64, limit: u32) -> TeamResult<Vec<ExceptionCopy>> {
        let rows = self.client.query(
            "SELECT change_seq, id, kind, status, order_id, psp, payment_id, settlement, country, store,
                    amount_minor, currency, facts, detail, detected_at, updated_at, last_run, assignee,
                    resolution, resolved_by, resolved_at, note
               FROM exceptions WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
            &[&cursor, &i64::from(limit)],
        )?;
        Ok(rows
            .iter()
            .map(|r| ExceptionCopy {
                change_seq: r.get(0),
                id: r.get(1),
                kind: r.get(2),
                status: r.get(3),
                order_id: r.get(4),
                psp: r.get(5),
                payment_id: r.get(6),
                settlement: r.get(7),
                country: r.get(8),
                store: r.get(9),
                amount_minor: r.get(10),
                currency: r.get(11),
                facts: r.get(12),
                detail: r.get(13),
                detected_at: r.get(14),
                updated_at: r.get(15),
                last_run: r.get(16),
                assignee: r.get(17),
                resolution: r.get(18),
                resolved_by: r.get(19),
                resolved_at: r.get(20),
                note: r.get(21),
            })
            .collect())
    }

    /// Asks the server to announce changes to this connection.
    pub fn listen_for_changes(&mut self) -> TeamResult<()> {
        self.client.batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))?;
        Ok(())
    }

    /// Waits up to `timeout` for an announced change; true when one came.
    /// Announcements that arrived meanwhile are all consumed.
    pub fn wait_for_change(&mut self, timeout: Duration) -> TeamResult<bool> {
        let mut notifications = self.client.notifications();
        let mut waiting = notifications.timeout_iter(timeout);
        let got = waiting.next()?.is_some();
        drop(waiting);
        // Several statements may have announced: one pull serves them all.
        let mut pending = notifications.iter();
        while pending.next()?.is_some() {}
        Ok(got)
    }
}
