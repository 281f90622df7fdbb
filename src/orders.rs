//! Shop orders; the types live in the model (`crate::model::order`).

pub use crate::model::order::{Order, ShopStatus};
