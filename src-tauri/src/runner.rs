//! The one loop the app runs its background jobs on (the library's `jobs`):
//! one round, then a pause, until stopped, keeping the state the last round
//! reported. A wake (`wake`) ends the pause of a runner paced with
//! [`Wake::OnSignal`]; rounds that failed as a whole lengthen the pause of a
//! runner with a backoff. What a round does is the library's; this module
//! also holds the app's pace for each job.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use voucherdesk::jobs::outbox_delivery::DelivererState;
use voucherdesk::jobs::psp_sync::RunnerState;
use voucherdesk::jobs::refund_submission::RefundRunnerState;
use voucherdesk::jobs::scheduled_backup::BackupRound;
use voucherdesk::jobs::team_refresh::TeamRunnerState;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a wake (SIGUSR2, see `wake`) ends the runner's pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    OnSignal,
    TickOnly,
}

/// How a runner paces its rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The pause between two rounds when all is well.
    pub every: Duration,
    pub wake: Wake,
    /// After rounds that failed as a whole, the pause is doubled each time,
    /// up to this many `every`s (a power of two; 1: no backoff).
    pub backoff_ticks_max: u32,
}

impl Pace {
    /// `every` between rounds, no backoff.
    pub fn steady(every: Duration, wake: Wake) -> Pace {
        Pace { every, wake, backoff_ticks_max: 1 }
    }
}

/// The pause after `failures` rounds in a row failed as a whole.
pub fn pause_after(tick: Duration, failures: u32, backoff_ticks_max: u32) -> Duration {
    let factor = 1_u32 << failures.min(backoff_ticks_max.trailing_zeros());
    tick.saturating_mul(factor.min(backoff_ticks_max))
}

/// What a runner keeps: the last round's state.
pub trait RoundState: Clone + Send + 'static {
    /// The state once the runner has stopped.
    fn stopped(self) -> Self;
    /// Whether the round failed as a whole (the next pause backs off).
    fn failed(&self) -> bool {
        false
    }
}

impl RoundState for RunnerState {
    fn stopped(self) -> Self {
        RunnerState::Stopped
    }
}

impl RoundState for RefundRunnerState {
    fn stopped(self) -> Self {
        RefundRunnerState::Stopped
    }
}

impl RoundState for DelivererState {
    fn stopped(self) -> Self {
        DelivererState::Stopped
    }
    fn failed(&self) -> bool {
        DelivererState::failed(self)
    }
}

/// A failed backup is retried on the schedule's own terms (`backup_schedule::due`), not by backing off.
impl RoundState for BackupRound {
    fn stopped(self) -> Self {
        BackupRound::Stopped
    }
}

/// The team refresher keeps what it last saw when it stops.
impl RoundState for TeamRunnerState {
    fn stopped(self) -> Self {
        self
    }
}

/// Whether the runner was asked to stop, for a round that checks between its steps.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// The handle the app state keeps: the stop switch and the last round's state.
pub struct Runner<S> {
    stop: watch::Sender<bool>,
    state: Arc<Mutex<S>>,
}

impl<S: RoundState> Runner<S> {
    pub fn new(initial: S) -> Self {
        let (stop, _) = watch::channel(false);
        Runner { stop, state: Arc::new(Mutex::new(initial)) }
    }

    pub fn state(&self) -> S {
        lock(&self.state).clone()
    }

    /// Shows `state` until the next round ends (a job's state before its first round).
    pub fn show(&self, state: S) {
        *lock(&self.state) = state;
    }

    /// The stop switch as a round sees it.
    pub fn stopping(&self) -> Stopping {
        Stopping(self.stop.subscribe())
    }

    /// Starts the runner on Tauri's runtime: `round()`, then the pause, until
    /// [`Runner::stop`]; the state becomes the stopped one when it ends.
    pub fn start<F, Fut>(&self, pace: Pace, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = S> + Send,
    {
        let mut stop = self.stop.subscribe();
        let mut woken = crate::wake::subscribe();
        let state = Arc::clone(&self.state);
        tauri::async_runtime::spawn(async move {
            let mut failures = 0_u32;
            loop {
                if *stop.borrow() {
                    break;
                }
                let now_state = round().await;
                failures = if now_state.failed() { failures.saturating_add(1) } else { 0 };
                *lock(&state) = now_state;
                tokio::select! {
                    _ = tokio::time::sleep(pause_after(pace.every, failures, pace.backoff_ticks_max)) => {}
                    _ = woken.changed(), if pace.wake == Wake::OnSignal => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
            let mut state = lock(&state);
            *state = state.clone().stopped();
        });
    }

    /// Asks the runner to stop; the round in flight finishes.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        let mut state = lock(&self.state);
        *state = state.clone().stopped();
    }
}

// ------------------------------------------------------------------ the app's paces

/// A number of `unit`s from the environment variable `var`, clamped to its limits.
fn from_env(var: &str, default: u64, min: u64, max: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default).clamp(min, max)
}

/// Pause between two rounds of the app's PSP sync.
pub const APP_SYNC_TICK_MS_DEFAULT: u64 = 30_000;
/// `VOUCHERDESK_SYNC_TICK_MS` may set it between these (the demo uses a short one).
pub const APP_SYNC_TICK_MS_MIN: u64 = 1_000;
pub const APP_SYNC_TICK_MS_MAX: u64 = 3_600_000;
pub const SYNC_TICK_ENV: &str = "VOUCHERDESK_SYNC_TICK_MS";

/// The PSP sync's pace: from the environment. It keeps its own pace: what it
/// records is the PSP's word, asked for from the case file's refresh or by
/// the tick, not by a wake.
pub fn sync_pace() -> Pace {
    let ms = from_env(SYNC_TICK_ENV, APP_SYNC_TICK_MS_DEFAULT, APP_SYNC_TICK_MS_MIN, APP_SYNC_TICK_MS_MAX);
    Pace::steady(Duration::from_millis(ms), Wake::TickOnly)
}

/// Seconds between two rounds of the app's refund submitter.
pub const APP_REFUND_INTERVAL_S_DEFAULT: u64 = 30;
/// `VOUCHERDESK_REFUND_INTERVAL_S` may set it between these (the e2e uses a short one).
pub const APP_REFUND_INTERVAL_S_MIN: u64 = 1;
pub const APP_REFUND_INTERVAL_S_MAX: u64 = 3_600;
pub const REFUND_INTERVAL_ENV: &str = "VOUCHERDESK_REFUND_INTERVAL_S";

/// The refund submitter's pace: from the environment; a wake starts a round now.
pub fn refund_pace() -> Pace {
    let s = from_env(
        REFUND_INTERVAL_ENV,
        APP_REFUND_INTERVAL_S_DEFAULT,
        APP_REFUND_INTERVAL_S_MIN,
        APP_REFUND_INTERVAL_S_MAX,
    );
    Pace::steady(Duration::from_secs(s), Wake::OnSignal)
}

/// Pause between two rounds of the outbox when all is well.
pub const NOTIFY_TICK_MS_DEFAULT: u64 = 15_000;
/// `VOUCHERDESK_NOTIFY_TICK_MS` may set it between these (the e2e suite uses a short one).
pub const NOTIFY_TICK_MS_MIN: u64 = 200;
pub const NOTIFY_TICK_MS_MAX: u64 = 3_600_000;
pub const NOTIFY_TICK_ENV: &str = "VOUCHERDESK_NOTIFY_TICK_MS";
/// After a round that failed as a whole (database, keyring), the pause is
/// doubled each time, up to this many ticks.
pub const NOTIFY_ERROR_BACKOFF_TICKS_MAX: u32 = 16;

/// The outbox's pace: from the environment; a wake starts a round now, and
/// failed rounds back off.
pub fn notify_pace() -> Pace {
    let ms = from_env(NOTIFY_TICK_ENV, NOTIFY_TICK_MS_DEFAULT, NOTIFY_TICK_MS_MIN, NOTIFY_TICK_MS_MAX);
    Pace { every: Duration::from_millis(ms), wake: Wake::OnSignal, backoff_ticks_max: NOTIFY_ERROR_BACKOFF_TICKS_MAX }
}

/// Minutes between two checks whether a scheduled backup is due (the
/// schedule's own interval is hours; this only bounds how late one starts).
pub const BACKUP_CHECK_MINUTES: u64 = 10;

/// The scheduled backups' pace: a check every `BACKUP_CHECK_MINUTES`; a wake
/// (a new schedule, SIGUSR2) checks now.
pub fn backup_pace() -> Pace {
    Pace::steady(Duration::from_secs(BACKUP_CHECK_MINUTES * 60), Wake::OnSignal)
}

/// The team refresher's pace: no pause of its own, since each round waits
/// for the server's announcement (up to `TEAM_REFRESH_EVERY_MS`) before it pulls.
pub fn team_pace() -> Pace {
    Pace::steady(Duration::ZERO, Wake::TickOnly)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_rounds_back_off_doubling_up_to_the_cap() {
        let tick = Duration::from_secs(15);
        let pauses: Vec<u64> = (0..7).map(|n| pause_after(tick, n, NOTIFY_ERROR_BACKOFF_TICKS_MAX).as_secs()).collect();
        assert_eq!(pauses, vec![15, 30, 60, 120, 240, 240, 240]);
    }

    /// A job's state in the runner tests: how many rounds ran.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Seen {
        Starting,
        Rounds(u32),
        Stopped,
    }

    impl RoundState for Seen {
        fn stopped(self) -> Self {
            Seen::Stopped
        }
    }

    /// Waits up to ten seconds for `runner` to show a state `done` accepts.
    fn wait_for(runner: &Runner<Seen>, done: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = runner.state();
            if done(&seen) || std::time::Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_runner_rounds_at_start_and_at_a_wake_and_stops_for_good() {
        let rounds = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let runner = Runner::new(Seen::Starting);
        assert_eq!(runner.state(), Seen::Starting);
        let counted = Arc::clone(&rounds);
        runner.start(Pace::steady(Duration::from_secs(3_600), Wake::OnSignal), move || {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            async move { Seen::Rounds(n) }
        });
        // Other tests wake the rounds too: count from what this runner has done so far.
        let first = wait_for(&runner, |s| *s != Seen::Starting);
        assert!(matches!(first, Seen::Rounds(n) if n >= 1), "the first round runs at start: {first:?}");
        let before_wake = rounds.load(std::sync::atomic::Ordering::SeqCst);
        crate::wake::wake_all();
        let woken = wait_for(&runner, |s| matches!(s, Seen::Rounds(n) if *n > before_wake));
        assert!(matches!(woken, Seen::Rounds(n) if n > before_wake), "a wake ends an hour's pause: {woken:?}");
        runner.stop();
        assert_eq!(runner.state(), Seen::Stopped);
        let after_stop = rounds.load(std::sync::atomic::Ordering::SeqCst);
        crate::wake::wake_all();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(rounds.load(std::sync::atomic::Ordering::SeqCst), after_stop, "no round after the stop");
        assert_eq!(runner.state(), Seen::Stopped);
    }

    #[test]
    fn a_steady_pace_never_backs_off() {
        let tick = Duration::from_secs(30);
        let pauses: Vec<u64> = (0..3).map(|n| pause_after(tick, n, 1).as_secs()).collect();
        assert_eq!(pauses, vec![30, 30, 30]);
    }
}
