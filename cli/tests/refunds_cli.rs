//! `voucherdesk refunds …` end to end on a temp database: request, approve
//! (maker-checker), reject, list, show --json, exit codes.

use crate::support;

use serde_json::Value;
use support::refunds::*;

#[test]
fn support_requests_a_tier_three_refund_finance_and_a_manager_approve_it() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "5000000")]);
    let store_path = l.db.clone();
    drop(std::mem::replace(&mut l.store, voucherdesk::store::Store::open_in_memory().unwrap()));
    let mut args = vec![
        "request",
        "--payment",
        "D-1",
        "--amount",
        "2500000",
        "--reason",
        "out_of_stock",
        "--method",
        "psp_refund",
        "--json",
    ];
    args.extend(BANK);
    let r = refunds_ok_json(&l, "sam", &args);
    assert_eq!(
        (r["status"].as_str(), r["tier"].as_i64(), r["amount"].as_str()),
        (Some("pending_approval"), Some(3), Some("2500000.00"))
    );
    assert_eq!(r["awaiting"], serde_json::json!(["finance", "manager"]));
    let id = r["id"].as_i64().unwrap().to_string();

    let err = refunds_refused(&l, "sam", &["approve", &id]);
    assert!(err.contains("may not approve refunds") && err.contains("[auth.forbidden]"), "{err}");
    let after_fabio = refunds_ok_json(&l, "fabio", &["approve", &id, "--comment", "checked the order", "--json"]);
    assert_eq!(after_fabio["awaiting"], serde_json::json!(["manager"]));
    let err = refunds_refused(&l, "fabio", &["approve", &id]);
    assert!(err.contains("[refunds.same_approver]"), "{err}");
    let done = refunds_ok_json(&l, "ana", &["approve", &id, "--json"]);
    assert_eq!(done["status"], "approved");

    let shown = refunds_ok_json(&l, "sam", &["show", &id, "--json"]);
    let approvals: Vec<(String, String)> = shown["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["operator"].as_str().unwrap().to_string(), a["role"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(approvals, vec![("fabio".into(), "finance".into()), ("ana".into(), "manager".into())]);
    assert_eq!(shown["approvals"][0]["comment"], "checked the order");
    let key = shown["idempotency_key"].as_str().unwrap();
    assert!(key.starts_with("vdr-") && key.len() == 36, "{key}");

    let listed = refunds_ok_json(&l, "sam", &["list", "--status", "approved", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(refunds_ok_json(&l, "sam", &["list", "--status", "pending_approval", "--json"]), serde_json::json!([]));
    let left = refunds_ok_json(&l, "sam", &["refundable", "--payment", "D-1", "--json"]);
    assert_eq!(
        (left["in_flight_minor"].as_i64(), left["refundable_minor"].as_i64()),
        (Some(250_000_000), Some(250_000_000))
    );
    let text = refunds_cli(&l, "sam", &["show", &id]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("approved by ana (manager)"), "{text}");
    let _ = store_path;
}

#[test]
fn refusals_exit_2_with_the_reason_and_write_nothing() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "100000")]);
    let before = snapshot(&l.store);
    let mut over =
        vec!["request", "--payment", "D-1", "--amount", "100001", "--reason", "fraud", "--method", "psp_refund"];
    over.extend(BANK);
    let err = refunds_refused(&l, "sam", &over);
    assert!(
        err.contains("is more than what remains refundable") && err.contains("[refunds.exceeds_refundable]"),
        "{err}"
    );
    let err = refunds_refused(
        &l,
        "sam",
        &["request", "--payment", "D-1", "--amount", "10", "--reason", "other", "--method", "psp_refund"],
    );
    assert!(err.contains("[refunds.note_required]"), "{err}");
    let err = refunds_refused(
        &l,
        "sam",
        &["request", "--payment", "D-1", "--amount", "10", "--reason", "fraud", "--method", "psp_refund"],
    );
    assert!(err.contains("beneficiary name is required") && err.contains("[refunds.beneficiary_missing]"), "{err}");
    let err = refunds_refused(&l, "fabio", &["reject", "99", "--comment", "no"]);
    assert!(err.contains("no refund 99"), "{err}");
    let err = refunds_refused(&l, "sam", &["list", "--status", "paid"]);
    assert!(err.contains("unknown refund status \"paid\""), "{err}");
    let store = l.reopen();
    assert_eq!(snapshot(&store), before);
    // Acting needs an operator.
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
    let out = cmd
        .arg("--db")
        .arg(&l.db)
        .args(["refunds", "approve", "1"])
        .env_remove("VOUCHERDESK_OPERATOR")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn fx_cli(l: &Ledger, operator: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
    cmd.arg("--db").arg(&l.db).args(["--operator", operator, "fx"]).args(args);
    cmd.env_remove("VOUCHERDESK_DB").env_remove("VOUCHERDESK_OPERATOR");
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd.output().unwrap()
}

#[test]
fn fx_add_import_and_list_and_a_bad_file_exits_2_naming_its_line() {
    let l = ledger();
    let out = fx_cli(&l, "admin", &["add", "--pair", "USD/COP", "--date", "2026-03-04", "--rate", "4125.50"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2026-03-04 USD/COP 4125.5 (CO) — manual entry, entered by admin\n"
    );
    // The same day again with another rate: refused, exit 2.
    let out = fx_cli(&l, "admin", &["add", "--pair", "USD/COP", "--date", "2026-03-04", "--rate", "4130"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[fx.conflict]"), "{}", String::from_utf8_lossy(&out.stderr));
    let bad = l.dir.path().join("rates.csv");
    std::fs::write(&bad, "date,pair,rate\n2026-03-05,USD/COP,4126\n2026-03-06,COP/USD,0.00024\n").unwrap();
    let out = fx_cli(&l, "admin", &["import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:3: currency pair \"COP/USD\"", bad.display())), "{stderr}");
    assert!(stderr.contains("[fx.bad_file]"), "{stderr}");
    std::fs::write(&bad, "date,pair,rate\n2026-03-05,USD/COP,4126\n2026-03-05,USD/PEN,3.72\n").unwrap();
    let out = fx_cli(&l, "admin", &["import", bad.to_str().unwrap(), "--source", "Banco Pichincha", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report, serde_json::json!({"rows": 2, "added": 2, "unchanged": 0}));
    let out = fx_cli(&l, "sam", &["list", "--pair", "USD/COP", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rates: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String, String)> = rates
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["market_date"].as_str().unwrap().to_string(),
                r["rate"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2026-03-05".into(), "4126".into(), "Banco Pichincha".into()),
            ("2026-03-04".into(), "4125.5".into(), "manual entry".into())
        ]
    );
    // Support cannot enter rates.
    let out = fx_cli(&l, "sam", &["add", "--pair", "USD/PEN", "--date", "2026-03-04", "--rate", "3.7"]);
    assert_eq!(out.status.code(), Some(2));
}
