//! Importing good files: every built-in profile in its documented layout,
//! every encoding / delimiter / quoting variant, idempotent re-import, and a
//! custom TOML profile.

use crate::support;

use serde_json::Value;
use support::{Ctx, all_output, counts, expected_kinds, fixture, kind_counts, shown, stderr, stdout};

fn os(text: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(text)
}

/// The one case file a lookup must return.
fn only_case(ctx: &Ctx, query: &str) -> Value {
    let cases = ctx.lookup(query);
    assert_eq!(cases.len(), 1, "lookup {query:?} should return one case file: {cases:#?}");
    cases.into_iter().next().unwrap()
}

/// The one payment a lookup by payment id returns.
fn only_payment(ctx: &Ctx, payment_id: &str) -> Value {
    let case = only_case(ctx, payment_id);
    let payments: Vec<&Value> =
        case["payments"].as_array().expect("payments").iter().filter(|p| p["payment_id"] == payment_id).collect();
    assert_eq!(payments.len(), 1, "payment {payment_id} in its case file: {case:#}");
    payments[0].clone()
}

// ───────────────────────────── built-in profiles ─────────────────────────────

#[test]
fn profiles_command_lists_every_built_in_profile_with_its_kind() {
    let ctx = Ctx::new();
    let out = stdout(&ctx.ok(["profiles"]));
    let expected = [
        ("shop", "orders", "voucher_expires_at"),
        ("dlocal", "payments", "TICKET_NUMBER"),
        ("dlocal-settlement", "settlements", "DLOCAL_TRANSACTION_ID"),
        ("pagoefectivo", "payments", "CODIGO_TRANSACCION"),
        ("pagoefectivo-settlement", "settlements", "FECHA_LIQUIDACION"),
    ];
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), expected.len(), "one line per built-in profile:\n{out}");
    for (name, kind, header) in expected {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("profile {name} not listed:\n{out}"));
        assert_eq!(line.split_whitespace().nth(1), Some(kind), "{line}");
        assert!(line.contains(header), "{name} should list header {header}: {line}");
    }
}

#[test]
fn shop_profile_imports_the_documented_layout() {
    let ctx = Ctx::new();
    let file = fixture("profiles/shop.csv");
    let out = ctx.import("orders", "shop", &file);
    assert!(stdout(&out).contains("imported 6 orders rows"), "{}", stdout(&out));
    assert_eq!(counts(&ctx.stats()), (6, 0, 0, 0));

    let s1 = only_case(&ctx, "S-001");
    assert_eq!(s1["order_id"], "S-001");
    assert_eq!(s1["buyer_name"], "Ana Lucía Núñez");
    let o = &s1["order"];
    assert_eq!(o["store"], "Tienda Ñandú");
    assert_eq!(o["created_at"], "2026-03-01T14:15:00Z", "-05:00 offset → UTC");
    assert_eq!(o["voucher_expires_at"], "2026-03-04T14:15:00Z");
    assert_eq!(o["amount_minor"], 15_000_000);
    assert_eq!(o["currency"], "COP");
    assert_eq!(o["country"], "CO");
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["buyer_phone"], "+57 300 123 4567");
    assert_eq!(o["buyer_document"], "1020304050");
    assert_eq!(o["voucher_code"], "4000001001");
    assert_eq!(o["psp_payment_id"], "D-1001");

    let expected = [
        ("S-002", "paid", 8_990_000, "COP"),
        ("S-003", "fulfilled", 123_450, "PEN"),
        ("S-004", "cancelled", 5_000_000, "COP"),
        ("S-005", "expired", 7_550, "PEN"),
        ("S-006", "refunded", 4_500_000, "COP"),
    ];
    for (id, status, minor, currency) in expected {
        let o = &only_case(&ctx, id)["order"];
        assert_eq!(o["status"], status, "{id}");
        assert_eq!(o["amount_minor"], minor, "{id}");
        assert_eq!(o["currency"], currency, "{id}");
    }
    // `Z` offset, and the optional columns left empty.
    let s4 = &only_case(&ctx, "S-004")["order"];
    assert_eq!(s4["created_at"], "2026-03-04T17:00:00Z");
    assert!(s4["voucher_expires_at"].is_null(), "{s4}");
    assert_eq!(s4["voucher_code"], "");
}

#[test]
fn dlocal_profile_maps_every_status_and_method() {
    let ctx = Ctx::new();
    let out = ctx.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    assert!(stdout(&out).contains("imported 7 payments rows"), "{}", stdout(&out));
    assert_eq!(counts(&ctx.stats()), (0, 7, 0, 0));

    let paid = only_payment(&ctx, "D-1001");
    assert_eq!(paid["psp"], "dlocal");
    assert_eq!(paid["order_id"], "S-001");
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["psp_status"], "PAID");
    assert_eq!(paid["network"], "efecty");
    assert_eq!(paid["amount_minor"], 15_000_000, "COP 150000 without decimals");
    assert_eq!(paid["currency"], "COP");
    assert_eq!(paid["created_at"], "2026-03-01T14:15:00Z");
    assert_eq!(paid["paid_at"], "2026-03-02T15:00:00Z");
    assert_eq!(paid["expires_at"], "2026-03-04T14:15:00Z");
    assert_eq!(paid["voucher_code"], "4000001001");

    let expected = [
        ("D-1002", "pending", "PENDING", "efecty"),
        ("D-1005", "expired", "EXPIRED", "pagoefectivo"),
        ("D-1006", "rejected", "REJECTED", "efecty"),
        ("D-1007", "cancelled", "CANCELLED", "efecty"),
        ("D-1008", "pending", "AUTHORIZED", "efecty"),
        ("D-1009", "pending", "VERIFIED", "pagoefectivo"),
    ];
    for (id, status, psp_status, network) in expected {
        let p = only_payment(&ctx, id);
        assert_eq!(p["status"], status, "{id}");
        assert_eq!(p["psp_status"], psp_status, "{id}");
        assert_eq!(p["network"], network, "{id}");
        assert!(p["paid_at"].is_null(), "{id} was not paid: {p}");
    }
    assert_eq!(only_payment(&ctx, "D-1005")["amount_minor"], 7_550);
    assert_eq!(only_payment(&ctx, "D-1005")["currency"], "PEN");
}

#[test]
fn pagoefectivo_profile_reads_lima_times_grouped_amounts_and_spanish_statuses() {
    let ctx = Ctx::new();
    let out = ctx.import("payments", "pagoefectivo", &fixture("profiles/pagoefectivo.csv"));
    assert!(stdout(&out).contains("imported 5 payments rows"), "{}", stdout(&out));
    assert_eq!(counts(&ctx.stats()), (0, 5, 0, 0));

    let paid = only_payment(&ctx, "90001003");
    assert_eq!(paid["psp"], "pagoefectivo");
    assert_eq!(paid["order_id"], "S-003");
    assert_eq!(paid["country"], "PE");
    assert_eq!(paid["network"], "pagoefectivo");
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["psp_status"], "Pagado");
    assert_eq!(paid["amount_minor"], 123_450, "1,234.50 with a thousands separator");
    assert_eq!(paid["currency"], "PEN");
    // dd/mm/yyyy HH:MM:SS in Lima time (UTC-5), no offset in the file.
    assert_eq!(paid["created_at"], "2026-03-03T16:30:00Z");
    assert_eq!(paid["paid_at"], "2026-03-03T23:45:10Z");
    assert_eq!(paid["expires_at"], "2026-03-04T16:30:00Z");
    assert_eq!(paid["voucher_code"], "90001003", "the CIP is the voucher code");

    for (cip, status) in
        [("90001004", "pending"), ("90001005", "expired"), ("90001006", "cancelled"), ("90001007", "reversed")]
    {
        assert_eq!(only_payment(&ctx, cip)["status"], status, "CIP {cip}");
    }
    assert_eq!(only_payment(&ctx, "90001007")["amount_minor"], 250_000, "2,500.00");
    // A CIP can be found by itself, as a voucher code.
    assert_eq!(ctx.lookup_ids("90001005"), ["S-005"]);
}

#[test]
fn settlement_profiles_import_their_amounts_and_dates() {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    ctx.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    ctx.import("payments", "pagoefectivo", &fixture("profiles/pagoefectivo.csv"));
    let out = ctx.import("settlements", "dlocal-settlement", &fixture("profiles/dlocal-settlement.csv"));
    assert!(stdout(&out).contains("imported 2 settlements rows"), "{}", stdout(&out));
    let out = ctx.import("settlements", "pagoefectivo-settlement", &fixture("profiles/pagoefectivo-settlement.csv"));
    assert!(stdout(&out).contains("imported 1 settlements rows"), "{}", stdout(&out));
    assert_eq!(counts(&ctx.stats()), (6, 12, 3, 0));

    let s1 = only_case(&ctx, "S-001");
    let settlements = s1["settlements"].as_array().expect("settlements");
    assert_eq!(settlements.len(), 1, "{s1:#}");
    let s = &settlements[0];
    assert_eq!(s["psp"], "dlocal");
    assert_eq!(s["payment_id"], "D-1001");
    assert_eq!(s["row_type"], "PAYMENT");
    assert_eq!(s["local_amount_minor"], 15_000_000);
    assert_eq!(s["local_currency"], "COP");
    assert_eq!(s["settlement_currency"], "USD");
    assert_eq!(s["gross_minor"], 3_636);
    assert_eq!(s["net_minor"], 3_527);
    assert_eq!(s["fee_minor"], 109);
    assert_eq!(s["settled_on"], "2026-03-05");

    let refund = &only_case(&ctx, "S-006")["settlements"];
    assert_eq!(refund.as_array().map(Vec::len), Some(1), "{refund}");
    assert_eq!(refund[0]["row_type"], "REFUND");

    let pe = &only_case(&ctx, "S-003")["settlements"];
    assert_eq!(pe.as_array().map(Vec::len), Some(1), "{pe}");
    assert_eq!(pe[0]["psp"], "pagoefectivo");
    assert_eq!(pe[0]["local_amount_minor"], 123_450);
    assert_eq!(pe[0]["local_currency"], "PEN");
    assert_eq!(pe[0]["gross_minor"], 123_450);
    assert_eq!(pe[0]["fee_minor"], 3_704);
    assert_eq!(pe[0]["net_minor"], 119_746);
    assert_eq!(pe[0]["settled_on"], "2026-03-05", "dd/mm/yyyy");
}

#[test]
fn all_built_in_profiles_together_reconcile_to_known_counts() {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    ctx.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    ctx.import("payments", "pagoefectivo", &fixture("profiles/pagoefectivo.csv"));
    ctx.import("settlements", "dlocal-settlement", &fixture("profiles/dlocal-settlement.csv"));
    ctx.import("settlements", "pagoefectivo-settlement", &fixture("profiles/pagoefectivo-settlement.csv"));
    let summary = ctx.reconcile();
    // S-001 is paid (D-1001) but pending in the shop; S-002 is paid in the shop
    // but D-1002 is pending; S-003 is paid, settled and fulfilled. The dLocal
    // REFUND row for D-1006 matches none of our refunds (there are none). Four vouchers are
    // still pending at their PSP more than 3 days after they expired: D-1002,
    // CIP 90001004, and D-1008 / D-1009 (AUTHORIZED, VERIFIED: not final).
    assert_eq!(
        kind_counts(&summary),
        expected_kinds(&[
            ("paid_not_recorded", 1),
            ("recorded_not_paid", 1),
            ("unmatched_refund_settlement", 1),
            ("stale_pending", 4)
        ])
    );
    let stale: std::collections::BTreeSet<String> = ctx
        .exceptions_all()
        .iter()
        .filter(|e| e["kind"] == "stale_pending")
        .map(|e| e["payment_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stale, ["90001004", "D-1002", "D-1008", "D-1009"].into_iter().map(String::from).collect());
    assert_eq!(summary["matched"], 1);
    assert_eq!(summary["orders"], 6);
    assert_eq!(summary["payments"], 12);
    assert_eq!(summary["settlements"], 3);
    assert_eq!(summary["open_exceptions"], 7);
    assert_eq!(counts(&ctx.stats()), (6, 12, 3, 7));
}

// ─────────────────────── encodings, delimiters, quoting ───────────────────────

#[test]
fn fixture_bytes_are_what_their_names_say() {
    let read = |rel: &str| std::fs::read(fixture(rel)).unwrap();
    let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);

    let latin1 = read("encodings/latin1_semicolon_crlf.csv");
    assert!(has(&latin1, b"Ana Luc\xeda N\xfa\xf1ez;"), "Windows-1252 bytes for Núñez");
    assert!(has(&latin1, b"Tienda \xd1and\xfa;"));
    assert!(std::str::from_utf8(&latin1).is_err(), "must not be valid UTF-8");
    assert!(has(&latin1, b"\r\n"));

    let latin1_tab = read("encodings/latin1_tab_lf.tsv");
    assert!(has(&latin1_tab, b"\t\xd3scar Ib\xe1\xf1ez\t"));
    assert!(!has(&latin1_tab, b"\r"));

    let bom = read("encodings/utf8_bom_semicolon_crlf.csv");
    assert!(bom.starts_with(b"\xef\xbb\xbforder_id;"));
    assert!(has(&bom, "N\u{fa}\u{f1}ez".as_bytes()));
    assert_eq!(bom.iter().filter(|b| **b == b'\n').count(), 4);
    assert_eq!(bom.windows(2).filter(|w| w == b"\r\n").count(), 4, "every line ends in CRLF");

    let plain = read("encodings/utf8_comma_lf.csv");
    assert!(!plain.starts_with(b"\xef\xbb\xbf") && !has(&plain, b"\r"));

    let quoted = read("encodings/quoted.csv");
    assert!(has(&quoted, b"\"\"El \xc3\x91and\xc3\xba\"\", Sucursal Norte\nBogot"));
    assert!(has(&quoted, b"\r\nCentro\r\nLima\""), "CRLF inside a quoted field");
    assert!(quoted.ends_with(b"\n\n   \n\n"), "blank trailing lines");
}

/// Checks the three encoding fixture orders as read back from the database.
fn assert_encoding_orders(ctx: &Ctx, label: &str) {
    assert_eq!(counts(&ctx.stats()), (3, 0, 0, 0), "{label}");
    let e1 = only_case(ctx, "E-1");
    assert_eq!(e1["buyer_name"], "Ana Lucía Núñez", "{label}");
    assert_eq!(e1["order"]["store"], "Tienda Ñandú", "{label}");
    assert_eq!(e1["order"]["created_at"], "2026-03-10T14:00:00Z", "{label}");
    assert_eq!(e1["order"]["amount_minor"], 15_000_000, "{label}");
    assert_eq!(e1["order"]["status"], "pending_payment", "{label}");
    assert_eq!(e1["order"]["buyer_email"], "ana.nunez@correo.example", "{label}");
    assert_eq!(e1["order"]["voucher_expires_at"], "2026-03-13T14:00:00Z", "{label}");
    let e2 = only_case(ctx, "E-2");
    assert_eq!(e2["buyer_name"], "José Peña", "{label}");
    assert_eq!(e2["order"]["amount_minor"], 8_990_050, "{label}");
    assert_eq!(e2["order"]["status"], "paid", "{label}");
    let e3 = only_case(ctx, "E-3");
    assert_eq!(e3["buyer_name"], "Óscar Ibáñez", "{label}");
    assert_eq!(e3["order"]["store"], "Librería Cóndor", "{label}");
    assert_eq!(e3["order"]["country"], "PE", "{label}");
    assert_eq!(e3["order"]["currency"], "PEN", "{label}");
    assert_eq!(e3["order"]["amount_minor"], 123_450, "{label}");
    assert_eq!(e3["order"]["status"], "fulfilled", "{label}");
    // Accent- and case-insensitive search, whatever encoding the name came in.
    assert_eq!(ctx.lookup_ids("nunez"), ["E-1"], "{label}");
    assert_eq!(ctx.lookup_ids("NÚÑEZ"), ["E-1"], "{label}");
    assert_eq!(ctx.lookup_ids("ibanez"), ["E-3"], "{label}");
    assert_eq!(ctx.lookup_ids("peña"), ["E-2"], "{label}");
}

const ENCODING_FIXTURES: [&str; 5] = [
    "encodings/utf8_comma_lf.csv",
    "encodings/utf8_bom_semicolon_crlf.csv",
    "encodings/latin1_semicolon_crlf.csv",
    "encodings/latin1_tab_lf.tsv",
    "encodings/tab_reordered_extra.tsv",
];

#[test]
fn every_encoding_and_delimiter_gives_the_same_orders() {
    for rel in ENCODING_FIXTURES {
        let ctx = Ctx::new();
        let out = ctx.import("orders", "shop", &fixture(rel));
        assert!(stdout(&out).contains("imported 3 orders rows"), "{rel}: {}", stdout(&out));
        assert_encoding_orders(&ctx, rel);
    }
}

#[test]
fn row_sources_count_the_header_as_line_1_in_every_layout() {
    // LF and CRLF files alike: the first data row is line 2.
    for rel in ENCODING_FIXTURES {
        let ctx = Ctx::new();
        let file = fixture(rel);
        ctx.import("orders", "shop", &file);
        for (id, line) in [("E-1", 2), ("E-2", 3), ("E-3", 4)] {
            let source = only_case(&ctx, id)["order"]["source"].as_str().expect("source").to_string();
            assert_eq!(source, format!("{}:{line}", shown(&file)), "{rel}: order {id}");
        }
    }
}

#[test]
fn reordered_columns_extra_columns_and_header_case_are_accepted() {
    let ctx = Ctx::new();
    let file = fixture("encodings/tab_reordered_extra.tsv");
    let header = std::fs::read_to_string(&file).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.starts_with("voucher_code\tBUYER_NAME\t Order_ID \t"), "fixture header: {header:?}");
    assert!(header.contains("\tnotes\t") && header.ends_with("\tInternal Ref"));
    ctx.import("orders", "shop", &file);
    assert_encoding_orders(&ctx, "tab_reordered_extra");
    let e1 = only_case(&ctx, "E-1");
    assert_eq!(e1["order"]["voucher_code"], "4000009001", "found by name, not position");
    assert_eq!(e1["order"]["buyer_phone"], "+57 300 123 4567");
}

#[test]
fn quoted_fields_keep_delimiters_doubled_quotes_and_newlines() {
    let ctx = Ctx::new();
    let file = fixture("encodings/quoted.csv");
    let out = ctx.import("orders", "shop", &file);
    assert!(stdout(&out).contains("imported 3 orders rows"), "blank trailing lines are not rows: {}", stdout(&out));
    assert_eq!(counts(&ctx.stats()), (3, 0, 0, 0));

    let e1 = only_case(&ctx, "E-1");
    assert_eq!(e1["order"]["store"], "Tienda \"El Ñandú\", Sucursal Norte\nBogotá");
    assert_eq!(e1["buyer_name"], "Núñez, Ana Lucía");
    assert_eq!(e1["order"]["amount_minor"], 15_000_000, "a quoted amount");
    let e2 = only_case(&ctx, "E-2");
    assert_eq!(e2["order"]["store"], "Moda Andina\nLocal 12, piso 2");
    assert_eq!(e2["buyer_name"], "José \"Pepe\" Peña");
    assert_eq!(e2["order"]["buyer_phone"], "+57 311 222 3333");
    let e3 = only_case(&ctx, "E-3");
    let store = e3["order"]["store"].as_str().unwrap();
    assert!(
        store.starts_with("Librería \"Cóndor\"") && store.contains("Centro") && store.ends_with("Lima"),
        "{store:?}"
    );
    assert_eq!(e3["order"]["amount_minor"], 123_450);

    // Each row's line is where it starts, counting the lines inside quotes.
    for (id, line) in [("E-1", 2), ("E-2", 4), ("E-3", 6)] {
        assert_eq!(only_case(&ctx, id)["order"]["source"], format!("{}:{line}", shown(&file)), "{id}");
    }
    assert_eq!(ctx.lookup_ids("nunez"), ["E-1"]);
    assert_eq!(ctx.lookup_ids("pepe"), ["E-2"]);
}

// ───────────────────────────── idempotent re-import ─────────────────────────────

#[test]
fn importing_the_same_file_twice_changes_nothing_and_says_so() {
    let ctx = Ctx::new();
    let shop = fixture("profiles/shop.csv");
    let dlocal = fixture("profiles/dlocal.csv");
    ctx.import("orders", "shop", &shop);
    ctx.import("payments", "dlocal", &dlocal);
    ctx.reconcile();
    let before = ctx.stats();
    let exceptions_before = ctx.exceptions_all();
    let history_before = only_payment(&ctx, "D-1001")["history"].clone();

    let again = ctx.import("orders", "shop", &shop);
    assert!(stdout(&again).contains("already imported"), "{}", all_output(&again));
    let again = ctx.import("payments", "dlocal", &dlocal);
    assert!(stdout(&again).contains("already imported"), "{}", all_output(&again));

    assert_eq!(ctx.stats(), before);
    assert_eq!(ctx.exceptions_all(), exceptions_before);
    assert_eq!(only_payment(&ctx, "D-1001")["history"], history_before, "no new observation recorded");

    // --json says the same in a machine-readable way.
    let report = ctx.json(["import", "orders", shop.to_str().unwrap(), "--profile", "shop", "--json"]);
    assert_eq!(report["imported"][0]["outcome"], "already_imported", "{report}");
    assert_eq!(report["errors"].as_array().map(Vec::len), Some(0), "{report}");
}

#[test]
fn the_same_bytes_under_another_name_are_recognised() {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    let before = ctx.stats();
    let copy = ctx.path("pedidos-marzo (copia).csv");
    std::fs::copy(fixture("profiles/shop.csv"), &copy).unwrap();
    let out = ctx.import("orders", "shop", &copy);
    assert!(stdout(&out).contains("already imported"), "{}", all_output(&out));
    assert_eq!(ctx.stats(), before);
}

#[test]
fn the_same_rows_in_a_different_file_keep_one_row_each() {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    ctx.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    let before = ctx.stats();
    // Different bytes (one more trailing newline), same rows: imported, but no row is added.
    for (name, src, kind, profile) in [
        ("shop-again.csv", "profiles/shop.csv", "orders", "shop"),
        ("dlocal-again.csv", "profiles/dlocal.csv", "payments", "dlocal"),
    ] {
        let copy = ctx.path(name);
        let mut bytes = std::fs::read(fixture(src)).unwrap();
        bytes.push(b'\n');
        std::fs::write(&copy, bytes).unwrap();
        let out = ctx.import(kind, profile, &copy);
        assert!(!stdout(&out).contains("already imported"), "different bytes are a new file: {}", stdout(&out));
    }
    assert_eq!(ctx.stats(), before);
    let d1001 = only_payment(&ctx, "D-1001");
    assert_eq!(d1001["status"], "paid");
    assert_eq!(ctx.lookup("S-001")[0]["payments"].as_array().map(Vec::len), Some(1));
}

/// A dLocal report of 12,000 payments, all pending, then 300 of them again
/// as paid and 200 again unchanged; and a settlement report of 11,000 rows,
/// 440 of them twice.
fn reports_repeating_their_own_rows(ctx: &Ctx) -> (std::path::PathBuf, std::path::PathBuf) {
    let payment = |i: usize, status: &str, code: u32, approved: &str| {
        format!(
            "DR-{i:05},OR-{i:05},CO,EY,COP,{},{status},{code},2026-03-01T14:15:00.000+0000,{approved},2026-03-04T14:15:00.000+0000,40{i:08}\n",
            10_000 + i
        )
    };
    let mut payments = String::from(
        "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n",
    );
    for i in 0..12_000 {
        payments.push_str(&payment(i, "PENDING", 100, ""));
        // Repeats far from their first row and right after it, both.
        if i >= 6_000 && i % 20 == 0 {
            payments.push_str(&payment(i - 6_000, "PAID", 200, "2026-03-02T15:00:00.000+0000"));
        }
        if i % 60 == 7 {
            payments.push_str(&payment(i, "PENDING", 100, ""));
        }
    }
    let settlement = |i: usize| {
        format!(
            "SR-{i:05},DR-{i:05},PAYMENT,2026-03-03T10:00:00,2026-03-05,{},COP,4125.5,USD,3.00,2.90,0.10\n",
            10_000 + i
        )
    };
    let mut settlements = String::from(
        "TRANSACTION_ID,DLOCAL_TRANSACTION_ID,ROW_TYPE,CREATION_DATE,TRANSFER_DATE,LOCAL_AMOUNT,LOCAL_CURRENCY,FX_RATE,SETTLEMENT_CURRENCY,GROSS_AMOUNT,NET_AMOUNT,FEE_AMOUNT\n",
    );
    for i in 0..11_000 {
        settlements.push_str(&settlement(i));
        if i % 25 == 24 {
            settlements.push_str(&settlement(i - 24));
        }
    }
    let (payments_path, settlements_path) = (ctx.path("dlocal-repeats.csv"), ctx.path("settlement-repeats.csv"));
    std::fs::write(&payments_path, payments).unwrap();
    std::fs::write(&settlements_path, settlements).unwrap();
    (payments_path, settlements_path)
}

#[test]
fn a_large_file_repeating_its_own_rows_keeps_one_row_each_whether_written_in_bulk_or_row_by_row() {
    // Into empty tables the files go in bulk (no index until the end: the
    // parser's note of each repeat finds the row); after one small file of
    // each kind they go row by row through the unique indexes.
    let (bulk, rows) = (Ctx::new(), Ctx::new());
    let (payments, settlements) = reports_repeating_their_own_rows(&bulk);
    rows.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    rows.import("settlements", "dlocal-settlement", &fixture("profiles/dlocal-settlement.csv"));
    let earlier = |ctx: &Ctx| {
        let conn = rusqlite::Connection::open(&ctx.db).unwrap();
        let count = |table: &str| conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0));
        (count("payments").unwrap(), count("payment_status_history").unwrap(), count("settlements").unwrap())
    };
    for ctx in [&bulk, &rows] {
        let before = earlier(ctx);
        let out = stdout(&ctx.import("payments", "dlocal", &payments));
        assert!(
            out.contains("imported 12500 payments rows as batch")
                && out.contains("(12000 new, 0 updated, 0 unchanged, 500 repeated in the file;"),
            "{out}"
        );
        let out = stdout(&ctx.import("settlements", "dlocal-settlement", &settlements));
        assert!(
            out.contains("imported 11440 settlements rows as batch")
                && out.contains("(11000 new, 0 updated, 0 unchanged, 440 repeated in the file;"),
            "{out}"
        );
        let after = earlier(ctx);
        // One row a payment; one history row a status seen (the 300 paid
        // repeats add theirs, the 200 unchanged ones none); one row a settlement.
        assert_eq!((after.0 - before.0, after.1 - before.1, after.2 - before.2), (12_000, 12_300, 11_000));
        let conn = rusqlite::Connection::open(&ctx.db).unwrap();
        let statuses: Vec<(String, i64)> = conn
            .prepare(
                "SELECT status, count(*) FROM payments WHERE payment_id LIKE 'DR-%' GROUP BY status ORDER BY status",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(statuses, [("paid".to_string(), 300), ("pending".to_string(), 11_700)]);
        let (paid_first, paid_last): (String, String) = conn
            .query_row(
                "SELECT min(payment_id), max(payment_id) FROM payments WHERE status = 'paid' AND payment_id LIKE 'DR-%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((paid_first.as_str(), paid_last.as_str()), ("DR-00000", "DR-05980"));
        let history_of = |id: &str| -> Vec<String> {
            conn.prepare(
                "SELECT h.status FROM payment_status_history h JOIN payments p ON p.id = h.payment
                 WHERE p.payment_id = ?1 ORDER BY h.id",
            )
            .unwrap()
            .query_map([id], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        assert_eq!(history_of("DR-00020"), ["pending", "paid"]);
        assert_eq!(history_of("DR-06007"), ["pending"], "an unchanged repeat observes nothing new");
        let duplicate_keys: i64 = conn
            .query_row(
                "SELECT count(*) FROM (SELECT 1 FROM settlements GROUP BY payment_id, psp, row_type HAVING count(*) > 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(duplicate_keys, 0);
    }
}

// ─────────────────────────────── custom profiles ───────────────────────────────

fn payu_profile() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("assets/profiles/payu-colombia.toml");
    assert!(path.exists(), "the shipped example profile");
    path
}

#[test]
fn custom_payu_profile_reads_decimal_comma_day_first_dates_and_spanish_statuses() {
    let ctx = Ctx::new();
    let file = fixture("custom/payu.csv");
    let out =
        ctx.ok([os("import"), os("payments"), file.as_os_str(), os("--profile-file"), payu_profile().as_os_str()]);
    assert!(stdout(&out).contains("imported 4 payments rows"), "{}", all_output(&out));
    assert_eq!(counts(&ctx.stats()), (0, 4, 0, 0));

    let p1 = only_payment(&ctx, "PAYU-1");
    assert_eq!(p1["psp"], "payu");
    assert_eq!(p1["order_id"], "R-PAYU-1");
    assert_eq!(p1["country"], "CO", "constant from the profile");
    assert_eq!(p1["currency"], "COP");
    assert_eq!(p1["amount_minor"], 125_000_050, "1.250.000,50");
    assert_eq!(p1["status"], "paid");
    assert_eq!(p1["psp_status"], "APROBADA");
    assert_eq!(p1["network"], "efecty");
    // dd/mm/yyyy HH:MM in Bogotá time.
    assert_eq!(p1["created_at"], "2026-03-01T14:15:00Z");
    assert_eq!(p1["paid_at"], "2026-03-02T23:40:00Z");
    assert_eq!(p1["expires_at"], "2026-03-04T14:15:00Z");
    assert_eq!(p1["voucher_code"], "77001");

    let p2 = only_payment(&ctx, "PAYU-2");
    assert_eq!((p2["status"].as_str(), p2["amount_minor"].as_i64()), (Some("pending"), Some(8_990_000)), "89.900");
    let p3 = only_payment(&ctx, "PAYU-3");
    assert_eq!((p3["status"].as_str(), p3["network"].as_str()), (Some("rejected"), Some("other")));
    assert_eq!(p3["amount_minor"], 15_000_000);
    let p4 = only_payment(&ctx, "PAYU-4");
    assert_eq!(p4["status"], "expired", "the status map is case-insensitive (Expirada)");
    // Looked up by its payment code too.
    assert_eq!(ctx.lookup_ids("77003"), ["R-PAYU-3"]);
}

#[test]
fn custom_profile_headers_match_case_insensitively_even_with_accents() {
    // "ID TRANSACCIÓN" is the header "Id transacción" in capitals.
    let ctx = Ctx::new();
    let file = fixture("custom/payu_upper_headers.csv");
    let out =
        ctx.run([os("import"), os("payments"), file.as_os_str(), os("--profile-file"), payu_profile().as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(only_payment(&ctx, "PAYU-1")["amount_minor"], 125_000_050);
}

#[test]
fn broken_profile_files_are_refused_with_a_clear_message() {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    let before = ctx.stats();
    let file = fixture("custom/payu.csv");
    let cases: [(&str, &[&str]); 4] = [
        ("custom/broken_missing_order_id.toml", &["broken_missing_order_id.toml", "\"order_id\"", "needs a column"]),
        ("custom/broken_status_map.toml", &["broken_status_map.toml", "\"approved\"", "not a payment status"]),
        ("custom/broken_syntax.toml", &["broken_syntax.toml", "TOML parse error"]),
        ("custom/does-not-exist.toml", &["cannot read profile file", "does-not-exist.toml"]),
    ];
    for (profile, fragments) in cases {
        let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests/fixtures").join(profile);
        let out = ctx
            .fails_with(2, [os("import"), os("payments"), file.as_os_str(), os("--profile-file"), profile.as_os_str()]);
        let err = stderr(&out);
        for f in fragments {
            assert!(err.contains(f), "{}: stderr should contain {f:?}:\n{err}", profile.display());
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(ctx.stats(), before);
    assert!(ctx.lookup("PAYU-1").is_empty());
}

#[test]
fn an_unknown_built_in_profile_or_a_profile_of_the_wrong_kind_is_refused() {
    let ctx = Ctx::new();
    let out =
        ctx.fails_with(2, ["import", "orders", fixture("profiles/shop.csv").to_str().unwrap(), "--profile", "payu"]);
    let err = stderr(&out);
    assert!(err.contains("unknown profile \"payu\"") && err.contains("pagoefectivo-settlement"), "{err}");
    let out =
        ctx.fails_with(2, ["import", "payments", fixture("profiles/shop.csv").to_str().unwrap(), "--profile", "shop"]);
    assert!(stderr(&out).contains("imports orders, not payments"), "{}", stderr(&out));
    assert_eq!(counts(&ctx.stats()), (0, 0, 0, 0));
}

#[test]
fn quoted_headers_and_timestamps_without_offset_are_read_in_the_market_zone() {
    let ctx = Ctx::new();
    let file = fixture("encodings/quoted_header_no_offset.csv");
    let out = ctx.import("orders", "shop", &file);
    assert!(stdout(&out).contains("imported 2 orders rows"), "{}", stdout(&out));
    let n1 = only_case(&ctx, "N-1");
    assert_eq!(n1["order"]["store"], "Tienda Ñandú; Sucursal Sur", "a quoted delimiter");
    assert_eq!(n1["order"]["created_at"], "2026-03-10T14:00:00Z", "09:00 in Bogotá");
    assert_eq!(n1["order"]["voucher_expires_at"], "2026-03-13T14:00:00Z", "space, no seconds");
    let n2 = only_case(&ctx, "N-2");
    assert_eq!(n2["order"]["created_at"], "2026-03-11T04:30:00Z", "23:30 in Lima is the next day in UTC");
    assert_eq!(n2["order"]["voucher_expires_at"], "2026-03-11T05:00:00Z", "a bare date is local midnight");
    assert_eq!(ctx.lookup_ids("nunez"), ["N-1"]);

    // dLocal payment rows without an offset: the row's market (COUNTRY) decides.
    let payments = support::dlocal_payments_file(
        &ctx,
        "dlocal-no-offset.csv",
        &["D-N1,N-1,CO,EY,COP,150000,PAID,200,2026-03-10T09:00:00,2026-03-10 10:30:00,2026-03-13,4000008001"],
    );
    ctx.import("payments", "dlocal", &payments);
    let p = only_payment(&ctx, "D-N1");
    assert_eq!(p["created_at"], "2026-03-10T14:00:00Z");
    assert_eq!(p["paid_at"], "2026-03-10T15:30:00Z");
    assert_eq!(p["expires_at"], "2026-03-13T05:00:00Z");
}

#[test]
fn windows_1252_punctuation_is_decoded() {
    // 0x93/0x94 are curly quotes and 0x80 the euro sign in Windows-1252 (Excel's "ANSI").
    let ctx = Ctx::new();
    let file = ctx.path("cp1252.csv");
    std::fs::write(
        &file,
        b"order_id;store;created_at;buyer_name;buyer_email;buyer_phone;buyer_document;country;amount;currency;status;psp;psp_payment_id;voucher_code;voucher_expires_at\n\
          W-1;Caf\xe9 \x93La Esquina\x94 \x80;2026-03-10T09:00:00-05:00;Jos\xe9 Pe\xf1a;jose@correo.example;+57 301 000 0002;1002;CO;1000.00;COP;paid;dlocal;;;\n",
    )
    .unwrap();
    ctx.import("orders", "shop", &file);
    let w1 = only_case(&ctx, "W-1");
    assert_eq!(w1["order"]["store"], "Café \u{201c}La Esquina\u{201d} \u{20ac}");
    assert_eq!(w1["buyer_name"], "José Peña");
    assert_eq!(ctx.lookup_ids("jose pena"), ["W-1"]);
}
