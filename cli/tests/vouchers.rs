//! Voucher actions (issue, extend, cancel) against the sandbox over real HTTP
//! on loopback: each PSP's success, its refusals and time-outs, a retry that
//! never creates a second voucher, the roles, the already-paid refusal, the
//! buyer messages queued, and an old voucher paid after a new one was issued
//! showing up in reconciliation. Plus the CLI's faces and exit codes.

use crate::support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use support::{Ctx, pe_payer, stderr, stdout};
use voucherdesk::observations::{self, ObservationSource, Observed};
use voucherdesk::operators::{Operator, act_as};
use voucherdesk::payments::{PaymentObservation, PaymentStatus, VoucherNetwork};
use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalCredentials};
use voucherdesk::psp::dlocal::transformers::CashPayment;
use voucherdesk::psp::dlocal::wire::DlocalCashMethod;
use voucherdesk::psp::pagoefectivo::client::{CipQuery, CreatedCip, NewCip, PagoEfectivoClient, Payer, PeCredentials};
use voucherdesk::reconcile::{ReconcileOptions, reconcile};
use voucherdesk::store::{NotificationFilter, Store};
use voucherdesk::vouchers::{self, CancelRequest, ExtendRequest, IssueRequest, VoucherClients, VoucherSettings};
use voucherdesk_sandbox::{DlocalAccount, PeAccount, RunningSandbox, SandboxConfig, Scenario};

const ORDERS: &str = "\
order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at
V-CO-1,Tienda Ñandú,2026-03-01T09:15:00-05:00,Ana Núñez,ana.nunez@correo.example,+57 300 123 4567,1020304050,CO,50000,COP,pending_payment,dlocal,D-OLD-1,4000009001,2026-03-03T09:15:00-05:00
V-CO-NODOC,Tienda Ñandú,2026-03-01T09:20:00-05:00,Luz Díaz,luz.diaz@correo.example,+57 300 765 4321,,CO,70000,COP,pending_payment,dlocal,,,
V-CO-PAID,Tienda Ñandú,2026-03-01T09:30:00-05:00,Raúl Peña,raul.pena@correo.example,+57 301 222 3344,1030405060,CO,50000,COP,pending_payment,dlocal,D-PAID-1,4000009003,2026-03-03T09:30:00-05:00
V-CO-SHIPPED,Tienda Ñandú,2026-03-01T09:40:00-05:00,Eva Ruiz,eva.ruiz@correo.example,+57 302 111 2233,1040506070,CO,50000,COP,fulfilled,dlocal,,,
V-PE-1,Librería Ayacucho,2026-03-01T10:00:00-05:00,José Ñahui Quispe,jose.nahui@correo.example,987 654 321,45678912,PE,89.90,PEN,expired,pagoefectivo,2500001,2500001,2026-03-03T10:00:00-05:00
V-PE-NOPHONE,Librería Ayacucho,2026-03-01T10:10:00-05:00,Rosa Quispe,rosa.quispe@correo.example,,45678913,PE,120.00,PEN,pending_payment,pagoefectivo,,,
";

const DLOCAL_PAYMENTS: &str = "\
PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER
D-OLD-1,V-CO-1,CO,EY,COP,50000,EXPIRED,400,2026-03-01T14:15:00.000+0000,,2026-03-03T14:15:00.000+0000,4000009001
D-PAID-1,V-CO-PAID,CO,EY,COP,50000,PAID,200,2026-03-01T14:30:00.000+0000,2026-03-02T15:00:00.000+0000,2026-03-03T14:30:00.000+0000,4000009003
";

/// A client time-out far below the sandbox's injected delay: every call times out.
const IMPATIENT_MS: u64 = 300;
const SLOW_PSP_MS: u64 = 1_000;

fn ledger() -> Ctx {
    let ctx = Ctx::new();
    let orders = ctx.path("orders.csv");
    std::fs::write(&orders, ORDERS).unwrap();
    ctx.import("orders", "shop", &orders);
    let payments = ctx.path("dlocal.csv");
    std::fs::write(&payments, DLOCAL_PAYMENTS).unwrap();
    ctx.import("payments", "dlocal", &payments);
    ctx
}

async fn sandbox(scenario: &str) -> RunningSandbox {
    let scenario = Scenario::from_toml(scenario).unwrap();
    RunningSandbox::start(SandboxConfig { scenario, ..SandboxConfig::default() }).await.unwrap()
}

fn dlocal_client(sandbox: &RunningSandbox, timeout_ms: u64) -> DlocalClient {
    let a = DlocalAccount::default();
    let keys = DlocalCredentials { login: a.login, trans_key: a.trans_key, secret: a.secret };
    DlocalClient::new(&sandbox.base_url(), keys, Duration::from_millis(timeout_ms)).unwrap()
}

fn pe_client(sandbox: &RunningSandbox, timeout_ms: u64) -> PagoEfectivoClient {
    let a = PeAccount::default();
    let keys = PeCredentials { service_id: a.service_id, access_key: a.access_key, secret: a.secret };
    PagoEfectivoClient::with_timeout(&sandbox.base_url(), keys, Duration::from_millis(timeout_ms)).unwrap()
}

fn clients(sandbox: &RunningSandbox, timeout_ms: u64) -> VoucherClients {
    VoucherClients {
        dlocal: Some(dlocal_client(sandbox, timeout_ms)),
        pagoefectivo: Some(pe_client(sandbox, timeout_ms)),
        notification_url: None,
    }
}

/// Ana's Efecty ticket for V-CO-1 under the reference V1, created straight at
/// the PSP (as another desktop would).
async fn v_co_1_ticket_at_the_psp(psp: &RunningSandbox) -> CashPayment {
    dlocal_client(psp, 5_000)
        .create_cash_payment(&CashPaymentRequest {
            order_id: "V-CO-1-V1".into(),
            amount_minor: 5_000_000,
            currency: voucherdesk::money::Currency::Cop,
            country: voucherdesk::market::Country::Colombia,
            method: DlocalCashMethod::Efecty,
            payer: CashPayer {
                name: "Ana Núñez".into(),
                email: "ana.nunez@correo.example".into(),
                document: "1020304050".into(),
            },
            description: None,
            notification_url: None,
        })
        .await
        .unwrap()
}

/// A 48-hour CIP in PEN under V-PE-1's reference V1, created straight at the
/// PSP (as another desktop would).
async fn v_pe_1_cip_at_the_psp(psp: &RunningSandbox, amount_minor: i64, concept: &str, payer: Payer) -> CreatedCip {
    pe_client(psp, 5_000)
        .create_cip(&NewCip {
            transaction_code: "V-PE-1-V1".into(),
            currency: voucherdesk::money::Currency::Pen,
            amount_minor,
            expires_at: Utc::now() + chrono::Duration::hours(48),
            concept: concept.into(),
            additional_data: None,
            payer,
        })
        .await
        .unwrap()
}

fn who(store: &Store, name: &str) -> Operator {
    act_as(store, name).unwrap()
}

fn issue_request(order: &str, hours: Option<u32>) -> IssueRequest {
    IssueRequest { order_id: order.into(), hours }
}

/// The buyer messages queued for an order: (kind, channel), oldest first.
fn messages(store: &Store, order_id: &str) -> Vec<(String, String)> {
    let filter = NotificationFilter { order_id: Some(order_id), status: None, before_id: None, limit: 50 };
    let mut rows = store.buyer_notifications(&filter).unwrap();
    rows.sort_by_key(|r| r.id);
    rows.into_iter().map(|r| (r.kind, r.channel)).collect()
}

fn both(kind: &str) -> Vec<(String, String)> {
    vec![(kind.to_string(), "email".to_string()), (kind.to_string(), "sms".to_string())]
}

/// The audit actions about vouchers, oldest first.
fn voucher_audit(store: &Store) -> Vec<String> {
    store
        .audit_entries(0, 10_000)
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .filter(|a| a.starts_with("voucher."))
        .collect()
}

fn statuses(store: &Store, order_id: &str) -> Vec<(String, String)> {
    store.payments_of_order(order_id).unwrap().into_iter().map(|p| (p.payment_id, p.status)).collect()
}

fn close_to(at: Option<DateTime<Utc>>, expected: DateTime<Utc>) -> bool {
    at.is_some_and(|at| (at - expected).num_seconds().abs() <= 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_dlocal_ticket_enters_the_ledger_becomes_the_orders_voucher_and_tells_the_buyer() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    let now = Utc::now();
    let issued =
        vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), now).await.unwrap();
    assert_eq!(issued.psp, "dlocal");
    assert_eq!(issued.payment_id, "D-4-sbx-00000001");
    assert_eq!(issued.voucher_code, "4400000001");
    assert_eq!((issued.amount_minor, issued.currency.code()), (5_000_000, "COP"));
    assert_eq!((issued.status, issued.replayed), (PaymentStatus::Pending, false));
    assert_eq!(issued.reference.as_deref(), Some("V-CO-1-V1"));
    // dLocal sets its tickets' lifetime (the sandbox: 48 h).
    assert!(close_to(issued.expires_at, now + chrono::Duration::hours(48)), "{:?}", issued.expires_at);
    assert_eq!(issued.messages_queued.len(), 2);
    assert_eq!(issued.message_error, None);

    let order = store.order("V-CO-1").unwrap().unwrap();
    assert_eq!((order.psp_payment_id.as_str(), order.voucher_code.as_str()), ("D-4-sbx-00000001", "4400000001"));
    // The ledger keeps whole seconds; dLocal's date carries milliseconds.
    assert_eq!(order.voucher_expires_at.map(|t| t.timestamp()), issued.expires_at.map(|t| t.timestamp()));
    assert_eq!(
        statuses(&store, "V-CO-1"),
        vec![("D-OLD-1".to_string(), "expired".to_string()), ("D-4-sbx-00000001".into(), "pending".into())]
    );
    let new = store.payments_of_order("V-CO-1").unwrap().pop().unwrap();
    assert_eq!((new.history.len(), new.history[0].source.as_str()), (1, "api"));
    assert_eq!(messages(&store, "V-CO-1"), both("voucher_instructions"));
    let texts = store
        .buyer_notifications(&NotificationFilter { order_id: Some("V-CO-1"), status: None, before_id: None, limit: 5 })
        .unwrap();
    assert!(texts.iter().all(|m| m.body_text.contains("4400000001")), "the new code is in every message");
    assert_eq!(voucher_audit(&store), ["voucher.issue_request", "voucher.issue"]);
    let attempts = store.voucher_issues_of_order("V-CO-1").unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!((attempts[0].status.as_str(), attempts[0].attempts), ("issued", 1));
    assert_eq!(attempts[0].payment_id.as_deref(), Some("D-4-sbx-00000001"));

    // Running it again (the operator was not sure it worked) creates nothing new.
    let again = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), Utc::now())
        .await
        .unwrap();
    assert_eq!((again.payment_id.as_str(), again.replayed), ("D-4-sbx-00000001", true));
    assert!(again.messages_queued.is_empty());
    assert_eq!(store.voucher_issues_of_order("V-CO-1").unwrap().len(), 1);
    assert_eq!(statuses(&store, "V-CO-1").len(), 2);
    assert_eq!(messages(&store, "V-CO-1").len(), 2);
    let at_psp = dlocal_client(&psp, 5_000);
    assert_eq!(at_psp.order("V-CO-1-V1").await.unwrap().payment_id, "D-4-sbx-00000001");
    assert_eq!(at_psp.order("V-CO-1-V2").await.unwrap_err().code(), "dlocal.refused", "no second ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_cip_lives_as_long_as_the_setting_says_and_can_be_extended_and_cancelled() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (admin, sam, fabio) = (who(&store, "admin"), who(&store, "sam"), who(&store, "fabio"));
    vouchers::set_settings(&mut store, &admin, &VoucherSettings { expiry_hours: 24 }).unwrap();
    let now = Utc::now();
    let c = clients(&psp, 5_000);
    let issued = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-1", None), now).await.unwrap();
    assert_eq!(
        (issued.psp.as_str(), issued.payment_id.as_str(), issued.voucher_code.as_str()),
        ("pagoefectivo", "2600001", "2600001")
    );
    assert_eq!((issued.amount_minor, issued.currency.code()), (8_990, "PEN"));
    assert_eq!(issued.reference.as_deref(), Some("V-PE-1-V1"));
    assert!(close_to(issued.expires_at, now + chrono::Duration::hours(24)), "{:?}", issued.expires_at);
    assert_eq!(messages(&store, "V-PE-1"), both("voucher_instructions"));
    let order = store.order("V-PE-1").unwrap().unwrap();
    assert_eq!((order.voucher_code.as_str(), order.voucher_expires_at), ("2600001", issued.expires_at));

    // Extend (support may): the PSP, the payment, the order and a fresh message.
    let later = Utc::now();
    let request = ExtendRequest { order_id: "V-PE-1".into(), payment_id: None, hours: 72 };
    let extended = vouchers::extend(&mut store, &c, &sam, &request, later).await.unwrap();
    assert!(close_to(extended.expires_at, later + chrono::Duration::hours(72)), "{:?}", extended.expires_at);
    let found = pe_client(&psp, 5_000).search_cips(&[CipQuery::Cip(2_600_001)]).await.unwrap();
    assert_eq!(Some(found[0].expires_at), extended.expires_at);
    let payment = store.payments_of_order("V-PE-1").unwrap().pop().unwrap();
    assert_eq!(payment.expires_at, extended.expires_at);
    assert_eq!(store.order("V-PE-1").unwrap().unwrap().voucher_expires_at, extended.expires_at);
    let mut expected = both("voucher_instructions");
    expected.extend(both("voucher_instructions"));
    assert_eq!(messages(&store, "V-PE-1"), expected);
    let bad = vouchers::extend(&mut store, &c, &sam, &ExtendRequest { hours: 96, ..request.clone() }, later).await;
    assert_eq!(bad.unwrap_err().to_string(), "a voucher is valid 24 to 72 hours, not 96");

    // Cancel needs finance or above.
    let cancel = CancelRequest { order_id: "V-PE-1".into(), payment_id: None };
    let refused = vouchers::cancel(&mut store, &c, &sam, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(
        (refused.code(), refused.to_string().as_str()),
        ("auth.forbidden", "sam (support) may not cancel vouchers")
    );
    let cancelled = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap();
    assert_eq!((cancelled.status, cancelled.replayed), (PaymentStatus::Cancelled, false));
    let found = pe_client(&psp, 5_000).search_cips(&[CipQuery::Cip(2_600_001)]).await.unwrap();
    assert_eq!(found[0].status, PaymentStatus::Cancelled);
    let payment = store.payments_of_order("V-PE-1").unwrap().pop().unwrap();
    assert_eq!(payment.status, "cancelled");
    assert_eq!(payment.history.iter().map(|h| h.source.as_str()).collect::<Vec<_>>(), ["api", "api"]);
    expected.extend(both("voucher_cancelled"));
    assert_eq!(messages(&store, "V-PE-1"), expected);
    let rows = store
        .buyer_notifications(&NotificationFilter { order_id: Some("V-PE-1"), status: None, before_id: None, limit: 10 })
        .unwrap();
    let sms = rows.iter().find(|m| m.kind == "voucher_cancelled" && m.channel == "sms").unwrap();
    assert_eq!(sms.body_text, "Libreria Ayacucho: tu codigo 2600001 del pedido V-PE-1 fue anulado. No lo pagues.");
    assert_eq!(voucher_audit(&store), ["voucher.issue_request", "voucher.issue", "voucher.extend", "voucher.cancel"]);
    let again = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(
        (again.code(), again.to_string().as_str()),
        ("vouchers.no_open_voucher", "order V-PE-1 has no pending pagoefectivo voucher")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlocal_has_no_extension_and_paid_or_shipped_orders_get_no_voucher() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, ana) = (who(&store, "sam"), who(&store, "ana"));
    let c = clients(&psp, 5_000);
    let before = support::table_counts(&ctx.db);
    let extend = ExtendRequest { order_id: "V-CO-1".into(), payment_id: None, hours: 48 };
    let e = vouchers::extend(&mut store, &c, &sam, &extend, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.extend_unsupported");
    assert_eq!(
        e.to_string(),
        "dLocal tickets cannot be extended: issue a new voucher instead (`voucherdesk vouchers issue --order V-CO-1`)"
    );
    // Its only voucher expired: nothing to cancel.
    let cancel = CancelRequest { order_id: "V-CO-1".into(), payment_id: None };
    let e = vouchers::cancel(&mut store, &c, &ana, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("vouchers.no_open_voucher", "order V-CO-1 has no pending dlocal voucher")
    );

    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-PAID", None), Utc::now()).await.unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("vouchers.already_paid", "order V-CO-PAID is already paid (dlocal:D-PAID-1): no voucher action applies")
    );
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-SHIPPED", None), Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.order_not_open");
    assert!(e.to_string().starts_with("order V-CO-SHIPPED is fulfilled in the shop"), "{e}");
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("NOPE", None), Utc::now()).await.unwrap_err();
    assert_eq!((e.code(), e.is_refusal()), ("vouchers.unknown_order", true));
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", Some(12)), Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "errors.validation");
    // Nothing of it reached the ledger or the PSP.
    assert_eq!(support::table_counts(&ctx.db), before, "nothing written anywhere");
    assert!(voucher_audit(&store).is_empty());
    for order in ["V-CO-1", "V-CO-PAID", "V-CO-SHIPPED"] {
        assert!(store.voucher_issues_of_order(order).unwrap().is_empty());
        assert!(messages(&store, order).is_empty());
    }
    assert_eq!(dlocal_client(&psp, 5_000).order("V-CO-PAID-V1").await.unwrap_err().code(), "dlocal.refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psp_refusal_ends_the_attempt_and_writes_no_payment() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    let c = clients(&psp, 5_000);
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-NODOC", None), Utc::now()).await.unwrap_err();
    assert_eq!((e.code(), e.is_refusal()), ("vouchers.psp_refused", true));
    assert!(e.to_string().contains("payer.document"), "{e}");
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-NOPHONE", None), Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.psp_refused");
    assert!(e.to_string().contains("userPhone: Campo requerido"), "{e}");
    for order in ["V-CO-NODOC", "V-PE-NOPHONE"] {
        assert!(statuses(&store, order).is_empty(), "{order}: no payment");
        assert!(messages(&store, order).is_empty());
        let attempts = store.voucher_issues_of_order(order).unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].status, "failed");
        assert!(attempts[0].last_error.as_deref().unwrap().starts_with("vouchers.psp_refused: "));
    }
    assert_eq!(
        voucher_audit(&store),
        ["voucher.issue_request", "voucher.issue_refused", "voucher.issue_request", "voucher.issue_refused"]
    );
    // The order itself still points at nothing new.
    assert_eq!(store.order("V-CO-NODOC").unwrap().unwrap().voucher_code, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_out_records_nothing_and_the_retry_issues_exactly_one_voucher() {
    let ctx = ledger();
    let psp = sandbox(&format!("[faults]\ndelay_ms = {SLOW_PSP_MS}\n")).await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    for (order, reference) in [("V-CO-1", "V-CO-1-V1"), ("V-PE-1", "V-PE-1-V1")] {
        let e =
            vouchers::issue(&mut store, &clients(&psp, IMPATIENT_MS), &sam, &issue_request(order, None), Utc::now())
                .await
                .unwrap_err();
        assert_eq!((e.code(), e.is_refusal()), ("vouchers.psp_unconfirmed", false), "{order}");
        assert!(
            e.to_string().ends_with(&format!(
                "nothing was recorded as done; run the same command again: it reuses reference {reference} and never creates a second voucher"
            )),
            "{e}"
        );
        let attempts = store.voucher_issues_of_order(order).unwrap();
        assert_eq!((attempts.len(), attempts[0].status.as_str()), (1, "requested"));
        assert!(messages(&store, order).is_empty());
        assert!(statuses(&store, order).iter().all(|(id, _)| !id.starts_with("D-4-sbx") && id != "2600001"));
        // The sandbox has had time to finish whatever reached it.
        tokio::time::sleep(Duration::from_millis(SLOW_PSP_MS + 300)).await;
        let retried = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request(order, None), Utc::now())
            .await
            .unwrap();
        assert_eq!(retried.reference.as_deref(), Some(reference));
        let attempts = store.voucher_issues_of_order(order).unwrap();
        assert_eq!((attempts.len(), attempts[0].status.as_str(), attempts[0].attempts), (1, "issued", 2));
        assert_eq!(messages(&store, order), both("voucher_instructions"));
    }
    // One voucher per order at the PSP, and it is the one in the ledger.
    let at_dlocal = dlocal_client(&psp, 5_000).order("V-CO-1-V1").await.unwrap();
    assert_eq!(store.order("V-CO-1").unwrap().unwrap().psp_payment_id, at_dlocal.payment_id);
    let cips = pe_client(&psp, 5_000).search_cips(&[CipQuery::TransactionCode("V-PE-1-V1".into())]).await.unwrap();
    assert_eq!(cips.len(), 1);
    assert_eq!(store.order("V-PE-1").unwrap().unwrap().psp_payment_id, cips[0].cip.to_string());
    assert_eq!(
        voucher_audit(&store),
        [
            "voucher.issue_request",
            "voucher.issue_unconfirmed",
            "voucher.issue_retry",
            "voucher.issue",
            "voucher.issue_request",
            "voucher.issue_unconfirmed",
            "voucher.issue_retry",
            "voucher.issue",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_psp_acted_records_that_voucher_instead_of_creating_another() {
    let ctx = ledger();
    let psp = sandbox(&format!("[faults]\ndelay_ms = {SLOW_PSP_MS}\n")).await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    for order in ["V-CO-1", "V-PE-1"] {
        let e =
            vouchers::issue(&mut store, &clients(&psp, IMPATIENT_MS), &sam, &issue_request(order, None), Utc::now())
                .await
                .unwrap_err();
        assert_eq!(e.code(), "vouchers.psp_unconfirmed");
    }
    // The PSP acted on both calls but the answers were lost: the vouchers exist under our references.
    let ticket = v_co_1_ticket_at_the_psp(&psp).await;
    let cip = v_pe_1_cip_at_the_psp(
        &psp,
        8_990,
        "Pedido V-PE-1",
        pe_payer("jose.nahui@correo.example", "José", "Ñahui Quispe", "45678912", "987654321"),
    )
    .await;
    let c = clients(&psp, 5_000);
    let co = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", None), Utc::now()).await.unwrap();
    assert_eq!((co.payment_id.as_str(), co.replayed), (ticket.payment_id.as_str(), true));
    let pe = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-1", None), Utc::now()).await.unwrap();
    assert_eq!((pe.payment_id.clone(), pe.replayed), (cip.cip.to_string(), true));
    // Exactly one voucher per reference at each PSP, each recorded once, each announced once.
    let cips = pe_client(&psp, 5_000).search_cips(&[CipQuery::TransactionCode("V-PE-1-V1".into())]).await.unwrap();
    assert_eq!(cips.len(), 1);
    assert_eq!(dlocal_client(&psp, 5_000).order("V-CO-1-V2").await.unwrap_err().code(), "dlocal.refused");
    assert_eq!(statuses(&store, "V-CO-1").len(), 2);
    assert_eq!(statuses(&store, "V-PE-1"), vec![(cip.cip.to_string(), "pending".to_string())]);
    assert_eq!(messages(&store, "V-CO-1"), both("voucher_instructions"));
    assert_eq!(messages(&store, "V-PE-1"), both("voucher_instructions"));
}

fn paid(payment_id: &str, order_id: &str, voucher_code: &str, paid_at: DateTime<Utc>) -> Observed {
    Observed::Payment(PaymentObservation {
        psp: "dlocal".into(),
        payment_id: payment_id.into(),
        order_id: order_id.into(),
        country: voucherdesk::market::Country::Colombia,
        network: VoucherNetwork::Efecty,
        currency: voucherdesk::money::Currency::Cop,
        amount_minor: 5_000_000,
        status: PaymentStatus::Paid,
        psp_status: "PAID".into(),
        status_code: "200".into(),
        created_at: None,
        paid_at: Some(paid_at),
        expires_at: None,
        voucher_code: voucher_code.into(),
        status_at: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_voucher_paid_after_a_new_one_was_issued_is_caught_by_reconciliation() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, admin) = (who(&store, "sam"), who(&store, "admin"));
    let issued = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), Utc::now())
        .await
        .unwrap();
    let options = ReconcileOptions::load(&store, None).unwrap();
    let before = reconcile(&mut store, &options, &admin).unwrap();
    assert_eq!((before.exceptions["paid_after_expiry"], before.exceptions["duplicate_payment"]), (0, 0));
    // The buyer pays the old, expired ticket anyway (dLocal notifies it).
    let late = observations::apply(
        &mut store,
        &paid("D-OLD-1", "V-CO-1", "4000009001", Utc::now()),
        ObservationSource::Notification,
        "{}",
        "notification:dlocal",
    )
    .unwrap();
    assert_eq!(late.after, Some(PaymentStatus::Paid));
    let summary = reconcile(&mut store, &options, &admin).unwrap();
    assert_eq!((summary.exceptions["paid_after_expiry"], summary.exceptions["duplicate_payment"]), (1, 0));
    // ...and then the new one too: dLocal's notification names our reference, which maps to the order.
    let second = paid(&issued.payment_id, "V-CO-1-V1", &issued.voucher_code, Utc::now());
    let applied =
        observations::apply(&mut store, &second, ObservationSource::Notification, "{}", "notification:dlocal").unwrap();
    assert_eq!((applied.order_id.as_str(), applied.after), ("V-CO-1", Some(PaymentStatus::Paid)));
    let summary = reconcile(&mut store, &options, &admin).unwrap();
    assert_eq!((summary.exceptions["paid_after_expiry"], summary.exceptions["duplicate_payment"]), (1, 1));
    assert_eq!(summary.exceptions["unknown_order"], 0, "the reference is never taken for an order id");
    assert_eq!(
        statuses(&store, "V-CO-1"),
        vec![("D-OLD-1".to_string(), "paid".to_string()), (issued.payment_id.clone(), "paid".to_string())]
    );
    // Paid: no voucher action applies any more.
    let e = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), Utc::now())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "vouchers.already_paid");
}

/// `voucherdesk vouchers ACTION --order ORDER EXTRA…` as `operator`, both PSPs
/// at `url`, run off the async runtime: (exit code, stdout, stderr).
async fn vouchers_cli(
    ctx: &std::sync::Arc<Ctx>,
    url: &str,
    operator: &'static str,
    order: &str,
    action: &str,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let mut args: Vec<String> = vec!["vouchers".into(), action.into(), "--order".into(), order.into()];
    args.extend(["--dlocal-url".to_string(), url.to_string(), "--pagoefectivo-url".into(), url.to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let ctx = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let mut cmd = ctx.cmd();
        cmd.env("VOUCHERDESK_OPERATOR", operator)
            .env_remove("VOUCHERDESK_DLOCAL_URL")
            .env_remove("VOUCHERDESK_PAGOEFECTIVO_URL");
        let out = cmd.args(&args).output().unwrap();
        (out.status.code(), stdout(&out), stderr(&out))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_issues_extends_and_cancels_with_the_usual_exit_codes() {
    let ctx = std::sync::Arc::new(ledger());
    let psp = sandbox("").await;
    let url = psp.base_url();
    let db = ctx.db.clone();
    let (code, out, err) = vouchers_cli(&ctx, &url, "sam", "V-PE-1", "issue", &["--hours", "36", "--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["action"], "issue");
    assert_eq!(json["payment_id"], "2600001");
    assert_eq!(json["reference"], "V-PE-1-V1");
    assert_eq!(json["status"], "pending");
    assert_eq!(json["replayed"], false);
    assert_eq!(json["messages_queued"].as_array().unwrap().len(), 2);

    let (code, out, _) = vouchers_cli(&ctx, &url, "sam", "V-PE-1", "extend", &["--hours", "48"]).await;
    assert_eq!(code, Some(0));
    assert!(
        out.starts_with(
            "order V-PE-1: voucher 2600001 (pagoefectivo:2600001) extended; 89.90 PEN, status pending, expires "
        ),
        "{out}"
    );
    assert!(out.ends_with(", PSP reference V-PE-1-V1\n2 buyer message(s) queued\n"), "{out}");

    let (code, _, err) = vouchers_cli(&ctx, &url, "sam", "V-PE-1", "cancel", &[]).await;
    assert_eq!(code, Some(2), "a refusal exits 2");
    assert_eq!(err, "error: sam (support) may not cancel vouchers [auth.forbidden]\n");

    let (code, out, err) = vouchers_cli(&ctx, &url, "fabio", "V-PE-1", "cancel", &["--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((json["action"].as_str(), json["status"].as_str()), (Some("cancel"), Some("cancelled")));

    let (code, _, err) = vouchers_cli(&ctx, &url, "sam", "V-CO-1", "extend", &["--hours", "48"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("[vouchers.extend_unsupported]"), "{err}");

    // A PSP that does not answer is a fault: exit 1, and the retry hint.
    drop(psp);
    let (code, _, err) = vouchers_cli(&ctx, &url, "sam", "V-CO-1", "issue", &["--timeout-ms", "500"]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("[vouchers.psp_unconfirmed]") && err.contains("reuses reference V-CO-1-V1"), "{err}");
    let store = Store::open(&db).unwrap();
    let actions = voucher_audit(&store);
    assert_eq!(
        actions,
        [
            "voucher.issue_request",
            "voucher.issue",
            "voucher.extend",
            "voucher.cancel",
            "voucher.issue_request",
            "voucher.issue_unconfirmed",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cip_paid_meanwhile_is_neither_extended_nor_cancelled_and_the_ledger_learns_it_is_paid() {
    let ctx = ledger();
    let psp = sandbox(
        "[[pagoefectivo.rules]]\ntransaction_code_prefix = \"V-PE-1-\"\noutcome = \"paid_after\"\nafter_ms = 200\n",
    )
    .await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, fabio) = (who(&store, "sam"), who(&store, "fabio"));
    let c = clients(&psp, 5_000);
    let issued = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-1", Some(48)), Utc::now()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The ledger has not heard yet: it still says pending.
    assert_eq!(statuses(&store, "V-PE-1"), vec![(issued.payment_id.clone(), "pending".to_string())]);
    let request = ExtendRequest { order_id: "V-PE-1".into(), payment_id: None, hours: 48 };
    let e = vouchers::extend(&mut store, &c, &sam, &request, Utc::now()).await.unwrap_err();
    assert_eq!((e.code(), e.is_refusal()), ("vouchers.psp_refused", true));
    assert!(e.to_string().contains("refused (HTTP 409), code 115: El CIP 2600001 no está pendiente (Pagado)"), "{e}");
    let cancel = CancelRequest { order_id: "V-PE-1".into(), payment_id: Some("2600001".into()) };
    let e = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.psp_refused");
    assert_eq!(statuses(&store, "V-PE-1"), vec![(issued.payment_id.clone(), "paid".to_string())]);
    assert_eq!(messages(&store, "V-PE-1"), both("voucher_instructions"), "no cancellation message");
    assert_eq!(voucher_audit(&store), ["voucher.issue_request", "voucher.issue"]);
    let e = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.already_paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_file_learns_which_actions_it_may_offer_by_the_same_rules() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, fabio) = (who(&store, "sam"), who(&store, "fabio"));
    let offer = |store: &Store, who: &Operator, order: &str| {
        let a = vouchers::available(store, who, order, Utc::now()).unwrap();
        [a.issue, a.extend, a.cancel].map(|x| (x.allowed, x.code.unwrap_or_default()))
    };
    let yes = (true, String::new());
    let no = |code: &str| (false, code.to_string());
    assert_eq!(offer(&store, &sam, "V-CO-1"), [yes.clone(), no("vouchers.extend_unsupported"), no("auth.forbidden")]);
    assert_eq!(
        offer(&store, &fabio, "V-CO-1"),
        [yes.clone(), no("vouchers.extend_unsupported"), no("vouchers.no_open_voucher")]
    );
    assert_eq!(offer(&store, &fabio, "V-CO-PAID")[0], no("vouchers.already_paid"));
    assert_eq!(offer(&store, &fabio, "V-CO-SHIPPED")[0], no("vouchers.order_not_open"));
    assert_eq!(
        offer(&store, &fabio, "V-PE-1"),
        [yes.clone(), no("vouchers.no_open_voucher"), no("vouchers.no_open_voucher")]
    );
    vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-PE-1", None), Utc::now()).await.unwrap();
    assert_eq!(offer(&store, &fabio, "V-PE-1"), [no("vouchers.voucher_open"), yes.clone(), yes.clone()]);
    let a = vouchers::available(&store, &sam, "V-PE-1", Utc::now()).unwrap();
    assert_eq!(a.default_hours, 48);
    assert_eq!(a.cancel.reason.as_deref(), Some("sam (support) may not cancel vouchers"));
    assert_eq!(vouchers::available(&store, &sam, "NOPE", Utc::now()).unwrap_err().code(), "vouchers.unknown_order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psp_report_naming_our_reference_keeps_the_payment_on_the_shops_order() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    let issued = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), Utc::now())
        .await
        .unwrap();
    drop(store);
    // dLocal's payments report lists the new ticket, paid, under the order id it was given.
    let report = ctx.path("dlocal_paid.csv");
    std::fs::write(
        &report,
        format!(
            "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n\
             {},V-CO-1-V1,CO,EY,COP,50000,PAID,200,2026-03-05T14:15:00.000+0000,2026-03-05T15:00:00.000+0000,2026-03-07T14:15:00.000+0000,{}\n",
            issued.payment_id, issued.voucher_code
        ),
    )
    .unwrap();
    ctx.import("payments", "dlocal", &report);
    let store = Store::open(&ctx.db).unwrap();
    assert_eq!(
        statuses(&store, "V-CO-1"),
        vec![("D-OLD-1".to_string(), "expired".to_string()), (issued.payment_id.clone(), "paid".to_string())]
    );
    assert!(store.payments_of_order("V-CO-1-V1").unwrap().is_empty(), "the reference is not an order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_already_taken_at_the_psp_is_recorded_not_duplicated() {
    let ctx = ledger();
    let psp = sandbox("").await;
    // Another desktop issued V1 for both orders; this ledger has never heard of them.
    let ticket = v_co_1_ticket_at_the_psp(&psp).await;
    let mut store = Store::open(&ctx.db).unwrap();
    let sam = who(&store, "sam");
    let c = clients(&psp, 5_000);
    let co = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", None), Utc::now()).await.unwrap();
    assert_eq!((co.payment_id.as_str(), co.replayed), (ticket.payment_id.as_str(), true));
    let attempts = store.voucher_issues_of_order("V-CO-1").unwrap();
    assert_eq!((attempts.len(), attempts[0].status.as_str(), attempts[0].attempts), (1, "issued", 1));
    assert_eq!(messages(&store, "V-CO-1"), both("voucher_instructions"));
    // A reference taken for other money is not this order's voucher: refused, nothing recorded.
    v_pe_1_cip_at_the_psp(
        &psp,
        1_000,
        "Otro",
        pe_payer("otro@correo.example", "Otro", "Comprador", "11111111", "987000000"),
    )
    .await;
    let e = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-1", None), Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.psp_refused");
    assert_eq!(
        e.to_string(),
        "pagoefectivo refused: pagoefectivo 2600001 holds 10.00 PEN under reference V-PE-1-V1, not the order's 89.90 PEN [vouchers.reference_taken]"
    );
    assert!(statuses(&store, "V-PE-1").is_empty());
    assert_eq!(store.voucher_issues_of_order("V-PE-1").unwrap()[0].status, "failed");
    // The next attempt takes the next reference.
    let pe = vouchers::issue(&mut store, &c, &sam, &issue_request("V-PE-1", None), Utc::now()).await.unwrap();
    assert_eq!((pe.reference.as_deref(), pe.payment_id.as_str(), pe.replayed), (Some("V-PE-1-V2"), "2600002", false));
}

/// Polls the sandbox until dLocal has `payment_id` as `status` (the PSP's own clock, bounded).
async fn until_at_dlocal(psp: &RunningSandbox, payment_id: &str, status: PaymentStatus) {
    let client = dlocal_client(psp, 5_000);
    for _ in 0..100 {
        if client.payment(payment_id).await.unwrap().reading.status == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("dLocal never had {payment_id} as {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dlocal_ticket_is_cancelled_at_dlocal_first_then_in_the_ledger_once_and_the_buyer_is_told() {
    let ctx = ledger();
    let psp = sandbox("").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, fabio) = (who(&store, "sam"), who(&store, "fabio"));
    let c = clients(&psp, 5_000);
    let issued = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", None), Utc::now()).await.unwrap();
    let cancel = CancelRequest { order_id: "V-CO-1".into(), payment_id: None };
    let e = vouchers::cancel(&mut store, &c, &sam, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "auth.forbidden", "support may not cancel");

    let done = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap();
    assert_eq!(
        (done.payment_id.as_str(), done.status, done.replayed),
        (issued.payment_id.as_str(), PaymentStatus::Cancelled, false)
    );
    until_at_dlocal(&psp, &issued.payment_id, PaymentStatus::Cancelled).await;
    assert_eq!(
        statuses(&store, "V-CO-1"),
        vec![("D-OLD-1".to_string(), "expired".to_string()), (issued.payment_id.clone(), "cancelled".to_string())]
    );
    let mut told = both("voucher_instructions");
    told.extend(both("voucher_cancelled"));
    assert_eq!(messages(&store, "V-CO-1"), told);
    assert_eq!(voucher_audit(&store), ["voucher.issue_request", "voucher.issue", "voucher.cancel"]);
    let e = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.no_open_voucher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dlocal_cancel_whose_answer_was_lost_is_recorded_once_and_a_paid_ticket_is_never_cancelled() {
    let ctx = ledger();
    let psp = sandbox("[[dlocal.payments]]\norder_prefix = \"V-CO-1-V2\"\noutcome = \"paid\"\nafter_ms = 100\n").await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, fabio) = (who(&store, "sam"), who(&store, "fabio"));
    let c = clients(&psp, 5_000);

    // A time-out: the cancel reached dLocal, the answer did not reach us. Nothing is recorded.
    let issued = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", None), Utc::now()).await.unwrap();
    dlocal_client(&psp, 5_000).cancel_payment(&issued.payment_id).await.unwrap();
    assert_eq!(statuses(&store, "V-CO-1")[1], (issued.payment_id.clone(), "pending".to_string()));
    // The operator runs it again: dLocal says it is no longer pending, is asked, and it is cancelled.
    let cancel = CancelRequest { order_id: "V-CO-1".into(), payment_id: None };
    let done = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap();
    assert_eq!((done.status, done.replayed), (PaymentStatus::Cancelled, true));
    assert_eq!(statuses(&store, "V-CO-1")[1], (issued.payment_id.clone(), "cancelled".to_string()));
    assert_eq!(messages(&store, "V-CO-1").iter().filter(|(k, _)| k == "voucher_cancelled").count(), 2, "told once");
    assert_eq!(voucher_audit(&store).iter().filter(|a| *a == "voucher.cancel").count(), 1);

    // A new ticket, paid meanwhile: dLocal refuses, the ledger learns the payment, no message goes out.
    let paid = vouchers::issue(&mut store, &c, &sam, &issue_request("V-CO-1", None), Utc::now()).await.unwrap();
    assert_eq!(paid.reference.as_deref(), Some("V-CO-1-V2"));
    until_at_dlocal(&psp, &paid.payment_id, PaymentStatus::Paid).await;
    let told = messages(&store, "V-CO-1");
    let e = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!((e.code(), e.is_refusal()), ("vouchers.psp_refused", true));
    assert!(e.to_string().contains("the payment is PAID and cannot be cancelled"), "{e}");
    assert!(statuses(&store, "V-CO-1").contains(&(paid.payment_id.clone(), "paid".to_string())));
    assert_eq!(messages(&store, "V-CO-1"), told, "no cancellation message");
    assert_eq!(voucher_audit(&store).iter().filter(|a| *a == "voucher.cancel").count(), 1);
    let e = vouchers::cancel(&mut store, &c, &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!(e.code(), "vouchers.already_paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dlocal_cancel_that_times_out_records_nothing_and_the_retry_cancels_it_once() {
    let ctx = ledger();
    let psp = sandbox(&format!("[faults]\ndelay_ms = {SLOW_PSP_MS}\n")).await;
    let mut store = Store::open(&ctx.db).unwrap();
    let (sam, fabio) = (who(&store, "sam"), who(&store, "fabio"));
    let issued = vouchers::issue(&mut store, &clients(&psp, 5_000), &sam, &issue_request("V-CO-1", None), Utc::now())
        .await
        .unwrap();
    let told = messages(&store, "V-CO-1");
    let cancel = CancelRequest { order_id: "V-CO-1".into(), payment_id: None };
    let e = vouchers::cancel(&mut store, &clients(&psp, IMPATIENT_MS), &fabio, &cancel, Utc::now()).await.unwrap_err();
    assert_eq!((e.code(), e.is_refusal()), ("vouchers.psp_unconfirmed", false));
    assert_eq!(statuses(&store, "V-CO-1")[1], (issued.payment_id.clone(), "pending".to_string()), "nothing recorded");
    assert_eq!(messages(&store, "V-CO-1"), told);
    // Whether or not the first call got through (the client gave up on it), the
    // retry ends with the ticket cancelled at dLocal and recorded once.
    let done = vouchers::cancel(&mut store, &clients(&psp, 5_000), &fabio, &cancel, Utc::now()).await.unwrap();
    assert_eq!(done.status, PaymentStatus::Cancelled);
    let at_dlocal = dlocal_client(&psp, 5_000).payment(&issued.payment_id).await.unwrap();
    assert_eq!(at_dlocal.reading.status, PaymentStatus::Cancelled);
    assert_eq!(statuses(&store, "V-CO-1")[1], (issued.payment_id.clone(), "cancelled".to_string()));
    assert_eq!(voucher_audit(&store).iter().filter(|a| *a == "voucher.cancel").count(), 1);
}
