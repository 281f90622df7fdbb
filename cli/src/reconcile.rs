//! `voucherdesk reconcile`: match orders, payments and settlements.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use chrono::NaiveDate;
use clap::Args;
use std::path::PathBuf;
use voucherdesk::reconcile::{ReconcileOptions, ReconcileSummary, RunMode, reconcile_with};

#[derive(Args)]
pub(crate) struct ReconcileArgs {
    /// Business date to reconcile as of (market calendar); default today in Bogotá/Lima.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Business days of grace after a payment's settlement is due under its PSP's T+N terms
    /// (default: the setting, 1; terms: `voucherdesk settings`).
    #[arg(long)]
    settlement_lag_days: Option<i64>,
    /// Largest amount difference, in minor units (cents), still counted as equal (default: the setting, 0).
    #[arg(long)]
    amount_tolerance_minor: Option<i64>,
    /// Read the whole ledger, even where the last run allows re-examining only what changed since.
    #[arg(long)]
    full: bool,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: ReconcileArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let operator = acting(&store, operator)?;
    let settings = voucherdesk::settings::get(&store).map_err(Failure::fault)?;
    let mut options = ReconcileOptions::load(&store, args.as_of).map_err(Failure::fault)?;
    options.settlement_lag_days = args.settlement_lag_days.unwrap_or(settings.settlement_lag_days);
    options.amount_tolerance_minor = args.amount_tolerance_minor.unwrap_or(settings.amount_tolerance_minor);
    let mode = if args.full { RunMode::Full } else { RunMode::Changes };
    let summary = change(&mut store, |s| reconcile_with(s, &options, &operator, mode))??;
    say_how(&summary);
    if args.json {
        return print_json(&summary);
    }
    print_summary(&summary);
    Ok(())
}

/// The run's one line on stderr: how long, how much it read, what it opened and cleared.
pub(crate) fn say_how(summary: &ReconcileSummary) {
    let read = match summary.scope {
        Some(scope) => format!(
            "re-examined what changed since the last run ({} orders, {} payments; --full reads everything)",
            scope.orders, scope.payments
        ),
        None => "read the whole ledger".to_string(),
    };
    eprintln!(
        "reconciled in {} ms: {read}; {} new or reopened, {} cleared by data",
        summary.elapsed_ms, summary.newly_opened, summary.cleared
    );
}

/// The counts on stdout, one kind a line.
pub(crate) fn print_summary(summary: &ReconcileSummary) {
    out!(
        "as of {}: {} orders, {} payments, {} settlement rows; {} matched",
        summary.as_of,
        summary.orders,
        summary.payments,
        summary.settlements,
        summary.matched
    );
    for (kind, count) in &summary.exceptions {
        out!("  {kind:<20} {count}");
    }
    out!("open exceptions: {}", summary.open_exceptions);
}
