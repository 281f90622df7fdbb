//! `voucherdesk report daily`: one market date's payments and settlement rows
//! per market (CSV or .xlsx) and a one-page PDF summary, into a folder;
//! `voucherdesk report schedule`: when that report is emailed each market day,
//! and to whom. Flags in, library call, output. No rules here.

use crate::failure::Failure;
use crate::flags::{date_flag, market_flag};
use crate::output::print_json;
use crate::workspace::{acting, change, open, reading};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use voucherdesk::daily_report::schedule::{self, ReportSchedule};
use voucherdesk::daily_report::{self, DataFormat};

#[derive(Subcommand)]
pub(crate) enum ReportCommand {
    /// One market date, per market: payments and settlement rows (CSV, or .xlsx with --xlsx) and a
    /// one-page PDF summary (the day's KPIs, paid and settled, open exceptions by age and kind).
    Daily(DailyArgs),
    /// Show when the previous market day's report is emailed, or set it (managers): --at HH:MM on
    /// each market's clock, --market (repeat), --to (repeat or comma-separated); --off stops it.
    /// `notifications deliver` (and the app) queue it once that time has passed and send it.
    Schedule(ScheduleArgs),
}

#[derive(Args)]
pub(crate) struct ScheduleArgs {
    /// The time of day, HH:MM, on each market's own clock.
    #[arg(long, requires = "to", conflicts_with = "off")]
    at: Option<String>,
    /// CO or PE; repeat for both (both when absent).
    #[arg(long, requires = "at")]
    market: Vec<String>,
    /// A recipient's email address; repeat, or separate with commas.
    #[arg(long, requires = "at")]
    to: Vec<String>,
    /// The data files as Excel workbooks instead of CSV.
    #[arg(long, requires = "at")]
    xlsx: bool,
    /// Stop emailing the report.
    #[arg(long)]
    off: bool,
    #[arg(long)]
    json: bool,
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
    match cmd {
        ReportCommand::Daily(args) => run_daily(db, operator, args),
        ReportCommand::Schedule(args) => run_schedule(db, operator, args),
    }
}

fn run_schedule(db: &Option<PathBuf>, operator: &Option<String>, args: ScheduleArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let shown = if args.off {
        let op = acting(&store, operator)?;
        change(&mut store, |s| schedule::clear(s, &op))??;
        None
    } else if let Some(at) = &args.at {
        let op = acting(&store, operator)?;
        let mut markets = Vec::new();
        for m in &args.market {
            markets.extend(market_flag(Some(m))?);
        }
        if markets.is_empty() {
            markets = vec![voucherdesk::market::Country::Colombia, voucherdesk::market::Country::Peru];
        }
        let format = if args.xlsx { DataFormat::Xlsx } else { DataFormat::Csv };
        Some(change(&mut store, |s| schedule::set(s, &op, at, &markets, &args.to, format))??)
    } else {
        schedule::get(&store)?
    };
    if args.json {
        return print_json(&shown);
    }
    match shown {
        None => out!("the daily report is not emailed (set it with --at HH:MM --to ADDRESS)"),
        Some(ReportSchedule { at, markets, recipients, format, set_by }) => {
            let markets: Vec<&str> = markets.iter().map(|m| m.code()).collect();
            out!(
                "the daily report of the previous market day is emailed at {at} ({}) to {}, data as {}; made as {set_by}",
                markets.join(" and "),
                recipients.join(", "),
                if format == DataFormat::Xlsx { "xlsx" } else { "csv" }
            );
            if voucherdesk::notifications::config::get(&store)?.smtp.is_none() {
                out!("no SMTP server is set up yet: nothing is queued until `notifications configure --smtp-host …`");
            }
        }
    }
    Ok(())
}

fn run_daily(db: &Option<PathBuf>, operator: &Option<String>, args: DailyArgs) -> Result<(), Failure> {
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
