//! Payment service providers. One folder per PSP: its wire types and the one
//! exhaustive mapping of its statuses into ours (`transformers`).

pub mod dlocal;
pub mod http;
pub mod pagoefectivo;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PspError {
    #[error("unknown {psp} status {status:?} (expected one of {expected})")]
    UnknownStatus { psp: &'static str, status: String, expected: &'static str },
    #[error("unknown {psp} payment method {method:?} (expected one of {expected})")]
    UnknownMethod { psp: &'static str, method: String, expected: &'static str },
}

/// Why a signed message (request or notification) was refused. Never carries
/// the secret or the expected signature: errors end up in logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    Mismatch,
}
