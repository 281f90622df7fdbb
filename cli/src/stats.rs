//! `voucherdesk stats`: row counts of the ledger.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::open;
use std::path::PathBuf;

pub(crate) fn run(db: &Option<PathBuf>, json: bool) -> Result<(), Failure> {
    let counts = open(db)?.counts().map_err(Failure::fault)?;
    if json {
        return print_json(&counts);
    }
    out!(
        "orders {}  payments {}  settlements {}  open exceptions {}",
        counts.orders,
        counts.payments,
        counts.settlements,
        counts.open_exceptions
    );
    Ok(())
}
