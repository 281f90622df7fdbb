//! The exception queue across runs: stable ids, resolutions that stick,
//! exceptions cleared by new data, manual links, resolve errors, and the audit log.

use crate::support;

use serde_json::Value;
use std::collections::BTreeMap;
use support::{AS_OF, Ctx, KINDS, counts, fixture, stderr, stdout};

/// id → status of every exception.
fn statuses(ctx: &Ctx) -> BTreeMap<String, String> {
    ctx.exceptions_all()
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e["status"].as_str().unwrap().to_string()))
        .collect()
}

fn id_of(e: &Value) -> String {
    e["id"].as_str().expect("id").to_string()
}

fn show(ctx: &Ctx, id: &str) -> Value {
    ctx.json(["exceptions", "show", id, "--json"])
}

fn resolve<'a>(ctx: &Ctx, id: &'a str, action: &'a str, extra: &[&'a str]) -> std::process::Output {
    let mut args = vec!["exceptions", "resolve", id, "--action", action];
    args.extend_from_slice(extra);
    ctx.run(&args)
}

fn list_len(ctx: &Ctx, status: &str) -> usize {
    ctx.json(["exceptions", "list", "--status", status, "--json"]).as_array().expect("array").len()
}

fn reconciled() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    let summary = ctx.reconcile();
    assert_eq!(summary["open_exceptions"], 17, "{summary}");
    ctx
}

#[test]
fn reconciling_again_keeps_the_same_ids_and_adds_nothing() {
    let ctx = reconciled();
    let first = ctx.exceptions_all();
    assert_eq!(first.len(), 17);
    let second_summary = ctx.reconcile();
    let second = ctx.exceptions_all();
    assert_eq!(second.len(), 17, "no duplicates");
    let ids = |list: &[Value]| list.iter().map(id_of).collect::<Vec<_>>();
    assert_eq!(ids(&second), ids(&first));
    let mut unique = ids(&second);
    unique.dedup();
    assert_eq!(unique.len(), 17, "ids are distinct");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a["status"], "open");
        assert_eq!(b["status"], "open");
        assert_eq!(a["detected_at"], b["detected_at"], "first detection is kept for {}", a["id"]);
        assert_eq!(a["kind"], b["kind"]);
    }
    assert_eq!(second_summary["open_exceptions"], 17);
    assert_eq!(counts(&ctx.stats()).3, 17);

    // The id depends on what the exception is about, not on the database.
    let other = reconciled();
    assert_eq!(ids(&other.exceptions_all()), ids(&first), "same facts → same ids in another database");
}

#[test]
fn a_resolved_exception_stays_resolved_while_the_facts_are_unchanged() {
    let ctx = reconciled();
    let id = id_of(&ctx.exception("amount_mismatch", "D-007"));
    let note = "buyer paid the remaining 10.000 COP at the store";
    let out = resolve(&ctx, &id, "accept", &["--note", note, "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let shown = show(&ctx, &id);
    assert_eq!(shown["exception"]["status"], "resolved");
    assert_eq!(shown["exception"]["resolution"], "accept");
    assert_eq!(shown["exception"]["resolved_by"], "ana");
    assert_eq!(shown["exception"]["note"], note);
    assert_eq!(list_len(&ctx, "open"), 16);
    assert_eq!(list_len(&ctx, "resolved"), 1);
    assert_eq!(counts(&ctx.stats()).3, 16);

    for _ in 0..2 {
        let summary = ctx.reconcile();
        assert_eq!(summary["exceptions"]["amount_mismatch"], 1, "this run's findings count resolved ones too");
        assert_eq!(summary["open_exceptions"], 16);
        assert_eq!(show(&ctx, &id)["exception"]["status"], "resolved");
    }
    assert_eq!(ctx.exceptions_all().len(), 17);

    let history = show(&ctx, &id)["history"].as_array().expect("history").clone();
    let resolution: Vec<&Value> =
        history.iter().filter(|h| h["event"].as_str().unwrap_or("").contains("resolved")).collect();
    assert_eq!(resolution.len(), 1, "{history:#?}");
    assert_eq!(resolution[0]["operator"], "ana");
    assert_eq!(resolution[0]["note"], note);
    assert_eq!(resolution[0]["to_status"], "resolved");
}

#[test]
fn an_exception_whose_condition_is_gone_is_cleared_by_data() {
    let ctx = reconciled();
    let id = id_of(&ctx.exception("paid_not_recorded", "R-002"));
    let verdict = ctx.lookup("R-002")[0]["verdict"]["text"].as_str().unwrap().to_string();
    assert!(verdict.contains("deliver the order"), "{verdict}");

    // The shop's next export says R-002 is paid.
    ctx.import("orders", "shop", &fixture("recon/orders_fix.csv"));
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["paid_not_recorded"], 2);
    assert_eq!(summary["open_exceptions"], 16);
    assert_eq!(summary["matched"], 6, "R-002 now matches");

    let shown = show(&ctx, &id);
    assert_eq!(shown["exception"]["status"], "cleared");
    let history = shown["history"].as_array().expect("history");
    assert!(history.iter().any(|h| h["event"] == "detected"), "{history:#?}");
    let cleared: Vec<&Value> = history.iter().filter(|h| h["event"] == "cleared by data").collect();
    assert_eq!(cleared.len(), 1, "{history:#?}");
    assert_eq!(cleared[0]["to_status"], "cleared");

    // Kept, but no longer open.
    assert_eq!(ctx.exceptions_all().len(), 17);
    assert_eq!(list_len(&ctx, "open"), 16);
    assert_eq!(statuses(&ctx)[&id], "cleared");
    let verdict = ctx.lookup("R-002")[0]["verdict"]["text"].as_str().unwrap().to_string();
    assert!(!verdict.contains("deliver the order"), "{verdict}");

    // Another run does not reopen or duplicate it.
    ctx.reconcile();
    assert_eq!(statuses(&ctx)[&id], "cleared");
    assert_eq!(ctx.exceptions_all().len(), 17);

    // A cleared exception cannot be resolved by hand.
    let out = resolve(&ctx, &id, "accept", &["--note", "late", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already cleared"), "{}", stderr(&out));
}

#[test]
fn resolve_refuses_bad_requests_and_changes_nothing() {
    let ctx = reconciled();
    let id = id_of(&ctx.exception("currency_mismatch", "D-006"));
    let before = ctx.exceptions_all();
    let audit_before = ctx.audit_entries();

    // --note missing altogether (a usage error) or blank.
    let out = resolve(&ctx, &id, "accept", &["--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--note"), "{}", stderr(&out));
    let out = resolve(&ctx, &id, "accept", &["--note", "   ", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("note is required"), "{}", stderr(&out));
    // --operator blank.
    let out = resolve(&ctx, &id, "accept", &["--note", "ok", "--operator", " "]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("operator"), "{}", stderr(&out));
    // Unknown id.
    let out = resolve(&ctx, "EX-0000000000000000", "accept", &["--note", "ok", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no exception with id \"EX-0000000000000000\""), "{}", stderr(&out));
    // Unknown action; link without a target.
    let out = resolve(&ctx, &id, "ignore", &["--note", "ok", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown action \"ignore\""), "{}", stderr(&out));
    let out = resolve(&ctx, &id, "link", &["--note", "ok", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Link to an order that does not exist.
    let out = resolve(&ctx, &id, "link", &["--order", "R-NOPE", "--note", "ok", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("R-NOPE"), "{}", stderr(&out));

    assert_eq!(ctx.exceptions_all(), before, "refused resolutions change nothing");
    assert_eq!(ctx.audit_entries(), audit_before);

    // Resolving twice: the second is refused and says so.
    let out = resolve(&ctx, &id, "escalate", &["--note", "ask dLocal about the USD charge", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = resolve(&ctx, &id, "accept", &["--note", "again", "--operator", "luis"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already resolved"), "{}", stderr(&out));
    let shown = show(&ctx, &id);
    assert_eq!(shown["exception"]["resolution"], "escalate", "the first resolution stands");
    assert_eq!(shown["exception"]["resolved_by"], "ana");

    // `show` of an unknown id.
    let out = ctx.run(["exceptions", "show", "EX-0000000000000000", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn linking_a_payment_to_its_order_clears_unknown_order() {
    let ctx = reconciled();
    let unknown = id_of(&ctx.exception("unknown_order", "D-011"));
    let not_paid = id_of(&ctx.exception("recorded_not_paid", "R-003"));
    assert!(ctx.lookup("R-003")[0]["payments"].as_array().unwrap().is_empty());

    let out = resolve(
        &ctx,
        &unknown,
        "link",
        &["--order", "R-003", "--note", "buyer typed R-999 instead of R-003", "--operator", "ana"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["unknown_order"], 0, "{summary}");
    assert_eq!(summary["exceptions"]["recorded_not_paid"], 1, "R-003 is now paid by D-011: {summary}");
    assert_eq!(summary["matched"], 6);
    assert_eq!(summary["open_exceptions"], 15, "{summary}");
    assert_eq!(show(&ctx, &unknown)["exception"]["status"], "resolved");
    assert_eq!(show(&ctx, &not_paid)["exception"]["status"], "cleared");

    let case = &ctx.lookup("R-003")[0];
    let payments = case["payments"].as_array().expect("payments");
    assert_eq!(payments.len(), 1, "{case:#}");
    assert_eq!(payments[0]["payment_id"], "D-011");
    assert_eq!(payments[0]["linked_order_id"], "R-003");
    assert_eq!(ctx.lookup_ids("D-011"), ["R-003"], "the payment id now finds the linked order");
    assert_eq!(ctx.lookup_ids("4000000011"), ["R-003"], "and so does its voucher code");
}

#[test]
fn exceptions_list_json_has_the_documented_fields_and_filters() {
    let ctx = reconciled();
    let before = chrono::Utc::now();
    let list = ctx.json(["exceptions", "list", "--json"]);
    let after = chrono::Utc::now();
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 17, "default: open ones");
    for e in list {
        assert!(e["id"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
        assert!(KINDS.contains(&e["kind"].as_str().unwrap_or("")), "{e}");
        assert_eq!(e["status"], "open", "{e}");
        assert!(e["order_id"].is_string(), "{e}");
        assert!(e["payment_id"].is_string(), "{e}");
        let detected = e["detected_at"].as_str().unwrap_or_else(|| panic!("detected_at: {e}"));
        assert!(chrono_like(detected), "detected_at should be an RFC 3339 UTC timestamp: {detected}");
        // The age counts from the business event (payment or order), which comes before detection.
        let occurred = e["occurred_at"].as_str().unwrap_or_else(|| panic!("occurred_at: {e}"));
        let occurred: chrono::DateTime<chrono::Utc> = occurred.parse().unwrap_or_else(|_| panic!("{occurred}"));
        let detected: chrono::DateTime<chrono::Utc> = detected.parse().unwrap_or_else(|_| panic!("{detected}"));
        assert!(occurred <= detected, "{e}");
        let age = e["age_days"].as_i64().unwrap_or_else(|| panic!("age_days: {e}"));
        let (low, high) = ((before - occurred).num_days(), (after - occurred).num_days());
        assert!(age == low || age == high, "{age} whole days since {occurred}: {e}");
        assert!(age > 0, "the fixtures' payments and orders are older than today: {e}");
    }
    let not_settled = ctx.json(["exceptions", "list", "--kind", "not_settled", "--json"]);
    assert_eq!(not_settled.as_array().map(Vec::len), Some(2));
    let out = ctx.run(["exceptions", "list", "--kind", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown kind"), "{}", stderr(&out));
    // Text output too.
    let out = ctx.ok(["exceptions", "list"]);
    assert_eq!(stdout(&out).lines().count(), 17);
}

/// `YYYY-MM-DDTHH:MM:SSZ` (seconds fraction allowed).
fn chrono_like(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && text.ends_with('Z')
        && text[..4].parse::<u32>().is_ok_and(|y| y >= 2000)
}

#[test]
fn the_audit_log_verifies_after_imports_reconcile_and_resolve() {
    let ctx = Ctx::new();
    assert_eq!(ctx.audit_entries(), 5, "a new database's log holds the creation of its five operators");
    ctx.import_recon_set();
    let after_imports = ctx.audit_entries();
    assert!(after_imports >= 5, "one entry per imported file at least: {after_imports}");
    ctx.json(["reconcile", "--as-of", AS_OF, "--json"]);
    let after_reconcile = ctx.audit_entries();
    assert!(after_reconcile > after_imports);
    let id = id_of(&ctx.exception("not_settled", "D-012"));
    let out =
        resolve(&ctx, &id, "mark_received", &["--note", "seen on the 12 March bank statement", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after_resolve = ctx.audit_entries();
    assert!(after_resolve > after_reconcile, "the resolution is in the audit log");

    let out = ctx.ok(["audit", "verify"]);
    assert!(stdout(&out).contains("intact"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("{after_resolve} entries")), "{}", stdout(&out));
}

#[test]
fn a_resolved_exception_reopens_when_its_facts_change() {
    let ctx = reconciled();
    let id = id_of(&ctx.exception("amount_mismatch", "D-007"));
    let out = resolve(&ctx, &id, "write_off", &["--note", "small difference, written off", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    ctx.reconcile();
    assert_eq!(show(&ctx, &id)["exception"]["status"], "resolved");

    // The shop re-prices R-007 (100000 → 120000): the decision was made on other facts.
    let original = std::fs::read_to_string(fixture("recon/orders.csv")).unwrap();
    let header = original.lines().next().unwrap();
    let r007 = original.lines().find(|l| l.starts_with("R-007,")).unwrap().replace(",100000.00,", ",120000.00,");
    let update = ctx.path("orders-r007.csv");
    std::fs::write(&update, format!("{header}\n{r007}\n")).unwrap();
    ctx.import("orders", "shop", &update);
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["amount_mismatch"], 1);
    assert_eq!(summary["open_exceptions"], 17, "{summary}");
    let shown = show(&ctx, &id);
    assert_eq!(shown["exception"]["status"], "open", "{shown:#}");
    assert_eq!(shown["exception"]["id"], id.as_str(), "same id, not a new exception");
    assert_eq!(ctx.exceptions_all().len(), 17);
}

#[test]
fn audit_list_shows_everyone_unless_filtered_by_operator() {
    // The acting operator (VOUCHERDESK_OPERATOR=admin in Ctx) must not filter
    // the log: `--by` does, explicitly.
    let ctx = reconciled();
    let id = id_of(&ctx.exception("not_settled", "D-012"));
    let out = resolve(&ctx, &id, "mark_received", &["--note", "bank statement", "--operator", "ana"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let everyone = ctx.json(["audit", "list", "--limit", "500", "--json"]);
    let operators: std::collections::BTreeSet<String> =
        everyone.as_array().unwrap().iter().map(|e| e["operator"].as_str().unwrap().to_string()).collect();
    assert!(operators.contains("ana") && operators.contains("admin"), "{operators:?}");
    let by_ana = ctx.json(["audit", "list", "--by", "ana", "--limit", "500", "--json"]);
    let rows = by_ana.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{by_ana}");
    assert_eq!(rows[0]["operator"], "ana");
}
