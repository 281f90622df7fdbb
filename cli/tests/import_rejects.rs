//! Atomic failure: each kind of bad input is refused with exit code 2, a clear
//! message (`FILE:LINE: column: reason` for bad rows, the header being line 1),
//! and the database exactly as it was.

use crate::support;

use serde_json::Value;
use std::path::Path;
use support::{Ctx, counts, fixture, shown, stderr, stdout};

/// What a refused import must leave untouched.
struct Snapshot {
    stats: Value,
    exceptions: Vec<Value>,
    audit_entries: u64,
    tables: std::collections::BTreeMap<String, i64>,
}

fn snapshot(ctx: &Ctx) -> Snapshot {
    Snapshot {
        stats: ctx.stats(),
        exceptions: ctx.exceptions_all(),
        audit_entries: ctx.audit_entries(),
        tables: support::table_counts(&ctx.db),
    }
}

/// A database with orders, payments and an exception queue in it.
fn populated() -> Ctx {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("profiles/shop.csv"));
    ctx.import("payments", "dlocal", &fixture("profiles/dlocal.csv"));
    ctx.reconcile();
    let stats = ctx.stats();
    assert_eq!(counts(&stats).0, 6);
    assert!(counts(&stats).3 > 0, "the setup should have open exceptions: {stats}");
    ctx
}

/// Imports `file` and requires the refusal: exit 2, every fragment in stderr,
/// nothing changed, the same file refused again (its hash was not recorded),
/// and a valid import still working afterwards.
fn assert_refused(ctx: &Ctx, kind: &str, profile: &str, file: &Path, fragments: &[String]) -> String {
    let before = snapshot(ctx);
    let out = ctx.try_import(kind, profile, file);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}: exit code\nstdout:\n{}\nstderr:\n{err}", file.display(), stdout(&out));
    for f in fragments {
        assert!(err.contains(f.as_str()), "{}: stderr should contain {f:?}:\n{err}", file.display());
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!stdout(&out).contains("imported"), "nothing may be reported as imported: {}", stdout(&out));

    let after = snapshot(ctx);
    assert_eq!(after.stats, before.stats, "{}: stats changed", file.display());
    assert_eq!(after.exceptions, before.exceptions, "{}: exceptions changed", file.display());
    assert_eq!(after.audit_entries, before.audit_entries, "{}: the audit log grew", file.display());
    assert_eq!(after.tables, before.tables, "{}: some table changed", file.display());

    let again = ctx.try_import(kind, profile, file);
    assert_eq!(again.status.code(), Some(2), "refused again, not 'already imported': {}", stdout(&again));

    // The store still takes a valid file.
    let orders_before = counts(&ctx.stats()).0;
    let (valid, order_id) = fresh_orders_file(ctx);
    let out = ctx.import("orders", "shop", &valid);
    assert!(stdout(&out).contains("imported 1 orders rows"), "{}", stdout(&out));
    assert_eq!(counts(&ctx.stats()).0, orders_before + 1, "a valid import after the refusal");
    assert_eq!(ctx.lookup_ids(&order_id), vec![order_id]);
    err
}

/// [`assert_refused`] for an orders file read with the shop profile.
fn assert_refused_orders(ctx: &Ctx, file: &Path, fragments: &[String]) -> String {
    assert_refused(ctx, "orders", "shop", file, fragments)
}

/// A fresh populated database refuses the orders file `rel` for one bad row
/// (the only error listed), and none of `absent` is in the store.
fn assert_one_bad_order_row(rel: &str, line: u32, column: &str, reason: &str, absent: &[&str]) {
    let ctx = populated();
    let file = fixture(rel);
    assert_refused_orders(&ctx, &file, &[row_error(&file, line, column, reason)]);
    for id in absent {
        assert!(ctx.lookup(id).is_empty(), "{id} is not in the store");
    }
}

/// `import KIND FILE… FLAG…` as command-line arguments.
fn import_cmd(kind: &str, files: &[&Path], flags: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args = vec!["import".into(), kind.into()];
    args.extend(files.iter().map(|f| f.as_os_str().to_os_string()));
    args.extend(flags.iter().map(std::ffi::OsString::from));
    args
}

/// A one-order shop file with an order id not used before in this database.
fn fresh_orders_file(ctx: &Ctx) -> (std::path::PathBuf, String) {
    let n = (1..).find(|n| !ctx.path(&format!("valid-{n}.csv")).exists()).unwrap();
    let order_id = format!("V-{n}");
    let path = ctx.path(&format!("valid-{n}.csv"));
    std::fs::write(
        &path,
        format!(
            "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n\
             {order_id},Moda Andina,2026-03-10T10:00:00-05:00,Raúl Pérez,raul.perez@correo.example,+57 314 000 0006,1066666666,CO,45000.00,COP,pending_payment,dlocal,,,\n"
        ),
    )
    .unwrap();
    (path, order_id)
}

/// `FILE:LINE: column: reason-prefix`
fn row_error(file: &Path, line: u32, column: &str, reason: &str) -> String {
    format!("{}:{line}: {column}: {reason}", shown(file))
}

#[test]
fn missing_required_columns_are_named() {
    let ctx = populated();
    let file = fixture("rejects/missing_column.csv");
    let err = assert_refused_orders(
        &ctx,
        &file,
        &[format!("{}:1: missing required column(s)", shown(&file)), "\"currency\"".into(), "\"status\"".into()],
    );
    assert!(ctx.lookup("X-1").is_empty(), "{err}");
}

#[test]
fn an_unknown_status_is_refused_at_its_line() {
    // Rows 2 and 3 were fine, and still nothing of the file is in the store.
    assert_one_bad_order_row("rejects/unknown_status.csv", 4, "status", "unknown status \"shipped\"", &["X-1", "X-2"]);
}

#[test]
fn an_unknown_currency_is_refused_at_its_line() {
    assert_one_bad_order_row("rejects/unknown_currency.csv", 2, "currency", "unknown currency \"EUR\"", &["X-2"]);
}

#[test]
fn an_unparseable_amount_is_refused_at_its_line() {
    assert_one_bad_order_row("rejects/bad_amount.csv", 4, "amount", "\"12O.00\" is not a number", &["X-1"]);
}

#[test]
fn a_negative_amount_is_refused_at_its_line() {
    assert_one_bad_order_row("rejects/negative_amount.csv", 2, "amount", "negative amount", &["X-2"]);
}

#[test]
fn an_unparseable_date_is_refused_at_its_line() {
    assert_one_bad_order_row("rejects/bad_date.csv", 3, "created_at", "\"31/02/2026\"", &["X-1"]);
}

#[test]
fn every_bad_row_of_a_file_is_listed() {
    let ctx = populated();
    let file = fixture("rejects/several_bad_rows.csv");
    let err = assert_refused_orders(
        &ctx,
        &file,
        &[
            format!("{}: 3 bad rows; nothing was imported", shown(&file)),
            row_error(&file, 2, "currency", "unknown currency \"EUR\""),
            row_error(&file, 4, "amount", "\"abc\" is not a number"),
            row_error(&file, 4, "status", "unknown status \"delivered\""),
            row_error(&file, 6, "created_at", "\"2026-13-01T10:00:00-05:00\""),
        ],
    );
    for good_line in [3, 5] {
        assert!(!err.contains(&format!("{}:{good_line}:", shown(&file))), "line {good_line} is fine:\n{err}");
    }
    let listed = err.lines().filter(|l| l.starts_with(&format!("{}:", shown(&file)))).count();
    assert_eq!(listed, 5, "one summary line + 4 problems:\n{err}");
}

#[test]
fn bad_payment_rows_are_listed_with_the_files_own_column_names() {
    let ctx = populated();
    let file = fixture("rejects/dlocal_bad_rows.csv");
    assert_refused(
        &ctx,
        "payments",
        "dlocal",
        &file,
        &[
            format!("{}: 3 bad rows", shown(&file)),
            row_error(&file, 3, "STATUS", "unknown dLocal status \"SETTLED\""),
            row_error(&file, 4, "APPROVED_DATE", "is required when the status is paid"),
            row_error(&file, 5, "PAYMENT_METHOD_ID", "unknown dLocal payment method \"VI\""),
        ],
    );
    assert!(ctx.lookup("D-X1").is_empty(), "the good first row was not written");
}

#[test]
fn bad_rows_of_a_custom_profile_are_listed() {
    let ctx = populated();
    let file = fixture("custom/payu_bad_rows.csv");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("assets/profiles/payu-colombia.toml");
    let before = ctx.stats();
    let out = ctx.fails_with(2, import_cmd("payments", &[&file], &["--profile-file", profile.to_str().unwrap()]));
    let err = stderr(&out);
    for f in [
        row_error(&file, 3, "Valor", "\"1,250,000.50\" is not a number"),
        row_error(&file, 3, "Estado", "unknown status \"PAGADA\""),
        row_error(&file, 3, "Fecha creación", "\"2026-03-01 09:15\""),
    ] {
        assert!(err.contains(&f), "stderr should contain {f:?}:\n{err}");
    }
    assert_eq!(ctx.stats(), before);
    assert!(ctx.lookup("PAYU-1").is_empty());
}

#[test]
fn line_numbers_after_multi_line_quoted_fields_are_right() {
    let ctx = populated();
    let file = fixture("encodings/quoted_bad.csv");
    assert_refused_orders(
        &ctx,
        &file,
        &[
            format!("{}: 2 bad rows", shown(&file)),
            row_error(&file, 4, "currency", "unknown currency \"EUR\""),
            row_error(&file, 8, "amount", "\"1.234,50\" is not a number"),
        ],
    );
}

#[test]
fn line_numbers_in_crlf_files_count_the_header_as_line_1() {
    let ctx = populated();
    let file = fixture("rejects/crlf_bad_rows.csv");
    assert!(std::fs::read(&file).unwrap().windows(2).any(|w| w == b"\r\n"), "fixture must use CRLF");
    assert_refused_orders(
        &ctx,
        &file,
        &[
            format!("{}: 2 bad rows", shown(&file)),
            row_error(&file, 3, "currency", "unknown currency \"XXX\""),
            row_error(&file, 4, "status", "unknown status \"sent\""),
        ],
    );
}

#[test]
fn rows_with_the_wrong_number_of_fields_are_refused() {
    let ctx = populated();
    let file = fixture("rejects/ragged.csv");
    assert_refused_orders(
        &ctx,
        &file,
        &[row_error(&file, 3, "(row)", "has 16 fields but the header has 15"), row_error(&file, 5, "(row)", "")],
    );
}

#[test]
fn an_empty_file_is_refused() {
    let ctx = populated();
    for rel in ["rejects/empty.csv", "rejects/blank_lines_only.csv"] {
        let file = fixture(rel);
        assert_refused_orders(&ctx, &file, &[format!("{}: the file is empty", shown(&file))]);
    }
}

#[test]
fn a_binary_file_is_refused() {
    let ctx = populated();
    for rel in ["rejects/binary.png", "rejects/binary.zip"] {
        let file = fixture(rel);
        let bytes = std::fs::read(&file).unwrap();
        assert!(bytes.contains(&0), "{rel} must hold NUL bytes");
        assert_refused_orders(&ctx, &file, &[format!("{}: the file is binary", shown(&file))]);
    }
}

#[test]
fn a_utf16_file_is_refused_with_advice() {
    let ctx = populated();
    let file = fixture("rejects/utf16.csv");
    assert_refused_orders(&ctx, &file, &[format!("{}: the file is UTF-16", shown(&file))]);
}

#[test]
fn a_file_with_only_a_header_is_refused() {
    let ctx = populated();
    let file = fixture("rejects/header_only.csv");
    assert_refused_orders(&ctx, &file, &[format!("{}: the file has a header but no data rows", shown(&file))]);
}

#[test]
fn a_refused_file_among_several_imports_nothing_while_the_good_one_is_imported() {
    let ctx = populated();
    let good = fixture("encodings/utf8_comma_lf.csv");
    let bad = fixture("rejects/unknown_currency.csv");
    let before = counts(&ctx.stats());
    let out = ctx.fails_with(2, import_cmd("orders", &[&good, &bad], &["--profile", "shop"]));
    assert!(stdout(&out).contains("imported 3 orders rows"), "{}", stdout(&out));
    assert!(stderr(&out).contains(&row_error(&bad, 2, "currency", "unknown currency")), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 of 2 file(s) refused"), "{}", stderr(&out));
    assert_eq!(counts(&ctx.stats()).0, before.0 + 3);
    assert!(ctx.lookup("X-2").is_empty());
}

#[test]
fn a_missing_file_is_an_error_but_not_a_panic() {
    let ctx = populated();
    let before = ctx.stats();
    let missing = ctx.path("no-such-file.csv");
    let out = ctx.try_import("orders", "shop", &missing);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains("no-such-file.csv") && err.contains("cannot read"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(ctx.stats(), before);
}

#[test]
fn json_output_reports_the_refusal_with_a_code() {
    let ctx = populated();
    let file = fixture("rejects/several_bad_rows.csv");
    let out = ctx.fails_with(2, import_cmd("orders", &[&file], &["--profile", "shop", "--json"]));
    let report: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object on stdout");
    assert_eq!(report["imported"].as_array().map(Vec::len), Some(0), "{report}");
    assert_eq!(report["errors"].as_array().map(Vec::len), Some(1), "{report}");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&row_error(&file, 4, "status", "unknown status")), "{message}");
    assert!(!report["errors"][0]["code"].as_str().unwrap_or("").is_empty(), "{report}");
}

#[test]
fn a_database_written_by_a_newer_version_is_refused_and_left_alone() {
    let ctx = populated();
    {
        let conn = rusqlite::Connection::open(&ctx.db).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let out = ctx.fails_with(2, ["stats", "--json"]);
    assert!(stderr(&out).contains("newer VoucherDesk"), "{}", stderr(&out));
    let out = ctx.try_import("orders", "shop", &fixture("encodings/utf8_comma_lf.csv"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, 99);
    let orders: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
    assert_eq!(orders, 6);
}
