//! Posts the sandbox's signed notifications, on the scenario's schedule
//! (late, twice, out of order: the caller decides delays and copies).

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A receiver that answers non-2xx gets the notification again, as PSPs do.
pub const NOTIFY_ATTEMPTS_MAX: u32 = 3;
pub const NOTIFY_RETRY_DELAY_MS: u64 = 500;
pub const NOTIFY_TIMEOUT_MS: u64 = 5_000;
/// The delivery log keeps the most recent entries only.
pub const DELIVERY_LOG_MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

/// What happened to one delivery: the receiver's HTTP status, or the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub url: String,
    pub body: Vec<u8>,
    pub attempts: u32,
    pub outcome: Result<u16, String>,
}

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    log: Arc<Mutex<Vec<DeliveryRecord>>>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier {
    pub fn new() -> Notifier {
        let http = voucherdesk::psp::http::client(Duration::from_millis(NOTIFY_TIMEOUT_MS))
            .expect("a client without custom TLS roots always builds");
        Notifier { http, log: Arc::new(Mutex::new(Vec::new())) }
    }

    /// Sends in the background after `delivery.delay`. Must be called inside a tokio runtime.
    pub fn schedule(&self, delivery: Delivery) {
        let http = self.http.clone();
        let log = self.log.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delivery.delay).await;
            let mut attempts = 0;
            let outcome = loop {
                attempts += 1;
                let mut request = http.post(&delivery.url).body(delivery.body.clone());
                for (name, value) in &delivery.headers {
                    request = request.header(name, value);
                }
                let outcome = match request.send().await {
                    Ok(response) => Ok(response.status().as_u16()),
                    Err(err) => Err(err.to_string()),
                };
                let delivered = matches!(outcome, Ok(code) if (200..300).contains(&code));
                if delivered || attempts >= NOTIFY_ATTEMPTS_MAX {
                    break outcome;
                }
                tokio::time::sleep(Duration::from_millis(NOTIFY_RETRY_DELAY_MS)).await;
            };
            let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if log.len() >= DELIVERY_LOG_MAX_ENTRIES {
                log.remove(0);
            }
            log.push(DeliveryRecord { url: delivery.url, body: delivery.body, attempts, outcome });
        });
    }

    /// Deliveries finished so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}
