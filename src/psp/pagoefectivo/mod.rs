//! PagoEfectivo (CIP API and its reports).

pub mod api;
pub mod callback;
pub mod client;
pub mod signature;
pub mod transformers;
pub mod wire;

pub const PSP_NAME: &str = "pagoefectivo";
