//! `voucherdesk fx …`: dated exchange rates. Flags in, library call, output. No rules here.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Subcommand;
use std::path::PathBuf;
use voucherdesk::fx::{self, FxRate};

/// `fx list` without --limit.
pub(crate) const FX_LIST_ROWS_DEFAULT: u32 = 50;

#[derive(Subcommand)]
pub(crate) enum FxCommand {
    /// Record one day's rate by hand (admins): 1 BASE = RATE QUOTE on the market date.
    Add {
        /// BASE/QUOTE with the market's currency as QUOTE: USD/COP, USD/PEN.
        #[arg(long)]
        pair: String,
        /// The market date the rate applies to, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// Decimal with `.` as the decimal point, e.g. 4125.50.
        #[arg(long)]
        rate: String,
        /// Where the rate comes from (default: "manual entry").
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Import a bank's daily rates (CSV with columns date, pair, rate[, source]): all or nothing.
    Import {
        file: PathBuf,
        /// The source of rows without a `source` column (default: the file's name).
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recorded rates, newest date first.
    List {
        #[arg(long)]
        pair: Option<String>,
        #[arg(long, default_value_t = FX_LIST_ROWS_DEFAULT)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

fn print_rate(r: &FxRate) {
    out!("{} {} {} ({}) — {}, entered by {}", r.market_date, r.pair, r.rate, r.market, r.source, r.entered_by);
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: FxCommand) -> Result<(), Failure> {
    match cmd {
        FxCommand::Add { pair, date, rate, source, json } => {
            let mut store = open(db)?;
            let op = acting(&store, operator)?;
            let now = chrono::Utc::now();
            let added = change(&mut store, |s| fx::add(s, &op, &pair, &date, &rate, source.as_deref(), now))??;
            if json {
                return print_json(&added);
            }
            print_rate(&added);
            Ok(())
        }
        FxCommand::Import { file, source, json } => {
            let mut store = open(db)?;
            let op = acting(&store, operator)?;
            let now = chrono::Utc::now();
            let report = change(&mut store, |s| fx::import(s, &op, &file, source.as_deref(), now))??;
            if json {
                return print_json(&report);
            }
            out!(
                "{}: {} rate(s), {} new, {} already recorded",
                file.display(),
                report.rows,
                report.added,
                report.unchanged
            );
            Ok(())
        }
        FxCommand::List { pair, limit, json } => {
            let store = open(db)?;
            let rates = fx::list(&store, pair.as_deref(), limit)?;
            if json {
                return print_json(&rates);
            }
            if rates.is_empty() {
                out!("no exchange rates recorded");
            }
            for r in &rates {
                print_rate(r);
            }
            Ok(())
        }
    }
}
