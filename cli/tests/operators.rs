//! Operators and roles through the CLI: the first admin, admin-only
//! management, and permissions enforced whatever face calls the library.

use crate::support;
use support::*;

#[test]
fn the_first_operator_needs_no_one_and_must_be_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.sqlite");
    let vd = || {
        let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
        cmd.arg("--db").arg(&db).env_remove("VOUCHERDESK_OPERATOR");
        cmd
    };
    let out = vd().args(["operators", "add", "ana", "--role", "support"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the first operator must be an admin"), "{}", stderr(&out));
    vd().args(["operators", "add", "root", "--role", "admin", "--password-stdin"])
        .write_stdin("s3cret-pass\n")
        .assert()
        .success();
    // From now on an admin must act.
    let out = vd().args(["operators", "add", "eve", "--role", "admin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--operator"), "{}", stderr(&out));
    vd().args(["operators", "add", "ana", "--role", "support", "--operator", "root"]).assert().success();
    let out = vd().args(["operators", "add", "bob", "--role", "support", "--operator", "ana"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ana (support) may not manage operators"), "{}", stderr(&out));
    let list: serde_json::Value =
        serde_json::from_slice(&vd().args(["operators", "list", "--json"]).output().unwrap().stdout).unwrap();
    let names: Vec<(&str, &str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["role"].as_str().unwrap(), o["can_sign_in"].as_bool().unwrap()))
        .collect();
    assert_eq!(names, vec![("ana", "support", false), ("root", "admin", true)]);
    assert!(!String::from_utf8_lossy(&std::fs::read(&db).unwrap()).contains("s3cret-pass"), "never stored in clear");
}

#[test]
fn roles_are_enforced_for_imports_reconciliation_and_resolutions() {
    let ctx = Ctx::new();
    // Support may not import or reconcile.
    let out = ctx.run([
        "import",
        "orders",
        fixture("recon/orders.csv").to_str().unwrap(),
        "--profile",
        "shop",
        "--operator",
        "sam",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sam (support) may not import files"), "{}", stderr(&out));
    assert_eq!(ctx.stats()["orders"], 0);
    ctx.import_recon_set();
    let out = ctx.run(["reconcile", "--as-of", AS_OF, "--operator", "sam"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("may not run reconciliation"), "{}", stderr(&out));
    ctx.reconcile();

    // Support may accept or escalate, not write off, link or mark received.
    let id =
        ctx.json(["exceptions", "list", "--kind", "amount_mismatch", "--json"])[0]["id"].as_str().unwrap().to_string();
    for action in ["write_off", "mark_received"] {
        let out = ctx.run(["exceptions", "resolve", &id, "--action", action, "--note", "n", "--operator", "sam"]);
        assert_eq!(out.status.code(), Some(2), "{action}");
        assert!(
            stderr(&out).contains(&format!("sam (support) may not resolve exceptions with {action}")),
            "{}",
            stderr(&out)
        );
    }
    let open = ctx.json(["exceptions", "list", "--json"]).as_array().unwrap().len();
    ctx.ok(["exceptions", "resolve", &id, "--action", "escalate", "--note", "asking dLocal", "--operator", "sam"]);
    assert_eq!(ctx.json(["exceptions", "list", "--json"]).as_array().unwrap().len(), open - 1);

    // An unknown or disabled operator cannot act at all.
    let out = ctx.run(["reconcile", "--as-of", AS_OF, "--operator", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no operator named \"nobody\""), "{}", stderr(&out));
    ctx.ok(["operators", "disable", "luis"]);
    let out = ctx.run(["reconcile", "--as-of", AS_OF, "--operator", "luis"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("disabled"), "{}", stderr(&out));
    // The last admin cannot be demoted.
    let out = ctx.run(["operators", "set-role", "admin", "manager"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("last admin"), "{}", stderr(&out));
}

#[test]
fn sign_in_waits_after_five_failures_doubling_and_a_success_forgets_them() {
    use chrono::{Duration, TimeZone, Utc};
    use voucherdesk::operators::{OperatorError, Role, add, sign_in_at};
    let mut store = voucherdesk::store::Store::open_in_memory().unwrap();
    let admin = add(&mut store, None, "admin", Role::Admin, Some("admin-password")).unwrap();
    add(&mut store, Some(&admin), "ana", Role::Support, Some("ana-password")).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
    let at = |s: i64| t0 + Duration::seconds(s);

    for i in 0..5 {
        let e = sign_in_at(&mut store, "ana", "wrong-password", at(i)).unwrap_err();
        assert!(matches!(e, OperatorError::BadCredentials), "{e}");
    }
    // The right password is not even looked at while the wait runs.
    let e = sign_in_at(&mut store, "Ana ", "ana-password", at(10)).unwrap_err();
    assert_eq!(e.code(), "auth.throttled");
    assert_eq!(e.to_string(), "too many failed sign-ins as Ana: try again after 12:00:34 UTC (in 24 s)");
    // Other operators are not held up.
    assert_eq!(sign_in_at(&mut store, "admin", "admin-password", at(11)).unwrap().name, "admin");

    // One more failure after the wait doubles it.
    assert!(matches!(sign_in_at(&mut store, "ana", "wrong", at(34)), Err(OperatorError::BadCredentials)));
    let e = sign_in_at(&mut store, "ana", "ana-password", at(93)).unwrap_err();
    assert_eq!(e.to_string(), "too many failed sign-ins as ana: try again after 12:01:34 UTC (in 1 s)");
    assert_eq!(sign_in_at(&mut store, "ana", "ana-password", at(94)).unwrap().role, Role::Support);

    // The success forgot the failures: the next five start from nothing again.
    for i in 0..4 {
        assert!(matches!(sign_in_at(&mut store, "ana", "wrong", at(100 + i)), Err(OperatorError::BadCredentials)));
    }
    assert_eq!(sign_in_at(&mut store, "ana", "ana-password", at(105)).unwrap().name, "ana");

    let outcomes: Vec<String> = voucherdesk::audit::page(
        &store,
        &voucherdesk::audit::AuditQuery { action: Some("operator.sign_in".into()), limit: 100, ..Default::default() },
    )
    .unwrap()
    .into_iter()
    .rev()
    .filter(|e| e.entry.operator.eq_ignore_ascii_case("ana"))
    .map(|e| e.entry.after)
    .collect();
    assert_eq!(
        outcomes,
        [
            "sign-in refused (1 in a row)",
            "sign-in refused (2 in a row)",
            "sign-in refused (3 in a row)",
            "sign-in refused (4 in a row)",
            "sign-in refused (5 in a row; throttled until 2026-03-20T12:00:34Z)",
            "sign-in throttled until 2026-03-20T12:00:34Z",
            "sign-in refused (6 in a row; throttled until 2026-03-20T12:01:34Z)",
            "sign-in throttled until 2026-03-20T12:01:34Z",
            "signed in",
            "sign-in refused (1 in a row)",
            "sign-in refused (2 in a row)",
            "sign-in refused (3 in a row)",
            "sign-in refused (4 in a row)",
            "signed in",
        ]
    );
}

#[test]
fn the_wait_caps_at_fifteen_minutes() {
    use voucherdesk::operators::backoff_secs;
    assert_eq!(
        [4, 5, 6, 7, 9, 10, 40, u32::MAX].map(backoff_secs),
        [None, Some(30), Some(60), Some(120), Some(480), Some(900), Some(900), Some(900)]
    );
}
