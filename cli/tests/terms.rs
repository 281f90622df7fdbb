//! Business days, settlement terms, ship policy and the post-expiry rules on
//! hand-written fixtures (tests/fixtures/terms, see its README), the
//! `settings` command, and the demo's counts of the new kinds.

use crate::support;

use serde_json::Value;
use std::collections::BTreeSet;
use support::{Ctx, expected_kinds, fixture, kind_counts};

const AS_OF: &str = "2026-03-24";

fn import_terms_set(ctx: &Ctx) {
    ctx.import("orders", "shop", &fixture("terms/orders.csv"));
    ctx.import("payments", "dlocal", &fixture("terms/dlocal.csv"));
    ctx.import("payments", "pagoefectivo", &fixture("terms/pagoefectivo.csv"));
    ctx.import("settlements", "pagoefectivo-settlement", &fixture("terms/pagoefectivo_settlement.csv"));
}

fn reconcile(ctx: &Ctx, args: &[&str]) -> Value {
    let mut all = vec!["reconcile", "--json"];
    all.extend_from_slice(args);
    ctx.json(&all)
}

/// Payment (or order, for order kinds) ids of the open exceptions of `kind`.
fn open_subjects(ctx: &Ctx, kind: &str) -> BTreeSet<String> {
    ctx.exceptions_all()
        .iter()
        .filter(|e| e["kind"] == kind && e["status"] == "open")
        .map(|e| {
            let payment = e["payment_id"].as_str().unwrap_or("");
            if payment.is_empty() { e["order_id"].as_str().unwrap().to_string() } else { payment.to_string() }
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn verdict(ctx: &Ctx, order: &str) -> (String, String) {
    let cases = ctx.json(["lookup", order, "--json"]);
    let case = cases.as_array().unwrap().iter().find(|c| c["order_id"] == order).expect("the case file").clone();
    (case["verdict"]["code"].as_str().unwrap().to_string(), case["verdict"]["text"].as_str().unwrap().to_string())
}

#[test]
fn every_rule_finds_its_trap_and_nothing_else() {
    let ctx = Ctx::new();
    import_terms_set(&ctx);
    let summary = reconcile(&ctx, &["--as-of", AS_OF]);
    assert_eq!((summary["orders"].as_u64(), summary["payments"].as_u64()), (Some(17), Some(19)));
    assert_eq!(
        kind_counts(&summary),
        expected_kinds(&[
            ("paid_not_recorded", 4),
            ("duplicate_payment", 1),
            ("amount_mismatch", 2),
            ("paid_after_expiry", 1),
            ("not_settled", 1),
            ("expired_unpaid", 1),
            ("stale_pending", 1),
            ("payment_id_mismatch", 1),
        ]),
        "{summary:#}"
    );
    assert_eq!(summary["matched"], 4);
    assert_eq!(open_subjects(&ctx, "expired_unpaid"), set(&["T-008"]));
    assert_eq!(open_subjects(&ctx, "stale_pending"), set(&["93000011"]));
    assert_eq!(open_subjects(&ctx, "payment_id_mismatch"), set(&["T-013"]));
    assert_eq!(open_subjects(&ctx, "not_settled"), set(&["93000004"]));
    let mismatch = ctx.exception("payment_id_mismatch", "T-013");
    assert_eq!(
        mismatch["detail"],
        "the shop names payment \"D-9999\" but dlocal:D-013 paid it: check which payment the shop recorded"
    );
    let stale = ctx.exception("stale_pending", "93000011");
    assert_eq!(
        stale["detail"],
        "pagoefectivo still says pending 14 days after the voucher expired at 2026-03-10T14:00:00Z: \
         the PSP never closed this voucher, ask them"
    );
    let expired = ctx.exception("expired_unpaid", "T-008");
    assert_eq!(
        expired["detail"],
        "the voucher expired at 2026-03-18T15:00:00Z and nothing is paid, but the shop still says pending_payment: \
         release the stock (cancel the order) or issue a new voucher"
    );
}

#[test]
fn a_friday_payment_counts_business_days_in_its_own_market() {
    let ctx = Ctx::new();
    import_terms_set(&ctx);
    let late = |as_of: &str, extra: &[&str]| -> BTreeSet<String> {
        let mut args = vec!["--as-of", as_of];
        args.extend_from_slice(extra);
        reconcile(&ctx, &args);
        let all = open_subjects(&ctx, "not_settled");
        ["D-001", "D-002", "93000003"].into_iter().filter(|p| all.contains(*p)).map(String::from).collect()
    };
    // Paid Friday the 20th. Colombia: Monday 23 is San José, T+2 is due Wednesday 25.
    // Peru: T+2 (dLocal) due Tuesday 24, T+1 (PagoEfectivo) due Monday 23.
    assert_eq!(late("2026-03-24", &[]), set(&[]), "nothing is late on Tuesday");
    assert_eq!(late("2026-03-24", &["--settlement-lag-days", "0"]), set(&["93000003"]));
    assert_eq!(late("2026-03-25", &[]), set(&["93000003"]));
    assert_eq!(late("2026-03-25", &["--settlement-lag-days", "0"]), set(&["D-002", "93000003"]));
    assert_eq!(late("2026-03-26", &[]), set(&["D-002", "93000003"]), "the holiday keeps D-001 inside its terms");
    assert_eq!(late("2026-03-26", &["--settlement-lag-days", "0"]), set(&["D-001", "D-002", "93000003"]));
    assert_eq!(late("2026-03-27", &[]), set(&["D-001", "D-002", "93000003"]));
    let detail = ctx.exception("not_settled", "D-001")["detail"].as_str().unwrap().to_string();
    assert_eq!(
        detail,
        "paid on 2026-03-20 (market date), settlement due by 2026-03-25 (T+2 business days): none reported"
    );
    // Longer terms for dLocal in Colombia: T+5 from Friday 20 is Monday 30.
    ctx.ok(["settings", "--terms", "dlocal:CO=5"]);
    assert_eq!(late("2026-03-27", &[]), set(&["D-002", "93000003"]));
    assert_eq!(late("2026-03-31", &[]), set(&["D-002", "93000003"]));
    assert_eq!(late("2026-04-01", &[]), set(&["D-001", "D-002", "93000003"]));
}

#[test]
fn post_expiry_rules_wait_their_thresholds() {
    let ctx = Ctx::new();
    import_terms_set(&ctx);
    reconcile(&ctx, &["--as-of", "2026-03-25"]);
    assert_eq!(open_subjects(&ctx, "expired_unpaid"), set(&["T-008", "T-009"]), "T-009: 24 h passed on the 25th");
    assert_eq!(open_subjects(&ctx, "stale_pending"), set(&["93000011"]), "T-012: 2.6 days, not yet 3");
    reconcile(&ctx, &["--as-of", "2026-03-26"]);
    assert_eq!(open_subjects(&ctx, "stale_pending"), set(&["93000011", "93000012"]));
    reconcile(&ctx, &["--as-of", "2026-03-28"]);
    assert_eq!(open_subjects(&ctx, "expired_unpaid"), set(&["T-008", "T-009", "T-010"]), "the new voucher expired");
    // Longer thresholds, set by an admin: T-010 (37 h) is cleared, T-011 and T-012 too.
    ctx.ok(["settings", "--expired-unpaid-hours", "96", "--stale-pending-days", "20"]);
    reconcile(&ctx, &["--as-of", "2026-03-28"]);
    assert_eq!(open_subjects(&ctx, "expired_unpaid"), set(&["T-008", "T-009"]));
    assert_eq!(open_subjects(&ctx, "stale_pending"), set(&[]));
}

#[test]
fn the_percentage_tolerance_stands_beside_the_absolute_one() {
    let ctx = Ctx::new();
    import_terms_set(&ctx);
    reconcile(&ctx, &["--as-of", AS_OF]);
    assert_eq!(open_subjects(&ctx, "amount_mismatch"), set(&["D-016", "D-017"]));
    ctx.ok(["settings", "--amount-tolerance-percent", "1"]);
    reconcile(&ctx, &["--as-of", AS_OF]);
    assert_eq!(open_subjects(&ctx, "amount_mismatch"), set(&["D-017"]), "0.5 % is within 1 %, 2 % is not");
    // The absolute tolerance still applies when it is the larger one: 2,000.00 COP.
    reconcile(&ctx, &["--as-of", AS_OF, "--amount-tolerance-minor", "200000"]);
    assert_eq!(open_subjects(&ctx, "amount_mismatch"), set(&[]));
}

#[test]
fn verdicts_follow_the_ship_policy() {
    let ctx = Ctx::new();
    import_terms_set(&ctx);
    reconcile(&ctx, &["--as-of", AS_OF]);
    assert_eq!(
        verdict(&ctx, "T-004"),
        (
            "hold_until_settled".into(),
            "Paid at PagoEfectivo on 4 Mar 11:02 Lima; settlement expected by 5 Mar (T+1 business days); \
             the shop says pending_payment → hold shipping until settled"
                .into()
        )
    );
    assert_eq!(verdict(&ctx, "T-003").0, "hold_until_settled", "the shop says paid, the CIP is not settled");
    assert_eq!(
        verdict(&ctx, "T-005"),
        (
            "deliver_order".into(),
            "Paid at Efecty on 23 Mar 11:00 Bogotá; the shop still says pending_payment → deliver the order".into()
        )
    );
    assert_eq!(verdict(&ctx, "T-006").0, "deliver_order", "settled: PagoEfectivo's policy is met");
    let (code, text) = verdict(&ctx, "T-007");
    assert_eq!(code, "paid_after_expiry");
    assert_eq!(
        text,
        "Paid at Efecty on 23 Mar 10:01 Bogotá, 24 h after the voucher expired; the shop says pending_payment → \
         check the stock is still held before shipping, otherwise refund the buyer"
    );
    assert_eq!(verdict(&ctx, "T-013").0, "check_payment_id");
    assert_eq!(verdict(&ctx, "T-001").0, "all_good");
    let (code, text) = verdict(&ctx, "T-008");
    assert_eq!(code, "expired_unpaid");
    assert!(
        text.ends_with("→ release the stock (cancel the order), or issue a new voucher if the buyer still wants it")
    );
    let (code, text) = verdict(&ctx, "T-011");
    assert_eq!(code, "expired_unpaid");
    assert!(text.contains("but the PSP still says pending (ask them to close it)"), "{text}");

    // Policies changed by an admin: dLocal Colombia waits for settlement, PagoEfectivo Peru ships on paid.
    ctx.ok(["settings", "--ship-on", "dlocal:CO=settled", "--ship-on", "pagoefectivo:PE=paid"]);
    assert_eq!(verdict(&ctx, "T-004").0, "deliver_order");
    assert_eq!(verdict(&ctx, "T-003").0, "all_good");
    let (code, text) = verdict(&ctx, "T-005");
    assert_eq!(code, "hold_until_settled");
    assert!(text.contains("settlement expected by 25 Mar (T+2 business days)"), "{text}");
    assert_eq!(verdict(&ctx, "T-001").0, "hold_until_settled");
}

#[test]
fn settings_are_admin_only_validated_and_audited() {
    let ctx = Ctx::new();
    let shown = ctx.json(["settings", "--json"]);
    assert_eq!(shown["calendar_years"], serde_json::json!([2024, 2028]));
    assert_eq!(shown["settings"]["settlement_lag_days"], 1);
    let channels: Vec<(String, String, u64, String)> = shown["terms"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["psp"].as_str().unwrap().into(),
                c["market"].as_str().unwrap().into(),
                c["settle_business_days"].as_u64().unwrap(),
                c["ship_on"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        channels,
        [
            ("dlocal".into(), "CO".into(), 2, "paid".into()),
            ("dlocal".into(), "PE".into(), 2, "paid".into()),
            ("pagoefectivo".into(), "PE".into(), 1, "settled".into()),
        ]
    );
    assert_eq!(
        (shown["terms"]["expired_unpaid_hours"].as_i64(), shown["terms"]["stale_pending_days"].as_i64()),
        (Some(24), Some(3))
    );
    let before = ctx.audit_entries();

    // A manager may not change them; bad values are refused; nothing is written either way.
    let out = ctx.fails_with(2, ["settings", "--ship-on", "pagoefectivo:PE=paid", "--operator", "ana"]);
    assert!(support::stderr(&out).contains("auth.forbidden"), "{}", support::stderr(&out));
    let out = ctx.fails_with(2, ["settings", "--terms", "dlocal:CO=31"]);
    assert!(
        support::stderr(&out).contains("dlocal CO: settlement terms must be T+0 to T+30 business days"),
        "{}",
        support::stderr(&out)
    );
    let out = ctx.fails_with(2, ["settings", "--ship-on", "dlocal:CO=shipped"]);
    assert!(support::stderr(&out).contains("expected paid or settled"), "{}", support::stderr(&out));
    let out = ctx.fails_with(2, ["settings", "--terms", "dlocal:AR=2"]);
    assert!(support::stderr(&out).contains("unknown country"), "{}", support::stderr(&out));
    ctx.fails_with(2, ["settings", "--amount-tolerance-percent", "abc"]);
    ctx.fails_with(2, ["settings", "--stale-pending-days", "0"]);
    assert_eq!(ctx.audit_entries(), before);
    assert_eq!(ctx.json(["settings", "--json"]), shown);

    // An admin may; the audit log keeps before and after.
    let out = ctx.ok(["settings", "--terms", "dlocal:CO=T+3", "--ship-on", "dlocal:CO=settled"]);
    assert!(
        support::stdout(&out).contains("dlocal CO: settles T+3 business days; ship on settled"),
        "{}",
        support::stdout(&out)
    );
    assert_eq!(ctx.audit_entries(), before + 1);
    let log = ctx.json(["audit", "list", "--action", "terms.change", "--json"]);
    let entry = &log.as_array().unwrap()[0];
    let text = entry.to_string();
    assert!(text.contains("admin"), "{text}");
    assert!(text.contains(r#"\"settle_business_days\":3,\"ship_on\":\"settled\""#), "{text}");
}

#[test]
fn the_demo_produces_the_new_kinds_in_known_numbers() {
    let ctx = Ctx::new();
    let dir = ctx.path("demo");
    let out = ctx.ok(["demo", "--out", dir.to_str().unwrap(), "--orders", "4000", "--seed", "11"]);
    let printed = support::stdout(&out);
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let expected = &manifest["expected"]["exceptions"];
    for kind in ["expired_unpaid", "stale_pending", "payment_id_mismatch"] {
        assert!(expected[kind].as_u64().unwrap() > 0, "{kind}: {expected}");
        assert!(printed.contains(&format!("\"{kind}\": {}", expected[kind])), "{printed}");
    }
    // With --db, `demo` imported and reconciled its files already; a second run, with the
    // contracted dLocal fee its fee_mismatch count assumes, finds exactly what it expects.
    support::contract_demo_fee(&ctx.db, manifest["dlocal_fee_bps"].as_i64().unwrap());
    let summary = reconcile(&ctx, &["--as-of", manifest["as_of"].as_str().unwrap()]);
    assert_eq!(&summary["exceptions"], expected, "the demo's own expectations");
    assert_eq!(summary["matched"], manifest["expected"]["matched"]);
}
