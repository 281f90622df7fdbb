//! Waking a desktop when another one changed something: `LISTEN` on the
//! channel every upload announces on (see replica.rs).

use super::replica::CHANGES_CHANNEL;
use super::{TeamResult, TeamStore};
use postgres::fallible_iterator::FallibleIterator;
use std::time::Duration;

impl TeamStore {
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
        // Several uploads may have announced: one pull serves them all.
        let mut pending = notifications.iter();
        while pending.next()?.is_some() {}
        Ok(got)
    }
}
