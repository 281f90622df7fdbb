//! The PagoEfectivo connector against the sandbox, over real loopback HTTP.
//!
//! A small recording proxy sits between the client and the sandbox so tests
//! see exactly what the client sends (token hash, headers, amounts) and count
//! token requests; a callback sink receives the sandbox's signed callbacks.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::pe_payer;

use voucherdesk::money::Currency;
use voucherdesk::payments::PaymentStatus;
use voucherdesk::psp::SignatureError;
use voucherdesk::psp::pagoefectivo::api::{self, Callback};
use voucherdesk::psp::pagoefectivo::client::{
    CipQuery, CipRecord, NewCip, PagoEfectivoClient, PagoEfectivoError, Payer, PeCredentials,
};
use voucherdesk::psp::pagoefectivo::signature::{token_hash, verify_callback};
use voucherdesk::psp::pagoefectivo::transformers;
use voucherdesk::psp::pagoefectivo::wire::CipEvent;
use voucherdesk_sandbox::pagoefectivo::{PeOutcome, PeRule, PeScenario};
use voucherdesk_sandbox::{
    DEFAULT_PE_ACCESS_KEY, DEFAULT_PE_SECRET, DEFAULT_PE_SERVICE_ID, RunningSandbox, SandboxConfig, Scenario,
};

/// Longest a test waits for a scripted change or a callback.
const WAIT_MS_MAX: u64 = 6_000;
const POLL_MS: u64 = 25;

#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    request_headers: HeaderMap,
    request_body: Vec<u8>,
    status: u16,
    response_body: Vec<u8>,
}

impl Exchange {
    fn request_json(&self) -> Value {
        serde_json::from_slice(&self.request_body).unwrap()
    }

    fn response_json(&self) -> Value {
        serde_json::from_slice(&self.response_body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.request_headers.get(name).map(|value| value.to_str().unwrap()).unwrap_or("")
    }
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    log: Arc<Mutex<Vec<Exchange>>>,
}

async fn forward(State(proxy): State<Proxy>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let mut request = proxy.http.request(method.clone(), format!("{}{path}", proxy.upstream)).body(body.to_vec());
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let response_body = response.bytes().await.unwrap().to_vec();
    proxy.log.lock().unwrap().push(Exchange {
        method: method.to_string(),
        path: uri.path().to_string(),
        request_headers: headers,
        request_body: body.to_vec(),
        status,
        response_body: response_body.clone(),
    });
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], response_body).into_response()
}

#[derive(Debug, Clone)]
struct Received {
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn callback(&self) -> Callback {
        api::decode(&self.body).unwrap()
    }
}

type Sink = Arc<Mutex<Vec<Received>>>;

async fn receive(State(sink): State<Sink>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get(api::SIGNATURE_HEADER).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    sink.lock().unwrap().push(Received { signature, body: body.to_vec() });
    StatusCode::OK
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

struct Harness {
    _sandbox: RunningSandbox,
    /// The sandbox itself, for raw requests.
    sandbox_url: String,
    /// The recording proxy in front of it, where clients point.
    proxy_url: String,
    log: Arc<Mutex<Vec<Exchange>>>,
    callbacks: Sink,
}

fn credentials() -> PeCredentials {
    PeCredentials {
        service_id: DEFAULT_PE_SERVICE_ID.into(),
        access_key: DEFAULT_PE_ACCESS_KEY.into(),
        secret: DEFAULT_PE_SECRET.into(),
    }
}

fn rule(prefix: &str, outcome: PeOutcome, after_ms: u64) -> PeRule {
    PeRule {
        transaction_code_prefix: Some(prefix.into()),
        amount: None,
        outcome,
        after_ms,
        second_after_ms: 0,
        callback_delay_ms: 0,
        callback_twice: false,
        callback_out_of_order: false,
        callback_bad_signature: false,
    }
}

impl Harness {
    async fn start(pagoefectivo: PeScenario) -> Harness {
        let callbacks: Sink = Arc::default();
        let sink_url =
            serve(axum::Router::new().route("/callbacks", axum::routing::post(receive)).with_state(callbacks.clone()))
                .await;
        let config = SandboxConfig {
            notification_url: Some(format!("{sink_url}/callbacks")),
            scenario: Scenario { pagoefectivo, ..Scenario::default() },
            ..SandboxConfig::default()
        };
        let sandbox = RunningSandbox::start(config).await.unwrap();
        let log: Arc<Mutex<Vec<Exchange>>> = Arc::default();
        let proxy = Proxy {
            upstream: sandbox.base_url(),
            http: voucherdesk::psp::http::client(Duration::from_secs(10)).unwrap(),
            log: log.clone(),
        };
        let proxy_url = serve(axum::Router::new().fallback(forward).with_state(proxy)).await;
        Harness { sandbox_url: sandbox.base_url(), _sandbox: sandbox, proxy_url, log, callbacks }
    }

    fn client(&self) -> PagoEfectivoClient {
        PagoEfectivoClient::new(&self.proxy_url, credentials()).unwrap()
    }

    fn exchanges(&self, path: &str) -> Vec<Exchange> {
        self.log.lock().unwrap().iter().filter(|e| e.path == path).cloned().collect()
    }

    fn token_requests(&self) -> usize {
        self.exchanges(api::AUTHORIZATIONS_PATH).len()
    }

    async fn wait_for_callbacks(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(WAIT_MS_MAX);
        loop {
            let received = self.callbacks.lock().unwrap().clone();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// A token straight from the sandbox (for raw requests).
    async fn raw_token(&self) -> String {
        let answer = post_token(&self.sandbox_url, &lima_now()).await;
        assert_eq!(answer.0, 200, "{}", answer.1);
        answer.1["data"]["token"].as_str().unwrap().to_string()
    }
}

fn lima_now() -> String {
    api::lima_timestamp(Utc::now())
}

async fn post_token(base: &str, date_request: &str) -> (u16, Value) {
    let body = json!({
        "accessKey": DEFAULT_PE_ACCESS_KEY,
        "idService": DEFAULT_PE_SERVICE_ID.parse::<u64>().unwrap(),
        "dateRequest": date_request,
        "hashString": token_hash(DEFAULT_PE_SERVICE_ID, DEFAULT_PE_ACCESS_KEY, DEFAULT_PE_SECRET, date_request),
    });
    let response =
        reqwest::Client::new().post(format!("{base}{}", api::AUTHORIZATIONS_PATH)).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn payer() -> Payer {
    Payer {
        ubigeo: Some("150101".into()),
        country: Some("PERU".into()),
        ..pe_payer("ana.quispe@example.pe", "Ana", "Quispe", "45678912", "987654321")
    }
}

fn new_cip(transaction_code: &str, amount_minor: i64, expires_in_ms: i64) -> NewCip {
    NewCip {
        transaction_code: transaction_code.into(),
        currency: Currency::Pen,
        amount_minor,
        expires_at: Utc::now() + chrono::Duration::milliseconds(expires_in_ms),
        concept: "Pedido en tienda".into(),
        additional_data: None,
        payer: payer(),
    }
}

const HOUR_MS: i64 = 3_600_000;

async fn search_one(client: &PagoEfectivoClient, cip: u64) -> CipRecord {
    let mut found = client.search_cips(&[CipQuery::Cip(cip)]).await.unwrap();
    assert_eq!(found.len(), 1);
    found.remove(0)
}

/// Polls search until the CIP reaches `status` (or the wait runs out).
async fn wait_for_status(client: &PagoEfectivoClient, cip: u64, status: PaymentStatus) -> CipRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(WAIT_MS_MAX);
    loop {
        let record = search_one(client, cip).await;
        if record.status == status || tokio::time::Instant::now() > deadline {
            assert_eq!(record.status, status, "{record:?}");
            return record;
        }
        tokio::time::sleep(Duration::from_millis(POLL_MS * 4)).await;
    }
}

fn truncated_to_second(instant: DateTime<Utc>) -> DateTime<Utc> {
    api::parse_timestamp(&api::lima_timestamp(instant)).unwrap()
}

#[tokio::test]
async fn the_token_request_carries_a_hash_anyone_with_the_secret_can_recompute() {
    let harness = Harness::start(PeScenario::default()).await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("ORD-HASH", 8_990, HOUR_MS)).await.unwrap();

    let token = &harness.exchanges(api::AUTHORIZATIONS_PATH)[0];
    let sent = token.request_json();
    let date_request = sent["dateRequest"].as_str().unwrap();
    assert!(date_request.ends_with("-05:00"), "{date_request}");
    let sent_at = api::parse_timestamp(date_request).unwrap();
    assert!((Utc::now() - sent_at).num_seconds().abs() <= 5, "{date_request}");
    assert_eq!(sent["idService"], json!(1234));
    assert_eq!(sent["accessKey"], json!(DEFAULT_PE_ACCESS_KEY));
    assert_eq!(
        sent["hashString"].as_str().unwrap(),
        token_hash(DEFAULT_PE_SERVICE_ID, DEFAULT_PE_ACCESS_KEY, DEFAULT_PE_SECRET, date_request)
    );
    assert_eq!(token.status, 200);
    let answer = token.response_json();
    assert_eq!(answer["code"], json!("100"));
    let issued = answer["data"]["token"].as_str().unwrap();

    let create = &harness.exchanges(api::CIPS_PATH)[0];
    assert_eq!(create.method, "POST");
    assert_eq!(create.header("authorization"), format!("Bearer {issued}"));
    assert_eq!(create.header("accept-language"), "es-PE");
    assert_eq!(create.header("content-type"), "application/json");
    // The amount leaves as the exact decimal number, never a float's rendering.
    assert!(String::from_utf8_lossy(&create.request_body).contains(r#""amount":89.90"#));
    assert_eq!(created.amount_minor, 8_990);
}

#[tokio::test]
async fn one_token_serves_several_calls() {
    let harness = Harness::start(PeScenario::default()).await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("ORD-CACHE", 1_000, HOUR_MS)).await.unwrap();
    search_one(&client, created.cip).await;
    client.extend_cip(created.cip, Utc::now() + chrono::Duration::hours(2)).await.unwrap();
    client.cancel_cip(created.cip).await.unwrap();
    assert_eq!(harness.token_requests(), 1);
    let cip_calls = harness.log.lock().unwrap().iter().filter(|e| e.path.starts_with(api::CIPS_PATH)).count();
    assert_eq!(cip_calls, 4);
}

#[tokio::test]
async fn an_expiring_token_is_renewed_before_it_is_refused() {
    let harness = Harness::start(PeScenario { token_lifetime_ms: 2_000, ..PeScenario::default() }).await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("ORD-RENEW", 1_000, HOUR_MS)).await.unwrap();
    search_one(&client, created.cip).await;
    assert_eq!(harness.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    search_one(&client, created.cip).await;
    assert_eq!(harness.token_requests(), 2);
    // Renewed ahead of time: the sandbox never had to say 401.
    assert!(harness.log.lock().unwrap().iter().all(|e| e.status == 200));
}

#[tokio::test]
async fn a_token_that_dies_early_is_renewed_once_on_401() {
    let scenario = PeScenario { token_lifetime_ms: 60_000, token_dies_early_ms: 59_000, ..PeScenario::default() };
    let harness = Harness::start(scenario).await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("ORD-401", 1_000, HOUR_MS)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let record = search_one(&client, created.cip).await;
    assert_eq!(record.status, PaymentStatus::Pending);
    let searches = harness.exchanges(api::CIPS_SEARCH_PATH);
    assert_eq!(searches.iter().map(|e| e.status).collect::<Vec<_>>(), [401, 200]);
    assert_eq!(searches[0].response_json(), json!({"code": "113", "message": "Token inválido o expirado", "data": []}));
    assert_eq!(harness.token_requests(), 2);
}

#[tokio::test]
async fn refused_credentials_surface_pagoefectivo_code_and_field() {
    let harness = Harness::start(PeScenario::default()).await;
    let cases = [
        (PeCredentials { access_key: "wrong-access".into(), ..credentials() }, "accessKey"),
        (PeCredentials { secret: "wrong-secret".into(), ..credentials() }, "hashString"),
        (PeCredentials { service_id: "999".into(), ..credentials() }, "idService"),
    ];
    for (credentials, field) in cases {
        let client = PagoEfectivoClient::new(&harness.proxy_url, credentials).unwrap();
        let err = client.create_cip(&new_cip("ORD-DENIED", 1_000, HOUR_MS)).await.unwrap_err();
        assert_eq!(err.code(), "pagoefectivo.unauthorized", "{err}");
        assert_eq!(err.psp_code(), Some("112"));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            format!(
                "PagoEfectivo token: refused (HTTP 401), code 112: Credenciales inválidas; {field}: No válido (112)"
            )
        );
        assert!(!err.to_string().contains("wrong-secret"));
    }
    assert!(harness.exchanges(api::CIPS_PATH).is_empty(), "no CIP call without a token");
}

#[tokio::test]
async fn a_stale_or_skewed_date_request_is_refused() {
    let harness = Harness::start(PeScenario::default()).await;
    for offset_minutes in [-10, 10] {
        let date = api::lima_timestamp(Utc::now() + chrono::Duration::minutes(offset_minutes));
        let (status, body) = post_token(&harness.sandbox_url, &date).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"code": "111", "message": "Solicitud con datos inválidos", "data": [
                {"code": "111", "field": "dateRequest", "message": "Fecha de solicitud inválida o fuera de rango"}]})
        );
    }
    let (status, _) = post_token(&harness.sandbox_url, &lima_now()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_created_cip_has_its_url_and_a_lima_expiry() {
    let harness = Harness::start(PeScenario::default()).await;
    let client = harness.client();
    let order = new_cip("ORD-CREATE", 12_345, 2 * HOUR_MS);
    let created = client.create_cip(&order).await.unwrap();
    assert_eq!(created.cip, voucherdesk_sandbox::pagoefectivo::FIRST_CIP);
    assert_eq!((created.currency, created.amount_minor), (Currency::Pen, 12_345));
    assert_eq!(created.transaction_code, "ORD-CREATE");
    assert_eq!(created.expires_at, truncated_to_second(order.expires_at));
    assert!(created.date_expiry.ends_with("-05:00"), "{}", created.date_expiry);
    assert_eq!(created.date_expiry, api::lima_timestamp(order.expires_at));
    let sent = harness.exchanges(api::CIPS_PATH)[0].request_json();
    assert_eq!(sent["dateExpiry"], json!(created.date_expiry));
    assert_eq!(sent["userCodeCountry"], json!("+51"));
    assert_eq!(sent["currency"], json!("PEN"));

    assert!(created.cip_url.ends_with(&format!("/pe/cip/{}", created.cip)), "{}", created.cip_url);
    let page = reqwest::get(&created.cip_url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!("CIP {}", created.cip)) && page.contains("123.45 PEN"), "{page}");

    let second = client.create_cip(&new_cip("ORD-CREATE-2", 100, HOUR_MS)).await.unwrap();
    assert_eq!(second.cip, created.cip + 1);
    let duplicate = client.create_cip(&new_cip("ORD-CREATE", 100, HOUR_MS)).await.unwrap_err();
    assert_eq!(duplicate.psp_code(), Some("111"));
    assert!(duplicate.to_string().contains("transactionCode: Ya existe un CIP"), "{duplicate}");
}

#[tokio::test]
async fn bad_cip_requests_get_pagoefectivo_error_bodies() {
    let harness = Harness::start(PeScenario::default()).await;
    let token = harness.raw_token().await;
    let http = reqwest::Client::new();
    let post = |body: Value, bearer: Option<String>| {
        let mut request = http.post(format!("{}{}", harness.sandbox_url, api::CIPS_PATH)).json(&body);
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let valid = json!({
        "currency": "PEN", "amount": 10.50, "transactionCode": "RAW-1", "dateExpiry": api::lima_timestamp(Utc::now() + chrono::Duration::hours(1)),
        "paymentConcept": "x", "userEmail": "a@b.pe", "userName": "A", "userLastName": "B", "userDocumentType": "DNI",
        "userDocumentNumber": "1", "userPhone": "9", "userCodeCountry": "+51",
    });

    let (status, body) = post(valid.clone(), None).await;
    assert_eq!((status, body["code"].clone()), (401, json!("113")));
    let (status, body) = post(valid.clone(), Some("forged".into())).await;
    assert_eq!((status, body["code"].clone()), (401, json!("113")));

    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("userEmail");
    missing["paymentConcept"] = json!("  ");
    let (status, body) = post(missing, Some(token.clone())).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"code": "111", "message": "Solicitud con datos inválidos", "data": [
            {"code": "111", "field": "paymentConcept", "message": "Campo requerido"},
            {"code": "111", "field": "userEmail", "message": "Campo requerido"}]})
    );

    let mut wrong = valid.clone();
    wrong["currency"] = json!("EUR");
    wrong["dateExpiry"] = json!(api::lima_timestamp(Utc::now() - chrono::Duration::minutes(1)));
    let (status, body) = post(wrong, Some(token.clone())).await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = body["data"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["currency", "dateExpiry"]);

    let mut cents = valid.clone();
    cents["amount"] = json!("10.505");
    let (status, body) = post(cents, Some(token.clone())).await;
    assert_eq!((status, body["data"][0]["field"].clone()), (400, json!("amount")));

    let (status, body) = post(valid, Some(token)).await;
    assert_eq!((status, body["code"].clone(), body["data"]["amount"].clone()), (200, json!("100"), json!(10.5)));

    // Through the client: a past expiry is the PSP's refusal, a currency it does not take is ours.
    let client = harness.client();
    let err = client.create_cip(&new_cip("ORD-PAST", 1_000, -60_000)).await.unwrap_err();
    assert_eq!((err.code(), err.psp_code()), ("pagoefectivo.refused", Some("111")));
    assert!(err.to_string().contains("dateExpiry: La fecha de expiración debe ser futura"), "{err}");
    let err = client.create_cip(&NewCip { currency: Currency::Cop, ..new_cip("ORD-COP", 1_000, HOUR_MS) }).await;
    assert_eq!(err.unwrap_err().code(), "pagoefectivo.invalid_request");
}

#[tokio::test]
async fn search_sees_the_scenario_pay_the_cip() {
    let harness =
        Harness::start(PeScenario { rules: vec![rule("PAID-", PeOutcome::PaidAfter, 400)], ..PeScenario::default() })
            .await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("PAID-1", 8_990, HOUR_MS)).await.unwrap();
    let pending = search_one(&client, created.cip).await;
    assert_eq!(
        (pending.status, pending.status_code, pending.status_name.as_str()),
        (PaymentStatus::Pending, 22, "Generado")
    );
    assert_eq!(pending.paid_at, None);

    let paid = wait_for_status(&client, created.cip, PaymentStatus::Paid).await;
    assert_eq!((paid.status_code, paid.status_name.as_str(), paid.amount_minor), (23, "Pagado", 8_990));
    assert!(paid.paid_at.is_some());
    // The same CIP found by our transaction code.
    let by_code = client.search_cips(&[CipQuery::TransactionCode("PAID-1".into())]).await.unwrap();
    assert_eq!(by_code, [paid]);
    let nothing = client.search_cips(&[CipQuery::TransactionCode("NOPE".into())]).await.unwrap();
    assert!(nothing.is_empty());
}

#[tokio::test]
async fn extend_then_cancel_and_what_cannot_be_done_after() {
    let harness = Harness::start(PeScenario::default()).await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("ORD-EXT", 5_000, HOUR_MS)).await.unwrap();
    let later = Utc::now() + chrono::Duration::hours(30);
    let extended = client.extend_cip(created.cip, later).await.unwrap();
    assert_eq!((extended.status, extended.expires_at), (PaymentStatus::Pending, truncated_to_second(later)));
    let patch = &harness.exchanges(&format!("{}/{}", api::CIPS_PATH, created.cip))[0];
    assert_eq!(
        (patch.method.as_str(), patch.request_json()),
        ("PATCH", json!({"dateExpiry": api::lima_timestamp(later)}))
    );

    let cancelled = client.cancel_cip(created.cip).await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.status_code, cancelled.status_name.as_str()),
        (PaymentStatus::Cancelled, 25, "Eliminado")
    );
    assert!(cancelled.removed_at.is_some());
    assert_eq!(search_one(&client, created.cip).await, cancelled);

    for err in
        [client.cancel_cip(created.cip).await.unwrap_err(), client.extend_cip(created.cip, later).await.unwrap_err()]
    {
        assert_eq!((err.code(), err.psp_code()), ("pagoefectivo.refused", Some("115")));
        assert!(err.to_string().contains("(HTTP 409)"), "{err}");
    }
    let err = client.cancel_cip(999).await.unwrap_err();
    assert_eq!(err.psp_code(), Some("114"));
    assert!(err.to_string().contains("(HTTP 404)"), "{err}");
}

#[tokio::test]
async fn a_cip_never_paid_expires_with_a_signed_callback() {
    let harness =
        Harness::start(PeScenario { rules: vec![rule("NEVER-", PeOutcome::NeverPaid, 0)], ..PeScenario::default() })
            .await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("NEVER-1", 2_500, 1_500)).await.unwrap();
    let expired = wait_for_status(&client, created.cip, PaymentStatus::Expired).await;
    assert_eq!((expired.status_code, expired.status_name.as_str()), (21, "Expirado"));

    let received = harness.wait_for_callbacks(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(verify_callback(DEFAULT_PE_SECRET, &received[0].body, &received[0].signature), Ok(()));
    let callback = received[0].callback();
    assert_eq!(callback.event_type, "cip.expired");
    assert_eq!(transformers::callback_event(&callback.event_type).map(PaymentStatus::from), Ok(PaymentStatus::Expired));
    assert_eq!((callback.data.cip, callback.data.transaction_code.as_str()), (created.cip, "NEVER-1"));
    assert_eq!(callback.data.payment_date, None);
    assert_eq!(callback.data.amount.to_minor(Currency::Pen), Ok(2_500));
}

#[tokio::test]
async fn a_paid_callback_is_signed_verifiable_and_exact() {
    let harness =
        Harness::start(PeScenario { rules: vec![rule("PAID-", PeOutcome::PaidAfter, 100)], ..PeScenario::default() })
            .await;
    let client = harness.client();
    let created = client.create_cip(&new_cip("PAID-CB", 8_990, HOUR_MS)).await.unwrap();
    let received = harness.wait_for_callbacks(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(verify_callback(DEFAULT_PE_SECRET, &received[0].body, &received[0].signature), Ok(()));
    let callback = received[0].callback();
    assert_eq!(transformers::callback_event(&callback.event_type), Ok(CipEvent::Paid));
    assert_eq!(callback.data.cip, created.cip);
    assert_eq!(api::currency(&callback.data.currency), Ok(Currency::Pen));
    assert_eq!(callback.data.amount.to_minor(Currency::Pen), Ok(8_990));
    assert!(String::from_utf8_lossy(&received[0].body).contains(r#""amount":89.90"#));
    let paid_at = callback.data.payment_date.as_deref().unwrap();
    assert!(paid_at.ends_with("-05:00"), "{paid_at}");
    assert!(!callback.operation_number.is_empty());
    // Nothing else follows.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(harness.callbacks.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn callbacks_twice_out_of_order_and_badly_signed() {
    let twice = PeRule { callback_twice: true, ..rule("TWICE-", PeOutcome::PaidAfter, 50) };
    let out_of_order = PeRule { callback_out_of_order: true, ..rule("OOO-", PeOutcome::PaidAfter, 50) };
    let forged =
        PeRule { callback_bad_signature: true, callback_delay_ms: 300, ..rule("FORGED-", PeOutcome::PaidAfter, 50) };
    let harness =
        Harness::start(PeScenario { rules: vec![twice, out_of_order, forged], ..PeScenario::default() }).await;
    let client = harness.client();
    let twice = client.create_cip(&new_cip("TWICE-1", 1_000, HOUR_MS)).await.unwrap();
    let ooo = client.create_cip(&new_cip("OOO-1", 2_000, HOUR_MS)).await.unwrap();
    let forged = client.create_cip(&new_cip("FORGED-1", 3_000, HOUR_MS)).await.unwrap();
    let received = harness.wait_for_callbacks(5).await;
    assert_eq!(received.len(), 5);
    let for_cip =
        |cip: u64| -> Vec<Received> { received.iter().filter(|r| r.callback().data.cip == cip).cloned().collect() };

    let copies = for_cip(twice.cip);
    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].body, copies[1].body, "the very same callback, twice");
    assert_eq!(copies[0].callback().event_type, "cip.paid");
    assert!(copies.iter().all(|r| verify_callback(DEFAULT_PE_SECRET, &r.body, &r.signature).is_ok()));

    let events: Vec<String> = for_cip(ooo.cip).iter().map(|r| r.callback().event_type).collect();
    assert_eq!(events, ["cip.paid", "cip.expired"], "expired arrives after paid");
    let late = for_cip(ooo.cip)[1].clone();
    assert!(verify_callback(DEFAULT_PE_SECRET, &late.body, &late.signature).is_ok());
    // The PSP itself still says paid: the late expiry is noise a receiver must ignore.
    assert_eq!(search_one(&client, ooo.cip).await.status, PaymentStatus::Paid);

    let bad = for_cip(forged.cip);
    assert_eq!(bad.len(), 1);
    assert_eq!(verify_callback(DEFAULT_PE_SECRET, &bad[0].body, &bad[0].signature), Err(SignatureError::Mismatch));
    assert_eq!(received.last().unwrap().callback().data.cip, forged.cip, "the delayed one comes last");
}

#[tokio::test]
async fn paid_twice_and_paid_after_expiry() {
    let twice = PeRule { second_after_ms: 200, ..rule("DOUBLE-", PeOutcome::PaidTwice, 50) };
    let late = rule("LATE-", PeOutcome::PaidAfterExpiry, 1_100);
    let harness = Harness::start(PeScenario { rules: vec![twice, late], ..PeScenario::default() }).await;
    let client = harness.client();
    let double = client.create_cip(&new_cip("DOUBLE-1", 1_000, HOUR_MS)).await.unwrap();
    let late = client.create_cip(&new_cip("LATE-1", 2_000, 1_500)).await.unwrap();
    let received = harness.wait_for_callbacks(4).await;
    assert_eq!(received.len(), 4);

    let payments: Vec<Callback> =
        received.iter().map(Received::callback).filter(|c| c.data.cip == double.cip).collect();
    assert_eq!(payments.len(), 2);
    assert!(payments.iter().all(|c| c.event_type == "cip.paid"));
    assert_ne!(payments[0].operation_number, payments[1].operation_number, "two payments, two operations");
    assert_eq!(search_one(&client, double.cip).await.status, PaymentStatus::Paid);

    let events: Vec<String> =
        received.iter().map(Received::callback).filter(|c| c.data.cip == late.cip).map(|c| c.event_type).collect();
    assert_eq!(events, ["cip.expired", "cip.paid"]);
    let record = search_one(&client, late.cip).await;
    assert_eq!(record.status, PaymentStatus::Paid);
    assert!(record.paid_at.unwrap() > record.expires_at, "paid after its expiry");
}

#[test]
fn errors_have_stable_codes() {
    let err = PagoEfectivoError::RateLimited { operation: "search_cips" };
    assert_eq!((err.code(), err.is_retryable()), ("pagoefectivo.rate_limited", true));
}
