//! The payloads of the notifications screen and Settings → Notifications
//! (docs/IPC.md "Buyer notifications"). Same conventions as `dto`: the core's
//! own types, and here only the deliverer's state, which lives in the shell.
//! No secret ever crosses back: the settings say only whether the keyring
//! holds one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;
use voucherdesk::jobs::outbox_delivery::DelivererState;
use voucherdesk::notifications::delivery;

type Instant = DateTime<Utc>;

/// What the app's background deliverer is doing (the notifications screen's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DelivererPhase {
    Starting,
    Running,
    NotConfigured,
    Problem,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DelivererStatus {
    pub state: DelivererPhase,
    pub last_round_at: Option<Instant>,
    /// The last round's counts (running only).
    pub last_sent: u32,
    pub last_retrying: u32,
    pub last_failed: u32,
    /// Why the last round could not run (problem only).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl From<DelivererState> for DelivererStatus {
    fn from(s: DelivererState) -> DelivererStatus {
        let base = |state, last_round_at| DelivererStatus {
            state,
            last_round_at,
            last_sent: 0,
            last_retrying: 0,
            last_failed: 0,
            error_code: None,
            error_message: None,
        };
        match s {
            DelivererState::Starting => base(DelivererPhase::Starting, None),
            DelivererState::Stopped => base(DelivererPhase::Stopped, None),
            DelivererState::NotConfigured { last_round_at } => base(DelivererPhase::NotConfigured, Some(last_round_at)),
            DelivererState::Running { last_round_at, last } => {
                let delivery::DeliveryReport { attempted: _, sent, retrying, failed } = last;
                DelivererStatus {
                    last_sent: sent,
                    last_retrying: retrying,
                    last_failed: failed,
                    ..base(DelivererPhase::Running, Some(last_round_at))
                }
            }
            DelivererState::Problem { last_round_at, code, message } => DelivererStatus {
                error_code: Some(code),
                error_message: Some(message),
                ..base(DelivererPhase::Problem, Some(last_round_at))
            },
        }
    }
}

/// The server's answer to a test message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TestMessageSent {
    pub answer: String,
}
