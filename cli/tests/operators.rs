//! Operators and roles through the CLI: the first admin, admin-only
//! management, and permissions enforced whatever face calls the library.

mod common;
use common::*;

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
