//! Exactly-once submission against the sandbox over loopback: answers lost
//! (5xx after the PSP acted), late answers (time-outs), 5xx before it acted,
//! a crash between the PSP's answer and its recording (a child process
//! aborted at a fault-injected crash point, and one killed mid-call), cash
//! pickups, PSP refusals, retries. The sandbox counts distinct refunds: always 1.

use crate::support;

use chrono::{TimeDelta, Utc};
use std::time::{Duration, Instant};
use support::refunds::*;
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest};
use voucherdesk::psp::dlocal::wire::DlocalCashMethod;
use voucherdesk::refunds::submission::{SubmitConfig, SubmitReport, submit_and_follow};
use voucherdesk::refunds::{self, RefundStatus};
use voucherdesk::store::NotificationFilter;
use voucherdesk_sandbox as sandbox;
use voucherdesk_sandbox::dlocal::SubmitStats;

/// Client time-out in these tests: a held answer (2 s) is a time-out.
const CLIENT_TIMEOUT_MS: u64 = 400;
/// Longest a test waits for the sandbox or a child process.
const WAIT_MS: u64 = 10_000;

type Psp = SandboxPsp;

/// What these tests add to the sandbox harness.
impl SandboxPsp {
    fn stats(&self) -> SubmitStats {
        let url = format!("{}/sandbox/stats", self.url());
        self.rt.block_on(async { reqwest::get(url).await.unwrap().json::<SubmitStats>().await.unwrap() })
    }

    fn submit(&self, l: &mut Ledger) -> SubmitReport {
        let client = self.client();
        let op = op(&l.db, "sam");
        self.rt
            .block_on(submit_and_follow(&mut l.store, &client, &op, &SubmitConfig::default(), Utc::now(), &|_| {}))
            .unwrap()
    }
}

/// A ledger with the sandbox's paid payment imported, and an approved tier-1 refund of 20,000 COP.
fn approved_refund(psp: &Psp, order_id: &'static str) -> (Ledger, String, i64) {
    let (mut l, payment_id) = ledger_with_paid_sale(psp, order_id);
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund(&payment_id, "20000"), Utc::now()).unwrap();
    assert_eq!(r.status, RefundStatus::Approved);
    (l, payment_id, r.id)
}

/// A ledger with the sandbox's paid 50,000 COP payment for `order_id` imported.
fn ledger_with_paid_sale(psp: &Psp, order_id: &'static str) -> (Ledger, String) {
    let payment_id = psp.paid_payment(order_id, 5_000_000);
    let mut l = ledger();
    l.add(&[sale(order_id, &payment_id, "CO", "50000")]);
    (l, payment_id)
}

/// A ledger with a paid sale and a cash withdrawal of `amount` COP requested by sam.
fn cash_withdrawal_requested(psp: &Psp, order_id: &'static str, amount: &str) -> (Ledger, refunds::Refund) {
    let (mut l, payment_id) = ledger_with_paid_sale(psp, order_id);
    let r = refunds::request(
        &mut l.store,
        &op(&l.db, "sam"),
        &cash_withdrawal(&payment_id, amount, payee_co()),
        Utc::now(),
    )
    .unwrap();
    (l, r)
}

#[test]
fn a_lost_answer_and_a_late_answer_are_resent_with_the_same_key_and_refund_once() {
    let psp = Psp::start(
        "[dlocal.submit_faults]\nlose_answer_first = 1\nhold_answer_first = 2\nhold_ms = 2000\n",
        CLIENT_TIMEOUT_MS,
    );
    let (mut l, payment_id, id) = approved_refund(&psp, "CO-1");
    let key = refunds::show(&l.store, id).unwrap().idempotency_key;

    // 1: the sandbox refunds, the answer is a 503. Still submitted, no PSP id.
    let first = psp.submit(&mut l);
    assert_eq!((first.submitted, first.resent, first.succeeded), (1, 0, 0));
    assert_eq!(
        first.issues.iter().map(|i| (i.code.as_str(), i.retryable)).collect::<Vec<_>>(),
        vec![("dlocal.server", true)]
    );
    let after1 = refunds::show(&l.store, id).unwrap();
    assert_eq!(
        (after1.status, after1.psp_refund_id.clone(), after1.submit_attempts),
        (RefundStatus::Submitted, None, 1)
    );
    // 2: same key again; the answer never comes in time.
    let second = psp.submit(&mut l);
    assert_eq!((second.submitted, second.resent), (0, 1));
    assert_eq!(second.issues[0].code, "dlocal.timeout");
    // 3: same key, answered: the refund the first call created.
    let third = psp.submit(&mut l);
    assert_eq!((third.resent, third.succeeded), (1, 1));
    let done = refunds::show(&l.store, id).unwrap();
    assert_eq!((done.status, done.submit_attempts, done.idempotency_key.clone()), (RefundStatus::Succeeded, 3, key));
    assert_eq!(done.psp_refund_id.as_deref(), Some("REF-sbx-00000002"));
    let stats = psp.stats();
    assert_eq!((stats.refund_requests, stats.refunds_created, stats.refund_replays), (3, 1, 2));
    assert_eq!(stats.refunds_by_payment.get(&payment_id), Some(&1));
    // Nothing left to do: a fourth run sends nothing.
    let fourth = psp.submit(&mut l);
    assert_eq!((fourth.submitted, fourth.resent, fourth.polled), (0, 0, 0));
    assert_eq!(psp.stats().refund_requests, 3);
    // The buyer is told once, on each channel it has a contact for: approved, then completed.
    assert_eq!(
        buyer_messages(&l, "CO-1"),
        vec![
            ("refund_approved".into(), "email".into()),
            ("refund_approved".into(), "sms".into()),
            ("refund_completed".into(), "email".into()),
            ("refund_completed".into(), "sms".into())
        ]
    );
    // Every attempt is audited.
    let sends = voucherdesk::audit::page(
        &l.store,
        &voucherdesk::audit::AuditQuery { action: Some("refund.resend".into()), limit: 10, ..Default::default() },
    )
    .unwrap();
    assert_eq!(sends.len(), 2);
}

#[test]
fn a_5xx_before_the_psp_acted_is_resent_and_creates_exactly_one_refund() {
    let psp = Psp::start("[dlocal.submit_faults]\nunavailable_first = 2\n", CLIENT_TIMEOUT_MS);
    let (mut l, payment_id, id) = approved_refund(&psp, "CO-2");
    assert_eq!(psp.submit(&mut l).issues[0].code, "dlocal.server");
    assert_eq!(psp.submit(&mut l).issues[0].code, "dlocal.server");
    assert_eq!(psp.stats().refunds_created, 0);
    let third = psp.submit(&mut l);
    assert_eq!((third.resent, third.succeeded, third.issues.len()), (1, 1, 0));
    assert_eq!(refunds::show(&l.store, id).unwrap().status, RefundStatus::Succeeded);
    let stats = psp.stats();
    assert_eq!((stats.refunds_created, stats.refund_replays), (1, 0));
    assert_eq!(stats.refunds_by_payment.get(&payment_id), Some(&1));
}

/// The same command as a plain process, to kill it mid-call.
fn submit_command(l: &Ledger, psp: &Psp, timeout_ms: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("voucherdesk"));
    cmd.args(["--db"]).arg(&l.db).args(["--operator", "sam", "refunds", "submit", "--once", "--json", "--dlocal-url"]);
    cmd.arg(psp.url()).args(["--timeout-ms", timeout_ms]);
    cmd.env_remove("VOUCHERDESK_DB").env_remove("VOUCHERDESK_OPERATOR");
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    cmd
}

fn submit_cli(l: &Ledger, psp: &Psp) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
    cmd.args(["--db"]).arg(&l.db).args(["--operator", "sam", "refunds", "submit", "--once", "--json", "--dlocal-url"]);
    cmd.arg(psp.url()).args(["--timeout-ms", "2000"]);
    cmd.env_remove("VOUCHERDESK_DB").env_remove("VOUCHERDESK_OPERATOR");
    cmd.timeout(Duration::from_millis(WAIT_MS * 3));
    cmd
}

#[test]
fn a_crash_between_the_psp_answer_and_its_record_is_finished_by_the_next_run_without_a_second_refund() {
    let psp = Psp::start("", CLIENT_TIMEOUT_MS);
    let (mut l, payment_id, id) = approved_refund(&psp, "CO-3");
    drop(std::mem::replace(&mut l.store, voucherdesk::store::Store::open_in_memory().unwrap()));
    // The child aborts right after the sandbox answered: nothing recorded but "submitted".
    let crashed = submit_cli(&l, &psp).env("VOUCHERDESK_TEST_CRASH_AFTER_SEND", "1").output().unwrap();
    assert_eq!(crashed.status.code(), None, "must die by a signal: {crashed:?}");
    let store = l.reopen();
    let r = refunds::show(&store, id).unwrap();
    assert_eq!((r.status, r.psp_refund_id.clone(), r.submit_attempts), (RefundStatus::Submitted, None, 1));
    assert_eq!(psp.stats().refunds_created, 1);
    // The next run resends with the stored key and records the same refund.
    let out = submit_cli(&l, &psp).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["resent"].as_u64(), report["succeeded"].as_u64()), (Some(1), Some(1)));
    let r = refunds::show(&store, id).unwrap();
    assert_eq!((r.status, r.submit_attempts), (RefundStatus::Succeeded, 2));
    let stats = psp.stats();
    assert_eq!((stats.refunds_created, stats.refund_replays), (1, 1));
    assert_eq!(stats.refunds_by_payment.get(&payment_id), Some(&1));
}

#[test]
fn a_child_killed_while_waiting_for_the_psp_leaves_a_refund_the_next_run_completes_once() {
    // The sandbox refunds at once but answers only after 20 s: the child is killed meanwhile.
    let psp = Psp::start("[dlocal.submit_faults]\nhold_answer_first = 1\nhold_ms = 20000\n", CLIENT_TIMEOUT_MS);
    let (mut l, payment_id, id) = approved_refund(&psp, "CO-4");
    drop(std::mem::replace(&mut l.store, voucherdesk::store::Store::open_in_memory().unwrap()));
    let mut child = submit_command(&l, &psp, "30000").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    while psp.stats().refunds_created == 0 {
        assert!(Instant::now() < deadline, "the child never reached the sandbox");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let store = l.reopen();
    assert_eq!(refunds::show(&store, id).unwrap().psp_refund_id, None);
    let out = submit_cli(&l, &psp).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r = refunds::show(&store, id).unwrap();
    assert_eq!((r.status, r.submit_attempts), (RefundStatus::Succeeded, 2));
    assert_eq!(psp.stats().refunds_by_payment.get(&payment_id), Some(&1));
    assert_eq!(psp.stats().refunds_created, 1);
}

#[test]
fn a_cash_withdrawal_gets_a_withdrawal_code_and_is_followed_until_collected() {
    let psp =
        Psp::start("[[dlocal.payouts]]\norder_prefix = \"CO-\"\noutcome = \"paid\"\nafter_ms = 0\n", CLIENT_TIMEOUT_MS);
    let (mut l, r) = cash_withdrawal_requested(&psp, "CO-5", "50000");
    assert_eq!(r.status, RefundStatus::Approved);
    let first = psp.submit(&mut l);
    assert_eq!((first.submitted, first.pending), (1, 1));
    let sent = refunds::show(&l.store, id_of(&r)).unwrap();
    assert_eq!(sent.status, RefundStatus::Submitted);
    let code = sent.withdrawal_code.clone().expect("withdrawal code");
    assert_eq!(code.len(), 10);
    // The buyer collects (at once in this scenario): the next run reads it.
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    loop {
        let report = psp.submit(&mut l);
        if report.succeeded == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "never collected: {report:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let done = refunds::show(&l.store, r.id).unwrap();
    assert_eq!((done.status, done.withdrawal_code.as_deref()), (RefundStatus::Succeeded, Some(code.as_str())));
    let stats = psp.stats();
    assert_eq!((stats.payouts_created, stats.payout_requests), (1, 1));
    // "Your cash is ready" went out once per channel, with the code, while the
    // payout waited; being collected adds no message.
    let pickup = vec![
        ("refund_approved".to_string(), "email".to_string()),
        ("refund_approved".into(), "sms".into()),
        ("cash_ready_for_pickup".into(), "email".into()),
        ("cash_ready_for_pickup".into(), "sms".into()),
    ];
    assert_eq!(buyer_messages(&l, "CO-5"), pickup);
    let rows = l
        .store
        .buyer_notifications(&NotificationFilter { order_id: Some("CO-5"), status: None, before_id: None, limit: 10 })
        .unwrap();
    let ready: Vec<_> = rows.iter().filter(|m| m.kind == "cash_ready_for_pickup").collect();
    assert_eq!(ready.len(), 2);
    assert!(ready.iter().all(|m| m.body_text.contains(&code)), "the withdrawal code is in every pickup message");
}

/// The buyer notifications queued for an order: (kind, channel), oldest first.
fn buyer_messages(l: &Ledger, order_id: &str) -> Vec<(String, String)> {
    let filter = NotificationFilter { order_id: Some(order_id), status: None, before_id: None, limit: 50 };
    let mut rows = l.store.buyer_notifications(&filter).unwrap();
    rows.sort_by_key(|m| m.id);
    rows.into_iter().map(|m| (m.kind, m.channel)).collect()
}

fn id_of(r: &refunds::Refund) -> i64 {
    r.id
}

#[test]
fn a_rejected_payout_can_be_retried_with_a_new_key_and_a_refusal_fails_the_refund() {
    let psp = Psp::start("[[dlocal.payouts]]\noutcome = \"rejected\"\nafter_ms = 0\n", CLIENT_TIMEOUT_MS);
    let (mut l, r) = cash_withdrawal_requested(&psp, "CO-6", "10000");
    psp.submit(&mut l);
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    while refunds::show(&l.store, r.id).unwrap().status == RefundStatus::Submitted {
        assert!(Instant::now() < deadline);
        psp.submit(&mut l);
        std::thread::sleep(Duration::from_millis(20));
    }
    let rejected = refunds::show(&l.store, r.id).unwrap();
    assert_eq!(rejected.status, RefundStatus::RejectedByPsp);
    // Only finance/manager/admin retry; the retry gets a new key.
    assert_eq!(refunds::retry(&mut l.store, &op(&l.db, "sam"), r.id, Utc::now()).unwrap_err().code(), "auth.forbidden");
    let again = refunds::retry(&mut l.store, &op(&l.db, "fabio"), r.id, Utc::now()).unwrap();
    assert_eq!(again.status, RefundStatus::Approved);
    assert_ne!(again.idempotency_key, rejected.idempotency_key);
    psp.submit(&mut l);
    assert_eq!(psp.stats().payouts_created, 2);
    // Submitted again (PENDING at the PSP): it can be flagged for attention.
    let escalated = refunds::escalate(&mut l.store, &op(&l.db, "sam"), r.id, "buyer called twice", Utc::now()).unwrap();
    assert!(escalated.escalated);
    assert_eq!(
        refunds::escalate(&mut l.store, &op(&l.db, "sam"), r.id, " ", Utc::now()).unwrap_err().code(),
        "refunds.comment_required"
    );

    // A payment the PSP does not consider paid: dLocal's 5002 fails the refund (nothing created there).
    let psp2 = Psp::start("[[dlocal.payments]]\noutcome = \"never_paid\"\n", CLIENT_TIMEOUT_MS);
    let never = {
        let client = psp2.client();
        psp2.rt.block_on(async {
            let request = CashPaymentRequest {
                order_id: "CO-8".into(),
                amount_minor: 5_000_000,
                currency: Currency::Cop,
                country: Country::Colombia,
                method: DlocalCashMethod::Efecty,
                payer: CashPayer { name: "X".into(), email: "x@example.com".into(), document: "1".into() },
                description: None,
                notification_url: None,
            };
            client.create_cash_payment(&request).await.unwrap().payment_id
        })
    };
    let mut l2 = ledger();
    l2.add(&[sale("CO-8", &never, "CO", "50000")]);
    let f = refunds::request(&mut l2.store, &op(&l2.db, "sam"), &psp_refund(&never, "1000"), Utc::now()).unwrap();
    let report = psp2.submit(&mut l2);
    assert_eq!(
        (report.failed, report.issues[0].code.as_str(), report.issues[0].retryable),
        (1, "dlocal.refused", false)
    );
    let failed = refunds::show(&l2.store, f.id).unwrap();
    assert_eq!(failed.status, RefundStatus::Failed);
    assert!(failed.last_error.as_deref().unwrap_or("").contains("5002"), "{:?}", failed.last_error);
    assert_eq!(psp2.stats().refunds_created, 0);
}

#[test]
fn a_refund_pending_at_the_psp_for_too_long_is_reported_unconfirmed() {
    let psp = Psp::start("[[dlocal.refunds]]\noutcome = \"pending\"\n", CLIENT_TIMEOUT_MS);
    let (mut l, _, id) = approved_refund(&psp, "CO-9");
    let first = psp.submit(&mut l);
    assert_eq!((first.pending, first.unconfirmed.len()), (1, 0));
    let client = psp.client();
    let sam = op(&l.db, "sam");
    // Six calendar days are at most five business days: inside the default seven.
    let soon = Utc::now() + TimeDelta::days(6);
    let report = psp
        .rt
        .block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), soon, &|_| {}))
        .unwrap();
    assert_eq!((report.polled, report.pending, report.unconfirmed.len()), (1, 1, 0));
    // Three weeks are at least eleven business days in either market, holidays and all.
    let later = Utc::now() + TimeDelta::days(21);
    let report = psp
        .rt
        .block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), later, &|_| {}))
        .unwrap();
    assert_eq!((report.polled, report.pending, report.unconfirmed.clone()), (1, 1, vec![id]));
    // The exception is in the queue, and reconciliation does not clear it.
    let (row, _) = l.store.refund(id).unwrap().unwrap();
    let exception_id = voucherdesk::store::unconfirmed_exception_id(&row);
    let open = l.store.exception(&exception_id).unwrap().expect("refund_unconfirmed raised");
    assert_eq!(
        (open.kind.as_str(), open.status),
        ("refund_unconfirmed", voucherdesk::exceptions::ExceptionStatus::Open)
    );
    let options = voucherdesk::reconcile::ReconcileOptions::on(Utc::now().date_naive());
    voucherdesk::reconcile::reconcile(&mut l.store, &options, &op(&l.db, "admin")).unwrap();
    assert_eq!(
        l.store.exception(&exception_id).unwrap().unwrap().status,
        voucherdesk::exceptions::ExceptionStatus::Open
    );
    // Raised once, however often the follow-up runs.
    psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), later, &|_| {})).unwrap();
    let history = l.store.exception_history(&exception_id).unwrap();
    assert_eq!(history.len(), 1);
}

fn listener(psp: &Psp, l: &Ledger) -> voucherdesk::webhooks::server::RunningListener {
    use voucherdesk::webhooks::server::{ListenConfig, RunningListener};
    use voucherdesk::webhooks::{NotificationSecrets, Psp as Which, Secret};
    let mut secrets = NotificationSecrets::default();
    secrets.set(Which::Dlocal, Secret::new(sandbox::DEFAULT_DLOCAL_SECRET), Some(sandbox::DEFAULT_DLOCAL_LOGIN));
    let config = ListenConfig { secrets, stale_after_s: 300, reconcile_as: None, on_event: None };
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    psp.rt.block_on(RunningListener::start(addr, l.reopen(), config)).unwrap()
}

fn submit_with_callbacks(psp: &Psp, l: &mut Ledger, base: &str) -> SubmitReport {
    let client = psp.client();
    let op = op(&l.db, "sam");
    let config = SubmitConfig { notification_url: Some(base.to_string()), ..SubmitConfig::default() };
    psp.rt.block_on(submit_and_follow(&mut l.store, &client, &op, &config, Utc::now(), &|_| {})).unwrap()
}

fn wait_status(l: &Ledger, id: i64, wanted: RefundStatus) -> refunds::Refund {
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    loop {
        let r = refunds::show(&l.store, id).unwrap();
        if r.status == wanted {
            return r;
        }
        assert!(Instant::now() < deadline, "refund {id} still {:?}, wanted {wanted:?}", r.status);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn refund_and_payout_outcomes_arrive_by_signed_callback_without_polling() {
    let psp = Psp::start(
        "[[dlocal.refunds]]\noutcome = \"success\"\nafter_ms = 50\n[[dlocal.payouts]]\noutcome = \"paid\"\nafter_ms = 50\nnotify = { copies = 2 }\n",
        CLIENT_TIMEOUT_MS,
    );
    let (mut l, payment_id, id) = approved_refund(&psp, "CO-10");
    let cash = refunds::request(
        &mut l.store,
        &op(&l.db, "sam"),
        &refunds::RefundRequestInput { additional: true, ..cash_withdrawal(&payment_id, "10000", payee_co()) },
        Utc::now(),
    )
    .unwrap();
    let listen = listener(&psp, &l);
    let report = submit_with_callbacks(&psp, &mut l, &listen.url(voucherdesk::webhooks::Psp::Dlocal));
    assert_eq!((report.submitted, report.pending), (2, 2));
    // No second submit: the callbacks move both refunds.
    let done = wait_status(&l, id, RefundStatus::Succeeded);
    assert_eq!(done.psp_status.as_deref(), Some("SUCCESS (200)"));
    let collected = wait_status(&l, cash.id, RefundStatus::Succeeded);
    assert!(collected.withdrawal_code.is_some());
    let stats = psp.stats();
    assert_eq!((stats.refunds_created, stats.payouts_created), (1, 1));
}

#[test]
fn a_forged_refund_callback_changes_nothing() {
    use voucherdesk::webhooks::{self, InboundNotification, NotificationSecrets, RefundCallback, Secret, Verdict};
    let psp = Psp::start("[[dlocal.refunds]]\noutcome = \"pending\"\n", CLIENT_TIMEOUT_MS);
    let (mut l, _, id) = approved_refund(&psp, "CO-11");
    psp.submit(&mut l);
    let known = refunds::show(&l.store, id).unwrap();
    let psp_id = known.psp_refund_id.clone().unwrap();
    let body = format!(
        r#"{{"id":"{psp_id}","payment_id":"{}","amount":20000,"currency":"COP","status":"SUCCESS","status_code":200}}"#,
        known.payment_id
    );
    let date = voucherdesk::psp::dlocal::client::x_date(Utc::now());
    let sign = |secret: &str| {
        voucherdesk::psp::dlocal::signature::authorization(
            secret,
            sandbox::DEFAULT_DLOCAL_LOGIN,
            &date,
            body.as_bytes(),
        )
    };
    let mut secrets = NotificationSecrets::default();
    secrets.set(
        webhooks::Psp::Dlocal,
        Secret::new(sandbox::DEFAULT_DLOCAL_SECRET),
        Some(sandbox::DEFAULT_DLOCAL_LOGIN),
    );
    let notification = |authorization: String| InboundNotification {
        psp: webhooks::Psp::Dlocal,
        headers: vec![
            ("X-Date".into(), date.clone()),
            ("X-Login".into(), sandbox::DEFAULT_DLOCAL_LOGIN.into()),
            ("Authorization".into(), authorization),
        ],
        body: body.clone().into_bytes(),
        received_at: Utc::now(),
    };
    // The refund callback signed with `secret`, as received now.
    let receive = |l: &mut Ledger, secret: &str| {
        webhooks::receive_refund_callback(
            &mut l.store,
            &notification(sign(secret)),
            &secrets,
            300,
            RefundCallback::Refund,
        )
        .unwrap()
    };
    let forged = receive(&mut l, "not-the-secret");
    assert_eq!(forged.verdict, Verdict::Forged);
    assert_eq!(refunds::show(&l.store, id).unwrap().status, RefundStatus::Submitted);
    let receipt = l.dir.path().join("receipts").join(format!("refund-{id}.pdf"));
    assert!(!receipt.exists(), "a receipt before success");
    let genuine = receive(&mut l, sandbox::DEFAULT_DLOCAL_SECRET);
    assert_eq!(genuine.verdict, Verdict::Applied);
    assert_eq!(refunds::show(&l.store, id).unwrap().status, RefundStatus::Succeeded);
    // The success archived its PDF receipt.
    assert!(std::fs::read(&receipt).unwrap().starts_with(b"%PDF-"));
    // The same callback again, or a stale PENDING after it, changes nothing.
    let again = receive(&mut l, sandbox::DEFAULT_DLOCAL_SECRET);
    assert_eq!(again.verdict, Verdict::Duplicate);
}
