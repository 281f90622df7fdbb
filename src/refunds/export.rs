//! The refunds list as CSV (UTF-8 with a BOM, so spreadsheets read accents).

use super::{RefundError, RefundQuery, page};
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
    let io = |e: &dyn std::fmt::Display| RefundError::Export(format!("{}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| io(&e))?;
    let mut out = std::io::BufWriter::new(file);
    std::io::Write::write_all(&mut out, b"\xEF\xBB\xBF").map_err(|e| io(&e))?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER).map_err(|e| io(&e))?;
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
            let cells = [
                r.id.to_string(),
                r.status.as_str().to_string(),
                r.tier.to_string(),
                r.psp.clone(),
                r.payment_id.clone(),
                r.order_id.clone(),
                r.amount.clone(),
                r.currency.code().to_string(),
                r.method.as_str().to_string(),
                r.reason.as_str().to_string(),
                r.note.clone(),
                r.requested_by.clone(),
                utc(Some(r.requested_at)),
                approvals,
                r.psp_refund_id.clone().unwrap_or_default(),
                r.withdrawal_code.clone().unwrap_or_default(),
                utc(r.submitted_at),
                utc(r.finished_at),
                r.fx.as_ref().map(|f| f.rate.clone()).unwrap_or_default(),
                r.last_error.clone().unwrap_or_default(),
            ];
            writer.write_record(&cells).map_err(|e| io(&e))?;
            written += 1;
        }
        if rows.len() < EXPORT_PAGE_ROWS as usize {
            break;
        }
    }
    writer.flush().map_err(|e| io(&e))?;
    Ok(written)
}
