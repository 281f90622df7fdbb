//! `voucherdesk backup` and `restore`: one archive that round-trips every
//! table and the audit chain, a damaged archive that replaces nothing, and a
//! backup taken while an import runs that is one committed state.

use crate::support;

use std::path::Path;
use support::*;
use voucherdesk::store::Store;

fn counts(db: &Path) -> std::collections::BTreeMap<String, i64> {
    Store::open(db).unwrap().table_row_counts().unwrap()
}

/// The CLI on another database file than the context's.
fn on(db: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
    cmd.arg("--db").arg(db).env_remove("VOUCHERDESK_DB").env("VOUCHERDESK_OPERATOR", "admin");
    cmd
}

fn reconciled_ledger() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx.reconcile();
    ctx
}

#[test]
fn a_backup_restores_every_table_and_the_audit_chain_and_keeps_the_replaced_file() {
    let ctx = reconciled_ledger();
    let archive = ctx.path("ledger.vdbackup");
    let before = counts(&ctx.db);
    let out = ctx.ok(["backup", "--out", archive.to_str().unwrap(), "--json"]);
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["manifest"]["tables"]["orders"], before["orders"]);
    assert_eq!(answer["manifest"]["schema_version"], voucherdesk::store::schema_version_latest());
    let head = answer["manifest"]["audit_head"].as_str().unwrap().to_string();

    // Into a new file: the same rows in every table, the same chain.
    let elsewhere = ctx.path("restored.sqlite");
    let out = on(&elsewhere).args(["restore", archive.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(stdout(&out).contains(&format!("audit chain intact, head {head}")), "{}", stdout(&out));
    let mut restored = counts(&elsewhere);
    // The restore itself is the one new audit entry.
    assert_eq!(restored.remove("audit_log").unwrap(), before["audit_log"] + 1);
    let mut expected = before.clone();
    expected.remove("audit_log");
    assert_eq!(restored, expected);
    let store = Store::open(&elsewhere).unwrap();
    assert_eq!(voucherdesk::audit::verify(&store).unwrap().first_broken, None);
    drop(store);
    let case = on(&elsewhere).args(["lookup", "R-002", "--json"]).output().unwrap();
    assert!(stdout(&case).contains("\"deliver_order\""), "{}", stdout(&case));

    // Over the live file: the one it replaced is kept aside, byte for byte.
    let original = std::fs::read(&ctx.db).unwrap();
    let out = ctx.ok(["restore", archive.to_str().unwrap()]);
    let kept =
        stdout(&out).lines().find_map(|l| l.strip_prefix("the database it replaced is kept at ")).unwrap().to_string();
    assert_eq!(std::fs::read(&kept).unwrap(), original);
}

#[test]
fn a_damaged_archive_is_refused_and_nothing_is_replaced() {
    let ctx = reconciled_ledger();
    let archive = ctx.path("ledger.vdbackup");
    ctx.ok(["backup", "--out", archive.to_str().unwrap()]);
    let mut bytes = std::fs::read(&archive).unwrap();
    // Past the manifest (the first entry): inside the database's pages.
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    let damaged = ctx.path("damaged.vdbackup");
    std::fs::write(&damaged, &bytes).unwrap();
    let before = std::fs::read(&ctx.db).unwrap();
    let out = ctx.fails_with(2, ["restore", damaged.to_str().unwrap()]);
    assert!(stderr(&out).contains("the backup is damaged"), "{}", stderr(&out));
    assert!(stderr(&out).contains("SHA-256") && stderr(&out).contains("[backup.damaged]"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&ctx.db).unwrap(), before, "the database is untouched");
    let leftovers: Vec<_> = std::fs::read_dir(ctx.dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.contains(".replaced-") || n.contains(".restore-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Not an archive at all.
    let junk = ctx.path("junk.vdbackup");
    std::fs::write(&junk, b"order_id,store\n").unwrap();
    let out = ctx.fails_with(2, ["restore", junk.to_str().unwrap()]);
    assert!(stderr(&out).contains("[backup."), "{}", stderr(&out));
    assert_eq!(std::fs::read(&ctx.db).unwrap(), before);
}

#[test]
fn a_backup_taken_while_an_import_runs_is_one_committed_state() {
    let ctx = Ctx::new();
    let demo_dir = ctx.path("demo");
    let files = assert_cmd::Command::cargo_bin("voucherdesk")
        .unwrap()
        .args(["demo", "--orders", "4000", "--seed", "5", "--out", demo_dir.to_str().unwrap()])
        .env_remove("VOUCHERDESK_DB")
        .output()
        .unwrap();
    assert!(files.status.success(), "{}", all_output(&files));
    let orders = std::fs::read_dir(&demo_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("orders-co"))
        .expect("the demo's Colombian orders");
    let importing = {
        let cmd = ctx.cmd().args(["import", "orders", orders.to_str().unwrap(), "--profile", "shop"]).output();
        std::thread::spawn(move || cmd)
    };
    let archive = ctx.path("during.vdbackup");
    ctx.ok(["backup", "--out", archive.to_str().unwrap()]);
    let import = importing.join().unwrap().unwrap();
    assert!(import.status.success(), "{}", all_output(&import));
    let after = counts(&ctx.db)["orders"];
    let copy = ctx.path("copy.sqlite");
    let out = on(&copy).args(["restore", archive.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", all_output(&out));
    let orders_in_copy = counts(&copy)["orders"];
    assert!(orders_in_copy == 0 || orders_in_copy == after, "an import is all or nothing: {orders_in_copy} of {after}");
}

#[test]
fn only_an_admin_backs_up() {
    let ctx = reconciled_ledger();
    let archive = ctx.path("x.vdbackup");
    let out = ctx.fails_with(2, ["--operator", "sam", "backup", "--out", archive.to_str().unwrap()]);
    assert!(stderr(&out).contains("[auth.forbidden]"), "{}", stderr(&out));
    assert!(!archive.exists());
}

#[test]
fn a_restored_ledger_verifies_against_its_own_anchor_not_the_replaced_one() {
    let ctx = reconciled_ledger();
    let archive = ctx.path("ledger.vdbackup");
    ctx.ok(["backup", "--out", archive.to_str().unwrap()]);
    // The live ledger moves on after the backup, so its anchor is ahead of the archive's chain.
    ctx.ok(["--operator", "ana", "reconcile"]);
    ctx.ok(["restore", archive.to_str().unwrap()]);
    let out = ctx.ok(["audit", "verify"]);
    assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
}
