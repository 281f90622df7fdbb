//! PagoEfectivo (CIP API and its reports).

pub mod api;
pub mod webhook;
/// The former name of [`webhook`], for the CLI's tests.
pub use webhook as callback;
pub mod client;
pub mod signature;
pub mod transformers;
pub mod wire;

pub const PSP_NAME: &str = "pagoefectivo";
