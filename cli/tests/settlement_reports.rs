//! `settlement_report_missing`: a market date on which our money was due to
//! settle, that no imported settlement report covers two business days later
//! (seeds 001 and 003: every day's report is compared). Raised by
//! reconciliation, cleared by the report's import, and never raised for a
//! date with nothing due or before the PSP's first report.

use crate::support;

use std::path::PathBuf;
use support::Ctx;

/// Four dLocal Colombia sales paid Monday 2 to Thursday 5 March 2026 at 10:00
/// Bogotá: by the built-in T+2 terms due Wednesday 4th, Thursday 5th, Friday 6th
/// and Monday 9th.
fn ledger(ctx: &Ctx, dir: &std::path::Path) {
    let mut orders = String::from(
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n",
    );
    let mut payments = String::from(
        "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n",
    );
    for day in 2..=5 {
        orders.push_str(&format!(
            "G-{day},Tienda,2026-03-0{day}T08:00:00-05:00,Ana Núñez,ana{day}@example.com,+57 300 123 4567,1020304050,CO,100000,COP,paid,dlocal,D-G{day},400000{day},2026-03-0{}T08:00:00-05:00\n",
            day + 2
        ));
        payments.push_str(&format!(
            "D-G{day},G-{day},CO,EY,COP,100000,PAID,200,2026-03-0{day}T13:00:00.000+0000,2026-03-0{day}T15:00:00.000+0000,2026-03-0{}T13:00:00.000+0000,400000{day}\n",
            day + 2
        ));
    }
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    ctx.import("orders", "shop", &write("orders.csv", &orders));
    ctx.import("payments", "dlocal", &write("payments.csv", &payments));
}

/// A dLocal settlement report with one PAYMENT row per (payment, transfer date).
fn report(dir: &std::path::Path, name: &str, rows: &[(&str, &str)]) -> PathBuf {
    let mut text = String::from(
        "TRANSACTION_ID,DLOCAL_TRANSACTION_ID,ROW_TYPE,CREATION_DATE,TRANSFER_DATE,LOCAL_AMOUNT,LOCAL_CURRENCY,FX_RATE,SETTLEMENT_CURRENCY,GROSS_AMOUNT,NET_AMOUNT,FEE_AMOUNT\n",
    );
    for (payment, day) in rows {
        let order = payment.trim_start_matches("D-").replace('G', "G-");
        text.push_str(&format!(
            "{order},{payment},PAYMENT,2026-03-02T10:00:00,{day},100000,COP,4000,USD,25.00,24.25,0.75\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn missing(ctx: &Ctx) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = ctx
        .exceptions_all()
        .iter()
        .filter(|e| e["kind"] == "settlement_report_missing" && e["status"] == "open")
        .map(|e| (e["psp"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap().to_string()))
        .collect();
    found.sort();
    found
}

#[test]
fn a_due_date_without_a_report_is_raised_then_cleared_by_its_report() {
    let ctx = Ctx::new();
    let dir = tempfile::tempdir().unwrap();
    ledger(&ctx, dir.path());
    // Reports for the 4th–5th and for the 9th; none covers Friday 6th.
    ctx.import(
        "settlements",
        "dlocal-settlement",
        &report(dir.path(), "a.csv", &[("D-G2", "2026-03-04"), ("D-G3", "2026-03-05")]),
    );
    ctx.import("settlements", "dlocal-settlement", &report(dir.path(), "b.csv", &[("D-G5", "2026-03-09")]));
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["settlement_report_missing"], 1, "{summary:#}");
    assert_eq!(
        missing(&ctx),
        vec![(
            "dlocal".to_string(),
            "no dlocal settlement report covers 2026-03-06 (CO market date), 2 business days on: reports before and after it were imported (up to 2026-03-09) → import it, or ask the PSP".to_string()
        )]
    );
    // Its payment is also unsettled: the report would say whether it was paid out.
    assert_eq!(summary["exceptions"]["not_settled"], 1, "{summary:#}");
    let listed = ctx.json(["exceptions", "list", "--kind", "settlement_report_missing", "--json"]);
    let row = &listed.as_array().unwrap()[0];
    assert_eq!((row["country"].as_str(), row["order_id"].as_str()), (Some("CO"), Some("")), "{row}");

    // The report for the 6th arrives: both clear on the next run.
    ctx.import("settlements", "dlocal-settlement", &report(dir.path(), "c.csv", &[("D-G4", "2026-03-06")]));
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["settlement_report_missing"], 0, "{summary:#}");
    assert_eq!(summary["exceptions"]["not_settled"], 0, "{summary:#}");
    assert_eq!(missing(&ctx), vec![]);
    let cleared = ctx.exceptions_all().into_iter().filter(|e| e["kind"] == "settlement_report_missing").count();
    assert_eq!(cleared, 1, "kept, cleared by data");
}

#[test]
fn no_report_is_expected_before_the_first_one_or_on_a_day_with_nothing_due() {
    let ctx = Ctx::new();
    let dir = tempfile::tempdir().unwrap();
    ledger(&ctx, dir.path());
    // The first report imported covers the 9th only: the 4th–6th came before the
    // merchant imported reports at all (not_settled speaks for those payments),
    // and nothing was due on the 10th–20th.
    ctx.import("settlements", "dlocal-settlement", &report(dir.path(), "b.csv", &[("D-G5", "2026-03-09")]));
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["settlement_report_missing"], 0, "{summary:#}");
    assert_eq!(summary["exceptions"]["not_settled"], 3, "{summary:#}");
}
