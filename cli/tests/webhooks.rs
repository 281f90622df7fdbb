//! Inbound PSP notifications: the one observation entry point, `listen` over
//! real HTTP on loopback, and `verify-notifications` through the CLI binary.

use crate::support;

use assert_cmd::Command;
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::path::{Path, PathBuf};
use support::fixture;
use voucherdesk::exceptions::{ExceptionKind, ExceptionStatus};
use voucherdesk::import::profile;
use voucherdesk::import::{ImportRequest, import_file};
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::observations::{self, ObservationOutcome, ObservationSource, Observed, StatusReport};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::payments::{PaymentObservation, PaymentStatus, VoucherNetwork};
use voucherdesk::psp::{dlocal, pagoefectivo};
use voucherdesk::reconcile::{ReconcileOptions, reconcile};
use voucherdesk::store::{ExceptionFilter, Store};
use voucherdesk::webhooks::server::{ListenConfig, RunningListener};
use voucherdesk::webhooks::{NotificationSecrets, Psp, Secret};

const DL_SECRET: &str = "test-dlocal-secret";
const DL_LOGIN: &str = "test-login";
const PE_SECRET: &str = "test-pe-secret";

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn observation(payment_id: &str, status: PaymentStatus) -> Observed {
    Observed::Payment(PaymentObservation {
        psp: "dlocal".into(),
        payment_id: payment_id.into(),
        order_id: "S-001".into(),
        country: Country::Colombia,
        network: VoucherNetwork::Efecty,
        currency: Currency::Cop,
        amount_minor: 15_000_000,
        status,
        psp_status: status.as_str().to_ascii_uppercase(),
        status_code: String::new(),
        created_at: Some(at(1, 14)),
        paid_at: (status == PaymentStatus::Paid).then(|| at(2, 15)),
        expires_at: Some(at(4, 14)),
        voucher_code: "4000001001".into(),
        status_at: None,
    })
}

fn payment_status(store: &Store, order_id: &str, payment_id: &str) -> Option<(String, usize)> {
    let payments = store.payments_of_order(order_id).unwrap();
    payments.into_iter().find(|p| p.payment_id == payment_id).map(|p| (p.status, p.history.len()))
}

fn audit_count(store: &Store, action: &str) -> usize {
    voucherdesk::audit::page(
        store,
        &voucherdesk::audit::AuditQuery { action: Some(action.into()), limit: 500, ..Default::default() },
    )
    .unwrap()
    .len()
}

// ------------------------------------------------------------- the store function

#[test]
fn an_observation_is_new_then_duplicate_then_advanced_never_backwards() {
    let mut store = Store::open_in_memory().unwrap();
    let apply = |store: &mut Store, o: &Observed, raw: &str| {
        observations::apply(store, o, ObservationSource::Notification, raw, "notification:dlocal").unwrap().outcome
    };
    let pending = observation("D-1", PaymentStatus::Pending);
    let paid = observation("D-1", PaymentStatus::Paid);
    assert_eq!(apply(&mut store, &pending, "{\"status\":\"PENDING\"}"), ObservationOutcome::New);
    assert_eq!(apply(&mut store, &pending, "{\"status\":\"PENDING\"}"), ObservationOutcome::Duplicate);
    assert_eq!(payment_status(&store, "S-001", "D-1"), Some(("pending".into(), 1)));
    let applied = observations::apply(&mut store, &paid, ObservationSource::Notification, "{}", "n").unwrap();
    assert_eq!(applied.outcome, ObservationOutcome::Advanced);
    assert_eq!((applied.before, applied.after), (Some(PaymentStatus::Pending), Some(PaymentStatus::Paid)));
    assert_eq!(applied.order_id, "S-001");
    // The older status again: already in the history, nothing to do.
    assert_eq!(apply(&mut store, &pending, "{}"), ObservationOutcome::Duplicate);
    // The same status from another source is kept in the history only.
    let outcome = observations::apply(&mut store, &paid, ObservationSource::Api, "{}", "sync").unwrap().outcome;
    assert_eq!(outcome, ObservationOutcome::HistoryOnly);
    assert_eq!(payment_status(&store, "S-001", "D-1"), Some(("paid".into(), 3)));
    // One audit entry per change, none for the duplicates.
    assert_eq!(audit_count(&store, "payment.observe"), 3);
    // A status for a payment nobody knows writes nothing.
    let unknown = Observed::Status(StatusReport {
        psp: "dlocal".into(),
        payment_id: "D-404".into(),
        status: PaymentStatus::Paid,
        psp_status: "PAID".into(),
        status_code: "200".into(),
        status_at: None,
    });
    assert_eq!(apply(&mut store, &unknown, "{}"), ObservationOutcome::UnknownPayment);
    assert_eq!(store.payment_count().unwrap(), 1);
    assert_eq!(audit_count(&store, "payment.observe"), 3);
}

#[test]
fn paid_then_pending_ends_where_pending_then_paid_does() {
    let run = |first: PaymentStatus, second: PaymentStatus| {
        let mut store = Store::open_in_memory().unwrap();
        let a = observations::apply(&mut store, &observation("D-7", first), ObservationSource::Notification, "{}", "n");
        let b =
            observations::apply(&mut store, &observation("D-7", second), ObservationSource::Notification, "{}", "n");
        let outcomes = (a.unwrap().outcome, b.unwrap().outcome);
        (outcomes, payment_status(&store, "S-001", "D-7").unwrap(), audit_count(&store, "payment.observe"))
    };
    let forward = run(PaymentStatus::Pending, PaymentStatus::Paid);
    let backward = run(PaymentStatus::Paid, PaymentStatus::Pending);
    assert_eq!(forward.0, (ObservationOutcome::New, ObservationOutcome::Advanced));
    assert_eq!(backward.0, (ObservationOutcome::New, ObservationOutcome::HistoryOnly));
    assert_eq!(forward.1, ("paid".to_string(), 2));
    assert_eq!(backward.1, forward.1);
    assert_eq!((forward.2, backward.2), (2, 2));
}

#[test]
fn a_status_report_moves_a_known_payment_and_records_its_source() {
    let mut store = Store::open_in_memory().unwrap();
    observations::apply(&mut store, &observation("D-8", PaymentStatus::Pending), ObservationSource::Api, "{}", "s")
        .unwrap();
    let expired = Observed::Status(StatusReport {
        psp: "dlocal".into(),
        payment_id: "D-8".into(),
        status: PaymentStatus::Expired,
        psp_status: "EXPIRED".into(),
        status_code: "308".into(),
        status_at: Some(at(4, 14)),
    });
    let applied = observations::apply(&mut store, &expired, ObservationSource::Api, "{\"x\":1}", "sync").unwrap();
    assert_eq!(applied.outcome, ObservationOutcome::Advanced);
    let payments = store.payments_of_order("S-001").unwrap();
    assert_eq!(payments[0].status, "expired");
    assert_eq!(payments[0].psp_status, "EXPIRED");
    let sources: Vec<_> = payments[0].history.iter().map(|h| h.source.as_str()).collect();
    assert_eq!(sources, ["api", "api"]);
    let err =
        observations::apply(&mut store, &observation("", PaymentStatus::Paid), ObservationSource::Api, "{}", "sync")
            .unwrap_err();
    assert_eq!(err.code(), "observations.invalid");
}

// ------------------------------------------------------------------- listen over HTTP

struct Ledger {
    _dir: tempfile::TempDir,
    path: PathBuf,
    admin: Operator,
}

/// A database with the shop's six orders (S-001…S-006) and an admin.
fn ledger() -> Ledger {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vd.sqlite");
    let mut store = Store::open(&path).unwrap();
    let admin = operators::add(&mut store, None, "admin", Role::Admin, None).unwrap();
    let shop = profile::built_in("shop").unwrap();
    let request =
        ImportRequest { kind: shop.kind, profile: &shop, path: &fixture("profiles/shop.csv"), operator: &admin };
    import_file(&mut store, &request).unwrap();
    Ledger { _dir: dir, path, admin }
}

fn secrets() -> NotificationSecrets {
    let mut s = NotificationSecrets::default();
    s.set(Psp::Dlocal, Secret::new(DL_SECRET), Some(DL_LOGIN));
    s.set(Psp::PagoEfectivo, Secret::new(PE_SECRET), None);
    s
}

async fn listen(path: &Path) -> RunningListener {
    let config = ListenConfig { secrets: secrets(), stale_after_s: 300, reconcile_as: None, on_event: None };
    RunningListener::start("127.0.0.1:0".parse().unwrap(), Store::open(path).unwrap(), config).await.unwrap()
}

fn dl_body(payment_id: &str, order_id: &str, status: &str) -> String {
    let approved = if status == "PAID" { "\"2026-03-02T15:00:00.000+0000\"" } else { "null" };
    format!(
        r#"{{"id":"{payment_id}","amount":150000,"currency":"COP","payment_method_id":"EY","country":"CO","created_date":"2026-03-01T14:15:00.000+0000","approved_date":{approved},"status":"{status}","status_code":200,"order_id":"{order_id}","ticket":{{"number":"4000001001"}}}}"#
    )
}

fn x_date(offset_s: i64) -> String {
    (Utc::now() + Duration::seconds(offset_s)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

struct Sent {
    status: u16,
    verdict: String,
}

async fn post(url: &str, headers: &[(&str, String)], body: &str) -> Sent {
    let client = voucherdesk::psp::http::client(std::time::Duration::from_secs(10)).unwrap();
    let mut request = client.post(url).body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let verdict =
        serde_json::from_str::<serde_json::Value>(&text).map(|v| v["verdict"].as_str().unwrap_or("").to_string());
    Sent { status, verdict: verdict.unwrap_or_default() }
}

fn dl_headers(secret: &str, login: &str, date: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("X-Date", date.to_string()),
        ("X-Login", login.to_string()),
        ("Authorization", dlocal::signature::authorization(secret, login, date, body.as_bytes())),
    ]
}

async fn post_dl(server: &RunningListener, date: &str, body: &str) -> Sent {
    post(&server.url(Psp::Dlocal), &dl_headers(DL_SECRET, DL_LOGIN, date, body), body).await
}

fn verdicts(path: &Path) -> std::collections::BTreeMap<String, usize> {
    let store = Store::open(path).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for n in store.notifications(None, 1000).unwrap() {
        *counts.entry(n.verdict).or_default() += 1;
    }
    counts
}

fn counted(pairs: &[(&str, usize)]) -> std::collections::BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn forged_exceptions(path: &Path) -> Vec<(String, ExceptionStatus)> {
    let store = Store::open(path).unwrap();
    let filter = ExceptionFilter {
        kind: Some(ExceptionKind::ForgedNotification.as_str().into()),
        limit: 100,
        ..ExceptionFilter::default()
    };
    store.exceptions(&filter).unwrap().into_iter().map(|e| (e.order_id, e.status)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_applies_genuine_notifications_once_and_in_any_order() {
    let l = ledger();
    let server = listen(&l.path).await;
    let pending = dl_body("D-1001", "S-001", "PENDING");
    let date = x_date(0);
    let first = post_dl(&server, &date, &pending).await;
    assert_eq!((first.status, first.verdict.as_str()), (200, "applied"));
    // The PSP re-sends the very same request: nothing changes.
    let again = post_dl(&server, &date, &pending).await;
    assert_eq!((again.status, again.verdict.as_str()), (200, "applied"));
    // Re-signed with a new date: a new request, but the same observation.
    let resigned = post_dl(&server, &x_date(1), &pending).await;
    assert_eq!((resigned.status, resigned.verdict.as_str()), (200, "duplicate"));
    let paid = post_dl(&server, &x_date(2), &dl_body("D-1001", "S-001", "PAID")).await;
    assert_eq!((paid.status, paid.verdict.as_str()), (200, "applied"));
    {
        let store = Store::open(&l.path).unwrap();
        assert_eq!(payment_status(&store, "S-001", "D-1001"), Some(("paid".into(), 2)));
    }

    // Out of order: PAID arrives before PENDING; the payment stays paid.
    let paid_first = post_dl(&server, &x_date(0), &dl_body("D-1002", "S-002", "PAID")).await;
    assert_eq!(paid_first.status, 200);
    let late = post_dl(&server, &x_date(0), &dl_body("D-1002", "S-002", "PENDING")).await;
    assert_eq!((late.status, late.verdict.as_str()), (200, "applied"));
    {
        let store = Store::open(&l.path).unwrap();
        assert_eq!(payment_status(&store, "S-002", "D-1002"), Some(("paid".into(), 2)));
        let sources: Vec<_> =
            store.payments_of_order("S-002").unwrap()[0].history.iter().map(|h| h.source.clone()).collect();
        assert_eq!(sources, ["notification", "notification"]);
    }

    // PagoEfectivo: a paid CIP the ledger has not seen is created from the callback.
    let callback = r#"{"eventType":"cip.paid","operationNumber":"OP90001003","data":{"cip":"90001003","currency":"PEN","amount":1234.50,"paymentDate":"2026-03-03T18:45:10-05:00","transactionCode":"S-003"}}"#;
    let signature = pagoefectivo::signature::callback_signature(PE_SECRET, callback.as_bytes());
    let pe = post(&server.url(Psp::PagoEfectivo), &[("pe-signature", signature)], callback).await;
    assert_eq!((pe.status, pe.verdict.as_str()), (200, "applied"));
    // An expiry for a CIP nobody knows, too terse to create it: filed, unmatched.
    let terse = r#"{"eventType":"cip.expired","data":{"cip":"99999999"}}"#;
    let signature = pagoefectivo::signature::callback_signature(PE_SECRET, terse.as_bytes());
    let unmatched = post(&server.url(Psp::PagoEfectivo), &[("PE-Signature", signature)], terse).await;
    assert_eq!((unmatched.status, unmatched.verdict.as_str()), (200, "unmatched"));
    drop(server);

    let store = Store::open(&l.path).unwrap();
    let payments = store.payments_of_order("S-003").unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(
        (payments[0].payment_id.as_str(), payments[0].status.as_str(), payments[0].amount_minor),
        ("90001003", "paid", 123_450)
    );
    assert_eq!(payments[0].paid_at.unwrap().to_rfc3339(), "2026-03-03T23:45:10+00:00");
    assert_eq!(verdicts(&l.path), counted(&[("applied", 5), ("duplicate", 1), ("unmatched", 1)]));
    assert_eq!(audit_count(&store, "payment.observe"), 5);
    assert_eq!(forged_exceptions(&l.path), []);
    // Each voucher that became paid told its buyer once, by email and SMS; the re-sent,
    // re-signed and late notifications told nobody again.
    let told: Vec<(String, String, String)> = store
        .buyer_notifications(&voucherdesk::store::NotificationFilter { limit: 100, ..Default::default() })
        .unwrap()
        .into_iter()
        .map(|n| (n.order_id, n.kind, n.channel))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let expected: Vec<(String, String, String)> = ["S-001", "S-002", "S-003"]
        .iter()
        .flat_map(|o| ["email", "sms"].map(|c| (o.to_string(), "payment_received".to_string(), c.to_string())))
        .collect();
    assert_eq!(told, expected);
    assert_eq!(
        store
            .buyer_notifications(&voucherdesk::store::NotificationFilter { limit: 100, ..Default::default() })
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_refuses_forged_unsigned_stale_oversized_and_malformed() {
    let l = ledger();
    let server = listen(&l.path).await;
    let url = server.url(Psp::Dlocal);
    let pending = dl_body("D-1005", "S-005", "PENDING");
    assert_eq!(post_dl(&server, &x_date(0), &pending).await.status, 200);

    // A forged PAID (signed with a guessed secret) must never make the order paid.
    let forged_paid = dl_body("D-1005", "S-005", "PAID");
    let date = x_date(0);
    let forged = post(&url, &dl_headers("guessed", DL_LOGIN, &date, &forged_paid), &forged_paid).await;
    assert_eq!((forged.status, forged.verdict.as_str()), (401, "forged"));
    // Correctly signed, but for another merchant's login.
    let other = post(&url, &dl_headers(DL_SECRET, "someone-else", &date, &forged_paid), &forged_paid).await;
    assert_eq!((other.status, other.verdict.as_str()), (401, "forged"));
    // No signature at all.
    let unsigned_body = dl_body("D-1006", "S-006", "PAID");
    let unsigned = post(&url, &[("X-Date", x_date(0)), ("X-Login", DL_LOGIN.into())], &unsigned_body).await;
    assert_eq!((unsigned.status, unsigned.verdict.as_str()), (401, "unsigned"));
    // Genuine, but replayed ten minutes late, or dated in the future.
    let stale = post_dl(&server, &x_date(-600), &dl_body("D-1004", "S-004", "PAID")).await;
    assert_eq!((stale.status, stale.verdict.as_str()), (401, "stale"));
    let future = post_dl(&server, &x_date(600), &dl_body("D-1004", "S-004", "PAID")).await;
    assert_eq!((future.status, future.verdict.as_str()), (401, "stale"));
    // Genuine but not a payment.
    let malformed = post_dl(&server, &x_date(0), "{\"id\":\"D-1\",\"status\":").await;
    assert_eq!((malformed.status, malformed.verdict.as_str()), (400, "malformed"));
    let unknown_status = post_dl(&server, &x_date(0), &dl_body("D-1005", "S-005", "SETTLED")).await;
    assert_eq!((unknown_status.status, unknown_status.verdict.as_str()), (400, "malformed"));
    // Larger than NOTIFICATION_BODY_MAX_BYTES: refused before it is read, not filed.
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(voucherdesk::webhooks::NOTIFICATION_BODY_MAX_BYTES));
    let oversized = post_dl(&server, &x_date(0), &huge).await;
    assert_eq!(oversized.status, 413);
    // A forged PagoEfectivo callback.
    let callback = r#"{"eventType":"cip.paid","data":{"cip":"90001004","currency":"PEN","amount":"89.90","transactionCode":"S-004"}}"#;
    let pe_forged = post(&server.url(Psp::PagoEfectivo), &[("PE-Signature", "ab".repeat(32))], callback).await;
    assert_eq!((pe_forged.status, pe_forged.verdict.as_str()), (401, "forged"));
    drop(server);

    let store = Store::open(&l.path).unwrap();
    assert_eq!(
        payment_status(&store, "S-005", "D-1005"),
        Some(("pending".into(), 1)),
        "the forged PAID changed nothing"
    );
    assert_eq!(payment_status(&store, "S-006", "D-1006"), None);
    assert_eq!(store.payment_count().unwrap(), 1);
    assert_eq!(
        verdicts(&l.path),
        counted(&[("applied", 1), ("forged", 3), ("unsigned", 1), ("stale", 2), ("malformed", 2)])
    );
    // One exception per order named by a forged or unsigned notification.
    let mut raised = forged_exceptions(&l.path);
    raised.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        raised,
        [
            ("S-004".to_string(), ExceptionStatus::Open),
            ("S-005".to_string(), ExceptionStatus::Open),
            ("S-006".to_string(), ExceptionStatus::Open)
        ]
    );
    let s005 = store
        .exception(&ExceptionKind::ForgedNotification.exception_id(&["S-005"]))
        .unwrap()
        .expect("S-005's exception");
    assert!(s005.detail.contains("claims PAID for order S-005"), "{}", s005.detail);
    assert_eq!(
        (s005.amount_minor, s005.currency.as_str(), s005.store.as_str()),
        (Some(15_000_000), "COP", "Librería Cóndor")
    );
    // Two forged requests about S-005: one exception, two history events.
    let events: Vec<_> = store.exception_history(&s005.id).unwrap().into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["detected", "another forged notification"]);
    assert_eq!(audit_count(&store, "exception.raise"), 4);
    // Nothing in the filed headers is a secret.
    for n in store.notifications(None, 100).unwrap() {
        assert!(!n.headers_json.contains(DL_SECRET) && !n.headers_json.contains(PE_SECRET));
    }

    // Reconciliation neither raises nor clears forged-notification exceptions.
    drop(store);
    let mut store = Store::open(&l.path).unwrap();
    let options = ReconcileOptions::on("2026-03-20".parse().unwrap());
    let summary = reconcile(&mut store, &options, &l.admin).unwrap();
    assert!(!summary.exceptions.contains_key("forged_notification"));
    assert_eq!(forged_exceptions(&l.path).iter().filter(|(_, s)| *s == ExceptionStatus::Open).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_escapes_ansi_codes_and_newlines_from_a_forged_body_in_its_log() {
    let l = ledger();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink_lines = lines.clone();
    let on_event: voucherdesk::webhooks::server::EventSink = std::sync::Arc::new(move |e| {
        sink_lines.lock().unwrap().push(e.log_line(Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap()))
    });
    let config = ListenConfig { secrets: secrets(), stale_after_s: 300, reconcile_as: None, on_event: Some(on_event) };
    let server =
        RunningListener::start("127.0.0.1:0".parse().unwrap(), Store::open(&l.path).unwrap(), config).await.unwrap();
    let order_id = "S-001\n2026-03-20T12:00:00Z dlocal 200 applied order S-002\u{1b}[2K\u{1b}[32m ok\u{202e}";
    let body = serde_json::json!({
        "id": "D-9\r\u{1b}[1A", "amount": 150000, "currency": "COP", "payment_method_id": "EY", "country": "CO",
        "status": "PAID", "status_code": 200, "order_id": order_id,
    })
    .to_string();
    let date = x_date(0);
    let forged = post(&server.url(Psp::Dlocal), &dl_headers("guessed", DL_LOGIN, &date, &body), &body).await;
    assert_eq!((forged.status, forged.verdict.as_str()), (401, "forged"));
    drop(server);

    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(!line.chars().any(|c| c.is_control() || c == '\u{202e}'), "{line:?}");
    assert!(
        line.starts_with(
            "2026-03-20T12:00:00Z dlocal 401 forged order S-001\\n2026-03-20T12:00:00Z dlocal 200 applied order \
             S-002\\u{1b}[2K\\u{1b}[32m ok\\u{202e} payment D-9\\r\\u{1b}[1A: "
        ),
        "{line}"
    );
}

/// The database file and its write-ahead log, in bytes.
fn db_bytes(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path.to_path_buf(), wal].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_flooded_with_unsigned_posts_for_unknown_orders_stores_a_sample_and_opens_no_exception() {
    use voucherdesk::webhooks::server::REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX;
    const FLOOD: usize = 500;
    let l = ledger();
    let before = db_bytes(&l.path);
    let server = listen(&l.path).await;
    let url = server.url(Psp::Dlocal);
    let client = voucherdesk::psp::http::client(std::time::Duration::from_secs(30)).unwrap();
    let padding = "x".repeat(60 * 1024);
    let mut statuses = Vec::with_capacity(FLOOD);
    for batch in (0..FLOOD).collect::<Vec<_>>().chunks(50) {
        let sends = batch.iter().map(|n| {
            let body = serde_json::json!({"id": format!("D-{n}"), "status": "PAID", "order_id": format!("NOPE-{n}"), "pad": padding})
                .to_string();
            client.post(&url).header("X-Date", x_date(0)).body(body).send()
        });
        for sent in futures_join_all(sends).await {
            statuses.push(sent.unwrap().status().as_u16());
        }
    }
    assert_eq!(statuses.len(), FLOOD);
    assert!(statuses.iter().all(|s| *s == 401), "every one refused as unsigned");
    let not_stored = server.counters.refused_not_stored.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(not_stored, (FLOOD - REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX as usize) as u64);
    drop(server);

    assert_eq!(verdicts(&l.path), counted(&[("unsigned", REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX as usize)]));
    assert_eq!(forged_exceptions(&l.path), [], "no exception for orders the ledger does not have");
    let store = Store::open(&l.path).unwrap();
    assert_eq!(audit_count(&store, "exception.raise"), 0);
    drop(store);
    // 20 stored bodies of 60 KiB; the flood itself was 30 MB.
    let grown = db_bytes(&l.path).saturating_sub(before);
    assert!(grown < 4 * 1024 * 1024, "the database grew by {grown} bytes");
}

/// Awaits every future, in order (a tiny join_all: the tests need no futures crate).
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_answers_a_genuine_notification_within_2_s_while_300_clients_hold_idle_or_slow_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use voucherdesk::webhooks::server::HEADER_READ_TIMEOUT_MS;
    let l = ledger();
    let server = listen(&l.path).await;
    let mut held = Vec::new();
    for n in 0..300 {
        let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        match n % 3 {
            // Connected, silent.
            0 => {}
            // Half a request head.
            1 => conn.write_all(b"POST /notifications/dlocal/refunds HTTP/1.1\r\nHost: x\r\n").await.unwrap(),
            // A whole head, then a body that never comes.
            _ => conn
                .write_all(b"POST /notifications/dlocal/payouts HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n{")
                .await
                .unwrap(),
        }
        held.push(conn);
    }
    let started = std::time::Instant::now();
    let genuine = post_dl(&server, &x_date(0), &dl_body("D-1001", "S-001", "PENDING")).await;
    let took = started.elapsed();
    assert_eq!((genuine.status, genuine.verdict.as_str()), (200, "applied"));
    assert!(took < std::time::Duration::from_secs(2), "answered in {took:?}");

    // The silent and half-headed clients are let go after the header-read time-out.
    let wait = std::time::Duration::from_millis(HEADER_READ_TIMEOUT_MS + 3_000);
    for conn in held.iter_mut().take(2) {
        let mut buf = [0_u8; 256];
        let read = tokio::time::timeout(wait, conn.read(&mut buf)).await.expect("closed within the time-out");
        assert!(
            matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
            "{read:?}"
        );
    }
    drop(held);
    drop(server);
    assert_eq!(verdicts(&l.path), counted(&[("applied", 1)]));
}

// ------------------------------------------------------------- verify-notifications

fn voucherdesk(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("voucherdesk").unwrap();
    cmd.arg("--db").arg(db).env_remove("VOUCHERDESK_OPERATOR").env("VD_TEST_DL_SECRET", DL_SECRET);
    cmd.env("VD_TEST_PE_SECRET", PE_SECRET);
    cmd
}

fn verify(db: &Path, file: &Path, psp: &str, extra: &[&str]) -> std::process::Output {
    let var = if psp == "dlocal" { "VD_TEST_DL_SECRET" } else { "VD_TEST_PE_SECRET" };
    voucherdesk(db)
        .args(["verify-notifications"])
        .arg(file)
        .args(["--psp", psp, "--secret-env", var])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn verify_notifications_passes_a_genuine_log_whatever_the_header_case() {
    let l = ledger();
    let file = fixture("notifications/dlocal_all_good.jsonl");
    let out = verify(&l.path, &file, "dlocal", &["--login", DL_LOGIN]);
    assert_eq!(out.status.code(), Some(0), "{}", support::all_output(&out));
    assert_eq!(
        support::stdout(&out),
        format!("{}: 3 notification(s): 3 verified, 0 forged, 0 malformed\n", file.display())
    );
    assert_eq!(verdicts(&l.path), counted(&[]), "genuine notifications are counted, not filed");
}

#[test]
fn verify_notifications_finds_the_forged_paid_and_is_idempotent() {
    let l = ledger();
    let file = fixture("notifications/dlocal_forged_paid.jsonl");
    let out = verify(&l.path, &file, "dlocal", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", support::all_output(&out));
    let text = support::stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("{}: 5 notification(s): 2 verified, 2 forged, 1 malformed", file.display()));
    let s002 = ExceptionKind::ForgedNotification.exception_id(&["S-002"]);
    let s006 = ExceptionKind::ForgedNotification.exception_id(&["S-006"]);
    assert_eq!(
        lines[1],
        format!(
            "  FORGED line 2: order S-002 claims PAID (X-Date 2026-03-02T15:00:02.000Z): signature does not match → exception {s002}"
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "  FORGED line 4: order S-006 claims PAID (X-Date 2026-03-02T15:00:04.000Z): no Authorization header → exception {s006}"
        )
    );
    assert!(
        lines[3].starts_with("  MALFORMED line 5: dlocal.notification.status: unknown dLocal status \"SETTLED\""),
        "{}",
        lines[3]
    );
    assert_eq!(lines.len(), 4);
    assert!(support::stderr(&out).contains("2 forged notification(s)"), "{}", support::stderr(&out));

    let after_first = (forged_exceptions(&l.path), verdicts(&l.path));
    assert_eq!(after_first.1, counted(&[("forged", 1), ("unsigned", 1), ("malformed", 1)]));
    assert_eq!(
        after_first.0,
        if s002 < s006 {
            vec![("S-002".to_string(), ExceptionStatus::Open), ("S-006".to_string(), ExceptionStatus::Open)]
        } else {
            vec![("S-006".to_string(), ExceptionStatus::Open), ("S-002".to_string(), ExceptionStatus::Open)]
        }
    );
    {
        let store = Store::open(&l.path).unwrap();
        let filed = store.notifications(Some("forged"), 10).unwrap();
        assert_eq!(
            (filed[0].source_line, filed[0].order_id.as_str(), filed[0].channel.as_str()),
            (Some(2), "S-002", "log")
        );
        assert_eq!(store.payment_count().unwrap(), 0, "an audit applies nothing");
        assert_eq!(audit_count(&store, "exception.raise"), 2);
    }

    // A second run: the same report, and nothing new in the database.
    let again = verify(&l.path, &file, "dlocal", &["--json"]);
    assert_eq!(again.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (&report["verified"], &report["forged"], &report["malformed"], &report["already_filed"]),
        (&2.into(), &2.into(), &1.into(), &3.into())
    );
    assert_eq!(report["forged_items"][0]["line"], 2);
    assert_eq!(report["forged_items"][1]["verdict"], "unsigned");
    assert_eq!((forged_exceptions(&l.path), verdicts(&l.path)), after_first);
    let store = Store::open(&l.path).unwrap();
    assert_eq!(store.exception_history(&s002).unwrap().len(), 1);
    assert_eq!(audit_count(&store, "exception.raise"), 2);
}

#[test]
fn verify_notifications_refuses_another_login_only_when_told_ours() {
    let l = ledger();
    let file = fixture("notifications/dlocal_other_login.jsonl");
    let out = verify(&l.path, &file, "dlocal", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", support::all_output(&out));
    let out = verify(&l.path, &file, "dlocal", &["--login", DL_LOGIN]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        support::stdout(&out).contains("FORGED line 1: order S-001 claims PAID (X-Date 2026-03-02T15:00:01.000Z): X-Login \"someone-else\" is not the merchant's login"),
        "{}",
        support::stdout(&out)
    );
}

#[test]
fn verify_notifications_checks_pagoefectivo_callbacks() {
    let l = ledger();
    let file = fixture("notifications/pagoefectivo_mixed.jsonl");
    let out = verify(&l.path, &file, "pagoefectivo", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", support::all_output(&out));
    let s004 = ExceptionKind::ForgedNotification.exception_id(&["S-004"]);
    assert_eq!(
        support::stdout(&out),
        format!(
            "{}: 2 notification(s): 1 verified, 1 forged, 0 malformed\n  FORGED line 2: order S-004 claims cip.paid (X-Date -): signature does not match → exception {s004}\n",
            file.display()
        )
    );
    let store = Store::open(&l.path).unwrap();
    let e = store.exception(&s004).unwrap().unwrap();
    assert_eq!((e.amount_minor, e.currency.as_str(), e.country.as_str()), (Some(8_990), "PEN", "CO"));
}

#[test]
fn verify_notifications_refuses_a_broken_log_whole_and_needs_a_secret() {
    let l = ledger();
    let file = fixture("notifications/dlocal_bad_lines.jsonl");
    let out = verify(&l.path, &file, "dlocal", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", support::all_output(&out));
    let err = support::stderr(&out);
    let shown = file.display().to_string();
    assert!(err.contains(&format!("{shown}: 2 bad lines; nothing was checked")), "{err}");
    assert!(err.contains(&format!("{shown}:2: not a JSON object")), "{err}");
    assert!(err.contains(&format!("{shown}:4: no \"body\"")), "{err}");
    assert_eq!(verdicts(&l.path), counted(&[]));

    let out = voucherdesk(&l.path)
        .args(["verify-notifications"])
        .arg(fixture("notifications/dlocal_all_good.jsonl"))
        .args(["--psp", "dlocal"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::stderr(&out)
            .contains("no dLocal secret: give --account NAME (its secret is in the OS keyring) or --secret-env VAR"),
        "{}",
        support::stderr(&out)
    );
    let out = voucherdesk(&l.path)
        .args(["verify-notifications"])
        .arg(fixture("notifications/dlocal_all_good.jsonl"))
        .args(["--psp", "dlocal", "--secret-env", "VD_TEST_UNSET_VARIABLE"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        support::stderr(&out)
            .contains("no dlocal notification secret: environment variable VD_TEST_UNSET_VARIABLE is not set"),
        "{}",
        support::stderr(&out)
    );
}
