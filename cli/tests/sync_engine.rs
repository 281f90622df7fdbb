//! The background sync engine against a scripted, in-test PSP: exact counts,
//! history with source api, back-off, Retry-After, rate limits, pause,
//! restart without repeats, and reconciliation after sync.

use crate::support;

use chrono::{DateTime, TimeDelta, Utc};
use rand::SeedableRng;
use rusqlite::{Connection, OpenFlags};
use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Ctx;
use voucherdesk::operators::{Operator, act_as};
use voucherdesk::payments::PaymentStatus;
use voucherdesk::store::Store;
use voucherdesk::sync::schedule::{after, backoff_delay, jitter_permille, permanent_failure_delay};
use voucherdesk::sync::{
    self, FetchFuture, RemoteObservation, SourceError, StatusSource, SyncConfig, SyncEngine, SyncReport, SyncTarget,
};

const NOW: &str = "2026-03-20T12:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn now() -> DateTime<Utc> {
    at(NOW)
}

/// Orders S-001..S-n (the shop says pending_payment) paid with dLocal
/// vouchers D-001..D-n, all PENDING in the file, plus D-900 already PAID
/// (final: never queued).
fn ledger_with_pending(ctx: &Ctx, n: usize) {
    let mut orders = String::from(
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n",
    );
    let mut payments = String::from(
        "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n",
    );
    for i in 1..=n {
        orders.push_str(&format!(
            "S-{i:03},Tienda Sync,2026-03-19T10:00:00-05:00,Buyer {i},b{i}@correo.example,+57 300 000 {i:04},10{i:08},CO,50000.00,COP,pending_payment,dlocal,D-{i:03},70{i:08},2026-03-22T10:00:00-05:00\n"
        ));
        payments.push_str(&format!(
            "D-{i:03},S-{i:03},CO,EY,COP,50000,PENDING,100,2026-03-19T15:00:00.000+0000,,2026-03-22T15:00:00.000+0000,70{i:08}\n"
        ));
    }
    orders.push_str("S-900,Tienda Sync,2026-03-19T10:00:00-05:00,Done,d@correo.example,+57 300 999 0000,1099999999,CO,50000.00,COP,paid,dlocal,D-900,7099999999,2026-03-22T10:00:00-05:00\n");
    payments.push_str("D-900,S-900,CO,EY,COP,50000,PAID,200,2026-03-19T15:00:00.000+0000,2026-03-19T16:00:00.000+0000,2026-03-22T15:00:00.000+0000,7099999999\n");
    std::fs::write(ctx.path("orders.csv"), orders).unwrap();
    std::fs::write(ctx.path("dlocal.csv"), payments).unwrap();
    ctx.import("orders", "shop", &ctx.path("orders.csv"));
    ctx.import("payments", "dlocal", &ctx.path("dlocal.csv"));
}

fn operator(ctx: &Ctx, name: &str) -> Operator {
    act_as(&Store::open(&ctx.db).unwrap(), name).unwrap()
}

/// One scripted answer.
#[derive(Clone)]
enum Answer {
    Status(PaymentStatus, &'static str),
    ServerError,
    /// Never answers (the engine's time-out fires).
    Silent,
    TooManyRequests(Duration),
    UnknownStatus(&'static str),
    /// Never answers and tells the test it is stuck here.
    Hang,
}

/// A PSP with scripted answers per payment id (then `default`), logging
/// when each request arrived and which ones it answered.
struct FakePsp {
    psp: &'static str,
    rate: u32,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    default: Answer,
    requests: Mutex<Vec<(String, Instant)>>,
    answered: Mutex<Vec<String>>,
    hung: tokio::sync::Notify,
}

impl FakePsp {
    fn new(default: Answer) -> Arc<FakePsp> {
        FakePsp::with(default, &[])
    }

    fn with(default: Answer, script: &[(&str, &[Answer])]) -> Arc<FakePsp> {
        Arc::new(FakePsp {
            psp: "dlocal",
            rate: 1_000,
            script: Mutex::new(script.iter().map(|(id, a)| (id.to_string(), a.iter().cloned().collect())).collect()),
            default,
            requests: Mutex::new(Vec::new()),
            answered: Mutex::new(Vec::new()),
            hung: tokio::sync::Notify::new(),
        })
    }

    fn with_rate(self: Arc<Self>, rate: u32) -> Arc<FakePsp> {
        let mut me = Arc::try_unwrap(self).ok().expect("not shared yet");
        me.rate = rate;
        Arc::new(me)
    }

    fn requested(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().map(|(id, _)| id.clone()).collect()
    }

    fn answered(&self) -> Vec<String> {
        self.answered.lock().unwrap().clone()
    }

    fn sources(self: &Arc<Self>) -> Vec<Arc<dyn StatusSource>> {
        vec![self.clone() as Arc<dyn StatusSource>]
    }
}

fn source_error(retryable: bool, retry_after: Option<Duration>, code: &'static str, message: &str) -> SourceError {
    SourceError { retryable, retry_after, code, message: message.to_string() }
}

impl StatusSource for FakePsp {
    fn psp(&self) -> &'static str {
        self.psp
    }

    fn requests_per_second_max(&self) -> u32 {
        self.rate
    }

    fn fetch<'a>(&'a self, target: &'a SyncTarget) -> FetchFuture<'a> {
        Box::pin(async move {
            self.requests.lock().unwrap().push((target.payment_id.clone(), Instant::now()));
            let answer = self
                .script
                .lock()
                .unwrap()
                .get_mut(&target.payment_id)
                .and_then(|q| q.pop_front())
                .unwrap_or_else(|| self.default.clone());
            let result = match answer {
                Answer::Status(status, word) => Ok(RemoteObservation {
                    status,
                    psp_status: word.to_string(),
                    status_code: if status == PaymentStatus::Paid { "200" } else { "100" }.to_string(),
                    status_at: (status == PaymentStatus::Paid).then(|| at("2026-03-20T11:00:00Z")),
                    raw_text: format!(r#"{{"id":"{}","status":"{word}"}}"#, target.payment_id),
                }),
                Answer::ServerError => {
                    Err(source_error(true, None, "dlocal.http_5xx", "dLocal answered 503 Service Unavailable"))
                }
                Answer::TooManyRequests(wait) => {
                    Err(source_error(true, Some(wait), "dlocal.rate_limited", "dLocal answered 429 Too Many Requests"))
                }
                Answer::UnknownStatus(word) => Err(source_error(
                    false,
                    None,
                    "dlocal.unknown_status",
                    &format!("unknown dlocal status {word:?} (expected one of PENDING, PAID, ...)"),
                )),
                Answer::Silent => std::future::pending().await,
                Answer::Hang => {
                    self.hung.notify_one();
                    std::future::pending().await
                }
            };
            self.answered.lock().unwrap().push(target.payment_id.clone());
            result
        })
    }
}

fn config() -> SyncConfig {
    SyncConfig { in_flight_per_psp_max: 1, jitter_seed: Some(7), ..SyncConfig::default() }
}

fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// (attempts, next_poll_at, last_error_code) of a payment's queue row, if queued.
fn queue_row(db: &Path, payment_id: &str) -> Option<(u32, DateTime<Utc>, Option<String>)> {
    let conn = read_only(db);
    conn.query_row(
        "SELECT q.attempts, q.next_poll_at, q.last_error_code FROM sync_queue q JOIN payments p ON p.id = q.payment
         WHERE p.payment_id = ?1",
        [payment_id],
        |r| Ok((r.get(0)?, DateTime::from_timestamp(r.get(1)?, 0).unwrap(), r.get(2)?)),
    )
    .ok()
}

/// (status, source, psp_status) of every history row of a payment, oldest first.
fn history(db: &Path, payment_id: &str) -> Vec<(String, String, String)> {
    let conn = read_only(db);
    let mut stmt = conn
        .prepare(
            "SELECT h.status, h.source, h.psp_status FROM payment_status_history h JOIN payments p ON p.id = h.payment
             WHERE p.payment_id = ?1 ORDER BY h.id",
        )
        .unwrap();
    stmt.query_map([payment_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

fn payment_status(db: &Path, payment_id: &str) -> String {
    read_only(db).query_row("SELECT status FROM payments WHERE payment_id = ?1", [payment_id], |r| r.get(0)).unwrap()
}

/// (action, operator, subject, before, after) of the audit entries whose
/// action starts with `prefix`, newest first, read through the library.
fn audit(db: &Path, prefix: &str) -> Vec<(String, String, String, String, String)> {
    let store = Store::open(db).unwrap();
    let query = voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() };
    voucherdesk::audit::page(&store, &query)
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action.starts_with(prefix))
        .map(|e| (e.entry.action, e.entry.operator, e.entry.subject, e.entry.before, e.entry.after))
        .collect()
}

fn entry(
    action: &str,
    operator: &str,
    subject: &str,
    before: &str,
    after: &str,
) -> (String, String, String, String, String) {
    (action.into(), operator.into(), subject.into(), before.into(), after.into())
}

fn report(polled: u64, changed: u64, errors: u64) -> SyncReport {
    SyncReport { polled, changed, errors, ..SyncReport::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_answer_is_recorded_from_the_api_and_reconciliation_raises_paid_not_recorded() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 6);
    let psp = FakePsp::with(
        Answer::Status(PaymentStatus::Pending, "PENDING"),
        &[("D-002", &[Answer::Status(PaymentStatus::Paid, "PAID")])],
    );
    let engine = SyncEngine::new(operator(&ctx, "fabio"), SyncConfig { jitter_seed: Some(7), ..SyncConfig::default() });

    let first = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(first, SyncReport { queued_new: 6, reconciled: true, ..report(6, 1, 0) });
    let mut asked = psp.requested();
    asked.sort();
    assert_eq!(asked, ["D-001", "D-002", "D-003", "D-004", "D-005", "D-006"], "D-900 is paid: never polled");

    assert_eq!(payment_status(&ctx.db, "D-002"), "paid");
    assert_eq!(
        history(&ctx.db, "D-002"),
        [("pending".into(), "file".into(), "PENDING".into()), ("paid".into(), "api".into(), "PAID".into())]
    );
    // Still pending, as the file said: the API's first word is in the
    // timeline (the PSP was asked and answered); repeats are not.
    assert_eq!(
        history(&ctx.db, "D-001"),
        [("pending".into(), "file".into(), "PENDING".into()), ("pending".into(), "api".into(), "PENDING".into())]
    );
    let paid_at: i64 = read_only(&ctx.db)
        .query_row("SELECT paid_at FROM payments WHERE payment_id = 'D-002'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(paid_at, at("2026-03-20T11:00:00Z").timestamp());

    // The shop still says pending_payment for S-002: the same exception a file would raise.
    let exception = ctx.exception("paid_not_recorded", "S-002");
    assert_eq!(exception["status"], "open");
    assert!(exception["detail"].as_str().unwrap().contains("dlocal:D-002"), "{exception}");
    let observed = audit(&ctx.db, "payment.");
    let changes: Vec<_> = observed.iter().filter(|e| e.2 == "payment dlocal:D-002").collect();
    assert_eq!(changes.len(), 1, "{observed:?}");
    let (action, operator, _, before, after) = changes[0];
    assert_eq!((action.as_str(), operator.as_str(), before.as_str()), ("payment.observe", "fabio", "pending"));
    assert!(after.contains(r#""status":"paid""#) && after.contains(r#""source":"api""#), "{after}");

    // D-002 left the queue; the others come back in an hour (created
    // yesterday, expiring in 2 days), not before.
    assert_eq!(queue_row(&ctx.db, "D-002"), None);
    assert_eq!(queue_row(&ctx.db, "D-001"), Some((0, at("2026-03-20T13:00:00Z"), None)));
    let again = engine.run_once(&ctx.db, &psp.sources(), now() + TimeDelta::minutes(59)).await.unwrap();
    assert_eq!(again, report(0, 0, 0));
    let hourly = engine.run_once(&ctx.db, &psp.sources(), at("2026-03-20T13:00:00Z")).await.unwrap();
    assert_eq!(hourly, report(5, 0, 0));

    let status = sync::status(&Store::open(&ctx.db).unwrap(), at("2026-03-20T13:00:00Z")).unwrap();
    assert_eq!((status.queue_size, status.due_now, status.errors_last_hour), (5, 0, 0));
    assert_eq!((status.polls_total, status.changes_total, status.errors_total), (11, 1, 0));
    assert_eq!(status.last_success_at, Some(at("2026-03-20T13:00:00Z")));
    assert!(!status.paused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_back_off_exactly_and_unknown_statuses_are_named() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 4);
    let psp = FakePsp::with(
        Answer::Status(PaymentStatus::Pending, "PENDING"),
        &[
            ("D-001", &[Answer::ServerError, Answer::ServerError, Answer::Status(PaymentStatus::Paid, "PAID")]),
            ("D-003", &[Answer::UnknownStatus("ON_HOLD")]),
        ],
    );
    let engine = SyncEngine::new(operator(&ctx, "fabio"), config());
    // The engine draws jitter from the same seeded generator, one draw per
    // failure, in the order the failures happen.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (j1, j2) = (jitter_permille(&mut rng), jitter_permille(&mut rng));

    let first = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(first, SyncReport { queued_new: 4, ..report(4, 0, 2) });
    let retry1 = after(now(), backoff_delay(1, j1));
    assert_eq!(queue_row(&ctx.db, "D-001"), Some((1, retry1, Some("dlocal.http_5xx".into()))));
    assert!(retry1 >= now() + TimeDelta::seconds(24) && retry1 <= now() + TimeDelta::seconds(36), "{retry1}");
    // Not retryable: straight to the cap.
    let unknown_retry = after(now(), permanent_failure_delay(j2));
    assert_eq!(queue_row(&ctx.db, "D-003"), Some((1, unknown_retry, Some("dlocal.unknown_status".into()))));
    let status = sync::status(&Store::open(&ctx.db).unwrap(), now()).unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("dlocal.unknown_status"));
    assert!(status.last_error_message.as_deref().unwrap().contains("\"ON_HOLD\""), "{status:?}");
    assert_eq!(status.errors_last_hour, 2);

    let second = engine.run_once(&ctx.db, &psp.sources(), retry1).await.unwrap();
    assert_eq!(second, report(1, 0, 1));
    let j3 = jitter_permille(&mut rng);
    let retry2 = after(retry1, backoff_delay(2, j3));
    assert_eq!(queue_row(&ctx.db, "D-001"), Some((2, retry2, Some("dlocal.http_5xx".into()))));
    assert!(retry2 >= retry1 + TimeDelta::seconds(48) && retry2 <= retry1 + TimeDelta::seconds(72), "{retry2}");

    let third = engine.run_once(&ctx.db, &psp.sources(), retry2).await.unwrap();
    assert_eq!(third, SyncReport { reconciled: true, ..report(1, 1, 0) });
    assert_eq!(payment_status(&ctx.db, "D-001"), "paid");
    assert_eq!(queue_row(&ctx.db, "D-001"), None);
    assert_eq!(psp.requested(), ["D-001", "D-002", "D-003", "D-004", "D-001", "D-001"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_psp_times_out_and_is_retried() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 2);
    let psp = FakePsp::with(Answer::Status(PaymentStatus::Pending, "PENDING"), &[("D-001", &[Answer::Silent])]);
    let engine =
        SyncEngine::new(operator(&ctx, "fabio"), SyncConfig { fetch_timeout: Duration::from_millis(200), ..config() });
    let started = Instant::now();
    let round = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(round, SyncReport { queued_new: 2, ..report(2, 0, 1) });
    assert!(started.elapsed() < Duration::from_secs(10), "the time-out fired: {:?}", started.elapsed());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let retry = after(now(), backoff_delay(1, jitter_permille(&mut rng)));
    assert_eq!(queue_row(&ctx.db, "D-001"), Some((1, retry, Some("sync.timeout".into()))));
    assert_eq!(psp.answered(), ["D-002"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_leaves_the_whole_psp_alone_until_then() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 5);
    let psp = FakePsp::with(
        Answer::Status(PaymentStatus::Pending, "PENDING"),
        &[("D-002", &[Answer::TooManyRequests(Duration::from_secs(120))])],
    );
    let engine = SyncEngine::new(operator(&ctx, "fabio"), config());

    let first = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(first, SyncReport { queued_new: 5, rate_limited: 1, deferred: 3, ..report(2, 0, 0) });
    assert_eq!(psp.requested(), ["D-001", "D-002"]);
    let hold_end = now() + TimeDelta::seconds(120);
    // Not the voucher's fault: no failure counted against it.
    assert_eq!(queue_row(&ctx.db, "D-002"), Some((0, hold_end, Some("dlocal.rate_limited".into()))));
    let status = sync::status(&Store::open(&ctx.db).unwrap(), now()).unwrap();
    assert_eq!(status.holds.len(), 1);
    assert_eq!((status.holds[0].psp.as_str(), status.holds[0].until), ("dlocal", hold_end));

    let during = engine.run_once(&ctx.db, &psp.sources(), now() + TimeDelta::seconds(60)).await.unwrap();
    assert_eq!(during, SyncReport { deferred: 3, ..report(0, 0, 0) });
    assert_eq!(psp.requested().len(), 2, "nothing sent during the hold");

    let later = engine.run_once(&ctx.db, &psp.sources(), hold_end).await.unwrap();
    assert_eq!(later, report(4, 0, 0));
    assert_eq!(psp.requested()[2..], ["D-003", "D-004", "D-005", "D-002"], "most overdue first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_requests_per_second_than_the_psp_allows() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 12);
    const RATE: usize = 5;
    let psp = FakePsp::new(Answer::Status(PaymentStatus::Pending, "PENDING")).with_rate(RATE as u32);
    // Several requests in flight at once: only the bucket holds them back.
    let engine = SyncEngine::new(
        operator(&ctx, "fabio"),
        SyncConfig { in_flight_per_psp_max: 4, batch_items_max: 5, ..config() },
    );
    let started = Instant::now();
    let round = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(round, SyncReport { queued_new: 12, ..report(12, 0, 0) });
    let mut times: Vec<Instant> = psp.requests.lock().unwrap().iter().map(|(_, t)| *t).collect();
    times.sort();
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..].iter().take_while(|t| t.duration_since(*start) < Duration::from_secs(1)).count();
        assert!(in_window <= RATE, "{in_window} requests within one second from request {i}");
    }
    // 12 requests evenly spaced at 5 per second: at least 11 gaps of 200 ms.
    assert!(started.elapsed() >= Duration::from_millis(2_200), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_sync_polls_nothing_and_only_managers_pause_it() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 3);
    let psp = FakePsp::new(Answer::Status(PaymentStatus::Pending, "PENDING"));
    let mut store = Store::open(&ctx.db).unwrap();
    for name in ["sam", "fabio"] {
        let refused = sync::pause(&mut store, &operator(&ctx, name)).unwrap_err();
        assert_eq!(refused.code(), "auth.forbidden");
        assert!(refused.to_string().ends_with("may not pause or resume the PSP sync"), "{refused}");
    }
    assert!(sync::pause(&mut store, &operator(&ctx, "ana")).unwrap());
    assert!(!sync::pause(&mut store, &operator(&ctx, "luis")).unwrap(), "already paused: nothing to do");

    let engine = SyncEngine::new(operator(&ctx, "fabio"), config());
    let paused = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(paused, SyncReport { paused: true, ..SyncReport::default() });
    assert!(psp.requested().is_empty());
    let status = sync::status(&store, now()).unwrap();
    assert!(status.paused);
    assert_eq!(status.paused_by.as_deref(), Some("ana"));

    assert!(sync::resume(&mut store, &operator(&ctx, "admin")).unwrap());
    let resumed = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(resumed, SyncReport { queued_new: 3, ..report(3, 0, 0) });
    assert_eq!(
        audit(&ctx.db, "sync."),
        [
            entry("sync.resume", "admin", "sync", "paused", "running"),
            entry("sync.pause", "ana", "sync", "running", "paused")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_round_is_finished_by_a_new_engine_without_repeats_or_losses() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 6);
    let paid = Answer::Status(PaymentStatus::Paid, "PAID");
    let first_psp = FakePsp::with(paid.clone(), &[("D-004", &[Answer::Hang])]);
    // Small batches: the interruption falls in the second one.
    let small = SyncConfig { batch_items_max: 2, ..config() };
    {
        let engine = SyncEngine::new(operator(&ctx, "fabio"), small.clone());
        let sources = first_psp.sources();
        tokio::select! {
            round = engine.run_once(&ctx.db, &sources, now()) => panic!("the round should hang on D-004: {round:?}"),
            _ = first_psp.hung.notified() => {}
        }
        // The round (and its engine) is dropped here: as good as a crash.
    }
    assert_eq!(first_psp.answered(), ["D-001", "D-002", "D-003"]);
    for id in ["D-001", "D-002", "D-003"] {
        assert_eq!(payment_status(&ctx.db, id), "paid", "{id} was written before the stop");
    }
    assert_eq!(payment_status(&ctx.db, "D-004"), "pending");

    let second_psp = FakePsp::new(paid);
    let engine = SyncEngine::new(operator(&ctx, "fabio"), small);
    let round = engine.run_once(&ctx.db, &second_psp.sources(), now()).await.unwrap();
    assert_eq!(round, SyncReport { reconciled: true, ..report(3, 3, 0) });
    assert_eq!(second_psp.requested(), ["D-004", "D-005", "D-006"]);
    for i in 1..=6 {
        let id = format!("D-{i:03}");
        let api_rows = history(&ctx.db, &id).into_iter().filter(|(_, source, _)| source == "api").count();
        assert_eq!(api_rows, 1, "{id}: one api observation");
        assert_eq!(payment_status(&ctx.db, &id), "paid");
    }
    // The first round never reconciled; the second caught up for all six.
    for i in 1..=6 {
        ctx.exception("paid_not_recorded", &format!("S-{i:03}"));
    }
    let queued: i64 = read_only(&ctx.db).query_row("SELECT count(*) FROM sync_queue", [], |r| r.get(0)).unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_from_psp_on_a_case_file() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 3);
    let psp = FakePsp::with(
        Answer::Status(PaymentStatus::Pending, "PENDING"),
        &[("D-001", &[Answer::Status(PaymentStatus::Paid, "PAID")])],
    );
    // Support may refresh (it records the PSP's word) but not reconcile.
    let support = SyncEngine::new(operator(&ctx, "sam"), config());
    let refreshed = support.refresh_one(&ctx.db, &psp.sources(), "dlocal", "D-001", now()).await.unwrap();
    assert_eq!((refreshed.before, refreshed.after), (PaymentStatus::Pending, PaymentStatus::Paid));
    assert_eq!((refreshed.psp_status.as_str(), refreshed.recorded, refreshed.reconciled), ("PAID", true, false));
    assert_eq!(payment_status(&ctx.db, "D-001"), "paid");
    assert!(ctx.exceptions_all().is_empty(), "support cannot reconcile");
    assert_eq!(audit(&ctx.db, "sync."), [entry("sync.refresh", "sam", "payment dlocal:D-001", "pending", "paid")]);

    let missing = support.refresh_one(&ctx.db, &psp.sources(), "dlocal", "D-404", now()).await.unwrap_err();
    assert_eq!(missing.to_string(), "no payment \"D-404\" from dlocal in the ledger");
    let no_account = support.refresh_one(&ctx.db, &psp.sources(), "pagoefectivo", "1", now()).await.unwrap_err();
    assert_eq!(no_account.code(), "sync.no_account");
    let refused = support.run_once(&ctx.db, &psp.sources(), now()).await.unwrap_err();
    assert_eq!(refused.to_string(), "sam (support) may not import files");

    // The next round owes the reconciliation the refresh could not run.
    let engine = SyncEngine::new(operator(&ctx, "fabio"), config());
    let round = engine.run_once(&ctx.db, &psp.sources(), now()).await.unwrap();
    assert_eq!(round, SyncReport { queued_new: 2, reconciled: true, ..report(2, 0, 0) });
    ctx.exception("paid_not_recorded", "S-001");
}

#[test]
fn the_cli_reports_pauses_and_says_accounts_are_missing() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 2);
    let status = ctx.json(["sync", "--status", "--json"]);
    assert_eq!((status["paused"].as_bool(), status["queue_size"].as_i64()), (Some(false), Some(0)));
    let out = ctx.fails_with(2, ["sync", "--once"]);
    assert!(
        support::stderr(&out).contains("no PSP account configured (voucherdesk credentials add …)"),
        "{}",
        support::stderr(&out)
    );
    let out = ctx.fails_with(2, ["--operator", "sam", "sync", "--pause"]);
    assert!(support::stderr(&out).contains("sam (support) may not pause or resume the PSP sync"));
    assert_eq!(support::stdout(&ctx.ok(["--operator", "ana", "sync", "--pause"])), "sync paused\n");
    assert_eq!(support::stdout(&ctx.ok(["--operator", "ana", "sync", "--pause"])), "sync was already paused\n");
    assert_eq!(ctx.json(["sync", "--status", "--json"])["paused_by"], "ana");
    assert_eq!(support::stdout(&ctx.ok(["sync", "--resume"])), "sync running\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_ticks_until_stopped() {
    let ctx = Ctx::new();
    ledger_with_pending(&ctx, 2);
    let psp = FakePsp::new(Answer::Status(PaymentStatus::Pending, "PENDING"));
    let engine = SyncEngine::new(operator(&ctx, "fabio"), SyncConfig { tick: Duration::from_millis(50), ..config() });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut polled = Vec::new();
    engine
        .run(&ctx.db, &psp.sources(), stopped, |round| {
            polled.push(round.expect("round").polled);
            if polled.len() == 3 {
                stop.send(true).unwrap();
            }
        })
        .await
        .unwrap();
    // Everything was due once; the next polls are hours away.
    assert_eq!(polled, [2, 0, 0]);
    let status = sync::status(&Store::open(&ctx.db).unwrap(), Utc::now()).unwrap();
    assert!(status.last_round_at.is_some() && status.last_success_at.is_some());
    assert_eq!((status.queue_size, status.due_now), (2, 0));
}
