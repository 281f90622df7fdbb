//! Refunds never exceed what was paid: every move into `approved` or
//! `submitted` (request, approve, bulk approve, amend, retry, the submitter)
//! re-checks `paid − succeeded − in flight` in its own transaction; a payment
//! the PSP took back has nothing refundable; `refund_approved` reaches the
//! buyer once per channel.
//!
//! "Another desktop" rows are written straight into the file, as a team
//! copy's pull would bring them: two in-flight refunds that together exceed
//! the payment, which no single desktop's request could have created.

use crate::support;

use chrono::Utc;
use std::time::{Duration, Instant};
use support::refunds::*;
use voucherdesk::refunds::submission::{SubmitConfig, SubmitReport, submit_and_follow};
use voucherdesk::refunds::{self, RefundError, RefundStatus};
use voucherdesk::store::NotificationFilter;

/// Client time-out against the sandbox.
const CLIENT_TIMEOUT_MS: u64 = 2_000;

fn code<T: std::fmt::Debug>(result: Result<T, RefundError>) -> String {
    result.expect_err("must be refused").code().to_string()
}

fn submit(psp: &SandboxPsp, l: &mut Ledger) -> SubmitReport {
    let client = psp.client();
    let op = op(&l.db, "sam");
    psp.rt
        .block_on(submit_and_follow(&mut l.store, &client, &op, &SubmitConfig::default(), Utc::now(), &|_| {}))
        .unwrap()
}

/// Submits until refund `id` has left `submitted`.
fn submit_until_final(psp: &SandboxPsp, l: &mut Ledger, id: i64) -> RefundStatus {
    let deadline = Instant::now() + Duration::from_millis(SANDBOX_WAIT_MS);
    loop {
        submit(psp, l);
        let status = refunds::show(&l.store, id).unwrap().status;
        if status != RefundStatus::Submitted && status != RefundStatus::Approved {
            return status;
        }
        assert!(Instant::now() < deadline, "refund {id} is still {status:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A refund of the same payment as `like`, written by "another desktop".
fn other_desktop_refund(l: &Ledger, like: i64, amount_minor: i64, status: &str) -> i64 {
    let conn = rusqlite::Connection::open(&l.db).unwrap();
    conn.execute(
        "INSERT INTO refunds(psp, payment_id, order_id, amount_minor, currency, reason, note, method, details, tier,
             finance_required, status, idempotency_key, additional, requested_by, requested_at, updated_at)
         SELECT psp, payment_id, order_id, ?2, currency, reason, note, method, details, tier, finance_required, ?3,
             'vdr-other-desktop-' || ?2 || ?3, 1, 'sue', requested_at, updated_at FROM refunds WHERE id = ?1",
        rusqlite::params![like, amount_minor, status],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn set_refund_status(l: &Ledger, id: i64, status: &str) {
    let conn = rusqlite::Connection::open(&l.db).unwrap();
    assert_eq!(conn.execute("UPDATE refunds SET status = ?2 WHERE id = ?1", rusqlite::params![id, status]).unwrap(), 1);
}

fn set_payment_status(l: &Ledger, payment_id: &str, status: &str) {
    let conn = rusqlite::Connection::open(&l.db).unwrap();
    let n = conn
        .execute("UPDATE payments SET status = ?2 WHERE payment_id = ?1", rusqlite::params![payment_id, status])
        .unwrap();
    assert_eq!(n, 1);
}

/// (kind, channel, params) of the order's buyer messages, oldest first.
fn buyer_messages(l: &Ledger, order_id: &str) -> Vec<(String, String, String)> {
    let filter = NotificationFilter { order_id: Some(order_id), status: None, before_id: None, limit: 50 };
    let mut rows = l.store.buyer_notifications(&filter).unwrap();
    rows.sort_by_key(|m| m.id);
    rows.into_iter().map(|m| (m.kind, m.channel, m.params)).collect()
}

#[test]
fn a_psp_rejected_refund_retried_after_another_refund_took_the_whole_payment_is_refused() {
    // Refund A (60,000 COP) is rejected by the PSP; refund B (67,100 COP, the
    // whole payment) succeeds; retrying A would refund 127,100 COP of 67,100.
    let psp = SandboxPsp::start("[[dlocal.refunds]]\namount = \"60000\"\noutcome = \"rejected\"\n", CLIENT_TIMEOUT_MS);
    let payment_id = psp.paid_payment("CO-67", 6_710_000);
    let mut l = ledger();
    l.add(&[sale("CO-67", &payment_id, "CO", "67100")]);
    let sam = op(&l.db, "sam");
    let a = refunds::request(&mut l.store, &sam, &psp_refund(&payment_id, "60000"), Utc::now()).unwrap();
    assert_eq!(a.status, RefundStatus::Approved);
    assert_eq!(submit_until_final(&psp, &mut l, a.id), RefundStatus::RejectedByPsp);
    let b = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund(&payment_id, "67100") },
        Utc::now(),
    )
    .unwrap();
    assert_eq!(b.status, RefundStatus::Approved);
    assert_eq!(submit_until_final(&psp, &mut l, b.id), RefundStatus::Succeeded);

    let before = snapshot(&l.store);
    let err = refunds::retry(&mut l.store, &op(&l.db, "fabio"), a.id, Utc::now()).unwrap_err();
    assert_eq!(err.code(), "refunds.exceeds_refundable");
    assert_eq!(
        err.to_string(),
        "60000.00 COP is more than what remains refundable (0.00 COP of 67100.00 COP paid; 67100.00 COP refunded, 0.00 COP in flight)"
    );
    // Nothing moved: no audit entry, A still rejected with its old key.
    assert_eq!(snapshot(&l.store), before);
    let still = refunds::show(&l.store, a.id).unwrap();
    assert_eq!(
        (still.status, still.idempotency_key.as_str()),
        (RefundStatus::RejectedByPsp, a.idempotency_key.as_str())
    );
    let left = refunds::refundable(&l.store, &payment_id, None).unwrap();
    assert_eq!(
        (left.paid_minor, left.succeeded_minor, left.in_flight_minor, left.refundable_minor),
        (6_710_000, 6_710_000, 0, 0)
    );
    // A further run sends nothing: only B was ever refunded at the PSP.
    let report = submit(&psp, &mut l);
    assert_eq!((report.submitted, report.resent, report.issues.len()), (0, 0, 0));
}

#[test]
fn a_retry_is_allowed_while_the_payment_still_covers_it_and_refused_one_minor_unit_past() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "67100")]);
    let now = Utc::now();
    let a = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-1", "60000"), now).unwrap();
    set_refund_status(&l, a.id, "rejected_by_psp");
    // Another refund of 7,100.01 succeeded meanwhile: A's 60,000 no longer fits.
    let b = other_desktop_refund(&l, a.id, 710_001, "succeeded");
    assert_eq!(code(refunds::retry(&mut l.store, &op(&l.db, "fabio"), a.id, now)), "refunds.exceeds_refundable");
    // That one failed after all, and one of exactly 7,100 succeeded: A fits to the peso.
    set_refund_status(&l, b, "failed");
    other_desktop_refund(&l, a.id, 710_000, "succeeded");
    let again = refunds::retry(&mut l.store, &op(&l.db, "fabio"), a.id, now).unwrap();
    assert_eq!(again.status, RefundStatus::Approved);
    let left = refunds::refundable(&l.store, "D-1", None).unwrap();
    assert_eq!((left.succeeded_minor, left.in_flight_minor, left.refundable_minor), (710_000, 6_000_000, 0));
}

#[test]
fn approve_bulk_approve_and_amend_recheck_against_refunds_another_desktop_holds() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "500000"), sale("CO-2", "D-2", "CO", "500000")]);
    let now = Utc::now();
    let sam = op(&l.db, "sam");
    let fabio = op(&l.db, "fabio");
    // Tier 2 (over 200,000 COP): pending finance's approval.
    let a = refunds::request(&mut l.store, &sam, &psp_refund("D-1", "300000"), now).unwrap();
    assert_eq!((a.tier, a.status), (2, RefundStatus::PendingApproval));
    // Another desktop approved 300,000 of the same payment meanwhile: 500,000 − 300,000 in flight.
    other_desktop_refund(&l, a.id, 30_000_000, "approved");
    let before = snapshot(&l.store);
    let err = refunds::approve(&mut l.store, &fabio, a.id, None, now).unwrap_err();
    assert_eq!(err.code(), "refunds.exceeds_refundable");
    assert_eq!(
        err.to_string(),
        "300000.00 COP is more than what remains refundable (200000.00 COP of 500000.00 COP paid; 0.00 COP refunded, 300000.00 COP in flight)"
    );
    let bulk = refunds::bulk::approve_tier2(&mut l.store, &fabio, &[a.id], None, now).unwrap();
    assert_eq!(bulk.approved.len(), 0);
    assert_eq!(
        bulk.refused.iter().map(|r| (r.id, r.code.as_str())).collect::<Vec<_>>(),
        vec![(a.id, "refunds.exceeds_refundable")]
    );
    assert_eq!(snapshot(&l.store), before);
    assert_eq!(refunds::show(&l.store, a.id).unwrap().status, RefundStatus::PendingApproval);
    // Amending to what is left is allowed (tier 1: approved at once); one peso more is not.
    assert_eq!(code(refunds::amend(&mut l.store, &sam, a.id, "200001", now)), "refunds.exceeds_refundable");
    assert_eq!(snapshot(&l.store), before);
    let amended = refunds::amend(&mut l.store, &sam, a.id, "200000", now).unwrap();
    assert_eq!((amended.tier, amended.status), (1, RefundStatus::Approved));
    let left = refunds::refundable(&l.store, "D-1", None).unwrap();
    assert_eq!((left.in_flight_minor, left.refundable_minor), (50_000_000, 0));

    // Two in-flight refunds that together exceed the payment (each desktop saw
    // only its own): each holds its amount against the other, so neither is
    // approved until someone cancels one of them.
    let x = refunds::request(&mut l.store, &sam, &psp_refund("D-2", "300000"), now).unwrap();
    let y = other_desktop_refund(&l, x.id, 30_000_000, "pending_approval");
    assert_eq!(code(refunds::approve(&mut l.store, &fabio, y, None, now)), "refunds.exceeds_refundable");
    assert_eq!(code(refunds::approve(&mut l.store, &fabio, x.id, None, now)), "refunds.exceeds_refundable");
    refunds::cancel(&mut l.store, &fabio, y, Some("duplicate of the other desktop's"), now).unwrap();
    assert_eq!(refunds::approve(&mut l.store, &fabio, x.id, None, now).unwrap().status, RefundStatus::Approved);
    let left = refunds::refundable(&l.store, "D-2", None).unwrap();
    assert_eq!((left.in_flight_minor, left.refundable_minor), (30_000_000, 20_000_000));
}

#[test]
fn a_request_is_refused_one_minor_unit_past_the_remainder() {
    let mut l = ledger();
    l.add(&[sale("PE-1", "D-PE", "PE", "89.90")]);
    let now = Utc::now();
    let sam = op(&l.db, "sam");
    refunds::request(&mut l.store, &sam, &psp_refund("D-PE", "50.00"), now).unwrap();
    let more = refunds::RefundRequestInput { additional: true, ..psp_refund("D-PE", "39.91") };
    let before = snapshot(&l.store);
    let err = refunds::request(&mut l.store, &sam, &more, now).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            "refunds.exceeds_refundable",
            "39.91 PEN is more than what remains refundable (39.90 PEN of 89.90 PEN paid; 0.00 PEN refunded, 50.00 PEN in flight)"
        )
    );
    assert_eq!(snapshot(&l.store), before);
    let exact = refunds::RefundRequestInput { additional: true, ..psp_refund("D-PE", "39.90") };
    assert_eq!(refunds::request(&mut l.store, &sam, &exact, now).unwrap().status, RefundStatus::Approved);
}

#[test]
fn a_payment_the_psp_took_back_has_nothing_refundable_at_any_step() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "500000")]);
    let now = Utc::now();
    let sam = op(&l.db, "sam");
    let pending = refunds::request(&mut l.store, &sam, &psp_refund("D-1", "300000"), now).unwrap();
    let failed = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "1000") },
        now,
    )
    .unwrap();
    set_refund_status(&l, failed.id, "failed");
    // The PSP gave the money back (PagoEfectivo's Extornado is stored as `refunded`).
    set_payment_status(&l, "D-1", "refunded");
    let before = snapshot(&l.store);
    let more = refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "1000") };
    let err = refunds::request(&mut l.store, &sam, &more, now).unwrap_err();
    assert_eq!(err.code(), "refunds.payment_taken_back");
    assert_eq!(
        err.to_string(),
        "payment D-1 is refunded at the PSP: the money already went back, nothing is refundable"
    );
    assert_eq!(
        code(refunds::approve(&mut l.store, &op(&l.db, "fabio"), pending.id, None, now)),
        "refunds.payment_taken_back"
    );
    assert_eq!(code(refunds::retry(&mut l.store, &op(&l.db, "fabio"), failed.id, now)), "refunds.payment_taken_back");
    assert_eq!(snapshot(&l.store), before);
    assert_eq!(refunds::refundable(&l.store, "D-1", None).unwrap().refundable_minor, 0);
}

#[test]
fn the_submitter_sends_only_what_the_payment_still_covers() {
    let psp = SandboxPsp::start("", CLIENT_TIMEOUT_MS);
    let payment_id = psp.paid_payment("CO-9", 6_710_000);
    let mut l = ledger();
    l.add(&[sale("CO-9", &payment_id, "CO", "67100")]);
    let a = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund(&payment_id, "60000"), Utc::now()).unwrap();
    // Another desktop approved 60,000 too: 120,000 in flight on 67,100.
    let b = other_desktop_refund(&l, a.id, 6_000_000, "approved");
    // Each holds its amount against the other: neither is sent, both stay
    // approved and are reported until someone cancels or amends one.
    let report = submit(&psp, &mut l);
    assert_eq!((report.submitted, report.succeeded), (0, 0));
    assert_eq!(
        report.issues.iter().map(|i| (i.refund, i.code.as_str(), i.retryable)).collect::<Vec<_>>(),
        vec![(a.id, "refunds.exceeds_refundable", false), (b, "refunds.exceeds_refundable", false)]
    );
    assert_eq!(refunds::show(&l.store, a.id).unwrap().status, RefundStatus::Approved);
    assert_eq!(refunds::show(&l.store, b).unwrap().status, RefundStatus::Approved);
    refunds::cancel(&mut l.store, &op(&l.db, "fabio"), b, Some("the other desktop's duplicate"), Utc::now()).unwrap();
    let report = submit(&psp, &mut l);
    assert_eq!((report.submitted, report.succeeded, report.issues.len()), (1, 1, 0));
    assert_eq!(refunds::show(&l.store, a.id).unwrap().status, RefundStatus::Succeeded);
    let stats_url = format!("{}/sandbox/stats", psp.url());
    let stats: serde_json::Value =
        psp.rt.block_on(async { reqwest::get(stats_url).await.unwrap().json().await.unwrap() });
    assert_eq!(stats["refunds_created"], 1);
    let left = refunds::refundable(&l.store, &payment_id, None).unwrap();
    assert_eq!((left.succeeded_minor, left.in_flight_minor, left.refundable_minor), (6_000_000, 0, 710_000));
}

#[test]
fn refund_approved_is_queued_once_per_channel_with_the_expected_business_days_and_never_twice() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "500000")]);
    let now = Utc::now();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-1", "300000"), now).unwrap();
    // Pending approval: the buyer hears nothing yet.
    assert_eq!(buyer_messages(&l, "CO-1"), vec![]);
    refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, None, now).unwrap();
    let params =
        format!("{{\"reference\":\"{}\",\"refund_amount_minor\":30000000,\"expected_business_days\":7}}", r.id);
    let approved = vec![
        ("refund_approved".to_string(), "email".to_string(), params.clone()),
        ("refund_approved".to_string(), "sms".to_string(), params.clone()),
    ];
    assert_eq!(buyer_messages(&l, "CO-1"), approved);
    let filter = NotificationFilter { order_id: Some("CO-1"), status: None, before_id: None, limit: 50 };
    let texts: Vec<String> = l.store.buyer_notifications(&filter).unwrap().into_iter().map(|m| m.body_text).collect();
    assert!(
        texts
            .iter()
            .all(|t| t.contains("7 business days") || t.contains("7 dias habiles") || t.contains("7 días hábiles")),
        "{texts:?}"
    );
    // Rejected by the PSP, retried: approved again, and no second message.
    set_refund_status(&l, r.id, "rejected_by_psp");
    assert_eq!(refunds::retry(&mut l.store, &op(&l.db, "fabio"), r.id, now).unwrap().status, RefundStatus::Approved);
    assert_eq!(buyer_messages(&l, "CO-1"), approved);
    // A cash withdrawal approved at once (tier 1) tells its own wait.
    let cash = refunds::request(
        &mut l.store,
        &op(&l.db, "sam"),
        &refunds::RefundRequestInput { additional: true, ..cash_withdrawal("D-1", "10000", payee_co()) },
        now,
    )
    .unwrap();
    let messages = buyer_messages(&l, "CO-1");
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages[2].2,
        format!("{{\"reference\":\"{}\",\"refund_amount_minor\":1000000,\"expected_business_days\":2}}", cash.id)
    );
}

fn utc(text: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn usd_priced(l: &mut Ledger) {
    l.add(&[usd_priced_sale("4000000", "1000.00")]);
}

#[test]
fn approval_locks_the_latest_dated_rate_and_refuses_one_older_than_a_business_day() {
    let mut l = ledger();
    usd_priced(&mut l);
    let admin = op(&l.db, "admin");
    let fabio = op(&l.db, "fabio");
    // Wednesday 4 March 2026, 10:00 in Bogotá.
    let wednesday = utc("2026-03-04T15:00:00Z");
    voucherdesk::fx::add(&mut l.store, &admin, "USD/COP", "2026-03-02", "4100.00", Some("BanRep TRM"), wednesday)
        .unwrap();
    // Tier 2 (over 200,000 COP): the rate is locked when finance approves.
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-USD", "412550"), Utc::now()).unwrap();
    assert_eq!(r.status, RefundStatus::PendingApproval);
    let before = snapshot(&l.store);
    let err = refunds::approve(&mut l.store, &fabio, r.id, None, wednesday).unwrap_err();
    assert_eq!(err.code(), "refunds.fx_rate_stale");
    assert_eq!(
        err.to_string(),
        "the latest USD/COP rate is dated 2026-03-02: older than one business day in CO (a rate of 2026-03-03 or later is needed); enter today's rate first"
    );
    assert_eq!(snapshot(&l.store), before);
    // A rate dated after today is not today's rate either.
    voucherdesk::fx::add(&mut l.store, &admin, "USD/COP", "2026-03-05", "4200", None, wednesday).unwrap();
    assert_eq!(code(refunds::approve(&mut l.store, &fabio, r.id, None, wednesday)), "refunds.fx_rate_stale");
    // Tuesday's rate is one business day old: usable.
    voucherdesk::fx::add(&mut l.store, &admin, "USD/COP", "2026-03-03", "4125.50", Some("BanRep TRM"), wednesday)
        .unwrap();
    let approved = refunds::approve(&mut l.store, &fabio, r.id, None, wednesday).unwrap();
    let fx = approved.fx.expect("locked");
    assert_eq!(
        (fx.rate.as_str(), fx.rate_date, fx.order_amount.as_str(), fx.source.as_str()),
        ("4125.5", Some(date("2026-03-03")), "100.00", "2026-03-03 BanRep TRM, entered by admin")
    );
    assert_eq!(refunds::show(&l.store, r.id).unwrap().fx.unwrap().rate_date, Some(date("2026-03-03")));
}

#[test]
fn on_a_monday_fridays_rate_is_one_business_day_old_and_thursdays_is_stale() {
    let mut l = ledger();
    usd_priced(&mut l);
    let admin = op(&l.db, "admin");
    let fabio = op(&l.db, "fabio");
    let monday = utc("2026-03-09T15:00:00Z");
    voucherdesk::fx::add(&mut l.store, &admin, "USD/COP", "2026-03-05", "4000", None, monday).unwrap();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-USD", "400000"), Utc::now()).unwrap();
    assert_eq!(code(refunds::approve(&mut l.store, &fabio, r.id, None, monday)), "refunds.fx_rate_stale");
    voucherdesk::fx::add(&mut l.store, &admin, "USD/COP", "2026-03-06", "4000", None, monday).unwrap();
    let fx = refunds::approve(&mut l.store, &fabio, r.id, None, monday).unwrap().fx.unwrap();
    assert_eq!((fx.rate_date, fx.order_amount.as_str()), (Some(date("2026-03-06")), "100.00"));
}

#[test]
fn a_banks_rate_file_with_one_bad_row_is_refused_whole_with_file_and_line_and_nothing_is_written() {
    let mut l = ledger();
    let admin = op(&l.db, "admin");
    let now = utc("2026-03-04T15:00:00Z");
    let bad = l.dir.path().join("trm-bad.csv");
    std::fs::write(&bad, "date;pair;rate\n2026-03-02;USD/COP;4100.10\n2026-03-03;USD/COP;4.125,50\n").unwrap();
    let before = snapshot(&l.store);
    let err = voucherdesk::fx::import(&mut l.store, &admin, &bad, None, now).unwrap_err();
    assert_eq!(err.code(), "fx.bad_file");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: rate \"4.125,50\": expected a positive decimal with `.` as the decimal point and at most 6 decimals, e.g. 4125.50",
            bad.display()
        )
    );
    assert_eq!(voucherdesk::fx::list(&l.store, None, 100).unwrap().len(), 0);
    assert_eq!(snapshot(&l.store), before);
    // Support may not enter rates.
    let good = l.dir.path().join("trm.csv");
    std::fs::write(&good, "date,pair,rate,source\n2026-03-02,USD/COP,4100.10,\n2026-03-03,USD/COP,4125.50,BanRep\n2026-03-03,USD/PEN,3.71,\n").unwrap();
    assert_eq!(
        voucherdesk::fx::import(&mut l.store, &op(&l.db, "sam"), &good, None, now).unwrap_err().code(),
        "auth.forbidden"
    );
    let imported = voucherdesk::fx::import(&mut l.store, &admin, &good, None, now).unwrap();
    assert_eq!((imported.rows, imported.added, imported.unchanged), (3, 3, 0));
    let listed: Vec<(String, String, String, String)> = voucherdesk::fx::list(&l.store, None, 100)
        .unwrap()
        .into_iter()
        .map(|r| (r.market_date.to_string(), r.pair, r.rate.to_string(), r.source))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("2026-03-03".into(), "USD/COP".into(), "4125.5".into(), "BanRep".into()),
            ("2026-03-03".into(), "USD/PEN".into(), "3.71".into(), "file trm.csv".into()),
            ("2026-03-02".into(), "USD/COP".into(), "4100.1".into(), "file trm.csv".into()),
        ]
    );
    // The same file again changes nothing; a different rate for a recorded day refuses the file.
    let again = voucherdesk::fx::import(&mut l.store, &admin, &good, None, now).unwrap();
    assert_eq!((again.added, again.unchanged), (0, 3));
    let changed = l.dir.path().join("trm-changed.csv");
    std::fs::write(&changed, "date,pair,rate\n2026-03-04,USD/COP,4130\n2026-03-03,USD/COP,4126\n").unwrap();
    let before = snapshot(&l.store);
    let err = voucherdesk::fx::import(&mut l.store, &admin, &changed, None, now).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: USD/COP for 2026-03-03 is already recorded as 4125.5 (by admin, BanRep): a recorded rate is never changed",
            changed.display()
        )
    );
    assert_eq!(snapshot(&l.store), before);
    assert_eq!(voucherdesk::fx::list(&l.store, Some("USD/COP"), 100).unwrap().len(), 2);
    // A header without the needed columns is named on line 1.
    let headless = l.dir.path().join("trm-headless.csv");
    std::fs::write(&headless, "fecha,valor\n2026-03-04,4130\n").unwrap();
    assert_eq!(
        voucherdesk::fx::import(&mut l.store, &admin, &headless, None, now).unwrap_err().to_string(),
        format!("{}:1: the header must name the columns date, pair and rate (found: fecha, valor)", headless.display())
    );
}
