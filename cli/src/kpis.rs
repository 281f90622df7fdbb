//! `voucherdesk kpis`: operations KPIs over a range of market dates, per PSP
//! and market. Flags in, library call, output. No rules here.

use crate::failure::Failure;
use crate::flags::{date_flag, market_flag};
use crate::output::print_json;
use crate::workspace::{open, reading};
use clap::Args;
use std::path::PathBuf;
use voucherdesk::kpis::{self, KpiQuery, Kpis, Spread};

#[derive(Args)]
pub(crate) struct KpisArgs {
    /// First market date of voucher creation, YYYY-MM-DD (each market's own clock).
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
    /// The whole report as JSON.
    #[arg(long)]
    json: bool,
}

/// Basis points as a percentage with two decimals, `-` when undefined.
fn percent(bp: Option<u64>) -> String {
    bp.map(|b| format!("{}.{:02}%", b / 100, b % 100)).unwrap_or_else(|| "-".into())
}

fn spread(s: &Spread) -> String {
    match (s.median, s.p90) {
        (Some(m), Some(p)) => format!("{m}/{p}"),
        (None, _) | (_, None) => "-".into(),
    }
}

fn row(psp: &str, market: &str, term: &str, k: &Kpis) {
    let warn = if k.refund_failure.warning { "!" } else { "" };
    out!(
        "{:<14} {:<4} {:>4} {:>8} {:>6} {:>8} {:>8} {:>13} {:>13} {:>9} {:>13} {:>8}{:<1} {:>5} {:>5}",
        psp,
        market,
        term,
        k.vouchers,
        k.paid,
        percent(k.success_rate_bp),
        percent(k.expired_unpaid_bp),
        spread(&k.minutes_to_pay),
        spread(&k.sync_delay_minutes),
        format!("{}/{}", k.callbacks_missed, k.paid_observed),
        spread(&k.refund_response_minutes),
        percent(k.refund_failure.rate_bp.map(|b| b as u64)),
        warn,
        k.settlement.on_time,
        k.settlement.late,
    );
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: KpisArgs) -> Result<(), Failure> {
    let query = KpiQuery {
        from: date_flag("from", &args.from)?,
        to: date_flag("to", &args.to)?,
        psp: args.psp.clone(),
        market: market_flag(args.market.as_deref())?,
    };
    let store = open(db)?;
    let op = reading(&store, operator)?;
    let report = kpis::report(&store, &op, &query, chrono::Utc::now())?;
    if args.json {
        return print_json(&report);
    }
    out!("vouchers created {} … {} (market dates); minutes as median/p90", report.from, report.to);
    out!(
        "{:<14} {:<4} {:>4} {:>8} {:>6} {:>8} {:>8} {:>13} {:>13} {:>9} {:>13} {:>9} {:>5} {:>5}",
        "PSP",
        "MKT",
        "TERM",
        "VOUCHERS",
        "PAID",
        "SUCCESS",
        "EXPIRED",
        "MIN TO PAY",
        "SYNC MIN",
        "NO CB",
        "REFUND MIN",
        "REF FAIL",
        "ONTIME",
        "LATE"
    );
    for c in &report.channels {
        row(&c.psp, c.market.code(), &format!("T+{}", c.settle_business_days), &c.kpis);
    }
    row("all", "", "", &report.overall);
    if report.overall.refund_failure.warning {
        out!("warning: refund failure rate at 3 % or more (!)");
    }
    Ok(())
}
