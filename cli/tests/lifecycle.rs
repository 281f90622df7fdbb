//! The money after "paid": reversals, chargebacks and settlement rows of every
//! type, on the hand-written files of tests/fixtures/lifecycle (its README
//! explains each trap). Reconciled as of 2026-03-20.

use crate::support;

use std::path::Path;
use support::*;
use voucherdesk::credentials::{self, AccountSecrets, MemoryVault, PspKind};
use voucherdesk::operators;
use voucherdesk::store::Store;

fn import_all(ctx: &Ctx, files: &[(&str, &str, &str)]) {
    for (kind, profile, file) in files {
        ctx.import(kind, profile, &fixture(&format!("lifecycle/{file}")));
    }
}

const FORWARD: [(&str, &str, &str); 6] = [
    ("orders", "shop", "orders.csv"),
    ("payments", "pagoefectivo", "pe_pagado.csv"),
    ("payments", "dlocal", "dlocal.csv"),
    ("settlements", "pagoefectivo-settlement", "pe_settlement.csv"),
    ("settlements", "dlocal-settlement", "dlocal_settlement.tsv"),
    ("payments", "pagoefectivo", "pe_extornado.csv"),
];

/// A dLocal account with a contracted fee of 3.00 % (300 basis points).
fn contract_dlocal_fee(db: &Path, fee_bps: i64) {
    let mut store = Store::open(db).unwrap();
    let admin = operators::act_as(&store, "admin").unwrap();
    let vault = MemoryVault::default();
    let secrets = AccountSecrets::parse_json(
        PspKind::Dlocal,
        r#"{"login":"test-login","trans_key":"test-trans-key","secret":"test-secret"}"#,
    )
    .unwrap();
    credentials::add(&mut store, &vault, &admin, "dlocal-co", "https://sandbox.dlocal.com", &secrets).unwrap();
    assert_eq!(credentials::set_fee_rate(&mut store, &admin, "dlocal-co", Some(fee_bps)).unwrap(), Some(fee_bps));
}

/// One of our refunds, as the refund module leaves it once the PSP confirmed it.
fn succeeded_refund(db: &Path, payment_id: &str, amount_minor: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO refunds(psp, payment_id, order_id, amount_minor, currency, reason, note, method, details, tier,
             status, idempotency_key, requested_by, requested_at, updated_at)
         VALUES ('dlocal', ?1, '', ?2, 'COP', 'customer_request', '', 'psp_refund', '{}', 1, 'succeeded', ?3, 'ana',
             1773000000, 1773000000)",
        rusqlite::params![payment_id, amount_minor, format!("test-{payment_id}-{amount_minor}")],
    )
    .unwrap();
}

#[test]
fn every_settlement_row_type_imports_and_a_negative_payment_row_is_still_refused() {
    let ctx = Ctx::new();
    let out = ctx.import("settlements", "dlocal-settlement", &fixture("lifecycle/dlocal_settlement.tsv"));
    assert!(stdout(&out).contains("imported 9 settlements rows"), "{}", stdout(&out));
    assert_eq!(ctx.stats()["settlements"], 9, "CHARGEBACK, REFUND and FEE rows with minus signs are accepted");

    let before = table_counts(&ctx.db);
    let out = ctx.try_import("settlements", "dlocal-settlement", &fixture("lifecycle/negative_payment_row.tsv"));
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(stderr(&out).contains(":2: LOCAL_AMOUNT: negative amount -80000"), "{}", stderr(&out));
    assert_eq!(table_counts(&ctx.db), before, "nothing written");
}

#[test]
fn each_trap_raises_its_own_kind_once() {
    let ctx = Ctx::new();
    contract_dlocal_fee(&ctx.db, 300);
    import_all(&ctx, &FORWARD);
    let summary = ctx.reconcile();
    assert_eq!(
        kind_counts(&summary),
        expected_kinds(&[
            ("chargeback", 1),
            ("fee_mismatch", 1),
            ("reversed_after_fulfilment", 1),
            ("settlement_fx_mismatch", 1),
            ("unmatched_refund_settlement", 2),
        ]),
        "{summary:#}"
    );
    // Every kind is listed, the new ones included, with zero counts where none.
    for kind in ["not_settled", "unknown_settlement", "recorded_not_paid", "settlement_mismatch"] {
        assert_eq!(summary["exceptions"][kind], 0, "{kind}");
    }

    let reversed = ctx.exception("reversed_after_fulfilment", "91000001");
    assert_eq!(reversed["order_id"], "L-001");
    assert_eq!(
        reversed["detail"],
        "pagoefectivo reversed payment 91000001 of 120.00 PEN on 2026-03-09, but the shop has the order as fulfilled → money taken back: stop shipment or recover the goods"
    );
    let chargeback = ctx.exception("chargeback", "D-L002");
    assert_eq!(chargeback["detail"], "chargeback of 150000.00 COP on 2026-03-12 → dispute or accept");
    assert_eq!(chargeback["amount_minor"], 15_000_000);
    let fx = ctx.exception("settlement_fx_mismatch", "D-L005");
    assert_eq!(
        fx["detail"],
        "995000.00 COP at 4125.5 is 241.18 USD, but the row settles 100.00 USD → settled at the wrong rate"
    );
    let fee = ctx.exception("fee_mismatch", "D-L006");
    assert_eq!(
        fee["detail"],
        "fee 3.15 USD on 48.48 USD is 6.49 %, the contract says 3.00 % → settled at the wrong fee"
    );
    let refund = ctx.exception("unmatched_refund_settlement", "D-L003");
    assert_eq!(
        refund["detail"],
        "refund of 30000.00 COP for payment \"D-L003\" that matches none of our succeeded refunds → a refund we did not make: check the PSP portal"
    );

    // The PSP statuses behind them.
    let case = |order: &str| ctx.lookup(order).into_iter().next().expect("one case file");
    assert_eq!(case("L-002")["payments"][0]["status"], "charged_back");
    assert_eq!(case("L-001")["payments"][0]["status"], "reversed");
}

#[test]
fn a_reversal_is_dated_by_its_own_column_and_the_history_is_in_time_order() {
    let ctx = Ctx::new();
    import_all(&ctx, &FORWARD);
    ctx.reconcile();
    let case = ctx.lookup("L-001").into_iter().next().unwrap();
    let history: Vec<(String, String)> = case["payments"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap().to_string(), h["status_at"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        history,
        [
            ("paid".to_string(), "2026-03-02T23:30:00Z".to_string()),
            ("reversed".to_string(), "2026-03-09T16:15:00Z".to_string()),
        ]
    );
    assert_eq!(case["verdict"]["code"], "reversed");
    assert_eq!(
        case["verdict"]["text"],
        "pagoefectivo reversed the payment of 120.00 PEN on 9 Mar 11:15 Lima; the shop says fulfilled → money taken back: stop shipment or recover the goods"
    );
    let chargeback = ctx.lookup("L-002").into_iter().next().unwrap();
    assert_eq!(chargeback["verdict"]["code"], "charged_back");
    assert_eq!(
        chargeback["verdict"]["text"],
        "Chargeback of 150000.00 COP on 12 Mar 09:00 Bogotá at dlocal → dispute or accept; do not ship against this payment"
    );
    for c in [case, chargeback] {
        assert!(!c["verdict"]["text"].as_str().unwrap().contains("deliver the order"), "{c:#}");
    }
}

#[test]
fn a_refund_row_matches_only_our_succeeded_refund_of_that_amount() {
    let ctx = Ctx::new();
    import_all(&ctx, &FORWARD);
    let first = ctx.reconcile();
    assert_eq!(first["exceptions"]["unmatched_refund_settlement"], 2);

    // Ours: 60,000 COP on D-L004 (the row's -60000). A 25,000 COP refund of
    // D-L003 is not the 30,000 the PSP reports.
    succeeded_refund(&ctx.db, "D-L004", 6_000_000);
    succeeded_refund(&ctx.db, "D-L003", 2_500_000);
    let second = ctx.reconcile();
    assert_eq!(second["exceptions"]["unmatched_refund_settlement"], 1);
    assert_eq!(ctx.exception("unmatched_refund_settlement", "D-L004")["status"], "cleared");
    assert_eq!(ctx.exception("unmatched_refund_settlement", "D-L003")["status"], "open");
}

#[test]
fn no_fee_rate_no_fee_check() {
    let ctx = Ctx::new();
    import_all(&ctx, &FORWARD);
    assert_eq!(ctx.reconcile()["exceptions"]["fee_mismatch"], 0);
    let mut store = Store::open(&ctx.db).unwrap();
    let admin = operators::act_as(&store, "admin").unwrap();
    let err = credentials::set_fee_rate(&mut store, &admin, "nobody", Some(300)).unwrap_err();
    assert_eq!(err.code(), "credentials.not_found");
    let sam = operators::act_as(&store, "sam").unwrap();
    assert!(credentials::set_fee_rate(&mut store, &sam, "nobody", Some(300)).is_err(), "support may not set rates");
    drop(store);

    // From the CLI: a rate on an account, a bad rate refused, the rate cleared.
    contract_dlocal_fee(&ctx.db, 300);
    let out = ctx.ok(["credentials", "fee-rate", "dlocal-co", "--bps", "450"]);
    assert_eq!(stdout(&out).trim(), "dlocal-co: contracted fee 4.50 % (450 basis points)");
    let out = ctx.fails_with(2, ["credentials", "fee-rate", "dlocal-co", "--bps", "10001"]);
    assert!(stderr(&out).contains("a fee rate is 0 to 10000 basis points, not 10001"), "{}", stderr(&out));
    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["fee_mismatch"], 5, "every dLocal payment row at 3 % is off a 4.50 % contract");
    ctx.ok(["credentials", "fee-rate", "dlocal-co", "--clear"]);
    assert_eq!(ctx.reconcile()["exceptions"]["fee_mismatch"], 0);
}

#[test]
fn reversals_and_chargebacks_are_the_same_in_either_file_order() {
    let forward = Ctx::new();
    contract_dlocal_fee(&forward.db, 300);
    import_all(&forward, &FORWARD);
    let backward = Ctx::new();
    contract_dlocal_fee(&backward.db, 300);
    let mut reversed = FORWARD;
    reversed.reverse();
    // The shop's orders stay first in both: they are not what is being tested.
    reversed.rotate_right(1);
    assert_eq!(reversed[0].2, "orders.csv");
    import_all(&backward, &reversed[..]);

    let (a, b) = (forward.reconcile(), backward.reconcile());
    assert_eq!(a["exceptions"], b["exceptions"]);
    let ids = |ctx: &Ctx| {
        let mut ids: Vec<(String, String)> = ctx
            .exceptions_all()
            .iter()
            .map(|e| (e["id"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap().to_string()))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&forward), ids(&backward));
    for order in ["L-001", "L-002"] {
        let history = |ctx: &Ctx| {
            ctx.lookup(order).into_iter().next().unwrap()["payments"][0]["history"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h["status"].clone(), h["status_at"].clone(), h["file"].clone(), h["line"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(history(&forward), history(&backward), "{order}");
    }
    let d_l002 = backward.lookup("L-002").into_iter().next().unwrap();
    assert_eq!(d_l002["payments"][0]["status"], "charged_back", "a chargeback row imported before its payment");
}

#[test]
fn refunds_chargebacks_and_fees_settled_out_are_in_the_dashboard_figures() {
    let ctx = Ctx::new();
    import_all(&ctx, &FORWARD);
    ctx.reconcile();
    let store = Store::open(&ctx.db).unwrap();
    let d = voucherdesk::dashboard::summary(&store, None, None).unwrap();
    let out: Vec<(String, String, i64, i64)> =
        d.settled_out.iter().map(|o| (o.row_type.clone(), o.currency.clone(), o.count, o.amount_minor)).collect();
    let row = |t: &str, c: &str, n: i64, minor: i64| (t.to_string(), c.to_string(), n, minor);
    assert_eq!(
        out,
        [row("CHARGEBACK", "COP", 1, 15_000_000), row("FEE", "COP", 1, 2_000_000), row("REFUND", "COP", 2, 9_000_000)]
    );
    // The CLI's text says the same under Colombia's paid and settled line.
    let text = stdout(&ctx.ok(["dashboard"]));
    assert!(
        text.contains(
            "    taken out again by settlement reports: CHARGEBACK 150000.00 COP (1), FEE 20000.00 COP (1), REFUND 90000.00 COP (2)\n"
        ),
        "{text}"
    );
    // Peru's figures: its currency has no money out.
    let pe = voucherdesk::dashboard::summary(&store, Some(voucherdesk::market::Country::Peru), None).unwrap();
    assert!(pe.settled_out.is_empty());
    // Settled payments stay the PAYMENT rows: 5 dLocal (COP) and 1 PagoEfectivo (PEN).
    let settled: Vec<(String, i64, i64)> =
        d.settled.iter().map(|t| (t.currency.clone(), t.count, t.amount_minor)).collect();
    assert_eq!(settled, [("COP".to_string(), 5, 148_500_000), ("PEN".to_string(), 1, 12_000)]);
}

/// The same money taken back, learnt from the PSPs' own notifications instead
/// of their reports: PagoEfectivo's `cip.extorned` callback and a dLocal
/// chargeback object. The verdicts and exceptions are the reports' ones.
#[test]
fn reversals_and_chargebacks_notified_by_the_psps_move_the_payment_forward() {
    use voucherdesk::observations::{self, ObservationOutcome, ObservationSource};
    use voucherdesk::psp::{dlocal, pagoefectivo};

    let ctx = Ctx::new();
    import_all(
        &ctx,
        &[
            ("orders", "shop", "orders.csv"),
            ("payments", "pagoefectivo", "pe_pagado.csv"),
            ("payments", "dlocal", "dlocal.csv"),
        ],
    );
    let mut store = Store::open(&ctx.db).unwrap();
    let reversal = br#"{"eventType":"cip.extorned","operationNumber":"OP-X1","data":{"cip":"91000001",
        "currency":"PEN","amount":"120.00","paymentDate":"2026-03-09T11:15:00-05:00","transactionCode":"L-001"}}"#;
    let (observed, _) = pagoefectivo::callback::parse(reversal).unwrap();
    let applied = observations::apply(&mut store, &observed, ObservationSource::Notification, "{}", "listen").unwrap();
    assert_eq!(applied.outcome, ObservationOutcome::Advanced);

    let chargeback = br#"{"id":"CHBK-1","payment_id":"D-L003","created_date":"2026-03-12T14:00:00.000+0000",
        "currency":"COP","amount":80000,"status":"COMPLETED","status_code":200}"#;
    let (observed, _) = dlocal::notification::parse(chargeback).unwrap();
    let applied = observations::apply(&mut store, &observed, ObservationSource::Notification, "{}", "listen").unwrap();
    assert_eq!(applied.outcome, ObservationOutcome::Advanced);
    // A won dispute afterwards is history: status never moves back.
    let won =
        br#"{"id":"CHBK-1","payment_id":"D-L003","created_date":"2026-04-02T14:00:00.000+0000","status":"REVERSAL"}"#;
    let (observed, _) = dlocal::notification::parse(won).unwrap();
    let applied = observations::apply(&mut store, &observed, ObservationSource::Notification, "{}", "listen").unwrap();
    assert_eq!(applied.outcome, ObservationOutcome::HistoryOnly);
    drop(store);

    let summary = ctx.reconcile();
    assert_eq!(summary["exceptions"]["reversed_after_fulfilment"], 1, "{summary:#}");
    assert_eq!(summary["exceptions"]["chargeback"], 1, "{summary:#}");
    let reversed = ctx.exception("reversed_after_fulfilment", "91000001");
    assert_eq!(
        reversed["detail"],
        "pagoefectivo reversed payment 91000001 of 120.00 PEN on 2026-03-09, but the shop has the order as fulfilled → money taken back: stop shipment or recover the goods"
    );
    let l001 = ctx.lookup("L-001").into_iter().next().unwrap();
    assert_eq!(l001["verdict"]["code"], "reversed");
    let history: Vec<(String, String)> = l001["payments"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["status"].as_str().unwrap().to_string(), h["status_at"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(history.last().unwrap(), &("reversed".to_string(), "2026-03-09T16:15:00Z".to_string()));

    let l003 = ctx.lookup("L-003").into_iter().next().unwrap();
    assert_eq!(l003["payments"][0]["status"], "charged_back");
    assert_eq!(l003["verdict"]["code"], "charged_back");
    assert!(l003["verdict"]["text"].as_str().unwrap().contains("do not ship"), "{l003:#}");
    let psp_statuses: Vec<&str> =
        l003["payments"][0]["history"].as_array().unwrap().iter().filter_map(|h| h["psp_status"].as_str()).collect();
    assert_eq!(psp_statuses, ["PAID", "CHARGEBACK COMPLETED", "CHARGEBACK REVERSAL"]);

    // Nothing is refundable on money the PSP took back, whichever entry point asks.
    let out = ctx.fails_with(
        2,
        [
            "--operator",
            "sam",
            "refunds",
            "request",
            "--payment",
            "D-L003",
            "--amount",
            "1000",
            "--reason",
            "buyer_cancelled",
            "--method",
            "psp_refund",
        ],
    );
    assert!(stderr(&out).contains("[refunds.payment_taken_back]"), "{}", all_output(&out));
}

#[test]
fn a_bank_transfer_finance_recorded_matches_the_psp_refund_row_like_any_refund() {
    let ctx = Ctx::new();
    import_all(&ctx, &FORWARD);
    assert_eq!(ctx.reconcile()["exceptions"]["unmatched_refund_settlement"], 2);

    // dLocal reports a 30,000 COP refund of D-L003: finance paid it by bank transfer.
    let bank = ["--beneficiary-name", "Lucía Ortiz", "--bank", "Bancolombia", "--bank-account", "0012345678"];
    let mut request = vec!["--operator", "sam", "refunds", "request", "--payment", "D-L003", "--amount", "30000"];
    request.extend(["--reason", "buyer_cancelled", "--method", "bank_transfer", "--json"]);
    request.extend(bank);
    request.extend(["--account-type", "S", "--beneficiary-document", "1010000003"]);
    let asked = ctx.json(&request);
    assert_eq!((asked["status"].as_str(), asked["amount_minor"].as_i64()), (Some("pending_approval"), Some(3_000_000)));
    let id = asked["id"].as_i64().unwrap().to_string();
    ctx.ok(["--operator", "fabio", "refunds", "approve", &id]);
    let proof = ctx.path("transfer.pdf");
    std::fs::write(&proof, b"%PDF-1.4 Bancolombia transfer BCOL-30000").unwrap();
    let today = voucherdesk::market::Country::Colombia.business_date(chrono::Utc::now()).to_string();
    let proof_arg = proof.to_str().unwrap();
    let record = ["--operator", "fabio", "refunds", "record-transfer", &id, "--reference", "BCOL-30000"];
    let mut record = record.to_vec();
    record.extend(["--date", &today, "--proof", proof_arg, "--json"]);
    assert_eq!(ctx.json(&record)["status"], "succeeded");

    let after = ctx.reconcile();
    assert_eq!(after["exceptions"]["unmatched_refund_settlement"], 1);
    assert_eq!(ctx.exception("unmatched_refund_settlement", "D-L003")["status"], "cleared");
    assert_eq!(ctx.exception("unmatched_refund_settlement", "D-L004")["status"], "open");
}
