//! The refunds list as CSV, through the formula-safe export writer.

use super::{RefundError, RefundQuery, page};
use crate::export_csv::{Cell, ExportWriter};
use crate::store::Store;
use std::path::Path;

/// Rows one export writes at most (the list pages through them).
pub const REFUND_EXPORT_ROWS_MAX: u64 = 100_000;
const EXPORT_PAGE_ROWS: u32 = super::REFUND_PAGE_ROWS_MAX;

const HEADER: [&str; 20] = [
    "id",
    "status",
    "tier",
    "psp",
    "payment_id",
    "order_id",
    "amount",
    "currency",
    "method",
    "reason",
    "note",
    "requested_by",
    "requested_at_utc",
    "approvals",
    "psp_reference",
    "withdrawal_code",
    "submitted_at_utc",
    "finished_at_utc",
    "fx_rate",
    "last_error",
];

fn utc(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// Writes every refund matching `query` to `path`; returns the rows written.
pub fn export_csv(store: &Store, query: &RefundQuery, path: &Path) -> Result<u64, RefundError> {
    let io = |e: crate::export_csv::ExportCsvError| RefundError::Export(e.to_string());
    let mut writer = ExportWriter::create(path, &HEADER).map_err(io)?;
    let mut written = 0_u64;
    let mut after = 0_i64;
    'pages: loop {
        let rows = page(store, query, after, EXPORT_PAGE_ROWS)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for r in &rows {
            if written >= REFUND_EXPORT_ROWS_MAX {
                break 'pages;
            }
            let approvals = r
                .approvals
                .iter()
                .map(|a| format!("{} {} ({}) {}", a.decision, a.operator, a.role, a.at.format("%Y-%m-%dT%H:%M:%SZ")))
                .collect::<Vec<_>>()
                .join("; ");
            let (id, tier) = (r.id.to_string(), r.tier.to_string());
            let (requested_at, submitted_at, finished_at) =
                (utc(Some(r.requested_at)), utc(r.submitted_at), utc(r.finished_at));
            let cells = [
                Cell::Number(&id),
                Cell::Text(r.status.as_str()),
                Cell::Number(&tier),
                Cell::Text(&r.psp),
                Cell::Text(&r.payment_id),
                Cell::Text(&r.order_id),
                Cell::Number(&r.amount),
                Cell::Text(r.currency.code()),
                Cell::Text(r.method.as_str()),
                Cell::Text(r.reason.as_str()),
                Cell::Text(&r.note),
                Cell::Text(&r.requested_by),
                Cell::Text(&requested_at),
                Cell::Text(&approvals),
                Cell::Text(r.psp_refund_id.as_deref().unwrap_or_default()),
                Cell::Text(r.withdrawal_code.as_deref().unwrap_or_default()),
                Cell::Text(&submitted_at),
                Cell::Text(&finished_at),
                Cell::Number(r.fx.as_ref().map(|f| f.rate.as_str()).unwrap_or_default()),
                Cell::Text(r.last_error.as_deref().unwrap_or_default()),
            ];
            writer.row(&cells).map_err(io)?;
            written += 1;
        }
        if rows.len() < EXPORT_PAGE_ROWS as usize {
            break;
        }
    }
    writer.finish().map_err(io)?;
    Ok(written)
}
