//! Background rounds (refund submitter, outbox delivery) pause between
//! rounds; a wake ends their pauses at once. The PSP sync keeps its own pace. SIGUSR2 wakes them, so a
//! test (or an operator with `kill -USR2 PID`) gets a round now instead of
//! waiting for the next tick: waiting on background work follows a trigger,
//! not a wall clock. Not SIGUSR1: WebKit's JavaScriptCore takes that one for
//! its garbage collector, and the process would crash on it.

use std::sync::OnceLock;
use tokio::sync::watch;

fn sender() -> &'static watch::Sender<u64> {
    static WAKE: OnceLock<watch::Sender<u64>> = OnceLock::new();
    WAKE.get_or_init(|| watch::channel(0).0)
}

/// A receiver whose `changed()` resolves at the next wake.
pub fn subscribe() -> watch::Receiver<u64> {
    sender().subscribe()
}

/// Ends the pause of every background round.
pub fn wake_all() {
    sender().send_modify(|n| *n = n.wrapping_add(1));
}

/// Wakes the rounds on each SIGUSR2 (Unix; elsewhere the ticks alone pace them).
/// The handler is installed before this returns, so a signal that arrives
/// afterwards never takes SIGUSR2's default action (ending the process).
pub fn wake_on_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = tauri::async_runtime::block_on(async { signal(SignalKind::user_defined2()) });
        match installed {
            Ok(mut usr2) => {
                tauri::async_runtime::spawn(async move {
                    while usr2.recv().await.is_some() {
                        wake_all();
                    }
                });
            }
            Err(e) => eprintln!("voucherdesk-desktop: SIGUSR2 will not wake the background rounds: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_ends_a_pause_that_would_last_an_hour() {
        let mut woken = subscribe();
        let pause = tokio::time::sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(pause);
        wake_all();
        let ended_by_wake = tokio::select! {
            _ = &mut pause => false,
            changed = woken.changed() => changed.is_ok(),
        };
        assert!(ended_by_wake);
    }
}
