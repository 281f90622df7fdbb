//! Markets, their time zones and timestamp parsing; they live in the model (`crate::model::market`).

pub use crate::model::market::*;
