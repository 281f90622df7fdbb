//! `voucherdesk kpis` on the recon fixtures, every figure derived by hand
//! from the fixture rows (tests/fixtures/recon/*) in the comments beside it.

use crate::support;

use serde_json::{Value, json};
use support::*;

/// Writes directly what imports cannot set: when each paid status was first
/// seen (the importer stamps the import's own time), a notification, and refunds.
fn sql(ctx: &Ctx, statements: &str) {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.execute_batch(statements).unwrap();
}

/// The recon set, with every paid status seen 60 min after the PSP's paid
/// time except: D-008 after 1440 min, D-009 after 2880, 90000017 after 30;
/// D-001 and D-002 first learnt from a notification after 2 and 5 min.
/// Refunds (submitted → finished, UTC):
/// - dlocal D-020 succeeded   03-19 15:00 → 15:30 (30 min)
/// - dlocal D-012 failed      03-19 16:00 → 17:30 (90 min)
/// - dlocal D-007 submitted   03-20 15:00, no answer yet
/// - dlocal D-015 succeeded   03-31 23:00 (Bogotá 18:00, 03-31) → 04-01 06:00 (Bogotá 01:00, 04-01; 420 min)
/// - pagoefectivo 90000017 rejected_by_psp 03-10 15:00 → 16:00 (60 min)
fn recon_ctx() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    sql(
        &ctx,
        "UPDATE payment_status_history SET observed_at = status_at + 3600 WHERE status = 'paid';
         UPDATE payment_status_history SET observed_at = status_at + 1440 * 60
          WHERE status = 'paid' AND payment = (SELECT id FROM payments WHERE payment_id = 'D-008');
         UPDATE payment_status_history SET observed_at = status_at + 2880 * 60
          WHERE status = 'paid' AND payment = (SELECT id FROM payments WHERE payment_id = 'D-009');
         UPDATE payment_status_history SET observed_at = status_at + 30 * 60
          WHERE status = 'paid' AND payment = (SELECT id FROM payments WHERE payment_id = '90000017');
         INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at, source)
           SELECT id, 'paid', 'PAID', paid_at, paid_at + 120, 'notification' FROM payments WHERE payment_id = 'D-001';
         INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at, source)
           SELECT id, 'paid', 'PAID', paid_at, paid_at + 300, 'notification' FROM payments WHERE payment_id = 'D-002';",
    );
    for (psp, payment, status, submitted, finished) in [
        ("dlocal", "D-020", "succeeded", "2026-03-19T15:00:00Z", Some("2026-03-19T15:30:00Z")),
        ("dlocal", "D-012", "failed", "2026-03-19T16:00:00Z", Some("2026-03-19T17:30:00Z")),
        ("dlocal", "D-007", "submitted", "2026-03-20T15:00:00Z", None),
        ("dlocal", "D-015", "succeeded", "2026-03-31T23:00:00Z", Some("2026-04-01T06:00:00Z")),
        ("pagoefectivo", "90000017", "rejected_by_psp", "2026-03-10T15:00:00Z", Some("2026-03-10T16:00:00Z")),
    ] {
        insert_refund(&ctx, psp, payment, status, submitted, finished);
    }
    ctx
}

fn insert_refund(ctx: &Ctx, psp: &str, payment: &str, status: &str, submitted: &str, finished: Option<&str>) {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM refunds", [], |r| r.get(0)).unwrap();
    conn.execute(
        "INSERT INTO refunds(psp, payment_id, order_id, amount_minor, currency, reason, note, method, details, tier,
             status, idempotency_key, requested_by, requested_at, submitted_at, finished_at, updated_at)
         VALUES (?1, ?2, '', 1000, 'COP', 'customer_request', '', 'psp_refund', '{}', 1, ?3, ?4, 'ana',
             unixepoch(?5) - 3600, unixepoch(?5), unixepoch(?6), unixepoch(?5))",
        rusqlite::params![psp, payment, status, format!("kpi-test-{n}"), submitted, finished],
    )
    .unwrap();
}

fn spread(count: u64, median: Option<i64>, p90: Option<i64>) -> Value {
    json!({ "count": count, "median": median, "p90": p90 })
}

#[test]
fn march_figures_match_the_fixture_rows() {
    let ctx = recon_ctx();
    let report = ctx.json(["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--json"]);
    let channels = report["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 2, "{report}");
    let (co, pe, all) = (&channels[0], &channels[1], &report["overall"]);
    assert_eq!(
        (co["psp"].as_str(), co["market"].as_str(), co["settle_business_days"].as_u64()),
        (Some("dlocal"), Some("CO"), Some(2))
    );
    assert_eq!(
        (pe["psp"].as_str(), pe["market"].as_str(), pe["settle_business_days"].as_u64()),
        (Some("pagoefectivo"), Some("PE"), Some(1))
    );

    // Vouchers: dlocal.csv has 18 rows, all created 03-04 … 03-17 Bogotá;
    // pagoefectivo.csv 2 (03-04, 03-17 Lima). Paid: every dlocal row but
    // D-004 (PENDING) = 17; both CIPs Pagado = 2. 17/18 = 9444 bp, 2/2 = 10000,
    // 19/20 = 9500.
    assert_eq!(
        (co["vouchers"].as_u64(), co["paid"].as_u64(), co["success_rate_bp"].as_u64()),
        (Some(18), Some(17), Some(9444))
    );
    assert_eq!(
        (pe["vouchers"].as_u64(), pe["paid"].as_u64(), pe["success_rate_bp"].as_u64()),
        (Some(2), Some(2), Some(10000))
    );
    assert_eq!(
        (all["vouchers"].as_u64(), all["paid"].as_u64(), all["success_rate_bp"].as_u64()),
        (Some(20), Some(19), Some(9500))
    );

    // Expired unpaid: D-004 is still PENDING past its expiry (2026-03-19 13:00 UTC):
    // 1/18 = 555 bp (rounded down), 0/2, 1/20 = 500 bp.
    assert_eq!((co["expired_unpaid"].as_u64(), co["expired_unpaid_bp"].as_u64()), (Some(1), Some(555)));
    assert_eq!((pe["expired_unpaid"].as_u64(), pe["expired_unpaid_bp"].as_u64()), (Some(0), Some(0)));
    assert_eq!((all["expired_unpaid"].as_u64(), all["expired_unpaid_bp"].as_u64()), (Some(1), Some(500)));

    // Minutes created → paid (dlocal CREATED_DATE → APPROVED_DATE):
    // D-012, D-015, D-016 300; D-001, D-013, D-014 360; D-005A, D-018, D-019 1440;
    // D-006, D-020 1470; D-002, D-007 1500; D-005B 1615; D-011 1620; D-009 4319; D-008 4321.
    // 17 values: median rank ⌈8.5⌉ = 9 → 1440; p90 rank ⌈15.3⌉ = 16 → 4319.
    assert_eq!(co["minutes_to_pay"], spread(17, Some(1440), Some(4319)));
    // 90000017 09:00 → 15:30 = 390; 90000010 03-17 07:00 → 03-18 07:01 = 1441.
    // 2 values: median rank 1 → 390; p90 rank ⌈1.8⌉ = 2 → 1441.
    assert_eq!(pe["minutes_to_pay"], spread(2, Some(390), Some(1441)));
    // 19 values: ranks 1-3 300, 4-6 360, 7 390, 8-10 1440, …, 18 4319, 19 4321:
    // median rank ⌈9.5⌉ = 10 → 1440; p90 rank ⌈17.1⌉ = 18 → 4319.
    assert_eq!(all["minutes_to_pay"], spread(19, Some(1440), Some(4319)));

    // Sync delay (see recon_ctx): dlocal 2, 5, 13 × 60, 1440, 2880: median rank 9 → 60,
    // p90 rank 16 → 1440. PE 30, 60: median 30, p90 60. All 2, 5, 30, 14 × 60, 1440,
    // 2880: median rank 10 → 60, p90 rank 18 → 1440.
    assert_eq!(co["sync_delay_minutes"], spread(17, Some(60), Some(1440)));
    assert_eq!(pe["sync_delay_minutes"], spread(2, Some(30), Some(60)));
    assert_eq!(all["sync_delay_minutes"], spread(19, Some(60), Some(1440)));

    // Callbacks missed: every paid payment first seen in a report file except
    // D-001 and D-002 (notifications): 15/17 = 8823 bp, 2/2, 17/19 = 8947 bp.
    assert_eq!(
        (co["callbacks_missed"].as_u64(), co["paid_observed"].as_u64(), co["callbacks_missed_bp"].as_u64()),
        (Some(15), Some(17), Some(8823))
    );
    assert_eq!(
        (pe["callbacks_missed"].as_u64(), pe["paid_observed"].as_u64(), pe["callbacks_missed_bp"].as_u64()),
        (Some(2), Some(2), Some(10000))
    );
    assert_eq!(
        (all["callbacks_missed"].as_u64(), all["paid_observed"].as_u64(), all["callbacks_missed_bp"].as_u64()),
        (Some(17), Some(19), Some(8947))
    );

    // Refund response, submitted in March: dlocal 30, 90, 420 (D-015 was submitted on
    // 03-31 Bogotá) and D-007 awaiting: median rank 2 → 90, p90 rank 3 → 420.
    // PE 60. All 30, 60, 90, 420: median rank 2 → 60, p90 rank ⌈3.6⌉ = 4 → 420.
    assert_eq!(co["refund_response_minutes"], spread(3, Some(90), Some(420)));
    assert_eq!(co["refunds_awaiting"].as_u64(), Some(1));
    assert_eq!(pe["refund_response_minutes"], spread(1, Some(60), Some(60)));
    assert_eq!(all["refund_response_minutes"], spread(4, Some(60), Some(420)));

    // Failure rate, finished in March (D-015 finished 04-01 Bogotá: out): dlocal
    // D-020 succeeded, D-012 failed = 1/2; PE rejected 1/1; all 2/3 = 6666 bp.
    assert_eq!(co["refund_failure"], json!({"failed": 1, "finished": 2, "rate_bp": 5000, "warning": true}));
    assert_eq!(pe["refund_failure"], json!({"failed": 1, "finished": 1, "rate_bp": 10000, "warning": true}));
    assert_eq!(all["refund_failure"], json!({"failed": 2, "finished": 3, "rate_bp": 6666, "warning": true}));

    // Settlement (paid market date → TRANSFER_DATE / FECHA_LIQUIDACION, business days):
    // D-001 paid Thu 03-05 → Mon 03-09: Fri, Mon = 2 ≤ T+2; D-015, D-016 paid Wed 03-04
    // → Sun 03-08: Thu, Fri = 2 ≤ T+2 (D-004 unpaid, D-404 unknown: not counted).
    // 90000017 paid Wed 03-04 → Fri 03-06: 2 > T+1, 1 day late.
    assert_eq!(
        co["settlement"],
        json!({"settled": 3, "on_time": 3, "late": 0, "business_days": spread(3, Some(2), Some(2)),
               "days_late": spread(0, None, None)})
    );
    assert_eq!(
        pe["settlement"],
        json!({"settled": 1, "on_time": 0, "late": 1, "business_days": spread(1, Some(2), Some(2)),
               "days_late": spread(1, Some(1), Some(1))})
    );
    assert_eq!(
        all["settlement"],
        json!({"settled": 4, "on_time": 3, "late": 1, "business_days": spread(4, Some(2), Some(2)),
               "days_late": spread(1, Some(1), Some(1))})
    );

    // The table: one line per channel and the total, minutes as median/p90.
    let text = stdout(&ctx.ok(["kpis", "--from", "2026-03-01", "--to", "2026-03-31"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "vouchers created 2026-03-01 … 2026-03-31 (market dates); minutes as median/p90");
    assert_eq!(
        lines[2],
        "dlocal         CO    T+2       18     17   94.44%    5.55%     1440/4319       60/1440     15/17        90/420   50.00%!     3     0"
    );
    assert_eq!(lines.last(), Some(&"warning: refund failure rate at 3 % or more (!)"));
    assert_eq!(lines.len(), 6, "{text}");
}

#[test]
fn psp_and_market_narrow_the_report() {
    let ctx = recon_ctx();
    let report = ctx.json(["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--market", "PE", "--json"]);
    assert_eq!(report["market"], json!("PE"));
    assert_eq!(report["channels"].as_array().unwrap().len(), 1);
    // Only the two CIPs (see march_figures_match_the_fixture_rows).
    assert_eq!((report["overall"]["vouchers"].as_u64(), report["overall"]["paid"].as_u64()), (Some(2), Some(2)));
    let report = ctx.json(["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--psp", "dlocal", "--json"]);
    assert_eq!(report["channels"][0]["psp"], json!("dlocal"));
    assert_eq!((report["overall"]["vouchers"].as_u64(), report["overall"]["paid"].as_u64()), (Some(18), Some(17)));
}

#[test]
fn a_voucher_belongs_to_its_markets_date() {
    let ctx = recon_ctx();
    // Created 2026-03-21 02:00 UTC = 2026-03-20 21:00 in Bogotá.
    let late = support::dlocal_payments_file(
        &ctx,
        "late.csv",
        &[
            "D-100,R-100,CO,EY,COP,10000,PAID,200,2026-03-21T02:00:00.000+0000,2026-03-21T03:00:00.000+0000,2026-03-24T02:00:00.000+0000,4000000100",
        ],
    );
    ctx.import("payments", "dlocal", &late);
    let on_20 = ctx.json(["kpis", "--from", "2026-03-20", "--to", "2026-03-20", "--market", "CO", "--json"]);
    // D-100 only (no fixture voucher is created on 03-20), paid after 60 min.
    assert_eq!((on_20["overall"]["vouchers"].as_u64(), on_20["overall"]["paid"].as_u64()), (Some(1), Some(1)));
    assert_eq!(on_20["overall"]["minutes_to_pay"], spread(1, Some(60), Some(60)));
    let on_21 = ctx.json(["kpis", "--from", "2026-03-21", "--to", "2026-03-21", "--market", "CO", "--json"]);
    assert_eq!(on_21["overall"]["vouchers"].as_u64(), Some(0));
    assert_eq!(on_21["channels"], json!([]));
    // D-009, created 2026-03-16 04:30 UTC, is a 03-15 voucher in Bogotá, with D-008 (15:00 UTC).
    let on_15 = ctx.json(["kpis", "--from", "2026-03-15", "--to", "2026-03-15", "--json"]);
    assert_eq!(on_15["overall"]["vouchers"].as_u64(), Some(2));
    assert_eq!(on_15["overall"]["minutes_to_pay"], spread(2, Some(4319), Some(4321)));
}

#[test]
fn a_backwards_or_malformed_range_is_refused() {
    let ctx = recon_ctx();
    // Support (the least role) may read the report.
    let report = ctx.json(["--operator", "sam", "kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--json"]);
    assert_eq!(report["overall"]["vouchers"].as_u64(), Some(20));
    let out = ctx.fails_with(2, ["kpis", "--from", "2026-03-31", "--to", "2026-03-01"]);
    assert_eq!(stderr(&out), "error: the range ends (2026-03-01) before it starts (2026-03-31) [kpis.backwards]\n");
    assert_eq!(stdout(&out), "");
    let out = ctx.fails_with(2, ["kpis", "--from", "2026-01-01", "--to", "2027-01-02"]);
    assert_eq!(stderr(&out), "error: a KPI report spans at most 366 market days; 367 asked [kpis.too_long]\n");
    let out = ctx.fails_with(2, ["kpis", "--from", "2026-03-01", "--to", "31/03/2026"]);
    assert_eq!(stderr(&out), "error: --to \"31/03/2026\": expected a date as YYYY-MM-DD\n");
    let out = ctx.fails_with(2, ["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--market", "BR"]);
    assert_eq!(stderr(&out), "error: --market \"BR\": expected CO or PE\n");
}

#[test]
fn the_refund_failure_warning_starts_at_three_percent() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    // 97 succeeded and 2 failed refunds of D-020 finished on 2026-03-19: 2/99 = 202 bp, no warning.
    for i in 0..99 {
        let status = if i < 2 { "failed" } else { "succeeded" };
        insert_refund(&ctx, "dlocal", "D-020", status, "2026-03-19T15:00:00Z", Some("2026-03-19T15:10:00Z"));
    }
    let report = ctx.json(["kpis", "--from", "2026-03-19", "--to", "2026-03-19", "--json"]);
    assert_eq!(
        report["overall"]["refund_failure"],
        json!({"failed": 2, "finished": 99, "rate_bp": 202, "warning": false})
    );
    let text = stdout(&ctx.ok(["kpis", "--from", "2026-03-19", "--to", "2026-03-19"]));
    assert!(!text.contains("warning"), "{text}");
    // One more, rejected by the PSP: 3/100 = exactly 3 %, which warns.
    insert_refund(&ctx, "dlocal", "D-020", "rejected_by_psp", "2026-03-19T15:00:00Z", Some("2026-03-19T15:10:00Z"));
    let report = ctx.json(["kpis", "--from", "2026-03-19", "--to", "2026-03-19", "--json"]);
    assert_eq!(
        report["overall"]["refund_failure"],
        json!({"failed": 3, "finished": 100, "rate_bp": 300, "warning": true})
    );
    let text = stdout(&ctx.ok(["kpis", "--from", "2026-03-19", "--to", "2026-03-19"]));
    assert!(text.ends_with("warning: refund failure rate at 3 % or more (!)\n"), "{text}");
}

#[test]
fn the_dashboards_panel_is_the_reports_figures_day_by_day() {
    use voucherdesk::kpis::{self, KpiQuery};
    let ctx = recon_ctx();
    let store = voucherdesk::store::Store::open(&ctx.db).unwrap();
    let sam = voucherdesk::operators::act_as(&store, "sam").unwrap();
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let query = KpiQuery { from: day("2026-03-01"), to: day("2026-03-31"), psp: None, market: None };
    let now = chrono::Utc::now();
    let panel = kpis::panel(&store, &sam, &query, now).unwrap();

    // The range's figures are exactly what `voucherdesk kpis` prints.
    let cli = ctx.json(["kpis", "--from", "2026-03-01", "--to", "2026-03-31", "--json"]);
    assert_eq!(serde_json::to_value(&panel.overall).unwrap(), cli["overall"]);
    // One point per market day, each the report of that day alone.
    assert_eq!(panel.days.len(), 31);
    assert_eq!(panel.days.iter().map(|d| d.vouchers).sum::<u64>(), panel.overall.vouchers);
    for point in &panel.days {
        let one = KpiQuery { from: point.date, to: point.date, ..query.clone() };
        let k = kpis::report(&store, &sam, &one, now).unwrap().overall;
        assert_eq!(
            (point.vouchers, point.success_rate_bp, point.expired_unpaid_bp, point.callbacks_missed_bp),
            (k.vouchers, k.success_rate_bp, k.expired_unpaid_bp, k.callbacks_missed_bp),
            "{}",
            point.date
        );
        assert_eq!(point.sync_delay_median_minutes, k.sync_delay_minutes.median, "{}", point.date);
    }
    assert!(panel.days.iter().any(|d| d.success_rate_bp.is_some()), "some day had vouchers");
    assert_eq!(panel.targets.refund_failure_max_bp, 300, "seed 002: 3 %");

    // A longer range than the charts draw (93 market days) is refused, not cut short.
    let long = KpiQuery { from: day("2026-01-01"), to: day("2026-04-03"), ..query };
    let err = kpis::panel(&store, &sam, &long, now).unwrap_err();
    assert_eq!(err.code(), "kpis.too_long");
}
