//! Reconciliation rules on a hand-written fixture set with known answers
//! (tests/fixtures/recon, see its README), and payment status precedence
//! across files (tests/fixtures/precedence).

use crate::support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::{AS_OF, Ctx, KINDS, counts, expected_kinds, fixture, kind_counts};

/// What the recon fixture set must produce as of 2026-03-20 with the default terms (dLocal T+2,
/// PagoEfectivo T+1) and grace (1 business day).
fn recon_expected_kinds() -> Vec<(String, u64)> {
    expected_kinds(&[
        ("paid_not_recorded", 3),   // R-002 pending_payment, R-018 expired, R-019 cancelled
        ("recorded_not_paid", 2),   // R-003 (no payment), R-004 (payment only PENDING)
        ("duplicate_payment", 1),   // D-005A and D-005B
        ("currency_mismatch", 1),   // D-006 paid in USD for a COP order
        ("amount_mismatch", 1),     // D-007 paid 90000 for 100000
        ("paid_after_expiry", 2),   // D-008 (own expiry), CIP 90000010 (order's expiry)
        ("unknown_order", 1),       // D-011 for R-999
        ("not_settled", 2),         // D-012 (6 business days late), D-013 (2, by its Bogotá date)
        ("settlement_mismatch", 2), // D-015 local amount, D-016 net != gross - fee
        ("unknown_settlement", 2),  // D-404 (no payment), D-004 (not paid)
    ])
}

/// (kind, order_id, payment_id) of every exception, sorted.
fn subjects(exceptions: &[Value]) -> BTreeSet<(String, String, String)> {
    exceptions
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (text("kind"), text("order_id"), text("payment_id"))
        })
        .collect()
}

fn triple(kind: &str, order: &str, payment: &str) -> (String, String, String) {
    (kind.to_string(), order.to_string(), payment.to_string())
}

#[test]
fn every_exception_kind_is_found_with_the_known_counts() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    assert_eq!(counts(&ctx.stats()), (19, 20, 6, 0));

    let summary = ctx.reconcile();
    assert_eq!(summary["as_of"], AS_OF);
    assert_eq!(summary["orders"], 19);
    assert_eq!(summary["payments"], 20);
    assert_eq!(summary["settlements"], 6);
    assert_eq!(kind_counts(&summary), recon_expected_kinds(), "{summary:#}");
    let listed: BTreeSet<&str> =
        summary["exceptions"].as_object().expect("exceptions object").keys().map(String::as_str).collect();
    assert_eq!(listed, KINDS.into_iter().collect(), "exactly the reconciled kinds");
    // Matched, R-020 (paid, no exception about them).
    assert_eq!(summary["matched"], 5);
    assert_eq!(summary["open_exceptions"], 17);
    assert_eq!(counts(&ctx.stats()), (19, 20, 6, 17));

    let expected: BTreeSet<_> = [
        triple("paid_not_recorded", "R-002", ""),
        triple("paid_not_recorded", "R-018", ""),
        triple("paid_not_recorded", "R-019", ""),
        triple("recorded_not_paid", "R-003", ""),
        triple("recorded_not_paid", "R-004", ""),
        triple("duplicate_payment", "R-005", ""),
        triple("currency_mismatch", "R-006", "D-006"),
        triple("amount_mismatch", "R-007", "D-007"),
        triple("paid_after_expiry", "R-008", "D-008"),
        triple("paid_after_expiry", "R-010", "90000010"),
        triple("unknown_order", "R-999", "D-011"),
        triple("not_settled", "R-012", "D-012"),
        triple("not_settled", "R-013", "D-013"),
        triple("settlement_mismatch", "R-015", "D-015"),
        triple("settlement_mismatch", "R-016", "D-016"),
        triple("unknown_settlement", "R-004", "D-004"),
        triple("unknown_settlement", "R-404", "D-404"),
    ]
    .into_iter()
    .collect();
    let all = ctx.exceptions_all();
    assert_eq!(all.len(), 17);
    assert_eq!(subjects(&all), expected);
    assert!(all.iter().all(|e| e["status"] == "open"), "{all:#?}");
}

#[test]
fn reconcile_json_is_one_object_with_every_kind_even_on_an_empty_store() {
    let ctx = Ctx::new();
    let out = ctx.ok(["reconcile", "--as-of", AS_OF, "--json"]);
    let text = support::stdout(&out);
    assert_eq!(text.trim().lines().count(), 1, "exactly one line of JSON on stdout:\n{text}");
    let summary: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(kind_counts(&summary), expected_kinds(&[]));
    for key in ["orders", "payments", "settlements", "matched", "open_exceptions"] {
        assert_eq!(summary[key], 0, "{key}: {summary}");
    }
    assert_eq!(summary["as_of"], AS_OF);
}

/// The recon set imported and reconciled, with the payment ids of the
/// exceptions of `kind` it flagged.
fn reconciled_recon_set_flagging(kind: &str) -> (Ctx, BTreeSet<String>) {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx.reconcile();
    let flagged = ctx
        .exceptions_all()
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["payment_id"].as_str().unwrap().to_string())
        .collect();
    (ctx, flagged)
}

#[test]
fn not_settled_counts_days_between_market_business_dates() {
    let (ctx, flagged) = reconciled_recon_set_flagging("not_settled");
    // dLocal in Colombia settles T+2 business days. D-013 was paid 2026-03-17T02:00Z =
    // 2026-03-16 21:00 in Bogotá: due on the 18th, two business days late on the 20th
    // (its UTC date would make it due on the 19th, one day late: within the grace).
    // D-014, paid 2026-03-17T05:00Z = 00:00 on the 17th in Bogotá, is due on the 19th.
    // CIP 90000010 (PagoEfectivo, T+1) was paid on the 18th in Lima: due on the 19th.
    assert_eq!(flagged, ["D-012".to_string(), "D-013".to_string()].into_iter().collect());

    let ns = |args: &[&str]| -> u64 {
        let mut all = vec!["reconcile", "--json"];
        all.extend_from_slice(args);
        ctx.json(&all)["exceptions"]["not_settled"].as_u64().unwrap()
    };
    assert_eq!(ns(&["--as-of", "2026-03-19"]), 1, "D-013 is one business day late on the 19th: within the grace");
    assert_eq!(ns(&["--as-of", AS_OF, "--settlement-lag-days", "0"]), 4, "no grace: D-014 and 90000010 too");
    assert_eq!(ns(&["--as-of", AS_OF, "--settlement-lag-days", "5"]), 1, "D-012 is 6 business days late");
    assert_eq!(ns(&["--as-of", AS_OF, "--settlement-lag-days", "6"]), 0, "6 is not more than 6");
    assert_eq!(ns(&["--as-of", "2026-03-21"]), 2, "a Saturday adds no business day");
    // Monday the 23rd is San José in Colombia, a business day in Peru: the Lima
    // CIP is two days late, the Bogotá payment D-014 still one.
    assert_eq!(ns(&["--as-of", "2026-03-23"]), 3);
    assert_eq!(ns(&["--as-of", "2026-03-24"]), 4, "D-014 is two business days late on Tuesday");
    assert_eq!(ns(&["--as-of", AS_OF]), 2);
}

#[test]
fn paid_after_expiry_compares_instants_not_local_dates() {
    let (ctx, flagged) = reconciled_recon_set_flagging("paid_after_expiry");
    // D-008: expiry 10:00-05:00, paid 15:01+0000 → 1 minute late (the order's
    //        own, later expiry does not excuse it: the payment's expiry wins).
    // 90000010: no expiry of its own; the order's 12:00Z, paid 07:01 Lima → 1 minute late.
    // D-009: expiry 23:30-05:00 on the 18th, paid 04:29+0000 on the 19th → 1 minute early
    //        although its UTC date is a day after the expiry's local date.
    assert_eq!(flagged, ["90000010".to_string(), "D-008".to_string()].into_iter().collect());
    let d009 = ctx.lookup("D-009");
    assert_eq!(d009.len(), 1);
    assert_eq!(d009[0]["exceptions"].as_array().map(Vec::len), Some(0), "R-009 is clean: {:#}", d009[0]);
}

#[test]
fn amount_tolerance_is_exact_by_default_and_configurable() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    let am = |tolerance: &str| -> u64 {
        ctx.json(["reconcile", "--as-of", AS_OF, "--amount-tolerance-minor", tolerance, "--json"])["exceptions"]
            ["amount_mismatch"]
            .as_u64()
            .unwrap()
    };
    // D-007 is 10,000.00 COP short = 1,000,000 minor units.
    assert_eq!(am("0"), 1);
    assert_eq!(am("999999"), 1);
    assert_eq!(am("1000000"), 0);
}

#[test]
fn reconcile_refuses_bad_options() {
    let ctx = Ctx::new();
    let out = ctx.fails_with(2, ["reconcile", "--as-of", AS_OF, "--settlement-lag-days=-1"]);
    assert!(support::stderr(&out).contains("settlement lag"), "{}", support::stderr(&out));
    ctx.fails_with(2, ["reconcile", "--as-of", "2026-02-30"]);
    ctx.fails_with(2, ["reconcile", "--as-of", "20/03/2026"]);
}

// ─────────────────────────── status precedence ───────────────────────────

struct PrecedenceRun {
    summary: Value,
    ctx: Ctx,
}

fn precedence_run(files: &[(&str, &str)]) -> PrecedenceRun {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("precedence/orders.csv"));
    for (rel, profile) in files {
        ctx.import("payments", profile, &fixture(rel));
    }
    let summary = ctx.reconcile();
    PrecedenceRun { summary, ctx }
}

fn payment(ctx: &Ctx, id: &str) -> Value {
    let cases = ctx.lookup(id);
    assert_eq!(cases.len(), 1, "{id}: {cases:#?}");
    let payments = cases[0]["payments"].as_array().expect("payments").clone();
    assert_eq!(payments.len(), 1, "{id}: {payments:#?}");
    payments[0].clone()
}

/// (status, psp_status, file name, line) of each history entry, sorted.
fn history(p: &Value) -> BTreeSet<(String, String, String, i64)> {
    p["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            let file = h["file"].as_str().unwrap_or("");
            let name = std::path::Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            (
                h["status"].as_str().unwrap_or("").to_string(),
                h["psp_status"].as_str().unwrap_or("").to_string(),
                name,
                h["line"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn obs(status: &str, psp_status: &str, file: &str, line: i64) -> (String, String, String, i64) {
    (status.to_string(), psp_status.to_string(), file.to_string(), line)
}

fn assert_precedence_outcome(run: &PrecedenceRun, label: &str) {
    let ctx = &run.ctx;
    assert_eq!(counts(&ctx.stats()), (4, 4, 0, 0), "{label}: one row per payment");

    let d2001 = payment(ctx, "D-2001");
    assert_eq!(d2001["status"], "paid", "{label}: a late PENDING report does not move D-2001 back");
    assert_eq!(d2001["paid_at"], "2026-03-18T15:00:00Z", "{label}");
    assert_eq!(
        history(&d2001),
        [obs("paid", "PAID", "dlocal_paid.csv", 3), obs("pending", "PENDING", "dlocal_pending_older.csv", 2)]
            .into_iter()
            .collect(),
        "{label}: {d2001:#}"
    );

    let d2002 = payment(ctx, "D-2002");
    assert_eq!(d2002["status"], "paid", "{label}: paid outranks expired");
    assert_eq!(
        history(&d2002),
        [obs("paid", "PAID", "dlocal_paid.csv", 2), obs("expired", "EXPIRED", "dlocal_pending_older.csv", 3)]
            .into_iter()
            .collect(),
        "{label}: {d2002:#}"
    );

    assert_eq!(payment(ctx, "D-2003")["status"], "pending", "{label}");

    let cip = payment(ctx, "90002004");
    assert_eq!(cip["status"], "reversed", "{label}: reversed (Extornado) outranks paid");
    assert_eq!(
        history(&cip),
        [obs("paid", "Pagado", "pe_pagado.csv", 2), obs("reversed", "Extornado", "pe_extornado.csv", 2)]
            .into_iter()
            .collect(),
        "{label}"
    );
}

#[test]
fn status_precedence_holds_whatever_order_the_files_arrive_in() {
    let newest_first = precedence_run(&[
        ("precedence/dlocal_paid.csv", "dlocal"),
        ("precedence/dlocal_pending_older.csv", "dlocal"),
        ("precedence/pe_extornado.csv", "pagoefectivo"),
        ("precedence/pe_pagado.csv", "pagoefectivo"),
    ]);
    let oldest_first = precedence_run(&[
        ("precedence/dlocal_pending_older.csv", "dlocal"),
        ("precedence/dlocal_paid.csv", "dlocal"),
        ("precedence/pe_pagado.csv", "pagoefectivo"),
        ("precedence/pe_extornado.csv", "pagoefectivo"),
    ]);
    assert_precedence_outcome(&newest_first, "PAID file first");
    assert_precedence_outcome(&oldest_first, "PENDING file first");

    // P-1 and P-2 are paid and match; P-3 waits for payment; P-4 was reversed
    // and the shop has it as refunded (nothing shipped: no finding).
    assert_eq!(kind_counts(&newest_first.summary), expected_kinds(&[]), "{:#}", newest_first.summary);
    assert_eq!(newest_first.summary["matched"], 2);
    assert_eq!(newest_first.summary, oldest_first.summary, "identical reconciliation in both orders");
}
