//! Business days per market; they live in the model (`crate::model::calendar`).

pub use crate::model::calendar::*;
