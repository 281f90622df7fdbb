//! A connection test that makes one real, signed request that changes
//! nothing at the PSP: dLocal `GET /payments-methods?country=CO` signed with
//! V2-HMAC-SHA256, PagoEfectivo `POST /v1/authorizations` (asks for an API
//! token, which is thrown away). A 2xx answer means the PSP took the
//! credentials. The connectors' own clients can replace it later; it stays
//! useful against the sandbox and in tests.

use super::{AccountSecrets, ConnectionTester, DlocalSecrets, PagoEfectivoSecrets, PspAccount, TestFuture};
use crate::psp::dlocal::signature::authorization;
use crate::psp::pagoefectivo::signature::token_hash;
use chrono::Utc;
use std::time::Duration;

/// The harmless, authenticated dLocal call (payment methods of Colombia).
pub const DLOCAL_PING_PATH: &str = "/payments-methods?country=CO";
pub const DLOCAL_API_VERSION: &str = "2.1";
/// PagoEfectivo's token request.
pub const PAGOEFECTIVO_PING_PATH: &str = "/v1/authorizations";
/// Whole-request limit of one ping.
pub const PING_TIMEOUT_MS: u64 = 15_000;
/// How much of a refusal's body is quoted in the message.
pub const REFUSAL_BODY_CHARS_MAX: usize = 200;
/// Bytes of a refusal's body read at most.
const REFUSAL_BODY_BYTES_MAX: usize = 4 * 1024;

pub struct SignedPingTester {
    client: reqwest::Client,
}

impl SignedPingTester {
    pub fn new() -> Result<SignedPingTester, String> {
        crate::psp::http::client(Duration::from_millis(PING_TIMEOUT_MS))
            .map(|client| SignedPingTester { client })
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))
    }

    async fn dlocal(&self, account: &PspAccount, secrets: &DlocalSecrets) -> Result<(), String> {
        let x_date = Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let request = self
            .client
            .get(format!("{}{DLOCAL_PING_PATH}", account.base_url))
            .header("X-Date", &x_date)
            .header("X-Login", &secrets.login)
            .header("X-Trans-Key", &secrets.trans_key)
            .header("X-Version", DLOCAL_API_VERSION)
            .header("Content-Type", "application/json")
            .header("Authorization", authorization(&secrets.secret, &secrets.login, &x_date, b""));
        judge(&account.base_url, request.send().await).await
    }

    async fn pagoefectivo(&self, account: &PspAccount, secrets: &PagoEfectivoSecrets) -> Result<(), String> {
        let lima = Utc::now().with_timezone(&crate::market::Country::Peru.zone());
        let date_request = lima.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
        // PagoEfectivo's service ids are numbers in its JSON.
        let id_service = match secrets.service_id.parse::<u64>() {
            Ok(number) => serde_json::Value::from(number),
            Err(_) => serde_json::Value::from(secrets.service_id.as_str()),
        };
        let body = serde_json::json!({
            "accessKey": secrets.access_key,
            "idService": id_service,
            "dateRequest": date_request,
            "hashString": token_hash(&secrets.service_id, &secrets.access_key, &secrets.secret, &date_request),
        });
        let request = self.client.post(format!("{}{PAGOEFECTIVO_PING_PATH}", account.base_url)).json(&body);
        judge(&account.base_url, request.send().await).await
    }
}

/// 2xx is OK (the body, which may hold a token, is not read); anything else
/// is quoted briefly.
async fn judge(base_url: &str, sent: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    let mut response = sent.map_err(|e| {
        let why = if e.is_timeout() { format!("no answer within {PING_TIMEOUT_MS} ms") } else { e.to_string() };
        format!("cannot reach {base_url}: {why}")
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = Vec::new();
    while body.len() < REFUSAL_BODY_BYTES_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let text: String = String::from_utf8_lossy(&body).chars().take(REFUSAL_BODY_CHARS_MAX).collect();
    let refused = if matches!(status.as_u16(), 401 | 403) { "refused the credentials" } else { "answered" };
    Err(format!(
        "{base_url} {refused}: HTTP {}{}",
        status.as_u16(),
        if text.is_empty() { String::new() } else { format!(": {}", text.trim()) }
    ))
}

impl ConnectionTester for SignedPingTester {
    fn test<'a>(&'a self, account: &'a PspAccount, secrets: &'a AccountSecrets) -> TestFuture<'a> {
        Box::pin(async move {
            match secrets {
                AccountSecrets::Dlocal(s) => self.dlocal(account, s).await,
                AccountSecrets::PagoEfectivo(s) => self.pagoefectivo(account, s).await,
            }
        })
    }
}
