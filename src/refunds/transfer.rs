//! The manual `bank_transfer` rail: for a payment whose PSP cannot pay a
//! refund (PagoEfectivo), or when finance prefers to pay it themselves.
//! Requested and approved like any refund (same tiers, maker-checker); then
//! finance pays the buyer's bank account and records the transfer with the
//! bank's reference, its date and a proof file (PDF, PNG or JPEG), kept in
//! the receipts folder with its SHA-256. Recording moves the refund through
//! the same steps as a PSP's answer (`submission`): `approved → submitted`
//! after the refundable-balance invariant, then the rail's answer (here, what
//! finance recorded) makes it `succeeded`. A transfer counts once: a refund
//! is recorded once, and a bank reference or proof file belongs to one refund.

use super::submission::{self, Actions, SendError};
use super::{
    ApproverRole, RecordedTransfer, Refund, RefundDetails, RefundError, RefundMethod, RefundStatus, check_text,
    lifecycle::approver_role, receipt, show,
};
use crate::market::Country;
use crate::money::Currency;
use crate::operators::{Operator, Permission};
use crate::psp::{PaidBy, RailAnswer, RailError, RailFuture, RefundOrder, RefundRail, TransferEvidence};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The largest proof file kept: a bank's PDF or a phone photo of it.
pub const PROOF_BYTES_MAX: u64 = 10 * 1024 * 1024;
/// A bank reference: a few dozen characters.
pub const TRANSFER_REFERENCE_CHARS_MAX: usize = 80;
/// How long after a transfer it may still be recorded.
pub const TRANSFER_RECORD_DAYS_MAX: i64 = 90;

/// The audit log's names for a recorded transfer's steps: handed over (as a
/// PSP refund is), then the record.
const MANUAL_ACTIONS: Actions = Actions { first: "refund.submit", again: "refund.resend" };
const TRANSFER_RECORDED: &str = "refund.transfer_recorded";

/// The rail a person pays: its answer is what finance recorded.
pub struct ManualTransfer;

impl ManualTransfer {
    fn answer(order: &RefundOrder) -> Result<RailAnswer, RailError> {
        let evidence = order.evidence.as_ref().ok_or_else(|| RailError::Unanswered {
            code: "refunds.transfer_unrecorded",
            message: format!(
                "refund {} is paid by finance, who records the transfer (voucherdesk refunds record-transfer)",
                order.refund_id
            ),
        })?;
        Ok(RailAnswer {
            id: evidence.reference.clone(),
            status: RefundStatus::Succeeded,
            rail_status: format!("transferred on {}, recorded by {}", evidence.date, evidence.recorded_by),
            withdrawal_code: None,
        })
    }
}

impl RefundRail for ManualTransfer {
    fn name(&self) -> &'static str {
        "manual"
    }

    fn pays(&self, method: RefundMethod) -> bool {
        match method {
            RefundMethod::BankTransfer => true,
            RefundMethod::PspRefund | RefundMethod::CashWithdrawal => false,
        }
    }

    fn paid_by(&self) -> PaidBy {
        PaidBy::Person
    }

    fn send<'a>(&'a self, order: &'a RefundOrder) -> RailFuture<'a> {
        Box::pin(std::future::ready(ManualTransfer::answer(order)))
    }

    fn status<'a>(&'a self, _method: RefundMethod, rail_id: &'a str) -> RailFuture<'a> {
        Box::pin(std::future::ready(Err(RailError::Unanswered {
            code: "refunds.transfer_unrecorded",
            message: format!("transfer {rail_id}: a bank transfer's outcome is what finance records, not read"),
        })))
    }

    fn redact(&self, text: &str) -> String {
        text.to_string()
    }
}

/// What finance enters about a transfer they made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TransferInput {
    /// The bank's reference of the transfer.
    pub reference: String,
    /// `YYYY-MM-DD`, the day the bank made it.
    pub date: String,
}

/// A proof file's kind, told by its first bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProofKind {
    Pdf,
    Png,
    Jpeg,
}

impl ProofKind {
    fn sniff(bytes: &[u8]) -> Option<ProofKind> {
        if bytes.starts_with(b"%PDF-") {
            Some(ProofKind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ProofKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ProofKind::Jpeg)
        } else {
            None
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ProofKind::Pdf => "pdf",
            ProofKind::Png => "png",
            ProofKind::Jpeg => "jpg",
        }
    }
}

/// A proof file read and checked, not yet kept.
struct Proof {
    bytes: Vec<u8>,
    kind: ProofKind,
    sha256: String,
}

fn read_proof(path: &Path) -> Result<Proof, RefundError> {
    let shown = path.display();
    let size = std::fs::metadata(path).map_err(|e| RefundError::BadProof(format!("{shown}: {e}")))?.len();
    if size > PROOF_BYTES_MAX {
        return Err(RefundError::BadProof(format!(
            "{shown} is {size} bytes, more than the {PROOF_BYTES_MAX} bytes a proof may have"
        )));
    }
    if size == 0 {
        return Err(RefundError::BadProof(format!("{shown} is empty")));
    }
    let bytes = std::fs::read(path).map_err(|e| RefundError::BadProof(format!("{shown}: {e}")))?;
    if bytes.len() as u64 > PROOF_BYTES_MAX {
        return Err(RefundError::BadProof(format!("{shown} grew past {PROOF_BYTES_MAX} bytes while read")));
    }
    let kind = ProofKind::sniff(&bytes)
        .ok_or_else(|| RefundError::BadProof(format!("{shown} is not a PDF, PNG or JPEG file")))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Proof { bytes, kind, sha256 })
}

fn market_of(currency: Currency) -> Country {
    match currency {
        Currency::Pen => Country::Peru,
        Currency::Cop | Currency::Usd => Country::Colombia,
    }
}

fn check_date(
    text: &str,
    requested_at: DateTime<Utc>,
    market: Country,
    now: DateTime<Utc>,
) -> Result<NaiveDate, RefundError> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| RefundError::BadTransfer(format!("date {:?} is not YYYY-MM-DD", text.trim())))?;
    let today = market.business_date(now);
    let requested = market.business_date(requested_at);
    if date > today {
        return Err(RefundError::BadTransfer(format!("date {date} is after today ({today} in {})", market.code())));
    }
    if date < requested {
        return Err(RefundError::BadTransfer(format!(
            "date {date} is before the refund was requested ({requested}): that transfer is not this refund's"
        )));
    }
    if today - date > TimeDelta::days(TRANSFER_RECORD_DAYS_MAX) {
        return Err(RefundError::BadTransfer(format!(
            "date {date} is more than {TRANSFER_RECORD_DAYS_MAX} days ago: record a transfer when it is made"
        )));
    }
    Ok(date)
}

fn keep_proof(store: &Store, id: i64, proof: &Proof) -> Result<PathBuf, RefundError> {
    let fault = |e: &dyn std::fmt::Display| RefundError::ProofIo(e.to_string());
    let dir = receipt::receipts_dir(store).map_err(|e| fault(&e))?;
    std::fs::create_dir_all(&dir).map_err(|e| fault(&format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("refund-{id}-transfer.{}", proof.kind.extension()));
    let tmp = dir.join(format!(".refund-{id}-transfer.tmp"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| fault(&format!("{}: {e}", tmp.display())))?;
        f.write_all(&proof.bytes).map_err(|e| fault(&format!("{}: {e}", tmp.display())))?;
        f.sync_all().map_err(|e| fault(&format!("{}: {e}", tmp.display())))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| fault(&format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The refund's transfer, when recorded.
fn recorded(details: &RefundDetails) -> Option<&RecordedTransfer> {
    match details {
        RefundDetails::BankTransfer { transfer, .. } => transfer.as_ref(),
        RefundDetails::CashPickup { .. } => None,
    }
}

fn already_recorded(refund: &Refund) -> RefundError {
    let (reference, by) = match recorded(&refund.details) {
        Some(t) => (t.reference.clone(), t.recorded_by.clone()),
        None => (refund.psp_refund_id.clone().unwrap_or_default(), String::from("someone")),
    };
    RefundError::TransferAlreadyRecorded { id: refund.id, reference, by }
}

/// Records the bank transfer finance made for an approved `bank_transfer`
/// refund, with the bank's `reference`, its date and the proof file at
/// `proof`; the refund then counts as succeeded (its receipt is archived and
/// the buyer told). Refused, with nothing written, before approval, a second
/// time, for a reference or proof another refund has, and when the payment
/// no longer covers the amount (the invariant, as before any payment).
pub fn record_transfer(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    input: &TransferInput,
    proof: &Path,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    if approver_role(operator.role) != Some(ApproverRole::Finance) {
        return Err(RefundError::NotYours { operator: operator.name.clone(), what: "record the transfer of", id });
    }
    let reference = check_text("bank reference", &input.reference, TRANSFER_REFERENCE_CHARS_MAX)?;
    if reference.is_empty() || reference.chars().any(char::is_control) {
        return Err(RefundError::BadTransfer("the bank's reference is required (--reference)".into()));
    }
    let refund = show(store, id)?;
    if refund.method != RefundMethod::BankTransfer {
        return Err(RefundError::NotManual { id, method: refund.method });
    }
    match refund.status {
        RefundStatus::Approved => {}
        RefundStatus::Submitted if refund.psp_refund_id.is_none() => {}
        RefundStatus::Succeeded => return Err(already_recorded(&refund)),
        RefundStatus::Requested
        | RefundStatus::PendingApproval
        | RefundStatus::Submitted
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => {
            return Err(RefundError::BadState { id, status: refund.status.as_str(), action: "recording a transfer" });
        }
    }
    let date = check_date(&input.date, refund.requested_at, market_of(refund.currency), now)?;
    let proof = read_proof(proof)?;
    if let Some(other) = store.manual_transfer_using(&reference, &proof.sha256)?.filter(|other| *other != id) {
        return Err(RefundError::TransferDuplicate(format!(
            "bank reference {reference} or this proof file (SHA-256 {}) is already recorded for refund {other}: a transfer counts once",
            proof.sha256
        )));
    }

    // approved → submitted, after the invariant: from here the transfer is on record as being made.
    let row = match submission::mark_handed_over(store, operator, id, now, MANUAL_ACTIONS) {
        Ok(Some(row)) => row,
        Ok(None) => return Err(RefundError::UnknownRefund(id)),
        Err(RefundError::BadState { .. }) => {
            let now_shown = show(store, id)?;
            return Err(match now_shown.status {
                RefundStatus::Succeeded => already_recorded(&now_shown),
                other => RefundError::BadState { id, status: other.as_str(), action: "recording a transfer" },
            });
        }
        Err(e) => return Err(e),
    };
    let kept = keep_proof(store, id, &proof)?;
    let proof_file = kept.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let transfer = RecordedTransfer {
        reference: reference.clone(),
        date,
        proof_file,
        proof_sha256: proof.sha256.clone(),
        proof_bytes: proof.bytes.len() as u64,
        recorded_by: operator.name.clone(),
        recorded_at: DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now),
    };
    let details: RefundDetails =
        serde_json::from_str(&row.details).map_err(|e| RefundError::Corrupt(format!("refund {id} details: {e}")))?;
    let details = match details {
        RefundDetails::BankTransfer { beneficiary, .. } => {
            RefundDetails::BankTransfer { beneficiary, transfer: Some(transfer.clone()) }
        }
        RefundDetails::CashPickup { .. } => {
            return Err(RefundError::Corrupt(format!("refund {id} is a bank_transfer with a cash payee")));
        }
    };
    let evidence =
        TransferEvidence { reference, date, proof_sha256: proof.sha256.clone(), recorded_by: operator.name.clone() };
    let order = submission::order_of(&row, None, Some(evidence))?;
    let outcome = ready(ManualTransfer.send(&order)).map_err(SendError::Rail);
    let details_text = serde_json::to_string(&details).map_err(|e| RefundError::Corrupt(e.to_string()))?;
    let said = serde_json::to_value(&transfer).map_err(|e| RefundError::Corrupt(e.to_string()))?;
    let redact = |text: &str| ManualTransfer.redact(text);
    let recording = submission::Recording { answered: TRANSFER_RECORDED, details: Some((details_text, said)) };
    let status = submission::record(store, operator, id, &outcome, now, &redact, &recording)?;
    match outcome {
        Ok(_) => {}
        Err(SendError::Rail(e)) => return Err(RefundError::BadTransfer(e.to_string())),
        Err(SendError::Local(e)) => return Err(e),
    }
    if let Some(changed) = status {
        for (code, message) in submission::after_change(store, id, changed, &operator.name) {
            eprintln!("refund {id}: {message} [{code}]");
        }
    }
    show(store, id)
}

/// The answer of a rail whose future is ready at once (the manual rail's).
fn ready(future: RailFuture<'_>) -> Result<RailAnswer, RailError> {
    let mut future = future;
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(answer) => answer,
        std::task::Poll::Pending => Err(RailError::Unanswered {
            code: "refunds.transfer_unrecorded",
            message: "the manual rail did not answer at once".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::refund::RefundStatus;
    use crate::psp::RailPayee;

    fn order(evidence: Option<TransferEvidence>) -> RefundOrder {
        RefundOrder {
            refund_id: 7,
            method: RefundMethod::BankTransfer,
            payment_id: "90007001".into(),
            order_id: "PE-7001".into(),
            amount_minor: 35_000,
            currency: Currency::Pen,
            country: Some(Country::Peru),
            idempotency_key: "vdr-test".into(),
            description: "VoucherDesk refund 7 (buyer_cancelled)".into(),
            payee: RailPayee::Bank {
                name: "Rosa Quispe".into(),
                bank: "BCP".into(),
                account: "19112345678012".into(),
                account_type: "S".into(),
                document: "45678912".into(),
            },
            notification_url: None,
            evidence,
        }
    }

    #[test]
    fn the_manual_rail_answers_what_finance_recorded_and_nothing_without_it() {
        let rail = ManualTransfer;
        assert_eq!((rail.name(), rail.paid_by()), ("manual", PaidBy::Person));
        assert!(rail.pays(RefundMethod::BankTransfer));
        assert!(!rail.pays(RefundMethod::PspRefund) && !rail.pays(RefundMethod::CashWithdrawal));
        let evidence = TransferEvidence {
            reference: "BCP-778812".into(),
            date: NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
            proof_sha256: "ab".repeat(32),
            recorded_by: "fiona".into(),
        };
        let answer = ready(rail.send(&order(Some(evidence)))).unwrap();
        assert_eq!(
            answer,
            RailAnswer {
                id: "BCP-778812".into(),
                status: RefundStatus::Succeeded,
                rail_status: "transferred on 2026-03-07, recorded by fiona".into(),
                withdrawal_code: None,
            }
        );
        let none = ready(rail.send(&order(None))).unwrap_err();
        assert!(matches!(none, RailError::Unanswered { code: "refunds.transfer_unrecorded", .. }), "{none:?}");
        assert_eq!(
            ready(rail.status(RefundMethod::BankTransfer, "BCP-1")).unwrap_err().code(),
            "refunds.transfer_unrecorded"
        );
    }

    #[test]
    fn a_proof_is_a_pdf_png_or_jpeg_by_its_bytes_and_at_most_the_limit() {
        assert_eq!(ProofKind::sniff(b"%PDF-1.7\n"), Some(ProofKind::Pdf));
        assert_eq!(ProofKind::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ProofKind::Png));
        assert_eq!(ProofKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE1]), Some(ProofKind::Jpeg));
        assert_eq!(ProofKind::sniff(b"GIF89a"), None);
        assert_eq!(ProofKind::sniff(b"%PD"), None);
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pdf");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(PROOF_BYTES_MAX + 1).unwrap();
        let err = read_proof(&big).err().unwrap();
        assert_eq!(err.code(), "refunds.bad_proof");
        assert_eq!(
            err.to_string(),
            format!("proof file: {} is 10485761 bytes, more than the 10485760 bytes a proof may have", big.display())
        );
        let ok = dir.path().join("ok.pdf");
        std::fs::write(&ok, b"%PDF-1.4 x").unwrap();
        let proof = read_proof(&ok).unwrap();
        assert_eq!(proof.sha256, hex::encode(Sha256::digest(b"%PDF-1.4 x")));
        assert_eq!(proof.kind.extension(), "pdf");
    }
}
