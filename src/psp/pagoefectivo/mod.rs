//! PagoEfectivo (CIP API and its reports).

pub mod callback;
pub mod signature;
pub mod transformers;
pub mod wire;

pub const PSP_NAME: &str = "pagoefectivo";
