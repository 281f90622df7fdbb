//! PSP payments; the types live in the model (`crate::model::payment`).

pub use crate::model::payment::{PaymentObservation, PaymentStatus, VoucherNetwork};
