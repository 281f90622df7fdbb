//! What a PSP says about a payment outside a file — an API answer, a
//! notification — applied to the ledger. This is the one entry point for
//! those observations (`listen` uses it; the sync engine will): in one
//! transaction it creates the payment if it is new, moves its status forward
//! only ([`PaymentStatus::advanced_by`]), keeps every distinct observation in
//! the payment's history with its raw text, and writes the audit log.

use crate::operators::Operator;
use crate::payments::{PaymentObservation, PaymentStatus};
use crate::reconcile::{ReconcileError, ReconcileOptions, ReconcileSummary};
use crate::store::{AppliedObservation, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Raw text kept with one observation (a notification body, an API answer).
pub const OBSERVATION_RAW_MAX_BYTES: usize = 256 * 1024;
/// Reconciliation waits for this much quiet after the last applied change…
pub const RECONCILE_QUIET_MS: u64 = 2_000;
/// …but never longer than this after the first unreconciled change.
pub const RECONCILE_DELAY_MS_MAX: u64 = 30_000;

/// Where an observation came from (`payment_status_history.source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationSource {
    Api,
    Notification,
}

impl ObservationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationSource::Api => "api",
            ObservationSource::Notification => "notification",
        }
    }
}

/// A status for a payment the ledger must already know (an answer that does
/// not carry the whole payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub psp: String,
    pub payment_id: String,
    pub status: PaymentStatus,
    pub psp_status: String,
    pub status_code: String,
    /// When the PSP says the status happened, if it says.
    pub status_at: Option<DateTime<Utc>>,
}

/// One observation of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The whole payment: enough to create it if it is new.
    Payment(PaymentObservation),
    /// Only its status: applied to a known payment, otherwise nothing is written.
    Status(StatusReport),
}

impl Observed {
    pub fn psp(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.psp,
            Observed::Status(s) => &s.psp,
        }
    }

    pub fn payment_id(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.payment_id,
            Observed::Status(s) => &s.payment_id,
        }
    }

    pub fn status(&self) -> PaymentStatus {
        match self {
            Observed::Payment(p) => p.status,
            Observed::Status(s) => s.status,
        }
    }

    pub fn psp_status(&self) -> &str {
        match self {
            Observed::Payment(p) => &p.psp_status,
            Observed::Status(s) => &s.psp_status,
        }
    }

    /// When the observed status happened, by the same rule file imports use.
    pub fn status_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Observed::Payment(p) => crate::store::observation_status_at(p),
            Observed::Status(s) => s.status_at,
        }
    }
}

/// What applying one observation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationOutcome {
    /// The payment was not in the ledger; it is now.
    New,
    /// The payment's status moved forward.
    Advanced,
    /// Recorded in the history, but the payment keeps its (more advanced or
    /// equal) status: an older status arriving late, or the same status from
    /// another source.
    HistoryOnly,
    /// Exactly this observation (status, PSP wording, time, source) is already
    /// in the history: nothing was written.
    Duplicate,
    /// A status for a payment the ledger does not know: nothing was written.
    UnknownPayment,
}

impl ObservationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationOutcome::New => "new",
            ObservationOutcome::Advanced => "advanced",
            ObservationOutcome::HistoryOnly => "history_only",
            ObservationOutcome::Duplicate => "duplicate",
            ObservationOutcome::UnknownPayment => "unknown_payment",
        }
    }

    /// Whether the ledger changed (and reconciliation may see something new).
    pub fn changed_ledger(self) -> bool {
        match self {
            ObservationOutcome::New | ObservationOutcome::Advanced | ObservationOutcome::HistoryOnly => true,
            ObservationOutcome::Duplicate | ObservationOutcome::UnknownPayment => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ObservationError {
    #[error("an observation needs a PSP and a payment id")]
    MissingKey,
    #[error("the raw observation is {0} bytes; at most {OBSERVATION_RAW_MAX_BYTES} are kept")]
    RawTooLarge(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ObservationError {
    pub fn code(&self) -> &'static str {
        match self {
            ObservationError::MissingKey | ObservationError::RawTooLarge(_) => "observations.invalid",
            ObservationError::Store(e) => e.code(),
        }
    }
}

/// Applies one observation in one transaction. `actor` names who reported it
/// in the audit log (`notification:dlocal`, `sync:pagoefectivo`).
pub fn apply(
    store: &mut Store,
    observed: &Observed,
    source: ObservationSource,
    raw: &str,
    actor: &str,
) -> Result<AppliedObservation, ObservationError> {
    check(observed, raw)?;
    Ok(store.apply_observation(observed, source, raw, Utc::now(), actor)?)
}

/// The preconditions [`apply`] checks, shared with callers that apply inside
/// a larger transaction (a received notification and its record).
pub fn check(observed: &Observed, raw: &str) -> Result<(), ObservationError> {
    if observed.psp().trim().is_empty() || observed.payment_id().trim().is_empty() {
        return Err(ObservationError::MissingKey);
    }
    if raw.len() > OBSERVATION_RAW_MAX_BYTES {
        return Err(ObservationError::RawTooLarge(raw.len()));
    }
    Ok(())
}

/// Runs reconciliation with the saved settings, as of today: what `listen`
/// does once its changes have settled (see [`ReconcileDebounce`]).
pub fn reconcile_after_observations(
    store: &mut Store,
    operator: &Operator,
) -> Result<ReconcileSummary, ReconcileError> {
    crate::reconcile::reconcile(store, &ReconcileOptions::load(store, None)?, operator)
}

/// Decides when to reconcile after a stream of changes: once the stream has
/// been quiet for `quiet`, or `delay_max` after the first pending change,
/// whichever comes first. One reconciliation covers any number of changes.
#[derive(Debug, Clone)]
pub struct ReconcileDebounce {
    quiet: Duration,
    delay_max: Duration,
    first_pending: Option<Instant>,
    last_change: Option<Instant>,
}

impl Default for ReconcileDebounce {
    fn default() -> Self {
        ReconcileDebounce::new(Duration::from_millis(RECONCILE_QUIET_MS), Duration::from_millis(RECONCILE_DELAY_MS_MAX))
    }
}

impl ReconcileDebounce {
    pub fn new(quiet: Duration, delay_max: Duration) -> ReconcileDebounce {
        ReconcileDebounce { quiet, delay_max, first_pending: None, last_change: None }
    }

    pub fn note_change(&mut self, at: Instant) {
        self.first_pending.get_or_insert(at);
        self.last_change = Some(at);
    }

    /// True (once) when a reconciliation is due; the pending changes are then
    /// considered handled.
    pub fn take_due(&mut self, now: Instant) -> bool {
        let (Some(first), Some(last)) = (self.first_pending, self.last_change) else { return false };
        let due =
            now.saturating_duration_since(last) >= self.quiet || now.saturating_duration_since(first) >= self.delay_max;
        if due {
            self.first_pending = None;
            self.last_change = None;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debounce_waits_for_quiet_but_not_forever() {
        let start = Instant::now();
        let ms = |n: u64| start + Duration::from_millis(n);
        let mut d = ReconcileDebounce::new(Duration::from_millis(100), Duration::from_millis(250));
        assert!(!d.take_due(ms(0)), "nothing pending");
        d.note_change(ms(0));
        assert!(!d.take_due(ms(50)));
        d.note_change(ms(80));
        assert!(!d.take_due(ms(170)), "the second change restarts the quiet period");
        assert!(d.take_due(ms(180)));
        assert!(!d.take_due(ms(500)), "due once per batch of changes");
        // A steady stream still reconciles after delay_max.
        for t in (1000..1300).step_by(50) {
            d.note_change(ms(t));
            if t >= 1250 {
                assert!(d.take_due(ms(t)), "at {t}");
            } else {
                assert!(!d.take_due(ms(t)), "at {t}");
            }
        }
    }
}
