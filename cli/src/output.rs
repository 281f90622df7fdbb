//! What several commands print the same way.

use crate::failure::Failure;
use voucherdesk::money::{Currency, format_minor};

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    out!("{}", serde_json::to_string(value).map_err(Failure::fault)?);
    Ok(())
}

pub(crate) fn amount_text(minor: Option<i64>, currency: &str) -> String {
    match (minor, Currency::parse(currency)) {
        (Some(m), Ok(c)) => format!("{} {}", format_minor(m, c), c),
        _ => String::new(),
    }
}
