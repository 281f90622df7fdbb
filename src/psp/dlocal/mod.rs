//! dLocal (Payins API v2.1 and its reports).

pub mod api;
pub mod client;
pub mod notification;
pub mod signature;
pub mod transformers;
pub mod wire;

pub const PSP_NAME: &str = "dlocal";
