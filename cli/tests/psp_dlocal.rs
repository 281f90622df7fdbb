//! The dLocal connector against the sandbox (and a few canned servers), over
//! real HTTP on 127.0.0.1: signing, tickets, every status, refusals, faults,
//! notifications, refunds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use tokio::sync::mpsc;
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::payments::{PaymentStatus, VoucherNetwork};
use voucherdesk::psp::SignatureError;
use voucherdesk::psp::dlocal::client::{
    CashPayer, CashPaymentRequest, CashRefundRequest, DlocalClient, DlocalCredentials, DlocalError,
};
use voucherdesk::psp::dlocal::signature;
use voucherdesk::psp::dlocal::transformers::StatusReading;
use voucherdesk::psp::dlocal::wire::{BarcodeFormat, DlocalCashMethod, DlocalPaymentStatus, DlocalRefundStatus};
use voucherdesk_sandbox::{self as sandbox, RunningSandbox, SandboxConfig, Scenario};

const CLIENT_TIMEOUT_MS: u64 = 3_000;
/// Longest a test waits for a timed transition or a notification.
const WAIT_MS: u64 = 5_000;

fn credentials() -> DlocalCredentials {
    DlocalCredentials {
        login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
        trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
        secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
    }
}

fn client(base_url: &str) -> DlocalClient {
    DlocalClient::new(base_url, credentials(), Duration::from_millis(CLIENT_TIMEOUT_MS)).unwrap()
}

async fn start(scenario_toml: &str) -> RunningSandbox {
    let scenario = Scenario::from_toml(scenario_toml).unwrap();
    scenario.check().unwrap();
    RunningSandbox::start(SandboxConfig { scenario, ..SandboxConfig::default() }).await.unwrap()
}

fn efecty(order_id: &str, notification_url: Option<&str>) -> CashPaymentRequest {
    CashPaymentRequest {
        order_id: order_id.into(),
        amount_minor: 5_000_000,
        currency: Currency::Cop,
        country: Country::Colombia,
        method: DlocalCashMethod::Efecty,
        payer: CashPayer { name: "Ana Gómez".into(), email: "ana@example.com".into(), document: "1020304050".into() },
        description: None,
        notification_url: notification_url.map(str::to_string),
    }
}

fn pagoefectivo(order_id: &str) -> CashPaymentRequest {
    CashPaymentRequest {
        amount_minor: 8_990,
        currency: Currency::Pen,
        country: Country::Peru,
        method: DlocalCashMethod::PagoEfectivo,
        payer: CashPayer { name: "Luis Quispe".into(), email: "luis@example.com".into(), document: "45678912".into() },
        ..efecty(order_id, None)
    }
}

/// One request a canned server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// A server that records every request and answers `answer(path)` as
/// `(status, body)`.
async fn canned(answer: fn(&str) -> (u16, String)) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = log.clone();
        async move {
            let (status, text) = answer(uri.path());
            log.lock().unwrap().push(Seen { method, uri, headers, body });
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                text,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A notification receiver: every POST arrives on the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn next_notification(
    rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
) -> (HeaderMap, serde_json::Value, Bytes) {
    let (headers, body) = tokio::time::timeout(Duration::from_millis(WAIT_MS), rx.recv())
        .await
        .expect("a notification within the wait")
        .expect("receiver open");
    let json = serde_json::from_slice(&body).unwrap();
    (headers, json, body)
}

fn verify_notification(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let date = headers["x-date"].to_str().unwrap();
    let authorization = headers["authorization"].to_str().unwrap();
    signature::verify(sandbox::DEFAULT_DLOCAL_SECRET, sandbox::DEFAULT_DLOCAL_LOGIN, date, body, authorization)
}

/// Polls the payment's status until it is `wanted`.
async fn wait_for(client: &DlocalClient, payment_id: &str, wanted: DlocalPaymentStatus) -> StatusReading {
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
    loop {
        let reading = client.payment_status(payment_id).await.unwrap();
        if reading.dlocal_status == wanted {
            return reading;
        }
        assert!(Instant::now() < deadline, "{payment_id} still {:?}, wanted {wanted:?}", reading.dlocal_status);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const CANNED_PAYMENT: &str = r#"{"id":"D-4-1","amount":50000,"currency":"COP","country":"CO","payment_method_id":"EY",
    "status":"PENDING","status_code":"100","order_id":"ORD-1","ticket":{"number":"1"}}"#;

#[tokio::test]
async fn every_request_is_signed_over_login_date_and_the_raw_body() {
    let (url, seen) = canned(|path| match path {
        "/payments" => (200, CANNED_PAYMENT.into()),
        _ => (200, r#"{"status":"PENDING","status_code":"100"}"#.into()),
    })
    .await;
    let client = client(&url);
    client.create_cash_payment(&efecty("ORD-1", Some("http://127.0.0.1:9/n"))).await.unwrap();
    client.payment_status("D-4-1/../x?y").await.unwrap();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        let h = |name: &str| request.headers[name].to_str().unwrap().to_string();
        assert_eq!(h("x-login"), sandbox::DEFAULT_DLOCAL_LOGIN);
        assert_eq!(h("x-trans-key"), sandbox::DEFAULT_DLOCAL_TRANS_KEY);
        assert_eq!(h("x-version"), "2.1");
        assert_eq!(h("content-type"), "application/json");
        let date = h("x-date");
        // 2026-03-05T03:30:00.000Z
        assert_eq!(date.len(), 24, "{date}");
        assert!(date.ends_with('Z') && &date[19..20] == ".", "{date}");
        let expected =
            signature::signature(sandbox::DEFAULT_DLOCAL_SECRET, sandbox::DEFAULT_DLOCAL_LOGIN, &date, &request.body);
        assert_eq!(h("authorization"), format!("V2-HMAC-SHA256, Signature: {expected}"));
    }
    let create = &seen[0];
    assert_eq!((create.method.clone(), create.uri.path()), (Method::POST, "/payments"));
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "amount": 50000, "currency": "COP", "country": "CO", "payment_method_id": "EY",
            "payment_method_flow": "DIRECT", "order_id": "ORD-1", "notification_url": "http://127.0.0.1:9/n",
            "payer": {"name": "Ana Gómez", "email": "ana@example.com", "document": "1020304050"}
        })
    );
    // GET: empty body signed; the id is one escaped path segment.
    assert_eq!(seen[1].method, Method::GET);
    assert!(seen[1].body.is_empty());
    assert_eq!(seen[1].uri.path(), "/payments/D-4-1%2F..%2Fx%3Fy/status");
}

#[tokio::test]
async fn creates_tickets_for_both_networks_and_reads_them_back() {
    let sandbox = start("[dlocal]\nticket_lifetime_ms = 3600000\n").await;
    let client = client(&sandbox.base_url());

    let payment = client.create_cash_payment(&efecty("ORD-EY-1", None)).await.unwrap();
    assert_eq!(payment.amount_minor, 5_000_000);
    assert_eq!(payment.currency, Currency::Cop);
    assert_eq!(payment.network, VoucherNetwork::Efecty);
    assert_eq!(payment.reading.status, PaymentStatus::Pending);
    assert_eq!(payment.reading.status_code, 100);
    assert_eq!(payment.order_id.as_deref(), Some("ORD-EY-1"));
    let voucher = payment.voucher.clone().unwrap();
    assert_eq!(voucher.code.len(), 10);
    assert_eq!(voucher.barcode_format, Some(BarcodeFormat::Code128));
    assert_eq!(voucher.provider_name.as_deref(), Some("Efecty"));
    let lifetime = voucher.expires_at.unwrap() - payment.created_at.unwrap();
    assert_eq!(lifetime.num_milliseconds(), 3_600_000);

    let again = client.payment(&payment.payment_id).await.unwrap();
    assert_eq!(again, payment);
    let order = client.order("ORD-EY-1").await.unwrap();
    assert_eq!(order.payment_id, payment.payment_id);
    assert_eq!(order.amount_minor, 5_000_000);
    assert_eq!(order.reading.status, PaymentStatus::Pending);

    let pe = client.create_cash_payment(&pagoefectivo("ORD-EF-1")).await.unwrap();
    assert_eq!(pe.amount_minor, 8_990);
    assert_eq!(pe.network, VoucherNetwork::PagoEfectivo);
    let voucher = pe.voucher.unwrap();
    assert_eq!(voucher.barcode_format, Some(BarcodeFormat::Itf));
    assert_eq!(voucher.barcode.unwrap().len() % 2, 0);

    let missing = client.order("NO-SUCH-ORDER").await.unwrap_err();
    assert_eq!(missing.code(), "dlocal.refused");
    assert_eq!(missing.dlocal_code(), Some(4000));
    // Same order id twice: dLocal's 5009.
    let duplicated = client.create_cash_payment(&efecty("ORD-EY-1", None)).await.unwrap_err();
    assert_eq!(duplicated.dlocal_code(), Some(5009));
    // COP with centavos cannot be quoted: refused before sending.
    let cents = CashPaymentRequest { amount_minor: 5_000_050, ..efecty("ORD-EY-2", None) };
    let err = client.create_cash_payment(&cents).await.unwrap_err();
    assert_eq!(err.code(), "dlocal.amount");
    assert_eq!(
        err.to_string(),
        "dLocal create payment: 5000050 minor units of COP cannot be quoted to dLocal, which takes COP with 0 decimals"
    );
}

#[tokio::test]
async fn maps_every_status_with_string_or_number_codes() {
    let (url, _) = canned(|path| {
        let body = match path.trim_start_matches("/payments/").trim_end_matches("/status") {
            "pending" => r#"{"status":"PENDING","status_code":"100"}"#,
            "paid" => r#"{"status":"PAID","status_code":200}"#,
            "rejected" => r#"{"status":"REJECTED","status_code":"300"}"#,
            "duplicated" => r#"{"status":"REJECTED","status_code":307,"status_detail":"Duplicated payment."}"#,
            "cancelled" => r#"{"status":"CANCELLED","status_code":"400"}"#,
            "expired" => r#"{"status":"EXPIRED","status_code":"400"}"#,
            "authorized" => r#"{"status":"AUTHORIZED","status_code":600}"#,
            "verified" => r#"{"status":"VERIFIED","status_code":"700"}"#,
            "settled" => r#"{"status":"SETTLED","status_code":"800"}"#,
            "garbled" => r#"{"status":"PAID","status_code":"two hundred"}"#,
            _ => r#"{"status":"PAID"}"#,
        };
        (200, body.into())
    })
    .await;
    let client = client(&url);
    let cases = [
        ("pending", PaymentStatus::Pending, DlocalPaymentStatus::Pending, 100),
        ("paid", PaymentStatus::Paid, DlocalPaymentStatus::Paid, 200),
        ("rejected", PaymentStatus::Rejected, DlocalPaymentStatus::Rejected, 300),
        ("duplicated", PaymentStatus::Rejected, DlocalPaymentStatus::Rejected, 307),
        ("cancelled", PaymentStatus::Cancelled, DlocalPaymentStatus::Cancelled, 400),
        ("expired", PaymentStatus::Expired, DlocalPaymentStatus::Expired, 400),
        ("authorized", PaymentStatus::Pending, DlocalPaymentStatus::Authorized, 600),
        ("verified", PaymentStatus::Pending, DlocalPaymentStatus::Verified, 700),
    ];
    for (id, status, dlocal_status, code) in cases {
        let reading = client.payment_status(id).await.unwrap();
        assert_eq!((reading.status, reading.dlocal_status, reading.status_code), (status, dlocal_status, code), "{id}");
    }
    let unknown = client.payment_status("settled").await.unwrap_err();
    assert_eq!(unknown.code(), "dlocal.unknown_status");
    assert!(!unknown.is_retryable());
    assert!(unknown.to_string().contains("unknown dLocal status \"SETTLED\""), "{unknown}");
    let garbled = client.payment_status("garbled").await.unwrap_err();
    assert_eq!(garbled.code(), "dlocal.decode");
    assert!(garbled.to_string().contains("at `status_code`"), "{garbled}");
    let no_code = client.payment_status("other").await.unwrap_err();
    assert!(no_code.to_string().contains("missing field `status_code`"), "{no_code}");
}

#[tokio::test]
async fn the_sandbox_moves_payments_on_its_timers() {
    let sandbox = start(
        r#"
        [[dlocal.payments]]
        order_prefix = "PAID-"
        outcome = "paid"
        after_ms = 150
        [[dlocal.payments]]
        order_prefix = "LATE-"
        outcome = "paid_after_expiry"
        expires_after_ms = 150
        after_ms = 400
        [[dlocal.payments]]
        amount = "89.90"
        outcome = "never_paid"
        expires_after_ms = 150
        "#,
    )
    .await;
    let client = client(&sandbox.base_url());
    let paid = client.create_cash_payment(&efecty("PAID-1", None)).await.unwrap();
    let late = client.create_cash_payment(&efecty("LATE-1", None)).await.unwrap();
    let never = client.create_cash_payment(&pagoefectivo("ANY-1")).await.unwrap();

    assert_eq!(wait_for(&client, &paid.payment_id, DlocalPaymentStatus::Paid).await.status_code, 200);
    let expired = wait_for(&client, &never.payment_id, DlocalPaymentStatus::Expired).await;
    assert_eq!(expired.status, PaymentStatus::Expired);
    wait_for(&client, &late.payment_id, DlocalPaymentStatus::Expired).await;
    wait_for(&client, &late.payment_id, DlocalPaymentStatus::Paid).await;
    let read = client.payment(&paid.payment_id).await.unwrap();
    assert!(read.approved_at.is_some());
    assert_eq!(client.order("LATE-1").await.unwrap().reading.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn refusals_come_back_with_dlocal_codes() {
    let sandbox = start("").await;
    let url = sandbox.base_url();

    let wrong_key = DlocalCredentials { trans_key: "nope".into(), ..credentials() };
    let err = DlocalClient::new(&url, wrong_key, Duration::from_secs(3)).unwrap();
    let err = err.create_cash_payment(&efecty("ORD-1", None)).await.unwrap_err();
    assert_eq!(err.code(), "dlocal.credentials");
    assert_eq!(err.dlocal_code(), Some(3001));
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        "dLocal create payment: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials."
    );

    let wrong_secret = DlocalCredentials { secret: "not-the-secret".into(), ..credentials() };
    let bad_signature = DlocalClient::new(&url, wrong_secret, Duration::from_secs(3)).unwrap();
    let err = bad_signature.payment_status("D-4-x").await.unwrap_err();
    assert_eq!((err.code(), err.dlocal_code()), ("dlocal.credentials", Some(3001)));
    assert!(!format!("{err} {err:?}").contains("not-the-secret"));

    let client = client(&url);
    let no_document = CashPaymentRequest {
        payer: CashPayer { document: String::new(), ..efecty("x", None).payer },
        ..efecty("ORD-2", None)
    };
    match client.create_cash_payment(&no_document).await.unwrap_err() {
        DlocalError::Refused { http_status, dlocal_code, message, param, .. } => {
            assert_eq!((http_status, dlocal_code), (400, Some(5001)));
            assert_eq!(message, "Missing parameter. [payer.document]");
            assert_eq!(param.as_deref(), Some("payer.document"));
        }
        other => panic!("{other:?}"),
    }
    let wrong_method = CashPaymentRequest { method: DlocalCashMethod::PagoEfectivo, ..efecty("ORD-3", None) };
    let err = client.create_cash_payment(&wrong_method).await.unwrap_err();
    assert_eq!((err.code(), err.dlocal_code()), ("dlocal.refused", Some(5010)));
    let wrong_currency = CashPaymentRequest { currency: Currency::Usd, amount_minor: 1_000, ..efecty("ORD-4", None) };
    assert_eq!(client.create_cash_payment(&wrong_currency).await.unwrap_err().dlocal_code(), Some(5004));
    let unknown = client.payment_status("D-4-unknown").await.unwrap_err();
    assert_eq!(unknown.dlocal_code(), Some(4000));
}

#[tokio::test]
async fn a_5xx_burst_is_retryable_then_passes() {
    let sandbox = start("[faults]\nfail_first = 2\n").await;
    let client = client(&sandbox.base_url());
    for _ in 0..2 {
        let err = client.create_cash_payment(&efecty("ORD-1", None)).await.unwrap_err();
        assert_eq!(err.code(), "dlocal.server");
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "dLocal create payment: server error (HTTP 503, dLocal code 7000): Failed to process the request."
        );
    }
    client.create_cash_payment(&efecty("ORD-1", None)).await.unwrap();
}

#[tokio::test]
async fn every_kth_answer_fails() {
    let sandbox = start("[faults]\nfail_every = 3\n").await;
    let client = client(&sandbox.base_url());
    let mut failures = Vec::new();
    for n in 1..=6 {
        if client.payment_status("D-none").await.unwrap_err().code() == "dlocal.server" {
            failures.push(n);
        }
    }
    assert_eq!(failures, vec![3, 6]);
}

#[tokio::test]
async fn a_held_request_times_out_and_a_slow_one_does_not() {
    let sandbox = start("[faults]\nhold_first = 1\nhold_ms = 2000\n").await;
    let impatient = DlocalClient::new(&sandbox.base_url(), credentials(), Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let err = impatient.create_cash_payment(&efecty("ORD-1", None)).await.unwrap_err();
    assert_eq!(err.code(), "dlocal.timeout");
    assert!(err.is_retryable());
    assert!(started.elapsed() < Duration::from_millis(1_500), "{:?}", started.elapsed());

    let slow = start("[faults]\ndelay_ms = 300\n").await;
    let client = client(&slow.base_url());
    let started = Instant::now();
    client.create_cash_payment(&efecty("ORD-1", None)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
}

#[tokio::test]
async fn rate_limiting_says_when_to_come_back() {
    let sandbox = start("[faults]\nrate_limit_per_s = 2\nretry_after_s = 7\n").await;
    let client = client(&sandbox.base_url());
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(client.payment_status("D-none").await.unwrap_err());
    }
    assert_eq!(outcomes[0].code(), "dlocal.refused");
    assert_eq!(outcomes[1].code(), "dlocal.refused");
    let limited = &outcomes[2];
    assert_eq!(limited.code(), "dlocal.rate_limited");
    assert!(limited.is_retryable());
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn notifications_are_signed_and_can_come_twice_late_or_out_of_order() {
    let sandbox = start(
        r#"
        [[dlocal.payments]]
        order_prefix = "TWICE-"
        outcome = "paid"
        after_ms = 50
        notify = { copies = 2, delay_ms = 100 }
        [[dlocal.payments]]
        order_prefix = "STALE-"
        outcome = "paid"
        after_ms = 50
        notify = { stale_pending_after_paid = true }
        "#,
    )
    .await;
    let client = client(&sandbox.base_url());

    let (url, mut rx) = receiver().await;
    let created = Instant::now();
    let twice = client.create_cash_payment(&efecty("TWICE-1", Some(&url))).await.unwrap();
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let (headers, json, body) = next_notification(&mut rx).await;
        assert_eq!(verify_notification(&headers, &body), Ok(()));
        assert_eq!(json["id"], twice.payment_id.as_str());
        assert_eq!((json["status"].as_str(), json["status_code"].as_str()), (Some("PAID"), Some("200")));
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1]);
    assert!(created.elapsed() >= Duration::from_millis(150), "late: {:?}", created.elapsed());

    let (url, mut rx) = receiver().await;
    let stale = client.create_cash_payment(&efecty("STALE-1", Some(&url))).await.unwrap();
    let (headers, first, body) = next_notification(&mut rx).await;
    assert_eq!(verify_notification(&headers, &body), Ok(()));
    let (headers, second, body) = next_notification(&mut rx).await;
    assert_eq!(verify_notification(&headers, &body), Ok(()));
    assert_eq!((first["id"].as_str(), first["status"].as_str()), (Some(stale.payment_id.as_str()), Some("PAID")));
    assert_eq!((second["id"].as_str(), second["status"].as_str()), (Some(stale.payment_id.as_str()), Some("PENDING")));
}

#[tokio::test]
async fn a_badly_signed_notification_fails_verification_and_a_second_payment_is_rejected_307() {
    let sandbox = start(
        r#"
        [[dlocal.payments]]
        order_prefix = "FORGED-"
        outcome = "paid"
        notify = { bad_signature = true }
        [[dlocal.payments]]
        order_prefix = "DOUBLE-"
        outcome = "paid_twice"
        second_after_ms = 50
        "#,
    )
    .await;
    let client = client(&sandbox.base_url());
    let (url, mut rx) = receiver().await;
    client.create_cash_payment(&efecty("FORGED-1", Some(&url))).await.unwrap();
    let (headers, json, body) = next_notification(&mut rx).await;
    assert_eq!(json["status"], "PAID");
    assert_eq!(verify_notification(&headers, &body), Err(SignatureError::Mismatch));

    // The sandbox-wide URL is used when the request names none.
    let (url, mut rx) = receiver().await;
    let with_default_url = RunningSandbox::start(SandboxConfig {
        notification_url: Some(url),
        scenario: Scenario::from_toml(
            "[[dlocal.payments]]\norder_prefix = \"DOUBLE-\"\noutcome = \"paid_twice\"\nsecond_after_ms = 50\n",
        )
        .unwrap(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    drop(sandbox);
    let client = self::client(&with_default_url.base_url());
    let first = client.create_cash_payment(&efecty("DOUBLE-1", None)).await.unwrap();
    let (_, paid, _) = next_notification(&mut rx).await;
    assert_eq!((paid["id"].as_str(), paid["status"].as_str()), (Some(first.payment_id.as_str()), Some("PAID")));
    let (headers, duplicate, body) = next_notification(&mut rx).await;
    assert_eq!(verify_notification(&headers, &body), Ok(()));
    assert_eq!(duplicate["status"], "REJECTED");
    assert_eq!(duplicate["status_code"], "307");
    assert_eq!(duplicate["order_id"], "DOUBLE-1");
    assert_eq!(duplicate["ticket"]["number"], paid["ticket"]["number"]);
    let second_id = duplicate["id"].as_str().unwrap();
    assert_ne!(second_id, first.payment_id);
    let reading = client.payment_status(second_id).await.unwrap();
    assert_eq!((reading.status, reading.status_code), (PaymentStatus::Rejected, 307));
    assert_eq!(reading.status_detail.as_deref(), Some("Duplicated payment."));
    // The order still points at the paid one.
    assert_eq!(client.order("DOUBLE-1").await.unwrap().reading.status, PaymentStatus::Paid);
}

#[tokio::test]
async fn refunds_succeed_stay_pending_or_are_rejected() {
    let sandbox = start(
        r#"
        [[dlocal.payments]]
        outcome = "paid"
        [[dlocal.refunds]]
        order_prefix = "KEEP-"
        outcome = "pending"
        [[dlocal.refunds]]
        order_prefix = "NO-"
        outcome = "rejected"
        after_ms = 100
        [[dlocal.refunds]]
        order_prefix = "OK-"
        outcome = "success"
        "#,
    )
    .await;
    let client = client(&sandbox.base_url());
    let refund = |payment_id: &str, amount_minor: Option<i64>, notification_url: Option<String>| CashRefundRequest {
        payment_id: payment_id.into(),
        amount_minor,
        currency: Currency::Cop,
        notification_url,
        description: None,
        beneficiary: Default::default(),
    };

    let ok = client.create_cash_payment(&efecty("OK-1", None)).await.unwrap();
    // Not paid yet or paid: the sandbox pays at once (after_ms = 0), so wait for it.
    wait_for(&client, &ok.payment_id, DlocalPaymentStatus::Paid).await;
    let part = client.create_refund(&refund(&ok.payment_id, Some(2_000_000), None)).await.unwrap();
    assert_eq!((part.status, part.status_code, part.amount_minor), (DlocalRefundStatus::Success, 200, 2_000_000));
    let rest = client.create_refund(&refund(&ok.payment_id, None, None)).await.unwrap();
    assert_eq!(rest.amount_minor, 3_000_000);
    let over = client.create_refund(&refund(&ok.payment_id, Some(100), None)).await.unwrap_err();
    assert_eq!(over.dlocal_code(), Some(5007));
    assert_eq!(client.refund_status(&part.refund_id).await.unwrap(), part);

    let keep = client.create_cash_payment(&efecty("KEEP-1", None)).await.unwrap();
    wait_for(&client, &keep.payment_id, DlocalPaymentStatus::Paid).await;
    let pending = client.create_refund(&refund(&keep.payment_id, None, None)).await.unwrap();
    assert_eq!((pending.status, pending.status_code), (DlocalRefundStatus::Pending, 100));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(client.refund_status(&pending.refund_id).await.unwrap().status, DlocalRefundStatus::Pending);

    let (url, mut rx) = receiver().await;
    let no = client.create_cash_payment(&efecty("NO-1", None)).await.unwrap();
    wait_for(&client, &no.payment_id, DlocalPaymentStatus::Paid).await;
    let rejected = client.create_refund(&refund(&no.payment_id, None, Some(url))).await.unwrap();
    assert_eq!(rejected.status, DlocalRefundStatus::Pending);
    let (headers, json, body) = next_notification(&mut rx).await;
    assert_eq!(verify_notification(&headers, &body), Ok(()));
    assert_eq!((json["id"].as_str(), json["status"].as_str()), (Some(rejected.refund_id.as_str()), Some("REJECTED")));
    assert_eq!(json["status_code"], 300);
    let read = client.refund_status(&rejected.refund_id).await.unwrap();
    assert_eq!((read.status, read.status_code), (DlocalRefundStatus::Rejected, 300));

    // Refunding an unpaid payment: dLocal's 5002.
    let unpaid = start("").await;
    let unpaid_client = self::client(&unpaid.base_url());
    let open = unpaid_client.create_cash_payment(&efecty("OPEN-1", None)).await.unwrap();
    let err = unpaid_client.create_refund(&refund(&open.payment_id, None, None)).await.unwrap_err();
    assert_eq!(err.dlocal_code(), Some(5002));
}

#[tokio::test]
async fn the_shipped_scenarios_load() {
    for name in ["demo.toml", "faults.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("assets/scenarios").join(name);
        Scenario::from_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn an_oversized_answer_is_refused_unread() {
    let (url, _) = canned(|_| (200, format!("{{\"padding\":\"{}\"}}", "x".repeat(2 * 1024 * 1024)))).await;
    let err = client(&url).payment_status("D-1").await.unwrap_err();
    assert_eq!(err.code(), "dlocal.body_too_large");
    assert_eq!(err.to_string(), "dLocal payment status: answer larger than 1048576 bytes");
    assert!(!err.is_retryable());
}
