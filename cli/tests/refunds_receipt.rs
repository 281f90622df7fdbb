//! PDF receipts of succeeded refunds: produced once in `receipts/` next to the
//! database, readable (text extracted with pdftotext), re-downloadable through
//! the CLI, and kept at least the retention setting (fixed clock).

use crate::support;

use chrono::{DateTime, TimeDelta, Utc};
use support::pdf_text;
use support::refunds::*;
use voucherdesk::market::Country;
use voucherdesk::refunds::receipt::{self, ReceiptError};
use voucherdesk::refunds::submission::{SubmitConfig, submit_and_follow};
use voucherdesk::refunds::{self, RefundStatus, tiers};

const CLIENT_TIMEOUT_MS: u64 = 2_000;
const DAY_S: i64 = 86_400;

type Psp = SandboxPsp;

/// A tier-3 refund of 2,500,000 COP requested by sam, approved by fabio
/// (finance) and ana (manager), paid by the sandbox. The sandbox is stopped
/// when this returns (the runtime is dropped).
fn succeeded_refund() -> (Ledger, i64) {
    let psp = Psp::start("", CLIENT_TIMEOUT_MS);
    let payment_id = psp.paid_payment("CO-R1", 300_000_000);
    let mut l = ledger();
    l.add(&[sale("CO-R1", &payment_id, "CO", "3000000")]);
    let now = Utc::now();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund(&payment_id, "2500000"), now).unwrap();
    assert_eq!((r.tier, r.status), (3, RefundStatus::PendingApproval));
    refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, Some("ok"), now).unwrap();
    let done = refunds::approve(&mut l.store, &op(&l.db, "ana"), r.id, None, now).unwrap();
    assert_eq!(done.status, RefundStatus::Approved);
    let client = psp.client();
    let sam = op(&l.db, "sam");
    let report = psp
        .rt
        .block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), Utc::now(), &|_| {}))
        .unwrap();
    assert_eq!((report.submitted, report.succeeded), (1, 1), "{report:?}");
    assert_eq!(refunds::show(&l.store, r.id).unwrap().status, RefundStatus::Succeeded);
    (l, r.id)
}

fn finished_at(l: &Ledger, id: i64) -> DateTime<Utc> {
    refunds::show(&l.store, id).unwrap().finished_at.expect("a succeeded refund has finished")
}

#[test]
fn a_succeeded_refund_has_a_readable_pdf_receipt_written_once_in_the_data_dir() {
    let (l, id) = succeeded_refund();
    let refund = refunds::show(&l.store, id).unwrap();
    let reference = refund.psp_refund_id.clone().expect("PSP reference");

    // Archived as it succeeded, before anyone asked.
    let path = l.dir.path().join("receipts").join(format!("refund-{id}.pdf"));
    assert!(path.is_file(), "no receipt archived at {}", path.display());
    assert_eq!(receipt::receipt(&l.store, id).unwrap(), path);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF: {:?}", &bytes[..8.min(bytes.len())]);

    let text = pdf_text(&path);
    for expected in [
        "Order: CO-R1",
        "Buyer: Peña, María José",
        "Amount: 2500000.00 COP",
        "Method: psp_refund",
        &format!("PSP reference: {reference}"),
        "Tier: 3",
        "Requested by: sam at ",
        "Approved by: fabio (finance) at ",
        "Approved by: ana (manager) at ",
        "Bogotá)",
        "Succeeded: market date ",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from the receipt:\n{text}");
    }
    let done = finished_at(&l, id);
    let succeeded = format!(
        "Succeeded: market date {}, {}",
        Country::Colombia.business_date(done),
        done.format("%Y-%m-%d %H:%M:%S UTC")
    );
    assert!(text.lines().any(|line| line == succeeded), "{succeeded:?} missing:\n{text}");

    // Written once: a second call neither rewrites nor renders again, it re-reads the archived file.
    std::fs::write(&path, b"%PDF-archived").unwrap();
    assert_eq!(receipt::receipt(&l.store, id).unwrap(), path);
    assert_eq!(receipt::receipt_bytes(&l.store, id).unwrap(), b"%PDF-archived");
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from(format!("refund-{id}.pdf"))]);
}

#[test]
fn no_receipt_before_the_refund_succeeded_and_nothing_is_written() {
    let mut l = ledger();
    l.add(&[sale("CO-R2", "PAY-R2", "CO", "3000000")]);
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("PAY-R2", "2500000"), Utc::now()).unwrap();
    let err = receipt::receipt(&l.store, r.id).unwrap_err();
    assert_eq!(err.code(), "refunds.receipt_not_available");
    assert_eq!(
        err.to_string(),
        format!("refund {} is pending_approval: a receipt exists only for a succeeded refund", r.id)
    );
    assert!(matches!(err, ReceiptError::NotSucceeded { .. }));
    assert!(!l.dir.path().join("receipts").exists());
    assert_eq!(receipt::receipt(&l.store, 999).unwrap_err().code(), "refunds.not_found");
}

#[test]
fn cleanup_never_deletes_a_receipt_younger_than_the_retention_setting() {
    let (mut l, id) = succeeded_refund();
    let path = receipt::receipt(&l.store, id).unwrap();
    let done = finished_at(&l, id);
    // A stray file in the folder is never touched.
    let stray = path.with_file_name("notes.txt");
    std::fs::write(&stray, "keep").unwrap();

    // Default and minimum: 183 days (6 months).
    assert_eq!(tiers::get(&l.store).unwrap().receipt_retention_days, 183);
    let exactly = done + TimeDelta::seconds(183 * DAY_S);
    assert_eq!(receipt::cleanup(&l.store, exactly).unwrap(), Vec::<std::path::PathBuf>::new());
    assert!(path.is_file());

    // Less than 6 months is refused, and the setting stays.
    let admin = op(&l.db, "admin");
    let mut settings = tiers::get(&l.store).unwrap();
    settings.receipt_retention_days = 182;
    let err = tiers::set(&mut l.store, &admin, &settings).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("errors.validation", "receipts are kept at least 183 days (6 months)")
    );
    assert_eq!(tiers::get(&l.store).unwrap().receipt_retention_days, 183);

    // A longer setting keeps it past 6 months...
    settings.receipt_retention_days = 400;
    tiers::set(&mut l.store, &admin, &settings).unwrap();
    assert!(receipt::cleanup(&l.store, exactly + TimeDelta::seconds(DAY_S)).unwrap().is_empty());
    assert!(receipt::cleanup(&l.store, done + TimeDelta::seconds(400 * DAY_S)).unwrap().is_empty());
    assert!(path.is_file());
    // ...and deletes it one second after.
    let deleted = receipt::cleanup(&l.store, done + TimeDelta::seconds(400 * DAY_S + 1)).unwrap();
    assert_eq!(deleted, vec![path.clone()]);
    assert!(!path.exists());
    assert!(stray.is_file());
}

#[test]
fn the_cli_re_downloads_the_receipt_and_refuses_one_that_does_not_exist() {
    let (l, id) = succeeded_refund();
    let out_file = l.dir.path().join("copy.pdf");
    let run = |args: &[&str]| {
        assert_cmd::Command::cargo_bin("voucherdesk")
            .unwrap()
            .arg("--db")
            .arg(&l.db)
            .args(["--operator", "fiona", "refunds", "receipt"])
            .args(args)
            .output()
            .unwrap()
    };
    let first = run(&[&id.to_string()]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let archived = l.dir.path().join("receipts").join(format!("refund-{id}.pdf"));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), archived.display().to_string());

    let copy = run(&[&id.to_string(), "--out", out_file.to_str().unwrap()]);
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    assert_eq!(std::fs::read(&out_file).unwrap(), std::fs::read(&archived).unwrap());
    assert!(pdf_text(&out_file).contains("Peña, María José"));

    // The list's filters (the same library page the app's list uses).
    let list = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("voucherdesk")
            .unwrap()
            .arg("--db")
            .arg(&l.db)
            .args(["refunds", "list", "--json"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(list(&["--tier", "3", "--status", "succeeded", "--method", "psp_refund", "--psp", "dlocal"]), vec![id]);
    assert_eq!(list(&["--reason", "buyer_cancelled"]), vec![id]);
    assert_eq!(list(&["--tier", "2"]), Vec::<i64>::new());
    assert_eq!(list(&["--method", "cash_withdrawal"]), Vec::<i64>::new());

    let missing = run(&["999"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert_eq!(String::from_utf8_lossy(&missing.stderr).trim(), "error: no refund 999 [refunds.not_found]");
}

#[test]
fn a_copy_of_the_receipt_goes_where_the_operator_chose_and_a_refused_one_writes_nothing() {
    let (l, id) = succeeded_refund();
    let chosen = tempfile::tempdir().unwrap();
    let target = chosen.path().join("recibo-reembolso.pdf");
    let saved = receipt::save_copy(&l.store, id, &target).unwrap();
    assert_eq!(saved, target);
    let archived = receipt::receipt(&l.store, id).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(&archived).unwrap());
    assert!(pdf_text(&target).contains("Order: CO-R1"), "{}", pdf_text(&target));
    // Only the copy is in the chosen folder: no temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(chosen.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("recibo-reembolso.pdf")]);

    let missing = chosen.path().join("no-such-folder").join("r.pdf");
    let err = receipt::save_copy(&l.store, id, &missing).unwrap_err();
    assert_eq!(err.code(), "refunds.receipt_io");
    assert!(!missing.exists());
    let err = receipt::save_copy(&l.store, id + 1000, &chosen.path().join("other.pdf")).unwrap_err();
    assert!(matches!(err, ReceiptError::Refund(_)), "{err:?}");
    assert!(!chosen.path().join("other.pdf").exists());
}
