//! `voucherdesk lookup`: case files by order, payment, voucher or buyer.

use crate::failure::Failure;
use crate::output::{amount_text, print_json};
use crate::workspace::open;
use std::path::PathBuf;
use voucherdesk::store::{RawSpan, Store};
use voucherdesk::{lookup, operators};

pub(crate) fn run(
    db: &Option<PathBuf>,
    operator: &Option<String>,
    query: String,
    raw: bool,
    json: bool,
) -> Result<(), Failure> {
    let mut store = open(db)?;
    // Looking up changes nothing: without --operator the case files carry no step action.
    let reader = match operator.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Some(operators::act_as(&store, name)?),
        None => None,
    };
    let cases = lookup::lookup(&mut store, &query, reader.as_ref())?;
    if json {
        return print_json(&cases);
    }
    if cases.is_empty() {
        out!("nothing found for {query:?}");
    }
    for case in &cases {
        print_case(case, raw.then_some(&store))?;
    }
    Ok(())
}

/// The case file as text; with `archive`, each row from a file is followed by
/// its text as the file has it.
pub(crate) fn print_case(case: &lookup::CaseFile, archive: Option<&Store>) -> Result<(), Failure> {
    let raw = |span: Option<RawSpan>| -> Result<(), Failure> {
        if let (Some(store), Some(span)) = (archive, span) {
            match store.raw_row(span.batch_id, span.offset, span.len).map_err(Failure::fault)? {
                Some(text) => out!("      raw: {}", text.trim_end_matches(['\r', '\n'])),
                None => out!("      raw: (not in the archive)"),
            }
        }
        Ok(())
    };
    out!(
        "── order {} ─ {}",
        case.order_id,
        if case.buyer_name.is_empty() { "(not in the shop's files)" } else { &case.buyer_name }
    );
    out!("   verdict: {}", case.verdict.text);
    let step = case.verdict.next_step;
    if step != lookup::NextStep::NothingToDo {
        match &case.step_action {
            Some(a) => out!(
                "   next step: {} — resolve exception {} ({}): {}",
                step.as_str(),
                a.exception_id,
                a.kind.as_str(),
                a.action.as_str()
            ),
            None => out!("   next step: {}", step.as_str()),
        }
    }
    if let Some(o) = &case.order {
        out!(
            "   shop: {} {} | {} | {} {} {} | created {} | from {}",
            o.status,
            amount_text(Some(o.amount_minor), &o.currency),
            o.store,
            o.buyer_email,
            o.buyer_phone,
            o.buyer_document,
            o.created_at.format("%Y-%m-%d %H:%M UTC"),
            o.source
        );
        raw(o.raw_span)?;
    }
    for p in &case.payments {
        out!(
            "   payment {} {} ({}) {} {} voucher {}",
            p.psp,
            p.payment_id,
            p.network,
            p.status,
            amount_text(Some(p.amount_minor), &p.currency),
            p.voucher_code
        );
        for h in &p.history {
            out!(
                "      {:<9} ({}) at {} — {} {}:{}",
                h.status,
                h.psp_status,
                h.status_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "?".into()),
                h.source,
                h.file.clone().unwrap_or_default(),
                h.line.unwrap_or_default()
            );
            raw(h.raw_span)?;
        }
    }
    for s in &case.settlements {
        out!(
            "   settlement {} {} on {} ({})",
            s.row_type,
            amount_text(Some(s.local_amount_minor), &s.local_currency),
            s.settled_on.clone().unwrap_or_default(),
            s.source
        );
        raw(s.raw_span)?;
    }
    for e in &case.exceptions {
        out!("   exception {} {} [{}]: {}", e.id, e.kind, e.status.as_str(), e.detail);
    }
    Ok(())
}
