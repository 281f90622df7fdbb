//! What a PSP says about a payment outside a file — an API answer, a
//! notification — applied to the ledger. This is the one entry point for
//! those observations (`listen` uses it; the sync engine will): in one
//! transaction it creates the payment if it is new, moves its status forward
//! only ([`PaymentStatus::advanced_by`]), keeps every distinct observation in
//! the payment's history with its raw text, and writes the audit log.

pub use crate::model::observation::{ObservationOutcome, ObservationSource, Observed, StatusReport};
use crate::operators::Operator;
use crate::reconcile::{ReconcileError, ReconcileOptions, ReconcileSummary};
use crate::store::{AppliedObservation, Store, StoreError};
use chrono::Utc;
use std::time::{Duration, Instant};

/// Raw text kept with one observation (a notification body, an API answer).
pub const OBSERVATION_RAW_MAX_BYTES: usize = 256 * 1024;
/// Reconciliation waits for this much quiet after the last applied change…
pub const RECONCILE_QUIET_MS: u64 = 2_000;
/// …but never longer than this after the first unreconciled change.
pub const RECONCILE_DELAY_MS_MAX: u64 = 30_000;

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
