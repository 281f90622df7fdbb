//! A USD-priced order paid in local currency converts through the dated FX
//! table at the payment's market date, on the hand-written files of
//! tests/fixtures/fx (its README explains each trap). Reconciled as of
//! 2026-03-06, before any settlement is due.

use crate::support;

use serde_json::Value;
use support::*;

const FX_AS_OF: &str = "2026-03-06";

fn import_orders_and_payments(ctx: &Ctx) {
    ctx.import("orders", "shop", &fixture("fx/orders.csv"));
    ctx.import("payments", "dlocal", &fixture("fx/dlocal.csv"));
}

fn reconcile(ctx: &Ctx) -> Value {
    ctx.json(["reconcile", "--as-of", FX_AS_OF, "--json"])
}

fn add_rate(ctx: &Ctx, date: &str, rate: &str) {
    ctx.ok(["fx", "add", "--pair", "USD/COP", "--date", date, "--rate", rate]);
}

#[test]
fn a_usd_order_paid_in_cop_matches_at_the_rate_of_the_payments_bogota_date() {
    let ctx = Ctx::new();
    ctx.ok(["fx", "import", shown(&fixture("fx/rates.csv")).as_str()]);
    import_orders_and_payments(&ctx);
    let summary = reconcile(&ctx);
    assert_eq!(kind_counts(&summary), expected_kinds(&[("currency_mismatch", 1)]));
    // F-001 (14:00 Bogotá on 4 March) and F-002 (23:30 Bogotá on 4 March, 04:30
    // UTC on the 5th) both convert at 4 March's 4125.50, not the 5th's 3500.
    assert_eq!(summary["matched"], 2);
    let missing = ctx.exception("currency_mismatch", "D-F003");
    assert_eq!(
        missing["detail"],
        "paid in COP but the order is priced in USD: no USD/COP rate on or before 2026-03-03: add one with `voucherdesk fx add`",
        "the 4 March rate is after F-003's payment and is not used"
    );
    assert_eq!(missing["order_id"], "F-003");
}

#[test]
fn a_wrong_rate_is_an_amount_mismatch_naming_the_rate_and_both_amounts() {
    let ctx = Ctx::new();
    import_orders_and_payments(&ctx);
    add_rate(&ctx, "2026-03-04", "3500");
    let summary = reconcile(&ctx);
    assert_eq!(kind_counts(&summary), expected_kinds(&[("amount_mismatch", 2), ("currency_mismatch", 1)]));
    assert_eq!(summary["matched"], 0);
    for payment in ["D-F001", "D-F002"] {
        assert_eq!(
            ctx.exception("amount_mismatch", payment)["detail"],
            "paid 995000.00 COP but the order is for 241.18 USD = 844130.00 COP at USD/COP 3500 of 2026-03-04",
            "{payment}"
        );
    }
}

#[test]
fn a_rate_added_after_the_import_clears_the_currency_mismatch() {
    let ctx = Ctx::new();
    import_orders_and_payments(&ctx);
    let first = reconcile(&ctx);
    assert_eq!(kind_counts(&first), expected_kinds(&[("currency_mismatch", 3)]));
    assert_eq!(first["matched"], 0);
    assert_eq!(
        ctx.exception("currency_mismatch", "D-F001")["detail"],
        "paid in COP but the order is priced in USD: no USD/COP rate on or before 2026-03-04: add one with `voucherdesk fx add`"
    );

    // Monday's rate is too old for Wednesday's payments (one business day at
    // most), but usable for F-003's on Tuesday.
    add_rate(&ctx, "2026-03-02", "4125.50");
    let second = reconcile(&ctx);
    assert_eq!(kind_counts(&second), expected_kinds(&[("currency_mismatch", 2)]));
    assert_eq!(second["matched"], 1);
    assert_eq!(
        ctx.exception("currency_mismatch", "D-F001")["detail"],
        "paid in COP but the order is priced in USD: the latest USD/COP rate on or before 2026-03-04 is of 2026-03-02, \
         more than 1 business day(s) old: add one with `voucherdesk fx add`"
    );
    assert_eq!(ctx.exception("currency_mismatch", "D-F003")["status"], "cleared");

    add_rate(&ctx, "2026-03-04", "4125.50");
    let third = reconcile(&ctx);
    assert_eq!(kind_counts(&third), expected_kinds(&[]));
    assert_eq!(third["matched"], 3);
    assert_eq!(third["open_exceptions"], 0);
    for payment in ["D-F001", "D-F002", "D-F003"] {
        assert_eq!(ctx.exception("currency_mismatch", payment)["status"], "cleared", "{payment}");
    }

    // The same rates recorded before the import give the same result.
    let before = Ctx::new();
    add_rate(&before, "2026-03-02", "4125.50");
    add_rate(&before, "2026-03-04", "4125.50");
    import_orders_and_payments(&before);
    let same = reconcile(&before);
    assert_eq!(kind_counts(&same), kind_counts(&third));
    assert_eq!(same["matched"], 3);
}
