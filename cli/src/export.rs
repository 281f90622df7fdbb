//! `voucherdesk export …`: the ledger's records as CSV for finance, through
//! the core's formula-safe writer. Flags in, library call, output.

use crate::failure::Failure;
use crate::flags::{date_flag, market_flag};
use crate::output::print_json;
use crate::workspace::{open, reading};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use voucherdesk::exceptions::{self, ExceptionQuery, ExceptionStatus};
use voucherdesk::exports::{self, ExportQuery};
use voucherdesk::refunds::{self, RefundQuery};

#[derive(Args)]
pub(crate) struct LedgerRange {
    /// First market date, YYYY-MM-DD (each market's own clock).
    #[arg(long)]
    from: String,
    /// Last market date, YYYY-MM-DD (inclusive).
    #[arg(long)]
    to: String,
    #[arg(long)]
    psp: Option<String>,
    /// CO or PE (both when absent).
    #[arg(long)]
    market: Option<String>,
    #[arg(long)]
    store: Option<String>,
    /// The file to write (replaced if it exists): CSV, or an Excel workbook when it ends in .xlsx.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(crate) enum ExportCommand {
    /// Payments by market date (paid, else created), PSP, market and store.
    Payments(LedgerRange),
    /// Settlement rows of every type by market date (their settlement date, else creation).
    Settlements(LedgerRange),
    /// The exception queue (all statuses unless --status).
    Exceptions {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        psp: Option<String>,
        #[arg(long)]
        market: Option<String>,
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Refunds (every status), optionally of one PSP.
    Refunds {
        #[arg(long)]
        psp: Option<String>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn written(rows: u64, out: &std::path::Path, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&serde_json::json!({ "rows": rows, "file": out }));
    }
    out!("{}: {rows} row(s)", out.display());
    Ok(())
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: ExportCommand) -> Result<(), Failure> {
    let store = open(db)?;
    let op = reading(&store, operator)?;
    match cmd {
        ExportCommand::Payments(r) => {
            let query = ledger_query(&r)?;
            let rows = exports::export_payments(&store, &op, &query, &r.out)?;
            written(rows, &r.out, r.json)
        }
        ExportCommand::Settlements(r) => {
            let query = ledger_query(&r)?;
            let rows = exports::export_settlements(&store, &op, &query, &r.out)?;
            written(rows, &r.out, r.json)
        }
        ExportCommand::Exceptions { status, kind, psp, market: m, store: shop, out, json } => {
            let status = status
                .map(|s| {
                    ExceptionStatus::parse(&s)
                        .ok_or_else(|| Failure::refusal(format!("--status {s:?}: expected open, resolved or cleared")))
                })
                .transpose()?;
            let query = ExceptionQuery {
                kind,
                status,
                psp,
                country: market_flag(m.as_deref())?.map(|c| c.code().to_string()),
                store: shop,
                ..ExceptionQuery::default()
            };
            let rows = exceptions::export_csv(&store, &query, &out)
                .map_err(|e| Failure::fault(format!("{e} [{}]", e.code())))?;
            written(rows, &out, json)
        }
        ExportCommand::Refunds { psp, out, json } => {
            let query = RefundQuery { psp, ..RefundQuery::default() };
            let rows = refunds::export::export_csv(&store, &query, &out)
                .map_err(|e| Failure::fault(format!("{e} [{}]", e.code())))?;
            written(rows, &out, json)
        }
    }
}

fn ledger_query(r: &LedgerRange) -> Result<ExportQuery, Failure> {
    Ok(ExportQuery {
        from: date_flag("from", &r.from)?,
        to: date_flag("to", &r.to)?,
        psp: r.psp.clone(),
        market: market_flag(r.market.as_deref())?,
        store: r.store.clone(),
    })
}
