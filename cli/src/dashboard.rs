//! `voucherdesk dashboard`: match rate, open exceptions, paid vs settled.

use crate::failure::Failure;
use crate::output::{amount_text, print_json};
use crate::workspace::open;
use std::path::PathBuf;

pub(crate) fn run(db: &Option<PathBuf>, market: Option<String>, json: bool) -> Result<(), Failure> {
    let market = market.map(|m| voucherdesk::market::Country::parse(&m).map_err(Failure::refusal)).transpose()?;
    let store = open(db)?;
    let board = voucherdesk::dashboard::summary(&store, market, None).map_err(Failure::fault)?;
    if json {
        return print_json(&board);
    }
    let rate = board.match_rate_bp.map(|bp| format!("{}.{:02} %", bp / 100, bp % 100)).unwrap_or("—".into());
    out!(
        "as of {}: {} orders, {} paid, {} matched (match rate {rate}); {} open exceptions",
        board.as_of.as_deref().unwrap_or("(never reconciled)"),
        board.orders,
        board.paid_orders,
        board.matched,
        board.open_total
    );
    for (kind, n) in &board.open_by_kind {
        out!("  {kind:<20} {n}");
    }
    for t in &board.paid {
        let settled = board.settled.iter().find(|s| s.currency == t.currency).map(|s| s.amount_minor).unwrap_or(0);
        out!(
            "  paid {} / settled {}",
            amount_text(Some(t.amount_minor), &t.currency),
            amount_text(Some(settled), &t.currency)
        );
        // Why settled falls short of paid: what settlement reports took out again.
        let taken_out: Vec<String> = board
            .settled_out
            .iter()
            .filter(|o| o.currency == t.currency && o.count > 0)
            .map(|o| format!("{} {} ({})", o.row_type, amount_text(Some(o.amount_minor), &o.currency), o.count))
            .collect();
        if !taken_out.is_empty() {
            out!("    taken out again by settlement reports: {}", taken_out.join(", "));
        }
    }
    Ok(())
}
