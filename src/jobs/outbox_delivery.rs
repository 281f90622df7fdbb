//! The buyer-message outbox as a background round:
//! `notifications::delivery::deliver_round` on its own database connection.
//! The settings and the keyring's secrets are read afresh, interrupted
//! messages are reconciled, due messages sent. Every rule (retries, backoff
//! per message, never twice) is the library's; the round only reports its
//! outcome for the screen.
//!
//! **Team mode**: the outbox is delivered by one desktop of the
//! team at a time: each round first takes (or renews) the `notification_outbox`
//! lease and is skipped while another desktop holds it (the status names it).
//! The round is one team write; each message is marked on the server before
//! it is handed to SMTP/SMS (the library's `barrier`).
//!
//! Deliveries are audited as `(deliverer)`, whoever is signed in (or nobody):
//! a queued message goes out once it is due.
//!
//! Each round first queues the daily report emails whose time has come
//! (`daily_report::schedule`); a report that cannot be queued is the round's
//! problem to show, and the buyers' messages still go.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::round::{DesktopNames, lease_for_round};
use crate::credentials::SecretVault;
use crate::daily_report::schedule::{self, ReportAttachments};
use crate::notifications::delivery::{self, DeliveryReport, RoundOutcome};
use crate::team::{self, LeaseName};

/// Messages one round sends at most (the rest wait for the next round).
pub const NOTIFY_BATCH_MAX: u32 = 20;

/// What the background deliverer is doing, for the notifications screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelivererState {
    Starting,
    /// Rounds run; the last one's report.
    Running {
        last_round_at: DateTime<Utc>,
        last: DeliveryReport,
    },
    /// Neither SMTP nor SMS is configured (Settings → Notifications).
    NotConfigured {
        last_round_at: DateTime<Utc>,
    },
    /// The last round could not run (a secret missing, the keyring locked...).
    Problem {
        last_round_at: DateTime<Utc>,
        code: String,
        message: String,
    },
    Stopped,
}

impl DelivererState {
    /// Whether the round failed as a whole (database, keyring): the face backs off.
    pub fn failed(&self) -> bool {
        matches!(self, DelivererState::Problem { .. })
    }
}

/// The state of a round that could not run.
pub fn problem(code: &str, message: String) -> DelivererState {
    DelivererState::Problem { last_round_at: Utc::now(), code: code.to_string(), message }
}

/// One round on the database at `db_path`. Blocks (SMTP, SMS, the team's
/// write lock): call it on a blocking thread.
pub fn round(db_path: &Path, vault: &dyn SecretVault, names: &DesktopNames) -> DelivererState {
    let mut store = match team::open_workspace(db_path, vault, &names.application) {
        Ok(store) => store,
        Err(e) => return problem(e.code(), e.to_string()),
    };
    if let Err((code, message)) = lease_for_round(&mut store, LeaseName::NotificationOutbox, &names.holder) {
        return problem(&code, message);
    }
    let now = Utc::now();
    let reports = store.write(|s| schedule::queue_due(s, now));
    let delivered = store.write(|s| delivery::deliver_round(s, vault, now, NOTIFY_BATCH_MAX, Some(&ReportAttachments)));
    match (delivered, reports) {
        (Err(e), _) => problem(e.code(), e.to_string()),
        (Ok(_), Err(e)) => problem(e.code(), format!("daily report: {e}")),
        (Ok(RoundOutcome::NotConfigured), Ok(_)) => DelivererState::NotConfigured { last_round_at: now },
        (Ok(RoundOutcome::Delivered { delivered, .. }), Ok(_)) => {
            DelivererState::Running { last_round_at: now, last: delivered }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryVault;
    use crate::jobs::round::tests::workspace;

    #[test]
    fn an_outbox_without_smtp_or_sms_is_not_configured_and_not_a_failure() {
        let (_dir, path) = workspace();
        let names = DesktopNames { application: "host/desktop".into(), holder: "host/desktop#1".into() };
        let before = Utc::now();
        let state = round(&path, &MemoryVault::default(), &names);
        assert!(
            matches!(state, DelivererState::NotConfigured { last_round_at } if last_round_at >= before),
            "{state:?}"
        );
        assert!(!state.failed());
        assert!(problem("store", "locked".into()).failed());
    }
}
