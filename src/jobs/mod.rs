//! The background rounds every face runs: the PSP status sync, refund
//! submission, buyer-message outbox delivery and the team copy's refresh.
//! One round is one function: it opens what it needs, decides whom it acts
//! as and which team lease it takes (`round`), does the work through the use
//! cases, and returns what it saw for the face's indicator. Pacing the rounds
//! (interval, wake-up, stop) is the face's.
//!
//! Nothing else in the library imports this module: jobs sit above the use
//! cases and below the faces (cli/, src-tauri/).

pub mod outbox_delivery;
pub mod psp_sync;
pub mod refund_submission;
pub mod round;
pub mod team_refresh;

pub use round::{DesktopNames, LEASE_HELD, SessionProbe, held_message, lease_for_round};
