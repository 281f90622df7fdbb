//! PDF receipts of succeeded refunds, archived in `receipts/` next to the
//! database: written once (the same refund's receipt is re-read afterwards),
//! kept at least the retention setting (never less than 6 months).
//!
//! One page of text (`crate::pdf_page`).

use super::{Refund, RefundDetails, RefundError, RefundStatus, show, tiers};
use crate::market::{Country, format_market};
use crate::store::Store;
use chrono::{DateTime, TimeDelta, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder, next to the database file, that holds the receipts.
pub const RECEIPTS_DIR: &str = "receipts";
const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("refund {id} is {status}: a receipt exists only for a succeeded refund")]
    NotSucceeded { id: i64, status: &'static str },
    #[error("an in-memory database has no data directory for receipts")]
    NoDataDir,
    #[error("receipt {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("rendering the PDF: {0}")]
    Render(String),
    #[error(transparent)]
    Refund(#[from] RefundError),
}

impl ReceiptError {
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::NotSucceeded { .. } => "refunds.receipt_not_available",
            ReceiptError::NoDataDir => "refunds.receipt_no_data_dir",
            ReceiptError::Io { .. } => "refunds.receipt_io",
            ReceiptError::Render(_) => "refunds.receipt_render",
            ReceiptError::Refund(e) => e.code(),
        }
    }

    /// The request was refused as asked (nothing written); otherwise a fault.
    pub fn is_refusal(&self) -> bool {
        match self {
            ReceiptError::NotSucceeded { .. } => true,
            ReceiptError::NoDataDir | ReceiptError::Io { .. } | ReceiptError::Render(_) => false,
            ReceiptError::Refund(e) => e.is_refusal(),
        }
    }
}

/// `<data dir>/receipts`, where the data dir is the database's folder.
pub fn receipts_dir(store: &Store) -> Result<PathBuf, ReceiptError> {
    let db = store.path();
    if db == Path::new(":memory:") {
        return Err(ReceiptError::NoDataDir);
    }
    let parent = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(parent.join(RECEIPTS_DIR))
}

fn file_name(id: i64) -> String {
    format!("refund-{id}.pdf")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReceiptError + '_ {
    move |source| ReceiptError::Io { path: path.to_path_buf(), source }
}

/// The archived receipt of a succeeded refund: written the first time it is
/// asked for (atomically: a temp file renamed into place), re-read afterwards.
pub fn receipt(store: &Store, id: i64) -> Result<PathBuf, ReceiptError> {
    let refund = show(store, id)?;
    match refund.status {
        RefundStatus::Succeeded => {}
        RefundStatus::Requested
        | RefundStatus::PendingApproval
        | RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => {
            return Err(ReceiptError::NotSucceeded { id, status: refund.status.as_str() });
        }
    }
    let dir = receipts_dir(store)?;
    let path = dir.join(file_name(id));
    if path.is_file() {
        return Ok(path);
    }
    let (buyer, country) = match store.order(&refund.order_id).map_err(RefundError::from)? {
        Some(order) => (order.buyer_name, Country::parse(&order.country).ok()),
        None => (String::new(), None),
    };
    let bytes = render(&refund, &buyer, country)?;
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let tmp = dir.join(format!(".{}.tmp", file_name(id)));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

/// Archives a refund's receipt as it succeeds (submission follow-up, PSP
/// callbacks). The status is already recorded: a failure here is reported,
/// not fatal, and the receipt is written the next time it is asked for. An
/// in-memory database has no archive: nothing to do.
pub fn archive_succeeded(store: &Store, id: i64) -> Result<(), ReceiptError> {
    match receipt(store, id) {
        Ok(_) | Err(ReceiptError::NoDataDir) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The receipt's bytes (writing it first if it was never written).
pub fn receipt_bytes(store: &Store, id: i64) -> Result<Vec<u8>, ReceiptError> {
    let path = receipt(store, id)?;
    std::fs::read(&path).map_err(io(&path))
}

/// Writes a copy of the receipt where the operator chose (a save dialog): the
/// archive keeps its own. Written to a temporary file beside the target and
/// renamed, so a failed copy never leaves half a PDF under the chosen name.
pub fn save_copy(store: &Store, id: i64, target: &Path) -> Result<PathBuf, ReceiptError> {
    let bytes = receipt_bytes(store, id)?;
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| file_name(id));
    let tmp = dir.join(format!(".{name}.partial"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, target).map_err(io(target))?;
    Ok(target.to_path_buf())
}

/// Deletes archived receipts of refunds that finished more than the retention
/// setting ago (never less than `RECEIPT_RETENTION_DAYS_MIN`). Files that are
/// not a known refund's receipt are left alone. Returns the deleted paths.
pub fn cleanup(store: &Store, now: DateTime<Utc>) -> Result<Vec<PathBuf>, ReceiptError> {
    let settings = tiers::get(store)?;
    let days = settings.receipt_retention_days.max(tiers::RECEIPT_RETENTION_DAYS_MIN);
    let cutoff = now - TimeDelta::seconds(days * SECONDS_PER_DAY);
    let dir = receipts_dir(store)?;
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ReceiptError::Io { path: dir, source }),
    };
    let mut deleted = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_prefix("refund-")?.strip_suffix(".pdf")?.parse::<i64>().ok())
        else {
            continue;
        };
        let finished = match show(store, id) {
            Ok(refund) => refund.finished_at,
            Err(RefundError::UnknownRefund(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        // Only a finish strictly before the cutoff is old enough; no finish time: kept.
        if finished.is_some_and(|at| at < cutoff) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io(&path))?;
            deleted.push(path);
        }
    }
    deleted.sort();
    Ok(deleted)
}

fn utc_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn when(at: DateTime<Utc>, country: Option<Country>) -> String {
    match country {
        Some(c) => format!("{} ({} {})", utc_text(at), format_market(at, c), c.city()),
        None => utc_text(at),
    }
}

/// The receipt's lines, in order (also what a test reads back from the PDF).
pub fn lines(refund: &Refund, buyer: &str, country: Option<Country>) -> Vec<String> {
    let mut out = vec![
        "VoucherDesk - Refund receipt / Comprobante de reembolso".to_string(),
        String::new(),
        format!("Refund:         #{}", refund.id),
        format!("Order:          {}", refund.order_id),
        format!("Buyer:          {buyer}"),
        format!("Amount:         {} {}", refund.amount, refund.currency),
        format!("Method:         {}", refund.method.as_str()),
        format!("PSP:            {}", refund.psp),
        format!("Payment:        {}", refund.payment_id),
        format!("PSP reference:  {}", refund.psp_refund_id.as_deref().unwrap_or("-")),
    ];
    if let Some(code) = &refund.withdrawal_code {
        out.push(format!("Withdrawal code: {code}"));
    }
    match &refund.details {
        RefundDetails::BankTransfer { beneficiary, transfer } => {
            out.push(format!("Beneficiary:    {} ({})", beneficiary.name, beneficiary.bank));
            if let Some(t) = transfer {
                out.push(format!("Transfer:       {} on {}, recorded by {}", t.reference, t.date, t.recorded_by));
                out.push(format!("Proof:          {} (SHA-256 {})", t.proof_file, t.proof_sha256));
            }
        }
        RefundDetails::CashPickup { payee } => out.push(format!("Payee:          {}", payee.name)),
    }
    out.push(format!("Reason:         {}", refund.reason.as_str()));
    if !refund.note.is_empty() {
        out.push(format!("Note:           {}", refund.note));
    }
    out.push(format!("Tier:           {}", refund.tier));
    if let Some(fx) = &refund.fx {
        out.push(format!("Exchange rate:  1 {} = {} {} ({})", fx.order_currency, fx.rate, refund.currency, fx.source));
    }
    out.push(String::new());
    out.push(format!("Requested by:   {} at {}", refund.requested_by, when(refund.requested_at, country)));
    for a in &refund.approvals {
        let label = match a.decision.as_str() {
            "approve" => "Approved by:".to_string(),
            "reject" => "Rejected by:".to_string(),
            other => format!("{other}:"),
        };
        out.push(format!("{label:<15} {} ({}) at {}", a.operator, a.role, when(a.at, country)));
    }
    out.push(String::new());
    if let Some(done) = refund.finished_at {
        let market_date = country.map(|c| c.business_date(done).to_string()).unwrap_or_else(|| "-".into());
        out.push(format!("Succeeded:      market date {market_date}, {}", utc_text(done)));
    }
    // Wrap long values; a receipt is one page (notes are cut).
    crate::pdf_page::wrap(out)
}

fn render(refund: &Refund, buyer: &str, country: Option<Country>) -> Result<Vec<u8>, ReceiptError> {
    let title = format!("Refund receipt #{}", refund.id);
    crate::pdf_page::render(&title, &lines(refund, buyer, country)).map_err(ReceiptError::Render)
}
