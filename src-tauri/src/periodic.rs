//! A background task owned by the app state: one round every interval until
//! stopped, keeping the state its last round reported. The PSP sync
//! (`sync_runner`) and the refund submitter (`refund_runner`) run on it; what
//! a round does is theirs. A task started with [`Wake::OnSignal`] also ends
//! its pause at a wake (`wake`).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a wake (SIGUSR2, see `wake`) ends the task's pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    OnSignal,
    TickOnly,
}

pub struct PeriodicTask<S> {
    stop: watch::Sender<bool>,
    state: Arc<Mutex<S>>,
}

impl<S: Clone + Send + 'static> PeriodicTask<S> {
    pub fn new(initial: S) -> Self {
        let (stop, _) = watch::channel(false);
        PeriodicTask { stop, state: Arc::new(Mutex::new(initial)) }
    }

    pub fn state(&self) -> S {
        lock(&self.state).clone()
    }

    /// Starts the task on Tauri's runtime: `round()` every `interval` until
    /// [`PeriodicTask::stop`]; the state becomes `stopped` when it ends.
    pub fn start<F, Fut>(&self, interval: Duration, wake: Wake, stopped: S, mut round: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = S> + Send,
    {
        let mut stop = self.stop.subscribe();
        let mut woken = crate::wake::subscribe();
        let state = Arc::clone(&self.state);
        tauri::async_runtime::spawn(async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                let now_state = round().await;
                *lock(&state) = now_state;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = woken.changed(), if wake == Wake::OnSignal => {}
                    changed = stop.changed() => if changed.is_err() { break },
                }
            }
            *lock(&state) = stopped;
        });
    }

    /// Asks the task to stop; the round in flight finishes.
    pub fn stop(&self, stopped: S) {
        let _ = self.stop.send(true);
        *lock(&self.state) = stopped;
    }
}
