//! Payout limits per PSP account and currency (seed 001: a withdrawal has a
//! per-transaction and a daily limit at the PSP): set by an admin, refused
//! with `refunds.limit_exceeded` naming the limit at every entry point that
//! decides an amount or a day (request, amendment, hand-over to the PSP),
//! and shown before a request is made.

use crate::support;

use chrono::{TimeDelta, Utc};
use support::refunds::*;
use voucherdesk::credentials::{self, AccountSecrets, DlocalSecrets, MemoryVault};
use voucherdesk::refunds::submission::{SubmitConfig, submit_and_follow};
use voucherdesk::refunds::{self, RefundRequestInput, RefundStatus};
use voucherdesk_sandbox as sandbox;

fn dlocal(url: &str, l: &mut Ledger) {
    let secrets = AccountSecrets::Dlocal(DlocalSecrets {
        login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
        trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
        secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
    });
    let admin = op(&l.db, "admin");
    credentials::add(&mut l.store, &MemoryVault::default(), &admin, "dlocal-co", url, &secrets).unwrap();
}

fn bank_transfer(payment_id: &str, amount: &str) -> RefundRequestInput {
    RefundRequestInput { method: "bank_transfer".into(), ..psp_refund(payment_id, amount) }
}

#[test]
fn an_admin_sets_the_limits_and_every_request_and_amendment_keeps_within_them() {
    let mut l = ledger();
    l.add(&[
        sale("CO-A", "D-A", "CO", "500000"),
        sale("CO-B", "D-B", "CO", "500000"),
        sale("CO-C", "D-C", "CO", "500000"),
    ]);
    dlocal("http://127.0.0.1:9", &mut l);

    // Only an admin sets limits; an unknown account is named.
    let err = refunds_refused(&l, "fabio", &["limits", "dlocal-co", "--currency", "COP", "--per-day", "300000"]);
    assert!(err.contains("fabio (finance) may not"), "{err}");
    let err = refunds_refused(&l, "admin", &["limits", "dlocal-xx", "--currency", "COP", "--per-day", "300000"]);
    assert!(err.contains("no PSP account is named \"dlocal-xx\""), "{err}");
    let err = refunds_refused(
        &l,
        "admin",
        &["limits", "dlocal-co", "--currency", "COP", "--per-payout", "400000", "--per-day", "300000"],
    );
    assert!(err.contains("the per-payout limit (400000.00 COP) is more than the daily one (300000.00 COP)"), "{err}");
    let out = refunds_cli(
        &l,
        "admin",
        &["limits", "dlocal-co", "--currency", "COP", "--per-payout", "180000", "--per-day", "300000"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "dlocal-co COP: per payout 180000.00 COP, per market day 300000.00 COP\n"
    );
    let shown = refunds_ok_json(&l, "sam", &["limits", "--json"]);
    assert_eq!(
        shown,
        serde_json::json!({ "accounts": { "dlocal-co": { "COP": {
            "per_payout_max_minor": 18_000_000, "per_day_max_minor": 30_000_000 } } } })
    );

    // Over the per-payout limit by one peso, from the CLI: refused, nothing written.
    let before = snapshot(&l.store);
    let mut over = vec!["request", "--payment", "D-A", "--amount", "180001", "--reason", "fraud", "--method"];
    over.extend(["psp_refund"]);
    over.extend(BANK);
    let err = refunds_refused(&l, "sam", &over);
    assert_eq!(
        err,
        "error: 180001.00 COP is more than dlocal-co's per-payout limit of 180000.00 COP (split it, or pay it by bank_transfer) [refunds.limit_exceeded]"
    );
    assert_eq!(snapshot(&l.store), before);

    // Two requests fill the day exactly; the third is refused, naming the day.
    let (sam, now) = (op(&l.db, "sam"), Utc::now());
    let a = refunds::request(&mut l.store, &sam, &psp_refund("D-A", "150000"), now).unwrap();
    let b = refunds::request(&mut l.store, &sam, &psp_refund("D-B", "150000"), now).unwrap();
    assert_eq!((a.status, b.status), (RefundStatus::Approved, RefundStatus::Approved));
    let preview = refunds::preview::preview(&l.store, &sam, "D-C", None, "10000", "psp_refund", now).expect("preview");
    let limit = preview.payout_limit.expect("the dialog shows the limit");
    assert_eq!(
        (limit.account.as_str(), limit.per_payout.as_deref(), limit.per_day.as_deref(), limit.requested_today.as_str()),
        ("dlocal-co", Some("180000.00"), Some("300000.00"), "300000.00")
    );
    let refusal = preview.exceeds_limit.expect("the dialog says why");
    let err = refunds::request(&mut l.store, &sam, &psp_refund("D-C", "10000"), now).unwrap_err();
    assert_eq!(err.code(), "refunds.limit_exceeded");
    assert_eq!(err.to_string(), refusal);
    let market_date = voucherdesk::market::Country::Colombia.business_date(now);
    assert_eq!(
        refusal,
        format!(
            "10000.00 COP would pass dlocal-co's daily payout limit of 300000.00 COP on {market_date} (America/Bogota): 300000.00 COP already requested that day"
        )
    );
    // A bank transfer leaves from the merchant's bank: no PSP limit holds it.
    let transfer = refunds::request(&mut l.store, &sam, &bank_transfer("D-C", "10000"), now).unwrap();
    assert_eq!(transfer.status, RefundStatus::Approved);
    // Cancelling a refund gives its room back.
    let fabio = op(&l.db, "fabio");
    refunds::cancel(&mut l.store, &fabio, b.id, Some("buyer kept the goods"), now).unwrap();
    let c = refunds::request(&mut l.store, &sam, &psp_refund("D-C", "10000"), now).unwrap();
    assert_eq!(c.status, RefundStatus::Approved);
    // An amendment is held to the same limits.
    let err = refunds::amend(&mut l.store, &sam, a.id, "180001", now).unwrap_err();
    assert_eq!(err.code(), "refunds.limit_exceeded", "{err}");
    let amended = refunds::amend(&mut l.store, &sam, a.id, "170000", now).unwrap();
    assert_eq!(amended.status, RefundStatus::Approved);
    // 170,000 + 10,000 + 120,000: the day is full again, and one peso more is refused.
    refunds::request(&mut l.store, &sam, &psp_refund("D-B", "120000"), now).unwrap();
    let err = refunds::amend(&mut l.store, &sam, amended.id, "170001", now).map(|_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "170001.00 COP would pass dlocal-co's daily payout limit of 300000.00 COP on {market_date} (America/Bogota): 130000.00 COP already requested that day"
        )
    );

    // Removing the limits: the same request goes through.
    let out = refunds_cli(&l, "admin", &["limits", "dlocal-co", "--currency", "COP"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no payout limits: refunds are held to none\n");
    refunds::request(&mut l.store, &sam, &RefundRequestInput { additional: true, ..psp_refund("D-B", "200000") }, now)
        .map(|_| ())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn at_hand_over_a_refund_over_the_days_room_waits_for_the_next_market_day() {
    let psp = SandboxPsp::start("", 5_000);
    let first = psp.paid_payment("CO-H1", 50_000_000);
    let second = psp.paid_payment("CO-H2", 50_000_000);
    let mut l = ledger();
    l.add(&[sale("CO-H1", &first, "CO", "500000"), sale("CO-H2", &second, "CO", "500000")]);
    dlocal(&psp.url(), &mut l);
    let (sam, now) = (op(&l.db, "sam"), Utc::now());
    let one = refunds::request(&mut l.store, &sam, &psp_refund(&first, "150000"), now).unwrap();
    let two = refunds::request(&mut l.store, &sam, &psp_refund(&second, "100000"), now).unwrap();
    // The PSP's daily limit is lowered after both were approved.
    let admin = op(&l.db, "admin");
    refunds::limits::set(&mut l.store, &admin, "dlocal-co", "COP", None, Some("200000")).unwrap();

    let config = SubmitConfig { batch_max: 10, ..SubmitConfig::default() };
    let client = psp.client();
    let round = psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, now, &|_| {})).unwrap();
    assert_eq!(round.submitted, 1, "{round:?}");
    assert_eq!(round.issues.len(), 1, "{round:?}");
    let waiting = &round.issues[0];
    assert_eq!((waiting.refund, waiting.code.as_str(), waiting.retryable), (two.id, "refunds.limit_exceeded", true));
    assert!(waiting.message.contains("150000.00 COP already paid out that day"), "{}", waiting.message);
    assert_eq!(refunds::show(&l.store, one.id).unwrap().status, RefundStatus::Succeeded);
    let held = refunds::show(&l.store, two.id).unwrap();
    assert_eq!((held.status, held.submit_attempts), (RefundStatus::Approved, 0));

    // The same day again: still waiting, and never sent.
    let again = psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, now, &|_| {})).unwrap();
    assert_eq!((again.submitted, again.issues.len()), (0, 1), "{again:?}");
    // The next market day: sent once.
    let tomorrow = now + TimeDelta::days(1);
    let next = psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, tomorrow, &|_| {})).unwrap();
    assert_eq!((next.submitted, next.issues.len()), (1, 0), "{next:?}");
    let sent = refunds::show(&l.store, two.id).unwrap();
    assert_eq!((sent.status, sent.submit_attempts), (RefundStatus::Succeeded, 1));
}
