//! `import auto`: a morning's files of every kind in one call, each file
//! atomic on its own; and demo files numbered past an earlier set, which add a
//! day's orders to its ledger.

use crate::support;

use serde_json::Value;
use support::{Ctx, contract_demo_fee, demo_files, dlocal_payments_file, stderr, stdout, table_counts};
use voucherdesk::store::SEARCH_IMAGE_FILE_PREFIX;

/// A dLocal payment row whose amount is not a number.
const BAD_AMOUNT_ROW: &str = "D-77000002,CO-7700002,CO,EF,COP,12x,PAID,200,2026-03-05T14:41:00.000+0000,2026-03-05T18:36:00.000+0000,2026-03-06T14:41:00.000+0000,2";

fn rows_of(manifest: &Value, kind: &str) -> i64 {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .map(|f| f["rows"].as_i64().unwrap())
        .sum()
}

#[test]
fn one_call_imports_every_kind_in_order_and_a_bad_file_refuses_only_itself() {
    let ctx = Ctx::new();
    let (mut files, manifest) = demo_files(&ctx, "day", 3, 1, 1200);
    // Settlements first on the command line, a file no profile fits, and a
    // payments file with one bad row in the middle.
    files.reverse();
    let junk = ctx.path("notes.csv");
    std::fs::write(&junk, "fecha,comentario\n2026-03-04,hola\n").unwrap();
    let bad = dlocal_payments_file(
        &ctx,
        "dlocal-bad.csv",
        &[
            "D-77000001,CO-7700001,CO,EF,COP,1000.00,PAID,200,2026-03-05T14:41:00.000+0000,2026-03-05T18:36:00.000+0000,2026-03-06T14:41:00.000+0000,1",
            BAD_AMOUNT_ROW,
        ],
    );
    files.insert(2, junk.clone());
    files.insert(0, bad.clone());
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
    args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    let out = ctx.fails_with(2, &args);
    let (text, errors) = (stdout(&out), stderr(&out));

    // The report lists each file once, orders before payments before settlements.
    let imported: Vec<&str> = text.lines().filter(|l| l.contains(": imported ")).collect();
    assert_eq!(imported.len(), 7, "{text}");
    let kinds: Vec<&str> = imported.iter().map(|l| l.split_whitespace().nth(3).unwrap()).collect();
    assert_eq!(kinds, ["orders", "orders", "payments", "payments", "payments", "settlements", "settlements"], "{text}");
    assert!(
        errors.contains(&format!(
            "{}:1: no profile matches this header (found: \"fecha\", \"comentario\")",
            junk.display()
        )),
        "{errors}"
    );
    assert!(errors.contains(&format!("{}: 1 bad row; nothing was imported", bad.display())), "{errors}");
    assert!(errors.contains(&format!("{}:3: AMOUNT:", bad.display())), "{errors}");
    assert!(errors.contains("9 file(s): 7 imported"), "{errors}");
    assert!(errors.contains("2 refused"), "{errors}");
    assert!(errors.contains("2 of 9 file(s) refused; those files imported nothing"), "{errors}");

    // Exactly the demo's rows are in, none of the bad file's (its good first row neither).
    let stats = ctx.json(["stats", "--json"]);
    assert_eq!(stats["orders"].as_i64(), Some(rows_of(&manifest, "orders")));
    assert_eq!(stats["payments"], manifest["expected"]["payments"], "{stats}");
    assert_eq!(stats["settlements"].as_i64(), Some(rows_of(&manifest, "settlements")));
    assert!(ctx.lookup("D-77000001").is_empty(), "the bad file imported nothing");

    // The same call again changes nothing and refuses the same two files.
    let before = table_counts(&ctx.db);
    let again = ctx.fails_with(2, &args);
    assert_eq!(stdout(&again).matches("already imported as batch").count(), 7, "{}", stdout(&again));
    assert!(stderr(&again).contains("9 file(s): 0 imported (0 rows), 7 already imported, 2 refused"));
    let mut after = table_counts(&ctx.db);
    // Nothing at all: no batch, no row, no audit entry.
    after.retain(|table, n| before.get(table) != Some(n));
    assert!(after.is_empty(), "a repeated run changed {after:?}");

    // Reconciled, the run finds exactly what the demo expects.
    contract_demo_fee(&ctx.db, manifest["dlocal_fee_bps"].as_i64().unwrap());
    let summary = ctx.json(["reconcile", "--as-of", manifest["as_of"].as_str().unwrap(), "--json"]);
    assert_eq!(summary["matched"], manifest["expected"]["matched"]);
    assert_eq!(summary["exceptions"], manifest["expected"]["exceptions"]);
}

#[test]
fn auto_takes_no_profile_and_json_names_each_refused_file() {
    let ctx = Ctx::new();
    let (files, _) = demo_files(&ctx, "day", 5, 1, 200);
    let out = ctx.fails_with(2, ["import", "auto", files[0].to_str().unwrap(), "--profile", "shop"]);
    assert!(stderr(&out).contains("import auto recognises each file's profile from its header"), "{}", stderr(&out));
    assert_eq!(ctx.json(["stats", "--json"])["orders"], 0);

    let missing = ctx.path("missing.csv");
    // A file that cannot be read is the machine's problem (exit 1), as for one kind.
    let out = ctx.fails_with(1, ["import", "auto", files[0].to_str().unwrap(), missing.to_str().unwrap(), "--json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("one JSON report");
    assert_eq!(report["imported"].as_array().unwrap().len(), 1, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["code"], "import.read");
    assert!(errors[0]["message"].as_str().unwrap().starts_with(&missing.display().to_string()), "{report}");
}

#[test]
fn reconcile_joins_the_run_and_decides_what_the_reconcile_command_decides() {
    let ctx = Ctx::new();
    let (history, manifest) = demo_files(&ctx, "history", 3, 1, 1500);
    let (day, day_manifest) = demo_files(&ctx, "day", 4, 1501, 400);
    let as_of = manifest["as_of"].as_str().unwrap().to_string();
    let call = |files: &[std::path::PathBuf], extra: &[&str]| {
        let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
        args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
        args.extend(["--reconcile", "--as-of", &as_of].iter().chain(extra).map(Into::into));
        args
    };

    // The history, reconciled in the same run: the JSON report carries the summary a full run gives.
    let report = ctx.json(call(&history, &["--json"]));
    assert_eq!(report["imported"].as_array().unwrap().len(), 7, "{report}");
    assert_eq!(report["reconciled"]["orders"], manifest["expected"]["orders"], "{report}");
    let full = ctx.json(["reconcile", "--full", "--as-of", &as_of, "--json"]);
    assert_eq!(report["reconciled"], full);

    // The day's files with a bad one: the others go in, the run still reconciles, and exits 2.
    let bad = dlocal_payments_file(&ctx, "dlocal-bad.csv", &[BAD_AMOUNT_ROW]);
    let mut files = day.clone();
    files.push(bad);
    let out = ctx.fails_with(2, call(&files, &[]));
    let (text, errors) = (stdout(&out), stderr(&out));
    assert!(errors.contains("re-examined what changed since the last run"), "{errors}");
    assert!(errors.contains("1 of 8 file(s) refused"), "{errors}");
    let orders =
        manifest["expected"]["orders"].as_u64().unwrap() + day_manifest["expected"]["orders"].as_u64().unwrap();
    let full = ctx.json(["reconcile", "--full", "--as-of", &as_of, "--json"]);
    assert_eq!(full["orders"].as_u64(), Some(orders));
    assert!(text.contains(&format!("as of {as_of}: {orders} orders, {} payments", full["payments"])), "{text}");
    assert!(text.contains(&format!("open exceptions: {}", full["open_exceptions"])), "{text}");

    // --as-of belongs to --reconcile.
    let out = ctx.fails_with(2, ["import", "auto", day[0].to_str().unwrap(), "--as-of", &as_of]);
    assert!(stderr(&out).contains("--reconcile"), "{}", stderr(&out));
}

#[test]
fn a_second_numbered_set_adds_its_orders_and_the_ledger_reconciles_to_both_sets_expectations() {
    let ctx = Ctx::new();
    let (first, first_manifest) = demo_files(&ctx, "history", 3, 1, 1500);
    let (day, day_manifest) = demo_files(&ctx, "day", 4, 1501, 400);
    for files in [&first, &day] {
        let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
        args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
        ctx.ok(&args);
    }
    let sum =
        |key: &str| first_manifest["expected"][key].as_u64().unwrap() + day_manifest["expected"][key].as_u64().unwrap();
    let stats = ctx.json(["stats", "--json"]);
    // Every order and payment of the day is new; the month's dLocal fee row is the same row in both sets.
    assert_eq!(stats["orders"].as_u64(), Some(sum("orders")));
    assert_eq!(stats["payments"].as_u64(), Some(sum("payments")));
    assert_eq!(stats["settlements"].as_u64(), Some(sum("settlements") - 1));
    contract_demo_fee(&ctx.db, first_manifest["dlocal_fee_bps"].as_i64().unwrap());
    let summary = ctx.json(["reconcile", "--as-of", first_manifest["as_of"].as_str().unwrap(), "--json"]);
    assert_eq!(summary["matched"].as_u64(), Some(sum("matched")));
    for (kind, n) in summary["exceptions"].as_object().unwrap() {
        let expected = first_manifest["expected"]["exceptions"][kind].as_u64().unwrap()
            + day_manifest["expected"]["exceptions"][kind].as_u64().unwrap();
        assert_eq!(n.as_u64(), Some(expected), "{kind}");
    }

    let out = ctx.fails_with(
        2,
        ["demo", "--out", ctx.path("x").to_str().unwrap(), "--orders", "10", "--first-order", "9999991"],
    );
    assert!(
        stderr(&out).contains("--first-order must be at least 1, and the last order number at most 9999999"),
        "{}",
        stderr(&out)
    );
    assert!(!ctx.path("x").exists(), "a refused demo writes nothing");
}

#[test]
fn each_row_reads_back_from_its_files_compressed_archive_as_it_stood_in_the_file() {
    let ctx = Ctx::new();
    let (files, _) = demo_files(&ctx, "day", 6, 1, 600);
    let pe_orders = files.iter().find(|f| f.ends_with("orders-pe.csv")).unwrap();
    let co_orders = files.iter().find(|f| f.ends_with("orders-co.csv")).unwrap();
    ctx.ok(["import", "auto", co_orders.to_str().unwrap(), pe_orders.to_str().unwrap()]);

    // The Peruvian file is Windows-1252: its rows read back decoded, line for line.
    let pe_bytes = std::fs::read(pe_orders).unwrap();
    let (bytes, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&pe_bytes);
    let pe_lines: Vec<&str> = bytes.lines().collect();
    let co_text = std::fs::read_to_string(co_orders).unwrap();
    let co_lines: Vec<&str> = co_text.lines().collect();
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    let spans: Vec<(String, i64, i64, i64, i64)> = conn
        .prepare("SELECT order_id, batch_id, line, raw_offset, raw_len FROM orders ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(spans.len(), co_lines.len() + pe_lines.len() - 2, "every order of both files");
    let store = voucherdesk::store::Store::open(&ctx.db).unwrap();
    let mut accented = 0;
    for (order_id, batch, line, offset, len) in &spans {
        let lines = if order_id.starts_with("CO-") { &co_lines } else { &pe_lines };
        let raw = store.raw_row(*batch, *offset as u64, *len as u64).unwrap().expect("an archived row");
        assert_eq!(raw.trim_end_matches(['\r', '\n']), lines[*line as usize - 1], "{order_id} at line {line}");
        accented += usize::from(raw.contains(['ñ', 'á', 'é', 'í', 'ó', 'ú', 'Ñ']));
    }
    assert!(accented > 10, "the rows carry decoded Spanish names: {accented}");

    // Archived compressed: a fraction of the text.
    let archived: i64 = conn.query_row("SELECT sum(length(text)) FROM import_files", [], |r| r.get(0)).unwrap();
    let plain = (co_text.len() + bytes.len()) as i64;
    assert!(archived * 3 < plain, "archive {archived} bytes for {plain} bytes of text");

    let co_batch = spans[0].1;
    assert_eq!(store.raw_row(co_batch, co_text.len() as u64, 5).unwrap(), None, "a span past the end");

    // An archive from before compression (the plain text) reads the same way.
    let (order_id, batch, line, offset, len) = spans.last().unwrap().clone();
    conn.execute("UPDATE import_files SET text = ?1 WHERE batch_id = ?2", rusqlite::params![bytes.as_bytes(), batch])
        .unwrap();
    let raw = store.raw_row(batch, offset as u64, len as u64).unwrap().expect("the plain archive's row");
    assert_eq!(raw.trim_end_matches(['\r', '\n']), pe_lines[line as usize - 1], "{order_id}");
    assert_eq!(store.raw_row(batch, bytes.len() as u64 + 10, 5).unwrap(), None, "a span past the end");
    assert_eq!(store.raw_row(9_999, 0, 5).unwrap(), None, "no such batch");
}

#[test]
fn auto_recognises_a_merchants_own_profile_beside_the_built_in_ones() {
    let ctx = Ctx::new();
    let (files, _) = demo_files(&ctx, "day", 8, 1, 100);
    let shop = files.iter().find(|f| f.ends_with("orders-co.csv")).unwrap();
    let payu = support::fixture("custom/payu.csv");
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/profiles/payu-colombia.toml");

    // Without its profile, the PayU export is refused on its own; the shop file goes in.
    let out = ctx.fails_with(2, ["import", "auto", payu.to_str().unwrap(), shop.to_str().unwrap()]);
    assert!(
        stderr(&out).contains(&format!("{}:1: no profile matches this header", payu.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(ctx.json(["stats", "--json"])["payments"], 0);

    // With it, the export is read as the profile says (decimal comma, Spanish statuses).
    let out = ctx.ok([
        "import",
        "auto",
        payu.to_str().unwrap(),
        shop.to_str().unwrap(),
        "--profile-file",
        profile.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert!(text.contains(&format!("{}: imported 4 payments rows", payu.display())), "{text}");
    assert!(text.contains("already imported as batch 1"), "{text}");
    let paid = ctx.lookup("PAYU-1");
    let payment = paid[0]["payments"].as_array().unwrap().iter().find(|p| p["payment_id"] == "PAYU-1").unwrap().clone();
    assert_eq!((payment["psp"].as_str(), payment["amount_minor"].as_i64()), (Some("payu"), Some(125_000_050)));

    // One custom profile per kind-named import, several with auto.
    let out = ctx.fails_with(
        2,
        [
            "import",
            "payments",
            payu.to_str().unwrap(),
            "--profile-file",
            profile.to_str().unwrap(),
            "--profile-file",
            profile.to_str().unwrap(),
        ],
    );
    assert!(stderr(&out).contains("one --profile-file for one kind of file"), "{}", stderr(&out));
}

#[test]
fn lookup_raw_shows_each_files_row_under_its_source_as_the_file_has_it() {
    let ctx = Ctx::new();
    let (files, _) = demo_files(&ctx, "day", 9, 1, 300);
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
    args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    ctx.ok(&args);
    let text_of = |path: &str| -> String {
        let bytes = std::fs::read(path).unwrap();
        match String::from_utf8(bytes.clone()) {
            Ok(text) => text,
            Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes).0.into_owned(),
        }
    };
    // "from FILE:LINE", "file FILE:LINE" or "(FILE:LINE)".
    let source = |line: &str| -> Option<(String, usize)> {
        let token = line
            .split_whitespace()
            .map(|t| t.trim_matches(|c| c == '(' || c == ')'))
            .find(|t| t.contains(".csv:") || t.contains(".tsv:"))?;
        let (path, number) = token.rsplit_once(':')?;
        Some((path.to_string(), number.parse().ok()?))
    };
    // The first orders of both shop files and the first payment of each PSP's file: the
    // first column, or the last of the Peruvian shop file (its columns are reversed), which
    // quoted store names never precede.
    let first_id = |name: &str, delimiter: char, last: bool| -> String {
        let path = files.iter().find(|f| f.ends_with(name)).unwrap();
        let line = text_of(path.to_str().unwrap()).lines().nth(1).unwrap().to_string();
        let id = if last { line.rsplit(delimiter).next() } else { line.split(delimiter).next() };
        id.unwrap().to_string()
    };
    let queries = [
        first_id("orders-co.csv", ',', false),
        first_id("orders-pe.csv", ';', true),
        first_id("dlocal-payments.csv", ',', false),
        first_id("pagoefectivo-payments.csv", ';', false),
    ];
    let mut checked = 0;
    for query in &queries {
        let out = stdout(&ctx.ok(["lookup", query.as_str(), "--raw"]));
        let lines: Vec<&str> = out.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some((path, number)) = source(line) else { continue };
            let file_line = text_of(&path).lines().nth(number - 1).unwrap().to_string();
            assert_eq!(lines.get(i + 1).copied(), Some(format!("      raw: {file_line}").as_str()), "{out}");
            checked += 1;
        }
    }
    assert!(checked >= 8, "orders, payments and settlement rows of {queries:?}: {checked}");
    // Without --raw the case file is as before; --raw is for reading, not for JSON.
    assert!(!stdout(&ctx.ok(["lookup", queries[0].as_str()])).contains("raw:"));
    ctx.fails_with(2, ["lookup", queries[0].as_str(), "--raw", "--json"]);
}

#[test]
fn a_first_loads_search_index_built_beside_the_import_finds_what_a_later_build_finds() {
    let (beside, later) = (Ctx::new(), Ctx::new());
    let (files, manifest) = demo_files(&beside, "history", 7, 1, 1500);
    let orders = manifest["expected"]["orders"].as_i64().unwrap();
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
    args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    let out = beside.ok(&args);
    assert!(
        stderr(&out).contains(&format!("search index: {orders} orders indexed ({orders} built beside the import)")),
        "{}",
        stderr(&out)
    );
    let ledger_folder = beside.db.parent().unwrap();
    let scratch_left = std::fs::read_dir(ledger_folder)
        .unwrap()
        .filter(|f| f.as_ref().unwrap().file_name().to_string_lossy().starts_with(SEARCH_IMAGE_FILE_PREFIX))
        .count();
    assert_eq!(scratch_left, 0, "the image's scratch file is gone");
    args.push("--no-index".into());
    let out = later.ok(&args);
    assert!(!stderr(&out).contains("search index:"), "{}", stderr(&out));

    // Names, emails, documents and phones of every 50th order, found alike.
    let queries: Vec<String> = {
        let conn = rusqlite::Connection::open(&beside.db).unwrap();
        let mut stmt = conn
            .prepare("SELECT buyer_name, buyer_email, buyer_document, buyer_phone FROM orders WHERE id % 50 = 1")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])).unwrap();
        rows.flat_map(|r| r.unwrap()).collect::<Vec<String>>()
    };
    assert_eq!(queries.len(), 4 * 30);
    let mut found = 0;
    for query in &queries {
        let ids = beside.lookup_ids(query);
        assert_eq!(ids, later.lookup_ids(query), "{query}");
        found += usize::from(!ids.is_empty());
    }
    assert_eq!(found, queries.len(), "every buyer is found by each of their fields");

    // A day's orders later go into the filled index the usual way.
    let (day, day_manifest) = demo_files(&beside, "day", 8, 1501, 200);
    let mut args: Vec<std::ffi::OsString> = vec!["import".into(), "auto".into()];
    args.extend(day.iter().map(|f| f.as_os_str().to_owned()));
    let out = beside.ok(&args);
    let day_orders = day_manifest["expected"]["orders"].as_i64().unwrap();
    assert!(stderr(&out).contains(&format!("search index: {day_orders} orders indexed in")), "{}", stderr(&out));
}
