//! The sync engine against the sandbox over real HTTP on loopback: vouchers
//! issued through the dLocal client, paid by the scenario, seen by polling —
//! and a sync killed mid-round, finished by a new engine, loses and repeats
//! nothing.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
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
use voucherdesk::sync::{StatusSource, SyncConfig, SyncEngine};
use voucherdesk_sandbox::{DlocalAccount, RunningSandbox, SandboxConfig, Scenario};

const VOUCHERS: usize = 12;
/// Long enough for the issuing and a first round of polls (dLocal's rate limit
/// spaces 12 polls over ~1.2 s) to see every voucher still pending.
const PAID_AFTER_MS: u64 = 3_000;
/// The restart test wants them paid at once.
const PAID_AT_ONCE_MS: u64 = 100;

async fn sandbox(paid_after_ms: u64) -> RunningSandbox {
    let scenario = Scenario::from_toml(&format!(
        "[[dlocal.payments]]\norder_prefix = \"SYNC-\"\noutcome = \"paid\"\nafter_ms = {paid_after_ms}\n"
    ))
    .unwrap();
    RunningSandbox::start(SandboxConfig { scenario, ..SandboxConfig::default() }).await.unwrap()
}

fn client(sandbox: &RunningSandbox) -> DlocalClient {
    let account = DlocalAccount::default();
    let credentials = DlocalCredentials { login: account.login, trans_key: account.trans_key, secret: account.secret };
    DlocalClient::new(&sandbox.base_url(), credentials, Duration::from_secs(5)).unwrap()
}

/// Issues `VOUCHERS` Efecty tickets at the sandbox and records them as the API returned them.
async fn issue_vouchers(ctx: &Ctx, client: &DlocalClient) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 1..=VOUCHERS {
        let request = CashPaymentRequest {
            order_id: format!("SYNC-{i:03}"),
            amount_minor: 5_000_000 + i as i64 * 100,
            currency: Currency::Cop,
            country: Country::Colombia,
            method: DlocalCashMethod::Efecty,
            payer: CashPayer {
                name: format!("Comprador Número {i}"),
                email: format!("c{i}@correo.example"),
                document: format!("10{i:08}"),
            },
            description: None,
            notification_url: None,
        };
        let payment = client.create_cash_payment(&request).await.unwrap();
        assert_eq!(payment.reading.status, PaymentStatus::Pending);
        let mut store = Store::open(&ctx.db).unwrap();
        let applied = observations::apply(
            &mut store,
            &Observed::Payment(payment.observation()),
            ObservationSource::Api,
            "{}",
            "admin",
        )
        .unwrap();
        assert_eq!(applied.outcome.as_str(), "new");
        ids.push(payment.payment_id);
    }
    ids
}

fn api_history(ctx: &Ctx, payment_id: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT h.status FROM payment_status_history h JOIN payments p ON p.id = h.payment
             WHERE p.payment_id = ?1 AND h.source = 'api' ORDER BY h.id",
        )
        .unwrap();
    stmt.query_map([payment_id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

fn status_of(ctx: &Ctx, payment_id: &str) -> String {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.query_row("SELECT status FROM payments WHERE payment_id = ?1", [payment_id], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_the_sandbox_sees_vouchers_paid() {
    let ctx = Ctx::new();
    let sandbox = sandbox(PAID_AFTER_MS).await;
    let issued = std::time::Instant::now();
    let client = client(&sandbox);
    let ids = issue_vouchers(&ctx, &client).await;
    let sources: Vec<Arc<dyn StatusSource>> = vec![Arc::new(DlocalSource::new(client))];
    let engine = SyncEngine::new(act_as(&Store::open(&ctx.db).unwrap(), "fabio").unwrap(), SyncConfig::default());

    // Before the scenario pays: every voucher polled, all still pending.
    let early = engine.run_once(&ctx.db, &sources, Utc::now()).await.unwrap();
    assert_eq!((early.polled, early.changed, early.errors), (VOUCHERS as u64, 0, 0), "{early:?}");

    tokio::time::sleep(Duration::from_millis(PAID_AFTER_MS + 300).saturating_sub(issued.elapsed())).await;
    // Due again only later: poll as of an hour on (the schedule's clock, not the PSP's).
    let later = Utc::now() + chrono::TimeDelta::hours(1);
    let report = engine.run_once(&ctx.db, &sources, later).await.unwrap();
    assert_eq!((report.polled, report.changed, report.errors), (VOUCHERS as u64, VOUCHERS as u64, 0), "{report:?}");
    for id in &ids {
        assert_eq!(status_of(&ctx, id), "paid", "{id}");
        assert_eq!(api_history(&ctx, id), ["pending", "paid"], "{id}");
    }
    // Final: nothing left to poll.
    let after = engine.run_once(&ctx.db, &sources, later + chrono::TimeDelta::days(1)).await.unwrap();
    assert_eq!(after.polled, 0, "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_round_is_finished_by_a_new_engine_without_repeats() {
    let ctx = Ctx::new();
    let sandbox = sandbox(PAID_AT_ONCE_MS).await;
    let client = client(&sandbox);
    let ids = issue_vouchers(&ctx, &client).await;
    tokio::time::sleep(Duration::from_millis(PAID_AT_ONCE_MS + 300)).await;

    // dLocal's rate limit (10/s) spreads the 12 polls over more than a second:
    // the first engine is killed once some, not all, have been applied.
    let sources: Vec<Arc<dyn StatusSource>> = vec![Arc::new(DlocalSource::new(client))];
    let fabio = act_as(&Store::open(&ctx.db).unwrap(), "fabio").unwrap();
    let first = SyncEngine::new(fabio.clone(), SyncConfig::default());
    let (db, first_sources) = (ctx.db.clone(), sources.clone());
    let round = tokio::spawn(async move { first.run_once(&db, &first_sources, Utc::now()).await });
    let paid_so_far = || ids.iter().filter(|id| status_of(&ctx, id) == "paid").count();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while paid_so_far() < 3 {
        assert!(std::time::Instant::now() < deadline, "the first engine applied nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    round.abort();
    let _ = round.await;
    let killed_at = paid_so_far();
    assert!(killed_at < VOUCHERS, "the first engine finished before it was killed ({killed_at})");

    let second = SyncEngine::new(fabio, SyncConfig::default());
    let report = second.run_once(&ctx.db, &sources, Utc::now()).await.unwrap();
    assert_eq!(report.errors, 0, "{report:?}");
    for id in &ids {
        assert_eq!(status_of(&ctx, id), "paid", "{id}");
        // Pending when issued, paid once: whichever engine saw it, never twice.
        assert_eq!(api_history(&ctx, id), ["pending", "paid"], "{id}");
    }
}
