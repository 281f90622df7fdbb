//! Settlement rows; the types live in the model (`crate::model::settlement`).

pub use crate::model::settlement::{RowType, SettlementRow};
