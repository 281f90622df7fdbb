//! The types and pure rules every face shares: money, markets and their
//! calendars, orders, payments, settlements, exceptions, observations,
//! refunds' life cycle, operators' roles and permissions. No SQL,
//! no I/O beyond the compiled-in holiday files, and no import of the rest of
//! the crate: the store and every use case import the model, never the reverse
//! (`tests/layering.rs` checks it).

pub mod calendar;
pub mod contact;
pub mod exception;
pub mod market;
pub mod money;
pub mod observation;
pub mod operator;
pub mod order;
pub mod payment;
pub mod refund;
pub mod settlement;
pub mod sync;
