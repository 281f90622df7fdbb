//! Chargebacks after "paid", against the sandbox over real HTTP on loopback:
//! a CHARGEBACK settlement row imported before its payment is applied when
//! the payment first arrives by the API or by a notification, and the sync
//! reads again at dLocal every chargeback the ledger knows that is not final,
//! so a lost notification does not leave its outcome unknown.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use support::Ctx;
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::observations::{self, ObservationSource, Observed};
use voucherdesk::operators::act_as;
use voucherdesk::payments::PaymentStatus;
use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalCredentials};
use voucherdesk::psp::dlocal::wire::DlocalCashMethod;
use voucherdesk::store::Store;
use voucherdesk::sync::sources::DlocalSource;
use voucherdesk::sync::{StatusSource, SyncConfig, SyncEngine, SyncReport};
use voucherdesk::webhooks::server::{ListenConfig, RunningListener};
use voucherdesk::webhooks::{NotificationSecrets, Psp, Secret};
use voucherdesk_sandbox::{DlocalAccount, RunningSandbox, SandboxConfig, Scenario};

/// The sandbox's first payment and the chargeback opened on it.
const PAYMENT_ID: &str = "D-4-sbx-00000001";
const CHARGEBACK_ID: &str = "CHBK-sbx-00000002";
const WAIT_MAX: Duration = Duration::from_secs(10);

async fn sandbox(scenario: &str) -> RunningSandbox {
    let scenario = Scenario::from_toml(scenario).unwrap();
    scenario.check().unwrap();
    RunningSandbox::start(SandboxConfig { scenario, ..SandboxConfig::default() }).await.unwrap()
}

fn client(sandbox: &RunningSandbox) -> DlocalClient {
    let account = DlocalAccount::default();
    let credentials = DlocalCredentials { login: account.login, trans_key: account.trans_key, secret: account.secret };
    DlocalClient::new(&sandbox.base_url(), credentials, Duration::from_secs(5)).unwrap()
}

/// Our notification endpoint, verifying with the sandbox's keys.
async fn listen(ctx: &Ctx) -> RunningListener {
    let account = DlocalAccount::default();
    let mut secrets = NotificationSecrets::default();
    secrets.set(Psp::Dlocal, Secret::new(&account.secret), Some(&account.login));
    let config = ListenConfig { secrets, stale_after_s: 300, reconcile_as: None, on_event: None };
    RunningListener::start("127.0.0.1:0".parse().unwrap(), Store::open(&ctx.db).unwrap(), config).await.unwrap()
}

async fn issue(client: &DlocalClient, order_id: &str, notification_url: Option<String>) -> String {
    let request = CashPaymentRequest {
        order_id: order_id.to_string(),
        amount_minor: 5_000_000,
        currency: Currency::Cop,
        country: Country::Colombia,
        method: DlocalCashMethod::Efecty,
        payer: CashPayer {
            name: "Comprador Uno".into(),
            email: "c1@correo.example".into(),
            document: "1000000001".into(),
        },
        description: None,
        notification_url,
    };
    client.create_cash_payment(&request).await.unwrap().payment_id
}

fn engine(ctx: &Ctx) -> SyncEngine {
    SyncEngine::new(act_as(&Store::open(&ctx.db).unwrap(), "admin").unwrap(), SyncConfig::default())
}

async fn sync(ctx: &Ctx, sandbox: &RunningSandbox) -> SyncReport {
    let sources: Vec<Arc<dyn StatusSource>> = vec![Arc::new(DlocalSource::new(client(sandbox)))];
    engine(ctx).run_once(&ctx.db, &sources, Utc::now()).await.unwrap()
}

fn status_of(ctx: &Ctx) -> Option<String> {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.query_row("SELECT status FROM payments WHERE payment_id = ?1", [PAYMENT_ID], |r| r.get(0)).ok()
}

/// The payment's history in time order: (PSP status, when it happened, source).
fn history(ctx: &Ctx) -> Vec<(String, Option<DateTime<Utc>>, String)> {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT h.psp_status, h.status_at, h.source FROM payment_status_history h JOIN payments p ON p.id = h.payment
             WHERE p.payment_id = ?1 ORDER BY coalesce(h.status_at, h.observed_at), h.id",
        )
        .unwrap();
    stmt.query_map([PAYMENT_ID], |r| {
        Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.and_then(|t| DateTime::from_timestamp(t, 0)), r.get(2)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The ledger keeps whole seconds.
fn secs(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
}

fn history_rows(ctx: &Ctx) -> i64 {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.query_row("SELECT count(*) FROM payment_status_history", [], |r| r.get(0)).unwrap()
}

fn chargeback_exceptions(ctx: &Ctx) -> Vec<serde_json::Value> {
    ctx.exceptions_all().into_iter().filter(|e| e["kind"] == "chargeback").collect()
}

fn reconcile_today(ctx: &Ctx) {
    let today = Utc::now().date_naive().to_string();
    ctx.json(["reconcile", "--as-of", today.as_str(), "--json"]);
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT_MAX;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "waited in vain for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the sandbox's chargeback answers `status` (or fails to be read, for `None`).
async fn wait_for_chargeback(client: &DlocalClient, status: Option<&str>) {
    let deadline = std::time::Instant::now() + WAIT_MAX;
    loop {
        let read = client.chargeback(CHARGEBACK_ID).await;
        let now = match (&read, status) {
            (Ok(r), Some(s)) => r.report.psp_status == format!("CHARGEBACK {s}"),
            (Err(e), None) => e.code() == "dlocal.unknown_status",
            _ => false,
        };
        if now {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the sandbox's chargeback never became {status:?}: {read:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A dLocal settlement report with one CHARGEBACK row for the sandbox's first payment.
fn import_chargeback_row(ctx: &Ctx, created: DateTime<Utc>) {
    let file = ctx.path("dlocal_settlement.tsv");
    let transfer = (created + TimeDelta::days(1)).date_naive();
    let text = format!(
        "TRANSACTION_ID\tDLOCAL_TRANSACTION_ID\tROW_TYPE\tCREATION_DATE\tTRANSFER_DATE\tLOCAL_AMOUNT\tLOCAL_CURRENCY\tFX_RATE\tSETTLEMENT_CURRENCY\tGROSS_AMOUNT\tNET_AMOUNT\tFEE_AMOUNT\n\
         CBR-001\t{PAYMENT_ID}\tCHARGEBACK\t{}\t{transfer}\t-50000\tCOP\t4125.5\tUSD\t-12.12\t-12.12\t0\n",
        created.format("%Y-%m-%dT%H:%M:%S")
    );
    std::fs::write(&file, text).unwrap();
    ctx.import("settlements", "dlocal-settlement", &file);
}

/// An hour from now: the row comes after the payment is paid.
fn row_date() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + 3_600, 0).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_row_imported_before_an_api_created_payment_charges_it_back() {
    let ctx = Ctx::new();
    let created = row_date();
    import_chargeback_row(&ctx, created);
    let sandbox = sandbox("[[dlocal.payments]]\norder_prefix = \"CBR-\"\noutcome = \"paid\"\nafter_ms = 0\n").await;
    let client = client(&sandbox);
    assert_eq!(issue(&client, "CBR-001", None).await, PAYMENT_ID);
    let deadline = std::time::Instant::now() + WAIT_MAX;
    let paid = loop {
        let p = client.payment(PAYMENT_ID).await.unwrap();
        if p.reading.status == PaymentStatus::Paid {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "the sandbox never paid");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The payment first reaches the ledger as dLocal's API answers it (a voucher recovered by its id).
    let mut store = Store::open(&ctx.db).unwrap();
    let applied =
        observations::apply(&mut store, &Observed::Payment(paid.observation()), ObservationSource::Api, "{}", "admin")
            .unwrap();
    drop(store);
    assert_eq!(applied.outcome.as_str(), "new");
    assert_eq!((applied.before, applied.after), (None, Some(PaymentStatus::ChargedBack)));
    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    assert_eq!(
        history(&ctx),
        [
            ("PAID".to_string(), secs(paid.approved_at), "api".to_string()),
            ("CHARGEBACK".to_string(), Some(created), "file".to_string()),
        ]
    );
    // Charged back is final: the sync has nothing to poll, and changes nothing.
    let report = sync(&ctx, &sandbox).await;
    assert_eq!((report.polled, report.changed, report.errors, report.chargebacks_read), (0, 0, 0, 0), "{report:?}");

    reconcile_today(&ctx);
    let found = chargeback_exceptions(&ctx);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["payment_id"], PAYMENT_ID);
    assert_eq!(found[0]["amount_minor"], 5_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_row_imported_before_a_notification_created_payment_charges_it_back() {
    let ctx = Ctx::new();
    let created = row_date();
    import_chargeback_row(&ctx, created);
    let listener = listen(&ctx).await;
    let sandbox = sandbox("[[dlocal.payments]]\norder_prefix = \"CBR-\"\noutcome = \"paid\"\nafter_ms = 100\n").await;
    let client = client(&sandbox);
    // Issued, never recorded from the API answer: the PAID notification brings the payment.
    assert_eq!(issue(&client, "CBR-001", Some(listener.url(Psp::Dlocal))).await, PAYMENT_ID);
    wait_for("the PAID notification", || status_of(&ctx).is_some()).await;

    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    let paid_at = client.payment(PAYMENT_ID).await.unwrap().approved_at;
    assert!(paid_at.is_some());
    assert_eq!(
        history(&ctx),
        [
            ("PAID".to_string(), secs(paid_at), "notification".to_string()),
            ("CHARGEBACK".to_string(), Some(created), "file".to_string()),
        ]
    );
    reconcile_today(&ctx);
    let found = chargeback_exceptions(&ctx);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["payment_id"], PAYMENT_ID);
}

/// Paid 100 ms after issue; a chargeback opened 200 ms later, its first status alone notified.
fn chargeback_scenario(statuses: &str, step_ms: u64) -> String {
    format!(
        "[[dlocal.payments]]\norder_prefix = \"CBF-\"\noutcome = \"paid\"\nafter_ms = 100\n\
         [[dlocal.chargebacks]]\norder_prefix = \"CBF-\"\nafter_ms = 200\nstatuses = {statuses}\nstep_ms = {step_ms}\n\
         notified_statuses = 1\n"
    )
}

/// Issues the voucher, and waits until the PAID and the chargeback's PENDING notifications are in.
async fn paid_then_chargeback_pending(ctx: &Ctx, client: &DlocalClient, listener: &RunningListener) {
    assert_eq!(issue(client, "CBF-001", Some(listener.url(Psp::Dlocal))).await, PAYMENT_ID);
    wait_for("the CHARGEBACK PENDING notification", || {
        history(ctx).iter().any(|(s, _, source)| s == "CHARGEBACK PENDING" && source == "notification")
    })
    .await;
    assert_eq!(status_of(ctx).as_deref(), Some("charged_back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_whose_later_notifications_were_lost_is_read_again_by_the_sync() {
    let ctx = Ctx::new();
    let listener = listen(&ctx).await;
    let sandbox = sandbox(&chargeback_scenario("[\"PENDING\", \"COMPLETED\", \"REVERSAL\"]", 3_000)).await;
    let client = client(&sandbox);
    paid_then_chargeback_pending(&ctx, &client, &listener).await;
    let opened = secs(client.chargeback(CHARGEBACK_ID).await.unwrap().report.status_at);
    assert!(opened.is_some());

    // COMPLETED is never notified: the next sync reads it at dLocal.
    wait_for_chargeback(&client, Some("COMPLETED")).await;
    let report = sync(&ctx, &sandbox).await;
    // Read again at once, with nothing new (REVERSAL is seconds away): nothing written.
    let rows = history_rows(&ctx);
    let again = sync(&ctx, &sandbox).await;
    assert_eq!((again.chargebacks_read, again.chargebacks_changed), (1, 0), "{again:?}");
    assert_eq!(history_rows(&ctx), rows);
    assert_eq!((report.chargebacks_read, report.chargebacks_changed, report.errors), (1, 1, 0), "{report:?}");
    assert!(report.reconciled, "{report:?}");
    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    let lines = history(&ctx);
    let completed: Vec<_> = lines.iter().filter(|(s, _, _)| s == "CHARGEBACK COMPLETED").collect();
    assert_eq!(completed, [&("CHARGEBACK COMPLETED".to_string(), opened, "api".to_string())], "{lines:#?}");
    let found = chargeback_exceptions(&ctx);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["payment_id"], PAYMENT_ID);

    // The merchant won: history only, the payment stays charged back, still one case.
    wait_for_chargeback(&client, Some("REVERSAL")).await;
    let won = sync(&ctx, &sandbox).await;
    assert_eq!((won.chargebacks_read, won.chargebacks_changed, won.errors), (1, 1, 0), "{won:?}");
    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    let reversal: Vec<_> = history(&ctx).into_iter().filter(|(s, _, _)| s == "CHARGEBACK REVERSAL").collect();
    assert_eq!(reversal, [("CHARGEBACK REVERSAL".to_string(), opened, "api".to_string())]);
    reconcile_today(&ctx);
    assert_eq!(chargeback_exceptions(&ctx).len(), 1);

    // REVERSAL is final: no more reading.
    let after = sync(&ctx, &sandbox).await;
    assert_eq!((after.chargebacks_read, after.errors), (0, 0), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_chargeback_status_from_the_api_is_an_error_naming_it_and_writes_nothing() {
    let ctx = Ctx::new();
    let listener = listen(&ctx).await;
    let sandbox = sandbox(&chargeback_scenario("[\"PENDING\", \"SETTLED\"]", 300)).await;
    let client = client(&sandbox);
    paid_then_chargeback_pending(&ctx, &client, &listener).await;
    wait_for_chargeback(&client, None).await;

    let rows = history_rows(&ctx);
    let report = sync(&ctx, &sandbox).await;
    assert_eq!((report.chargebacks_read, report.chargebacks_changed, report.errors), (1, 0, 1), "{report:?}");
    assert_eq!(history_rows(&ctx), rows, "nothing written");
    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    let status = voucherdesk::sync::status(&Store::open(&ctx.db).unwrap(), Utc::now()).unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("dlocal.unknown_status"));
    let message = status.last_error_message.unwrap_or_default();
    assert!(message.starts_with("chargeback CHBK-sbx-00000002: ") && message.contains("\"SETTLED\""), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chargeback_notified_before_its_payment_was_known_is_picked_up_by_the_next_sync() {
    let ctx = Ctx::new();
    let listener = listen(&ctx).await;
    // The payment's own notifications are held back past the test: only the
    // chargeback's opening reaches us, for a payment the ledger does not have yet.
    let scenario = "[[dlocal.payments]]\norder_prefix = \"CBF-\"\noutcome = \"paid\"\nafter_ms = 100\n\
                    notify = { delay_ms = 600000 }\n\
                    [[dlocal.chargebacks]]\norder_prefix = \"CBF-\"\nafter_ms = 200\n\
                    statuses = [\"PENDING\", \"COMPLETED\"]\nstep_ms = 500\nnotified_statuses = 1\n";
    let sandbox = sandbox(scenario).await;
    let client = client(&sandbox);
    assert_eq!(issue(&client, "CBF-001", Some(listener.url(Psp::Dlocal))).await, PAYMENT_ID);
    let unmatched = || {
        let store = Store::open(&ctx.db).unwrap();
        store.notifications(Some("unmatched"), 10).unwrap().iter().filter(|n| n.payment_id == PAYMENT_ID).count()
    };
    wait_for("the unmatched CHARGEBACK PENDING notification", || unmatched() == 1).await;
    assert_eq!(status_of(&ctx), None);

    // The payment arrives from the API, paid; nothing says charged back yet.
    wait_for_chargeback(&client, Some("COMPLETED")).await;
    let paid = client.payment(PAYMENT_ID).await.unwrap();
    let mut store = Store::open(&ctx.db).unwrap();
    observations::apply(&mut store, &Observed::Payment(paid.observation()), ObservationSource::Api, "{}", "admin")
        .unwrap();
    drop(store);
    assert_eq!(status_of(&ctx).as_deref(), Some("paid"));
    let opened = secs(client.chargeback(CHARGEBACK_ID).await.unwrap().report.status_at);

    let report = sync(&ctx, &sandbox).await;
    assert_eq!((report.chargebacks_read, report.chargebacks_changed, report.errors), (1, 1, 0), "{report:?}");
    assert!(report.reconciled, "{report:?}");
    assert_eq!(status_of(&ctx).as_deref(), Some("charged_back"));
    assert_eq!(
        history(&ctx),
        [
            ("PAID".to_string(), secs(paid.approved_at), "api".to_string()),
            ("CHARGEBACK COMPLETED".to_string(), opened, "api".to_string()),
        ]
    );
    let found = chargeback_exceptions(&ctx);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["payment_id"], PAYMENT_ID);
}
