//! Money values and parsing; they live in the model (`crate::model::money`).

pub use crate::model::money::*;
