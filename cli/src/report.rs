//! `voucherdesk report daily`: one market date's payments and settlement rows
//! per market (CSV or .xlsx) and a one-page PDF summary, into a folder. Flags
//! in, library call, output. No rules here.

use crate::failure::Failure;
use crate::flags::{date_flag, market_flag};
use crate::output::print_json;
use crate::workspace::{open, reading};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use voucherdesk::daily_report::{self, DataFormat};

#[derive(Subcommand)]
pub(crate) enum ReportCommand {
    /// One market date, per market: payments and settlement rows (CSV, or .xlsx with --xlsx) and a
    /// one-page PDF summary (the day's KPIs, paid and settled, open exceptions by age and kind).
    Daily(DailyArgs),
}

#[derive(Args)]
pub(crate) struct DailyArgs {
    /// The market date, YYYY-MM-DD (each market's own clock).
    #[arg(long)]
    date: String,
    /// The folder the files go into (created if missing); a run's files appear together or not at all.
    #[arg(long)]
    out: PathBuf,
    /// CO or PE (both when absent).
    #[arg(long)]
    market: Option<String>,
    /// The data files as Excel workbooks instead of CSV.
    #[arg(long)]
    xlsx: bool,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: ReportCommand) -> Result<(), Failure> {
    let ReportCommand::Daily(args) = cmd;
    let date = date_flag("date", &args.date)?;
    let market = market_flag(args.market.as_deref())?;
    let format = if args.xlsx { DataFormat::Xlsx } else { DataFormat::Csv };
    let store = open(db)?;
    let op = reading(&store, operator)?;
    let report = daily_report::daily(&store, &op, date, market, &args.out, format, chrono::Utc::now())?;
    if args.json {
        return print_json(&report);
    }
    for m in &report.markets {
        out!(
            "{} {}: {} payment(s), {} settlement row(s), {} open exception(s)",
            date,
            m.market.code(),
            m.totals.payments,
            m.totals.settlement_rows,
            m.open_by_kind.values().sum::<i64>()
        );
        for file in &m.files {
            out!("  {}", file.display());
        }
    }
    Ok(())
}
