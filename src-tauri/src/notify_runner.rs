//! The buyer-notification outbox in the background: one tokio task
//! owned by the app state, started with the app and stopped when it exits.
//! Each round is `notifications::delivery::deliver_round` on its own database
//! connection, off the async threads: the settings and the keyring's secrets
//! are read afresh, interrupted messages are reconciled, due messages sent.
//! Every rule (retries, backoff per message, never twice) is the library's;
//! this only paces the rounds and keeps the last outcome for the screen.
//!
//! **Team mode**: the outbox is delivered by one desktop of the
//! team at a time: each round first takes (or renews) the `notification_outbox`
//! lease and is skipped while another desktop holds it (the status names it).
//! The round is one team write; each message is marked on the server before
//! it is handed to SMTP/SMS (the library's `barrier`).
//!
//! Deliveries are audited as `(deliverer)`, whoever is signed in (or nobody):
//! a queued message goes out once it is due.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use voucherdesk::credentials::SecretVault;
use voucherdesk::notifications::delivery::{self, DeliveryReport, RoundOutcome};
use voucherdesk::team::{self, LeaseName};

use crate::team_runner::DesktopNames;

/// Pause between two rounds when all is well.
pub const NOTIFY_TICK_MS_DEFAULT: u64 = 15_000;
/// `VOUCHERDESK_NOTIFY_TICK_MS` may set it between these (the e2e suite uses a short one).
pub const NOTIFY_TICK_MS_MIN: u64 = 200;
pub const NOTIFY_TICK_MS_MAX: u64 = 3_600_000;
pub const NOTIFY_TICK_ENV: &str = "VOUCHERDESK_NOTIFY_TICK_MS";
/// Messages one round sends at most (the rest wait for the next round).
pub const NOTIFY_BATCH_MAX: u32 = 20;
/// After a round that failed as a whole (database, keyring), the pause is
/// doubled each time, up to this many ticks.
pub const NOTIFY_ERROR_BACKOFF_TICKS_MAX: u32 = 16;

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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The tick from the environment, clamped to its limits.
pub fn tick_from_env() -> Duration {
    let ms = std::env::var(NOTIFY_TICK_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(NOTIFY_TICK_MS_DEFAULT)
        .clamp(NOTIFY_TICK_MS_MIN, NOTIFY_TICK_MS_MAX);
    Duration::from_millis(ms)
}

/// The pause after `failures` rounds in a row failed as a whole.
pub fn pause_after(tick: Duration, failures: u32) -> Duration {
    let factor = 1_u32 << failures.min(NOTIFY_ERROR_BACKOFF_TICKS_MAX.trailing_zeros());
    tick.saturating_mul(factor.min(NOTIFY_ERROR_BACKOFF_TICKS_MAX))
}

/// The handle the app state keeps: the stop switch and the task's state.
pub struct NotifyRunner {
    stop: watch::Sender<bool>,
    state: Arc<Mutex<DelivererState>>,
}

impl Default for NotifyRunner {
    fn default() -> Self {
        let (stop, _) = watch::channel(false);
        NotifyRunner { stop, state: Arc::new(Mutex::new(DelivererState::Starting)) }
    }
}

impl NotifyRunner {
    pub fn state(&self) -> DelivererState {
        lock(&self.state).clone()
    }

    /// Starts the task on Tauri's runtime: a round every `tick` until [`NotifyRunner::stop`].
    pub fn start(&self, db_path: PathBuf, vault: Arc<dyn SecretVault>, tick: Duration, names: DesktopNames) {
        let mut stop = self.stop.subscribe();
        let mut woken = crate::wake::subscribe();
        let state = Arc::clone(&self.state);
        tauri::async_runtime::spawn(async move {
            let mut failures = 0_u32;
            loop {
                if *stop.borrow() {
                    break;
                }
                let (path, vault, names) = (db_path.clone(), Arc::clone(&vault), names.clone());
                let now_state = tauri::async_runtime::spawn_blocking(move || one_round(&path, &*vault, &names))
                    .await
                    .unwrap_or_else(|e| problem("internal", e.to_string()));
                failures = if matches!(now_state, DelivererState::Problem { .. }) { failures + 1 } else { 0 };
                *lock(&state) = now_state;
                tokio::select! {
                    _ = tokio::time::sleep(pause_after(tick, failures)) => {}
                    _ = woken.changed() => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
            *lock(&state) = DelivererState::Stopped;
        });
    }

    /// Asks the task to stop (a send in flight finishes; the outbox keeps the rest).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        *lock(&self.state) = DelivererState::Stopped;
    }
}

fn problem(code: &str, message: String) -> DelivererState {
    DelivererState::Problem { last_round_at: Utc::now(), code: code.to_string(), message }
}

fn one_round(db_path: &Path, vault: &dyn SecretVault, names: &DesktopNames) -> DelivererState {
    let mut store = match team::open_workspace(db_path, vault, &names.application) {
        Ok(store) => store,
        Err(e) => return problem(e.code(), e.to_string()),
    };
    if let Err((code, message)) =
        crate::team_runner::lease_for_round(&mut store, LeaseName::NotificationOutbox, &names.holder)
    {
        return problem(&code, message);
    }
    let now = Utc::now();
    match store.write(|s| delivery::deliver_round(s, vault, now, NOTIFY_BATCH_MAX)) {
        Ok(RoundOutcome::NotConfigured) => DelivererState::NotConfigured { last_round_at: now },
        Ok(RoundOutcome::Delivered { delivered, .. }) => {
            DelivererState::Running { last_round_at: now, last: delivered }
        }
        Err(e) => problem(e.code(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rounds_back_off_doubling_up_to_the_cap() {
        let tick = Duration::from_secs(15);
        let pauses: Vec<u64> = (0..7).map(|n| pause_after(tick, n).as_secs()).collect();
        assert_eq!(pauses, vec![15, 30, 60, 120, 240, 240, 240]);
    }
}
