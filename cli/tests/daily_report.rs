//! `voucherdesk report daily`: a market date's payments and settlement rows
//! per market (CSV or .xlsx) and a one-page PDF summary. Every figure is
//! recomputed here straight from the ledger's rows, in each market's clock.

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use support::{Ctx, pdf_text, stderr};

const DATE: &str = "2026-03-18";

/// The ledger's own figures for `country` on DATE (Bogotá and Lima are UTC−5 all year).
struct Ledger {
    payments: i64,
    paid: BTreeMap<String, (i64, i64)>,
    settlement_rows: i64,
    settled_net: BTreeMap<(String, String), (i64, i64)>,
    open_exceptions: i64,
}

fn ledger(ctx: &Ctx, country: &str, local_currency: &str) -> Ledger {
    let db = rusqlite::Connection::open(&ctx.db).unwrap();
    let day = "date(coalesce(paid_at, created_at) - 5 * 3600, 'unixepoch') = ?1 AND country = ?2";
    let payments: i64 =
        db.query_row(&format!("SELECT count(*) FROM payments WHERE {day}"), [DATE, country], |r| r.get(0)).unwrap();
    let mut paid = BTreeMap::new();
    let mut stmt = db
        .prepare(&format!("SELECT currency, count(*), sum(amount_minor) FROM payments WHERE {day} AND paid_at IS NOT NULL GROUP BY currency"))
        .unwrap();
    for row in stmt.query_map([DATE, country], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))).unwrap() {
        let (c, v) = row.unwrap();
        paid.insert(c, v);
    }
    let on_day = "coalesce(settled_on, date(created_at - 5 * 3600, 'unixepoch')) = ?1 AND local_currency = ?2";
    let settlement_rows: i64 = db
        .query_row(&format!("SELECT count(*) FROM settlements WHERE {on_day}"), [DATE, local_currency], |r| r.get(0))
        .unwrap();
    let mut settled_net = BTreeMap::new();
    let mut stmt = db
        .prepare(&format!(
            "SELECT settlement_currency, row_type, count(*), sum(net_minor) FROM settlements WHERE {on_day} GROUP BY 1, 2"
        ))
        .unwrap();
    for row in stmt
        .query_map([DATE, local_currency], |r| {
            Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), (r.get(2)?, r.get(3)?)))
        })
        .unwrap()
    {
        let (k, v) = row.unwrap();
        settled_net.insert(k, v);
    }
    let open_exceptions: i64 = db
        .query_row("SELECT count(*) FROM exceptions WHERE status = 'open' AND country = ?1", [country], |r| r.get(0))
        .unwrap();
    Ledger { payments, paid, settlement_rows, settled_net, open_exceptions }
}

#[test]
fn each_markets_files_and_summary_hold_the_ledgers_own_figures() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx.reconcile();
    let out = ctx.path("reports");
    let report = ctx.json(
        ["--operator", "sam", "report", "daily", "--date", DATE, "--json", "--out"]
            .map(Into::into)
            .into_iter()
            .chain([out.clone().into_os_string()]),
    );
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "voucherdesk-daily-2026-03-18-CO-payments.csv",
            "voucherdesk-daily-2026-03-18-CO-settlements.csv",
            "voucherdesk-daily-2026-03-18-CO.pdf",
            "voucherdesk-daily-2026-03-18-PE-payments.csv",
            "voucherdesk-daily-2026-03-18-PE-settlements.csv",
            "voucherdesk-daily-2026-03-18-PE.pdf",
        ],
        "the six files and nothing left aside"
    );

    for (i, (country, currency)) in [("CO", "COP"), ("PE", "PEN")].into_iter().enumerate() {
        let m = &report["markets"][i];
        assert_eq!(m["market"], country);
        let own = ledger(&ctx, country, currency);
        assert_eq!(m["totals"]["payments"], own.payments, "{country}");
        let paid: BTreeMap<String, (i64, i64)> = m["totals"]["paid"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(c, s)| (c.clone(), (s["rows"].as_i64().unwrap(), s["amount_minor"].as_i64().unwrap())))
            .collect();
        assert_eq!(paid, own.paid, "{country}");
        assert_eq!(m["totals"]["settlement_rows"], own.settlement_rows, "{country}");
        let mut net = BTreeMap::new();
        for (c, by_type) in m["totals"]["settled_net"].as_object().unwrap() {
            for (t, s) in by_type.as_object().unwrap() {
                net.insert((c.clone(), t.clone()), (s["rows"].as_i64().unwrap(), s["amount_minor"].as_i64().unwrap()));
            }
        }
        assert_eq!(net, own.settled_net, "{country}");
        let open: i64 = m["open_by_kind"].as_object().unwrap().values().map(|v| v.as_i64().unwrap()).sum();
        assert_eq!(open, own.open_exceptions, "{country}");
        // The day's KPIs are `voucherdesk kpis` for that day and market.
        let kpis = ctx.json(["--operator", "sam", "kpis", "--from", DATE, "--to", DATE, "--market", country, "--json"]);
        assert_eq!(m["kpis"], kpis["overall"], "{country}");

        // The data file holds the payments; the summary says the same numbers.
        let csv =
            std::fs::read_to_string(out.join(format!("voucherdesk-daily-{DATE}-{country}-payments.csv"))).unwrap();
        assert_eq!(csv.lines().count() as i64, own.payments + 1, "{country}: the header and one line a payment");
        let text = pdf_text(&out.join(format!("voucherdesk-daily-{DATE}-{country}.pdf")));
        assert!(text.contains(&format!("VoucherDesk - Daily report / Reporte diario - {DATE} - {country}")), "{text}");
        assert!(text.contains(&format!("Payments dated that day: {}", own.payments)), "{text}");
        for (c, (rows, minor)) in &own.paid {
            let amount = format!("{}.{:02}", minor / 100, minor % 100);
            assert!(text.contains(&format!("paid: {amount} {c} ({rows} payments)")), "{country}: {text}");
        }
        assert!(text.contains(&format!("Settlement rows that day: {}", own.settlement_rows)), "{text}");
        assert!(text.contains(&format!("Open exceptions: {}", own.open_exceptions)), "{text}");
        assert!(text.contains(&format!("vouchers issued: {}", kpis["overall"]["vouchers"])), "{text}");
    }
    // The fixture's 18 March is a busy day: the check above compared real rows.
    assert!(ledger(&ctx, "CO", "COP").payments >= 10);
}

#[test]
fn xlsx_for_one_market_and_a_refused_run_writes_nothing() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    let out = ctx.path("pe");
    ctx.ok(["--operator", "sam", "report", "daily", "--date", DATE, "--market", "PE", "--xlsx", "--out"]
        .map(Into::into)
        .into_iter()
        .chain([out.clone().into_os_string()]));
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "voucherdesk-daily-2026-03-18-PE-payments.xlsx",
            "voucherdesk-daily-2026-03-18-PE-settlements.xlsx",
            "voucherdesk-daily-2026-03-18-PE.pdf"
        ]
    );

    // A folder that is a file, a date that is none: refused, exit 2, nothing written.
    let blocked = ctx.path("blocked");
    std::fs::write(&blocked, "a file").unwrap();
    let o = ctx.run(
        ["--operator", "sam", "report", "daily", "--date", DATE, "--out"]
            .map(Into::into)
            .into_iter()
            .chain([blocked.clone().into_os_string()]),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[report.folder]"), "{}", stderr(&o));
    let o = ctx.run(["--operator", "sam", "report", "daily", "--date", "2026-02-30", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--date \"2026-02-30\": expected a date as YYYY-MM-DD"), "{}", stderr(&o));
    assert!(!Path::new("x").exists());
}
