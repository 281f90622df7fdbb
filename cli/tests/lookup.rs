//! `voucherdesk lookup`: case files by order id, payment id, voucher code/CIP,
//! email, phone, document or name (accent- and case-insensitive).

use crate::support;

use serde_json::Value;
use support::{Ctx, fixture, stderr, stdout};

fn reconciled() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx.reconcile();
    ctx
}

fn only_case(ctx: &Ctx, query: &str) -> Value {
    let cases = ctx.lookup(query);
    assert_eq!(cases.len(), 1, "lookup {query:?}: {cases:#?}");
    cases.into_iter().next().unwrap()
}

#[test]
fn finds_by_order_id_payment_id_voucher_code_and_cip() {
    let ctx = reconciled();
    for (query, expected) in [
        ("R-002", "R-002"),
        ("D-002", "R-002"),
        ("4000000002", "R-002"),
        ("D-005B", "R-005"),
        ("4000000052", "R-005"),
        ("90000017", "R-017"),
        ("R-017", "R-017"),
    ] {
        assert_eq!(ctx.lookup_ids(query), [expected], "lookup {query:?}");
    }
}

#[test]
fn finds_by_email_phone_and_document() {
    let ctx = reconciled();
    for query in [
        "ana.nunez@correo.example",
        "ANA.NUNEZ@CORREO.EXAMPLE",
        "+57 300 123 4567",
        "3001234567",
        "573001234567",
        "300 123 4567",
        "1020304050",
    ] {
        assert_eq!(ctx.lookup_ids(query), ["R-002"], "lookup {query:?}");
    }
    for query in ["+51 987 000 017", "987000017", "40000017"] {
        assert_eq!(ctx.lookup_ids(query), ["R-017"], "lookup {query:?}");
    }
}

#[test]
fn finds_names_whatever_the_accents_and_case() {
    let ctx = reconciled();
    // R-002 is "Ana Lucía Núñez", R-013 "Sofía Nuñez".
    for query in ["nunez", "NUNEZ", "Núñez", "NÚÑEZ", "nuñez"] {
        assert_eq!(ctx.lookup_ids(query), ["R-002", "R-013"], "lookup {query:?}");
    }
    assert_eq!(ctx.lookup_ids("ana nunez"), ["R-002"]);
    assert_eq!(ctx.lookup_ids("sofia"), ["R-013"]);
    assert_eq!(ctx.lookup_ids("ZUNIGA"), ["R-014"]);
    assert_eq!(ctx.lookup_ids("quiñónez"), ["R-010"]);
    assert_eq!(ctx.lookup_ids("Iñaki"), ["R-018"]);
    assert!(ctx.lookup("Nobody Atall").is_empty());

    let cases = ctx.lookup("nunez");
    for case in &cases {
        assert!(case["order_id"].is_string(), "{case}");
        assert!(case["buyer_name"].is_string(), "{case}");
    }
    let names: Vec<&str> = cases.iter().map(|c| c["buyer_name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Ana Lucía Núñez") && names.contains(&"Sofía Nuñez"), "{names:?}");
}

#[test]
fn a_paid_but_not_recorded_order_says_deliver_the_order() {
    let ctx = reconciled();
    let case = only_case(&ctx, "R-002");
    assert_eq!(case["order_id"], "R-002");
    assert_eq!(case["buyer_name"], "Ana Lucía Núñez");
    assert!(case["verdict"]["text"].as_str().unwrap().contains("deliver the order"), "{}", case["verdict"]);
    let payments = case["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["payment_id"], "D-002");
    assert_eq!(payments[0]["status"], "paid");
    let history = payments[0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["line"], 3, "D-002 is on line 3 of recon/dlocal.csv");
    let kinds: Vec<&str> = case["exceptions"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["paid_not_recorded"]);

    // The text form says it too.
    let out = ctx.ok(["lookup", "3001234567"]);
    let text = stdout(&out);
    assert!(text.contains("R-002") && text.contains("Ana Lucía Núñez") && text.contains("deliver the order"), "{text}");
}

#[test]
fn a_case_file_holds_payments_settlements_and_exceptions() {
    let ctx = reconciled();
    let r005 = only_case(&ctx, "R-005");
    let ids: Vec<&str> =
        r005["payments"].as_array().unwrap().iter().map(|p| p["payment_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"D-005A") && ids.contains(&"D-005B"), "{ids:?}");
    assert_eq!(r005["exceptions"][0]["kind"], "duplicate_payment");

    let r015 = only_case(&ctx, "R-015");
    let settlements = r015["settlements"].as_array().unwrap();
    assert_eq!(settlements.len(), 1);
    assert_eq!(settlements[0]["local_amount_minor"], 14_000_000);
    assert_eq!(r015["exceptions"][0]["kind"], "settlement_mismatch");

    let r001 = only_case(&ctx, "R-001");
    assert_eq!(r001["exceptions"].as_array().map(Vec::len), Some(0));
    assert_eq!(r001["settlements"].as_array().map(Vec::len), Some(1));
    assert!(!r001["verdict"]["text"].as_str().unwrap().contains("deliver the order"));

    // A payment for an order the shop does not know still has a case file.
    let unknown = only_case(&ctx, "D-011");
    assert_eq!(unknown["order_id"], "R-999");
    assert_eq!(unknown["buyer_name"], "");
    assert!(unknown["order"].is_null());
    assert_eq!(unknown["payments"][0]["payment_id"], "D-011");
    assert_eq!(unknown["exceptions"][0]["kind"], "unknown_order");
}

#[test]
fn nothing_found_and_bad_queries() {
    let ctx = reconciled();
    assert!(ctx.lookup("R-404404").is_empty());
    let out = ctx.ok(["lookup", "R-404404"]);
    assert!(stdout(&out).contains("nothing found"), "{}", stdout(&out));
    let out = ctx.run(["lookup", "   "]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    let long = "x".repeat(500);
    let out = ctx.run(["lookup", long.as_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // FTS syntax in the query is not an error.
    for odd in ["\"", "nunez OR", "*", "NEAR(", "a:b", "(-)"] {
        let out = ctx.run(["lookup", odd, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{odd:?}: {}", stderr(&out));
    }
}

#[test]
fn lookup_builds_a_deferred_index_and_follows_updated_orders() {
    let ctx = Ctx::new();
    let file = fixture("recon/orders.csv");
    ctx.ok([
        std::ffi::OsStr::new("import"),
        "orders".as_ref(),
        file.as_os_str(),
        "--profile".as_ref(),
        "shop".as_ref(),
        "--no-index".as_ref(),
    ]);
    assert_eq!(ctx.lookup_ids("nunez"), ["R-002", "R-013"], "the first lookup catches the index up");

    // The shop corrects R-013's buyer name and email: the index follows.
    let original = std::fs::read_to_string(&file).unwrap();
    let header = original.lines().next().unwrap();
    let r013 = original
        .lines()
        .find(|l| l.starts_with("R-013,"))
        .unwrap()
        .replace("Sofía Nuñez", "Sofía Castaño")
        .replace("sofia.nunez@", "sofia.castano@");
    let update = ctx.path("orders-update.csv");
    std::fs::write(&update, format!("{header}\n{r013}\n")).unwrap();
    ctx.import("orders", "shop", &update);
    assert_eq!(ctx.lookup_ids("nunez"), ["R-002"]);
    assert_eq!(ctx.lookup_ids("castano"), ["R-013"]);
    assert_eq!(only_case(&ctx, "R-013")["buyer_name"], "Sofía Castaño");
}

#[test]
fn accented_names_from_windows_1252_files_are_found_without_accents() {
    let ctx = Ctx::new();
    // The fixture holds "N\xfa\xf1ez" (Windows-1252), not UTF-8.
    let file = fixture("encodings/latin1_semicolon_crlf.csv");
    assert!(std::fs::read(&file).unwrap().windows(5).any(|w| w == b"N\xfa\xf1ez"));
    ctx.import("orders", "shop", &file);
    // The same name, written in bytes here, in a file of our own in Windows-1252.
    let own = ctx.path("latin1-own.csv");
    std::fs::write(
        &own,
        b"order_id;store;created_at;buyer_name;buyer_email;buyer_phone;buyer_document;country;amount;currency;status;psp;psp_payment_id;voucher_code;voucher_expires_at\r\n\
          L-1;Tienda \xd1and\xfa;2026-03-10T09:00:00-05:00;Mar\xeda Jos\xe9 N\xda\xd1EZ;mj@correo.example;+57 301 000 0001;1001;CO;1000.00;COP;pending_payment;dlocal;;;\r\n",
    )
    .unwrap();
    ctx.import("orders", "shop", &own);
    assert_eq!(ctx.lookup_ids("nunez"), ["E-1", "L-1"]);
    assert_eq!(ctx.lookup_ids("NÚÑEZ"), ["E-1", "L-1"]);
    assert_eq!(ctx.lookup_ids("maria jose"), ["L-1"]);
    assert_eq!(only_case(&ctx, "L-1")["buyer_name"], "María José NÚÑEZ");
    assert_eq!(only_case(&ctx, "E-1")["buyer_name"], "Ana Lucía Núñez");
}

/// Each verdict carries the step it asks for and the buyer message that fits
/// the order now; a message that does not fit is refused, not sent.
#[test]
fn the_verdict_names_its_next_step_and_the_message_that_fits_the_order() {
    let ctx = reconciled();
    let r002 = only_case(&ctx, "R-002");
    assert_eq!(r002["verdict"]["code"], "deliver_order");
    assert_eq!(r002["verdict"]["next_step"], "release_order");
    assert_eq!(r002["verdict"]["buyer_message"], "payment_received");
    let facts = &r002["verdict"]["facts"];
    assert_eq!(
        (facts["network"].as_str(), facts["payment_id"].as_str(), facts["shop_status"].as_str()),
        (Some("efecty"), Some("D-002"), Some("pending_payment"))
    );
    assert_eq!(facts["amount_minor"], 9_900_000);
    assert!(facts["paid_at"].is_string(), "{facts}");

    // Voucher instructions for a paid order would ask the buyer to pay again.
    for verb in ["preview", "resend"] {
        let out = ctx.fails_with(
            2,
            [
                "notifications",
                verb,
                "--order",
                "R-002",
                "--kind",
                "voucher_instructions",
                "--channel",
                "email",
                "--operator",
                "sam",
            ],
        );
        assert!(
            stderr(&out).contains(
                "voucher_instructions does not fit order R-002 now: the order is paid, so asking the buyer to pay would make them pay twice [notifications.kind_unfit]"
            ),
            "{}",
            stderr(&out)
        );
    }
    let out =
        ctx.ok(["--operator", "sam", "notifications", "preview", "--order", "R-002", "--kind", "payment_received"]);
    assert!(!stdout(&out).is_empty());

    // The duplicate payment's case asks for the extra money back; the unknown order's for a link.
    assert_eq!(only_case(&ctx, "R-005")["verdict"]["next_step"], "refund_extra_payment");
    let unknown = only_case(&ctx, "D-011");
    assert_eq!(
        (unknown["verdict"]["next_step"].as_str(), unknown["verdict"]["buyer_message"].as_str()),
        (Some("link_order"), None)
    );
}

/// The lines of `lookup QUERY` (human form) that name the next step.
fn next_step_lines(ctx: &Ctx, operator: &str, query: &str) -> Vec<String> {
    let out = ctx.ok(["--operator", operator, "lookup", query]);
    stdout(&out).lines().filter(|l| l.trim_start().starts_with("next step:")).map(str::to_string).collect()
}

/// The verdict's step names the open exception it resolves and the action the
/// named operator may take on it: a manager confirms the money, support hands
/// it on.
#[test]
fn the_next_step_names_its_exception_and_the_operators_action() {
    let ctx = reconciled();
    let id = ctx.exception("paid_not_recorded", "R-002")["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("EX-"), "{id}");

    assert_eq!(
        next_step_lines(&ctx, "ana", "R-002"),
        [format!("   next step: release_order — resolve exception {id} (paid_not_recorded): mark_received")]
    );
    assert_eq!(
        next_step_lines(&ctx, "sam", "R-002"),
        [format!("   next step: release_order — resolve exception {id} (paid_not_recorded): escalate")]
    );
    assert_eq!(
        next_step_lines(&ctx, "fabio", "R-002"),
        [format!("   next step: release_order — resolve exception {id} (paid_not_recorded): escalate")]
    );

    // --json carries the same.
    for (operator, action) in [("ana", "mark_received"), ("sam", "escalate")] {
        let cases = ctx.json(["--operator", operator, "lookup", "R-002", "--json"]);
        assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
        assert_eq!(
            cases[0]["step_action"],
            serde_json::json!({"exception_id": id, "kind": "paid_not_recorded", "action": action}),
            "{operator}"
        );
    }

    // The unknown order's payment: a manager links it, support escalates.
    let unknown_id = ctx.exception("unknown_order", "D-011")["id"].as_str().unwrap().to_string();
    assert_eq!(
        next_step_lines(&ctx, "admin", "D-011"),
        [format!("   next step: link_order — resolve exception {unknown_id} (unknown_order): link")]
    );
    assert_eq!(
        next_step_lines(&ctx, "sam", "D-011"),
        [format!("   next step: link_order — resolve exception {unknown_id} (unknown_order): escalate")]
    );

    // A case with nothing to do prints no step.
    assert_eq!(only_case(&ctx, "R-001")["verdict"]["next_step"], "nothing_to_do");
    assert_eq!(next_step_lines(&ctx, "ana", "R-001"), Vec::<String>::new());
}

/// Without an operator the lookup still works, with the step and no action;
/// an operator who does not exist is refused.
#[test]
fn the_next_step_without_an_operator_and_with_an_unknown_one() {
    let ctx = reconciled();
    let out = ctx.cmd().env_remove("VOUCHERDESK_OPERATOR").args(["lookup", "R-002"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("next step:")).collect();
    assert_eq!(lines, ["   next step: release_order"]);
    let out = ctx.cmd().env_remove("VOUCHERDESK_OPERATOR").args(["lookup", "R-002", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cases: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(cases[0]["step_action"].is_null(), "{cases}");
    assert_eq!(cases[0]["verdict"]["next_step"], "release_order");

    let out = ctx.fails_with(2, ["--operator", "nobody", "lookup", "R-002"]);
    assert_eq!(stderr(&out).trim(), "error: no operator named \"nobody\"");
    assert_eq!(stdout(&out), "");
}
