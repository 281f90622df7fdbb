//! Reconciliation gives the same answer whatever order the files arrive in,
//! and whether rows go through the indexes one by one or in bulk mode (files of
//! 10,000+ rows rebuild the indexes once). Checked on a demo data set whose
//! exact counts are known, reversals (an `Extornado` report) and chargebacks
//! (a negative `CHARGEBACK` row, before or after its payment) included.

use crate::support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const ORDERS: &str = "25000";

fn vd(db: &Path) -> Command {
    if !db.exists() {
        let mut store = voucherdesk::store::Store::open(db).expect("open");
        voucherdesk::operators::add(&mut store, None, "admin", voucherdesk::operators::Role::Admin, None)
            .expect("admin");
    }
    let mut cmd = Command::cargo_bin("voucherdesk").expect("binary");
    cmd.arg("--db").arg(db).env("VOUCHERDESK_OPERATOR", "admin");
    cmd
}

fn import(db: &Path, kind: &str, file: &Path, profile: &str) {
    vd(db).args(["import", kind]).arg(file).args(["--profile", profile]).assert().success();
}

fn reconcile(db: &Path) -> Value {
    let out = vd(db).args(["reconcile", "--as-of", "2026-03-20", "--json"]).output().expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn same_findings_in_any_file_order_and_in_bulk_or_row_mode() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    let out = Command::cargo_bin("voucherdesk")
        .unwrap()
        .args(["demo", "--out"])
        .arg(&files)
        .args(["--orders", ORDERS, "--seed", "11", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = &manifest["expected"];
    let f = |name: &str| files.join(name);
    let steps: Vec<(&str, std::path::PathBuf, &str)> = vec![
        ("orders", f("orders-co.csv"), "shop"),
        ("orders", f("orders-pe.csv"), "shop"),
        ("payments", f("dlocal-payments-early.csv"), "dlocal"),
        ("payments", f("dlocal-payments.csv"), "dlocal"),
        ("payments", f("pagoefectivo-payments.csv"), "pagoefectivo"),
        ("settlements", f("dlocal-settlement.tsv"), "dlocal-settlement"),
        ("settlements", f("pagoefectivo-settlement.csv"), "pagoefectivo-settlement"),
    ];

    // Natural order: the big files load into empty tables (bulk mode).
    let fee_bps = manifest["dlocal_fee_bps"].as_i64().expect("the demo's fee rate");
    let forward = dir.path().join("forward.sqlite");
    drop(vd(&forward)); // makes the database with its admin
    support::contract_demo_fee(&forward, fee_bps);
    for (kind, file, profile) in &steps {
        import(&forward, kind, file, profile);
    }
    // Reverse order: settlements before their payments, the final dLocal report
    // before the early one, and the small early file first (row by row).
    let backward = dir.path().join("backward.sqlite");
    drop(vd(&backward));
    support::contract_demo_fee(&backward, fee_bps);
    for (kind, file, profile) in steps.iter().rev() {
        import(&backward, kind, file, profile);
    }

    let a = reconcile(&forward);
    let b = reconcile(&backward);
    for key in ["orders", "payments", "settlements", "matched"] {
        assert_eq!(a[key], expected[key], "forward {key}");
        assert_eq!(b[key], expected[key], "backward {key}");
    }
    assert_eq!(a["exceptions"], expected["exceptions"], "forward");
    assert_eq!(b["exceptions"], expected["exceptions"], "backward");
    let total: u64 = expected["exceptions"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(a["open_exceptions"].as_u64(), Some(total));
    // Every kind but a missing settlement report: the demo writes one report per
    // PSP covering its whole period (tests/settlement_reports.rs covers that kind).
    let occurs = |(kind, count): (&String, &Value)| kind == "settlement_report_missing" || count.as_u64().unwrap() > 0;
    assert!(expected["exceptions"].as_object().unwrap().iter().all(occurs), "every kind occurs");

    // The same exception ids, whichever way the data came in.
    let ids = |db: &Path| {
        let out =
            vd(db).args(["exceptions", "list", "--status", "all", "--limit", "100000", "--json"]).output().unwrap();
        let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let mut ids: Vec<String> = list.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&forward), ids(&backward));

    // A re-import of every file changes nothing.
    for (kind, file, profile) in &steps {
        let out = vd(&forward).args(["import", kind]).arg(file).args(["--profile", profile]).output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("already imported"));
    }
    assert_eq!(reconcile(&forward)["exceptions"], expected["exceptions"]);
}
