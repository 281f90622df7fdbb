//! A run that re-examines only what changed since the last one decides
//! exactly what a full run decides: two ledgers go through the same history
//! (a second day's files, shop statuses and amounts changed, pending vouchers
//! paid, payments reversed, charged back and refunded, settlement rows of
//! every type, exceptions resolved by hand, the clock moving on), one
//! reconciled the default way, the other with `--full`. After every step the
//! summaries, every exception (status, facts, detail, resolution) and the
//! memo of found conditions are equal, and the steps that could be scoped
//! were.

use crate::support;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{Ctx, stderr, stdout};
use voucherdesk::model::observation::{ObservationSource, Observed, StatusReport};
use voucherdesk::payments::PaymentStatus;

/// The same history on two ledgers.
struct Pair {
    scoped: Ctx,
    full: Ctx,
}

const EXCEPTION_ROWS: &str = "SELECT id, kind, status, order_id, psp, payment_id, settlement, country, store,
        amount_minor, currency, facts, detail, resolution FROM exceptions ORDER BY id";

fn exception_rows(db: &Path) -> Vec<Vec<String>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(EXCEPTION_ROWS).unwrap();
    let rows = stmt
        .query_map([], |r| {
            (0..14)
                .map(|i| {
                    r.get_ref(i).map(|v| match v {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        other => format!("{other:?}"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn found_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM reconcile_findings ORDER BY id").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// The paid payments a run left as awaiting settlement, with their paid dates.
fn awaiting_settlement(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT psp || ' ' || payment_id || ' ' || country || ' ' || paid_on FROM reconcile_unsettled ORDER BY 1",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

impl Pair {
    fn new() -> Pair {
        Pair { scoped: Ctx::new(), full: Ctx::new() }
    }

    fn both(&self, args: &[&str]) {
        for ctx in [&self.scoped, &self.full] {
            ctx.ok(args);
        }
    }

    /// Reconciles both; the default run must have been scoped (or not), and equal the full one.
    fn reconcile(&self, step: &str, as_of: &str, scoped: bool) -> Value {
        let s = self.scoped.ok(["reconcile", "--as-of", as_of, "--json"]);
        let f = self.full.ok(["reconcile", "--full", "--as-of", as_of, "--json"]);
        assert_eq!(
            stderr(&s).contains("re-examined what changed since the last run"),
            scoped,
            "{step}: scoped? {}",
            stderr(&s)
        );
        assert!(stderr(&f).contains("read the whole ledger"), "{step}: {}", stderr(&f));
        let (s, f): (Value, Value) =
            (serde_json::from_str(&stdout(&s)).unwrap(), serde_json::from_str(&stdout(&f)).unwrap());
        assert_eq!(s, f, "{step}: the summaries");
        let (rows_s, rows_f) = (exception_rows(&self.scoped.db), exception_rows(&self.full.db));
        if rows_s != rows_f {
            let only_s: Vec<_> = rows_s.iter().filter(|r| !rows_f.contains(r)).take(5).collect();
            let only_f: Vec<_> = rows_f.iter().filter(|r| !rows_s.contains(r)).take(5).collect();
            panic!("{step}: the exceptions differ\nscoped only: {only_s:#?}\nfull only: {only_f:#?}");
        }
        assert_eq!(found_ids(&self.scoped.db), found_ids(&self.full.db), "{step}: the found conditions");
        let awaiting = awaiting_settlement(&self.full.db);
        assert!(!awaiting.is_empty(), "{step}: some paid payments await settlement");
        assert_eq!(awaiting_settlement(&self.scoped.db), awaiting, "{step}: the payments awaiting settlement");
        f
    }
}

fn demo(ctx: &Ctx, name: &str, seed: u64, first_order: u64, orders: u64) -> (PathBuf, Value) {
    let (_, manifest) = support::demo_files(ctx, name, seed, first_order, orders);
    (ctx.path(name), manifest)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "tsv"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    files
}

fn import_all(pair: &Pair, files: &[String]) {
    let mut args = vec!["import", "auto"];
    args.extend(files.iter().map(String::as_str));
    pair.both(&args);
}

/// A CSV file's header and rows (UTF-8 files of the demo).
fn read_csv(path: &Path, delimiter: u8) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    (header, reader.records().map(Result::unwrap).collect())
}

fn write_csv(path: &Path, delimiter: u8, header: &csv::StringRecord, rows: &[Vec<String>]) {
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_path(path).unwrap();
    writer.write_record(header).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.flush().unwrap();
}

fn column(header: &csv::StringRecord, name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

fn observe(pair: &Pair, payment_id: &str, status: PaymentStatus, at: &str) {
    for ctx in [&pair.scoped, &pair.full] {
        let mut store = voucherdesk::store::Store::open(&ctx.db).unwrap();
        let report = StatusReport {
            psp: "dlocal".into(),
            payment_id: payment_id.into(),
            status,
            psp_status: status.as_str().to_uppercase(),
            status_code: String::new(),
            status_at: Some(chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc()),
        };
        voucherdesk::observations::apply(
            &mut store,
            &Observed::Status(report),
            ObservationSource::Api,
            "{}",
            "sync:dlocal",
        )
        .unwrap();
    }
}

fn next_day(day: &str, days: i64) -> String {
    (chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap() + chrono::TimeDelta::days(days)).to_string()
}

/// One history, its changes drawn from `seed`.
fn history(seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let pair = Pair::new();
    let (first_set, manifest) = demo(&pair.full, "first", seed, 1, 1_200);
    let (second_set, second_manifest) = demo(&pair.full, "second", seed + 1, 1_201, 300);
    let as_of = manifest["as_of"].as_str().unwrap().to_string();

    import_all(&pair, &files_in(&first_set));
    pair.reconcile("the first run", &as_of, false);

    import_all(&pair, &files_in(&second_set));
    let after_second = pair.reconcile("a second day's files", &as_of, true);
    let orders_of = |m: &Value| m["expected"]["orders"].as_u64().unwrap();
    assert_eq!(after_second["orders"].as_u64(), Some(orders_of(&manifest) + orders_of(&second_manifest)));
    pair.reconcile("nothing changed", &as_of, true);

    // The shop changes statuses and amounts of orders of both days.
    let (header, rows) = read_csv(&first_set.join("orders-co.csv"), b',');
    let (status, amount) = (column(&header, "status"), column(&header, "amount"));
    let mut changed: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(str::to_string).collect()).collect();
    changed.shuffle(&mut rng);
    changed.truncate(80);
    for row in &mut changed {
        row[status] = ["pending_payment", "paid", "fulfilled", "cancelled", "expired"][rng.gen_range(0..5)].into();
        if rng.gen_bool(0.2) {
            let value: f64 = row[amount].parse().unwrap();
            row[amount] = format!("{:.2}", value + 1_000.0);
        }
    }
    let orders_file = pair.full.path("orders-co-changed.csv");
    write_csv(&orders_file, b',', &header, &changed);
    import_all(&pair, &[orders_file.to_str().unwrap().to_string()]);
    pair.reconcile("shop statuses and amounts changed", &as_of, true);

    // dLocal: pending vouchers paid, a second payment for paid orders, payments for orders the shop does not know.
    let (header, rows) = read_csv(&first_set.join("dlocal-payments.csv"), b',');
    let (id, order, status, approved) = (
        column(&header, "PAYMENT_ID"),
        column(&header, "ORDER_ID"),
        column(&header, "STATUS"),
        column(&header, "APPROVED_DATE"),
    );
    let created = column(&header, "CREATED_DATE");
    let all: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(str::to_string).collect()).collect();
    let mut payments = Vec::new();
    let pending: Vec<&Vec<String>> = all.iter().filter(|r| r[status] == "PENDING").collect();
    for row in pending.iter().take(25) {
        let mut paid = (*row).clone();
        paid[status] = "PAID".into();
        paid[approved] = paid[created].clone();
        payments.push(paid);
    }
    let paid_rows: Vec<&Vec<String>> = all.iter().filter(|r| r[status] == "PAID").collect();
    for (n, row) in paid_rows.choose_multiple(&mut rng, 12).enumerate() {
        let mut again = (*row).clone();
        again[id] = format!("D-9{n:07}");
        payments.push(again.clone());
        if n < 4 {
            again[id] = format!("D-8{n:07}");
            again[order] = format!("CO-X{n:06}");
            payments.push(again);
        }
    }
    // Pending payments the PSP gives no expiry for, on the orders whose vouchers expire last: they go
    // stale by their order's deadline whatever the shop says of the order, when the clock passes it.
    let (country, expiration) = (column(&header, "COUNTRY"), column(&header, "EXPIRATION_DATE"));
    let (header_o, orders) = read_csv(&first_set.join("orders-co.csv"), b',');
    let (o_id, o_status, o_expiry) =
        (column(&header_o, "order_id"), column(&header_o, "status"), column(&header_o, "voucher_expires_at"));
    let mut latest: Vec<&csv::StringRecord> = orders.iter().collect();
    latest.sort_by(|a, b| b[o_expiry].cmp(&a[o_expiry]));
    let awaiting = latest.iter().filter(|o| &o[o_status] == "pending_payment").take(3);
    let settled_in_shop = latest.iter().filter(|o| &o[o_status] != "pending_payment").take(3);
    let template = pending.iter().find(|r| r[country] == "CO").unwrap();
    for (n, o) in awaiting.chain(settled_in_shop).enumerate() {
        let mut row = (*template).clone();
        row[id] = format!("D-6{n:07}");
        row[order] = o[o_id].to_string();
        row[expiration] = String::new();
        payments.push(row);
    }
    let payments_file = pair.full.path("dlocal-payments-changed.csv");
    write_csv(&payments_file, b',', &header, &payments);
    import_all(&pair, &[payments_file.to_str().unwrap().to_string()]);
    pair.reconcile("pending vouchers paid, duplicates, unknown orders, no expiry", &as_of, true);

    // The PSP takes money back: reversals, chargebacks, refunds, each with its own time.
    let day_after = next_day(&as_of, 1);
    let mut taken: Vec<&Vec<String>> = paid_rows.choose_multiple(&mut rng, 30).copied().collect();
    taken.sort();
    for (n, row) in taken.iter().enumerate() {
        let status = [PaymentStatus::Reversed, PaymentStatus::ChargedBack, PaymentStatus::Refunded][n % 3];
        observe(&pair, &row[id], status, &format!("{day_after}T1{}:00:00Z", n % 10));
    }
    pair.reconcile("reversals, chargebacks and refunds", &day_after, true);

    // Settlement rows of every type: payments newly paid, refunds and chargebacks, and a payment nobody knows.
    let (header, rows) = read_csv(&first_set.join("dlocal-settlement.tsv"), b'\t');
    let (order_col, payment_col, row_type, transfer) = (
        column(&header, "TRANSACTION_ID"),
        column(&header, "DLOCAL_TRANSACTION_ID"),
        column(&header, "ROW_TYPE"),
        column(&header, "TRANSFER_DATE"),
    );
    let template: Vec<String> = rows[0].iter().map(str::to_string).collect();
    let mut settled = Vec::new();
    let settle_day = next_day(&as_of, 2);
    let row_for = |row: &Vec<String>, kind: &str| {
        let mut s = template.clone();
        s[order_col] = row[order].clone();
        s[payment_col] = row[id].clone();
        s[row_type] = kind.into();
        s[transfer] = settle_day.clone();
        s
    };
    // The vouchers paid since, and refunds and chargebacks of payments whose money was taken back.
    settled.extend(payments.iter().take(10).map(|row| row_for(row, "PAYMENT")));
    settled.extend(taken.iter().take(12).enumerate().map(|(n, row)| row_for(row, ["REFUND", "CHARGEBACK"][n % 2])));
    let mut stranger = template.clone();
    stranger[payment_col] = "D-77777777".into();
    let named = rows.iter().skip(1).map(|r| r[order_col].to_string()).find(|o| o.starts_with("CO-")).unwrap();
    stranger[order_col] = named.clone();
    stranger[transfer] = settle_day.clone();
    settled.push(stranger);
    let settlement_file = pair.full.path("dlocal-settlement-later.tsv");
    write_csv(&settlement_file, b'\t', &header, &settled);
    import_all(&pair, &[settlement_file.to_str().unwrap().to_string()]);
    let later = next_day(&as_of, 4);
    let summary = pair.reconcile("settlement rows of every type", &later, true);

    // The shop ships the order the stranger's row names: its match still counts that row's exception.
    let (header_o, orders) = read_csv(&first_set.join("orders-co.csv"), b',');
    let shipped: Vec<Vec<String>> = orders
        .iter()
        .filter(|r| r[column(&header_o, "order_id")] == named)
        .map(|r| {
            let mut row: Vec<String> = r.iter().map(str::to_string).collect();
            row[column(&header_o, "status")] = "fulfilled".into();
            row
        })
        .collect();
    assert_eq!(shipped.len(), 1, "{named}");
    let shipped_file = pair.full.path("orders-co-shipped.csv");
    write_csv(&shipped_file, b',', &header_o, &shipped);
    import_all(&pair, &[shipped_file.to_str().unwrap().to_string()]);
    pair.reconcile("an order flagged by a row outside the scope", &later, true);

    // The PSP sends a settlement row again, revised: a run reads everything.
    let mut revised = template.clone();
    revised[transfer] = settle_day.clone();
    let revised_file = pair.full.path("dlocal-settlement-revised.tsv");
    write_csv(&revised_file, b'\t', &header, &[revised]);
    import_all(&pair, &[revised_file.to_str().unwrap().to_string()]);
    pair.reconcile("a settlement row revised", &later, false);

    // People resolve some exceptions; a later change reopens what it touches.
    let open: Vec<Value> = pair.full.json(["exceptions", "list", "--json"]).as_array().unwrap().clone();
    for e in open.choose_multiple(&mut rng, 15) {
        let id = e["id"].as_str().unwrap();
        pair.both(&["exceptions", "resolve", id, "--action", "accept", "--note", "known"]);
    }
    pair.reconcile("resolved by hand", &later, true);

    // The clock moves on: vouchers expire, settlements fall due, reports go missing.
    for days in [5, 9, 40, 75] {
        pair.reconcile(&format!("{days} days on"), &next_day(&as_of, days), true);
    }
    // An earlier as-of date, a contracted fee: everything is read again.
    pair.reconcile("an earlier date", &next_day(&as_of, 3), false);
    for ctx in [&pair.scoped, &pair.full] {
        support::contract_demo_fee(&ctx.db, 300);
    }
    pair.reconcile("a contracted fee", &next_day(&as_of, 75), false);
    pair.reconcile("after it", &next_day(&as_of, 76), true);
    assert!(summary["exceptions"].as_object().unwrap().values().any(|v| v.as_u64() > Some(0)));
}

#[test]
fn a_run_of_only_what_changed_decides_what_a_full_run_decides() {
    for seed in [5, 29] {
        history(seed);
    }
}

#[test]
fn a_manual_link_asks_for_a_full_run_and_a_run_empties_the_notes() {
    let pair = Pair::new();
    let (set, manifest) = demo(&pair.full, "set", 3, 1, 600);
    let as_of = manifest["as_of"].as_str().unwrap().to_string();
    import_all(&pair, &files_in(&set));
    pair.reconcile("the first run", &as_of, false);
    let unknown: Vec<Value> =
        pair.full.json(["exceptions", "list", "--kind", "unknown_order", "--json"]).as_array().unwrap().clone();
    let recorded_not_paid: Vec<Value> =
        pair.full.json(["exceptions", "list", "--kind", "recorded_not_paid", "--json"]).as_array().unwrap().clone();
    let (payment, order) = (&unknown[0], &recorded_not_paid[0]);
    let args = [
        "exceptions",
        "resolve",
        payment["id"].as_str().unwrap(),
        "--action",
        "link",
        "--order",
        order["order_id"].as_str().unwrap(),
        "--note",
        "same buyer",
    ];
    pair.both(&args);
    pair.reconcile("a manual link", &as_of, false);
    pair.reconcile("after it", &as_of, true);
    // The memo's state is the ledger's: nothing noted once a run read it.
    let conn = rusqlite::Connection::open(&pair.scoped.db).unwrap();
    let notes: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM reconcile_changed_orders) + (SELECT count(*) FROM reconcile_changed_payments)
                  + (SELECT count(*) FROM reconcile_changed_keys)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(notes, 0);
}
