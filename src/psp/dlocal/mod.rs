//! dLocal (Payins API v2.1 and its reports).

pub mod api;
pub mod client;
pub mod webhook;
/// The former name of [`webhook`], for the CLI's tests.
pub use webhook as notification;
// Cash-pickup payouts for refunds.
pub mod payouts;
// Its refund rail: refunds and payouts in our life cycle.
pub mod refunds;
pub mod signature;
pub mod transformers;
pub mod wire;

pub const PSP_NAME: &str = "dlocal";
